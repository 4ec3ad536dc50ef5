/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Small BERT GGUF files with random weights, written with our GGUF writer
 * under the published tensor names and metadata keys, and a plain
 * double-precision reference forward pass over the very weights stored
 * (dequantized when the file is quantized). Shared by tests/llm/test-bert.c
 * and tests/core/test-gguf-embedder.c. */
#pragma once

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm-gguf.h"
#include "llm-quant.h"

typedef struct {
  int         n_embd, n_head, n_ff, n_layer, n_ctx, n_types;
  int         pooling;        /* bert.pooling_type; -1: key left out */
  llm_type    wtype;          /* matrices and token_embd */
  bool        fused_qkv;      /* blk.N.attn_qkv instead of q/k/v */
  uint64_t    seed;
  /* for error tests */
  const char *arch;           /* NULL: "bert" */
  const char *omit_tensor;
  const char *omit_key;
  const char *misshape_tensor; /* written with one column too many */
} BertSpec;

static inline BertSpec
bert_spec_default (void)
{
  BertSpec s = { 64, 4, 128, 2, 32, 2, 1, LLM_TYPE_F32, false, 1, NULL, NULL, NULL, NULL };
  return s;
}

typedef struct {
  double *wq, *wk, *wv, *wo, *up, *down;           /* rows × cols, row-major */
  double *bq, *bk, *bv, *bo, *bup, *bdown;
  double *anw, *anb, *onw, *onb;
} BertRefLayer;

typedef struct {
  int           V, E, H, F, L, C, NT, pooling;
  double        eps;
  double       *tok, *pos, *type, *enw, *enb;
  BertRefLayer *layers;
} BertRef;

/* Vocabulary: specials, words the tests use (with ## continuations and a
 * Hangul word), then filler up to 300 tokens. */
static const char *const bert_craft_words[] = {
  "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
  "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "hello", "world",
  "docent", "search", "model", "quant", "##ization", "##s", "##ing", "##ed", "r",
  "manual", "function", "data", "frame", "vector", "embed", "passage", "query",
  "안녕", "##하세요", "양자", "##화", ".", ",", "!", "?",
};
#define BERT_CRAFT_N_VOCAB 300

typedef struct {
  uint64_t s;
} BertRng;

static inline double
bert_rng_uniform (BertRng *r)  /* [-1, 1) */
{
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return (double) (r->s >> 11) / (double) (1ull << 52) - 1.0;
}

typedef struct {
  llm_gguf_writer *w;
  void           **bufs;
  size_t           n_bufs;
  const BertSpec  *spec;
  BertRng          rng;
} BertCraft;

static inline double *
bert_craft_keep (BertCraft *c, void *p)
{
  c->bufs = realloc (c->bufs, (c->n_bufs + 1) * sizeof *c->bufs);
  c->bufs[c->n_bufs++] = p;
  return p;
}

/* Writes tensor @name (cols × rows, ne[0] = cols) of random values around
 * @center with spread @scale, as @type; returns the values as stored, in
 * double, for the reference (a copy the caller frees). */
