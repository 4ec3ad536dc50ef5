/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-cli"
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "docent-cli.h"
#include "docent-eval.h"
#include "docent-retriever.h"
#include "docent-vector-index.h"

/* `docent bench query`: how long one dense query takes over a synthetic
 * library, and how that compares with this machine's memory read bandwidth
 * measured in the same run. Exact search reads the whole matrix per query,
 * so "fraction of bandwidth" is the figure that survives noisy machines. */

/* ---- a fast deterministic generator (xoshiro256+) ---------------------- */

typedef struct { guint64 s[4]; } Rng;

static inline guint64
rotl (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static void
rng_seed (Rng *r, guint64 seed)
{
  for (int i = 0; i < 4; i++)
    {
      /* splitmix64 to spread the seed */
      guint64 z = (seed += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));
      z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
      z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
      r->s[i] = z ^ (z >> 31);
    }
}

static inline guint64
rng_next (Rng *r)
{
  guint64 result = r->s[0] + r->s[3];
  guint64 t = r->s[1] << 17;

  r->s[2] ^= r->s[0];
  r->s[3] ^= r->s[1];
  r->s[1] ^= r->s[2];
  r->s[0] ^= r->s[3];
  r->s[2] ^= t;
  r->s[3] = rotl (r->s[3], 45);
  return result;
}

static inline float
rng_uniform (Rng *r)   /* (0, 1] */
{
  return ((rng_next (r) >> 40) + 1) * (1.0f / 16777216.0f);
}

/* A uniformly distributed direction: normal components, normalised. */
static void
random_unit (Rng *r, float *v, guint dim)
{
  double sum = 0.0;

  for (guint i = 0; i < dim; i += 2)
    {
      float rad = sqrtf (-2.0f * logf (rng_uniform (r)));
      float th = 6.2831853f * rng_uniform (r);
      v[i] = rad * cosf (th);
      if (i + 1 < dim)
        v[i + 1] = rad * sinf (th);
    }
  for (guint i = 0; i < dim; i++)
    sum += (double) v[i] * v[i];
  for (guint i = 0; i < dim; i++)
    v[i] = (float) (v[i] / sqrt (sum));
}

/* ---- memory read bandwidth --------------------------------------------- */

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}


static guint64 (*sum_words) (const guint64 *p, gsize n);

static guint64
sum_words_scalar (const guint64 *p, gsize n)
{
  guint64 a = 0, b = 0, c = 0, d = 0;

  for (gsize i = 0; i + 4 <= n; i += 4)
    {
      a += p[i];
      b += p[i + 1];
      c += p[i + 2];
      d += p[i + 3];
    }
  return a + b + c + d;
}

#if defined(__x86_64__)
__attribute__ ((target ("avx2")))
static guint64
sum_words_avx2 (const guint64 *p, gsize n)
{
  __m256i a = _mm256_setzero_si256 (), b = a, c = a, d = a;
  guint64 out[4];

  for (gsize i = 0; i + 16 <= n; i += 16)
    {
      a = _mm256_add_epi64 (a, _mm256_load_si256 ((const __m256i *) (p + i)));
      b = _mm256_add_epi64 (b, _mm256_load_si256 ((const __m256i *) (p + i + 4)));
      c = _mm256_add_epi64 (c, _mm256_load_si256 ((const __m256i *) (p + i + 8)));
      d = _mm256_add_epi64 (d, _mm256_load_si256 ((const __m256i *) (p + i + 12)));
    }
  a = _mm256_add_epi64 (_mm256_add_epi64 (a, b), _mm256_add_epi64 (c, d));
  _mm256_storeu_si256 ((__m256i *) out, a);
  return out[0] + out[1] + out[2] + out[3];
}
#endif

/* Best single-thread read bandwidth (bytes/s) over a buffer far larger than
 * the caches: the same kind of pass a query makes over the matrix. */
static double
measure_read_bandwidth (gsize bytes, guint passes, double *median_out)
{
  gsize n = bytes / sizeof (guint64);
  guint64 *buf = NULL;
  volatile guint64 sink = 0;
  g_autoptr(GArray) rates = g_array_new (FALSE, FALSE, sizeof (double));
  double best = 0.0;

  sum_words = sum_words_scalar;
#if defined(__x86_64__)
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx2"))
    sum_words = sum_words_avx2;
#endif

  if (posix_memalign ((void **) &buf, 64, n * sizeof (guint64)) != 0)
    return 0.0;
  for (gsize i = 0; i < n; i++)
    buf[i] = i;
  for (guint p = 0; p < passes; p++)
    {
      gint64 t0 = g_get_monotonic_time ();
      double rate;
      sink += sum_words (buf, n);
      rate = (double) (n * sizeof (guint64)) / ((g_get_monotonic_time () - t0) * 1e-6);
      g_array_append_val (rates, rate);
      best = MAX (best, rate);
    }
  free (buf);
  (void) sink;
  if (median_out != NULL)
    {
      g_array_sort (rates, compare_double);
      *median_out = g_array_index (rates, double, rates->len / 2);
    }
  return best;
}

