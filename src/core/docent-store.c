/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-store"
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "docent-error.h"
#include "docent-fts-tokenizer.h"
#include "docent-store-private.h"

/* The schema, one step per version; a library is migrated forward on open
 * and never backward. */
static const char *migrations[] = {
  /* 1: documents, pages, passages with their full-text index, import queue */
  "CREATE TABLE documents ("
  "  id        INTEGER PRIMARY KEY,"
  "  path      TEXT NOT NULL UNIQUE,"
  "  name      TEXT NOT NULL,"
  "  title     TEXT,"
  "  author    TEXT,"
  "  type      TEXT NOT NULL CHECK (type IN ('pdf', 'text')),"
  "  size      INTEGER NOT NULL DEFAULT 0,"
  "  mtime     INTEGER NOT NULL DEFAULT 0,"
  "  sha256    TEXT,"
  "  pages     INTEGER NOT NULL DEFAULT 0,"
  "  chunks    INTEGER NOT NULL DEFAULT 0,"
  "  chars     INTEGER NOT NULL DEFAULT 0,"
  "  encoding  TEXT,"
  "  status    TEXT NOT NULL,"
  "  error     TEXT,"
  "  added     INTEGER NOT NULL"
  ");"
  "CREATE INDEX documents_by_sha256 ON documents (sha256);"
  "CREATE TABLE pages ("
  "  doc_id     INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,"
  "  number     INTEGER NOT NULL,"
  "  label      TEXT,"
  "  char_start INTEGER NOT NULL,"
  "  char_end   INTEGER NOT NULL,"
  "  n_chars    INTEGER NOT NULL,"
  "  PRIMARY KEY (doc_id, number)"
  ") WITHOUT ROWID;"
  "CREATE TABLE chunks ("
  "  id         INTEGER PRIMARY KEY,"
  "  doc_id     INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,"
  "  ordinal    INTEGER NOT NULL,"
  "  page_first INTEGER NOT NULL,"
  "  page_last  INTEGER NOT NULL,"
  "  line_first INTEGER NOT NULL,"
  "  line_last  INTEGER NOT NULL,"
  "  char_start INTEGER NOT NULL,"
  "  char_end   INTEGER NOT NULL,"
  "  text       TEXT NOT NULL,"
  "  UNIQUE (doc_id, ordinal)"
  ");"
  "CREATE VIRTUAL TABLE chunks_fts USING fts5 ("
  "  text, content = 'chunks', content_rowid = 'id', tokenize = 'docent');"
  "CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN"
  "  INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text);"
  "END;"
  "CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN"
  "  INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);"
  "END;"
  "CREATE TABLE import_queue ("
  "  path   TEXT PRIMARY KEY,"
  "  queued INTEGER NOT NULL"
  ");"
  "CREATE TABLE settings ("
  "  key   TEXT PRIMARY KEY,"
  "  value TEXT"
  ");",

  /* 2: passage vectors and collections (libraries of schema 1 may already
   * hold these tables, created on first use by older Docent: IF NOT EXISTS
   * keeps their rows), and the passage size each document was cut with,
   * so a change of the library's chunk settings can re-cut only what
   * differs and resume after an interruption. Schema-1 documents were cut
   * with the defaults, the only ones the window offered. */
  "CREATE TABLE IF NOT EXISTS embedders ("
  "  id           TEXT PRIMARY KEY,"
  "  dim          INTEGER NOT NULL CHECK (dim > 0),"
  "  params       BLOB,"
  "  n_chunks_fit INTEGER NOT NULL DEFAULT 0,"
  "  created      INTEGER NOT NULL"
  ");"
  "CREATE TABLE IF NOT EXISTS chunk_vectors ("
  "  embedder TEXT NOT NULL REFERENCES embedders (id) ON DELETE CASCADE,"
  "  chunk_id INTEGER NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,"
  "  vec      BLOB NOT NULL,"
  "  PRIMARY KEY (embedder, chunk_id)"
  ") WITHOUT ROWID;"
  "CREATE INDEX IF NOT EXISTS chunk_vectors_by_chunk ON chunk_vectors (chunk_id);"
  /* float32 little-endian, exactly dim of them: nothing else gets in */
  "CREATE TRIGGER IF NOT EXISTS chunk_vectors_dim_insert BEFORE INSERT ON chunk_vectors"
  " WHEN length (new.vec) IS NOT 4 * (SELECT dim FROM embedders WHERE id = new.embedder)"
  " BEGIN SELECT RAISE (ABORT, 'vector length does not match its embedder''s dimension'); END;"
  "CREATE TRIGGER IF NOT EXISTS chunk_vectors_dim_update BEFORE UPDATE ON chunk_vectors"
  " WHEN length (new.vec) IS NOT 4 * (SELECT dim FROM embedders WHERE id = new.embedder)"
  " BEGIN SELECT RAISE (ABORT, 'vector length does not match its embedder''s dimension'); END;"
  "CREATE TABLE IF NOT EXISTS collections ("
  "  id      INTEGER PRIMARY KEY,"
  "  name    TEXT NOT NULL UNIQUE,"
  "  created INTEGER NOT NULL"
  ");"
  "CREATE TABLE IF NOT EXISTS collection_docs ("
  "  collection_id INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,"
  "  doc_id        INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,"
  "  PRIMARY KEY (collection_id, doc_id)"
  ") WITHOUT ROWID;"
  "CREATE INDEX IF NOT EXISTS collection_docs_by_doc ON collection_docs (doc_id);"
  "ALTER TABLE documents ADD COLUMN chunk_size INTEGER;"
  "ALTER TABLE documents ADD COLUMN chunk_overlap INTEGER;"
  "UPDATE documents SET chunk_size = 1000, chunk_overlap = 150;",
};