static inline double *
bert_craft_tensor (BertCraft *c, const char *name, int64_t cols, int64_t rows,
                   double center, double scale, llm_type type)
{
  int64_t n = cols * rows;
  float *f = malloc ((size_t) n * sizeof (float));
  float *back = malloc ((size_t) cols * sizeof (float));
  double *ref = malloc ((size_t) n * sizeof (double));
  int64_t wcols = cols;
  void *data;
  size_t rs;

  for (int64_t i = 0; i < n; i++)
    f[i] = (float) (center + scale * bert_rng_uniform (&c->rng));
  if (c->spec->misshape_tensor && strcmp (name, c->spec->misshape_tensor) == 0)
    wcols = cols + (type == LLM_TYPE_F32 ? 1 : 32);
  rs = llm_row_size (type, wcols);
  data = calloc ((size_t) rows, rs);
  for (int64_t r = 0; r < rows; r++)
    {
      float *row = malloc ((size_t) wcols * sizeof (float));
      memset (row, 0, (size_t) wcols * sizeof (float));
      memcpy (row, f + r * cols, (size_t) cols * sizeof (float));
      llm_quantize_row (type, row, (uint8_t *) data + (size_t) r * rs, wcols);
      free (row);
      llm_dequantize_row (type, (uint8_t *) data + (size_t) r * rs, back, cols);
      for (int64_t i = 0; i < cols; i++)
        ref[r * cols + i] = back[i];
    }
  free (f);
  free (back);
  if (!(c->spec->omit_tensor && strcmp (name, c->spec->omit_tensor) == 0))
    {
      int64_t ne[2] = { wcols, rows };
      bert_craft_keep (c, data);
      llm_gguf_writer_add_tensor (c->w, name, type, rows == 1 ? 1 : 2, ne, data);
    }
  else
    free (data);
  return ref;
}

static inline void
bert_ref_free (BertRef *r)
{
  if (r == NULL)
    return;
  for (int l = 0; r->layers && l < r->L; l++)
    {
      BertRefLayer *y = &r->layers[l];
      double *all[] = { y->wq, y->wk, y->wv, y->wo, y->up, y->down, y->bq, y->bk, y->bv, y->bo,
                        y->bup, y->bdown, y->anw, y->anb, y->onw, y->onb };
      for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free (all[i]);
    }
  free (r->layers);
  free (r->tok);
  free (r->pos);
  free (r->type);
  free (r->enw);
  free (r->enb);
  memset (r, 0, sizeof *r);
}

