/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "docent-store.h"

G_BEGIN_DECLS

#define DOCENT_TYPE_CITATION_VIEW (docent_citation_view_get_type ())
G_DECLARE_FINAL_TYPE (DocentCitationView, docent_citation_view, DOCENT, CITATION_VIEW, GtkWidget)

/* Shows where a passage came from: the PDF page rendered with the passage
 * highlighted, or the text file scrolled to it. Loading happens on a worker
 * thread; "loaded" is emitted (and the "loaded" property set) once the page or
 * text is on screen. */
GtkWidget  *docent_citation_view_new            (void);
/* @encoding: what the importer recorded for a text file (DocentDocument's
 * encoding), or NULL to guess the same way it does. */
void        docent_citation_view_show_result    (DocentCitationView       *self,
                                                 const DocentSearchResult *result,
                                                 const char               *encoding);
void        docent_citation_view_clear          (DocentCitationView       *self);
gboolean    docent_citation_view_get_loaded     (DocentCitationView       *self);
gint64      docent_citation_view_get_doc_id     (DocentCitationView       *self);
const char *docent_citation_view_get_path       (DocentCitationView       *self);
/* The page on screen (1-based; 0 for text). */
guint       docent_citation_view_get_page       (DocentCitationView       *self);
/* Highlighted areas on the page on screen, or highlighted characters of a
 * text file: 0 means the passage could not be located. */
guint       docent_citation_view_get_n_highlights (DocentCitationView     *self);
gboolean    docent_citation_view_get_source_missing (DocentCitationView   *self);
double      docent_citation_view_get_zoom       (DocentCitationView       *self);
void        docent_citation_view_set_zoom       (DocentCitationView       *self,
                                                 double                    zoom);
void        docent_citation_view_set_page       (DocentCitationView       *self,
                                                 guint                     page);

G_END_DECLS
