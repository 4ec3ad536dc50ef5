/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-cli"
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "docent-cli.h"
#include "docent-eval.h"
#include "docent-gguf-embedder.h"
#include "docent-importer.h"
#include "docent-retriever.h"
#include "docent-store.h"

/* `docent eval SET.jsonl`: imports the corpus a question set refers to into
 * a temporary library, runs every question in each search mode and prints
 * hit@1, hit@5, hit@10 and MRR, overall and per language. */

#define DEFAULT_PDF_DIR "/usr/share/R/doc/manual"
#define DEFAULT_TEXT_DIR "../shared/corpus/ko"

static int
compare_path (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* Files in @dir (not recursive) whose names end in one of @suffixes and, when
 * @prefix is given, start with it. */
static gboolean
collect_files (GPtrArray   *paths,
               const char  *dir,
               const char  *prefix,
               const char **suffixes,
               GError     **error)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, error);
  g_autoptr(GPtrArray) found = g_ptr_array_new ();
  const char *name;

  if (d == NULL)
    return FALSE;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      if (prefix != NULL && !g_str_has_prefix (name, prefix))
        continue;
      for (guint i = 0; suffixes[i] != NULL; i++)
        if (g_str_has_suffix (name, suffixes[i]))
          {
            g_ptr_array_add (found, g_build_filename (dir, name, NULL));
            break;
          }
    }
  g_ptr_array_sort (found, compare_path);
  for (guint i = 0; i < found->len; i++)
    g_ptr_array_add (paths, found->pdata[i]);
  return TRUE;
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
}

static void
add_scores (JsonBuilder            *b,
            const DocentEvalScores *s,
            gboolean                with_n)
{
  json_builder_begin_object (b);
  if (with_n)
    {
      json_builder_set_member_name (b, "n");
      json_builder_add_int_value (b, s->n);
    }
  json_builder_set_member_name (b, "hit@1");
  json_builder_add_double_value (b, s->hit1);
  json_builder_set_member_name (b, "hit@5");
  json_builder_add_double_value (b, s->hit5);
  json_builder_set_member_name (b, "hit@10");
  json_builder_add_double_value (b, s->hit10);
  json_builder_set_member_name (b, "mrr");
  json_builder_add_double_value (b, s->mrr);
}

static void
print_row (const char             *mode,
           const char             *lang,
           const DocentEvalScores *s)
{
  g_print ("  %-7s %-4s %4u   %6.3f %6.3f %6.3f %6.3f\n",
           mode, lang, s->n, s->hit1, s->hit5, s->hit10, s->mrr);
}