/* Writes the model to @path; fills @ref (may be NULL). */
static inline bool
bert_craft_write (const char *path, const BertSpec *spec, BertRef *ref)
{
  BertCraft c = { llm_gguf_writer_new (), NULL, 0, spec, { spec->seed * 0x9E3779B97F4A7C15ull + 1 } };
  const int E = spec->n_embd, F = spec->n_ff, V = BERT_CRAFT_N_VOCAB;
  const char *tokens[BERT_CRAFT_N_VOCAB];
  char fill[BERT_CRAFT_N_VOCAB][8];
  int32_t types[BERT_CRAFT_N_VOCAB];
  const size_t n_words = sizeof bert_craft_words / sizeof bert_craft_words[0];
  BertRef r = { 0 };
  llm_gguf_error gerr;
  char name[64];
  bool ok;

#define KEY(k) (spec->omit_key == NULL || strcmp (spec->omit_key, k) != 0)
  llm_gguf_writer_set_string (c.w, "general.architecture", spec->arch ? spec->arch : "bert");
  llm_gguf_writer_set_string (c.w, "general.name", "crafted bert");
  if (KEY ("bert.context_length")) llm_gguf_writer_set_u32 (c.w, "bert.context_length", (uint32_t) spec->n_ctx);
  if (KEY ("bert.embedding_length")) llm_gguf_writer_set_u32 (c.w, "bert.embedding_length", (uint32_t) E);
  if (KEY ("bert.feed_forward_length")) llm_gguf_writer_set_u32 (c.w, "bert.feed_forward_length", (uint32_t) F);
  if (KEY ("bert.block_count")) llm_gguf_writer_set_u32 (c.w, "bert.block_count", (uint32_t) spec->n_layer);
  if (KEY ("bert.attention.head_count")) llm_gguf_writer_set_u32 (c.w, "bert.attention.head_count", (uint32_t) spec->n_head);
  if (KEY ("bert.attention.layer_norm_epsilon")) llm_gguf_writer_set_f32 (c.w, "bert.attention.layer_norm_epsilon", 1e-12f);
  llm_gguf_writer_set_bool (c.w, "bert.attention.causal", false);
  if (spec->pooling >= 0)
    llm_gguf_writer_set_u32 (c.w, "bert.pooling_type", (uint32_t) spec->pooling);
  if (spec->n_types > 0)
    llm_gguf_writer_set_u32 (c.w, "tokenizer.ggml.token_type_count", (uint32_t) spec->n_types);
  llm_gguf_writer_set_string (c.w, "tokenizer.ggml.model", "bert");
  for (int i = 0; i < V; i++)
    {
      if ((size_t) i < n_words)
        tokens[i] = bert_craft_words[i];
      else
        {
          snprintf (fill[i], sizeof fill[i], "w%03d", i);
          tokens[i] = fill[i];
        }
      types[i] = i < 5 ? 3 : 1;
    }
  llm_gguf_writer_set_string_array (c.w, "tokenizer.ggml.tokens", tokens, V);
  llm_gguf_writer_set_array (c.w, "tokenizer.ggml.token_type", LLM_GGUF_TYPE_INT32, types, V);
  llm_gguf_writer_set_u32 (c.w, "tokenizer.ggml.unknown_token_id", 1);
  llm_gguf_writer_set_u32 (c.w, "tokenizer.ggml.seperator_token_id", 3);
  llm_gguf_writer_set_u32 (c.w, "tokenizer.ggml.padding_token_id", 0);
  llm_gguf_writer_set_u32 (c.w, "tokenizer.ggml.cls_token_id", 2);
  llm_gguf_writer_set_u32 (c.w, "tokenizer.ggml.mask_token_id", 4);
#undef KEY

  r.V = V, r.E = E, r.H = spec->n_head, r.F = F, r.L = spec->n_layer, r.C = spec->n_ctx;
  r.NT = spec->n_types, r.eps = 1e-12;
  r.pooling = spec->pooling < 0 || spec->pooling == 0 ? 1 : spec->pooling;
  /* as published files: 1-D tensors and position/type tables in F32 */
  r.tok = bert_craft_tensor (&c, "token_embd.weight", E, V, 0, 1.0, spec->wtype);
  r.pos = bert_craft_tensor (&c, "position_embd.weight", E, spec->n_ctx, 0, 0.5, LLM_TYPE_F32);
  if (spec->n_types > 0)
    r.type = bert_craft_tensor (&c, "token_types.weight", E, spec->n_types, 0, 0.5, LLM_TYPE_F32);
  r.enw = bert_craft_tensor (&c, "token_embd_norm.weight", E, 1, 1.0, 0.2, LLM_TYPE_F32);
  r.enb = bert_craft_tensor (&c, "token_embd_norm.bias", E, 1, 0, 0.1, LLM_TYPE_F32);
  r.layers = calloc ((size_t) r.L, sizeof *r.layers);
  for (int l = 0; l < r.L; l++)
    {
      BertRefLayer *y = &r.layers[l];
      double a = sqrt (3.0 / E), af = sqrt (3.0 / F);
#define T(s) (snprintf (name, sizeof name, "blk.%d." s, l), name)
      if (spec->fused_qkv)
        {
          double *w = bert_craft_tensor (&c, T ("attn_qkv.weight"), E, 3 * E, 0, a, spec->wtype);
          double *b = bert_craft_tensor (&c, T ("attn_qkv.bias"), 3 * E, 1, 0, 0.1, LLM_TYPE_F32);
          size_t m = (size_t) E * E;
          y->wq = malloc (m * sizeof (double)), y->wk = malloc (m * sizeof (double)), y->wv = malloc (m * sizeof (double));
          memcpy (y->wq, w, m * sizeof (double));
          memcpy (y->wk, w + m, m * sizeof (double));
          memcpy (y->wv, w + 2 * m, m * sizeof (double));
          y->bq = malloc (E * sizeof (double)), y->bk = malloc (E * sizeof (double)), y->bv = malloc (E * sizeof (double));
          memcpy (y->bq, b, E * sizeof (double));
          memcpy (y->bk, b + E, E * sizeof (double));
          memcpy (y->bv, b + 2 * E, E * sizeof (double));
          free (w);
          free (b);
        }
      else
        {
          y->wq = bert_craft_tensor (&c, T ("attn_q.weight"), E, E, 0, a, spec->wtype);
          y->bq = bert_craft_tensor (&c, T ("attn_q.bias"), E, 1, 0, 0.1, LLM_TYPE_F32);
          y->wk = bert_craft_tensor (&c, T ("attn_k.weight"), E, E, 0, a, spec->wtype);
          y->bk = bert_craft_tensor (&c, T ("attn_k.bias"), E, 1, 0, 0.1, LLM_TYPE_F32);
          y->wv = bert_craft_tensor (&c, T ("attn_v.weight"), E, E, 0, a, spec->wtype);
          y->bv = bert_craft_tensor (&c, T ("attn_v.bias"), E, 1, 0, 0.1, LLM_TYPE_F32);
        }
      y->wo = bert_craft_tensor (&c, T ("attn_output.weight"), E, E, 0, a, spec->wtype);
      y->bo = bert_craft_tensor (&c, T ("attn_output.bias"), E, 1, 0, 0.1, LLM_TYPE_F32);
      y->anw = bert_craft_tensor (&c, T ("attn_output_norm.weight"), E, 1, 1.0, 0.2, LLM_TYPE_F32);
      y->anb = bert_craft_tensor (&c, T ("attn_output_norm.bias"), E, 1, 0, 0.1, LLM_TYPE_F32);
      y->up = bert_craft_tensor (&c, T ("ffn_up.weight"), E, F, 0, a, spec->wtype);
      y->bup = bert_craft_tensor (&c, T ("ffn_up.bias"), F, 1, 0, 0.1, LLM_TYPE_F32);
      y->down = bert_craft_tensor (&c, T ("ffn_down.weight"), F, E, 0, af, spec->wtype);
      y->bdown = bert_craft_tensor (&c, T ("ffn_down.bias"), E, 1, 0, 0.1, LLM_TYPE_F32);
      y->onw = bert_craft_tensor (&c, T ("layer_output_norm.weight"), E, 1, 1.0, 0.2, LLM_TYPE_F32);
      y->onb = bert_craft_tensor (&c, T ("layer_output_norm.bias"), E, 1, 0, 0.1, LLM_TYPE_F32);
#undef T
    }
  ok = llm_gguf_writer_write_file (c.w, path, &gerr);
  if (!ok)
    fprintf (stderr, "bert_craft_write: %s\n", gerr.message);
  llm_gguf_writer_free (c.w);
  for (size_t i = 0; i < c.n_bufs; i++)
    free (c.bufs[i]);
  free (c.bufs);
  if (ref)
    *ref = r;
  else
    bert_ref_free (&r);
  return ok;
}

