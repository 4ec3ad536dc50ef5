/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-cli"
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "docent-cli.h"
#include "docent-model-manager.h"
#include "llm-gguf.h"
#include "llm-matmul.h"
#include "llm-quant.h"
#include "llm-quantize.h"

/* Engine-level subcommands: info, quantize, bench kernels. */

static char *
format_size (guint64 bytes)
{
  return g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
}

/* ---- info -------------------------------------------------------------- */

static guint64
arch_uint (const llm_gguf *g, const char *arch, const char *suffix, guint64 fallback)
{
  g_autofree char *key = g_strdup_printf ("%s.%s", arch ? arch : "", suffix);
  uint64_t v;
  return llm_gguf_get_uint (g, key, &v) ? v : fallback;
}

int
docent_cli_info (DocentCliGlobal *global, int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object"), NULL },
    G_OPTION_ENTRY_NULL
  };
  llm_gguf_error err;
  llm_gguf *g;
  g_autofree char *arch = NULL, *name = NULL, *tokenizer = NULL;
  guint64 params = 0, weights = 0, ctx, ram, ftype = 0;
  guint counts[LLM_TYPE_COUNT] = { 0 };
  gboolean chat_template, has_ftype;

  if (!docent_cli_parse (global, "info", _("FILE.gguf"), entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  if (argc != 2)
    {
      g_printerr ("%s\n", _("Usage: docent info [--json] FILE.gguf"));
      return DOCENT_EXIT_USAGE;
    }
  g = llm_gguf_open (argv[1], &err);
  if (g == NULL)
    {
      g_printerr ("docent info: %s: %s\n", argv[1], err.message);
      return DOCENT_EXIT_PARTIAL;
    }
  arch = llm_gguf_dup_string (g, "general.architecture");
  name = llm_gguf_dup_string (g, "general.name");
  tokenizer = llm_gguf_dup_string (g, "tokenizer.ggml.model");
  chat_template = llm_gguf_find_kv (g, "tokenizer.chat_template") != NULL;
  has_ftype = llm_gguf_get_uint (g, "general.file_type", &ftype);
  for (size_t i = 0; i < llm_gguf_n_tensors (g); i++)
    {
      const llm_gguf_tensor *t = llm_gguf_get_tensor (g, i);
      params += (guint64) t->n_elements;
      weights += t->size;
      counts[t->type]++;
    }
  ctx = arch_uint (g, arch, "context_length", 0);
  ram = docent_model_estimate_ram (g, arch, weights);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "file");
      json_builder_add_string_value (b, argv[1]);
      json_builder_set_member_name (b, "architecture");
      if (arch)
        json_builder_add_string_value (b, arch);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "name");
      if (name)
        json_builder_add_string_value (b, name);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "gguf_version");
      json_builder_add_int_value (b, llm_gguf_version (g));
      json_builder_set_member_name (b, "parameters");
      json_builder_add_int_value (b, (gint64) params);
      json_builder_set_member_name (b, "tensors");
      json_builder_add_int_value (b, (gint64) llm_gguf_n_tensors (g));
      json_builder_set_member_name (b, "tensor_types");
      json_builder_begin_object (b);
      for (int t = 0; t < LLM_TYPE_COUNT; t++)
        if (counts[t] > 0)
          {
            json_builder_set_member_name (b, llm_type_name (t));
            json_builder_add_int_value (b, counts[t]);
          }
      json_builder_end_object (b);
      json_builder_set_member_name (b, "context_length");
      json_builder_add_int_value (b, (gint64) ctx);
      json_builder_set_member_name (b, "tokenizer");
      if (tokenizer)
        json_builder_add_string_value (b, tokenizer);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "chat_template");
      json_builder_add_boolean_value (b, chat_template);
      json_builder_set_member_name (b, "file_type");
      if (has_ftype && llm_ftype_name ((int) ftype))
        json_builder_add_string_value (b, llm_ftype_name ((int) ftype));
      else if (has_ftype)
        json_builder_add_int_value (b, (gint64) ftype);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "file_size");
      json_builder_add_int_value (b, (gint64) llm_gguf_file_size (g));
      json_builder_set_member_name (b, "ram_estimate");
      json_builder_add_int_value (b, (gint64) ram);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      docent_cli_print_json (root);
    }
  else
    {
      g_autofree char *fs = format_size (llm_gguf_file_size (g));
      g_autofree char *rs = format_size (ram);
      g_autoptr(GString) types = g_string_new (NULL);
      for (int t = 0; t < LLM_TYPE_COUNT; t++)
        if (counts[t] > 0)
          g_string_append_printf (types, "%s%s ×%u", types->len ? ", " : "", llm_type_name (t), counts[t]);
      g_print ("%-15s %s\n", _("File:"), argv[1]);
      g_print ("%-15s %s\n", _("Architecture:"), arch ? arch : "?");
      if (name)
        g_print ("%-15s %s\n", _("Name:"), name);
      g_print ("%-15s %'" G_GUINT64_FORMAT " (%.1f M)\n", _("Parameters:"), params, params / 1e6);
      g_print ("%-15s %s\n", _("Tensor types:"), types->str);
      if (has_ftype)
        g_print ("%-15s %s\n", _("File type:"), llm_ftype_name ((int) ftype) ? llm_ftype_name ((int) ftype) : "?");
      g_print ("%-15s %" G_GUINT64_FORMAT "\n", _("Context:"), ctx);
      g_print ("%-15s %s\n", _("Tokenizer:"), tokenizer ? tokenizer : _("none"));
      g_print ("%-15s %s\n", _("Chat template:"), chat_template ? _("yes") : _("no"));
      g_print ("%-15s %s (GGUF v%u)\n", _("File size:"), fs, llm_gguf_version (g));
      if (llm_gguf_n_tensors (g) == 0)
        g_print ("%-15s %s (%s)\n", _("RAM needed:"), rs, _("no weights: a vocabulary only"));
      else
        g_print ("%-15s %s\n", _("RAM needed:"), rs);
    }
  llm_gguf_close (g);
  return DOCENT_EXIT_OK;
}

