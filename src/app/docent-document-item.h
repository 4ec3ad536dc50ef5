/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "docent-document.h"

G_BEGIN_DECLS

#define DOCENT_TYPE_DOCUMENT_ITEM (docent_document_item_get_type ())
G_DECLARE_FINAL_TYPE (DocentDocumentItem, docent_document_item, DOCENT, DOCUMENT_ITEM, GObject)

/* A library row for list models: a DocentDocument snapshot plus what only the
 * running app knows (the importer is on it right now). A failed file that
 * never reached the store is an item with id 0. */
DocentDocumentItem *docent_document_item_new        (const DocentDocument *doc);
const DocentDocument *docent_document_item_get_document (DocentDocumentItem *self);
gint64              docent_document_item_get_id     (DocentDocumentItem *self);
const char         *docent_document_item_get_path   (DocentDocumentItem *self);
const char         *docent_document_item_get_title  (DocentDocumentItem *self);
DocentDocStatus     docent_document_item_get_status (DocentDocumentItem *self);
gboolean            docent_document_item_get_busy   (DocentDocumentItem *self);
void                docent_document_item_set_busy   (DocentDocumentItem *self,
                                                     gboolean            busy);
/* The collections the document is in, joined for display ("" if none). */
const char         *docent_document_item_get_collections (DocentDocumentItem *self);
void                docent_document_item_set_collections (DocentDocumentItem *self,
                                                          const char         *collections);
/* Replaces the snapshot, notifying "document" only when something changed. */
void                docent_document_item_update     (DocentDocumentItem *self,
                                                     const DocentDocument *doc);

G_END_DECLS
