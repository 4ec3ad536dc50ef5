/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "docent-error.h"
#include "docent-fts-tokenizer.h"
#include "docent-store-private.h"

static char *
temp_library (void)
{
  g_autofree char *dir = g_dir_make_tmp ("docent-store-XXXXXX", NULL);
  return g_build_filename (dir, "library.db", NULL);
}

/* Adds one text document made of @passages, one chunk each. */
static gint64
add_document (DocentStore *store, const char *path, const char * const *passages)
{
  g_autoptr(DocentDocument) doc = docent_document_new ();
  g_autoptr(GError) error = NULL;
  gint64 offset = 0;
  guint n = 0;

  doc->path = g_strdup (path);
  doc->name = g_path_get_basename (path);
  doc->title = g_strdup (doc->name);
  doc->type = DOCENT_DOC_TYPE_TEXT;
  doc->status = DOCENT_DOC_STATUS_READY;
  doc->sha256 = g_compute_checksum_for_string (G_CHECKSUM_SHA256, path, -1);
  g_assert_true (_docent_store_begin (store, &error));
  g_assert_true (_docent_store_put_document (store, doc, &error));
  for (; passages[n] != NULL; n++)
    {
      DocentChunk chunk = { n, offset, offset + g_utf8_strlen (passages[n], -1), 0, 0, n + 1, n + 1,
                            (char *) passages[n] };
      g_assert_true (_docent_store_add_chunk (store, doc->id, &chunk, &error));
      offset = chunk.char_end + 1;
    }
  doc->chunks = n;
  g_assert_true (_docent_store_finish_document (store, doc, &error));
  g_assert_true (_docent_store_commit (store, &error));
  g_assert_no_error (error);
  return doc->id;
}

static guint
count_hits (DocentStore *store, const char *query)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = docent_store_search (store, query, NULL, &error);
  g_assert_no_error (error);
  return results->len;
}

static void
check_integrity (DocentStore *store)
{
  sqlite3 *db = docent_store_get_db (store);
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "ok");
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_exec (db, "INSERT INTO chunks_fts (chunks_fts) VALUES ('integrity-check')",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
}

static void
test_korean_search (void)
{
  g_autofree char *path = temp_library ();
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentStore) store = docent_store_open (path, &error);
  const char *passages[] = {
    "양자화는 모델의 크기를 줄인다.",
    "연속 배치는 처리량을 높인다.",
    "Quantization shrinks the weights of a model.",
    NULL
  };
  g_autoptr(GPtrArray) results = NULL;
  DocentSearchResult *r;

  g_assert_no_error (error);
  add_document (store, "/tmp/notes-ko.txt", passages);

  /* unicode61 would keep 양자화는 and 모델의 as single tokens and miss these. */
  g_assert_cmpuint (count_hits (store, "양자화"), ==, 1);
  g_assert_cmpuint (count_hits (store, "모델"), ==, 1);
  g_assert_cmpuint (count_hits (store, "배치"), ==, 1);
  g_assert_cmpuint (count_hits (store, "없는말"), ==, 0);
  /* Stemming: "quantized models" finds "Quantization … model". */
  g_assert_cmpuint (count_hits (store, "weight"), ==, 1);
  g_assert_cmpuint (count_hits (store, "models"), ==, 1);

  results = docent_store_search (store, "양자화", NULL, &error);
  g_assert_no_error (error);
  r = g_ptr_array_index (results, 0);
  g_assert_cmpstr (r->text, ==, passages[0]);
  g_assert_cmpuint (r->line, ==, 1);
  g_assert_cmpuint (r->page, ==, 0);
  g_assert_cmpfloat (r->score, >, 0);
  /* The highlight covers exactly 양자화 (code points 0..3). */
  g_assert_cmpuint (r->highlights->len, ==, 2);
  g_assert_cmpint (g_array_index (r->highlights, gint64, 0), ==, 0);
  g_assert_cmpint (g_array_index (r->highlights, gint64, 1), ==, 3);
  check_integrity (store);
}

