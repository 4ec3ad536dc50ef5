/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docent-error.h"
#include "docent-importer.h"
#include "docent-store-private.h"
#include "docent-test-pdf.h"
#include "docent-test-util.h"

/* The import pipeline end to end: real files, real threads, a real SQLite
 * library, and the bad inputs a person will feed it. */

static char *tmpdir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static GPtrArray *
import_paths (const char *library, const char * const *paths, const char *password, GError **error)
{
  g_autoptr(DocentImporter) importer = docent_importer_new (library);

  if (password)
    docent_importer_set_password (importer, password);
  return docent_importer_import_sync (importer, paths, NULL, error);
}

static DocentImportFileResult *
find_result (GPtrArray *results, const char *basename)
{
  for (guint i = 0; i < results->len; i++)
    {
      DocentImportFileResult *r = results->pdata[i];
      if (g_str_has_suffix (r->path, basename) && r->path[strlen (r->path) - strlen (basename) - 1] == '/')
        return r;
    }
  g_error ("no result for %s", basename);
  return NULL;
}

/* integrity_check, FTS5's own check, and every document's passages
 * numbered 0..n-1 exactly once with documents.chunks agreeing. */
static void
assert_library_sound (const char *library)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentStore) store = docent_store_open (library, &error);
  sqlite3_stmt *stmt = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_prepare_v2 (docent_store_get_db (store), "PRAGMA integrity_check", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "ok");
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_exec (docent_store_get_db (store),
                                 "INSERT INTO chunks_fts (chunks_fts) VALUES ('integrity-check')",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (docent_test_query_int (store,
                              "SELECT count(*) FROM documents d WHERE d.chunks != "
                              "(SELECT count(*) FROM chunks c WHERE c.doc_id = d.id)"), ==, 0);
  g_assert_cmpint (docent_test_query_int (store,
                              "SELECT count(*) FROM documents d WHERE d.chunks > 0 AND "
                              "(SELECT max(ordinal) + 1 FROM chunks c WHERE c.doc_id = d.id) != d.chunks"), ==, 0);
  g_assert_cmpint (docent_test_query_int (store,
                              "SELECT count(*) FROM (SELECT sha256 FROM documents WHERE status = 'ready' "
                              "GROUP BY sha256 HAVING count(*) > 1)"), ==, 0);
}

static guint
search_count (DocentStore *store, const char *query, GPtrArray **out)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *results = docent_store_search (store, query, NULL, &error);
  guint n;

  g_assert_no_error (error);
  n = results->len;
  if (out)
    *out = results;
  else
    g_ptr_array_unref (results);
  return n;
}

