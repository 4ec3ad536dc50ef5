/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The decoder (llm-decoder) against a plain reference forward pass written
 * here: double precision, no SIMD, no threads, no KV cache. The models are
 * small GGUF files this test writes with our GGUF writer (random weights, a
 * SentencePiece vocabulary of a few hundred tokens): llama with normal RoPE
 * pairs, GQA and linear RoPE scaling, qwen2 with QKV biases and NeoX pairs,
 * qwen3 with per-head q/k RMSNorm and a head size other than n_embd/n_head,
 * tied and separate output matrices; weights F32, F16, Q8_0 and Q4_K.
 *
 * The reference reads the very weights in the file (dequantized), so what is
 * left between the two is the engine's arithmetic: float sums and, for the
 * quantized types, activations quantized for the integer dot products. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "llm-decoder.h"
#include "llm-gguf.h"
#include "llm-quant.h"
#include "llm-quantize.h"

typedef struct {
  const char *name;
  const char *arch;
  int  n_vocab, n_embd, n_layer, n_head, n_kv, n_ff;
  int  head_dim;          /* 0: n_embd / n_head */
  bool tied;
  float rope_base;
  float rope_linear;      /* rope.scaling.factor with type linear; 0: none */
} Config;

static const Config configs[] = {
  /* Llama 2/3, Mistral, TinyLlama, SmolLM: normal RoPE pairs, GQA 8/2 */
  { "llama-gqa", "llama", 320, 256, 3, 8, 2, 512, 0, false, 10000.0f, 0 },
  /* tied output (as SmolLM and the shared test model), scaled RoPE */
  { "llama-tied-scaled", "llama", 300, 256, 2, 4, 4, 256, 0, true, 500000.0f, 4.0f },
  /* qwen2: QKV biases, NeoX pairs, GQA 4/2, tied */
  { "qwen2", "qwen2", 400, 256, 2, 4, 2, 512, 0, true, 1000000.0f, 0 },
  /* qwen3: q/k RMSNorm per head, head size 128 with n_embd 256 (q is 512) */
  { "qwen3", "qwen3", 350, 256, 2, 4, 2, 512, 128, false, 1000000.0f, 0 },
};

/* ---- a model: weights kept dequantized for the reference ---- */

typedef struct {
  double *attn_norm, *ffn_norm, *q_bias, *k_bias, *v_bias, *q_norm, *k_norm;
  double *wq, *wk, *wv, *wo, *gate, *up, *down;
} RefLayer;

typedef struct {
  Config   c;
  int      hd, qd, kvd;
  double   eps;
  double  *tok_embd, *output, *output_norm;
  RefLayer *layers;
  char    *path;
  bool     kv_f16;   /* the engine caches keys and values in F16 (all but F32 models) */
} Model;

static guint32 rng_state;

static double
uniform (void)   /* in [-1, 1) */
{
  rng_state = rng_state * 1664525u + 1013904223u;
  return (double) (rng_state >> 8) / (double) (1u << 23) - 1.0;
}

static void
model_free (Model *m)
{
  for (int l = 0; l < m->c.n_layer; l++)
    {
      RefLayer *L = &m->layers[l];
      double **all[] = { &L->attn_norm, &L->ffn_norm, &L->q_bias, &L->k_bias, &L->v_bias,
                         &L->q_norm, &L->k_norm, &L->wq, &L->wk, &L->wv, &L->wo, &L->gate,
                         &L->up, &L->down };
      for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
        g_free (*all[i]);
    }
  g_free (m->layers);
  g_free (m->tok_embd);
  g_free (m->output);
  g_free (m->output_norm);
  if (m->path)
    {
      g_unlink (m->path);
      g_free (m->path);
    }
  g_free (m);
}

/* Keeps the buffers handed to the writer alive until it has written. */
static GPtrArray *keep;

/* A [rows × cols] matrix of @type with values scale·U(-1,1); the reference
 * gets the values as the file holds them. */
static double *
add_matrix (llm_gguf_writer *w, const char *name, llm_type type, int rows, int cols, double scale)
{
  size_t row_size = llm_row_size (type, cols);
  guint8 *data = g_malloc (row_size * rows);
  float *row = g_new (float, cols);
  double *ref = g_new (double, (gsize) rows * cols);
  int64_t ne[2] = { cols, rows };

  for (int r = 0; r < rows; r++)
    {
      for (int i = 0; i < cols; i++)
        row[i] = (float) (scale * uniform ());
      g_assert_true (llm_quantize_row (type, row, data + r * row_size, cols));
      g_assert_true (llm_dequantize_row (type, data + r * row_size, row, cols));
      for (int i = 0; i < cols; i++)
        ref[(gsize) r * cols + i] = row[i];
    }
  g_free (row);
  g_ptr_array_add (keep, data);
  g_assert_true (llm_gguf_writer_add_tensor (w, name, type, 2, ne, data));
  return ref;
}

/* An F32 vector centre + spread·U(-1,1). */
static double *
add_vector (llm_gguf_writer *w, const char *name, int n, double centre, double spread)
{
  float *data = g_new (float, n);
  double *ref = g_new (double, n);
  int64_t ne[1] = { n };

  for (int i = 0; i < n; i++)
    {
      data[i] = (float) (centre + spread * uniform ());
      ref[i] = data[i];
    }
  g_ptr_array_add (keep, data);
  g_assert_true (llm_gguf_writer_add_tensor (w, name, LLM_TYPE_F32, 1, ne, data));
  return ref;
}

