/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "docent-collection.h"
#include "docent-error.h"
#include "docent-fts-tokenizer.h"
#include "docent-hash-embedder.h"
#include "docent-importer.h"
#include "docent-rechunker.h"
#include "docent-store-private.h"
#include "docent-test-pdf.h"
#include "docent-test-util.h"
#include "docent-vector-store.h"

/* The library's own settings, re-cutting, embedding on the import's
 * workers and the schema-2 migration: real files, real threads, real
 * SQLite libraries. */

static char *tmpdir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static void
assert_sound (DocentStore *store)
{
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (docent_store_get_db (store), "PRAGMA integrity_check", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "ok");
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_exec (docent_store_get_db (store),
                                 "INSERT INTO chunks_fts (chunks_fts) VALUES ('integrity-check')",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  /* documents.chunks agrees, ordinals 0..n-1 */
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM documents d WHERE chunks !="
                                     " (SELECT count(*) FROM chunks c WHERE c.doc_id = d.id)"), ==, 0);
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM documents d WHERE chunks > 0 AND chunks !="
                                     " (SELECT max(ordinal) + 1 FROM chunks c WHERE c.doc_id = d.id)"), ==, 0);
}

/* Every passage as one line: where it is and what it says. */
static char *
dump_chunks (DocentStore *store, gboolean with_text)
{
  GString *out = g_string_new (NULL);
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (docent_store_get_db (store),
                                       "SELECT d.name, c.ordinal, c.char_start, c.char_end, c.page_first,"
                                       " c.page_last, c.line_first, c.line_last, c.text"
                                       " FROM chunks c JOIN documents d ON d.id = c.doc_id"
                                       " ORDER BY d.name, c.ordinal", -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_string_append_printf (out, "%s %d %lld-%lld p%d-%d l%d-%d %s\n",
                            sqlite3_column_text (stmt, 0), sqlite3_column_int (stmt, 1),
                            (long long) sqlite3_column_int64 (stmt, 2), (long long) sqlite3_column_int64 (stmt, 3),
                            sqlite3_column_int (stmt, 4), sqlite3_column_int (stmt, 5),
                            sqlite3_column_int (stmt, 6), sqlite3_column_int (stmt, 7),
                            with_text ? (const char *) sqlite3_column_text (stmt, 8) : "");
  sqlite3_finalize (stmt);
  return g_string_free (out, FALSE);
}

static void
import_into (const char *library, const char * const *paths, int size, int overlap,
             gboolean embed)
{
  g_autoptr(DocentImporter) importer = docent_importer_new (library);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  if (size > 0)
    docent_importer_set_chunking (importer, size, overlap);
  docent_importer_set_embed (importer, embed);
  docent_importer_set_n_workers (importer, 2);
  results = docent_importer_import_sync (importer, paths, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < results->len; i++)
    g_assert_cmpint (((DocentImportFileResult *) results->pdata[i])->outcome, ==, DOCENT_IMPORT_IMPORTED);
}

/* A PDF with printed labels and paragraphs, a Markdown file with blank
 * lines and Korean, a plain text file: the shapes re-cutting must keep. */
static GPtrArray *
write_corpus (const char *dir, guint n_extra)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  GString *pages[4];
  const char *labels[] = { "i", "1", "2", "3" };
  g_autoptr(GError) error = NULL;
  char *path;

  g_mkdir_with_parents (dir, 0700);
  for (guint p = 0; p < G_N_ELEMENTS (pages); p++)
    {
      pages[p] = g_string_new (NULL);
      for (guint s = 0; s < 14; s++)
        g_string_append_printf (pages[p], "Page %u sentence %u talks about walruses and %s.%s",
                                p + 1, s, s % 3 ? "glaciers" : "tides", s % 5 == 4 ? "\n\n" : " ");
    }
  {
    const char *texts[] = { pages[0]->str, pages[1]->str, pages[2]->str, pages[3]->str, NULL };
    path = g_build_filename (dir, "walrus.pdf", NULL);
    g_assert_true (docent_test_pdf_write (path, texts, labels, "Walruses", NULL, &error));
    g_assert_no_error (error);
    g_ptr_array_add (paths, path);
  }
  for (guint p = 0; p < G_N_ELEMENTS (pages); p++)
    g_string_free (pages[p], TRUE);

  for (guint f = 0; f < 2 + n_extra; f++)
    {
      GString *text = g_string_new (NULL);
      for (guint l = 0; l < 60; l++)
        {
          if (l % 7 == 0)
            g_string_append_printf (text, "\n# Section %u\n\n", l / 7);
          g_string_append_printf (text, "Line %u of file %u: 양자화는 모델을 작게 만든다. "
                                        "Quantization keeps file %u small.\n", l, f, f);
        }
      path = g_strdup_printf ("%s/notes-%02u.%s", dir, f, f % 2 ? "txt" : "md");
      g_assert_true (g_file_set_contents (path, text->str, -1, NULL));
      g_string_free (text, TRUE);
      g_ptr_array_add (paths, path);
    }
  g_ptr_array_add (paths, NULL);
  return paths;
}