static double
percentile (GArray *sorted, double p)
{
  double pos;
  guint lo;

  if (sorted->len == 0)
    return 0.0;
  pos = p * (sorted->len - 1);
  lo = (guint) floor (pos);
  if (lo + 1 >= sorted->len)
    return g_array_index (sorted, double, sorted->len - 1);
  return g_array_index (sorted, double, lo) * (1 - (pos - lo)) +
         g_array_index (sorted, double, lo + 1) * (pos - lo);
}

/* The 1-minute load average (-1 when unknown): other work on the machine
 * is what makes these figures move from run to run. */
static double
load_average (void)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return -1.0;
  return g_ascii_strtod (text, NULL);
}

/* ---- on a real library ------------------------------------------------- */

/* CPU time of this thread: on a loaded machine (other processes on the
 * cores) it moves far less than the wall clock. */
static double
thread_cpu_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *fallback_questions[] = {
  "How do I solve a linear system Ax = b?",
  "install packages into a private library",
  "What does the R_HOME environment variable point to?",
  "read a CSV file into a data frame",
  "How are missing values represented?",
  "양자화는 메모리를 얼마나 줄이나요?",
  "연속 배치란 무엇인가",
  "generic functions and method dispatch",
};

/* Latency of each search mode over the questions of @questions_path (or a
 * few built-in ones), each asked @rounds times after one warm-up pass. */