/* The end-of-sequence id written into the next model (2 is </s>). */
static int eos_id = 2;

/* SentencePiece vocabulary: <unk> <s> </s>, the 256 byte tokens, then
 * pieces "▁" + two letters up to n_vocab. */
static void
add_vocab (llm_gguf_writer *w, int n_vocab)
{
  char **tokens = g_new0 (char *, n_vocab + 1);
  float *scores = g_new (float, n_vocab);
  gint32 *types = g_new (gint32, n_vocab);

  for (int i = 0; i < n_vocab; i++)
    {
      if (i == 0)
        tokens[i] = g_strdup ("<unk>");
      else if (i == 1)
        tokens[i] = g_strdup ("<s>");
      else if (i == 2)
        tokens[i] = g_strdup ("</s>");
      else if (i < 3 + 256)
        tokens[i] = g_strdup_printf ("<0x%02X>", i - 3);
      else
        tokens[i] = g_strdup_printf ("\xe2\x96\x81%c%c", 'a' + (i - 259) / 26, 'a' + (i - 259) % 26);
      types[i] = i == 0 ? LLM_TOKEN_TYPE_UNKNOWN : i < 3 ? LLM_TOKEN_TYPE_CONTROL
               : i < 259 ? LLM_TOKEN_TYPE_BYTE : LLM_TOKEN_TYPE_NORMAL;
      scores[i] = i < 259 ? 0.0f : -(float) i;
    }
  llm_gguf_writer_set_string (w, "tokenizer.ggml.model", "llama");
  llm_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens", (const char *const *) tokens, n_vocab);
  llm_gguf_writer_set_array (w, "tokenizer.ggml.scores", LLM_GGUF_TYPE_FLOAT32, scores, n_vocab);
  llm_gguf_writer_set_array (w, "tokenizer.ggml.token_type", LLM_GGUF_TYPE_INT32, types, n_vocab);
  llm_gguf_writer_set_u32 (w, "tokenizer.ggml.unknown_token_id", 0);
  llm_gguf_writer_set_u32 (w, "tokenizer.ggml.bos_token_id", 1);
  llm_gguf_writer_set_u32 (w, "tokenizer.ggml.eos_token_id", eos_id);
  g_strfreev (tokens);
  g_free (scores);
  g_free (types);
}

/* What to leave out or get wrong, for the error tests. */
typedef enum {
  BREAK_NONE,
  BREAK_NO_EMBEDDING_LENGTH,
  BREAK_K_SHAPE,          /* attn_k as if there were no GQA */
  BREAK_NO_BIAS,          /* qwen2 without attn_q.bias */
  BREAK_NO_QK_NORM,       /* qwen3 without attn_k_norm */
  BREAK_HEADS,            /* head_count not a multiple of head_count_kv */
  BREAK_ARCH,
} Break;

