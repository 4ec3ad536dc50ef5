/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "docent-store.h"

G_BEGIN_DECLS

/* Named groups of documents, per library (a document may be in several).
 * Tables created on first use:
 *   collections     (id, name UNIQUE, created)
 *   collection_docs (collection_id → collections, doc_id → documents; both ON DELETE CASCADE) */

typedef struct {
  char   *name;
  GArray *doc_ids;     /* gint64, ascending */
} DocentCollection;

void       docent_collection_free  (DocentCollection *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DocentCollection, docent_collection_free)

gboolean   docent_collection_ensure_schema (sqlite3 *db, GError **error);
/* Adds documents to @name, creating it if needed. */
gboolean   docent_collection_add    (DocentStore   *store,
                                     const char    *name,
                                     const gint64  *doc_ids,
                                     guint          n,
                                     GError       **error);
/* Takes documents out of @name (DOCENT_ERROR_NOT_FOUND if there is no such
 * collection); the collection goes away with its last document. */
gboolean   docent_collection_remove (DocentStore   *store,
                                     const char    *name,
                                     const gint64  *doc_ids,
                                     guint          n,
                                     GError       **error);
GPtrArray *docent_collection_list   (DocentStore   *store,   /* of DocentCollection, by name */
                                     GError       **error);

G_END_DECLS
