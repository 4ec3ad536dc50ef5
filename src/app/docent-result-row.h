/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "docent-store.h"

G_BEGIN_DECLS

#define DOCENT_TYPE_RESULT_ROW (docent_result_row_get_type ())
G_DECLARE_FINAL_TYPE (DocentResultRow, docent_result_row, DOCENT, RESULT_ROW, GtkListBoxRow)

/* One source under an answer or one search hit. @result must outlive the
 * row (the window keeps the result array while the rows exist). */
GtkWidget                *docent_result_row_new        (const DocentSearchResult *result,
                                                        guint                     number,
                                                        double                    top_score);
const DocentSearchResult *docent_result_row_get_result (DocentResultRow          *self);

/* The page of a PDF result's first matched word (a passage can run over
 * pages; its text joins them with form feeds). */
guint docent_search_result_get_match_page (const DocentSearchResult *result);

/* Pango markup of @text around its first highlight, at most about
 * @max_chars code points, with the highlighted ranges (gint64 pairs of
 * code points) marked. */
char *docent_markup_snippet (const char *text,
                             GArray     *highlights,
                             guint       max_chars);

G_END_DECLS