/* ---- settings ---- */

static void
test_settings (void)
{
  g_autofree char *library = tmp_path ("settings.db");
  g_autoptr(DocentStore) store = docent_store_open (library, NULL);
  g_autoptr(GError) error = NULL;
  guint size = 0, overlap = 0;

  g_assert_true (docent_chunking_get (store, &size, &overlap, &error));
  g_assert_cmpuint (size, ==, DOCENT_CHUNK_SIZE_DEFAULT);
  g_assert_cmpuint (overlap, ==, DOCENT_CHUNK_OVERLAP_DEFAULT);

  g_assert_false (docent_chunking_set (store, DOCENT_CHUNK_SIZE_MIN - 1, 0, &error));
  g_assert_error (error, DOCENT_ERROR, DOCENT_ERROR_USAGE);
  g_clear_error (&error);
  g_assert_false (docent_chunking_set (store, DOCENT_CHUNK_SIZE_MAX + 1, 0, &error));
  g_assert_error (error, DOCENT_ERROR, DOCENT_ERROR_USAGE);
  g_clear_error (&error);
  g_assert_false (docent_chunking_set (store, 400, 201, &error));
  g_assert_error (error, DOCENT_ERROR, DOCENT_ERROR_USAGE);
  g_assert_nonnull (strstr (error->message, "200"));
  g_clear_error (&error);

  g_assert_true (docent_chunking_set (store, 400, 200, &error));
  g_assert_no_error (error);
  g_clear_object (&store);
  store = docent_store_open (library, &error);
  g_assert_true (docent_chunking_get (store, &size, &overlap, &error));
  g_assert_cmpuint (size, ==, 400);
  g_assert_cmpuint (overlap, ==, 200);

  /* a damaged value is an error, not a silent default */
  g_assert_cmpint (sqlite3_exec (docent_store_get_db (store),
                                 "UPDATE settings SET value = 'lots' WHERE key = 'chunk-size'",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_false (docent_chunking_get (store, &size, &overlap, &error));
  g_assert_error (error, DOCENT_ERROR, DOCENT_ERROR_CORRUPT);
}

/* ---- re-cutting ---- */

static void
on_progress (DocentRechunker *r, const DocentRechunkProgress *p, guint *max_done)
{
  g_assert_cmpuint (p->docs_done, <=, p->docs_total);
  *max_done = MAX (*max_done, p->docs_done);
}

static void
test_rechunk_matches_fresh_import (void)
{
  g_autofree char *dir = tmp_path ("corpus");
  g_autofree char *library = tmp_path ("recut.db");
  g_autofree char *fresh = tmp_path ("fresh.db");
  g_autoptr(GPtrArray) paths = write_corpus (dir, 0);
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(DocentStore) fresh_store = NULL;
  g_autoptr(DocentRechunker) rechunker = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL, *after = NULL, *expected = NULL;
  guint n_docs = 0, n_embedded = 0, max_done = 0;

  import_into (library, (const char * const *) paths->pdata, 0, 0, TRUE);
  store = docent_store_open (library, &error);
  g_assert_no_error (error);
  before = dump_chunks (store, TRUE);
  g_assert_cmpint (docent_rechunker_count_pending (store, &error), ==, 0);

  /* Set, and the importer's next documents follow; old ones wait. */
  g_assert_true (docent_chunking_set (store, 300, 40, &error));
  g_assert_cmpint (docent_rechunker_count_pending (store, &error), ==, 3);

  /* The files are gone: the library's own text is enough. */
  for (guint i = 0; i + 1 < paths->len; i++)
    g_assert_cmpint (g_remove (paths->pdata[i]), ==, 0);

  rechunker = docent_rechunker_new (library);
  docent_rechunker_set_n_workers (rechunker, 2);
  g_signal_connect (rechunker, "progress", G_CALLBACK (on_progress), &max_done);
  g_assert_true (docent_rechunker_run_sync (rechunker, NULL, &n_docs, &n_embedded, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_docs, ==, 3);
  g_assert_cmpuint (max_done, ==, 3);
  g_assert_cmpint (docent_rechunker_count_pending (store, &error), ==, 0);
  assert_sound (store);
  after = dump_chunks (store, TRUE);
  g_assert_cmpstr (before, !=, after);
  /* every passage has exactly one built-in vector, of one embedder */
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM chunks c WHERE NOT EXISTS"
                                     " (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id)"), ==, 0);
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(DISTINCT embedder) FROM chunk_vectors"), ==, 1);
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM chunk_vectors"), ==,
                   docent_test_query_int (store, "SELECT count(*) FROM chunks"));

  /* The same passages as importing the files with those settings. */
  g_clear_pointer (&paths, g_ptr_array_unref);
  paths = write_corpus (dir, 0);
  import_into (fresh, (const char * const *) paths->pdata, 300, 40, FALSE);
  fresh_store = docent_store_open (fresh, &error);
  expected = dump_chunks (fresh_store, TRUE);
  g_assert_cmpstr (after, ==, expected);

  /* nothing left: a second run does nothing */
  g_assert_true (docent_rechunker_run_sync (rechunker, NULL, &n_docs, NULL, &error));
  g_assert_cmpuint (n_docs, ==, 0);
}