struct _DocentStore
{
  GObject     parent_instance;

  char       *path;
  sqlite3    *db;
  GHashTable *statements;   /* SQL text → sqlite3_stmt*, prepared once */
  DocentTokenizer *tokenizer;
  DocentRankParams rank;
};

G_DEFINE_FINAL_TYPE (DocentStore, docent_store, G_TYPE_OBJECT)

static void
docent_store_finalize (GObject *object)
{
  DocentStore *self = DOCENT_STORE (object);

  g_clear_pointer (&self->statements, g_hash_table_unref);
  if (self->db != NULL)
    sqlite3_close_v2 (self->db);
  g_clear_pointer (&self->tokenizer, docent_tokenizer_free);
  g_free (self->path);

  G_OBJECT_CLASS (docent_store_parent_class)->finalize (object);
}

static void
docent_store_class_init (DocentStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = docent_store_finalize;
}

static void
finalize_stmt (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static void
docent_store_init (DocentStore *self)
{
  self->statements = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, finalize_stmt);
  self->rank = (DocentRankParams) { DOCENT_RANK_K1, DOCENT_RANK_B, DOCENT_RANK_W_PROX, DOCENT_RANK_W_COV };
}

void
_docent_store_get_rank_params (DocentStore      *self,
                               DocentRankParams *params)
{
  *params = self->rank;
}

void
_docent_store_set_rank_params (DocentStore            *self,
                               const DocentRankParams *params)
{
  self->rank = *params;
}

void
_docent_store_set_error (DocentStore *self,
                         int          rc,
                         GError     **error,
                         const char  *what)
{
  const char *msg = self->db ? sqlite3_errmsg (self->db) : sqlite3_errstr (rc);

  switch (rc & 0xff)
    {
    case SQLITE_FULL:
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_DISK_FULL,
                   _("The disk holding the library %s is full (%s). Free some space and try again; "
                     "nothing already in the library was lost"), self->path, what);
      break;
    case SQLITE_READONLY:
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_READ_ONLY,
                   _("The library %s is read-only (%s). Check the file's permissions "
                     "or choose another library with --library"), self->path, what);
      break;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_UNREADABLE,
                   _("Cannot open the library %s (%s: %s). Check that its folder exists "
                     "and is writable"), self->path, what, msg);
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_CORRUPT,
                   _("The library %s is damaged or not a Docent library (%s: %s). "
                     "Restore it from a backup (docent backup) or choose another file"),
                   self->path, what, msg);
      break;
    case SQLITE_IOERR:
      if (errno == EFBIG || errno == ENOSPC)
        {
          g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_DISK_FULL,
                       _("The disk holding the library %s is full (%s). Free some space and "
                         "try again; nothing already in the library was lost"), self->path, what);
          break;
        }
      G_GNUC_FALLTHROUGH;
    default:
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_STORE,
                   _("Library error in %s (%s): %s"), self->path, what, msg);
      break;
    }
}

/* A prepared statement for @sql, reset and ready to bind. */
static sqlite3_stmt *
get_stmt (DocentStore *self,
          const char  *sql,
          GError     **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (self->statements, sql);

  if (stmt == NULL)
    {
      int rc = sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
      if (rc != SQLITE_OK)
        {
          _docent_store_set_error (self, rc, error, "preparing a statement");
          return NULL;
        }
      g_hash_table_insert (self->statements, (gpointer) sql, stmt);
    }
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return stmt;
}

/* Runs a statement that returns no rows. */
static gboolean
step_done (DocentStore  *self,
           sqlite3_stmt *stmt,
           const char   *what,
           GError      **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      _docent_store_set_error (self, rc, error, what);
      return FALSE;
    }
  return TRUE;
}

static gboolean
exec_sql (DocentStore *self,
          const char  *sql,
          const char  *what,
          GError     **error)
{
  /* Only for fixed SQL text (schema, pragmas): never with data in it. */
  int rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    {
      _docent_store_set_error (self, rc, error, what);
      return FALSE;
    }
  return TRUE;
}

/* Switching a new library to WAL needs it to itself for a moment, and
 * SQLite answers "busy" at once instead of calling the busy handler when
 * another connection is opening it too: retry for as long as the busy
 * timeout would wait. */
static gboolean
enable_wal (DocentStore *self,
            GError     **error)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  int rc;

  while (((rc = sqlite3_exec (self->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL)) & 0xff) == SQLITE_BUSY &&
         g_get_monotonic_time () < deadline)
    g_usleep (2000);
  if (rc != SQLITE_OK)
    {
      _docent_store_set_error (self, rc, error, "enabling WAL");
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_schema_version (DocentStore *self,
                     int         *version,
                     GError     **error)
{
  sqlite3_stmt *stmt = get_stmt (self, "PRAGMA user_version", error);

  if (stmt == NULL)
    return FALSE;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      _docent_store_set_error (self, sqlite3_errcode (self->db), error, "reading the schema version");
      sqlite3_reset (stmt);
      return FALSE;
    }
  *version = sqlite3_column_int (stmt, 0);
  sqlite3_reset (stmt);
  if (*version > (int) G_N_ELEMENTS (migrations))
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_STORE,
                   _("The library %s was made by a newer version of Docent (schema %d, this one "
                     "knows %d). Update Docent to open it"), self->path, *version,
                   (int) G_N_ELEMENTS (migrations));
      return FALSE;
    }
  return TRUE;
}

