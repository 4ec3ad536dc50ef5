/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "docent-document-item.h"

G_BEGIN_DECLS

#define DOCENT_TYPE_DOCUMENT_ROW (docent_document_row_get_type ())
G_DECLARE_FINAL_TYPE (DocentDocumentRow, docent_document_row, DOCENT, DOCUMENT_ROW, GtkWidget)

/* A library sidebar row, recycled by the sidebar's GtkListView: the item it
 * shows changes with docent_document_row_set_item. Its menu emits
 * "show-in-folder", "remove" and "retry"; the window decides what they mean. */
GtkWidget          *docent_document_row_new      (void);
DocentDocumentItem *docent_document_row_get_item (DocentDocumentRow  *self);
void                docent_document_row_set_item (DocentDocumentRow  *self,
                                                  DocentDocumentItem *item);

/* The name of the collection group this row starts, or NULL. */
void                docent_document_row_set_header (DocentDocumentRow  *self,
                                                    const char         *header);
const char         *docent_document_row_get_header (DocentDocumentRow  *self);

G_END_DECLS