static int
bench_library (DocentCliGlobal *global,
               const char      *questions_path,
               int              rounds,
               int              k,
               gboolean         json)
{
  g_autofree char *path = docent_cli_dup_library_path (global);
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(DocentEmbedder) embedder = NULL;
  g_autoptr(DocentRetriever) retriever = NULL;
  g_autoptr(GPtrArray) questions = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  DocentSearchOptions options = { k, NULL };
  double bw_best;
  gint64 t0;
  double open_ms;

  if (questions_path != NULL)
    {
      g_autoptr(GPtrArray) items = docent_eval_load (questions_path, &error);
      if (items == NULL)
        {
          g_printerr ("docent bench query: %s\n", error->message);
          return DOCENT_EXIT_PARTIAL;
        }
      for (guint i = 0; i < items->len; i++)
        g_ptr_array_add (questions, g_strdup (((DocentEvalItem *) items->pdata[i])->question));
    }
  else
    for (guint i = 0; i < G_N_ELEMENTS (fallback_questions); i++)
      g_ptr_array_add (questions, g_strdup (fallback_questions[i]));

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_printerr (_("docent bench query: no library at %s\n"), path);
      return DOCENT_EXIT_PARTIAL;
    }
  t0 = g_get_monotonic_time ();
  store = docent_store_open (path, &error);
  if (store != NULL && !docent_cli_dup_library_embedder (store, "bench query", TRUE, &embedder))
    return DOCENT_EXIT_PARTIAL;
  if (store != NULL)
    retriever = docent_retriever_new (store, embedder, &error);
  if (retriever == NULL)
    {
      g_printerr ("docent bench query: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }
  open_ms = (g_get_monotonic_time () - t0) / 1000.0;
  bw_best = measure_read_bandwidth ((gsize) 256 << 20, 5, NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "bench");
  json_builder_add_string_value (b, "query-library");
  json_builder_set_member_name (b, "library");
  json_builder_add_string_value (b, path);
  json_builder_set_member_name (b, "vectors");
  json_builder_add_int_value (b, docent_retriever_get_n_vectors (retriever));
  json_builder_set_member_name (b, "embedder");
  json_builder_add_string_value (b, docent_embedder_get_model_id (docent_retriever_get_embedder (retriever)));
  json_builder_set_member_name (b, "questions");
  json_builder_add_int_value (b, questions->len);
  json_builder_set_member_name (b, "open_ms");
  json_builder_add_double_value (b, open_ms);
  json_builder_set_member_name (b, "read_bandwidth_gbs");
  json_builder_add_double_value (b, bw_best / 1e9);
  json_builder_set_member_name (b, "load_average");
  json_builder_add_double_value (b, load_average ());
  json_builder_set_member_name (b, "modes");
  json_builder_begin_object (b);

  if (!json)
    g_print ("query latency on %s: %u passages with vectors (%s), %u questions × %d, k = %d\n",
             path, docent_retriever_get_n_vectors (retriever),
             docent_embedder_get_model_id (docent_retriever_get_embedder (retriever)),
             questions->len, rounds, k);

  for (int m = DOCENT_SEARCH_MODE_HYBRID; m >= DOCENT_SEARCH_MODE_BM25; m--)
    {
      g_autoptr(GArray) lat = g_array_new (FALSE, FALSE, sizeof (double));
      g_autoptr(GArray) cpu = g_array_new (FALSE, FALSE, sizeof (double));
      double p50, p95, cpu50;

      for (int r = -1; r < rounds; r++)
        for (guint q = 0; q < questions->len; q++)
          {
            g_autoptr(GPtrArray) results = NULL;
            double ms, c0 = thread_cpu_ms (), cms;

            t0 = g_get_monotonic_time ();
            results = docent_retriever_search (retriever, questions->pdata[q], m, &options, &error);
            ms = (g_get_monotonic_time () - t0) / 1000.0;
            cms = thread_cpu_ms () - c0;
            if (results == NULL)
              {
                g_printerr ("docent bench query: %s\n", error->message);
                return DOCENT_EXIT_PARTIAL;
              }
            if (r >= 0)   /* the first pass only warms caches */
              {
                g_array_append_val (lat, ms);
                g_array_append_val (cpu, cms);
              }
          }
      g_array_sort (lat, compare_double);
      g_array_sort (cpu, compare_double);
      p50 = percentile (lat, 0.50);
      p95 = percentile (lat, 0.95);
      cpu50 = percentile (cpu, 0.50);
      json_builder_set_member_name (b, docent_search_mode_to_string (m));
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "p50_ms");
      json_builder_add_double_value (b, p50);
      json_builder_set_member_name (b, "p95_ms");
      json_builder_add_double_value (b, p95);
      json_builder_set_member_name (b, "cpu_p50_ms");
      json_builder_add_double_value (b, cpu50);
      json_builder_end_object (b);
      if (!json)
        g_print ("  %-7s p50 %6.2f ms   p95 %6.2f ms   CPU time p50 %6.2f ms\n",
                 docent_search_mode_to_string (m), p50, p95, cpu50);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  if (json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      docent_cli_print_json (root);
    }
  else
    g_print ("  memory read bandwidth (1 thread, best of 5): %.1f GB/s; load average %.2f on %u cores\n",
             bw_best / 1e9, load_average (), g_get_num_processors ());
  return DOCENT_EXIT_OK;
}

/* ---- the command ------------------------------------------------------- */

int
docent_cli_bench_query (DocentCliGlobal *global, int argc, char **argv)
{
  gint rows = 1000000, dim = 384, n_queries = 100, k = 10, batch = 1;
  g_autofree char *format_name = NULL;
  gboolean json = FALSE;
  gint64 seed = 1;
  gint rounds = 5;
  g_autofree char *questions = NULL;
  const GOptionEntry entries[] = {
    { "questions", 0, 0, G_OPTION_ARG_FILENAME, &questions,
      N_("With --library: the questions of this JSON-lines set (default: a few built-in ones)"), N_("SET.jsonl") },
    { "rounds", 0, 0, G_OPTION_ARG_INT, &rounds, N_("With --library: passes over the questions (default 5)"), N_("N") },
    { "rows", 0, 0, G_OPTION_ARG_INT, &rows, N_("Synthetic vectors (default 1000000)"), N_("N") },
    { "dim", 0, 0, G_OPTION_ARG_INT, &dim, N_("Dimension (default 384)"), N_("D") },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format_name, N_("int8 (default) or float32"), N_("FORMAT") },
    { "queries", 0, 0, G_OPTION_ARG_INT, &n_queries, N_("Timed queries (default 100)"), N_("N") },
    { "k", 0, 0, G_OPTION_ARG_INT, &k, N_("Hits per query (default 10)"), N_("K") },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, N_("Queries per call (sgemm path; default 1)"), N_("B") },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, N_("Random seed (default 1)"), N_("S") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object"), NULL },
    G_OPTION_ENTRY_NULL
  };
  DocentVectorFormat format = DOCENT_VECTOR_I8;
  g_autoptr(DocentVectorIndex) index = NULL;
  g_autoptr(GArray) lat = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree float *block = NULL;
  g_autofree gint64 *ids = NULL;
  g_autofree float *queries = NULL;
  g_autofree DocentVectorHit *hits = NULL;
  g_autofree guint *n_hits = NULL;
  const guint block_rows = 4096;
  double build_s, bw_best, p50, p95, mean = 0.0, matrix_gb, eff_bw;
  gint64 t0;
  Rng rng;

  if (!docent_cli_parse (global, "bench query", "", entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  if (argc > 1)
    {
      g_printerr (_("docent bench query: unexpected argument “%s”\n"), argv[1]);
      return DOCENT_EXIT_USAGE;
    }
  if (global->library_path != NULL)
    {
      if (rounds < 1 || k < 1)
        return DOCENT_EXIT_USAGE;
      return bench_library (global, questions, rounds, k, json);
    }
  if (format_name != NULL && g_str_equal (format_name, "float32"))
    format = DOCENT_VECTOR_F32;
  else if (format_name != NULL && !g_str_equal (format_name, "int8"))
    {
      g_printerr (_("docent bench query: --format must be int8 or float32\n"));
      return DOCENT_EXIT_USAGE;
    }
  if (rows < 1 || dim < 1 || n_queries < 1 || k < 1 || batch < 1 || dim > 4096)
    {
      g_printerr (_("docent bench query: --rows, --dim, --queries, --k and --batch must be positive\n"));
      return DOCENT_EXIT_USAGE;
    }

  /* The synthetic library. */
  t0 = g_get_monotonic_time ();
  rng_seed (&rng, (guint64) seed);
  index = docent_vector_index_new (dim, format);
  docent_vector_index_reserve (index, rows);
  block = g_new (float, (gsize) block_rows * dim);
  ids = g_new (gint64, block_rows);
  for (gint r0 = 0; r0 < rows; r0 += block_rows)
    {
      guint nb = MIN (block_rows, (guint) (rows - r0));
      for (guint i = 0; i < nb; i++)
        {
          ids[i] = r0 + i + 1;
          random_unit (&rng, block + (gsize) i * dim, dim);
        }
      docent_vector_index_add_many (index, ids, block, nb);
    }
  build_s = (g_get_monotonic_time () - t0) * 1e-6;
  matrix_gb = docent_vector_index_get_matrix_bytes (index) / 1e9;

  /* Bandwidth first, over a buffer the size of the matrix (at least 256 MiB,
   * so caches do not flatter it). */
  bw_best = measure_read_bandwidth (MAX ((gsize) 256 << 20, docent_vector_index_get_matrix_bytes (index)),
                                    5, NULL);

  queries = g_new (float, (gsize) batch * dim);
  hits = g_new (DocentVectorHit, (gsize) batch * k);
  n_hits = g_new (guint, batch);
  for (gint w = 0; w < 3; w++)    /* warm-up: page in the matrix */
    {
      random_unit (&rng, queries, dim);
      docent_vector_index_search (index, queries, k, NULL, 0, hits);
    }
  for (gint q = 0; q < n_queries; q++)
    {
      double ms;
      for (gint b = 0; b < batch; b++)
        random_unit (&rng, queries + (gsize) b * dim, dim);
      t0 = g_get_monotonic_time ();
      docent_vector_index_search_many (index, queries, batch, k, NULL, 0, hits, n_hits);
      ms = (g_get_monotonic_time () - t0) / 1000.0;
      g_array_append_val (lat, ms);
      mean += ms;
    }
  mean /= n_queries;
  g_array_sort (lat, compare_double);
  p50 = percentile (lat, 0.50);
  p95 = percentile (lat, 0.95);
  eff_bw = docent_vector_index_get_matrix_bytes (index) / (p50 / 1000.0);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "bench"); json_builder_add_string_value (b, "query-dense-synthetic");
      json_builder_set_member_name (b, "rows"); json_builder_add_int_value (b, rows);
      json_builder_set_member_name (b, "dim"); json_builder_add_int_value (b, dim);
      json_builder_set_member_name (b, "format");
      json_builder_add_string_value (b, format == DOCENT_VECTOR_I8 ? "int8" : "float32");
      json_builder_set_member_name (b, "k"); json_builder_add_int_value (b, k);
      json_builder_set_member_name (b, "batch"); json_builder_add_int_value (b, batch);
      json_builder_set_member_name (b, "queries"); json_builder_add_int_value (b, n_queries);
      json_builder_set_member_name (b, "matrix_bytes");
      json_builder_add_int_value (b, (gint64) docent_vector_index_get_matrix_bytes (index));
      json_builder_set_member_name (b, "build_s"); json_builder_add_double_value (b, build_s);
      json_builder_set_member_name (b, "p50_ms"); json_builder_add_double_value (b, p50);
      json_builder_set_member_name (b, "p95_ms"); json_builder_add_double_value (b, p95);
      json_builder_set_member_name (b, "mean_ms"); json_builder_add_double_value (b, mean);
      json_builder_set_member_name (b, "per_query_p50_ms"); json_builder_add_double_value (b, p50 / batch);
      json_builder_set_member_name (b, "read_bandwidth_gbs"); json_builder_add_double_value (b, bw_best / 1e9);
      json_builder_set_member_name (b, "query_bandwidth_gbs"); json_builder_add_double_value (b, eff_bw / 1e9);
      json_builder_set_member_name (b, "bandwidth_ratio"); json_builder_add_double_value (b, eff_bw / bw_best);
      json_builder_set_member_name (b, "load_average"); json_builder_add_double_value (b, load_average ());
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      docent_cli_print_json (root);
    }
  else
    {
      g_print ("dense query, synthetic: %d × %d %s (%.0f MB), k = %d, batch %d, %d queries\n",
               rows, dim, format == DOCENT_VECTOR_I8 ? "int8" : "float32", matrix_gb * 1000,
               k, batch, n_queries);
      g_print ("  built in %.1f s\n", build_s);
      g_print ("  latency per call  p50 %.2f ms   p95 %.2f ms   mean %.2f ms\n", p50, p95, mean);
      if (batch > 1)
        g_print ("  per query         p50 %.2f ms\n", p50 / batch);
      g_print ("  memory read bandwidth (1 thread, best of 5): %.1f GB/s\n", bw_best / 1e9);
      g_print ("  matrix read at p50: %.1f GB/s = %.0f%% of it\n", eff_bw / 1e9, 100.0 * eff_bw / bw_best);
      g_print ("  load average %.2f on %u cores\n", load_average (), g_get_num_processors ());
    }
  return DOCENT_EXIT_OK;
}