static Model *
make_model (const Config *c, llm_type type, guint32 seed, Break brk)
{
  Model *m = g_new0 (Model, 1);
  llm_gguf_writer *w = llm_gguf_writer_new ();
  llm_gguf_error gerr = { 0 };
  char key[128], name[128];
  const char *arch = brk == BREAK_ARCH ? "gpt-j" : c->arch;
  bool qwen2 = g_str_equal (c->arch, "qwen2"), qwen3 = g_str_equal (c->arch, "qwen3");

  m->kv_f16 = type != LLM_TYPE_F32;
  int fd;

  m->c = *c;
  m->hd = c->head_dim ? c->head_dim : c->n_embd / c->n_head;
  m->qd = c->n_head * m->hd;
  m->kvd = c->n_kv * m->hd;
  m->eps = 1e-5;
  m->layers = g_new0 (RefLayer, c->n_layer);
  rng_state = seed;
  keep = g_ptr_array_new_with_free_func (g_free);

#define KEY(k) (g_snprintf (key, sizeof key, "%s.%s", arch, k), key)
  llm_gguf_writer_set_string (w, "general.architecture", arch);
  llm_gguf_writer_set_string (w, "general.name", c->name);
  llm_gguf_writer_set_u32 (w, KEY ("context_length"), 512);
  if (brk != BREAK_NO_EMBEDDING_LENGTH)
    llm_gguf_writer_set_u32 (w, KEY ("embedding_length"), c->n_embd);
  llm_gguf_writer_set_u32 (w, KEY ("block_count"), c->n_layer);
  llm_gguf_writer_set_u32 (w, KEY ("feed_forward_length"), c->n_ff);
  llm_gguf_writer_set_u32 (w, KEY ("attention.head_count"), c->n_head);
  llm_gguf_writer_set_u32 (w, KEY ("attention.head_count_kv"), brk == BREAK_HEADS ? 3 : c->n_kv);
  if (c->head_dim)
    {
      llm_gguf_writer_set_u32 (w, KEY ("attention.key_length"), c->head_dim);
      llm_gguf_writer_set_u32 (w, KEY ("attention.value_length"), c->head_dim);
    }
  llm_gguf_writer_set_u32 (w, KEY ("rope.dimension_count"), m->hd);
  llm_gguf_writer_set_f32 (w, KEY ("rope.freq_base"), c->rope_base);
  if (c->rope_linear > 0)
    {
      llm_gguf_writer_set_string (w, KEY ("rope.scaling.type"), "linear");
      llm_gguf_writer_set_f32 (w, KEY ("rope.scaling.factor"), c->rope_linear);
    }
  llm_gguf_writer_set_f32 (w, KEY ("attention.layer_norm_rms_epsilon"), (float) m->eps);
  llm_gguf_writer_set_u32 (w, "general.file_type", 0);
#undef KEY
  add_vocab (w, c->n_vocab);

  /* Scales keep the residual stream near unit size and the logits spread
   * over a few units, so greedy choices are not near-ties. */
  m->tok_embd = add_matrix (w, "token_embd.weight", type, c->n_vocab, c->n_embd, 1.0);
  m->output_norm = add_vector (w, "output_norm.weight", c->n_embd, 1.0, 0.2);
  if (!c->tied)
    m->output = add_matrix (w, "output.weight", type, c->n_vocab, c->n_embd, 3.0 / sqrt (c->n_embd));
  for (int l = 0; l < c->n_layer; l++)
    {
      RefLayer *L = &m->layers[l];
      double sq = 1.7 / sqrt (c->n_embd);
#define T(s) (g_snprintf (name, sizeof name, "blk.%d." s, l), name)
      L->attn_norm = add_vector (w, T ("attn_norm.weight"), c->n_embd, 1.0, 0.3);
      L->wq = add_matrix (w, T ("attn_q.weight"), type, m->qd, c->n_embd, 2 * sq);
      L->wk = add_matrix (w, T ("attn_k.weight"), type, brk == BREAK_K_SHAPE ? m->qd : m->kvd, c->n_embd, 2 * sq);
      L->wv = add_matrix (w, T ("attn_v.weight"), type, m->kvd, c->n_embd, sq);
      L->wo = add_matrix (w, T ("attn_output.weight"), type, c->n_embd, m->qd, 1.7 / sqrt (m->qd));
      if (qwen2)
        {
          if (brk != BREAK_NO_BIAS)
            L->q_bias = add_vector (w, T ("attn_q.bias"), m->qd, 0.0, 0.5);
          L->k_bias = add_vector (w, T ("attn_k.bias"), m->kvd, 0.0, 0.5);
          L->v_bias = add_vector (w, T ("attn_v.bias"), m->kvd, 0.0, 0.2);
        }
      if (qwen3)
        {
          L->q_norm = add_vector (w, T ("attn_q_norm.weight"), m->hd, 1.0, 0.5);
          if (brk != BREAK_NO_QK_NORM)
            L->k_norm = add_vector (w, T ("attn_k_norm.weight"), m->hd, 1.0, 0.5);
        }
      L->ffn_norm = add_vector (w, T ("ffn_norm.weight"), c->n_embd, 1.0, 0.3);
      L->gate = add_matrix (w, T ("ffn_gate.weight"), type, c->n_ff, c->n_embd, 2 * sq);
      L->up = add_matrix (w, T ("ffn_up.weight"), type, c->n_ff, c->n_embd, 2 * sq);
      L->down = add_matrix (w, T ("ffn_down.weight"), type, c->n_embd, c->n_ff, 1.7 / sqrt (c->n_ff));
#undef T
    }

  fd = g_file_open_tmp ("docent-test-model-XXXXXX.gguf", &m->path, NULL);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_assert_true (llm_gguf_writer_write_file (w, m->path, &gerr));
  llm_gguf_writer_free (w);
  g_ptr_array_unref (keep);
  keep = NULL;
  return m;
}

/* ---- the reference forward pass ---- */

static void
ref_rms_norm (const double *x, const double *w, double *out, int n, double eps)
{
  double ss = 0;
  for (int i = 0; i < n; i++)
    ss += x[i] * x[i];
  double s = 1.0 / sqrt (ss / n + eps);
  for (int i = 0; i < n; i++)
    out[i] = x[i] * s * w[i];
}

static void
ref_matvec (const double *W, int rows, int cols, const double *x, double *y)
{
  for (int r = 0; r < rows; r++)
    {
      double s = 0;
      for (int i = 0; i < cols; i++)
        s += W[(gsize) r * cols + i] * x[i];
      y[r] = s;
    }
}

/* Rotates each head of @v (n_heads × hd) for position @pos: llama pairs
 * (2i, 2i+1), qwen2/qwen3 (NeoX) pairs (i, i + hd/2); angle
 * pos / factor · base^(-2i/hd). */
static void
ref_rope (const Model *m, double *v, int n_heads, int pos)
{
  bool neox = !g_str_equal (m->c.arch, "llama");
  double p = pos / (m->c.rope_linear > 0 ? m->c.rope_linear : 1.0);
  int hd = m->hd;

  for (int h = 0; h < n_heads; h++)
    for (int i = 0; i < hd / 2; i++)
      {
        double th = p * pow (m->c.rope_base, -2.0 * i / hd);
        int a = neox ? i : 2 * i, b = neox ? i + hd / 2 : 2 * i + 1;
        double x0 = v[h * hd + a], x1 = v[h * hd + b];
        v[h * hd + a] = x0 * cos (th) - x1 * sin (th);
        v[h * hd + b] = x0 * sin (th) + x1 * cos (th);
      }
}

