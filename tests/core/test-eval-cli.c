/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* `docent eval` on the real dev set and `docent bench query` on a small
 * synthetic library, run as a person would: the figures must be computed
 * and well-formed (their values go to docs/BENCHMARKS.md, not here). */

static int
run_docent (const char * const *args,
            char              **out,
            char              **err)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *bin = g_getenv ("DOCENT_BIN");
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_nonnull (bin);
  g_ptr_array_add (argv, (gpointer) bin);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               out, err, &status, &error));
  g_assert_no_error (error);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static JsonObject *
parse_one_object (const char *out,
                  JsonParser *parser)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = g_strsplit (g_strstrip ((char *) out), "\n", -1);

  g_assert_cmpuint (g_strv_length (lines), ==, 1);   /* exactly one object */
  g_assert_true (json_parser_load_from_data (parser, lines[0], -1, &error));
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_get_object (json_parser_get_root (parser));
}

static void
check_scores (JsonObject *s)
{
  double h1 = json_object_get_double_member (s, "hit@1");
  double h5 = json_object_get_double_member (s, "hit@5");
  double h10 = json_object_get_double_member (s, "hit@10");
  double mrr = json_object_get_double_member (s, "mrr");

  g_assert_cmpfloat (h1, >=, 0.0);
  g_assert_cmpfloat (h1, <=, h5);
  g_assert_cmpfloat (h5, <=, h10);
  g_assert_cmpfloat (h10, <=, 1.0);
  g_assert_cmpfloat (mrr, >=, h1);
  g_assert_cmpfloat (mrr, <=, h10 + 1e-9);
}

static void
test_eval_dev (void)
{
  const char *shared = g_getenv ("DOCENT_SHARED_DIR");
  g_autofree char *set = g_build_filename (shared ? shared : "", "eval", "dev.jsonl", NULL);
  g_autofree char *ko = g_build_filename (shared ? shared : "", "corpus", "ko", NULL);
  g_autofree char *pdf_dir = NULL;
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GDir) manuals = NULL;
  const char *modes[] = { "hybrid", "bm25", "dense" };
  const char *name;
  JsonObject *root, *by_mode;
  guint n_pdfs = 0;

  if (shared == NULL || !g_file_test (set, G_FILE_TEST_EXISTS) ||
      (manuals = g_dir_open ("/usr/share/R/doc/manual", 0, NULL)) == NULL)
    {
      g_test_skip ("needs ../shared/eval/dev.jsonl and the R manuals (r-doc-pdf)");
      return;
    }
  /* the seven manuals only, as eval/README.md says */
  pdf_dir = g_dir_make_tmp ("docent-eval-pdf-XXXXXX", NULL);
  while ((name = g_dir_read_name (manuals)) != NULL)
    if (g_str_has_prefix (name, "R-") && g_str_has_suffix (name, ".pdf"))
      {
        g_autofree char *src = g_build_filename ("/usr/share/R/doc/manual", name, NULL);
        g_autofree char *dst = g_build_filename (pdf_dir, name, NULL);
        g_assert_cmpint (symlink (src, dst), ==, 0);
        n_pdfs++;
      }

  {
    const char *args[] = { "eval", "--json", "--pdf-dir", pdf_dir, "--text-dir", ko, set, NULL };
    g_assert_cmpint (run_docent (args, &out, &err), ==, 0);
  }
  root = parse_one_object (out, parser);
  g_assert_cmpint (json_object_get_int_member (root, "n"), ==, 80);
  g_assert_true (g_strv_contains (modes, json_object_get_string_member (root, "default_mode")));
  by_mode = json_object_get_object_member (root, "modes");
  for (guint m = 0; m < G_N_ELEMENTS (modes); m++)
    {
      JsonObject *s = json_object_get_object_member (by_mode, modes[m]);
      JsonObject *langs = json_object_get_object_member (s, "by_lang");
      check_scores (s);
      check_scores (json_object_get_object_member (langs, "en"));
      check_scores (json_object_get_object_member (langs, "ko"));
      g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (langs, "en"), "n"), ==, 60);
      g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (langs, "ko"), "n"), ==, 20);
      /* something is found: the corpus was imported and searched */
      g_assert_cmpfloat (json_object_get_double_member (s, "hit@10"), >, 0.0);
    }
  g_test_message ("%s", out);

  {
    g_autoptr(GDir) d = g_dir_open (pdf_dir, 0, NULL);
    while ((name = g_dir_read_name (d)) != NULL)
      {
        g_autofree char *p = g_build_filename (pdf_dir, name, NULL);
        g_unlink (p);
      }
    g_rmdir (pdf_dir);
  }
  g_assert_cmpuint (n_pdfs, ==, 7);
}