/* `docent bench WHAT`: one row per benchmark (engine benchmarks add theirs). */
static const DocentCliCommand benches[] = {
  { "query", docent_cli_bench_query, N_("Dense query latency vs memory bandwidth; hybrid latency on a library") },
  { "import", docent_cli_bench_import, N_("Import pages/s and peak RSS on the R manuals vs serial pdftotext") },
  { "kernels", docent_cli_bench_kernels, N_("Engine matrix-vector GB/s per weight type vs read bandwidth") },
  { "generate", docent_cli_bench_generate, N_("Decoder prefill and decode tokens/s; decode vs read bandwidth") },
  { "make-model", docent_cli_bench_make_model, N_("Write a random llama-shaped GGUF model for bench generate") },
};

int
docent_cli_bench (DocentCliGlobal *global, int argc, char **argv)
{
  int at = -1;

  /* The benchmark's name, wherever options put it ("--library X" may come
   * first when given before the command). */
  for (int i = 1; i < argc && at < 0; i++)
    {
      if (g_str_equal (argv[i], "--library"))
        i++;
      else if (argv[i][0] != '-')
        at = i;
    }
  if (at > 0)
    for (gsize b = 0; b < G_N_ELEMENTS (benches); b++)
      if (g_str_equal (argv[at], benches[b].name))
        {
          /* the benchmark sees its own name as argv[0], then the rest */
          g_autoptr(GPtrArray) args = g_ptr_array_new ();
          g_ptr_array_add (args, argv[at]);
          for (int i = 1; i < argc; i++)
            if (i != at)
              g_ptr_array_add (args, argv[i]);
          g_ptr_array_add (args, NULL);
          return benches[b].func (global, (int) args->len - 1, (char **) args->pdata);
        }

  g_printerr ("%s\n", _("Usage: docent bench WHAT [OPTIONS…]"));
  for (gsize b = 0; b < G_N_ELEMENTS (benches); b++)
    g_printerr ("  %-10s %s\n", benches[b].name, _(benches[b].summary));
  for (int i = 1; i < argc; i++)
    if (g_str_equal (argv[i], "--help") || g_str_equal (argv[i], "-h"))
      return DOCENT_EXIT_OK;
  return DOCENT_EXIT_USAGE;
}