static gboolean
migrate (DocentStore *self,
         GError     **error)
{
  int version;

  /* An up-to-date library needs no write lock to open. */
  if (!read_schema_version (self, &version, error))
    return FALSE;

  while (version < (int) G_N_ELEMENTS (migrations))
    {
      g_autofree char *set_version = NULL;

      /* Another process (the window and `docent import` opening a new
       * library at once) may have upgraded it since the read above: read
       * the version again under the write lock before each step. */
      if (!_docent_store_begin (self, error))
        return FALSE;
      if (!read_schema_version (self, &version, error))
        {
          _docent_store_rollback (self);
          return FALSE;
        }
      if (version >= (int) G_N_ELEMENTS (migrations))
        {
          _docent_store_rollback (self);
          break;
        }
      set_version = g_strdup_printf ("PRAGMA user_version = %d", version + 1);
      if (!exec_sql (self, migrations[version], "upgrading the library", error) ||
          !exec_sql (self, set_version, "upgrading the library", error) ||
          !_docent_store_commit (self, error))
        {
          _docent_store_rollback (self);
          return FALSE;
        }
      version++;
    }
  return TRUE;
}

DocentStore *
docent_store_open (const char  *path,
                   GError     **error)
{
  g_autoptr(DocentStore) self = NULL;
  g_autofree char *dir = NULL;
  int rc;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (DOCENT_TYPE_STORE, NULL);
  self->path = g_strdup (path);
  self->tokenizer = docent_tokenizer_new ();

  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_UNREADABLE,
                   _("Cannot create the folder %s for the library: %s"), dir, g_strerror (saved));
      return NULL;
    }

  rc = sqlite3_open_v2 (path, &self->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      _docent_store_set_error (self, rc, error, "opening");
      return NULL;
    }
  sqlite3_extended_result_codes (self->db, 1);
  sqlite3_busy_timeout (self->db, 10000);

  if (!docent_fts_tokenizer_register (self->db, error))
    return NULL;

  /* WAL lets readers (search, the window) go on while the importer writes.
   * A read-only library cannot switch modes; it stays readable. */
  if (!sqlite3_db_readonly (self->db, "main"))
    {
      if (!enable_wal (self, error))
        return NULL;
    }
  if (!exec_sql (self,
                 "PRAGMA foreign_keys = ON;"
                 "PRAGMA synchronous = NORMAL;"
                 "PRAGMA temp_store = MEMORY;",
                 "setting up the connection", error))
    return NULL;

  if (!migrate (self, error))
    return NULL;

  return g_steal_pointer (&self);
}

const char *
docent_store_get_path (DocentStore *self)
{
  g_return_val_if_fail (DOCENT_IS_STORE (self), NULL);
  return self->path;
}

sqlite3 *
docent_store_get_db (DocentStore *self)
{
  g_return_val_if_fail (DOCENT_IS_STORE (self), NULL);
  return self->db;
}

gboolean
_docent_store_begin (DocentStore *self,
                     GError     **error)
{
  sqlite3_stmt *stmt = get_stmt (self, "BEGIN IMMEDIATE", error);
  return stmt != NULL && step_done (self, stmt, "starting a transaction", error);
}

gboolean
_docent_store_commit (DocentStore *self,
                      GError     **error)
{
  sqlite3_stmt *stmt = get_stmt (self, "COMMIT", error);
  return stmt != NULL && step_done (self, stmt, "saving", error);
}