static void
cancel_after_first (DocentRechunker *r, const DocentRechunkProgress *p, GCancellable *cancellable)
{
  if (p->docs_done >= 1)
    g_cancellable_cancel (cancellable);
}

static void
test_rechunk_cancel_and_kill_resume (void)
{
  g_autofree char *dir = tmp_path ("many");
  g_autofree char *library = tmp_path ("many.db");
  g_autoptr(GPtrArray) paths = write_corpus (dir, 40);
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(DocentRechunker) rechunker = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  const char *bin = g_getenv ("DOCENT_BIN");
  guint n_docs = 0;
  gint64 total, pending;

  import_into (library, (const char * const *) paths->pdata, 0, 0, TRUE);
  store = docent_store_open (library, &error);
  total = docent_test_query_int (store, "SELECT count(*) FROM documents");
  g_assert_true (docent_chunking_set (store, 200, 20, &error));

  /* Cancelled: whatever was done is whole, the rest waits. */
  rechunker = docent_rechunker_new (library);
  docent_rechunker_set_n_workers (rechunker, 1);
  g_signal_connect (rechunker, "progress", G_CALLBACK (cancel_after_first), cancellable);
  g_assert_false (docent_rechunker_run_sync (rechunker, cancellable, &n_docs, NULL, &error));
  g_assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
                 g_error_matches (error, DOCENT_ERROR, DOCENT_ERROR_CANCELLED));
  g_clear_error (&error);
  pending = docent_rechunker_count_pending (store, &error);
  g_test_message ("cancelled after %u of %" G_GINT64_FORMAT " documents", n_docs, total);
  g_assert_cmpint (pending, ==, total - n_docs);
  assert_sound (store);

  /* Killed outright (the command line, SIGKILL): still whole. */
  if (bin != NULL && pending > 1)
    {
      g_autofree char *lib_arg = g_strdup_printf ("--library=%s", library);
      char *argv[] = { (char *) bin, lib_arg, "library", "rechunk", "--workers", "1", NULL };
      GPid pid;
      int status;

      g_assert_true (g_spawn_async (NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD |
                                    G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                    NULL, NULL, &pid, &error));
      /* until it has written at least one more document */
      for (int i = 0; i < 400 && docent_rechunker_count_pending (store, NULL) == pending; i++)
        g_usleep (5000);
      kill (pid, SIGKILL);
      waitpid (pid, &status, 0);
      g_test_message ("killed with %" G_GINT64_FORMAT " documents left",
                      docent_rechunker_count_pending (store, NULL));
      assert_sound (store);
    }

  /* Resumed: the rest, and everything agrees. */
  g_clear_object (&rechunker);
  rechunker = docent_rechunker_new (library);
  g_assert_true (docent_rechunker_run_sync (rechunker, NULL, &n_docs, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (docent_rechunker_count_pending (store, &error), ==, 0);
  assert_sound (store);
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM documents WHERE chunk_size != 200"), ==, 0);
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM chunks c WHERE NOT EXISTS"
                                     " (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id)"), ==, 0);
}