static void
test_pdfs_and_text (void)
{
  g_autofree char *dir = tmp_path ("docs");
  g_autofree char *sub = tmp_path ("docs/notes");
  g_autofree char *pdf = tmp_path ("docs/guide.pdf");
  g_autofree char *txt = tmp_path ("docs/notes/memo.md");
  g_autofree char *other = tmp_path ("docs/notes/ignored.odt");
  g_autofree char *library = tmp_path ("lib-basic.db");
  const char *pages[] = {
    "Table of contents",
    "The giraffe eats leaves from tall acacia trees.",
    "양자화는 모델의 크기를 줄이는 방법입니다. 정말 그렇습니다.",
    NULL
  };
  const char *labels[] = { "i", "1", "2", NULL };
  const char *paths[] = { dir, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) hits = NULL;
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(GPtrArray) docs = NULL;
  DocentImportFileResult *r;
  DocentSearchResult *hit;

  g_mkdir_with_parents (sub, 0755);
  g_assert_true (docent_test_pdf_write (pdf, pages, labels, "A Field Guide", "Ann Author", &error));
  g_assert_true (g_file_set_contents (txt, "# Memo\n\nline two\n\nThe quick brown fox\njumps over the lazy dog.\n", -1, &error));
  g_assert_true (g_file_set_contents (other, "not a document type we read", -1, &error));

  results = import_paths (library, paths, NULL, &error);
  g_assert_no_error (error);
  /* The .odt inside a folder is quietly left out. */
  g_assert_cmpuint (results->len, ==, 2);
  r = find_result (results, "guide.pdf");
  g_assert_cmpint (r->outcome, ==, DOCENT_IMPORT_IMPORTED);
  g_assert_cmpuint (r->pages, ==, 3);
  r = find_result (results, "memo.md");
  g_assert_cmpint (r->outcome, ==, DOCENT_IMPORT_IMPORTED);

  store = docent_store_open (library, &error);
  docs = docent_store_list_documents (store, &error);
  g_assert_cmpuint (docs->len, ==, 2);
  for (guint i = 0; i < docs->len; i++)
    {
      DocentDocument *d = docs->pdata[i];
      g_assert_cmpint (d->status, ==, DOCENT_DOC_STATUS_READY);
      g_assert_cmpuint (strlen (d->sha256), ==, 64);
      g_assert_cmpint (d->size, >, 0);
      g_assert_cmpint (d->added, >, 0);
      if (d->type == DOCENT_DOC_TYPE_PDF)
        {
          g_assert_cmpstr (d->title, ==, "A Field Guide");
          g_assert_cmpstr (d->author, ==, "Ann Author");
          g_assert_cmpuint (d->pages, ==, 3);
        }
      else
        g_assert_cmpstr (d->encoding, ==, "UTF-8");
    }

  /* Known text on known pages, with the printed label beside the page. */
  g_assert_cmpuint (search_count (store, "giraffe", &hits), >=, 1);
  hit = hits->pdata[0];
  g_assert_cmpstr (hit->doc, ==, "guide.pdf");
  g_assert_cmpuint (hit->page, <=, 2);
  g_assert_cmpuint (hit->page_end, >=, 2);
  g_clear_pointer (&hits, g_ptr_array_unref);

  g_assert_cmpuint (search_count (store, "양자화", &hits), ==, 1);
  hit = hits->pdata[0];
  g_assert_cmpuint (hit->page_end, ==, 3);
  g_assert_nonnull (strstr (hit->text, "양자화는"));
  g_clear_pointer (&hits, g_ptr_array_unref);
  g_assert_cmpuint (search_count (store, "모델", NULL), ==, 1);

  /* Text files report lines. */
  g_assert_cmpuint (search_count (store, "lazy dog", &hits), ==, 1);
  hit = hits->pdata[0];
  g_assert_cmpuint (hit->page, ==, 0);
  g_assert_cmpuint (hit->line, ==, 1);
  g_assert_cmpuint (hit->line_end, ==, 6);
  g_clear_pointer (&hits, g_ptr_array_unref);

  /* Page labels are stored. */
  {
    g_autoptr(GPtrArray) stored = docent_store_dup_pages (store, docs->len ? ((DocentDocument *) docs->pdata[0])->id : 0, &error);
    gboolean found_roman = FALSE;
    for (guint i = 0; stored && i < stored->len; i++)
      if (g_strcmp0 (((DocentPage *) stored->pdata[i])->label, "i") == 0)
        found_roman = TRUE;
    if (((DocentDocument *) docs->pdata[0])->type == DOCENT_DOC_TYPE_PDF)
      g_assert_true (found_roman);
  }
  assert_library_sound (library);
}