void
_docent_store_rollback (DocentStore *self)
{
  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- documents ---- */

#define DOCUMENT_COLUMNS \
  "id, path, name, title, author, type, size, mtime, sha256, pages, chunks, " \
  "encoding, status, error, added"

static char *
dup_column_text (sqlite3_stmt *stmt,
                 int           col)
{
  const unsigned char *text = sqlite3_column_text (stmt, col);
  return text ? g_strdup ((const char *) text) : NULL;
}

static DocentDocument *
document_from_row (sqlite3_stmt *stmt)
{
  DocentDocument *doc = docent_document_new ();
  const char *type = (const char *) sqlite3_column_text (stmt, 5);

  doc->id = sqlite3_column_int64 (stmt, 0);
  doc->path = dup_column_text (stmt, 1);
  doc->name = dup_column_text (stmt, 2);
  doc->title = dup_column_text (stmt, 3);
  doc->author = dup_column_text (stmt, 4);
  doc->type = g_strcmp0 (type, "pdf") == 0 ? DOCENT_DOC_TYPE_PDF : DOCENT_DOC_TYPE_TEXT;
  doc->size = sqlite3_column_int64 (stmt, 6);
  doc->mtime = sqlite3_column_int64 (stmt, 7);
  doc->sha256 = dup_column_text (stmt, 8);
  doc->pages = sqlite3_column_int (stmt, 9);
  doc->chunks = sqlite3_column_int (stmt, 10);
  doc->encoding = dup_column_text (stmt, 11);
  doc->status = docent_doc_status_from_string ((const char *) sqlite3_column_text (stmt, 12));
  doc->error = dup_column_text (stmt, 13);
  doc->added = sqlite3_column_int64 (stmt, 14);
  return doc;
}

GPtrArray *
docent_store_list_documents (DocentStore *self,
                             GError     **error)
{
  g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func ((GDestroyNotify) docent_document_free);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (DOCENT_IS_STORE (self), NULL);

  stmt = get_stmt (self, "SELECT " DOCUMENT_COLUMNS " FROM documents ORDER BY id", error);
  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (docs, document_from_row (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      _docent_store_set_error (self, rc, error, "listing documents");
      return NULL;
    }
  return g_steal_pointer (&docs);
}

DocentDocument *
docent_store_dup_document (DocentStore *self,
                           gint64       id,
                           GError     **error)
{
  sqlite3_stmt *stmt;
  DocentDocument *doc = NULL;
  int rc;

  g_return_val_if_fail (DOCENT_IS_STORE (self), NULL);

  stmt = get_stmt (self, "SELECT " DOCUMENT_COLUMNS " FROM documents WHERE id = ?1", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    doc = document_from_row (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    _docent_store_set_error (self, rc, error, "reading a document");
  else if (doc == NULL)
    g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_NOT_FOUND,
                 _("There is no document %lld in the library; "
                   "“docent list” shows what is there"), (long long) id);
  return doc;
}

gboolean
docent_store_resolve_document (DocentStore *self,
                               const char  *name_or_id,
                               gint64      *id,
                               GError     **error)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree char *canonical = NULL;
  sqlite3_stmt *stmt;
  char *end = NULL;
  gint64 numeric;
  int rc;

  g_return_val_if_fail (DOCENT_IS_STORE (self), FALSE);

  numeric = g_ascii_strtoll (name_or_id, &end, 10);
  if (end != name_or_id && *end == '\0' && numeric > 0)
    {
      g_autoptr(DocentDocument) doc = docent_store_dup_document (self, numeric, error);
      if (doc == NULL)
        return FALSE;
      *id = numeric;
      return TRUE;
    }

  canonical = g_canonicalize_filename (name_or_id, NULL);
  stmt = get_stmt (self,
                   "SELECT id FROM documents WHERE path = ?2 OR name = ?1 OR title = ?1 "
                   "ORDER BY id", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name_or_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, canonical, -1, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 found = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (ids, found);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      _docent_store_set_error (self, rc, error, "finding a document");
      return FALSE;
    }

  if (ids->len == 0)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_NOT_FOUND,
                   _("No document called “%s” in the library; “docent list” shows what is there"),
                   name_or_id);
      return FALSE;
    }
  if (ids->len > 1)
    {
      g_autoptr(GString) list = g_string_new (NULL);
      for (guint i = 0; i < ids->len; i++)
        g_string_append_printf (list, "%s%" G_GINT64_FORMAT, i ? ", " : "",
                                g_array_index (ids, gint64, i));
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_AMBIGUOUS,
                   _("“%s” matches %u documents (ids %s); name one by its id"),
                   name_or_id, ids->len, list->str);
      return FALSE;
    }
  *id = g_array_index (ids, gint64, 0);
  return TRUE;
}

gboolean
docent_store_remove_document (DocentStore *self,
                              gint64       id,
                              GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (DOCENT_IS_STORE (self), FALSE);

  if (!_docent_store_begin (self, error))
    return FALSE;
  stmt = get_stmt (self, "DELETE FROM documents WHERE id = ?1", error);
  if (stmt == NULL)
    goto fail;
  sqlite3_bind_int64 (stmt, 1, id);
  if (!step_done (self, stmt, "removing a document", error))
    goto fail;
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_NOT_FOUND,
                   _("There is no document %lld in the library"), (long long) id);
      goto fail;
    }
  return _docent_store_commit (self, error);

fail:
  _docent_store_rollback (self);
  return FALSE;
}

gint64
_docent_store_find_path (DocentStore     *self,
                         const char      *path,
                         char           **sha256,
                         DocentDocStatus *status,
                         GError         **error)
{
  sqlite3_stmt *stmt = get_stmt (self, "SELECT id, sha256, status FROM documents WHERE path = ?1", error);
  gint64 id = 0;
  int rc;

  if (stmt == NULL)
    return -1;
  sqlite3_bind_text (stmt, 1, path, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      id = sqlite3_column_int64 (stmt, 0);
      if (sha256)
        *sha256 = dup_column_text (stmt, 1);
      if (status)
        *status = docent_doc_status_from_string ((const char *) sqlite3_column_text (stmt, 2));
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      _docent_store_set_error (self, rc, error, "looking up a path");
      return -1;
    }
  return id;
}

gint64
_docent_store_find_sha256 (DocentStore *self,
                           const char  *sha256,
                           const char  *except_path,
                           char       **path,
                           GError     **error)
{
  sqlite3_stmt *stmt = get_stmt (self,
                                 "SELECT id, path FROM documents WHERE sha256 = ?1 AND path != ?2 "
                                 "AND status IN ('ready', 'no-text-layer') ORDER BY id LIMIT 1",
                                 error);
  gint64 id = 0;
  int rc;

  if (stmt == NULL)
    return -1;
  sqlite3_bind_text (stmt, 1, sha256, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, except_path, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      id = sqlite3_column_int64 (stmt, 0);
      if (path)
        *path = dup_column_text (stmt, 1);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      _docent_store_set_error (self, rc, error, "looking up a file's hash");
      return -1;
    }
  return id;
}

static void
bind_text_or_null (sqlite3_stmt *stmt,
                   int           col,
                   const char   *text)
{
  if (text != NULL)
    sqlite3_bind_text (stmt, col, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, col);
}