/* Logits for every position of @tokens (n × n_vocab), computed from scratch. */
static double *
ref_forward (const Model *m, const LlmToken *tokens, int n)
{
  const Config *c = &m->c;
  int E = c->n_embd, hd = m->hd, group = c->n_head / c->n_kv;
  double *x = g_new (double, (gsize) n * E), *xn = g_new (double, E);
  double *K = g_new (double, (gsize) n * m->kvd), *V = g_new (double, (gsize) n * m->kvd);
  double *Q = g_new (double, (gsize) n * m->qd), *att = g_new (double, m->qd);
  double *o = g_new (double, E), *g = g_new (double, c->n_ff), *u = g_new (double, c->n_ff);
  double *p = g_new (double, n);
  double *logits = g_new (double, (gsize) n * c->n_vocab);
  const double *out_w = c->tied ? m->tok_embd : m->output;

  for (int t = 0; t < n; t++)
    memcpy (x + (gsize) t * E, m->tok_embd + (gsize) tokens[t] * E, E * sizeof (double));
  for (int l = 0; l < c->n_layer; l++)
    {
      const RefLayer *L = &m->layers[l];
      for (int t = 0; t < n; t++)
        {
          double *q = Q + (gsize) t * m->qd, *k = K + (gsize) t * m->kvd, *v = V + (gsize) t * m->kvd;
          ref_rms_norm (x + (gsize) t * E, L->attn_norm, xn, E, m->eps);
          ref_matvec (L->wq, m->qd, E, xn, q);
          ref_matvec (L->wk, m->kvd, E, xn, k);
          ref_matvec (L->wv, m->kvd, E, xn, v);
          for (int i = 0; L->q_bias && i < m->qd; i++) q[i] += L->q_bias[i];
          for (int i = 0; L->k_bias && i < m->kvd; i++) k[i] += L->k_bias[i];
          for (int i = 0; L->v_bias && i < m->kvd; i++) v[i] += L->v_bias[i];
          for (int h = 0; L->q_norm && h < c->n_head; h++)
            ref_rms_norm (q + h * hd, L->q_norm, q + h * hd, hd, m->eps);
          for (int h = 0; L->k_norm && h < c->n_kv; h++)
            ref_rms_norm (k + h * hd, L->k_norm, k + h * hd, hd, m->eps);
          ref_rope (m, q, c->n_head, t);
          ref_rope (m, k, c->n_kv, t);
          /* as the engine caches them: F16 for quantized models */
          for (int i = 0; m->kv_f16 && i < m->kvd; i++)
            {
              k[i] = llm_fp16_to_fp32 (llm_fp32_to_fp16 ((float) k[i]));
              v[i] = llm_fp16_to_fp32 (llm_fp32_to_fp16 ((float) v[i]));
            }
        }
      /* Every position attends to itself and the ones before it. */
      double *x_new = g_new (double, (gsize) n * E);
      for (int t = 0; t < n; t++)
        {
          for (int h = 0; h < c->n_head; h++)
            {
              const double *q = Q + (gsize) t * m->qd + h * hd;
              int kh = h / group;
              double max = -INFINITY, sum = 0;
              for (int j = 0; j <= t; j++)
                {
                  double s = 0;
                  for (int i = 0; i < hd; i++)
                    s += q[i] * K[(gsize) j * m->kvd + kh * hd + i];
                  p[j] = s / sqrt (hd);
                  max = fmax (max, p[j]);
                }
              for (int j = 0; j <= t; j++)
                sum += (p[j] = exp (p[j] - max));
              for (int i = 0; i < hd; i++)
                {
                  double s = 0;
                  for (int j = 0; j <= t; j++)
                    s += p[j] * V[(gsize) j * m->kvd + kh * hd + i];
                  att[h * hd + i] = s / sum;
                }
            }
          ref_matvec (L->wo, E, m->qd, att, o);
          for (int i = 0; i < E; i++)
            x_new[(gsize) t * E + i] = x[(gsize) t * E + i] + o[i];
        }
      memcpy (x, x_new, (gsize) n * E * sizeof (double));
      g_free (x_new);
      for (int t = 0; t < n; t++)
        {
          ref_rms_norm (x + (gsize) t * E, L->ffn_norm, xn, E, m->eps);
          ref_matvec (L->gate, c->n_ff, E, xn, g);
          ref_matvec (L->up, c->n_ff, E, xn, u);
          for (int i = 0; i < c->n_ff; i++)
            g[i] = g[i] / (1 + exp (-g[i])) * u[i];   /* SiLU(gate) · up */
          ref_matvec (L->down, E, c->n_ff, g, o);
          for (int i = 0; i < E; i++)
            x[(gsize) t * E + i] += o[i];
        }
    }
  for (int t = 0; t < n; t++)
    {
      ref_rms_norm (x + (gsize) t * E, m->output_norm, xn, E, m->eps);
      ref_matvec (out_w, c->n_vocab, E, xn, logits + (gsize) t * c->n_vocab);
    }
  g_free (x); g_free (xn); g_free (K); g_free (V); g_free (Q); g_free (att);
  g_free (o); g_free (g); g_free (u); g_free (p);
  return logits;
}

/* ---- comparisons ---- */