static void
test_hostile_queries (void)
{
  g_autofree char *path = temp_library ();
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentStore) store = docent_store_open (path, &error);
  const char *passages[] = { "Use solve(A, b) to solve the system; see R_HOME and .Call.", NULL };
  const char *queries[] = { "\"", "AND OR NOT", "NEAR(", "*", "col:foo", "'; DROP TABLE chunks; --",
                            "^solve", "", "   ", "((", NULL };

  g_assert_no_error (error);
  add_document (store, "/tmp/code.txt", passages);
  for (guint i = 0; queries[i]; i++)
    {
      g_autoptr(GPtrArray) results = docent_store_search (store, queries[i], NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (results);
    }
  g_assert_cmpuint (count_hits (store, "solve(A,b)"), ==, 1);
  g_assert_cmpuint (count_hits (store, "R_HOME"), ==, 1);
  g_assert_cmpuint (count_hits (store, ".Call"), ==, 1);
  g_assert_cmpuint (count_hits (store, "chunks"), ==, 0);
  /* Function words leave the query, unless they are all there is. */
  g_assert_cmpuint (count_hits (store, "how do I use the solve"), ==, 1);
  g_assert_cmpuint (count_hits (store, "the and"), ==, 1);
}

static void
test_filter_remove_resolve (void)
{
  g_autofree char *path = temp_library ();
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentStore) store = docent_store_open (path, &error);
  const char *a[] = { "apples grow on trees", NULL };
  const char *b[] = { "apples are also in pies", "and more apples", NULL };
  gint64 ida = add_document (store, "/data/one/fruit.txt", a);
  gint64 idb = add_document (store, "/data/two/fruit.txt", b);
  gint64 idc = add_document (store, "/data/two/pies.txt", b + 1);
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  DocentSearchOptions options = { 10, ids };
  g_autoptr(GPtrArray) results = NULL;
  gint64 id = 0;

  g_assert_cmpuint (count_hits (store, "apple"), ==, 4);
  g_array_append_val (ids, ida);
  results = docent_store_search (store, "apples", &options, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 1);
  g_assert_cmpint (((DocentSearchResult *) results->pdata[0])->doc_id, ==, ida);

  /* A name shared by two documents is an error listing both ids. */
  g_assert_false (docent_store_resolve_document (store, "fruit.txt", &id, &error));
  g_assert_error (error, DOCENT_ERROR, DOCENT_ERROR_AMBIGUOUS);
  g_assert_nonnull (strstr (error->message, "1, 2"));
  g_clear_error (&error);
  g_assert_true (docent_store_resolve_document (store, "pies.txt", &id, &error));
  g_assert_cmpint (id, ==, idc);
  g_assert_true (docent_store_resolve_document (store, "/data/two/fruit.txt", &id, &error));
  g_assert_cmpint (id, ==, idb);
  g_assert_false (docent_store_resolve_document (store, "nothing.pdf", &id, &error));
  g_assert_error (error, DOCENT_ERROR, DOCENT_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Removing a document removes its passages from the index. */
  g_assert_true (docent_store_remove_document (store, idb, &error));
  g_assert_cmpuint (count_hits (store, "apple"), ==, 2);
  g_assert_false (docent_store_remove_document (store, idb, &error));
  g_assert_error (error, DOCENT_ERROR, DOCENT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  check_integrity (store);
}

static void
test_schema_and_backup (void)
{
  g_autofree char *path = temp_library ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *backup = g_build_filename (dir, "backup.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentStore) store = docent_store_open (path, &error);
  g_autoptr(DocentStore) copy = NULL;
  const char *a[] = { "a passage worth keeping", NULL };
  sqlite3_stmt *stmt = NULL;

  g_assert_no_error (error);
  add_document (store, "/x/keep.txt", a);
  g_assert_true (docent_store_backup (store, backup, &error));
  g_assert_false (docent_store_backup (store, backup, &error));
  g_assert_error (error, DOCENT_ERROR, DOCENT_ERROR_USAGE);
  g_clear_error (&error);

  copy = docent_store_open (backup, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (count_hits (copy, "worth"), ==, 1);
  sqlite3_prepare_v2 (docent_store_get_db (copy), "PRAGMA user_version", -1, &stmt, NULL);
  sqlite3_step (stmt);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 2);
  sqlite3_finalize (stmt);
  sqlite3_prepare_v2 (docent_store_get_db (store), "PRAGMA journal_mode", -1, &stmt, NULL);
  sqlite3_step (stmt);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "wal");
  sqlite3_finalize (stmt);

  /* A library from a newer Docent is refused, not damaged. */
  g_clear_object (&copy);
  sqlite3 *db = NULL;
  sqlite3_open (backup, &db);
  sqlite3_exec (db, "PRAGMA user_version = 99", NULL, NULL, NULL);
  sqlite3_close (db);
  copy = docent_store_open (backup, &error);
  g_assert_null (copy);
  g_assert_error (error, DOCENT_ERROR, DOCENT_ERROR_STORE);
  g_assert_nonnull (strstr (error->message, "newer version"));
  g_clear_error (&error);

  /* Not a database at all. */
  g_assert_true (g_file_set_contents (backup, "this is not sqlite, just text that is long enough to be read", -1, NULL));
  copy = docent_store_open (backup, &error);
  g_assert_null (copy);
  g_assert_error (error, DOCENT_ERROR, DOCENT_ERROR_CORRUPT);
}

typedef struct {
  const char *path;
  gint       *waiting;
  DocentStore *store;
  GError     *error;
} OpenRace;

static gpointer
open_race_thread (gpointer data)
{
  OpenRace *r = data;

  /* Start together, so both find the new file at schema 0. */
  g_atomic_int_dec_and_test (r->waiting);
  while (g_atomic_int_get (r->waiting) > 0)
    ;
  r->store = docent_store_open (r->path, &r->error);
  return NULL;
}

/* The window and `docent import` may create the same new library at the
 * same moment: both must open it, and the schema must be built once. */
static void
test_concurrent_create (void)
{
  for (int round = 0; round < 30; round++)
    {
      g_autofree char *path = temp_library ();
      g_autofree char *dir = g_path_get_dirname (path);
      OpenRace races[3] = { 0 };
      GThread *threads[G_N_ELEMENTS (races)];
      gint waiting = G_N_ELEMENTS (races);
      const char *a[] = { "written by the first connection", NULL };

      for (guint i = 0; i < G_N_ELEMENTS (races); i++)
        {
          races[i].path = path;
          races[i].waiting = &waiting;
          threads[i] = g_thread_new ("open-race", open_race_thread, &races[i]);
        }
      for (guint i = 0; i < G_N_ELEMENTS (races); i++)
        g_thread_join (threads[i]);
      for (guint i = 0; i < G_N_ELEMENTS (races); i++)
        {
          g_assert_no_error (races[i].error);
          g_assert_nonnull (races[i].store);
        }
      /* One library: what one connection writes, the others find. */
      add_document (races[0].store, "/x/race.txt", a);
      for (guint i = 0; i < G_N_ELEMENTS (races); i++)
        {
          g_assert_cmpuint (count_hits (races[i].store, "connection"), ==, 1);
          g_object_unref (races[i].store);
        }
      /* The last connection to close removes -wal and -shm. */
      g_remove (path);
      g_rmdir (dir);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/store/korean-search", test_korean_search);
  g_test_add_func ("/store/hostile-queries", test_hostile_queries);
  g_test_add_func ("/store/filter-remove-resolve", test_filter_remove_resolve);
  g_test_add_func ("/store/schema-and-backup", test_schema_and_backup);
  g_test_add_func ("/store/concurrent-create", test_concurrent_create);
  return g_test_run ();
}