static void
test_eval_usage (void)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autofree char *out2 = NULL, *err2 = NULL;
  const char *no_set[] = { "eval", NULL };
  const char *missing[] = { "eval", "--pdf-dir", "/nonexistent", "/nonexistent/set.jsonl", NULL };

  g_assert_cmpint (run_docent (no_set, &out, &err), ==, 2);
  g_assert_cmpint (run_docent (missing, &out2, &err2), ==, 1);
  g_assert_nonnull (strstr (err2, "set.jsonl"));
}

static void
test_bench_query (void)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  const char *args[] = { "bench", "query", "--rows", "3000", "--dim", "64", "--queries", "5", "--json", NULL };
  JsonObject *root;

  g_assert_cmpint (run_docent (args, &out, &err), ==, 0);
  root = parse_one_object (out, parser);
  g_assert_cmpint (json_object_get_int_member (root, "rows"), ==, 3000);
  g_assert_cmpstr (json_object_get_string_member (root, "format"), ==, "int8");
  g_assert_cmpfloat (json_object_get_double_member (root, "p50_ms"), >, 0.0);
  g_assert_cmpfloat (json_object_get_double_member (root, "p95_ms"), >=,
                     json_object_get_double_member (root, "p50_ms"));
  g_assert_cmpfloat (json_object_get_double_member (root, "read_bandwidth_gbs"), >, 0.0);
}