/* ---- quantize ---------------------------------------------------------- */

static volatile int quantize_cancel;

static void
on_sigint (int sig)
{
  quantize_cancel = 1;
}

typedef struct {
  gboolean tty;
} QuantizeUi;

static void
on_quantize_progress (void *data, size_t i, size_t n, const char *name, llm_type from, llm_type to)
{
  QuantizeUi *ui = data;
  if (!ui->tty)
    return;
  fprintf (stderr, "\r\033[K[%3zu/%zu] %-32s %s → %s", i + 1, n, name, llm_type_name (from), llm_type_name (to));
  fflush (stderr);
}

int
docent_cli_quantize (DocentCliGlobal *global, int argc, char **argv)
{
  gboolean json = FALSE;
  gint threads = 0;
  const GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, N_("Worker threads (default: one per CPU)"), N_("N") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object"), NULL },
    G_OPTION_ENTRY_NULL
  };
  QuantizeUi ui = { FALSE };
  llm_quantize_params params = { 0 };
  llm_quantize_result res;
  char err[512];
  int ftype;
  gint64 t0;
  double secs;
  void (*old_handler) (int);
  gboolean ok;

  if (!docent_cli_parse (global, "quantize", _("IN.gguf OUT.gguf TYPE"), entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  if (argc != 4)
    {
      g_printerr ("%s\n", _("Usage: docent quantize [--threads N] [--json] IN.gguf OUT.gguf TYPE"));
      g_printerr ("%s\n", _("TYPE is one of Q8_0, Q6_K, Q5_K_M, Q4_K_M, Q4_0."));
      return DOCENT_EXIT_USAGE;
    }
  ftype = llm_ftype_from_name (argv[3]);
  if (ftype < 0)
    {
      g_printerr (_("docent quantize: unknown type “%s” (use Q8_0, Q6_K, Q5_K_M, Q4_K_M or Q4_0)\n"), argv[3]);
      return DOCENT_EXIT_USAGE;
    }
  if (g_str_equal (argv[1], argv[2]))
    {
      g_printerr ("%s\n", _("docent quantize: the output must be a different file"));
      return DOCENT_EXIT_USAGE;
    }

  ui.tty = !json && isatty (STDERR_FILENO);
  params.ftype = ftype;
  params.n_threads = threads;
  params.progress = on_quantize_progress;
  params.progress_data = &ui;
  params.cancel = &quantize_cancel;
  quantize_cancel = 0;
  old_handler = signal (SIGINT, on_sigint);
  t0 = g_get_monotonic_time ();
  ok = llm_quantize_file (argv[1], argv[2], &params, &res, err, sizeof err);
  secs = (g_get_monotonic_time () - t0) / 1e6;
  signal (SIGINT, old_handler);
  if (ui.tty)
    fputs ("\r\033[K", stderr);
  if (!ok)
    {
      g_printerr ("docent quantize: %s\n", err);
      return DOCENT_EXIT_PARTIAL;
    }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "input");
      json_builder_add_string_value (b, argv[1]);
      json_builder_set_member_name (b, "output");
      json_builder_add_string_value (b, argv[2]);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, llm_ftype_name (ftype));
      json_builder_set_member_name (b, "size_in");
      json_builder_add_int_value (b, (gint64) res.size_in);
      json_builder_set_member_name (b, "size_out");
      json_builder_add_int_value (b, (gint64) res.size_out);
      json_builder_set_member_name (b, "tensors");
      json_builder_add_int_value (b, (gint64) res.n_tensors);
      json_builder_set_member_name (b, "quantized");
      json_builder_add_int_value (b, (gint64) res.n_quantized);
      json_builder_set_member_name (b, "tensor_types");
      json_builder_begin_object (b);
      for (int t = 0; t < LLM_TYPE_COUNT; t++)
        if (res.type_counts[t] > 0)
          {
            json_builder_set_member_name (b, llm_type_name (t));
            json_builder_add_int_value (b, res.type_counts[t]);
          }
      json_builder_end_object (b);
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, secs);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      docent_cli_print_json (root);
    }
  else
    {
      g_autofree char *a = format_size (res.size_in), *b = format_size (res.size_out);
      g_autoptr(GString) types = g_string_new (NULL);
      for (int t = 0; t < LLM_TYPE_COUNT; t++)
        if (res.type_counts[t] > 0)
          g_string_append_printf (types, "%s%s ×%u", types->len ? ", " : "", llm_type_name (t), res.type_counts[t]);
      g_print (_("%s: %s → %s (%.1f%%), %s\n"), argv[2], a, b,
               100.0 * (double) res.size_out / (double) res.size_in, llm_ftype_name (ftype));
      g_print (_("%" G_GUINT64_FORMAT " tensors, %" G_GUINT64_FORMAT " quantized: %s; %.1f s\n"),
               res.n_tensors, res.n_quantized, types->str, secs);
    }
  return DOCENT_EXIT_OK;
}