/* ---- embedding on the import's workers ---- */

typedef struct {
  const char *library;
  const char *extra_id;
  guint       checked;
} InlineCheck;

/* When a file is reported done, its vectors are already committed: they
 * were written in its own transaction, not by a pass after the import. */
static void
on_file_done (DocentImporter *importer, const DocentImportFileResult *r, InlineCheck *check)
{
  g_autoptr(DocentStore) reader = docent_store_open (check->library, NULL);
  sqlite3_stmt *stmt = NULL;

  if (r->outcome != DOCENT_IMPORT_IMPORTED)
    return;
  g_assert_cmpint (sqlite3_prepare_v2 (docent_store_get_db (reader),
                                       "SELECT count(*), (SELECT count(*) FROM chunk_vectors v JOIN chunks c"
                                       " ON c.id = v.chunk_id WHERE c.doc_id = ?1 AND v.embedder = ?2)"
                                       " FROM chunks WHERE doc_id = ?1", -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, r->doc_id);
  sqlite3_bind_text (stmt, 2, check->extra_id, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), >, 0);
  g_assert_cmpint (sqlite3_column_int (stmt, 1), ==, sqlite3_column_int (stmt, 0));
  sqlite3_finalize (stmt);
  check->checked++;
}

static void
test_import_embeds_on_workers (void)
{
  g_autofree char *dir = tmp_path ("inline");
  g_autofree char *library = tmp_path ("inline.db");
  g_autoptr(GPtrArray) paths = write_corpus (dir, 4);
  g_autoptr(DocentHashEmbedder) extra = docent_hash_embedder_new (64);
  g_autoptr(DocentImporter) importer = docent_importer_new (library);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *builtin_id = NULL;
  InlineCheck check = { library, docent_embedder_get_model_id (DOCENT_EMBEDDER (extra)), 0 };
  const char *more[2] = { NULL, NULL };
  g_autofree char *more_path = tmp_path ("inline/later.txt");
  char *err = NULL;

  /* "another model" of another dimension, beside the built-in one */
  docent_importer_set_embedder (importer, DOCENT_EMBEDDER (extra));
  docent_importer_set_n_workers (importer, 2);
  g_signal_connect (importer, "file-done", G_CALLBACK (on_file_done), &check);
  results = docent_importer_import_sync (importer, (const char * const *) paths->pdata, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (check.checked, ==, paths->len - 1);

  store = docent_store_open (library, &error);
  assert_sound (store);
  /* built-in: counted after the first import, over all passages */
  builtin_id = docent_vector_store_dup_builtin_id (docent_store_get_db (store), DOCENT_HASH_EMBEDDER_DIM_DEFAULT);
  g_assert_nonnull (builtin_id);
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(DISTINCT embedder) FROM chunk_vectors"), ==, 2);
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM chunk_vectors"), ==,
                   2 * docent_test_query_int (store, "SELECT count(*) FROM chunks"));
  /* dimensions never mix: each vector has its own embedder's length */
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM chunk_vectors v JOIN embedders e"
                                     " ON e.id = v.embedder WHERE length (v.vec) != 4 * e.dim"), ==, 0);
  g_assert_cmpint (sqlite3_exec (docent_store_get_db (store),
                                 "INSERT INTO chunk_vectors (embedder, chunk_id, vec)"
                                 " SELECT (SELECT id FROM embedders WHERE dim = 64), max(id), zeroblob (4 * 384)"
                                 " FROM chunks", NULL, NULL, &err), !=, SQLITE_OK);
  sqlite3_free (err);

  /* A small addition: built-in vectors now come from the workers too,
   * with the statistics frozen (same id). */
  g_assert_true (g_file_set_contents (more_path, "A later note about walruses and narwhals.", -1, NULL));
  more[0] = more_path;
  check.extra_id = builtin_id;
  check.checked = 0;
  g_clear_pointer (&results, g_ptr_array_unref);
  results = docent_importer_import_sync (importer, more, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (check.checked, ==, 1);
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM chunks c WHERE NOT EXISTS"
                                     " (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id"
                                     "  AND v.embedder LIKE 'hash-ngram-v2-d384-%')"), ==, 0);
  {
    g_autofree char *id = docent_vector_store_dup_builtin_id (docent_store_get_db (store),
                                                              DOCENT_HASH_EMBEDDER_DIM_DEFAULT);
    g_assert_cmpstr (id, ==, builtin_id);
  }
}

