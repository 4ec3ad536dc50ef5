/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "bert-craft.h"
#include "docent-gguf-embedder.h"
#include "docent-retriever.h"
#include "docent-test-pdf.h"
#include "docent-test-util.h"

/* The docent command line as a person or a script uses it: the real binary,
 * a real library file, JSON parsed back, exit statuses checked. */

static char *tmpdir;
static char *library;

typedef struct {
  int   status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static void
docent (Run *r, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *arg;
  va_list ap;
  int wait_status;

  g_ptr_array_add (argv, (char *) g_getenv ("DOCENT_BIN"));
  va_start (ap, r);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &r->out, &r->err, &wait_status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  r->status = WEXITSTATUS (wait_status);
}

/* stdout must be exactly one JSON object. */
static JsonObject *
parse_json (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  g_assert_cmpint (strlen (g_strchomp (g_strdup (text))) + 1, ==, strlen (text));  /* one line */
  return json_object_ref (json_node_get_object (root));
}

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static void
test_import_list_search (void)
{
  g_autofree char *pdf = tmp_path ("atlas.pdf");
  g_autofree char *txt = tmp_path ("notes.txt");
  g_autofree char *missing = tmp_path ("missing.pdf");
  const char *pages[] = { "Front matter", "Volcanoes of Iceland erupt often.", "빙하는 천천히 움직입니다.", NULL };
  const char *labels[] = { "i", "1", "2", NULL };
  g_auto(Run) r = { 0 };
  g_autoptr(JsonObject) o = NULL;
  JsonArray *arr;
  JsonObject *hit;

  g_assert_true (docent_test_pdf_write (pdf, pages, labels, "Atlas", NULL, NULL));
  g_assert_true (g_file_set_contents (txt, "first line\nsecond line about glaciers\nthird\n", -1, NULL));

  /* --library after the subcommand; one failure → exit 1, the rest imported. */
  docent (&r, "import", "--json", "--library", library, pdf, txt, missing, NULL);
  g_assert_cmpint (r.status, ==, 1);
  o = parse_json (r.out);
  arr = json_object_get_array_member (o, "imported");
  g_assert_cmpuint (json_array_get_length (arr), ==, 2);
  arr = json_object_get_array_member (o, "failed");
  g_assert_cmpuint (json_array_get_length (arr), ==, 1);
  g_assert_nonnull (strstr (json_object_get_string_member (json_array_get_object_element (arr, 0), "error"),
                            "no such file"));
  g_clear_pointer (&o, json_object_unref);
  run_clear (&r);

  /* Again: both unchanged, exit 0. --library before the subcommand. */
  docent (&r, "--library", library, "import", "--json", pdf, txt, NULL);
  g_assert_cmpint (r.status, ==, 0);
  o = parse_json (r.out);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "skipped")), ==, 2);
  g_clear_pointer (&o, json_object_unref);
  run_clear (&r);

  docent (&r, "--library", library, "list", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  o = parse_json (r.out);
  arr = json_object_get_array_member (o, "documents");
  g_assert_cmpuint (json_array_get_length (arr), ==, 2);
  {
    /* Workers finish in any order; find the PDF. */
    JsonObject *d = json_array_get_object_element (arr, 0);
    if (g_strcmp0 (json_object_get_string_member (d, "doc"), "atlas.pdf") != 0)
      d = json_array_get_object_element (arr, 1);
    g_assert_cmpstr (json_object_get_string_member (d, "doc"), ==, "atlas.pdf");
    g_assert_cmpstr (json_object_get_string_member (d, "title"), ==, "Atlas");
    g_assert_cmpstr (json_object_get_string_member (d, "type"), ==, "pdf");
    g_assert_cmpstr (json_object_get_string_member (d, "status"), ==, "ready");
    g_assert_cmpint (json_object_get_int_member (d, "pages"), ==, 3);
    g_assert_true (json_object_has_member (d, "encoding"));
    g_assert_true (json_object_has_member (d, "added"));
    g_assert_true (json_object_has_member (d, "chunks"));
    g_assert_true (json_object_has_member (d, "error"));
  }
  g_clear_pointer (&o, json_object_unref);
  run_clear (&r);

  /* A PDF hit: physical page, printed label, no lines. */
  docent (&r, "--library", library, "search", "--json", "volcanoes", NULL);
  g_assert_cmpint (r.status, ==, 0);
  o = parse_json (r.out);
  arr = json_object_get_array_member (o, "results");
  /* Ranked first; hybrid mode may add passages found by meaning after it. */
  g_assert_cmpuint (json_array_get_length (arr), >=, 1);
  hit = json_array_get_object_element (arr, 0);
  g_assert_cmpint (json_object_get_int_member (hit, "rank"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (hit, "doc"), ==, "atlas.pdf");
  g_assert_cmpint (json_object_get_int_member (hit, "page"), <=, 2);
  g_assert_cmpint (json_object_get_int_member (hit, "page_end"), >=, 2);
  g_assert_true (json_object_get_null_member (hit, "line"));
  g_assert_true (json_object_has_member (hit, "page_label"));
  g_assert_cmpfloat (json_object_get_double_member (hit, "score"), >, 0);
  g_assert_true (json_object_has_member (o, "elapsed_ms"));
  {
    /* The highlight marks "Volcanoes" inside the passage text. */
    const char *text = json_object_get_string_member (hit, "text");
    JsonArray *h = json_array_get_array_element (json_object_get_array_member (hit, "highlights"), 0);
    gint64 s = json_array_get_int_element (h, 0), e = json_array_get_int_element (h, 1);
    const char *ps = g_utf8_offset_to_pointer (text, s);
    g_assert_cmpint (e - s, ==, 9);
    g_assert_true (g_ascii_strncasecmp (ps, "volcanoes", 9) == 0);
  }
  g_clear_pointer (&o, json_object_unref);
  run_clear (&r);

  /* A text hit: lines, no pages. */
  docent (&r, "search", "--library", library, "--json", "glaciers", NULL);
  o = parse_json (r.out);
  hit = json_array_get_object_element (json_object_get_array_member (o, "results"), 0);
  g_assert_cmpint (json_object_get_int_member (hit, "line"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (hit, "line_end"), ==, 3);
  g_assert_true (json_object_get_null_member (hit, "page"));
  g_clear_pointer (&o, json_object_unref);
  run_clear (&r);

  /* Korean, filtered to one document by name. */
  docent (&r, "--library", library, "search", "--json", "--doc", "atlas.pdf", "빙하", NULL);
  o = parse_json (r.out);
  arr = json_object_get_array_member (o, "results");
  g_assert_cmpuint (json_array_get_length (arr), >=, 1);
  for (guint i = 0; i < json_array_get_length (arr); i++)
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (arr, i), "doc"), ==, "atlas.pdf");
  g_assert_nonnull (strstr (json_object_get_string_member (json_array_get_object_element (arr, 0), "text"), "빙하"));
  g_clear_pointer (&o, json_object_unref);
  run_clear (&r);
  /* Filtered to the other document: whatever comes back is from it alone. */
  docent (&r, "--library", library, "search", "--json", "--doc", "notes.txt", "빙하", NULL);
  o = parse_json (r.out);
  arr = json_object_get_array_member (o, "results");
  for (guint i = 0; i < json_array_get_length (arr); i++)
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (arr, i), "doc"), ==, "notes.txt");
  g_clear_pointer (&o, json_object_unref);
  run_clear (&r);

  /* Human output names the document and page and marks the match. */
  docent (&r, "--library", library, "search", "volcanoes", NULL);
  g_assert_nonnull (strstr (r.out, "atlas.pdf"));
  g_assert_nonnull (strstr (r.out, "page"));
  g_assert_nonnull (strstr (r.out, "[Volcanoes]"));
}

