/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-cli"
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include <cblas.h>

#include "docent-cli.h"
#include "docent-gguf-embedder.h"
#include "llm-bert.h"

/* `docent embed`: the vectors a GGUF embedding model gives texts, through
 * the same embedder the library uses (prefixes, pooling, normalisation), so
 * they can be compared with other runtimes. */

/* ---- --make-model and --bench -------------------------------------------- */

/* The shape of bge-small / e5-small / all-MiniLM-L12: what most people
 * choose for a laptop. */
static int
make_model (const char *out, const char *type_name)
{
  LlmBertParams hp = { 0 };
  int type = llm_type_from_name (type_name ? type_name : "Q8_0");
  char err[256] = "";
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  if (type < 0)
    {
      g_printerr ("docent embed: %s: %s\n", _("unknown weight type"), type_name);
      return DOCENT_EXIT_USAGE;
    }
  hp.n_vocab = 30522, hp.n_embd = 384, hp.n_layer = 12, hp.n_head = 12, hp.n_ff = 1536;
  hp.n_ctx = 512, hp.n_token_types = 2, hp.pooling = LLM_BERT_POOL_CLS;
  if (!llm_bert_write_random (out, &hp, (llm_type) type, 1, err, sizeof err))
    {
      g_printerr ("docent embed: %s\n", err);
      return DOCENT_EXIT_PARTIAL;
    }
  if (g_stat (out, &st) == 0)
    g_print ("%s: %s, %.1f MiB\n", out, llm_type_name (type), st.st_size / 1048576.0);
  return DOCENT_EXIT_OK;
}

typedef struct {
  const LlmBert   *bert;
  llm_pool        *pool;
  const LlmToken **ids;
  const size_t    *lens;
  size_t           n;
  float           *out;
  gboolean         ok;
} BenchJob;

static gpointer
bench_job (gpointer data)
{
  BenchJob *j = data;
  char err[256];
  j->ok = llm_bert_embed_tokens (j->bert, j->pool, (const LlmToken * const *) j->ids, j->lens,
                                 j->n, j->out, err, sizeof err);
  if (!j->ok)
    g_printerr ("docent embed: %s\n", err);
  return NULL;
}

/* Seconds for @n_workers threads each embedding its share of the passages;
 * one worker gets @pool. */
static double
bench_round (const LlmBert *bert, llm_pool *pool, guint n_workers, const LlmToken **ids,
             const size_t *lens, size_t n, float *out, gboolean *ok)
{
  const LlmBertParams *hp = llm_bert_get_params (bert);
  g_autofree BenchJob *jobs = g_new0 (BenchJob, n_workers);
  g_autofree GThread **threads = g_new0 (GThread *, n_workers);
  gint64 t0 = g_get_monotonic_time ();
  size_t per = (n + n_workers - 1) / n_workers;

  for (guint w = 0; w < n_workers; w++)
    {
      size_t a = MIN (n, w * per), b = MIN (n, a + per);
      jobs[w] = (BenchJob) { bert, n_workers == 1 ? pool : NULL, ids + a, lens + a, b - a,
                             out + a * (size_t) hp->n_embd, TRUE };
      threads[w] = g_thread_new ("bench-embed", bench_job, &jobs[w]);
    }
  for (guint w = 0; w < n_workers; w++)
    {
      g_thread_join (threads[w]);
      *ok = *ok && jobs[w].ok;
    }
  return (g_get_monotonic_time () - t0) / 1e6;
}

/* OpenBLAS sgemm on the FFN-up shape of a 2048-row batch, best of 10,
 * measured in the same run: the ceiling the engine's float path can reach
 * here. */
static double
sgemm_gflops (int n, int k, int m)
{
  g_autofree float *a = g_new (float, (gsize) n * k);
  g_autofree float *b = g_new (float, (gsize) m * k);
  g_autofree float *c = g_new (float, (gsize) n * m);
  double best = 0;

  for (gsize i = 0; i < (gsize) n * k; i++)
    a[i] = (float) (i % 7) * 0.1f;
  for (gsize i = 0; i < (gsize) m * k; i++)
    b[i] = (float) (i % 5) * 0.1f;
  for (int r = 0; r < 10; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, n, m, k, 1.0f, a, k, b, k, 0.0f, c, m);
      double s = (g_get_monotonic_time () - t0) / 1e6;
      best = MAX (best, 2.0 * n * k * m / s / 1e9);
    }
  return best;
}