/* ---- bench kernels ----------------------------------------------------- */

/* GB/s of quantized matrix-vector products over a weight set larger than the
 * last-level cache, next to the read bandwidth measured the same way. */

typedef struct {
  llm_type  type;
  const void *W;
  gint64    rows, cols;
  float    *x, *y;
  gint      n_matrices;
  gsize     matrix_bytes;
} BenchSet;

/* Bench buffers ask for transparent huge pages (the read-bandwidth buffer
 * too, so both sides see the same TLB behaviour). */
static void *
bench_alloc (gsize size)
{
  void *p = NULL;
  if (posix_memalign (&p, 2 << 20, size) != 0)
    return NULL;
#ifdef MADV_HUGEPAGE
  madvise (p, size, MADV_HUGEPAGE);
#endif
  return p;
}

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

static double
bench_read (llm_pool *pool, const void *buf, gsize size, gint repeat)
{
  double best = 1e30;
  volatile uint64_t sink = 0;
  for (gint r = 0; r < repeat + 1; r++)
    {
      double t0 = now_s ();
      sink += llm_read_memory (pool, buf, size);
      double dt = now_s () - t0;
      if (r > 0 && dt < best)   /* the first pass warms up */
        best = dt;
    }
  (void) sink;
  return size / best / 1e9;
}