static void
test_collections_and_filters (void)
{
  g_autofree char *dir = g_dir_make_tmp ("docent-filters-XXXXXX", NULL);
  g_autofree char *lib = g_build_filename (dir, "lib.db", NULL);
  g_autofree char *a = g_build_filename (dir, "herons.txt", NULL);
  g_autofree char *b = g_build_filename (dir, "storks.txt", NULL);
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root;
  JsonArray *arr;

  g_assert_true (g_file_set_contents (a, "Herons wade in shallow water and eat fish.\n", -1, NULL));
  g_assert_true (g_file_set_contents (b, "Storks build nests on roofs and eat fish too.\n", -1, NULL));
  {
    const char *args[] = { "--library", lib, "import", a, b, NULL };
    g_assert_cmpint (run_docent (args, &out, &err), ==, 0);
    g_clear_pointer (&out, g_free); g_clear_pointer (&err, g_free);
  }
  {
    const char *args[] = { "--library", lib, "collection", "add", "birds-a", "herons.txt", NULL };
    g_assert_cmpint (run_docent (args, &out, &err), ==, 0);
    g_clear_pointer (&out, g_free); g_clear_pointer (&err, g_free);
  }
  {
    const char *args[] = { "--library", lib, "collection", "list", "--json", NULL };
    g_assert_cmpint (run_docent (args, &out, &err), ==, 0);
    root = parse_one_object (out, parser);
    arr = json_object_get_array_member (root, "collections");
    g_assert_cmpuint (json_array_get_length (arr), ==, 1);
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (arr, 0), "name"), ==, "birds-a");
    g_clear_pointer (&out, g_free); g_clear_pointer (&err, g_free);
  }
  /* every mode: only the collection's document */
  for (guint m = 0; m < 3; m++)
    {
      const char *modes[] = { "bm25", "dense", "hybrid" };
      const char *args[] = { "--library", lib, "search", "--json", "--mode", modes[m],
                             "--collection", "birds-a", "eat fish", NULL };
      g_autoptr(JsonParser) p2 = json_parser_new ();
      g_assert_cmpint (run_docent (args, &out, &err), ==, 0);
      root = parse_one_object (out, p2);
      g_assert_cmpstr (json_object_get_string_member (root, "mode"), ==, modes[m]);
      arr = json_object_get_array_member (root, "results");
      g_assert_cmpuint (json_array_get_length (arr), >=, 1);
      for (guint i = 0; i < json_array_get_length (arr); i++)
        g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (arr, i), "doc"), ==,
                         "herons.txt");
      g_clear_pointer (&out, g_free); g_clear_pointer (&err, g_free);
    }
  {
    const char *args[] = { "--library", lib, "search", "--json", "--type", "pdf", "eat fish", NULL };
    g_autoptr(JsonParser) p2 = json_parser_new ();
    g_assert_cmpint (run_docent (args, &out, &err), ==, 0);
    root = parse_one_object (out, p2);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "results")), ==, 0);
    g_clear_pointer (&out, g_free); g_clear_pointer (&err, g_free);
  }
  /* ask: one JSON object, the answer with citations to lines */
  {
    const char *args[] = { "--library", lib, "ask", "--json", "Where do herons wade?", NULL };
    const char *none[] = { "--library", lib, "ask", "--json", "chocolate cake recipe with strawberries", NULL };
    g_autoptr(JsonParser) p2 = json_parser_new ();
    g_autoptr(JsonParser) p3 = json_parser_new ();
    JsonObject *c;
    g_assert_cmpint (run_docent (args, &out, &err), ==, 0);
    root = parse_one_object (out, p2);
    g_assert_cmpstr (json_object_get_string_member (root, "mode"), ==, "extractive");
    g_assert_true (json_object_get_null_member (root, "cached"));
    g_assert_true (json_object_has_member (root, "elapsed_ms"));
    g_assert_nonnull (strstr (json_object_get_string_member (root, "answer"), "Herons wade in shallow water"));
    g_assert_nonnull (strstr (json_object_get_string_member (root, "answer"), "[1]"));
    c = json_array_get_object_element (json_object_get_array_member (root, "citations"), 0);
    g_assert_cmpint (json_object_get_int_member (c, "n"), ==, 1);
    g_assert_cmpstr (json_object_get_string_member (c, "doc"), ==, "herons.txt");
    g_assert_true (json_object_get_null_member (c, "page"));
    g_assert_true (json_object_get_null_member (c, "page_end"));
    g_assert_true (json_object_get_null_member (c, "page_label"));
    g_assert_cmpint (json_object_get_int_member (c, "line"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (c, "line_end"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (c, "char_start"), ==, 0);
    g_assert_cmpint (json_object_get_int_member (c, "char_end"), ==, 42);
    g_assert_true (json_object_has_member (c, "doc_id"));
    g_assert_true (json_object_has_member (c, "text"));
    g_clear_pointer (&out, g_free); g_clear_pointer (&err, g_free);

    g_assert_cmpint (run_docent (none, &out, &err), ==, 0);
    root = parse_one_object (out, p3);
    g_assert_cmpstr (json_object_get_string_member (root, "mode"), ==, "not-found");
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "citations")), ==, 0);
    g_clear_pointer (&out, g_free); g_clear_pointer (&err, g_free);
  }
  {
    const char *bad_pages[] = { "--library", lib, "search", "--pages", "9-3", "fish", NULL };
    const char *bad_date[] = { "--library", lib, "search", "--added-after", "yesterday", "fish", NULL };
    const char *bad_mode[] = { "--library", lib, "search", "--mode", "fuzzy", "fish", NULL };
    const char *no_coll[] = { "--library", lib, "collection", "remove", "nope", "herons.txt", NULL };
    g_assert_cmpint (run_docent (bad_pages, &out, &err), ==, 2);
    g_clear_pointer (&out, g_free); g_clear_pointer (&err, g_free);
    g_assert_cmpint (run_docent (bad_date, &out, &err), ==, 2);
    g_clear_pointer (&out, g_free); g_clear_pointer (&err, g_free);
    g_assert_cmpint (run_docent (bad_mode, &out, &err), ==, 2);
    g_clear_pointer (&out, g_free); g_clear_pointer (&err, g_free);
    g_assert_cmpint (run_docent (no_coll, &out, &err), ==, 1);
    g_clear_pointer (&out, g_free); g_clear_pointer (&err, g_free);
  }
  /* bench query on this library: wall and CPU time per mode */
  {
    const char *args[] = { "--library", lib, "bench", "query", "--json", NULL };
    g_autoptr(JsonParser) p2 = json_parser_new ();
    JsonObject *modes;
    g_assert_cmpint (run_docent (args, &out, &err), ==, 0);
    root = parse_one_object (out, p2);
    modes = json_object_get_object_member (root, "modes");
    for (guint m = 0; m < 3; m++)
      {
        const char *names[] = { "bm25", "dense", "hybrid" };
        JsonObject *o = json_object_get_object_member (modes, names[m]);
        double p50 = json_object_get_double_member (o, "p50_ms");
        double cpu = json_object_get_double_member (o, "cpu_p50_ms");
        g_assert_cmpfloat (cpu, >, 0.0);
        /* a thread cannot use more CPU than the time that passed */
        g_assert_cmpfloat (cpu, <=, p50 + 0.01);
      }
    g_clear_pointer (&out, g_free); g_clear_pointer (&err, g_free);
  }
  {
    g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name (d)) != NULL)
      {
        g_autofree char *p = g_build_filename (dir, name, NULL);
        g_unlink (p);
      }
    g_rmdir (dir);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eval-cli/dev-set", test_eval_dev);
  g_test_add_func ("/eval-cli/usage", test_eval_usage);
  g_test_add_func ("/eval-cli/bench-query", test_bench_query);
  g_test_add_func ("/eval-cli/collections-and-filters", test_collections_and_filters);
  return g_test_run ();
}