static LlmToken *
random_tokens (int n, int n_vocab, guint32 seed)
{
  LlmToken *t = g_new (LlmToken, n);
  rng_state = seed;
  t[0] = 1;   /* BOS */
  for (int i = 1; i < n; i++)
    t[i] = 3 + (LlmToken) ((uniform () + 1) / 2 * (n_vocab - 3));
  return t;
}

/* Largest |a - b| over the logits, relative to the reference's RMS; the
 * mean |a - b| in the same unit in @mean. */
static double
rel_err_mean (const float *got, const double *want, gsize n, double *mean)
{
  double max = 0, ss = 0, sum = 0;
  for (gsize i = 0; i < n; i++)
    {
      max = fmax (max, fabs (got[i] - want[i]));
      sum += fabs (got[i] - want[i]);
      ss += want[i] * want[i];
    }
  if (mean)
    *mean = sum / n / sqrt (ss / n);
  return max / sqrt (ss / n);
}

static double
rel_err (const float *got, const double *want, gsize n)
{
  return rel_err_mean (got, want, n, NULL);
}

static double
rel_err_f (const float *got, const float *want, gsize n)
{
  double max = 0, ss = 0;
  for (gsize i = 0; i < n; i++)
    {
      max = fmax (max, fabs ((double) got[i] - want[i]));
      ss += (double) want[i] * want[i];
    }
  return max / sqrt (ss / n);
}

static llm_decoder *
load (const Model *m, int n_ctx, int threads)
{
  char err[256] = "";
  llm_decoder *d = llm_decoder_load (m->path, n_ctx, threads, err, sizeof err);
  if (d == NULL)
    g_error ("%s: %s", m->c.name, err);
  g_assert_cmpstr (llm_decoder_arch (d), ==, m->c.arch);
  g_assert_cmpint (llm_decoder_n_vocab (d), ==, m->c.n_vocab);
  return d;
}

typedef struct {
  const Config *c;
  llm_type      type;
  double        tol, mean_tol;
} LogitsCase;

/* Batch prefill of 40 tokens: every position's logits against the reference. */
static void
test_logits (gconstpointer data)
{
  const LogitsCase *lc = data;
  const int n = 40;
  Model *m = make_model (lc->c, lc->type, 7, BREAK_NONE);
  llm_decoder *d = load (m, 64, 2);
  LlmToken *tokens = random_tokens (n, lc->c->n_vocab, 11);
  double *want = ref_forward (m, tokens, n);
  float *got = g_new (float, (gsize) n * lc->c->n_vocab);
  double err, mean;

  g_assert_true (llm_decoder_eval (d, tokens, n, true, got));
  err = rel_err_mean (got, want, (gsize) n * lc->c->n_vocab, &mean);
  g_test_message ("%s %s: logit error of the logits' RMS: largest %.2e (allowed %.0e), "
                  "mean %.2e (allowed %.0e)", lc->c->name, llm_type_name (lc->type),
                  err, lc->tol, mean, lc->mean_tol);
  g_assert_cmpfloat (err, <, lc->tol);
  g_assert_cmpfloat (mean, <, lc->mean_tol);

  /* The same model reloaded on one thread, token by token. */
  llm_decoder_free (d);
  d = load (m, 64, 1);
  for (int t = 0; t < n; t++)
    {
      g_assert_true (llm_decoder_eval (d, &tokens[t], 1, false, got));
      err = rel_err (got, want + (gsize) t * lc->c->n_vocab, lc->c->n_vocab);
      g_assert_cmpfloat (err, <, lc->tol);
    }
  g_assert_cmpint (llm_decoder_n_past (d), ==, n);
  llm_decoder_free (d);
  g_free (got);
  g_free (want);
  g_free (tokens);
  model_free (m);
}

/* Decoding with the KV cache equals recomputing the whole sequence, and a
 * prefill split into batches (the prompt, then pieces; more than the
 * engine's 256-token batch in one call) equals token-by-token decoding. */