static int
bench (const char *model, guint n_passages, guint n_tokens, guint n_threads, gboolean json)
{
  char err[256] = "";
  LlmBert *bert = llm_bert_load (model, err, sizeof err);
  const LlmBertParams *hp;
  g_autofree LlmToken **ids = NULL;
  g_autofree size_t *lens = NULL;
  g_autofree float *out = NULL;
  llm_pool *pool;
  double t_pool = G_MAXDOUBLE, t_workers = G_MAXDOUBLE, flops, ref;
  gboolean ok = TRUE;
  GRand *rand;

  if (bert == NULL)
    {
      g_printerr ("docent embed: %s\n", err);
      return DOCENT_EXIT_PARTIAL;
    }
  hp = llm_bert_get_params (bert);
  n_tokens = CLAMP (n_tokens, 2, (guint) hp->n_ctx);
  ids = g_new0 (LlmToken *, n_passages);
  lens = g_new (size_t, n_passages);
  out = g_new (float, (gsize) n_passages * hp->n_embd);
  rand = g_rand_new_with_seed (1);
  for (guint i = 0; i < n_passages; i++)
    {
      const LlmVocab *v = llm_bert_get_vocab (bert);
      ids[i] = g_new (LlmToken, n_tokens);
      lens[i] = n_tokens;
      ids[i][0] = llm_vocab_get_special (v, LLM_SPECIAL_BOS);
      ids[i][n_tokens - 1] = llm_vocab_get_special (v, LLM_SPECIAL_EOS);
      for (guint t = 1; t + 1 < n_tokens; t++)
        do
          ids[i][t] = g_rand_int_range (rand, 0, hp->n_vocab);
        while (llm_vocab_get_token_type (v, ids[i][t]) != LLM_TOKEN_TYPE_NORMAL);
    }
  g_rand_free (rand);

  /* the reference before and after, best of both: these machines are shared */
  ref = sgemm_gflops (2048, hp->n_embd, hp->n_ff);
  pool = llm_pool_new ((int) n_threads);
  /* warm-up: page the weights in */
  bench_round (bert, pool, 1, (const LlmToken **) ids, lens, MIN (n_passages, 4u), out, &ok);
  for (int r = 0; r < 3 && ok; r++)
    {
      /* One run each per round: MIN () would evaluate the call twice. */
      double s_pool = bench_round (bert, pool, 1, (const LlmToken **) ids, lens, n_passages, out, &ok);
      double s_workers = bench_round (bert, NULL, n_threads, (const LlmToken **) ids, lens, n_passages, out, &ok);
      t_pool = MIN (t_pool, s_pool);
      t_workers = MIN (t_workers, s_workers);
    }
  llm_pool_free (pool);
  {
    double again = sgemm_gflops (2048, hp->n_embd, hp->n_ff);
    ref = MAX (ref, again);
  }

  /* per token: the six matrices, and attention over the passage */
  flops = 2.0 * hp->n_layer * (4.0 * hp->n_embd * hp->n_embd + 2.0 * hp->n_embd * hp->n_ff
                               + 2.0 * n_tokens * hp->n_embd);
  if (ok)
    {
      double tok = (double) n_passages * n_tokens;
      double best = MIN (t_pool, t_workers);
      double gflops = flops * tok / best / 1e9;
      if (json)
        {
          g_autoptr(JsonBuilder) b = json_builder_new ();
          g_autoptr(JsonNode) root = NULL;
          json_builder_begin_object (b);
#define NUM(k, v) (json_builder_set_member_name (b, k), json_builder_add_double_value (b, v))
#define INT(k, v) (json_builder_set_member_name (b, k), json_builder_add_int_value (b, v))
          json_builder_set_member_name (b, "model");
          json_builder_add_string_value (b, model);
          json_builder_set_member_name (b, "type");
          json_builder_add_string_value (b, llm_type_name (hp->weight_type));
          INT ("passages", n_passages);
          INT ("tokens_per_passage", n_tokens);
          INT ("threads", n_threads);
          NUM ("pool_tok_s", tok / t_pool);
          NUM ("pool_passages_s", n_passages / t_pool);
          NUM ("workers_tok_s", tok / t_workers);
          NUM ("workers_passages_s", n_passages / t_workers);
          NUM ("gflops", gflops);
          NUM ("sgemm_gflops", ref);
          NUM ("fraction_of_sgemm", gflops / ref);
#undef NUM
#undef INT
          json_builder_end_object (b);
          root = json_builder_get_root (b);
          docent_cli_print_json (root);
        }
      else
        {
          g_print ("%s (%s): %u passages of %u tokens, %u threads, best of 3\n", model,
                   llm_type_name (hp->weight_type), n_passages, n_tokens, n_threads);
          g_print ("  one call, thread pool:   %8.0f tokens/s  %7.1f passages/s\n", tok / t_pool, n_passages / t_pool);
          g_print ("  %u workers, one thread:   %8.0f tokens/s  %7.1f passages/s\n", n_threads,
                   tok / t_workers, n_passages / t_workers);
          g_print ("  %.1f GFLOP/s = %.0f%% of this machine's sgemm (%.1f GFLOP/s, %d×%d×%d)\n",
                   gflops, 100 * gflops / ref, ref, 2048, hp->n_embd, hp->n_ff);
        }
    }
  for (guint i = 0; i < n_passages; i++)
    g_free (ids[i]);
  llm_bert_free (bert);
  return ok ? DOCENT_EXIT_OK : DOCENT_EXIT_PARTIAL;
}