gboolean
_docent_store_put_document (DocentStore    *self,
                            DocentDocument *doc,
                            GError        **error)
{
  sqlite3_stmt *stmt;
  gint64 existing;

  existing = _docent_store_find_path (self, doc->path, NULL, NULL, error);
  if (existing < 0)
    return FALSE;

  if (existing > 0)
    {
      /* A changed file: its old passages go in the same transaction. */
      stmt = get_stmt (self, "DELETE FROM chunks WHERE doc_id = ?1", error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, existing);
      if (!step_done (self, stmt, "replacing passages", error))
        return FALSE;
      stmt = get_stmt (self, "DELETE FROM pages WHERE doc_id = ?1", error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, existing);
      if (!step_done (self, stmt, "replacing pages", error))
        return FALSE;
      doc->id = existing;
    }

  stmt = get_stmt (self,
                   "INSERT INTO documents (id, path, name, title, author, type, size, mtime, sha256,"
                   " pages, chunks, encoding, status, error, added)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
                   " ON CONFLICT (path) DO UPDATE SET name = excluded.name, title = excluded.title,"
                   " author = excluded.author, type = excluded.type, size = excluded.size,"
                   " mtime = excluded.mtime, sha256 = excluded.sha256, pages = excluded.pages,"
                   " chunks = excluded.chunks, encoding = excluded.encoding,"
                   " status = excluded.status, error = excluded.error",
                   error);
  if (stmt == NULL)
    return FALSE;
  if (existing > 0)
    sqlite3_bind_int64 (stmt, 1, existing);
  else
    sqlite3_bind_null (stmt, 1);
  sqlite3_bind_text (stmt, 2, doc->path, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, doc->name, -1, SQLITE_TRANSIENT);
  bind_text_or_null (stmt, 4, doc->title);
  bind_text_or_null (stmt, 5, doc->author);
  sqlite3_bind_text (stmt, 6, doc->type == DOCENT_DOC_TYPE_PDF ? "pdf" : "text", -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 7, doc->size);
  sqlite3_bind_int64 (stmt, 8, doc->mtime);
  bind_text_or_null (stmt, 9, doc->sha256);
  sqlite3_bind_int (stmt, 10, doc->pages);
  sqlite3_bind_int (stmt, 11, doc->chunks);
  bind_text_or_null (stmt, 12, doc->encoding);
  sqlite3_bind_text (stmt, 13, docent_doc_status_to_string (doc->status), -1, SQLITE_STATIC);
  bind_text_or_null (stmt, 14, doc->error);
  sqlite3_bind_int64 (stmt, 15, doc->added ? doc->added : g_get_real_time () / G_USEC_PER_SEC);
  if (!step_done (self, stmt, "saving a document", error))
    return FALSE;
  if (existing == 0)
    doc->id = sqlite3_last_insert_rowid (self->db);
  return TRUE;
}

gboolean
_docent_store_finish_document (DocentStore          *self,
                               const DocentDocument *doc,
                               GError              **error)
{
  sqlite3_stmt *stmt = get_stmt (self,
                                 "UPDATE documents SET pages = ?2, chunks = ?3, status = ?4, error = ?5,"
                                 " encoding = ?6, title = ?7, author = ?8 WHERE id = ?1",
                                 error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, doc->id);
  sqlite3_bind_int (stmt, 2, doc->pages);
  sqlite3_bind_int (stmt, 3, doc->chunks);
  sqlite3_bind_text (stmt, 4, docent_doc_status_to_string (doc->status), -1, SQLITE_STATIC);
  bind_text_or_null (stmt, 5, doc->error);
  bind_text_or_null (stmt, 6, doc->encoding);
  bind_text_or_null (stmt, 7, doc->title);
  bind_text_or_null (stmt, 8, doc->author);
  return step_done (self, stmt, "finishing a document", error);
}