static void
test_kv_cache (gconstpointer data)
{
  const Config *c = data;
  const int n = 300;
  Model *m = make_model (c, LLM_TYPE_F32, 21, BREAK_NONE);
  llm_decoder *d = load (m, 320, 2);
  LlmToken *tokens = random_tokens (n, c->n_vocab, 5);
  float *full = g_new (float, (gsize) n * c->n_vocab);
  float *one = g_new (float, c->n_vocab);
  float *part = g_new (float, (gsize) n * c->n_vocab);
  double worst = 0;

  /* Full recompute: all 300 at once (two internal batches). */
  g_assert_true (llm_decoder_eval (d, tokens, n, true, full));
  g_assert_false (llm_decoder_eval (d, tokens, 21, false, one));   /* 321 > 320: full */

  /* A prompt of 17, then one token at a time through the cache. */
  llm_decoder_reset (d);
  g_assert_true (llm_decoder_eval (d, tokens, 17, false, one));
  worst = fmax (worst, rel_err_f (one, full + 16 * (gsize) c->n_vocab, c->n_vocab));
  for (int t = 17; t < n; t++)
    {
      g_assert_true (llm_decoder_eval (d, &tokens[t], 1, false, one));
      worst = fmax (worst, rel_err_f (one, full + (gsize) t * c->n_vocab, c->n_vocab));
    }
  g_test_message ("%s: KV-cache decode vs full recompute, largest error %.2e", c->name, worst);
  g_assert_cmpfloat (worst, <, 1e-4);

  /* Uneven batches with all logits: 1, 5, 64, 230. */
  {
    const int cuts[] = { 0, 1, 6, 70, n };
    llm_decoder_reset (d);
    for (gsize i = 0; i + 1 < G_N_ELEMENTS (cuts); i++)
      g_assert_true (llm_decoder_eval (d, tokens + cuts[i], cuts[i + 1] - cuts[i], true,
                                       part + (gsize) cuts[i] * c->n_vocab));
    worst = rel_err_f (part, full, (gsize) n * c->n_vocab);
    g_test_message ("%s: batches of 1/5/64/230 vs one of 300, largest error %.2e", c->name, worst);
    g_assert_cmpfloat (worst, <, 1e-4);
  }

  /* The reference agrees at a few positions deep into the sequence (the
   * whole 300 × 300 reference is slow in plain double loops). */
  {
    double *want = ref_forward (m, tokens, 160);
    worst = rel_err (full, want, (gsize) 160 * c->n_vocab);
    g_test_message ("%s: 160 positions against the reference, largest error %.2e", c->name, worst);
    g_assert_cmpfloat (worst, <, 1e-4);
    g_free (want);
  }
  llm_decoder_free (d);
  g_free (full);
  g_free (one);
  g_free (part);
  g_free (tokens);
  model_free (m);
}

typedef struct {
  LlmToken ids[64];
  int      n;
  GString *text;
} Collected;

static bool
collect (const char *text, size_t len, LlmToken id, void *user_data)
{
  Collected *c = user_data;
  g_string_append_len (c->text, text, len);
  return true;
}

/* Greedy generation through llm_generate gives the reference's tokens. */
static void
test_greedy (gconstpointer data)
{
  const Config *c = data;
  const int n_prompt = 6, n_new = 24;
  Model *m = make_model (c, LLM_TYPE_F32, 33, BREAK_NONE);
  llm_decoder *d = load (m, 64, 2);
  LlmToken *seq = g_new (LlmToken, n_prompt + n_new);
  LlmToken *prompt = random_tokens (n_prompt, c->n_vocab, 9);
  LlmToken out[64];
  llm_sampling params;
  Collected col = { { 0 }, 0, g_string_new (NULL) };
  double prefill = 0, decode = 0;
  int n_ref = 0, n;
  g_autofree char *detok = NULL;

  memcpy (seq, prompt, n_prompt * sizeof (LlmToken));
  while (n_ref < n_new)
    {
      double *l = ref_forward (m, seq, n_prompt + n_ref);
      const double *last = l + (gsize) (n_prompt + n_ref - 1) * c->n_vocab;
      int best = 0;
      for (int i = 1; i < c->n_vocab; i++)
        if (last[i] > last[best])
          best = i;
      g_free (l);
      if (best == 2)   /* </s> ends generation */
        break;
      seq[n_prompt + n_ref++] = best;
    }

  llm_sampling_defaults (&params);
  params.temperature = 0;
  params.repeat_penalty = 1.0f;
  n = llm_generate (d, prompt, n_prompt, &params, n_new, NULL, collect, &col, out,
                    &prefill, &decode);
  g_test_message ("%s: %d greedy tokens%s", c->name, n, n < n_new ? ", then </s>" : "");
  g_assert_cmpint (n, ==, n_ref);
  for (int i = 0; i < n; i++)
    g_assert_cmpint (out[i], ==, seq[n_prompt + i]);
  /* The streamed text is the detokenized ids. */
  /* The streamed text is the detokenized ids (which drop the space the
   * first piece starts with: SentencePiece's ▁ at the start of a text). */
  detok = llm_detokenize (llm_decoder_vocab (d), out, n, false, NULL);
  g_assert_nonnull (detok);
  g_assert_cmpstr (col.text->str + (col.text->str[0] == ' ' && detok[0] != ' '), ==, detok);
  g_assert_cmpfloat (prefill, >, 0);
  g_string_free (col.text, TRUE);
  llm_decoder_free (d);
  g_free (seq);
  g_free (prompt);
  model_free (m);
}

typedef struct {
  int      calls, stop_after;
  GString *text;
} Counter;

static bool
count_and_stop (const char *text, size_t len, LlmToken id, void *user_data)
{
  Counter *c = user_data;
  g_string_append_len (c->text, text, len);
  return ++c->calls < c->stop_after;
}

/* Generation stops when the callback says so (cancellation between
 * tokens), when the text reaches a stop string, at the model's
 * end-of-sequence token, and after max_new tokens. */