int
docent_cli_eval (DocentCliGlobal *global,
                 int              argc,
                 char           **argv)
{
  gboolean json = FALSE, verbose = FALSE;
  int k = 10;
  g_autofree char *pdf_dir = NULL;
  g_autofree char *text_dir = NULL;
  g_autofree char *reuse = NULL;
  g_autofree char *modes_arg = NULL;
  g_autofree char *model = NULL;
  g_autoptr(DocentGgufEmbedder) gguf = NULL;
  double w_bm25 = 1.0, w_dense = 1.0;
  int rrf_k = DOCENT_RRF_K_DEFAULT, depth = DOCENT_FUSION_DEPTH_DEFAULT;
  double dense_floor = G_MAXDOUBLE;   /* the retriever's own */
  double k1 = -1, b = -1, w_prox = -1, w_cov = -1;   /* < 0: the defaults */
  int chunk_size = DOCENT_CHUNK_SIZE_DEFAULT, chunk_overlap = DOCENT_CHUNK_OVERLAP_DEFAULT;
  const GOptionEntry entries[] = {
    { "k", 'k', 0, G_OPTION_ARG_INT, &k, N_("Passages scored per question (default 10)"), N_("N") },
    { "pdf-dir", 0, 0, G_OPTION_ARG_FILENAME, &pdf_dir,
      N_("Import every *.pdf here (default: the R-*.pdf manuals in " DEFAULT_PDF_DIR ")"), N_("DIR") },
    { "text-dir", 0, 0, G_OPTION_ARG_FILENAME, &text_dir,
      N_("Import every *.txt and *.md here (default " DEFAULT_TEXT_DIR ")"), N_("DIR") },
    { "reuse", 0, 0, G_OPTION_ARG_FILENAME, &reuse,
      N_("Keep the imported library in FILE and reuse it next time (for tuning)"), N_("FILE") },
    { "embedder-model", 0, 0, G_OPTION_ARG_FILENAME, &model,
      N_("Dense side from this GGUF embedding model instead of the built-in embedder"), N_("FILE.gguf") },
    { "modes", 0, 0, G_OPTION_ARG_STRING, &modes_arg,
      N_("Comma-separated modes to run (default hybrid,bm25,dense)"), N_("LIST") },
    { "w-bm25", 0, 0, G_OPTION_ARG_DOUBLE, &w_bm25, N_("Hybrid: weight of the BM25 ranking (default 1)"), N_("W") },
    { "w-dense", 0, 0, G_OPTION_ARG_DOUBLE, &w_dense, N_("Hybrid: weight of the dense ranking (default 1)"), N_("W") },
    { "rrf-k", 0, 0, G_OPTION_ARG_INT, &rrf_k, N_("Hybrid: RRF constant (default 60)"), N_("K") },
    { "depth", 0, 0, G_OPTION_ARG_INT, &depth, N_("Hybrid: candidates from each ranking (default 100)"), N_("N") },
    { "dense-floor", 0, 0, G_OPTION_ARG_DOUBLE, &dense_floor, N_("Drop dense hits below this cosine"), N_("X") },
    { "k1", 0, 0, G_OPTION_ARG_DOUBLE, &k1, N_("BM25 k1 (default: the measured one)"), N_("X") },
    { "b", 0, 0, G_OPTION_ARG_DOUBLE, &b, N_("BM25 b (default: the measured one)"), N_("X") },
    { "w-prox", 0, 0, G_OPTION_ARG_DOUBLE, &w_prox, N_("Weight of term proximity in the lexical score"), N_("W") },
    { "w-cov", 0, 0, G_OPTION_ARG_DOUBLE, &w_cov, N_("Exponent of query-term coverage in the lexical score"), N_("X") },
    { "chunk-size", 0, 0, G_OPTION_ARG_INT, &chunk_size, N_("Passage size for the import (default 1000)"), N_("N") },
    { "chunk-overlap", 0, 0, G_OPTION_ARG_INT, &chunk_overlap, N_("Passage overlap for the import (default 150)"), N_("N") },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, N_("Print each question's rank of the first hit"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object"), NULL },
    G_OPTION_ENTRY_NULL
  };
  static const char *pdf_suffixes[] = { ".pdf", NULL };
  static const char *text_suffixes[] = { ".txt", ".md", NULL };
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) reports = g_ptr_array_new_with_free_func ((GDestroyNotify) docent_eval_report_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(DocentRetriever) retriever = NULL;
  g_autofree char *tmp_dir = NULL;
  g_autofree char *library = NULL;
  DocentSearchMode modes[3] = { DOCENT_SEARCH_MODE_HYBRID, DOCENT_SEARCH_MODE_BM25, DOCENT_SEARCH_MODE_DENSE };
  guint n_modes = 3;
  gint64 t_start = g_get_monotonic_time ();
  double import_s = 0, embed_s = 0;
  guint n_embedded = 0;
  int rc = DOCENT_EXIT_OK;

  if (!docent_cli_parse (global, "eval", _("SET.jsonl"), entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  if (argc != 2 || k <= 0 || k > 1000 || rrf_k <= 0 || depth <= 0 || w_bm25 < 0 || w_dense < 0 ||
      chunk_size < 100 || chunk_overlap < 0 || chunk_overlap >= chunk_size)
    {
      g_printerr (_("Usage: docent eval [--json] [--k N] [--pdf-dir DIR] [--text-dir DIR] SET.jsonl\n"));
      return DOCENT_EXIT_USAGE;
    }
  if (modes_arg != NULL)
    {
      g_auto(GStrv) names = g_strsplit (modes_arg, ",", -1);
      n_modes = 0;
      for (guint i = 0; names[i] != NULL && n_modes < 3; i++)
        if (!docent_search_mode_from_string (g_strstrip (names[i]), &modes[n_modes++]))
          {
            g_printerr (_("docent eval: unknown mode “%s” (bm25, dense or hybrid)\n"), names[i]);
            return DOCENT_EXIT_USAGE;
          }
      if (n_modes == 0)
        return DOCENT_EXIT_USAGE;
    }

  items = docent_eval_load (argv[1], &error);
  if (items == NULL)
    {
      g_printerr ("docent eval: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }

  if (reuse != NULL)
    library = g_strdup (reuse);
  else
    {
      tmp_dir = g_dir_make_tmp ("docent-eval-XXXXXX", &error);
      if (tmp_dir == NULL)
        {
          g_printerr ("docent eval: %s\n", error->message);
          return DOCENT_EXIT_PARTIAL;
        }
      library = g_build_filename (tmp_dir, "library.db", NULL);
    }

  if (reuse == NULL || !g_file_test (reuse, G_FILE_TEST_EXISTS))
    {
      g_autoptr(DocentImporter) importer = docent_importer_new (library);
      g_autoptr(GPtrArray) results = NULL;
      gint64 t0 = g_get_monotonic_time ();

      docent_importer_set_chunking (importer, chunk_size, chunk_overlap);
      if (!collect_files (paths, pdf_dir != NULL ? pdf_dir : DEFAULT_PDF_DIR,
                          pdf_dir != NULL ? NULL : "R-", pdf_suffixes, &error) ||
          !collect_files (paths, text_dir != NULL ? text_dir : DEFAULT_TEXT_DIR, NULL,
                          text_suffixes, &error))
        {
          g_printerr ("docent eval: %s\n", error->message);
          rc = DOCENT_EXIT_PARTIAL;
          goto out;
        }
      g_ptr_array_add (paths, NULL);
      if (!json)
        g_printerr (_("Importing %u files…\n"), paths->len - 1);
      results = docent_importer_import_sync (importer, (const char * const *) paths->pdata, NULL, &error);
      if (results == NULL)
        {
          g_printerr ("docent eval: %s\n", error->message);
          rc = DOCENT_EXIT_PARTIAL;
          goto out;
        }
      for (guint i = 0; i < results->len; i++)
        {
          DocentImportFileResult *r = results->pdata[i];
          if (r->outcome == DOCENT_IMPORT_FAILED)
            g_printerr (_("docent eval: could not import %s: %s\n"), r->path, r->reason);
        }
      import_s = (g_get_monotonic_time () - t0) / 1e6;
    }

  store = docent_store_open (library, &error);
  if (store == NULL)
    {
      g_printerr ("docent eval: %s\n", error->message);
      rc = DOCENT_EXIT_PARTIAL;
      goto out;
    }
  {
    gint64 t0 = g_get_monotonic_time ();
    if (!docent_retriever_update_builtin (store, 0, NULL, &n_embedded, &error))
      {
        g_printerr ("docent eval: %s\n", error->message);
        rc = DOCENT_EXIT_PARTIAL;
        goto out;
      }
    embed_s = (g_get_monotonic_time () - t0) / 1e6;
  }
  if (model != NULL)
    {
      guint n = 0;
      gint64 t0 = g_get_monotonic_time ();
      gguf = docent_gguf_embedder_new (model, &error);
      if (gguf == NULL ||
          !docent_gguf_embedder_update_library (gguf, store, 0, NULL, &n, &error))
        {
          g_printerr ("docent eval: %s\n", error->message);
          rc = DOCENT_EXIT_PARTIAL;
          goto out;
        }
      n_embedded += n;
      embed_s += (g_get_monotonic_time () - t0) / 1e6;
    }
  retriever = docent_retriever_new (store, gguf != NULL ? DOCENT_EMBEDDER (gguf) : NULL, &error);
  if (retriever == NULL)
    {
      g_printerr ("docent eval: %s\n", error->message);
      rc = DOCENT_EXIT_PARTIAL;
      goto out;
    }
  docent_retriever_set_fusion (retriever, w_bm25, w_dense, rrf_k, depth);
  docent_retriever_set_lexical (retriever, k1, b, w_prox, w_cov);
  if (dense_floor != G_MAXDOUBLE)
    docent_retriever_set_dense_floor (retriever, (float) dense_floor);

  for (guint m = 0; m < n_modes; m++)
    {
      DocentEvalReport *report = docent_eval_run (retriever, items, modes[m], k, &error);
      if (report == NULL)
        {
          g_printerr ("docent eval: %s\n", error->message);
          rc = DOCENT_EXIT_PARTIAL;
          goto out;
        }
      g_ptr_array_add (reports, report);
    }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "n");
      json_builder_add_int_value (b, items->len);
      json_builder_set_member_name (b, "k");
      json_builder_add_int_value (b, k);
      json_builder_set_member_name (b, "default_mode");
      json_builder_add_string_value (b, docent_search_mode_to_string (docent_retriever_get_default_mode (retriever)));
      json_builder_set_member_name (b, "embedder");
      json_builder_add_string_value (b, docent_embedder_get_model_id (docent_retriever_get_embedder (retriever)));
      json_builder_set_member_name (b, "modes");
      json_builder_begin_object (b);
      for (guint m = 0; m < reports->len; m++)
        {
          DocentEvalReport *r = reports->pdata[m];
          json_builder_set_member_name (b, docent_search_mode_to_string (r->mode));
          add_scores (b, &r->all, FALSE);
          json_builder_set_member_name (b, "ms_p50");
          json_builder_add_double_value (b, r->ms_p50);
          json_builder_set_member_name (b, "by_lang");
          json_builder_begin_object (b);
          for (guint l = 0; l < r->langs->len; l++)
            {
              const char *lang = r->langs->pdata[l];
              json_builder_set_member_name (b, lang);
              add_scores (b, g_hash_table_lookup (r->by_lang, lang), TRUE);
              json_builder_end_object (b);
            }
          json_builder_end_object (b);
          json_builder_end_object (b);
        }
      json_builder_end_object (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      docent_cli_print_json (root);
    }
  else
    {
      if (verbose)
        for (guint i = 0; i < items->len; i++)
          {
            DocentEvalItem *item = items->pdata[i];
            g_print ("%-12s", item->id);
            for (guint m = 0; m < reports->len; m++)
              {
                DocentEvalReport *r = reports->pdata[m];
                g_print (" %s=%-3u", docent_search_mode_to_string (r->mode),
                         g_array_index (r->first_hit, guint, i));
              }
            g_print ("\n");
          }
      g_print ("%u questions, top %d passages; embedder %s (%u vectors); default mode %s\n",
               items->len, k, docent_embedder_get_model_id (docent_retriever_get_embedder (retriever)),
               docent_retriever_get_n_vectors (retriever),
               docent_search_mode_to_string (docent_retriever_get_default_mode (retriever)));
      g_print ("  %-7s %-4s %4s   %6s %6s %6s %6s\n", "mode", "lang", "n", "hit@1", "hit@5", "hit@10", "MRR");
      for (guint m = 0; m < reports->len; m++)
        {
          DocentEvalReport *r = reports->pdata[m];
          const char *mode = docent_search_mode_to_string (r->mode);
          print_row (mode, "all", &r->all);
          for (guint l = 0; l < r->langs->len; l++)
            print_row (mode, r->langs->pdata[l], g_hash_table_lookup (r->by_lang, r->langs->pdata[l]));
        }
      for (guint m = 0; m < reports->len; m++)
        {
          DocentEvalReport *r = reports->pdata[m];
          g_print ("  %s search: p50 %.2f ms, p95 %.2f ms\n",
                   docent_search_mode_to_string (r->mode), r->ms_p50, r->ms_p95);
        }
      g_print ("  import %.1f s, embedding %u passages %.1f s, total %.1f s\n", import_s,
               n_embedded, embed_s, (g_get_monotonic_time () - t_start) / 1e6);
    }

out:
  g_clear_object (&retriever);
  g_clear_object (&store);
  if (tmp_dir != NULL)
    remove_tree (tmp_dir);
  return rc;
}