gboolean
_docent_store_add_chunk (DocentStore       *self,
                         gint64             doc_id,
                         const DocentChunk *chunk,
                         GError           **error)
{
  sqlite3_stmt *stmt = get_stmt (self,
                                 "INSERT INTO chunks (doc_id, ordinal, page_first, page_last,"
                                 " line_first, line_last, char_start, char_end, text)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                                 error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, doc_id);
  sqlite3_bind_int (stmt, 2, chunk->ordinal);
  sqlite3_bind_int (stmt, 3, chunk->page_first);
  sqlite3_bind_int (stmt, 4, chunk->page_last);
  sqlite3_bind_int (stmt, 5, chunk->line_first);
  sqlite3_bind_int (stmt, 6, chunk->line_last);
  sqlite3_bind_int64 (stmt, 7, chunk->char_start);
  sqlite3_bind_int64 (stmt, 8, chunk->char_end);
  sqlite3_bind_text (stmt, 9, chunk->text, -1, SQLITE_STATIC);
  return step_done (self, stmt, "saving a passage", error);
}

gboolean
_docent_store_add_pages (DocentStore *self,
                         gint64       doc_id,
                         GArray      *pages,
                         GError     **error)
{
  for (guint i = 0; i < pages->len; i++)
    {
      const DocentPage *page = &g_array_index (pages, DocentPage, i);
      sqlite3_stmt *stmt = get_stmt (self,
                                     "INSERT OR REPLACE INTO pages (doc_id, number, label, char_start,"
                                     " char_end, n_chars) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                     error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, doc_id);
      sqlite3_bind_int (stmt, 2, page->number);
      bind_text_or_null (stmt, 3, page->label);
      sqlite3_bind_int64 (stmt, 4, page->char_start);
      sqlite3_bind_int64 (stmt, 5, page->char_end);
      sqlite3_bind_int (stmt, 6, page->n_chars);
      if (!step_done (self, stmt, "saving pages", error))
        return FALSE;
    }
  return TRUE;
}

/* ---- per-library settings ---- */

gboolean
_docent_store_get_setting (DocentStore  *self,
                           const char   *key,
                           char        **value,
                           GError      **error)
{
  sqlite3_stmt *stmt = get_stmt (self, "SELECT value FROM settings WHERE key = ?1", error);
  int rc;

  *value = NULL;
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *value = dup_column_text (stmt, 0);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      _docent_store_set_error (self, rc, error, "reading a setting");
      return FALSE;
    }
  return TRUE;
}

gboolean
_docent_store_set_setting (DocentStore *self,
                           const char  *key,
                           const char  *value,
                           GError     **error)
{
  sqlite3_stmt *stmt = get_stmt (self, "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
                                 error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
  bind_text_or_null (stmt, 2, value);
  return step_done (self, stmt, "saving a setting", error);
}

gboolean
_docent_store_set_document_chunking (DocentStore *self,
                                     gint64       doc_id,
                                     guint        size,
                                     guint        overlap,
                                     GError     **error)
{
  sqlite3_stmt *stmt = get_stmt (self, "UPDATE documents SET chunk_size = ?2, chunk_overlap = ?3"
                                       " WHERE id = ?1", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, doc_id);
  sqlite3_bind_int (stmt, 2, size);
  sqlite3_bind_int (stmt, 3, overlap);
  return step_done (self, stmt, "saving a document's passage size", error);
}

static void
page_free (gpointer data)
{
  DocentPage *page = data;
  g_free (page->label);
  g_free (page);
}

GPtrArray *
docent_store_dup_pages (DocentStore *self,
                        gint64       doc_id,
                        GError     **error)
{
  g_autoptr(GPtrArray) pages = g_ptr_array_new_with_free_func (page_free);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (DOCENT_IS_STORE (self), NULL);

  stmt = get_stmt (self,
                   "SELECT number, label, char_start, char_end, n_chars FROM pages"
                   " WHERE doc_id = ?1 ORDER BY number", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, doc_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      DocentPage *page = g_new0 (DocentPage, 1);
      page->number = sqlite3_column_int (stmt, 0);
      page->label = dup_column_text (stmt, 1);
      page->char_start = sqlite3_column_int64 (stmt, 2);
      page->char_end = sqlite3_column_int64 (stmt, 3);
      page->n_chars = sqlite3_column_int (stmt, 4);
      g_ptr_array_add (pages, page);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      _docent_store_set_error (self, rc, error, "reading pages");
      return NULL;
    }
  return g_steal_pointer (&pages);
}

/* ---- import queue ---- */

gboolean
_docent_store_queue_add (DocentStore *self,
                         const char  *path,
                         GError     **error)
{
  sqlite3_stmt *stmt = get_stmt (self,
                                 "INSERT OR IGNORE INTO import_queue (path, queued) VALUES (?1, ?2)",
                                 error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, path, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, g_get_real_time () / G_USEC_PER_SEC);
  return step_done (self, stmt, "queueing a file", error);
}

gboolean
_docent_store_queue_remove (DocentStore *self,
                            const char  *path,
                            GError     **error)
{
  sqlite3_stmt *stmt = get_stmt (self, "DELETE FROM import_queue WHERE path = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, path, -1, SQLITE_TRANSIENT);
  return step_done (self, stmt, "updating the import queue", error);
}

GPtrArray *
_docent_store_queue_list (DocentStore *self,
                          GError     **error)
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt = get_stmt (self, "SELECT path FROM import_queue ORDER BY queued, path", error);
  int rc;

  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (paths, dup_column_text (stmt, 0));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      _docent_store_set_error (self, rc, error, "reading the import queue");
      return NULL;
    }
  return g_steal_pointer (&paths);
}

gint64
docent_store_count_unfinished_imports (DocentStore *self,
                                       GError     **error)
{
  sqlite3_stmt *stmt;
  gint64 n = -1;
  int rc;

  g_return_val_if_fail (DOCENT_IS_STORE (self), -1);

  stmt = get_stmt (self, "SELECT count(*) FROM import_queue", error);
  if (stmt == NULL)
    return -1;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    n = sqlite3_column_int64 (stmt, 0);
  else
    _docent_store_set_error (self, rc, error, "reading the import queue");
  sqlite3_reset (stmt);
  return n;
}

/* ---- search ---- */

void
docent_search_result_free (DocentSearchResult *result)
{
  if (result == NULL)
    return;
  g_free (result->doc);
  g_free (result->path);
  g_free (result->page_label);
  g_free (result->text);
  g_clear_pointer (&result->highlights, g_array_unref);
  g_free (result);
}

typedef struct {
  GString    *match;      /* the FTS5 expression being built */
  GHashTable *terms;      /* normalized query terms, for highlights */
  const char *query;
  gsize       run_start;  /* byte range of the current CJK run */
  gsize       run_end;
  gboolean    in_run;
  gboolean    skip_stop_words;
} QueryBuilder;

static void
append_fts_string (GString    *out,
                   const char *text,
                   gsize       len)
{
  /* An FTS5 string: double quotes, with embedded quotes doubled. */
  if (out->len > 0)
    g_string_append (out, " OR ");
  g_string_append_c (out, '"');
  for (gsize i = 0; i < len; i++)
    {
      if (text[i] == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, text[i]);
    }
  g_string_append_c (out, '"');
}

/* Korean particles (josa) that end a word: a query word like "계산을"
 * should find "계산했던", so the particle leaves the phrase. Longest first. */
static const char *josa[] = {
  "에서는", "으로는", "에게서", "이라는", "에서", "에게", "으로", "부터", "까지", "처럼", "보다",
  "이나", "에는", "라는", "하고", "은", "는", "이", "가", "을", "를", "의", "에", "와", "과", "도",
  "로", "만",
};

static void
flush_run (QueryBuilder *qb)
{
  const char *run = qb->query + qb->run_start;
  gsize len = qb->run_end - qb->run_start;

  if (!qb->in_run)
    return;
  qb->in_run = FALSE;
  /* The phrase keeps at least two syllables (six bytes of UTF-8). */
  for (gsize i = 0; i < G_N_ELEMENTS (josa); i++)
    {
      gsize jl = strlen (josa[i]);
      if (len >= jl + 6 && memcmp (run + len - jl, josa[i], jl) == 0)
        {
          len -= jl;
          break;
        }
    }
  append_fts_string (qb->match, run, len);
}

/* English function words: in an OR query they only add noise to BM25 (a
 * question's "how do I … in the …" matches every passage). Dropped from the
 * query unless nothing else is left. */
static const char *stop_words[] = {
  "a", "about", "after", "all", "an", "and", "any", "are", "as", "at", "be", "been", "being",
  "but", "by", "can", "could", "did", "do", "does", "doing", "for", "from", "had", "has",
  "have", "he", "her", "here", "his", "how", "i", "if", "in", "into", "is", "it", "its",
  "me", "my", "no", "not", "of", "on", "or", "our", "she", "should", "so", "some", "than",
  "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to",
  "was", "we", "were", "what", "when", "where", "which", "who", "whom", "why", "will",
  "with", "would", "you", "your",
};

static gboolean
is_stop_word (const char *word,
              gsize       len)
{
  char lower[16];

  if (len >= sizeof lower)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    lower[i] = g_ascii_tolower (word[i]);
  lower[len] = '\0';
  for (gsize i = 0; i < G_N_ELEMENTS (stop_words); i++)
    if (strcmp (lower, stop_words[i]) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
collect_query_term (const char *term,
                    gsize       term_len,
                    gsize       byte_start,
                    gsize       byte_end,
                    gpointer    user_data)
{
  QueryBuilder *qb = user_data;
  /* CJK bigrams are emitted as slices of the query itself (words come from
   * a normalisation buffer), and their UTF-8 lead bytes are >= 0xE1. */
  gboolean cjk = term == qb->query + byte_start && term_len == byte_end - byte_start &&
                 (guchar) term[0] >= 0xE1;

  if (!cjk && qb->skip_stop_words && is_stop_word (qb->query + byte_start, byte_end - byte_start))
    return TRUE;
  g_hash_table_add (qb->terms, g_strndup (term, term_len));

  if (cjk)
    {
      /* Consecutive bigrams of one run overlap: keep the run together so
       * FTS5 matches it as a phrase. */
      if (qb->in_run && byte_start < qb->run_end)
        qb->run_end = byte_end;
      else
        {
          flush_run (qb);
          qb->in_run = TRUE;
          qb->run_start = byte_start;
          qb->run_end = byte_end;
        }
      return TRUE;
    }

  flush_run (qb);
  /* The original word: FTS5 runs our tokenizer (and stemmer) over it. */
  append_fts_string (qb->match, qb->query + byte_start, byte_end - byte_start);
  return TRUE;
}

typedef struct {
  GHashTable *terms;
  GArray     *byte_ranges;
} HighlightCollector;

static gboolean
collect_highlight (const char *term,
                   gsize       term_len,
                   gsize       byte_start,
                   gsize       byte_end,
                   gpointer    user_data)
{
  HighlightCollector *hc = user_data;
  g_autofree char *key = g_strndup (term, term_len);

  if (g_hash_table_contains (hc->terms, key))
    {
      gint64 range[2] = { (gint64) byte_start, (gint64) byte_end };
      guint n = hc->byte_ranges->len;

      /* Merge overlapping or touching ranges (bigrams of one word). */
      if (n >= 2 && g_array_index (hc->byte_ranges, gint64, n - 1) >= range[0])
        g_array_index (hc->byte_ranges, gint64, n - 1) = MAX (range[1], g_array_index (hc->byte_ranges, gint64, n - 1));
      else
        g_array_append_vals (hc->byte_ranges, range, 2);
    }
  return TRUE;
}

/* Highlights as code-point offsets within @text. */
static GArray *
compute_highlights (DocentStore *self,
                    const char  *text,
                    GHashTable  *terms)
{
  HighlightCollector hc = { terms, g_array_new (FALSE, FALSE, sizeof (gint64)) };
  GArray *out = g_array_new (FALSE, FALSE, sizeof (gint64));

  docent_tokenizer_tokenize (self->tokenizer, text, -1, collect_highlight, &hc);
  for (guint i = 0; i < hc.byte_ranges->len; i++)
    {
      gint64 b = g_array_index (hc.byte_ranges, gint64, i);
      gint64 cp = g_utf8_pointer_to_offset (text, text + b);
      g_array_append_val (out, cp);
    }
  g_array_unref (hc.byte_ranges);
  return out;
}

/* Builds the FTS5 MATCH expression for a question typed by a person: every
 * word and CJK run becomes a quoted string (so no character of the query is
 * FTS5 syntax), joined by OR and ranked by BM25. Returns NULL when the query
 * has no searchable term. */
char *
_docent_store_build_match (DocentStore *self,
                           const char  *query,
                           GHashTable  *terms)
{
  QueryBuilder qb = { g_string_new (NULL), terms, query, 0, 0, FALSE, TRUE };

  docent_tokenizer_tokenize (self->tokenizer, query, -1, collect_query_term, &qb);
  flush_run (&qb);
  if (qb.match->len == 0)
    {
      /* Only function words ("to be or not to be"): search for them after all. */
      qb.skip_stop_words = FALSE;
      docent_tokenizer_tokenize (self->tokenizer, query, -1, collect_query_term, &qb);
      flush_run (&qb);
    }
  if (qb.match->len == 0)
    {
      g_string_free (qb.match, TRUE);
      return NULL;
    }
  return g_string_free (qb.match, FALSE);
}

static char *
doc_ids_json (GArray *doc_ids)
{
  GString *json = g_string_new ("[");

  for (guint i = 0; doc_ids != NULL && i < doc_ids->len; i++)
    g_string_append_printf (json, "%s%" G_GINT64_FORMAT, i ? "," : "",
                            g_array_index (doc_ids, gint64, i));
  g_string_append_c (json, ']');
  return g_string_free (json, FALSE);
}

GPtrArray *
docent_store_search (DocentStore               *self,
                     const char                *query,
                     const DocentSearchOptions *options,
                     GError                   **error)
{
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func ((GDestroyNotify) docent_search_result_free);
  g_autoptr(GHashTable) terms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *match = NULL;
  g_autofree char *ids = NULL;
  gboolean filter;
  sqlite3_stmt *stmt;
  guint k = 10;
  int rc;

  g_return_val_if_fail (DOCENT_IS_STORE (self), NULL);
  g_return_val_if_fail (query != NULL, NULL);

  if (options != NULL && options->k > 0)
    k = options->k;
  filter = options != NULL && options->doc_ids != NULL && options->doc_ids->len > 0;

  match = _docent_store_build_match (self, query, terms);
  if (match == NULL)
    return g_steal_pointer (&results);

  /* Filters apply inside the query, before ranking. */
  stmt = get_stmt (self,
                   "SELECT c.id, c.doc_id, d.name, d.path, d.type, c.page_first, c.page_last,"
                   " p.label, c.line_first, c.line_last, c.char_start, c.char_end,"
                   " docent_rank (chunks_fts, ?5, ?6, ?7, ?8) AS score, c.text"
                   " FROM chunks_fts"
                   " JOIN chunks c ON c.id = chunks_fts.rowid"
                   " JOIN documents d ON d.id = c.doc_id"
                   " LEFT JOIN pages p ON p.doc_id = c.doc_id AND p.number = c.page_first"
                   " WHERE chunks_fts MATCH ?1"
                   "   AND (?3 = 0 OR c.doc_id IN (SELECT value FROM json_each (?4)))"
                   " ORDER BY score DESC, c.id LIMIT ?2",
                   error);
  if (stmt == NULL)
    return NULL;
  ids = doc_ids_json (filter ? options->doc_ids : NULL);
  sqlite3_bind_text (stmt, 1, match, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (stmt, 2, k);
  sqlite3_bind_int (stmt, 3, filter);
  sqlite3_bind_text (stmt, 4, ids, -1, SQLITE_TRANSIENT);
  sqlite3_bind_double (stmt, 5, self->rank.k1);
  sqlite3_bind_double (stmt, 6, self->rank.b);
  sqlite3_bind_double (stmt, 7, self->rank.w_prox);
  sqlite3_bind_double (stmt, 8, self->rank.w_cov);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      DocentSearchResult *r = g_new0 (DocentSearchResult, 1);
      gboolean pdf = g_strcmp0 ((const char *) sqlite3_column_text (stmt, 4), "pdf") == 0;

      r->rank = results->len + 1;
      r->chunk_id = sqlite3_column_int64 (stmt, 0);
      r->doc_id = sqlite3_column_int64 (stmt, 1);
      r->doc = dup_column_text (stmt, 2);
      r->path = dup_column_text (stmt, 3);
      r->type = pdf ? DOCENT_DOC_TYPE_PDF : DOCENT_DOC_TYPE_TEXT;
      if (pdf)
        {
          r->page = sqlite3_column_int (stmt, 5);
          r->page_end = sqlite3_column_int (stmt, 6);
          r->page_label = dup_column_text (stmt, 7);
        }
      else
        {
          r->line = sqlite3_column_int (stmt, 8);
          r->line_end = sqlite3_column_int (stmt, 9);
        }
      r->char_start = sqlite3_column_int64 (stmt, 10);
      r->char_end = sqlite3_column_int64 (stmt, 11);
      r->score = sqlite3_column_double (stmt, 12);
      r->text = dup_column_text (stmt, 13);
      r->highlights = compute_highlights (self, r->text ? r->text : "", terms);
      g_ptr_array_add (results, r);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      _docent_store_set_error (self, rc, error, "searching");
      return NULL;
    }
  return g_steal_pointer (&results);
}

/* ---- backup ---- */

gboolean
docent_store_backup (DocentStore *self,
                     const char  *dest_path,
                     GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (DOCENT_IS_STORE (self), FALSE);

  if (g_file_test (dest_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_USAGE,
                   _("%s already exists; choose a new file name for the backup"), dest_path);
      return FALSE;
    }
  /* VACUUM INTO reads one snapshot: consistent while an import writes. */
  stmt = get_stmt (self, "VACUUM INTO ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, dest_path, -1, SQLITE_TRANSIENT);
  if (!step_done (self, stmt, "writing the backup", error))
    {
      g_prefix_error (error, _("Backup to %s failed: "), dest_path);
      return FALSE;
    }
  return TRUE;
}