/* A model chosen after the import: re-embedding the library with a
 * rechunker that has nothing to re-cut, never touching other vectors. */
static void
test_switch_embedder (void)
{
  g_autofree char *dir = tmp_path ("switch");
  g_autofree char *library = tmp_path ("switch.db");
  g_autoptr(GPtrArray) paths = write_corpus (dir, 1);
  g_autoptr(DocentHashEmbedder) model = docent_hash_embedder_new (96);
  g_autoptr(DocentRechunker) rechunker = docent_rechunker_new (library);
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(GError) error = NULL;
  guint n_docs = 9, n_embedded = 0, max_done = 0;
  gint64 n_chunks, builtin_before;

  import_into (library, (const char * const *) paths->pdata, 0, 0, TRUE);
  store = docent_store_open (library, &error);
  n_chunks = docent_test_query_int (store, "SELECT count(*) FROM chunks");
  builtin_before = docent_test_query_int (store, "SELECT count(*) FROM chunk_vectors");

  docent_rechunker_set_embedder (rechunker, DOCENT_EMBEDDER (model));
  g_signal_connect (rechunker, "progress", G_CALLBACK (on_progress), &max_done);
  g_assert_true (docent_rechunker_run_sync (rechunker, NULL, &n_docs, &n_embedded, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_docs, ==, 0);
  g_assert_cmpuint (n_embedded, ==, n_chunks);
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM chunk_vectors"), ==, builtin_before + n_chunks);
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM chunk_vectors v JOIN embedders e"
                                     " ON e.id = v.embedder WHERE length (v.vec) != 4 * e.dim"), ==, 0);
}

/* Re-embedding reports progress as batches finish, not once per round of
 * 2,048 passages: with 64-passage batches no two reports are more than two
 * batches apart, whatever the timing. */
typedef struct {
  guint n_calls;
  guint n_inside;       /* 0 < done < total */
  guint last;
  guint max_gap;
  guint total;
  gboolean monotonic;
} EmbedReports;

static void
on_embed_progress (guint done, guint total, gpointer user_data)
{
  EmbedReports *r = user_data;

  if (done < r->last)
    r->monotonic = FALSE;
  r->max_gap = MAX (r->max_gap, done - MIN (done, r->last));
  r->last = done;
  r->total = total;
  r->n_calls++;
  if (done > 0 && done < total)
    r->n_inside++;
}