static void
test_remove_backup_usage (void)
{
  g_autofree char *a = tmp_path ("one/same.txt");
  g_autofree char *b = tmp_path ("two/same.txt");
  g_autofree char *dir1 = tmp_path ("one");
  g_autofree char *dir2 = tmp_path ("two");
  g_autofree char *lib = tmp_path ("remove.db");
  g_autofree char *backup = tmp_path ("remove-backup.db");
  g_auto(Run) r = { 0 };

  g_mkdir_with_parents (dir1, 0755);
  g_mkdir_with_parents (dir2, 0755);
  g_assert_true (g_file_set_contents (a, "alpha text about herons", -1, NULL));
  g_assert_true (g_file_set_contents (b, "beta text about storks", -1, NULL));
  docent (&r, "--library", lib, "import", dir1, dir2, NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);

  /* Two documents called same.txt: an error listing both ids. */
  docent (&r, "--library", lib, "remove", "same.txt", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "matches 2 documents"));
  g_assert_nonnull (strstr (r.err, "ids "));
  run_clear (&r);

  docent (&r, "--library", lib, "backup", backup, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_file_test (backup, G_FILE_TEST_EXISTS));
  run_clear (&r);

  /* A full path names one of them. */
  docent (&r, "--library", lib, "remove", b, NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  docent (&r, "--library", lib, "search", "--json", "storks", NULL);
  g_assert_null (strstr (r.out, "storks"));
  run_clear (&r);
  /* The backup still has it. */
  docent (&r, "--library", backup, "search", "--json", "storks", NULL);
  g_assert_nonnull (strstr (r.out, "storks"));
  run_clear (&r);

  /* Usage errors exit 2. */
  docent (&r, "--library", lib, "search", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
  docent (&r, "--library", lib, "search", "--no-such-flag", "x", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
  docent (&r, "no-such-command", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
  docent (&r, "--library", lib, "import", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
  docent (&r, "--library", lib, "remove", "nothing-here.pdf", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "No document called"));
}

/* The library's embedding model, recorded in its file, is what the command
 * line embeds and searches with: `library set embedding-model` embeds the
 * library for it, `import` writes its vectors, `search` embeds queries with
 * it; a model file gone missing is an error that names it, never a quiet
 * switch to the built-in embedder. */
static void
test_embedding_model (void)
{
  static const char *const docs[][2] = {
    { "fox.txt", "the quick brown fox jumps over the lazy dog. the fox jumps." },
    { "hello.txt", "hello world. hello docent. world hello." },
    { "data.txt", "r manual: data frame, vector, function. data frame vector." },
  };
  g_autofree char *lib = tmp_path ("embedding.db");
  g_autofree char *model = tmp_path ("models/tiny-bert.gguf");
  g_autofree char *moved = tmp_path ("models/tiny-bert.moved");
  g_autofree char *models_dir = tmp_path ("models");
  g_autofree char *missing = tmp_path ("models/none.gguf");
  g_autofree char *model_id = NULL;
  g_autofree char *count_sql = NULL;
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  BertSpec spec = bert_spec_default ();
  g_auto(Run) r = { 0 };
  g_autoptr(JsonObject) o = NULL;

  g_mkdir_with_parents (models_dir, 0755);
  spec.seed = 11;
  g_assert_true (bert_craft_write (model, &spec, NULL));
  {
    g_autoptr(DocentGgufEmbedder) e = docent_gguf_embedder_new (model, &error);
    g_assert_no_error (error);
    model_id = g_strdup (docent_embedder_get_model_id (DOCENT_EMBEDDER (e)));
  }
  count_sql = g_strdup_printf ("SELECT count(*) FROM chunk_vectors WHERE embedder = '%s'", model_id);
  for (guint i = 0; i < G_N_ELEMENTS (docs); i++)
    {
      char *p = tmp_path (docs[i][0]);
      g_assert_true (g_file_set_contents (p, docs[i][1], -1, NULL));
      g_ptr_array_add (paths, p);
    }

  /* Never chosen: the built-in embedder alone. */
  docent (&r, "--library", lib, "import", paths->pdata[0], NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  docent (&r, "--library", lib, "library", "show", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  o = parse_json (r.out);
  g_assert_true (json_object_get_null_member (o, "embedding_model"));
  g_clear_pointer (&o, json_object_unref);
  run_clear (&r);

  /* A file that cannot be used is not recorded. */
  docent (&r, "--library", lib, "library", "set", "embedding-model", missing, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, missing));
  run_clear (&r);

  /* Choosing the model embeds what is already there with it. */
  docent (&r, "--library", lib, "library", "set", "embedding-model", model, NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  docent (&r, "--library", lib, "library", "show", "--json", NULL);
  o = parse_json (r.out);
  g_assert_cmpstr (json_object_get_string_member (o, "embedding_model"), ==, model);
  g_clear_pointer (&o, json_object_unref);
  run_clear (&r);
  {
    g_autoptr(DocentStore) store = docent_store_open (lib, &error);
    g_assert_no_error (error);
    g_assert_cmpint (docent_test_query_int (store, count_sql), >, 0);
    g_assert_cmpint (docent_test_query_int (store, count_sql), ==,
                     docent_test_query_int (store, "SELECT count(*) FROM chunks"));
  }

  /* New passages get the model's vectors as they are imported. */
  docent (&r, "--library", lib, "import", paths->pdata[1], paths->pdata[2], NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  {
    g_autoptr(DocentStore) store = docent_store_open (lib, &error);
    g_assert_no_error (error);
    g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM documents"), ==, 3);
    g_assert_cmpint (docent_test_query_int (store, count_sql), ==,
                     docent_test_query_int (store, "SELECT count(*) FROM chunks"));
  }

  /* Queries are embedded with it: the embedder reported, and a passage's
   * own text finds it first by meaning alone, with the score the model
   * gives in this process. */
  for (guint i = 0; i < G_N_ELEMENTS (docs); i++)
    {
      g_autoptr(DocentStore) store = docent_store_open (lib, &error);
      g_autoptr(DocentGgufEmbedder) e = docent_gguf_embedder_new (model, &error);
      g_autoptr(DocentRetriever) retriever = docent_retriever_new (store, DOCENT_EMBEDDER (e), &error);
      DocentSearchOptions options = { 3, NULL };
      g_autoptr(GPtrArray) want = docent_retriever_search (retriever, docs[i][1], DOCENT_SEARCH_MODE_DENSE,
                                                           &options, &error);
      JsonObject *hit;

      g_assert_no_error (error);
      g_assert_cmpuint (want->len, >, 0);
      docent (&r, "--library", lib, "search", "--json", "--mode", "dense", "--k", "3", docs[i][1], NULL);
      g_assert_cmpint (r.status, ==, 0);
      o = parse_json (r.out);
      g_assert_cmpstr (json_object_get_string_member (o, "embedder"), ==, model_id);
      hit = json_array_get_object_element (json_object_get_array_member (o, "results"), 0);
      g_assert_cmpstr (json_object_get_string_member (hit, "doc"), ==, docs[i][0]);
      g_assert_cmpfloat_with_epsilon (json_object_get_double_member (hit, "score"),
                                      ((DocentSearchResult *) want->pdata[0])->score, 1e-5);
      g_clear_pointer (&o, json_object_unref);
      run_clear (&r);
    }

  /* bench query measures the library as it is searched. */
  docent (&r, "--library", lib, "bench", "query", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  o = parse_json (r.out);
  g_assert_cmpstr (json_object_get_string_member (o, "embedder"), ==, model_id);
  g_clear_pointer (&o, json_object_unref);
  run_clear (&r);

  /* The model file gone: search, ask and import stop and say which file
   * and how to choose another; nothing is imported. */
  g_assert_cmpint (g_rename (model, moved), ==, 0);
  {
    const char *commands[][3] = { { "search", "fox", NULL }, { "ask", "fox", NULL } };
    for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
      {
        docent (&r, "--library", lib, commands[i][0], commands[i][1], NULL);
        g_assert_cmpint (r.status, ==, 1);
        g_assert_nonnull (strstr (r.err, model));
        g_assert_nonnull (strstr (r.err, "docent library set embedding-model"));
        g_assert_cmpstr (r.out, ==, "");
        run_clear (&r);
      }
  }
  {
    g_autofree char *more = tmp_path ("more.txt");
    g_assert_true (g_file_set_contents (more, "the lazy dog sleeps.", -1, NULL));
    docent (&r, "--library", lib, "import", more, NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, model));
    g_assert_nonnull (strstr (r.err, "docent library set embedding-model"));
    run_clear (&r);
    docent (&r, "--library", lib, "library", "rechunk", NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, model));
    run_clear (&r);
    {
      g_autoptr(DocentStore) store = docent_store_open (lib, &error);
      g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM documents"), ==, 3);
    }
    /* Keyword search only needs no model. */
    docent (&r, "--library", lib, "import", "--no-embed", more, NULL);
    g_assert_cmpint (r.status, ==, 0);
    run_clear (&r);
  }

  /* Back to the built-in embedder: searching works again, with it. */
  docent (&r, "--library", lib, "library", "set", "embedding-model", "builtin", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  docent (&r, "--library", lib, "search", "--json", "fox", NULL);
  g_assert_cmpint (r.status, ==, 0);
  o = parse_json (r.out);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (o, "embedder"), "hash-ngram-"));
  g_clear_pointer (&o, json_object_unref);
  run_clear (&r);
  docent (&r, "--library", lib, "library", "show", NULL);
  g_assert_nonnull (strstr (r.out, "builtin"));
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("DOCENT_BIN") == NULL)
    {
      g_printerr ("DOCENT_BIN is not set\n");
      return 1;
    }
  tmpdir = docent_test_make_tmpdir ("docent-cli");
  library = g_build_filename (tmpdir, "library.db", NULL);
  g_test_add_func ("/cli/import-list-search", test_import_list_search);
  g_test_add_func ("/cli/remove-backup-usage", test_remove_backup_usage);
  g_test_add_func ("/cli/embedding-model", test_embedding_model);
  rc = g_test_run ();
  docent_test_rm_rf (tmpdir);
  return rc;
}