/* The import pipeline's step, on its own: every passage of the library
 * without a vector of this model, embedded on the worker pool. */
static int
update_library (DocentCliGlobal *global, DocentGgufEmbedder *embedder, guint n_workers, gboolean json)
{
  g_autofree char *path = docent_cli_dup_library_path (global);
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(GError) error = NULL;
  guint n = 0;
  gint64 t0;
  double s;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_printerr ("docent embed: %s: %s\n", path, _("no library here; import some files first"));
      return DOCENT_EXIT_PARTIAL;
    }
  store = docent_store_open (path, &error);
  if (store == NULL)
    {
      g_printerr ("docent embed: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }
  t0 = g_get_monotonic_time ();
  if (!docent_gguf_embedder_update_library (embedder, store, n_workers, NULL, &n, &error))
    {
      g_printerr ("docent embed: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }
  s = (g_get_monotonic_time () - t0) / 1e6;
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, docent_embedder_get_model_id (DOCENT_EMBEDDER (embedder)));
      json_builder_set_member_name (b, "dim");
      json_builder_add_int_value (b, docent_embedder_get_dim (DOCENT_EMBEDDER (embedder)));
      json_builder_set_member_name (b, "embedded");
      json_builder_add_int_value (b, n);
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, s);
      json_builder_set_member_name (b, "workers");
      json_builder_add_int_value (b, n_workers);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      docent_cli_print_json (root);
    }
  else
    g_print (_("%u passages embedded with %s in %.1f s (%.1f passages/s, %u workers)\n"), n,
             docent_embedder_get_model_id (DOCENT_EMBEDDER (embedder)), s, s > 0 ? n / s : 0.0, n_workers);
  return DOCENT_EXIT_OK;
}