static void
test_generate_stops (void)
{
  const Config *c = &configs[1];   /* its greedy run does not meet </s> */
  Model *m = make_model (c, LLM_TYPE_F32, 33, BREAK_NONE);
  llm_decoder *d = load (m, 64, 2);
  LlmToken *prompt = random_tokens (6, c->n_vocab, 9);
  LlmToken full[32], out[32];
  llm_sampling params;
  Counter cnt = { 0, 1000, g_string_new (NULL) };
  g_autofree char *stop_text = NULL;
  const char *stop[2] = { NULL, NULL };
  int n_full, n, cut = -1;

  llm_sampling_defaults (&params);
  params.temperature = 0;
  params.repeat_penalty = 1.0f;
  n_full = llm_generate (d, prompt, 6, &params, 20, NULL, count_and_stop, &cnt, full, NULL, NULL);
  g_assert_cmpint (n_full, ==, 20);   /* max_new */

  /* Cancelled by the callback after its 4th call. */
  g_string_truncate (cnt.text, 0);
  cnt.calls = 0;
  cnt.stop_after = 4;
  n = llm_generate (d, prompt, 6, &params, 20, NULL, count_and_stop, &cnt, out, NULL, NULL);
  g_assert_cmpint (cnt.calls, ==, 4);
  g_assert_cmpint (n, <=, 5);
  g_assert_cmpmem (out, n * sizeof (LlmToken), full, n * sizeof (LlmToken));

  /* A stop string: the text of tokens 7 and 8 of the full run. */
  {
    char a[64], b[64];
    size_t la = llm_token_to_piece (llm_decoder_vocab (d), full[7], false, a, sizeof a);
    size_t lb = llm_token_to_piece (llm_decoder_vocab (d), full[8], false, b, sizeof b);
    stop_text = g_strdup_printf ("%.*s%.*s", (int) la, a, (int) lb, b);
  }
  stop[0] = stop_text;
  g_string_truncate (cnt.text, 0);
  cnt.calls = 0;
  cnt.stop_after = 1000;
  n = llm_generate (d, prompt, 6, &params, 20, stop, count_and_stop, &cnt, out, NULL, NULL);
  {
    g_autofree char *e1 = g_strescape (stop_text, NULL), *e2 = g_strescape (cnt.text->str, NULL);
    g_test_message ("stop string \"%s\": %d tokens, text \"%s\"", e1, n, e2);
  }
  g_assert_cmpint (n, <=, 9);
  g_assert_nonnull (strstr (cnt.text->str, stop_text));
  llm_decoder_free (d);
  model_free (m);

  /* The same weights with token full[k] declared end-of-sequence: the
   * output is the k tokens before it. */
  for (int k = 3; k < n_full && cut < 0; k++)
    {
      bool earlier = false;
      for (int i = 0; i < k; i++)
        earlier |= full[i] == full[k];
      if (!earlier)
        cut = k;
    }
  g_assert_cmpint (cut, >, 0);
  eos_id = full[cut];
  m = make_model (c, LLM_TYPE_F32, 33, BREAK_NONE);
  eos_id = 2;
  d = load (m, 64, 2);
  n = llm_generate (d, prompt, 6, &params, 20, NULL, NULL, NULL, out, NULL, NULL);
  g_assert_cmpint (n, ==, cut);
  g_assert_cmpmem (out, n * sizeof (LlmToken), full, n * sizeof (LlmToken));
  llm_decoder_free (d);
  model_free (m);
  g_string_free (cnt.text, TRUE);
  g_free (prompt);
}

/* `docent bench make-model` and `docent bench generate` end to end on a
 * tiny shape. */
static void
test_cli_bench (void)
{
  const char *bin = g_getenv ("DOCENT_BIN");
  g_autofree char *dir = NULL, *path = NULL, *out = NULL, *err = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  if (bin == NULL)
    {
      g_test_skip ("DOCENT_BIN is not set");
      return;
    }
  dir = g_dir_make_tmp ("docent-test-model-XXXXXX", NULL);
  path = g_build_filename (dir, "tiny.gguf", NULL);
  {
    const char *argv[] = { bin, "bench", "make-model", "--type", "Q4_K_M", "--vocab", "300",
                           "--embd", "256", "--layers", "1", "--heads", "4", "--kv-heads", "2",
                           "--ff", "256", path, NULL };
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                 &out, &err, &status, &error));
    g_test_message ("%s%s", out, err);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  {
    const char *argv[] = { bin, "bench", "generate", "--model", path, "--prompt", "8", "--gen", "4",
                           "--threads", "1", "--repeat", "1", "--json", NULL };
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                 &out, &err, &status, &error));
    g_test_message ("%s%s", out, err);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (out, "\"type\":\"Q4_K_M\""));
    g_assert_nonnull (strstr (out, "\"prefill_tok_s\":"));
    g_assert_nonnull (strstr (out, "\"decode_tok_s\":"));
    g_assert_nonnull (strstr (out, "\"bandwidth_fraction\":"));
    g_assert_nonnull (strstr (out, "\"n_params\":"));
  }
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  {
    /* sizes that are not whole blocks are a usage error */
    const char *argv[] = { bin, "bench", "make-model", "--embd", "100", path, NULL };
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                 &out, &err, &status, &error));
    g_assert_false (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (err, "Usage"));
  }
  g_remove (path);
  g_rmdir (dir);
}

/* Files whose metadata and tensors disagree fail to load with a message
 * naming the problem. */