static void
test_embed_progress (void)
{
  g_autofree char *dir = tmp_path ("progress");
  g_autofree char *library = tmp_path ("progress.db");
  g_autoptr(GPtrArray) paths = write_corpus (dir, 10);
  g_autoptr(DocentHashEmbedder) model = docent_hash_embedder_new (96);
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(GError) error = NULL;
  EmbedReports reports = { 0, 0, 0, 0, 0, TRUE };
  guint batch = docent_embedder_get_batch_size (DOCENT_EMBEDDER (model));
  guint n = 0;
  gint64 n_chunks;

  import_into (library, (const char * const *) paths->pdata, 200, 20, FALSE);
  store = docent_store_open (library, &error);
  g_assert_no_error (error);
  n_chunks = docent_test_query_int (store, "SELECT count(*) FROM chunks");
  g_test_message ("%" G_GINT64_FORMAT " passages, batches of %u", n_chunks, batch);
  g_assert_cmpint (n_chunks, >=, 300);
  g_assert_cmpint (n_chunks, <, 2048);   /* one round: the old code reported once */
  g_assert_cmpuint (batch, >, 0);

  g_assert_true (docent_vector_store_embed_missing_full (docent_store_get_db (store), DOCENT_EMBEDDER (model),
                                                         2, NULL, on_embed_progress, &reports, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, n_chunks);
  g_assert_true (reports.monotonic);
  g_assert_cmpuint (reports.last, ==, n_chunks);
  g_assert_cmpuint (reports.total, ==, n_chunks);
  g_assert_cmpuint (reports.n_inside, >=, 2);
  g_assert_cmpuint (reports.max_gap, <=, 128 + batch);
}

/* ---- the schema-2 migration ---- */

/* Schema 1 as Docent wrote it, and the tables older Docent created on first
 * use beside it. */
static const char v1_schema[] =
  "CREATE TABLE documents (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
  " title TEXT, author TEXT, type TEXT NOT NULL CHECK (type IN ('pdf', 'text')),"
  " size INTEGER NOT NULL DEFAULT 0, mtime INTEGER NOT NULL DEFAULT 0, sha256 TEXT,"
  " pages INTEGER NOT NULL DEFAULT 0, chunks INTEGER NOT NULL DEFAULT 0, chars INTEGER NOT NULL DEFAULT 0,"
  " encoding TEXT, status TEXT NOT NULL, error TEXT, added INTEGER NOT NULL);"
  "CREATE INDEX documents_by_sha256 ON documents (sha256);"
  "CREATE TABLE pages (doc_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,"
  " number INTEGER NOT NULL, label TEXT, char_start INTEGER NOT NULL, char_end INTEGER NOT NULL,"
  " n_chars INTEGER NOT NULL, PRIMARY KEY (doc_id, number)) WITHOUT ROWID;"
  "CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,"
  " ordinal INTEGER NOT NULL, page_first INTEGER NOT NULL, page_last INTEGER NOT NULL,"
  " line_first INTEGER NOT NULL, line_last INTEGER NOT NULL, char_start INTEGER NOT NULL,"
  " char_end INTEGER NOT NULL, text TEXT NOT NULL, UNIQUE (doc_id, ordinal));"
  "CREATE VIRTUAL TABLE chunks_fts USING fts5 (text, content = 'chunks', content_rowid = 'id', tokenize = 'docent');"
  "CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN"
  "  INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text); END;"
  "CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN"
  "  INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.id, old.text); END;"
  "CREATE TABLE import_queue (path TEXT PRIMARY KEY, queued INTEGER NOT NULL);"
  "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);"
  "INSERT INTO documents VALUES (1, '/old/walrus.txt', 'walrus.txt', 'walrus.txt', NULL, 'text', 50, 0,"
  " 'abc', 0, 2, 60, 'UTF-8', 'ready', NULL, 1700000000);"
  "INSERT INTO chunks VALUES (10, 1, 0, 0, 0, 1, 1, 0, 30, 'Walruses sleep on the ice floe.');"
  "INSERT INTO chunks VALUES (11, 1, 1, 0, 0, 3, 3, 32, 60, 'Narwhals keep to deep water!!');"
  "INSERT INTO import_queue VALUES ('/old/pending.pdf', 1700000000);"
  "INSERT INTO settings VALUES ('theme', 'dark');"
  "PRAGMA user_version = 1;";

static const char v1_first_use[] =
  "CREATE TABLE IF NOT EXISTS embedders (id TEXT PRIMARY KEY, dim INTEGER NOT NULL CHECK (dim > 0),"
  " params BLOB, n_chunks_fit INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
  "CREATE TABLE IF NOT EXISTS chunk_vectors (embedder TEXT NOT NULL REFERENCES embedders (id) ON DELETE CASCADE,"
  " chunk_id INTEGER NOT NULL REFERENCES chunks (id) ON DELETE CASCADE, vec BLOB NOT NULL,"
  " PRIMARY KEY (embedder, chunk_id)) WITHOUT ROWID;"
  "CREATE INDEX IF NOT EXISTS chunk_vectors_by_chunk ON chunk_vectors (chunk_id);"
  "CREATE TABLE IF NOT EXISTS collections (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created INTEGER NOT NULL);"
  "CREATE TABLE IF NOT EXISTS collection_docs (collection_id INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,"
  " doc_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE, PRIMARY KEY (collection_id, doc_id)) WITHOUT ROWID;"
  "INSERT INTO embedders VALUES ('model-d2', 2, NULL, 0, 1700000000);"
  "INSERT INTO chunk_vectors VALUES ('model-d2', 10, x'0000803f00000000');"
  "INSERT INTO chunk_vectors VALUES ('model-d2', 11, x'000000000000803f');"
  "INSERT INTO collections VALUES (1, 'arctic', 1700000000);"
  "INSERT INTO collection_docs VALUES (1, 1);";

static void
write_v1 (const char *path, gboolean first_use_tables)
{
  sqlite3 *db = NULL;
  char *err = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_true (docent_fts_tokenizer_register (db, NULL));
  g_assert_cmpint (sqlite3_exec (db, v1_schema, NULL, NULL, &err), ==, SQLITE_OK);
  if (first_use_tables)
    g_assert_cmpint (sqlite3_exec (db, v1_first_use, NULL, NULL, &err), ==, SQLITE_OK);
  sqlite3_close (db);
}

static void
test_migrate_v1 (void)
{
  for (int first_use = 0; first_use <= 1; first_use++)
    {
      g_autofree char *library = g_strdup_printf ("%s/v1-%d.db", tmpdir, first_use);
      g_autoptr(DocentStore) store = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) hits = NULL;
      g_autoptr(GPtrArray) collections = NULL;
      DocentSearchOptions options = { 10, NULL };

      write_v1 (library, first_use);
      store = docent_store_open (library, &error);
      g_assert_no_error (error);
      g_assert_cmpint (docent_test_query_int (store, "PRAGMA user_version"), ==, 2);
      assert_sound (store);

      /* the data survive */
      g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM chunks"), ==, 2);
      g_assert_cmpint (docent_store_count_unfinished_imports (store, NULL), ==, 1);
      hits = docent_store_search (store, "narwhal", &options, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (hits->len, ==, 1);
      g_assert_cmpint (((DocentSearchResult *) hits->pdata[0])->chunk_id, ==, 11);
      g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM settings WHERE key = 'theme'"), ==, 1);
      /* cut with the defaults, nothing to re-cut */
      g_assert_cmpint (docent_rechunker_count_pending (store, &error), ==, 0);
      g_assert_no_error (error);

      collections = docent_collection_list (store, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (collections->len, ==, (guint) first_use);
      if (first_use)
        {
          g_autoptr(DocentVectorIndex) index =
            docent_vector_store_load_index (docent_store_get_db (store), "model-d2", DOCENT_VECTOR_F32, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (docent_vector_index_get_n_rows (index), ==, 2);
        }
      /* the dimension guard exists either way */
      g_assert_cmpint (sqlite3_exec (docent_store_get_db (store),
                                     "INSERT OR IGNORE INTO embedders VALUES ('model-d2', 2, NULL, 0, 0);"
                                     "INSERT INTO chunk_vectors VALUES ('model-d2', 10, x'00')",
                                     NULL, NULL, NULL), !=, SQLITE_OK);
      /* removing the document takes its vectors and memberships */
      g_assert_true (docent_store_remove_document (store, 1, &error));
      g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM chunk_vectors"), ==, 0);
      g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM collection_docs"), ==, 0);
    }
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  tmpdir = docent_test_make_tmpdir ("docent-rechunk");
  g_test_add_func ("/rechunk/settings", test_settings);
  g_test_add_func ("/rechunk/matches-fresh-import", test_rechunk_matches_fresh_import);
  g_test_add_func ("/rechunk/cancel-kill-resume", test_rechunk_cancel_and_kill_resume);
  g_test_add_func ("/rechunk/import-embeds-on-workers", test_import_embeds_on_workers);
  g_test_add_func ("/rechunk/switch-embedder", test_switch_embedder);
  g_test_add_func ("/rechunk/embed-progress", test_embed_progress);
  g_test_add_func ("/rechunk/migrate-v1", test_migrate_v1);
  rc = g_test_run ();
  docent_test_rm_rf (tmpdir);
  g_free (tmpdir);
  return rc;
}