int
docent_cli_embed (DocentCliGlobal *global, int argc, char **argv)
{
  g_autofree char *model = NULL;
  g_autofree char *make = NULL;
  g_autofree char *type = NULL;
  gboolean json = FALSE, query = FALSE, do_bench = FALSE, do_update = FALSE;
  int threads = 0, passages = 64, tokens = 128;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, N_("GGUF embedding model (bert: bge, e5, MiniLM…)"), N_("FILE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object"), NULL },
    { "query", 0, 0, G_OPTION_ARG_NONE, &query, N_("Embed the texts as search queries (the model's query prefix)"), NULL },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, N_("Threads (default: one per CPU)"), N_("N") },
    { "update-library", 0, 0, G_OPTION_ARG_NONE, &do_update,
      N_("Embed the library's passages that have no vector of this model (on --threads workers)"), NULL },
    { "bench", 0, 0, G_OPTION_ARG_NONE, &do_bench, N_("Measure embedding throughput on the model instead"), NULL },
    { "passages", 0, 0, G_OPTION_ARG_INT, &passages, N_("--bench: passages (default 64)"), N_("N") },
    { "tokens", 0, 0, G_OPTION_ARG_INT, &tokens, N_("--bench: tokens per passage (default 128)"), N_("N") },
    { "make-model", 0, 0, G_OPTION_ARG_FILENAME, &make, N_("Write a random bge-small-shaped model for --bench"), N_("OUT") },
    { "type", 0, 0, G_OPTION_ARG_STRING, &type, N_("--make-model: weight type (default Q8_0)"), N_("TYPE") },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentGgufEmbedder) embedder = NULL;
  g_autofree float *vecs = NULL;
  guint dim, n;

  if (!docent_cli_parse (global, "embed", _("TEXT… | --update-library | --bench"), entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  /* "--" ends the options (a text may start with "-"); GOption leaves it in. */
  if (argc > 1 && strcmp (argv[1], "--") == 0)
    {
      argv[1] = argv[0];
      argv++;
      argc--;
    }
  if (make != NULL)
    return make_model (make, type);
  if (model == NULL)
    {
      g_printerr ("docent embed: %s\n", _("--model FILE is required"));
      return DOCENT_EXIT_USAGE;
    }
  if (threads < 0 || passages <= 0 || tokens <= 0)
    {
      g_printerr ("docent embed: %s\n", _("--threads, --passages and --tokens must be positive"));
      return DOCENT_EXIT_USAGE;
    }
  if (do_bench)
    return bench (model, (guint) passages, (guint) tokens,
                  threads > 0 ? (guint) threads : g_get_num_processors (), json);
  if (argc < 2 && !do_update)
    {
      g_printerr ("docent embed: %s\n", _("give at least one TEXT"));
      return DOCENT_EXIT_USAGE;
    }

  embedder = docent_gguf_embedder_new (model, &error);
  if (embedder == NULL)
    {
      g_printerr ("docent embed: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }
  docent_gguf_embedder_set_n_threads (embedder, threads > 0 ? (guint) threads : g_get_num_processors ());
  if (do_update)
    return update_library (global, embedder, threads > 0 ? (guint) threads : g_get_num_processors (), json);

  n = (guint) argc - 1;
  dim = docent_embedder_get_dim (DOCENT_EMBEDDER (embedder));
  vecs = g_new (float, (gsize) n * dim);
  if (!docent_embedder_embed (DOCENT_EMBEDDER (embedder), query ? DOCENT_EMBED_QUERY : DOCENT_EMBED_PASSAGE,
                              (const char * const *) argv + 1, n, vecs, NULL, &error))
    {
      g_printerr ("docent embed: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, docent_embedder_get_model_id (DOCENT_EMBEDDER (embedder)));
      json_builder_set_member_name (b, "dim");
      json_builder_add_int_value (b, dim);
      json_builder_set_member_name (b, "vectors");
      json_builder_begin_array (b);
      for (guint i = 0; i < n; i++)
        {
          json_builder_begin_array (b);
          for (guint c = 0; c < dim; c++)
            json_builder_add_double_value (b, vecs[(gsize) i * dim + c]);
          json_builder_end_array (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      docent_cli_print_json (root);
    }
  else
    {
      g_autoptr(GString) out = g_string_new (NULL);

      /* one line of dim numbers per text */
      for (guint i = 0; i < n; i++)
        {
          for (guint c = 0; c < dim; c++)
            g_string_append_printf (out, c ? " %.6f" : "%.6f", vecs[(gsize) i * dim + c]);
          g_string_append_c (out, '\n');
        }
      fwrite (out->str, 1, out->len, stdout);
      fflush (stdout);
    }
  return DOCENT_EXIT_OK;
}