static void
test_bad_metadata (void)
{
  static const struct { int cfg; Break brk; const char *expect; } cases[] = {
    { 0, BREAK_NO_EMBEDDING_LENGTH, "llama.embedding_length" },
    { 0, BREAK_K_SHAPE, "blk.0.attn_k.weight" },
    { 2, BREAK_NO_BIAS, "blk.0.attn_q.bias" },
    { 3, BREAK_NO_QK_NORM, "blk.0.attn_k_norm.weight" },
    { 0, BREAK_HEADS, "heads" },
    { 0, BREAK_ARCH, "gpt-j" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Config small = configs[cases[i].cfg];
      Model *m;
      char err[256] = "";
      llm_decoder *d;

      small.n_layer = 1;
      m = make_model (&small, LLM_TYPE_F32, 1, cases[i].brk);
      d = llm_decoder_load (m->path, 32, 1, err, sizeof err);
      g_test_message ("%s: %s", small.name, err);
      g_assert_null (d);
      g_assert_nonnull (strstr (err, cases[i].expect));
      model_free (m);
    }
}

/* The shared real model (shared/models): Docent's own Q6_K and Q4_K_M
 * quantizations of the F16 file score no worse than the reference
 * quantizer's files in the README's table, with no allowance. (F16, Q8_0,
 * Q4_0, the greedy continuation and Q8_0 made from F16 are checked in
 * test-decoder.c.) */
static void
test_real_quantizations (void)
{
  const char *shared = g_getenv ("DOCENT_SHARED_DIR");
  g_autofree char *f16 = shared ? g_build_filename (shared, "models", "rman-llama-12m-f16.gguf", NULL) : NULL;
  g_autofree char *txt = shared ? g_build_filename (shared, "models", "R-lang.txt", NULL) : NULL;
  g_autofree char *dir = NULL;
  g_autofree char *text = NULL;
  gsize len;
  static const struct { int ftype; const char *name; double table; } cases[] = {
    { LLM_FTYPE_Q6_K, "Q6_K", 38.9082 },
    { LLM_FTYPE_Q4_K_M, "Q4_K_M", 38.9684 },
  };

  if (f16 == NULL || !g_file_test (f16, G_FILE_TEST_EXISTS) || !g_file_get_contents (txt, &text, &len, NULL))
    {
      g_test_skip ("DOCENT_SHARED_DIR/models is not there");
      return;
    }
  dir = g_dir_make_tmp ("docent-test-model-XXXXXX", NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = g_strdup_printf ("%s/%s.gguf", dir, cases[i].name);
      llm_quantize_params params = { cases[i].ftype, 0, NULL, NULL, NULL };
      llm_quantize_result result;
      char err[256] = "";
      size_t n, scored, windows;
      LlmToken *ids;
      llm_decoder *d;
      double ppl;

      if (!llm_quantize_file (f16, out, &params, &result, err, sizeof err))
        g_error ("%s: %s", cases[i].name, err);
      d = llm_decoder_load (out, 256, 0, err, sizeof err);
      if (d == NULL)
        g_error ("%s: %s", cases[i].name, err);
      ids = llm_tokenize (llm_decoder_vocab (d), text, len, LLM_TOKENIZE_ADD_SPECIAL, &n);
      g_assert_cmpuint (n, ==, 40009);
      ppl = llm_decoder_perplexity (d, ids, n, &scored, &windows);
      g_assert_cmpuint (scored, ==, 19812);
      g_test_message ("%s made from F16: perplexity %.4f, table %.4f (%+.4f%%)", cases[i].name,
                      ppl, cases[i].table, 100 * (ppl - cases[i].table) / cases[i].table);
      g_assert_cmpfloat (ppl, <=, cases[i].table);
      free (ids);
      llm_decoder_free (d);
      g_remove (out);
    }
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  static LogitsCase cases[G_N_ELEMENTS (configs) * 4];
  static const struct { llm_type type; double tol, mean_tol; } types[] = {
    /* F32: float sums against double. F16 weights are exact in the
     * reference too; the engine may round activations to F16 for its dot
     * products. Q8_0 and Q4_K: activations quantized to 8 bits per block. */
    { LLM_TYPE_F32, 1e-4, 1e-5 },
    { LLM_TYPE_F16, 2e-2, 3e-3 },
    { LLM_TYPE_Q8_0, 0.4, 0.06 },
    { LLM_TYPE_Q4_K, 0.5, 0.08 },
  };
  int k = 0;

  g_test_init (&argc, &argv, NULL);
  for (gsize c = 0; c < G_N_ELEMENTS (configs); c++)
    for (gsize t = 0; t < G_N_ELEMENTS (types); t++)
      {
        g_autofree char *path = g_strdup_printf ("/model/logits/%s/%s", configs[c].name,
                                                 llm_type_name (types[t].type));
        cases[k] = (LogitsCase) { &configs[c], types[t].type, types[t].tol, types[t].mean_tol };
        g_test_add_data_func (path, &cases[k++], test_logits);
      }
  for (gsize c = 0; c < G_N_ELEMENTS (configs); c++)
    {
      g_autofree char *p1 = g_strdup_printf ("/model/kv-cache/%s", configs[c].name);
      g_autofree char *p2 = g_strdup_printf ("/model/greedy/%s", configs[c].name);
      g_test_add_data_func (p1, &configs[c], test_kv_cache);
      g_test_add_data_func (p2, &configs[c], test_greedy);
    }
  g_test_add_func ("/model/bad-metadata", test_bad_metadata);
  g_test_add_func ("/model/generate-stops", test_generate_stops);
  g_test_add_func ("/model/cli/bench-generate", test_cli_bench);
  g_test_add_func ("/model/real/own-quantizations", test_real_quantizations);
  return g_test_run ();
}