static double
bench_matvec (llm_pool *pool, const BenchSet *s, gint repeat)
{
  double best = 1e30;
  for (gint r = 0; r < repeat + 1; r++)
    {
      double t0 = now_s ();
      for (gint m = 0; m < s->n_matrices; m++)
        llm_matvec (pool, s->type, (const uint8_t *) s->W + (gsize) m * s->matrix_bytes,
                    s->rows, s->cols, s->x, s->y);
      double dt = now_s () - t0;
      if (r > 0 && dt < best)
        best = dt;
    }
  return (double) s->matrix_bytes * s->n_matrices / best / 1e9;
}

typedef struct {
  llm_type  type;
  const float *src;
  uint8_t  *dst;
  gint64    rows, cols;
} FillJob;

static void
fill_worker (void *data, int ith, int nth)
{
  FillJob *j = data;
  size_t rs = llm_row_size (j->type, j->cols);
  for (gint64 r = ith; r < j->rows; r += nth)
    llm_quantize_row (j->type, j->src + r * j->cols, j->dst + r * rs, j->cols);
}

int
docent_cli_bench_kernels (DocentCliGlobal *global, int argc, char **argv)
{
  gboolean json = FALSE, no_matmul = FALSE;
  gint n_matrices = 48, rows = 4096, cols = 4096, repeat = 5;
  g_autofree char *types_arg = NULL, *threads_arg = NULL;
  const GOptionEntry entries[] = {
    { "matrices", 0, 0, G_OPTION_ARG_INT, &n_matrices, N_("Weight matrices per type (default 48)"), N_("N") },
    { "rows", 0, 0, G_OPTION_ARG_INT, &rows, N_("Rows per matrix (default 4096)"), N_("R") },
    { "cols", 0, 0, G_OPTION_ARG_INT, &cols, N_("Columns per matrix (default 4096)"), N_("C") },
    { "repeat", 0, 0, G_OPTION_ARG_INT, &repeat, N_("Timed passes, best kept (default 5)"), N_("K") },
    { "types", 0, 0, G_OPTION_ARG_STRING, &types_arg, N_("Comma-separated types (default: all)"), N_("LIST") },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &threads_arg, N_("Comma-separated thread counts (default 1,2)"), N_("LIST") },
    { "no-matmul", 0, 0, G_OPTION_ARG_NONE, &no_matmul, N_("Skip the batch (matrix-matrix) comparison"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object"), NULL },
    G_OPTION_ENTRY_NULL
  };
  static const llm_type all_types[] = {
    LLM_TYPE_Q4_0, LLM_TYPE_Q8_0, LLM_TYPE_Q4_K, LLM_TYPE_F16, LLM_TYPE_Q4_1, LLM_TYPE_Q5_0,
    LLM_TYPE_Q5_1, LLM_TYPE_Q5_K, LLM_TYPE_Q6_K, LLM_TYPE_BF16, LLM_TYPE_F32,
  };
  g_autoptr(GArray) types = g_array_new (FALSE, FALSE, sizeof (llm_type));
  g_autoptr(GArray) threads = g_array_new (FALSE, FALSE, sizeof (gint));
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree float *src = NULL;
  g_autofree float *x = NULL, *y = NULL;
  GRand *rand;
  gsize read_size;
  uint8_t *read_buf;
  double read_gbs[16] = { 0 };
  g_autofree double *type_gbs = NULL;
  g_autofree double *type_read = NULL;

  if (!docent_cli_parse (global, "bench kernels", "", entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  if (argc > 1 || n_matrices < 1 || rows < 1 || cols < 256 || cols % 256 != 0 || repeat < 1)
    {
      g_printerr ("%s\n", _("docent bench kernels: bad arguments (--cols must be a multiple of 256)"));
      return DOCENT_EXIT_USAGE;
    }
  if (types_arg != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (types_arg, ",", -1);
      for (int i = 0; parts[i]; i++)
        {
          int t = llm_type_from_name (g_strstrip (parts[i]));
          const llm_type_traits *tr = t >= 0 ? llm_type_get_traits (t) : NULL;
          if (tr == NULL || !tr->can_compute || t == LLM_TYPE_Q8_K || t == LLM_TYPE_Q8_1)
            {
              g_printerr (_("docent bench kernels: cannot bench type “%s”\n"), parts[i]);
              return DOCENT_EXIT_USAGE;
            }
          llm_type lt = t;
          g_array_append_val (types, lt);
        }
    }
  else
    g_array_append_vals (types, all_types, G_N_ELEMENTS (all_types));
  if (threads_arg != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (threads_arg, ",", -1);
      for (int i = 0; parts[i]; i++)
        {
          gint n = atoi (parts[i]);
          if (n < 1 || n > 15)
            {
              g_printerr (_("docent bench kernels: bad thread count “%s”\n"), parts[i]);
              return DOCENT_EXIT_USAGE;
            }
          g_array_append_val (threads, n);
        }
    }
  else
    {
      gint one = 1, two = 2;
      g_array_append_val (threads, one);
      g_array_append_val (threads, two);
    }
  if (threads->len > G_N_ELEMENTS (read_gbs))
    {
      g_printerr ("%s\n", _("docent bench kernels: too many thread counts"));
      return DOCENT_EXIT_USAGE;
    }

  type_gbs = g_new0 (double, types->len * 16);
  type_read = g_new0 (double, types->len * 16);

  /* One random matrix quantized per type, copied n_matrices times so the
   * set streams from RAM. */
  rand = g_rand_new_with_seed (1);
  src = g_new (float, (gsize) rows * cols);
  for (gsize i = 0; i < (gsize) rows * cols; i++)
    src[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  x = g_new (float, cols);
  y = g_new (float, rows);
  for (gint i = 0; i < cols; i++)
    x[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  g_rand_free (rand);

  /* Read bandwidth over a buffer as large as the Q4_0 set (at least 256 MiB). */
  read_size = MAX ((gsize) 256 << 20, llm_row_size (LLM_TYPE_Q4_0, cols) * rows * (gsize) n_matrices);
  read_buf = bench_alloc (read_size);
  if (read_buf == NULL)
    {
      g_printerr ("%s\n", _("docent bench kernels: out of memory"));
      return DOCENT_EXIT_PARTIAL;
    }
  memset (read_buf, 1, read_size);
  for (guint t = 0; t < threads->len; t++)
    {
      llm_pool *pool = llm_pool_new (g_array_index (threads, gint, t));
      read_gbs[t] = bench_read (pool, read_buf, read_size, repeat);
      llm_pool_free (pool);
    }

  for (guint i = 0; i < types->len; i++)
    {
      llm_type type = g_array_index (types, llm_type, i);
      gsize rs = llm_row_size (type, cols);
      gsize mbytes = rs * (gsize) rows;
      uint8_t *set = bench_alloc (mbytes * (gsize) n_matrices);
      BenchSet s;

      if (set == NULL)
        {
          g_printerr (_("docent bench kernels: not enough memory for %s\n"), llm_type_name (type));
          continue;
        }
      {
        llm_pool *pool = llm_pool_new (0);
        FillJob fj = { type, src, set, rows, cols };
        llm_pool_run (pool, fill_worker, &fj);
        llm_pool_free (pool);
      }
      for (gint m = 1; m < n_matrices; m++)
        memcpy (set + (gsize) m * mbytes, set, mbytes);
      s = (BenchSet) { type, set, rows, cols, x, y, n_matrices, mbytes };
      for (guint t = 0; t < threads->len; t++)
        {
          llm_pool *pool = llm_pool_new (g_array_index (threads, gint, t));
          /* The reference read bandwidth is taken right before and after
           * each product too, so a busy moment of a shared machine hits
           * both sides of the ratio. */
          double r0 = bench_read (pool, read_buf, read_size, 2), r1;
          type_gbs[i * 16 + t] = bench_matvec (pool, &s, repeat);
          r1 = bench_read (pool, read_buf, read_size, 2);
          type_read[i * 16 + t] = MAX (r0, r1);
          read_gbs[t] = MAX (read_gbs[t], type_read[i * 16 + t]);
          llm_pool_free (pool);
        }
      free (set);
    }

  /* Once more at the end: on a shared machine the best of both is the
   * fairer reference. */
  for (guint t = 0; t < threads->len; t++)
    {
      llm_pool *pool = llm_pool_new (g_array_index (threads, gint, t));
      double again = bench_read (pool, read_buf, read_size, repeat);
      read_gbs[t] = MAX (read_gbs[t], again);
      llm_pool_free (pool);
    }
  free (read_buf);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "simd");
  json_builder_add_string_value (b, llm_simd_level ());
  json_builder_set_member_name (b, "matrices");
  json_builder_add_int_value (b, n_matrices);
  json_builder_set_member_name (b, "rows");
  json_builder_add_int_value (b, rows);
  json_builder_set_member_name (b, "cols");
  json_builder_add_int_value (b, cols);
  json_builder_set_member_name (b, "read_gbs");
  json_builder_begin_object (b);
  for (guint t = 0; t < threads->len; t++)
    {
      g_autofree char *k = g_strdup_printf ("t%d", g_array_index (threads, gint, t));
      json_builder_set_member_name (b, k);
      json_builder_add_double_value (b, round (read_gbs[t] * 100) / 100);
    }
  json_builder_end_object (b);

  if (!json)
    {
      g_print (_("Matrix-vector products over %d matrices of %d × %d per type (%s), best of %d passes\n"),
               n_matrices, rows, cols, llm_simd_level (), repeat);
      g_print ("%-6s", _("type"));
      for (guint t = 0; t < threads->len; t++)
        {
          char head[32];
          gint n = g_array_index (threads, gint, t);
          g_snprintf (head, sizeof head, n == 1 ? _("1 thread") : _("%d threads"), n);
          g_print ("  %-16s", head);
        }
      g_print ("\n%-6s", _("read"));
      for (guint t = 0; t < threads->len; t++)
        g_print ("  %6.1f GB/s     ", read_gbs[t]);
      g_print ("\n");
    }

  json_builder_set_member_name (b, "types");
  json_builder_begin_object (b);
  for (guint i = 0; i < types->len; i++)
    {
      llm_type type = g_array_index (types, llm_type, i);
      json_builder_set_member_name (b, llm_type_name (type));
      json_builder_begin_object (b);
      if (!json)
        g_print ("%-6s", llm_type_name (type));
      for (guint t = 0; t < threads->len; t++)
        {
          gint n = g_array_index (threads, gint, t);
          double gbs = type_gbs[i * 16 + t];
          g_autofree char *k = g_strdup_printf ("t%d_gbs", n);
          g_autofree char *kp = g_strdup_printf ("t%d_pct_of_read", n);
          g_autofree char *kr = g_strdup_printf ("t%d_read_gbs", n);
          json_builder_set_member_name (b, k);
          json_builder_add_double_value (b, round (gbs * 100) / 100);
          json_builder_set_member_name (b, kp);
          json_builder_add_double_value (b, round (1000 * gbs / type_read[i * 16 + t]) / 10);
          json_builder_set_member_name (b, kr);
          json_builder_add_double_value (b, round (type_read[i * 16 + t] * 100) / 100);
          if (!json)
            g_print ("  %6.1f GB/s %3.0f%%", gbs, 100 * gbs / type_read[i * 16 + t]);
        }
      json_builder_end_object (b);
      if (!json)
        g_print ("\n");
    }
  json_builder_end_object (b);

  /* Batches: quantized dot products against dequantized tiles + sgemm, on
   * one matrix, all threads of the last count. */
  if (!no_matmul)
    {
      static const llm_type mm_types[] = { LLM_TYPE_Q4_0, LLM_TYPE_Q8_0, LLM_TYPE_Q4_K, LLM_TYPE_F16 };
      static const gint batches[] = { 1, 4, 16, 32, 64, 256 };
      gint n_thr = g_array_index (threads, gint, threads->len - 1);
      llm_pool *pool = llm_pool_new (n_thr);
      gint max_b = batches[G_N_ELEMENTS (batches) - 1];
      g_autofree float *X = g_new (float, (gsize) max_b * cols);
      g_autofree float *Y = g_new (float, (gsize) max_b * rows);

      for (gsize i = 0; i < (gsize) max_b * cols; i++)
        X[i] = src[i % ((gsize) rows * cols)];
      if (!json)
        g_print (_("\nBatches on one %d × %d matrix, %d threads: GFLOP/s quantized dot | dequantize + sgemm\n"),
                 rows, cols, n_thr);
      json_builder_set_member_name (b, "matmul_gflops");
      json_builder_begin_object (b);
      for (gsize i = 0; i < G_N_ELEMENTS (mm_types); i++)
        {
          llm_type type = mm_types[i];
          gsize rs = llm_row_size (type, cols);
          uint8_t *W = g_malloc (rs * rows);
          FillJob fj = { type, src, W, rows, cols };
          llm_pool_run (pool, fill_worker, &fj);
          json_builder_set_member_name (b, llm_type_name (type));
          json_builder_begin_object (b);
          if (!json)
            g_print ("%-6s", llm_type_name (type));
          for (gsize k = 0; k < G_N_ELEMENTS (batches); k++)
            {
              gint nb = batches[k];
              double best[2] = { 1e30, 1e30 };
              for (int method = 0; method < 2; method++)
                for (gint r = 0; r < 3; r++)
                  {
                    double t0 = now_s ();
                    llm_matmul (pool, type, W, rows, cols, X, nb, Y,
                                method == 0 ? LLM_MATMUL_DOT : LLM_MATMUL_SGEMM);
                    double dt = now_s () - t0;
                    if (dt < best[method])
                      best[method] = dt;
                  }
              double flop = 2.0 * nb * rows * cols;
              g_autofree char *kd = g_strdup_printf ("b%d_dot", nb);
              g_autofree char *ks = g_strdup_printf ("b%d_sgemm", nb);
              json_builder_set_member_name (b, kd);
              json_builder_add_double_value (b, round (flop / best[0] / 1e7) / 100);
              json_builder_set_member_name (b, ks);
              json_builder_add_double_value (b, round (flop / best[1] / 1e7) / 100);
              if (!json)
                g_print ("  b%-3d %6.1f | %6.1f", nb, flop / best[0] / 1e9, flop / best[1] / 1e9);
            }
          json_builder_end_object (b);
          if (!json)
            g_print ("\n");
          g_free (W);
        }
      json_builder_end_object (b);
      llm_pool_free (pool);
    }
  json_builder_end_object (b);

  if (json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      docent_cli_print_json (root);
    }
  return DOCENT_EXIT_OK;
}
