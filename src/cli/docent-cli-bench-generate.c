/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-cli"
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "docent-cli.h"
#include "llm-decoder.h"
#include "llm-gguf.h"
#include "llm-matmul.h"
#include "llm-quant.h"
#include "llm-quantize.h"

/* `docent bench make-model` writes a random llama-shaped GGUF model with our
 * own writer (and quantizer); `docent bench generate` measures prefill and
 * decode tokens/s on any decoder model, and decode's weight traffic as a
 * fraction of the machine's read bandwidth (decode reads every weight once
 * per token, so bandwidth is its limit). */

/* ---- make-model --------------------------------------------------------- */

static guint64 rng;

static inline float
rand_unit (void)   /* U(-1, 1), xorshift64* */
{
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (float) ((double) ((rng * 0x2545F4914F6CDD1DULL) >> 11) / (double) (1ULL << 52) - 1.0);
}

typedef struct {
  char    name[64];
  int64_t ne[2];
  int     n_dims;
  float   scale;   /* 0: an F32 norm of ones ± 0.1 */
} TensorSpec;

static int
write_f16_model (const char *out, int n_vocab, int n_embd, int n_layer, int n_head, int n_kv,
                 int n_ff, GError **error)
{
  llm_gguf_writer *w = llm_gguf_writer_new ();
  llm_gguf_error gerr = { 0 };
  g_autoptr(GArray) specs = g_array_new (FALSE, TRUE, sizeof (TensorSpec));
  char **tokens = g_new0 (char *, n_vocab + 1);
  float *scores = g_new (float, n_vocab);
  gint32 *types = g_new (gint32, n_vocab);
  int hd = n_embd / n_head;
  gboolean ok = TRUE;
  TensorSpec t;

  /* Llama-2-style SentencePiece vocabulary: <unk> <s> </s>, 256 byte
   * tokens, then made-up pieces. */
  for (int i = 0; i < n_vocab; i++)
    {
      tokens[i] = i == 0 ? g_strdup ("<unk>") : i == 1 ? g_strdup ("<s>") : i == 2 ? g_strdup ("</s>")
                : i < 259 ? g_strdup_printf ("<0x%02X>", i - 3)
                : g_strdup_printf ("\xe2\x96\x81w%d", i);
      types[i] = i == 0 ? LLM_TOKEN_TYPE_UNKNOWN : i < 3 ? LLM_TOKEN_TYPE_CONTROL
               : i < 259 ? LLM_TOKEN_TYPE_BYTE : LLM_TOKEN_TYPE_NORMAL;
      scores[i] = i < 259 ? 0.0f : -(float) i;
    }
  llm_gguf_writer_set_string (w, "general.architecture", "llama");
  llm_gguf_writer_set_string (w, "general.name", "docent-bench-llama");
  llm_gguf_writer_set_u32 (w, "general.file_type", 1);   /* mostly F16 */
  llm_gguf_writer_set_u32 (w, "llama.context_length", 4096);
  llm_gguf_writer_set_u32 (w, "llama.embedding_length", n_embd);
  llm_gguf_writer_set_u32 (w, "llama.block_count", n_layer);
  llm_gguf_writer_set_u32 (w, "llama.feed_forward_length", n_ff);
  llm_gguf_writer_set_u32 (w, "llama.attention.head_count", n_head);
  llm_gguf_writer_set_u32 (w, "llama.attention.head_count_kv", n_kv);
  llm_gguf_writer_set_u32 (w, "llama.rope.dimension_count", hd);
  llm_gguf_writer_set_f32 (w, "llama.rope.freq_base", 10000.0f);
  llm_gguf_writer_set_f32 (w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
  llm_gguf_writer_set_string (w, "tokenizer.ggml.model", "llama");
  llm_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens", (const char *const *) tokens, n_vocab);
  llm_gguf_writer_set_array (w, "tokenizer.ggml.scores", LLM_GGUF_TYPE_FLOAT32, scores, n_vocab);
  llm_gguf_writer_set_array (w, "tokenizer.ggml.token_type", LLM_GGUF_TYPE_INT32, types, n_vocab);
  llm_gguf_writer_set_u32 (w, "tokenizer.ggml.unknown_token_id", 0);
  llm_gguf_writer_set_u32 (w, "tokenizer.ggml.bos_token_id", 1);
  llm_gguf_writer_set_u32 (w, "tokenizer.ggml.eos_token_id", 2);
  g_strfreev (tokens);
  g_free (scores);
  g_free (types);

#define ADD(nm, rows, cols, sc) do { memset (&t, 0, sizeof t); \
    g_strlcpy (t.name, nm, sizeof t.name); t.ne[0] = (cols); t.ne[1] = (rows); \
    t.n_dims = (rows) > 0 ? 2 : 1; if ((rows) == 0) t.ne[1] = 1; t.scale = (sc); \
    g_array_append_val (specs, t); } while (0)
  ADD ("token_embd.weight", n_vocab, n_embd, 1.0f);
  for (int l = 0; l < n_layer; l++)
    {
      char nm[64];
      float se = 1.0f / sqrtf ((float) n_embd), sf = 1.0f / sqrtf ((float) n_ff);
#define N(s) (g_snprintf (nm, sizeof nm, "blk.%d." s, l), nm)
      ADD (N ("attn_norm.weight"), 0, n_embd, 0);
      ADD (N ("attn_q.weight"), n_embd, n_embd, se);
      ADD (N ("attn_k.weight"), n_kv * hd, n_embd, se);
      ADD (N ("attn_v.weight"), n_kv * hd, n_embd, se);
      ADD (N ("attn_output.weight"), n_embd, n_embd, se);
      ADD (N ("ffn_norm.weight"), 0, n_embd, 0);
      ADD (N ("ffn_gate.weight"), n_ff, n_embd, se);
      ADD (N ("ffn_up.weight"), n_ff, n_embd, se);
      ADD (N ("ffn_down.weight"), n_embd, n_ff, sf);
#undef N
    }
  ADD ("output_norm.weight", 0, n_embd, 0);
  ADD ("output.weight", n_vocab, n_embd, 1.0f / sqrtf ((float) n_embd));
#undef ADD

  for (guint i = 0; i < specs->len; i++)
    {
      TensorSpec *s = &g_array_index (specs, TensorSpec, i);
      ok = ok && llm_gguf_writer_add_tensor (w, s->name, s->scale == 0 ? LLM_TYPE_F32 : LLM_TYPE_F16,
                                             s->n_dims, s->ne, NULL);
    }
  ok = ok && llm_gguf_writer_begin (w, out, &gerr);
  rng = 0x9E3779B97F4A7C15ULL;
  for (guint i = 0; ok && i < specs->len; i++)
    {
      TensorSpec *s = &g_array_index (specs, TensorSpec, i);
      gsize n = (gsize) s->ne[0] * s->ne[1];
      if (s->scale == 0)
        {
          g_autofree float *v = g_new (float, n);
          for (gsize j = 0; j < n; j++)
            v[j] = 1.0f + 0.1f * rand_unit ();
          ok = llm_gguf_writer_write_data (w, v, n * sizeof (float), &gerr);
        }
      else
        {
          g_autofree guint16 *v = g_new (guint16, n);
          for (gsize j = 0; j < n; j++)
            v[j] = llm_fp32_to_fp16 (s->scale * rand_unit ());
          ok = llm_gguf_writer_write_data (w, v, n * sizeof (guint16), &gerr);
        }
    }
  ok = ok && llm_gguf_writer_finish (w, &gerr);
  llm_gguf_writer_free (w);
  if (!ok)
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", out,
                 gerr.message[0] ? gerr.message : _("cannot write the model"));
  return ok;
}

