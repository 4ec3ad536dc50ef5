/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-collection"
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "docent-collection.h"
#include "docent-error.h"
#include "docent-vector-store.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

void
docent_collection_free (DocentCollection *c)
{
  if (c == NULL)
    return;
  g_free (c->name);
  g_clear_pointer (&c->doc_ids, g_array_unref);
  g_free (c);
}

static gboolean
sql_error (sqlite3 *db, GError **error, const char *what)
{
  g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_STORE, _("Library error while %s: %s"),
               what, sqlite3_errmsg (db));
  return FALSE;
}

gboolean
docent_collection_ensure_schema (sqlite3  *db,
                                 GError  **error)
{
  /* The tables come with the store's migration 2, beside the vectors'. */
  return docent_vector_store_ensure_schema (db, error);
}

static gboolean
run (sqlite3 *db, const char *sql, GError **error)
{
  if (sqlite3_exec (db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return sql_error (db, error, "updating collections");
  return TRUE;
}

gboolean
docent_collection_add (DocentStore   *store,
                       const char    *name,
                       const gint64  *doc_ids,
                       guint          n,
                       GError       **error)
{
  sqlite3 *db;
  g_autoptr(sqlite3_stmt) create = NULL;
  g_autoptr(sqlite3_stmt) add = NULL;

  g_return_val_if_fail (DOCENT_IS_STORE (store), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  db = docent_store_get_db (store);
  if (name[strspn (name, " \t\n")] == '\0')
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_USAGE, _("A collection needs a name"));
      return FALSE;
    }
  if (!run (db, "BEGIN IMMEDIATE", error))
    return FALSE;
  if (sqlite3_prepare_v2 (db, "INSERT OR IGNORE INTO collections (name, created)"
                              " VALUES (?1, strftime ('%s', 'now'))", -1, &create, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2 (db, "INSERT OR IGNORE INTO collection_docs (collection_id, doc_id)"
                              " SELECT id, ?2 FROM collections WHERE name = ?1", -1, &add, NULL) != SQLITE_OK)
    goto fail;
  sqlite3_bind_text (create, 1, name, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (create) != SQLITE_DONE)
    goto fail;
  for (guint i = 0; i < n; i++)
    {
      sqlite3_reset (add);
      sqlite3_bind_text (add, 1, name, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (add, 2, doc_ids[i]);
      if (sqlite3_step (add) != SQLITE_DONE)
        goto fail;
    }
  sqlite3_reset (add);
  return run (db, "COMMIT", error);

fail:
  sql_error (db, error, "adding to a collection");
  sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

gboolean
docent_collection_remove (DocentStore   *store,
                          const char    *name,
                          const gint64  *doc_ids,
                          guint          n,
                          GError       **error)
{
  sqlite3 *db;
  g_autoptr(sqlite3_stmt) find = NULL;
  g_autoptr(sqlite3_stmt) del = NULL;
  g_autoptr(sqlite3_stmt) prune = NULL;
  gint64 cid;

  g_return_val_if_fail (DOCENT_IS_STORE (store), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  db = docent_store_get_db (store);
  if (sqlite3_prepare_v2 (db, "SELECT id FROM collections WHERE name = ?1", -1, &find, NULL) != SQLITE_OK)
    return sql_error (db, error, "reading collections");
  sqlite3_bind_text (find, 1, name, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (find) != SQLITE_ROW)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_NOT_FOUND,
                   _("There is no collection “%s”; “docent collection list” shows them"), name);
      return FALSE;
    }
  cid = sqlite3_column_int64 (find, 0);

  if (!run (db, "BEGIN IMMEDIATE", error))
    return FALSE;
  if (sqlite3_prepare_v2 (db, "DELETE FROM collection_docs WHERE collection_id = ?1 AND doc_id = ?2",
                          -1, &del, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2 (db, "DELETE FROM collections WHERE id = ?1 AND NOT EXISTS"
                              " (SELECT 1 FROM collection_docs WHERE collection_id = ?1)",
                          -1, &prune, NULL) != SQLITE_OK)
    goto fail;
  for (guint i = 0; i < n; i++)
    {
      sqlite3_reset (del);
      sqlite3_bind_int64 (del, 1, cid);
      sqlite3_bind_int64 (del, 2, doc_ids[i]);
      if (sqlite3_step (del) != SQLITE_DONE)
        goto fail;
    }
  sqlite3_bind_int64 (prune, 1, cid);
  if (sqlite3_step (prune) != SQLITE_DONE)
    goto fail;
  return run (db, "COMMIT", error);

fail:
  sql_error (db, error, "removing from a collection");
  sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

GPtrArray *
docent_collection_list (DocentStore  *store,
                        GError      **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) docent_collection_free);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  sqlite3 *db;
  int rc;

  g_return_val_if_fail (DOCENT_IS_STORE (store), NULL);

  db = docent_store_get_db (store);
  if (sqlite3_prepare_v2 (db, "SELECT co.name, cd.doc_id FROM collections co"
                              " LEFT JOIN collection_docs cd ON cd.collection_id = co.id"
                              " ORDER BY co.name, cd.doc_id", -1, &stmt, NULL) != SQLITE_OK)
    {
      sql_error (db, error, "reading collections");
      return NULL;
    }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *name = (const char *) sqlite3_column_text (stmt, 0);
      DocentCollection *c = out->len > 0 ? out->pdata[out->len - 1] : NULL;

      if (c == NULL || g_strcmp0 (c->name, name) != 0)
        {
          c = g_new0 (DocentCollection, 1);
          c->name = g_strdup (name);
          c->doc_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
          g_ptr_array_add (out, c);
        }
      if (sqlite3_column_type (stmt, 1) != SQLITE_NULL)
        {
          gint64 id = sqlite3_column_int64 (stmt, 1);
          g_array_append_val (c->doc_ids, id);
        }
    }
  if (rc != SQLITE_DONE)
    {
      sql_error (db, error, "reading collections");
      return NULL;
    }
  return g_steal_pointer (&out);
}