/* ---- the reference: plain double precision, no SIMD, no threads -------- */

static inline void
bert_ref_layer_norm (double *x, int n, const double *w, const double *b, double eps)
{
  double mean = 0, var = 0;
  for (int i = 0; i < n; i++)
    mean += x[i];
  mean /= n;
  for (int i = 0; i < n; i++)
    var += (x[i] - mean) * (x[i] - mean);
  var /= n;
  for (int i = 0; i < n; i++)
    x[i] = (x[i] - mean) / sqrt (var + eps) * w[i] + b[i];
}

/* y[t][r] = sum_c W[r][c] x[t][c] + b[r] */
static inline void
bert_ref_linear (const double *W, const double *b, int rows, int cols, const double *x, int n, double *y)
{
  for (int t = 0; t < n; t++)
    for (int r = 0; r < rows; r++)
      {
        double s = b ? b[r] : 0;
        for (int c = 0; c < cols; c++)
          s += W[(size_t) r * cols + c] * x[(size_t) t * cols + c];
        y[(size_t) t * rows + r] = s;
      }
}

/* Final hidden states of one sequence: n × E. */
static inline void
bert_ref_forward (const BertRef *m, const int32_t *ids, int n, double *h)
{
  const int E = m->E, F = m->F, D = E / m->H;
  double *q = malloc ((size_t) n * E * sizeof (double)), *k = malloc ((size_t) n * E * sizeof (double));
  double *v = malloc ((size_t) n * E * sizeof (double)), *ctx = malloc ((size_t) n * E * sizeof (double));
  double *o = malloc ((size_t) n * E * sizeof (double)), *ff = malloc ((size_t) n * F * sizeof (double));
  double *p = malloc ((size_t) n * sizeof (double));

  for (int t = 0; t < n; t++)
    {
      for (int c = 0; c < E; c++)
        h[t * E + c] = m->tok[(size_t) ids[t] * E + c] + m->pos[(size_t) t * E + c]
                       + (m->type ? m->type[c] : 0);
      bert_ref_layer_norm (h + t * E, E, m->enw, m->enb, m->eps);
    }
  for (int l = 0; l < m->L; l++)
    {
      const BertRefLayer *y = &m->layers[l];
      bert_ref_linear (y->wq, y->bq, E, E, h, n, q);
      bert_ref_linear (y->wk, y->bk, E, E, h, n, k);
      bert_ref_linear (y->wv, y->bv, E, E, h, n, v);
      for (int hd = 0; hd < m->H; hd++)
        for (int i = 0; i < n; i++)
          {
            double mx = -INFINITY, sum = 0;
            for (int j = 0; j < n; j++)
              {
                double s = 0;
                for (int c = 0; c < D; c++)
                  s += q[i * E + hd * D + c] * k[j * E + hd * D + c];
                p[j] = s / sqrt ((double) D);
                mx = p[j] > mx ? p[j] : mx;
              }
            for (int j = 0; j < n; j++)
              sum += p[j] = exp (p[j] - mx);
            for (int c = 0; c < D; c++)
              {
                double s = 0;
                for (int j = 0; j < n; j++)
                  s += p[j] / sum * v[j * E + hd * D + c];
                ctx[i * E + hd * D + c] = s;
              }
          }
      bert_ref_linear (y->wo, y->bo, E, E, ctx, n, o);
      for (int t = 0; t < n; t++)
        {
          for (int c = 0; c < E; c++)
            h[t * E + c] += o[t * E + c];
          bert_ref_layer_norm (h + t * E, E, y->anw, y->anb, m->eps);
        }
      bert_ref_linear (y->up, y->bup, F, E, h, n, ff);
      for (int i = 0; i < n * F; i++)
        ff[i] = 0.5 * ff[i] * (1.0 + erf (ff[i] / sqrt (2.0)));
      bert_ref_linear (y->down, y->bdown, E, F, ff, n, o);
      for (int t = 0; t < n; t++)
        {
          for (int c = 0; c < E; c++)
            h[t * E + c] += o[t * E + c];
          bert_ref_layer_norm (h + t * E, E, y->onw, y->onb, m->eps);
        }
    }
  free (q), free (k), free (v), free (ctx), free (o), free (ff), free (p);
}

/* Pooled (as the model's pooling type says) and L2-normalised: E values. */
static inline void
bert_ref_embed (const BertRef *m, const int32_t *ids, int n, double *out)
{
  const int E = m->E;
  double *h = malloc ((size_t) n * E * sizeof (double)), norm = 0;
  bert_ref_forward (m, ids, n, h);
  for (int c = 0; c < E; c++)
    {
      if (m->pooling == 2)
        out[c] = h[c];
      else if (m->pooling == 3)
        out[c] = h[(size_t) (n - 1) * E + c];
      else
        {
          double s = 0;
          for (int t = 0; t < n; t++)
            s += h[t * E + c];
          out[c] = s / n;
        }
      norm += out[c] * out[c];
    }
  for (int c = 0; c < E; c++)
    out[c] /= sqrt (norm);
  free (h);
}