int
docent_cli_bench_make_model (DocentCliGlobal *global, int argc, char **argv)
{
  g_autofree char *type = NULL;
  int n_vocab = 32000, n_embd = 1024, n_layer = 12, n_head = 16, n_kv = 8, n_ff = 2816;
  const GOptionEntry entries[] = {
    { "type", 0, 0, G_OPTION_ARG_STRING, &type, N_("F16 (default), Q8_0, Q6_K, Q5_K_M, Q4_K_M or Q4_0"), N_("TYPE") },
    { "vocab", 0, 0, G_OPTION_ARG_INT, &n_vocab, N_("Vocabulary size (default 32000)"), N_("N") },
    { "embd", 0, 0, G_OPTION_ARG_INT, &n_embd, N_("Embedding size (default 1024)"), N_("N") },
    { "layers", 0, 0, G_OPTION_ARG_INT, &n_layer, N_("Blocks (default 12)"), N_("N") },
    { "heads", 0, 0, G_OPTION_ARG_INT, &n_head, N_("Attention heads (default 16)"), N_("N") },
    { "kv-heads", 0, 0, G_OPTION_ARG_INT, &n_kv, N_("Key/value heads (default 8)"), N_("N") },
    { "ff", 0, 0, G_OPTION_ARG_INT, &n_ff, N_("Feed-forward size (default 2816)"), N_("N") },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = NULL;
  int ftype = -1;
  GStatBuf st;

  if (!docent_cli_parse (global, "bench make-model", _("OUT.gguf"), entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  if (type != NULL && g_ascii_strcasecmp (type, "F16") != 0)
    ftype = llm_ftype_from_name (type);
  if (argc != 2 || (type != NULL && g_ascii_strcasecmp (type, "F16") != 0 && ftype < 0) ||
      n_vocab < 259 || n_embd <= 0 || n_layer <= 0 || n_head <= 0 || n_kv <= 0 ||
      n_embd % n_head != 0 || n_head % n_kv != 0 || n_embd % 256 != 0 || n_ff % 256 != 0)
    {
      g_printerr (_("Usage: docent bench make-model [--type F16|Q8_0|Q6_K|Q5_K_M|Q4_K_M|Q4_0] "
                    "[--vocab N] [--embd N] [--layers N] [--heads N] [--kv-heads N] [--ff N] OUT.gguf\n"
                    "(embedding and feed-forward sizes are multiples of 256)\n"));
      return DOCENT_EXIT_USAGE;
    }
  tmp = ftype < 0 ? g_strdup (argv[1]) : g_strconcat (argv[1], ".f16.tmp", NULL);
  if (!write_f16_model (tmp, n_vocab, n_embd, n_layer, n_head, n_kv, n_ff, &error))
    {
      g_printerr ("docent bench make-model: %s\n", error->message);
      g_unlink (tmp);
      return DOCENT_EXIT_PARTIAL;
    }
  if (ftype >= 0)
    {
      llm_quantize_params qp = { 0 };
      llm_quantize_result res;
      char err[256] = "";
      gboolean ok;

      qp.ftype = ftype;
      ok = llm_quantize_file (tmp, argv[1], &qp, &res, err, sizeof err);
      g_unlink (tmp);
      if (!ok)
        {
          g_printerr ("docent bench make-model: %s\n", err);
          return DOCENT_EXIT_PARTIAL;
        }
    }
  if (g_stat (argv[1], &st) == 0)
    g_print ("%s: llama, %d × %d, %d/%d heads, ff %d, vocab %d, %s, %.1f MiB\n", argv[1], n_layer,
             n_embd, n_head, n_kv, n_ff, n_vocab, ftype < 0 ? "F16" : llm_ftype_name (ftype),
             st.st_size / 1048576.0);
  return DOCENT_EXIT_OK;
}

/* ---- generate ------------------------------------------------------------ */

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

int
docent_cli_bench_generate (DocentCliGlobal *global, int argc, char **argv)
{
  g_autofree char *model = NULL;
  int n_prompt = 64, n_gen = 32, threads = 2, repeat = 3;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, N_("GGUF decoder model"), N_("FILE") },
    { "prompt", 0, 0, G_OPTION_ARG_INT, &n_prompt, N_("Prompt tokens (default 64)"), N_("N") },
    { "gen", 0, 0, G_OPTION_ARG_INT, &n_gen, N_("Generated tokens (default 32)"), N_("N") },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, N_("Threads (default 2)"), N_("N") },
    { "repeat", 0, 0, G_OPTION_ARG_INT, &repeat, N_("Timed runs, best kept (default 3)"), N_("K") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object"), NULL },
    G_OPTION_ENTRY_NULL
  };
  char err[512] = "";
  llm_decoder *d;
  const llm_gguf *g;
  g_autofree float *logits = NULL;
  g_autofree LlmToken *prompt = NULL;
  guint64 weight_bytes = 0, token_bytes = 0, n_params = 0;
  double best_prefill = 0, best_decode = 0, read_gbs = 0;
  llm_type main_type = LLM_TYPE_F32;
  guint64 main_bytes = 0, type_bytes[LLM_TYPE_COUNT] = { 0 };
  const char *type_label;
  gboolean tied;
  llm_pool *pool;
  int n_vocab;

  if (!docent_cli_parse (global, "bench generate", "", entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  if (model == NULL || argc > 1 || n_prompt < 1 || n_gen < 1 || threads < 0 || repeat < 1)
    {
      g_printerr (_("Usage: docent bench generate --model FILE [--prompt 64] [--gen 32] "
                    "[--threads 2] [--repeat 3] [--json]\n"));
      return DOCENT_EXIT_USAGE;
    }
  d = llm_decoder_load (model, n_prompt + n_gen + 1, threads, err, sizeof err);
  if (d == NULL)
    {
      g_printerr ("docent bench generate: %s: %s\n", model, err);
      return DOCENT_EXIT_PARTIAL;
    }
  n_vocab = llm_decoder_n_vocab (d);
  g = llm_decoder_gguf (d);

  /* Bytes decode reads per token: every matrix once (the token embedding
   * only as the output matrix when tied; otherwise one row of it). */
  tied = llm_gguf_find_tensor (g, "output.weight") == NULL;
  for (size_t i = 0; i < llm_gguf_n_tensors (g); i++)
    {
      const llm_gguf_tensor *t = llm_gguf_get_tensor (g, i);
      gboolean embd = g_str_equal (t->name, "token_embd.weight");
      weight_bytes += t->size;
      n_params += (guint64) t->n_elements;
      if (!embd || tied)
        token_bytes += t->size;
      if (t->n_dims == 2 && !embd && !g_str_equal (t->name, "output.weight") && t->type < LLM_TYPE_COUNT)
        type_bytes[t->type] += t->size;
    }
  /* The file's name for its mix (Q4_K_M…), else the type of most bytes. */
  for (int i = 0; i < LLM_TYPE_COUNT; i++)
    if (type_bytes[i] > main_bytes)
      main_type = (llm_type) i, main_bytes = type_bytes[i];
  {
    uint64_t ft;
    type_label = llm_type_name (main_type);
    if (llm_gguf_get_uint (g, "general.file_type", &ft) && llm_ftype_name ((int) ft) != NULL)
      type_label = llm_ftype_name ((int) ft);
  }

  logits = g_new (float, n_vocab);
  prompt = g_new (LlmToken, n_prompt);
  prompt[0] = MAX (llm_vocab_get_special (llm_decoder_vocab (d), LLM_SPECIAL_BOS), 0);
  for (int i = 1; i < n_prompt; i++)
    prompt[i] = (LlmToken) g_random_int_range (0, n_vocab);

  /* One untimed warm-up run (page the mapping in), then the best of @repeat. */
  for (int r = 0; r <= repeat; r++)
    {
      double t0, t1, t2;
      LlmToken id;

      llm_decoder_reset (d);
      t0 = now_s ();
      if (!llm_decoder_eval (d, prompt, n_prompt, false, logits))
        goto failed;
      t1 = now_s ();
      id = llm_argmax (logits, n_vocab);
      for (int i = 0; i < n_gen; i++)
        {
          if (!llm_decoder_eval (d, &id, 1, false, logits))
            goto failed;
          id = llm_argmax (logits, n_vocab);
        }
      t2 = now_s ();
      if (r > 0)
        {
          best_prefill = MAX (best_prefill, n_prompt / (t1 - t0));
          best_decode = MAX (best_decode, n_gen / (t2 - t1));
        }
    }
  llm_decoder_free (d);

  /* The machine's read bandwidth on the same number of threads, over a
   * buffer at least as large as the weights. */
  {
    gsize size = MAX ((gsize) 256 << 20, (gsize) token_bytes);
    guint8 *buf = NULL;
    volatile guint64 sink = 0;

    /* on transparent huge pages, as the decoder's copy of the weights */
    if (posix_memalign ((void **) &buf, 2 << 20, size) != 0)
      goto failed_alloc;
#ifdef MADV_HUGEPAGE
    madvise (buf, size, MADV_HUGEPAGE);
#endif

    memset (buf, 1, size);
    pool = llm_pool_new (threads);
    for (int r = 0; r < 4; r++)
      {
        double t0 = now_s ();
        sink += llm_read_memory (pool, buf, size);
        double dt = now_s () - t0;
        if (r > 0)
          read_gbs = MAX (read_gbs, size / dt / 1e9);
      }
    (void) sink;
    llm_pool_free (pool);
    free (buf);
  }

  {
    double decode_gbs = best_decode * token_bytes / 1e9;
    double fraction = read_gbs > 0 ? decode_gbs / read_gbs : 0;

    if (json)
      {
        g_autoptr(JsonBuilder) b = json_builder_new ();
        g_autoptr(JsonNode) root = NULL;
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "model"); json_builder_add_string_value (b, model);
        json_builder_set_member_name (b, "type"); json_builder_add_string_value (b, type_label);
        json_builder_set_member_name (b, "simd"); json_builder_add_string_value (b, llm_simd_level ());
        json_builder_set_member_name (b, "n_params"); json_builder_add_int_value (b, (gint64) n_params);
        json_builder_set_member_name (b, "weight_bytes"); json_builder_add_int_value (b, (gint64) weight_bytes);
        json_builder_set_member_name (b, "bytes_per_token"); json_builder_add_int_value (b, (gint64) token_bytes);
        json_builder_set_member_name (b, "threads"); json_builder_add_int_value (b, threads);
        json_builder_set_member_name (b, "prompt"); json_builder_add_int_value (b, n_prompt);
        json_builder_set_member_name (b, "gen"); json_builder_add_int_value (b, n_gen);
        json_builder_set_member_name (b, "prefill_tok_s"); json_builder_add_double_value (b, best_prefill);
        json_builder_set_member_name (b, "decode_tok_s"); json_builder_add_double_value (b, best_decode);
        json_builder_set_member_name (b, "decode_gbs"); json_builder_add_double_value (b, decode_gbs);
        json_builder_set_member_name (b, "read_gbs"); json_builder_add_double_value (b, read_gbs);
        json_builder_set_member_name (b, "bandwidth_fraction"); json_builder_add_double_value (b, fraction);
        json_builder_end_object (b);
        root = json_builder_get_root (b);
        docent_cli_print_json (root);
      }
    else
      {
        g_print (_("%s: %s, %.1f M parameters, %.1f MiB read per decoded token (%s, %d threads)\n"),
                 model, type_label, n_params / 1e6, token_bytes / 1048576.0,
                 llm_simd_level (), threads);
        g_print (_("  prefill %d tokens: %.1f tokens/s\n"), n_prompt, best_prefill);
        g_print (_("  decode %d tokens: %.2f tokens/s = %.2f GB/s of weights, %.0f%% of the read bandwidth (%.2f GB/s)\n"),
                 n_gen, best_decode, decode_gbs, 100 * fraction, read_gbs);
      }
  }
  return DOCENT_EXIT_OK;

failed:
  g_printerr ("docent bench generate: %s\n", _("evaluation failed"));
  llm_decoder_free (d);
  return DOCENT_EXIT_PARTIAL;

failed_alloc:
  g_printerr ("docent bench generate: %s\n", _("out of memory"));
  return DOCENT_EXIT_PARTIAL;
}