static void
test_unchanged_changed_duplicate (void)
{
  g_autofree char *a = tmp_path ("dup-a.txt");
  g_autofree char *b = tmp_path ("dup-b.txt");
  g_autofree char *library = tmp_path ("lib-dup.db");
  const char *paths_a[] = { a, NULL };
  const char *paths_b[] = { b, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(DocentStore) store = NULL;
  DocentImportFileResult *r;
  gint64 first_id;

  g_assert_true (g_file_set_contents (a, "Original wording about pelicans.\n", -1, &error));
  results = import_paths (library, paths_a, NULL, &error);
  g_assert_no_error (error);
  first_id = find_result (results, "dup-a.txt")->doc_id;
  g_clear_pointer (&results, g_ptr_array_unref);

  /* Unchanged: a no-op. */
  results = import_paths (library, paths_a, NULL, &error);
  r = find_result (results, "dup-a.txt");
  g_assert_cmpint (r->outcome, ==, DOCENT_IMPORT_SKIPPED);
  g_assert_cmpstr (r->reason, ==, "unchanged");
  g_clear_pointer (&results, g_ptr_array_unref);

  /* The same bytes under a second path: a duplicate, skipped. */
  g_assert_true (g_file_set_contents (b, "Original wording about pelicans.\n", -1, &error));
  results = import_paths (library, paths_b, NULL, &error);
  r = find_result (results, "dup-b.txt");
  g_assert_cmpint (r->outcome, ==, DOCENT_IMPORT_SKIPPED);
  g_assert_nonnull (strstr (r->reason, "duplicate of"));
  g_assert_nonnull (strstr (r->reason, "dup-a.txt"));
  g_clear_pointer (&results, g_ptr_array_unref);

  /* Changed: the new passages replace the old ones, same document id. */
  g_assert_true (g_file_set_contents (a, "New wording about flamingos.\n", -1, &error));
  results = import_paths (library, paths_a, NULL, &error);
  r = find_result (results, "dup-a.txt");
  g_assert_cmpint (r->outcome, ==, DOCENT_IMPORT_IMPORTED);
  g_assert_cmpint (r->doc_id, ==, first_id);

  store = docent_store_open (library, &error);
  g_assert_cmpuint (search_count (store, "pelicans", NULL), ==, 0);
  g_assert_cmpuint (search_count (store, "flamingos", NULL), ==, 1);
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM documents"), ==, 1);
  assert_library_sound (library);
}

static void
check_failed (GPtrArray *results, const char *name, DocentError code, const char *phrase)
{
  DocentImportFileResult *r = find_result (results, name);

  g_test_message ("%s: %s", name, r->reason);
  g_assert_cmpint (r->outcome, ==, DOCENT_IMPORT_FAILED);
  g_assert_cmpint (r->error_code, ==, code);
  g_assert_nonnull (r->reason);
  if (phrase != NULL && strstr (r->reason, phrase) == NULL)
    g_error ("message for %s lacks “%s”: %s", name, phrase, r->reason);
}

static void
test_bad_inputs (void)
{
  g_autofree char *dir = tmp_path ("bad");
  g_autofree char *good = tmp_path ("bad/good.pdf");
  g_autofree char *corrupt = tmp_path ("bad/corrupt.pdf");
  g_autofree char *truncated = tmp_path ("bad/truncated.pdf");
  g_autofree char *encrypted = tmp_path ("bad/locked.pdf");
  g_autofree char *scanned = tmp_path ("bad/scanned.pdf");
  g_autofree char *empty = tmp_path ("bad/empty.txt");
  g_autofree char *binary = tmp_path ("bad/binary.txt");
  g_autofree char *invalid = tmp_path ("bad/invalid.txt");
  g_autofree char *loop = tmp_path ("bad/loop.txt");
  g_autofree char *dirloop = tmp_path ("bad/sub");
  g_autofree char *dirloop_link = tmp_path ("bad/sub/back");
  g_autofree char *missing = tmp_path ("bad/does-not-exist.pdf");
  g_autofree char *library = tmp_path ("lib-bad.db");
  const char *pages[] = { "Penguins live in the southern hemisphere.", "Second page about krill.", NULL };
  const char *paths[] = { dir, missing, NULL };
  const char *locked_only[] = { encrypted, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(DocentStore) store = NULL;
  guchar junk[4096];
  DocentImportFileResult *r;

  g_mkdir_with_parents (dirloop, 0755);
  g_assert_true (docent_test_pdf_write (good, pages, NULL, NULL, NULL, &error));
  g_assert_true (docent_test_pdf_corrupt_copy (good, corrupt, &error));
  g_assert_true (docent_test_file_truncate_copy (good, truncated, 0.4, &error));
  g_assert_true (docent_test_pdf_encrypt (good, encrypted, "secret", "owner", &error));
  g_assert_true (docent_test_pdf_write_image_only (scanned, 2, &error));
  g_assert_true (g_file_set_contents (empty, "", 0, &error));
  for (guint i = 0; i < sizeof junk; i++)
    junk[i] = (i * 7919 + 13) & 0xff;
  g_assert_true (g_file_set_contents (binary, (char *) junk, sizeof junk, &error));
  /* Bytes valid in no encoding we know: lone continuation bytes and C1 controls. */
  g_assert_true (g_file_set_contents (invalid, "abc \x80\x81\x82\x83 \x9f\x9e\xff\xfe\xfd def \x80\x80", -1, &error));
  g_assert_cmpint (symlink (loop, loop), ==, 0);
  g_assert_cmpint (symlink (dir, dirloop_link), ==, 0);

  results = import_paths (library, paths, NULL, &error);
  g_assert_no_error (error);

  /* The good file is imported whatever else fails. */
  r = find_result (results, "good.pdf");
  g_assert_cmpint (r->outcome, ==, DOCENT_IMPORT_IMPORTED);
  check_failed (results, "corrupt.pdf", DOCENT_ERROR_CORRUPT, "corrupt.pdf");
  check_failed (results, "truncated.pdf", DOCENT_ERROR_CORRUPT, "truncated.pdf");
  check_failed (results, "locked.pdf", DOCENT_ERROR_ENCRYPTED, "password");
  check_failed (results, "empty.txt", DOCENT_ERROR_EMPTY, "empty");
  check_failed (results, "binary.txt", DOCENT_ERROR_BINARY, "binary.txt");
  check_failed (results, "invalid.txt", DOCENT_ERROR_ENCODING, "invalid.txt");
  check_failed (results, "loop.txt", DOCENT_ERROR_UNREADABLE, "loops");
  check_failed (results, "does-not-exist.pdf", DOCENT_ERROR_NOT_FOUND, "no such file");
  /* A scanned PDF is not an empty success. */
  r = find_result (results, "scanned.pdf");
  g_assert_cmpint (r->outcome, ==, DOCENT_IMPORT_IMPORTED);
  g_assert_cmpstr (r->reason, ==, "no text layer");
  /* The folder link back to its parent is noticed, not followed forever. */
  r = find_result (results, "back");
  g_assert_cmpint (r->outcome, ==, DOCENT_IMPORT_SKIPPED);
  g_assert_nonnull (strstr (r->reason, "loop"));

  store = docent_store_open (library, &error);
  g_assert_cmpuint (search_count (store, "penguins", NULL), ==, 1);
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM documents WHERE status = 'no-text-layer'"), ==, 1);
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM documents WHERE status = 'failed' AND error IS NOT NULL"), ==, 6);
  g_clear_pointer (&results, g_ptr_array_unref);

  /* With the password the encrypted PDF imports, replacing its failure. */
  results = import_paths (library, locked_only, "wrong", &error);
  check_failed (results, "locked.pdf", DOCENT_ERROR_ENCRYPTED, "password");
  g_clear_pointer (&results, g_ptr_array_unref);
  results = import_paths (library, locked_only, "secret", &error);
  r = find_result (results, "locked.pdf");
  g_assert_cmpint (r->outcome, ==, DOCENT_IMPORT_IMPORTED);
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM documents WHERE status = 'failed'"), ==, 5);
  assert_library_sound (library);
}

static gboolean
collect_text (DocentChunk *chunk, gpointer user_data)
{
  g_string_append_printf (user_data, "%u:%u-%u|%s\n", chunk->ordinal, chunk->page_first, chunk->page_last, chunk->text);
  docent_chunk_free (chunk);
  return TRUE;
}

/* One long PDF read by several threads gives exactly the passages one
 * thread gives: pages still reach the chunker in order. */
static void
test_parallel_pages (void)
{
  g_autofree char *pdf = tmp_path ("long.pdf");
  g_autoptr(GPtrArray) pages = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) one = g_string_new (NULL);
  g_autoptr(GString) three = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 80; i++)
    g_ptr_array_add (pages, g_strdup_printf ("Page %u tells of the %s. 페이지 %u입니다.", i + 1,
                                             i % 2 ? "river delta" : "mountain pass", i + 1));
  g_ptr_array_add (pages, NULL);
  g_assert_true (docent_test_pdf_write (pdf, (const char * const *) pages->pdata, NULL, NULL, NULL, &error));

  for (guint t = 1; t <= 3; t += 2)
    {
      GString *out = t == 1 ? one : three;
      g_autoptr(DocentChunker) chunker = docent_chunker_new (300, 45, collect_text, out);
      DocentDocInfo info = { 0 };

      g_assert_true (docent_extract_file_full (pdf, NULL, t, chunker, &info, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (docent_chunker_finish (chunker));
      g_assert_cmpuint (info.page_count, ==, 80);
      docent_doc_info_clear (&info);
    }
  g_assert_cmpuint (one->len, >, 1000);
  g_assert_cmpstr (one->str, ==, three->str);
}

/* Peak RSS in MiB (ru_maxrss is in KiB on Linux). */
static double
peak_rss_mib (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

static void
test_large_text_streams (void)
{
  g_autofree char *big = tmp_path ("big.txt");
  g_autofree char *library = tmp_path ("lib-big.db");
  const char *paths[] = { big, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(DocentStore) store = NULL;
  FILE *fp = fopen (big, "w");
  const gsize target = 48 * 1024 * 1024;
  gsize written = 0;
  double before, after;
  guint line = 0;

  g_assert_nonnull (fp);
  while (written < target)
    {
      int n;
      line++;
      n = fprintf (fp, "Line %u says something about topic %u and its neighbours. 문장 %u입니다.\n",
                   line, line % 997, line);
      written += n;
    }
  fprintf (fp, "The final line mentions a zeppelin.\n");
  fclose (fp);

  before = peak_rss_mib ();
  {
    /* The files' stream only: the vectors' catch-up afterwards learns the
     * built-in embedder's statistics from a bounded sample (8,000 passages)
     * and embeds in rounds of 2,048, a separate, fixed cost. */
    g_autoptr(DocentImporter) importer = docent_importer_new (library);
    docent_importer_set_embed (importer, FALSE);
    results = docent_importer_import_sync (importer, paths, NULL, &error);
  }
  g_assert_no_error (error);
  after = peak_rss_mib ();
  g_test_message ("48 MiB text file: peak RSS %.0f → %.0f MiB", before, after);
  g_assert_cmpint (find_result (results, "big.txt")->outcome, ==, DOCENT_IMPORT_IMPORTED);
  /* Holding the file or all its passages would take well over 100 MiB. */
  g_assert_cmpfloat (after - before, <, 64);

  store = docent_store_open (library, &error);
  {
    g_autoptr(GPtrArray) hits = NULL;
    DocentSearchResult *hit;
    g_assert_cmpuint (search_count (store, "zeppelin", &hits), ==, 1);
    hit = hits->pdata[0];
    g_assert_cmpuint (hit->line_end, ==, line + 1);
  }
}

/* Runs the test @path's "/subprocess" twin in a fresh process (a fork of
 * this threaded process could deadlock) as an unprivileged user, so that
 * file permissions hold even when the tests run as root. */
static void
run_unprivileged (const char *path)
{
  g_autofree char *child = g_strconcat (path, "/subprocess", NULL);

  g_test_trap_subprocess (child, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
drop_privileges (void)
{
  if (getuid () == 0)
    {
      g_assert_cmpint (setgid (65534), ==, 0);
      g_assert_cmpint (setuid (65534), ==, 0);
    }
}

static void
chown_tree (const char *path)
{
  if (getuid () == 0)
    g_assert_cmpint (chown (path, 65534, 65534), ==, 0);
}

static void
test_unreadable_files_child (void)
{
  g_autofree char *dir = tmp_path ("perm");
  g_autofree char *library = tmp_path ("perm-lib/library.db");
  const char *paths[] = { dir, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  DocentImportFileResult *r;

  drop_privileges ();
  results = import_paths (library, paths, NULL, &error);
  g_assert_no_error (error);
  r = find_result (results, "secret.txt");
  g_assert_cmpint (r->outcome, ==, DOCENT_IMPORT_FAILED);
  g_assert_cmpint (r->error_code, ==, DOCENT_ERROR_UNREADABLE);
  g_assert_nonnull (strstr (r->reason, "Permission denied"));
  r = find_result (results, "locked");
  g_assert_cmpint (r->outcome, ==, DOCENT_IMPORT_FAILED);
  g_assert_nonnull (strstr (r->reason, "Cannot read the folder"));
  r = find_result (results, "open.txt");
  g_assert_cmpint (r->outcome, ==, DOCENT_IMPORT_IMPORTED);
}

static void
test_unreadable_files (void)
{
  g_autofree char *dir = tmp_path ("perm");
  g_autofree char *locked = tmp_path ("perm/locked");
  g_autofree char *inner = tmp_path ("perm/locked/inner.txt");
  g_autofree char *secret = tmp_path ("perm/secret.txt");
  g_autofree char *open = tmp_path ("perm/open.txt");
  g_autofree char *libdir = tmp_path ("perm-lib");
  g_autofree char *library = tmp_path ("perm-lib/library.db");

  g_mkdir_with_parents (locked, 0755);
  g_mkdir_with_parents (libdir, 0755);
  g_assert_true (g_file_set_contents (inner, "hidden", -1, NULL));
  g_assert_true (g_file_set_contents (secret, "a secret", -1, NULL));
  g_assert_true (g_file_set_contents (open, "an open note about otters", -1, NULL));
  g_chmod (secret, 0000);
  g_chmod (locked, 0000);
  chown_tree (libdir);
  run_unprivileged ("/import/unreadable-files");
}

static void
test_read_only_library_child (void)
{
  g_autofree char *library = tmp_path ("ro-lib/library.db");
  g_autofree char *second = tmp_path ("new.txt");
  const char *paths[] = { second, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  DocentImportFileResult *r;

  drop_privileges ();
  results = import_paths (library, paths, NULL, &error);
  /* Either the import as a whole or the file says the library is read-only. */
  if (results == NULL)
    {
      g_test_message ("%s", error->message);
      g_assert_true (error->code == DOCENT_ERROR_READ_ONLY || error->code == DOCENT_ERROR_UNREADABLE);
      g_assert_nonnull (strstr (error->message, "library"));
      return;
    }
  r = find_result (results, "new.txt");
  g_test_message ("%s", r->reason);
  g_assert_cmpint (r->outcome, ==, DOCENT_IMPORT_FAILED);
  g_assert_cmpint (r->error_code, ==, DOCENT_ERROR_READ_ONLY);
  g_assert_nonnull (strstr (r->reason, "read-only"));
}

static void
test_read_only_library (void)
{
  g_autofree char *libdir = tmp_path ("ro-lib");
  g_autofree char *library = tmp_path ("ro-lib/library.db");
  g_autofree char *first = tmp_path ("ro-first.txt");
  g_autofree char *second = tmp_path ("new.txt");
  const char *paths[] = { first, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(DocentStore) store = NULL;
  g_autofree char *wal = g_strconcat (library, "-wal", NULL);
  g_autofree char *shm = g_strconcat (library, "-shm", NULL);

  g_mkdir_with_parents (libdir, 0755);
  g_assert_true (g_file_set_contents (first, "kept safely: walrus", -1, NULL));
  g_assert_true (g_file_set_contents (second, "never written: narwhal", -1, NULL));
  results = import_paths (library, paths, NULL, &error);
  g_assert_no_error (error);

  g_chmod (library, 0444);
  g_chmod (wal, 0444);
  g_chmod (shm, 0644);
  run_unprivileged ("/import/read-only-library");
  g_chmod (library, 0644);

  store = docent_store_open (library, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (search_count (store, "walrus", NULL), ==, 1);
  g_assert_cmpuint (search_count (store, "narwhal", NULL), ==, 0);
  assert_library_sound (library);
}

static void
test_full_disk_child (void)
{
  g_autofree char *library = tmp_path ("full.db");
  g_autofree char *huge = tmp_path ("huge.txt");
  const char *paths[] = { huge, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  struct rlimit limit;
  GStatBuf st;
  DocentImportFileResult *r;

  /* The library may grow by a few KiB, not by the big file's passages. */
  signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (g_stat (library, &st), ==, 0);
  limit.rlim_cur = limit.rlim_max = st.st_size + 64 * 1024;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  results = import_paths (library, paths, NULL, &error);
  if (results == NULL)
    {
      g_test_message ("%s", error->message);
      g_assert_cmpint (error->code, ==, DOCENT_ERROR_DISK_FULL);
      return;
    }
  r = find_result (results, "huge.txt");
  g_test_message ("%s", r->reason);
  g_assert_cmpint (r->outcome, ==, DOCENT_IMPORT_FAILED);
  g_assert_cmpint (r->error_code, ==, DOCENT_ERROR_DISK_FULL);
  g_assert_nonnull (strstr (r->reason, "full"));
}

static void
test_full_disk (void)
{
  g_autofree char *library = tmp_path ("full.db");
  g_autofree char *small = tmp_path ("small.txt");
  g_autofree char *huge = tmp_path ("huge.txt");
  const char *paths[] = { small, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(GString) text = g_string_new (NULL);

  g_assert_true (g_file_set_contents (small, "a small note about lemurs", -1, NULL));
  for (guint i = 0; i < 40000; i++)
    g_string_append_printf (text, "Filler sentence %u about capybaras and their habits.\n", i);
  g_assert_true (g_file_set_contents (huge, text->str, text->len, NULL));
  results = import_paths (library, paths, NULL, &error);
  g_assert_no_error (error);
  /* Fold the WAL into the main file so the limit is measured from there. */
  store = docent_store_open (library, &error);
  sqlite3_exec (docent_store_get_db (store), "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
  g_clear_object (&store);

  run_unprivileged ("/import/full-disk");

  store = docent_store_open (library, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (search_count (store, "lemurs", NULL), ==, 1);
  g_assert_cmpuint (search_count (store, "capybaras", NULL), ==, 0);
  assert_library_sound (library);
}

/* ---- the R manuals: kill -9 mid-import, resume, known passages ---- */

/* The highest nice value among the process's threads (Linux). */
static int
max_thread_nice (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *name;
  int most = G_MININT;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc/self/task", name, "stat", NULL);
      g_autofree char *text = NULL;
      g_auto(GStrv) fields = NULL;
      const char *end;

      /* A thread may end between the listing and the read. */
      if (!g_file_get_contents (path, &text, NULL, NULL) || (end = strrchr (text, ')')) == NULL)
        continue;
      /* After "pid (comm) ": state is field 3, nice field 19. */
      fields = g_strsplit (end + 2, " ", 0);
      g_assert_cmpuint (g_strv_length (fields), >, 16);
      most = MAX (most, atoi (fields[16]));
    }
  return most;
}

static void
async_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* A background import runs its workers and writer at nice 10 while the
 * calling thread keeps its own; they end with the run, so nothing else
 * inherits the lower priority. Without it, no thread is lowered. */
static void
test_background (void)
{
  g_autofree char *pdf = tmp_path ("background.pdf");
  g_autoptr(GPtrArray) pages = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  const char *paths[] = { pdf, NULL };
  int base;

#ifndef __linux__
  g_test_skip ("per-thread nice values are Linux's");
  return;
#endif
  errno = 0;
  base = getpriority (PRIO_PROCESS, 0);
  g_assert_cmpint (errno, ==, 0);
  if (base >= 10)
    {
      g_test_skip ("the tests already run at nice 10 or more");
      return;
    }
  for (guint i = 0; i < 200; i++)
    g_ptr_array_add (pages, g_strdup_printf ("Page %u: the background import keeps the window first.", i + 1));
  g_ptr_array_add (pages, NULL);
  g_assert_true (docent_test_pdf_write (pdf, (const char * const *) pages->pdata, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  for (int background = 0; background <= 1; background++)
    {
      g_autofree char *library = tmp_path (background ? "lib-background.db" : "lib-foreground.db");
      g_autoptr(DocentImporter) importer = docent_importer_new (library);
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GPtrArray) results = NULL;
      int most = G_MININT;

      docent_importer_set_background (importer, background);
      docent_importer_import_async (importer, paths, NULL, async_done, &result);
      /* The run's threads live from before the first file until after
       * the last: looked at between iterations of the loop. */
      while (result == NULL)
        {
          /* Not MAX (most, max_thread_nice ()): the macro would read the
           * threads twice, and the second read may come after they ended. */
          int now = max_thread_nice ();
          most = MAX (most, now);
          g_main_context_iteration (NULL, FALSE);
          g_usleep (500);
        }
      results = docent_importer_import_finish (importer, result, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (results->len, ==, 1);
      g_assert_cmpint (((DocentImportFileResult *) results->pdata[0])->outcome, ==, DOCENT_IMPORT_IMPORTED);
      g_assert_cmpint (getpriority (PRIO_PROCESS, 0), ==, base);
      g_assert_cmpint (most, ==, background ? 10 : base);
      g_assert_cmpint (max_thread_nice (), ==, base);
    }
}

static char *
rman_dir (void)
{
  const char *dir = "/usr/share/R/doc/manual";
  g_autofree char *probe = g_build_filename (dir, "R-intro.pdf", NULL);

  if (!g_file_test (probe, G_FILE_TEST_EXISTS))
    return NULL;
  {
    /* Only the seven manuals, not the 2,415-page reference. */
    char *linkdir = tmp_path ("rman");
    const char *names[] = { "R-FAQ", "R-admin", "R-data", "R-exts", "R-intro", "R-ints", "R-lang" };
    g_mkdir_with_parents (linkdir, 0755);
    for (guint i = 0; i < G_N_ELEMENTS (names); i++)
      {
        g_autofree char *src = g_strdup_printf ("%s/%s.pdf", dir, names[i]);
        g_autofree char *dst = g_strdup_printf ("%s/%s.pdf", linkdir, names[i]);
        if (!g_file_test (dst, G_FILE_TEST_EXISTS))
          g_assert_cmpint (symlink (src, dst), ==, 0);
      }
    return linkdir;
  }
}

static void
test_kill_and_resume (void)
{
  g_autofree char *rman = rman_dir ();
  g_autofree char *library = tmp_path ("lib-kill.db");
  const char *bin = g_getenv ("DOCENT_BIN");
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentStore) store = NULL;
  GPid pid;
  gint64 deadline;
  gint64 ready = 0;
  int status;

  if (rman == NULL || bin == NULL)
    {
      g_test_skip ("needs the R manuals (r-doc-pdf) and DOCENT_BIN");
      return;
    }

  {
    const char *argv[] = { bin, "--library", library, "import", "--workers", "2", rman, NULL };
    g_assert_true (g_spawn_async (NULL, (char **) argv, NULL,
                                  G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                                  G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pid, &error));
  }
  /* Kill it once at least one manual is in but the import is not done. */
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(DocentStore) probe = NULL;
      g_usleep (20000);
      if (!g_file_test (library, G_FILE_TEST_EXISTS))
        continue;
      probe = docent_store_open (library, NULL);
      if (probe == NULL)
        continue;
      ready = docent_test_query_int (probe, "SELECT count(*) FROM documents WHERE status = 'ready'");
      if (ready >= 1)
        break;
    }
  kill (pid, SIGKILL);
  waitpid (pid, &status, 0);
  g_spawn_close_pid (pid);
  g_test_message ("killed with %" G_GINT64_FORMAT " of 7 manuals in", ready);
  g_assert_cmpint (ready, >=, 1);

  /* After the crash: sound, and the rest is waiting in the queue. */
  assert_library_sound (library);
  store = docent_store_open (library, &error);
  if (ready < 7)
    g_assert_cmpint (docent_store_count_unfinished_imports (store, NULL), >, 0);
  g_clear_object (&store);

  /* "docent import" with no paths resumes, and finishes. */
  {
    const char *argv[] = { bin, "--library", library, "import", "--json", NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int wait_status;
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                 &out, &err, &wait_status, &error));
    g_test_message ("resume: %s", out);
    g_assert_true (g_spawn_check_wait_status (wait_status, NULL));
  }
  store = docent_store_open (library, &error);
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM documents WHERE status = 'ready'"), ==, 7);
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM documents"), ==, 7);
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM import_queue"), ==, 0);
  g_assert_cmpint (docent_test_query_int (store, "SELECT sum(pages) FROM documents"), ==, 677);
  assert_library_sound (library);

  /* Known passages on known pages (gold pages of the evaluation set). */
  {
    struct { const char *query; const char *doc; guint page; } known[] = {
      { "sqrt(-17+0i)", "R-intro.pdf", 15 },
      { "length(alpha) <- 3", "R-intro.pdf", 21 },
      { "stdError <- function(x) sqrt(var(x)/length(x))", "R-intro.pdf", 24 },
    };
    for (guint i = 0; i < G_N_ELEMENTS (known); i++)
      {
        g_autoptr(GPtrArray) hits = NULL;
        gboolean found = FALSE;
        search_count (store, known[i].query, &hits);
        for (guint j = 0; j < MIN (hits->len, 3); j++)
          {
            DocentSearchResult *h = hits->pdata[j];
            if (g_str_equal (h->doc, known[i].doc) && h->page <= known[i].page && h->page_end >= known[i].page)
              found = TRUE;
          }
        if (!found)
          g_error ("“%s” not found on %s p. %u in the top 3", known[i].query, known[i].doc, known[i].page);
      }
  }
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  /* A subprocess works in its parent's folder. */
  if (g_getenv ("DOCENT_TEST_IMPORT_DIR") != NULL)
    tmpdir = g_strdup (g_getenv ("DOCENT_TEST_IMPORT_DIR"));
  else
    {
      tmpdir = docent_test_make_tmpdir ("docent-import");
      g_chmod (tmpdir, 0755);
      g_setenv ("DOCENT_TEST_IMPORT_DIR", tmpdir, TRUE);
    }

  g_test_add_func ("/import/pdfs-and-text", test_pdfs_and_text);
  g_test_add_func ("/import/unchanged-changed-duplicate", test_unchanged_changed_duplicate);
  g_test_add_func ("/import/bad-inputs", test_bad_inputs);
  g_test_add_func ("/import/parallel-pages", test_parallel_pages);
  g_test_add_func ("/import/large-text-streams", test_large_text_streams);
  g_test_add_func ("/import/background", test_background);
  g_test_add_func ("/import/unreadable-files", test_unreadable_files);
  g_test_add_func ("/import/unreadable-files/subprocess", test_unreadable_files_child);
  g_test_add_func ("/import/read-only-library", test_read_only_library);
  g_test_add_func ("/import/read-only-library/subprocess", test_read_only_library_child);
  g_test_add_func ("/import/full-disk", test_full_disk);
  g_test_add_func ("/import/full-disk/subprocess", test_full_disk_child);
  g_test_add_func ("/import/kill-and-resume", test_kill_and_resume);
  rc = g_test_run ();
  if (!g_test_subprocess ())
    docent_test_rm_rf (tmpdir);
  return rc;
}
