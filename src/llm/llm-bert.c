/* SPDX-License-Identifier: GPL-3.0-or-later */
/* BERT-family encoders. Tensor names and metadata keys are those of the
 * published GGUF files (llama.cpp's converter): token_embd, position_embd,
 * token_types, token_embd_norm, blk.N.attn_{q,k,v,output}[_norm],
 * blk.N.ffn_{up,down}, blk.N.layer_output_norm; bert.* hyperparameters,
 * bert.pooling_type, tokenizer.ggml.token_type_count. XLM-RoBERTa files use
 * the same names: the converter already dropped the two position rows
 * RoBERTa skips (padding_idx + 1), so positions count from 0 for both.
 *
 * A batch of sequences runs as one stack of rows through every matrix
 * product (so prompt-sized batches reach the sgemm path); attention is done
 * per sequence and head, and sequences never see each other. */
#include "config.h"

#include "llm-bert.h"

#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows of activations per forward pass: bounds scratch memory (about
 * 4 × n_ff floats a row) however many passages a caller hands in. */
#define BERT_MAX_BATCH_TOKENS 2048

typedef struct {
  llm_type    type;
  const void *data;
  int64_t     rows, cols;
} Mat;

typedef struct {
  Mat    wq, wk, wv, wqkv, wo, up, down;
  float *bq, *bk, *bv, *bqkv, *bo, *bup, *bdown;   /* NULL: no bias */
  float *attn_norm_w, *attn_norm_b, *out_norm_w, *out_norm_b;
} Layer;

struct LlmBert {
  llm_gguf     *gguf;
  LlmVocab     *vocab;
  char         *name;
  LlmBertParams hp;
  Mat           tok_embd, pos_embd, type_embd;
  float        *embd_norm_w, *embd_norm_b;
  Layer        *layers;
  float        *vectors;   /* every norm weight and bias, dequantized */
  size_t        n_vectors_used, n_vectors_cap;
};

static void
set_err (char *err, size_t err_size, const char *fmt, ...)
{
  if (err == NULL || err_size == 0)
    return;
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (err, err_size, fmt, ap);
  va_end (ap);
}

/* ---- loading ------------------------------------------------------------- */

static bool
get_u32 (const llm_gguf *g, const char *key, bool required, uint32_t dflt, uint32_t max,
         int32_t *out, char *err, size_t es)
{
  uint64_t v;
  if (!llm_gguf_get_uint (g, key, &v))
    {
      if (llm_gguf_find_kv (g, key) != NULL)
        {
          set_err (err, es, "metadata %s is not an unsigned integer", key);
          return false;
        }
      if (required)
        {
          set_err (err, es, "metadata %s is missing", key);
          return false;
        }
      v = dflt;
    }
  if (v > max)
    {
      set_err (err, es, "metadata %s = %llu is out of range (at most %u)", key,
               (unsigned long long) v, max);
      return false;
    }
  *out = (int32_t) v;
  return true;
}

static bool
computable (llm_type type, int64_t cols)
{
  const llm_type_traits *t = llm_type_get_traits (type);
  if (t == NULL || !t->can_compute || llm_row_size (type, cols) == 0)
    return false;
  const llm_type_traits *vt = llm_type_get_traits (t->vec_dot_type);
  return vt != NULL && cols % vt->block_size == 0;
}

/* Finds @name and checks it is cols × rows (ne[0] = cols); rows < 0 accepts
 * at least -rows rows. Missing and !required: returns true with m->data NULL. */
static bool
find_mat (LlmBert *b, const char *name, int64_t cols, int64_t rows, bool required,
          Mat *m, char *err, size_t es)
{
  const llm_gguf_tensor *t = llm_gguf_find_tensor (b->gguf, name);
  memset (m, 0, sizeof *m);
  if (t == NULL)
    {
      if (required)
        set_err (err, es, "tensor %s is missing", name);
      return !required;
    }
  bool rows_ok = rows < 0 ? t->ne[1] >= -rows : t->ne[1] == rows;
  if (t->n_dims > 2 || t->ne[0] != cols || !rows_ok)
    {
      set_err (err, es, "tensor %s has shape [%lld, %lld], expected [%lld, %s%lld]", name,
               (long long) t->ne[0], (long long) t->ne[1], (long long) cols,
               rows < 0 ? "≥ " : "", (long long) (rows < 0 ? -rows : rows));
      return false;
    }
  if (!computable (t->type, cols))
    {
      set_err (err, es, "tensor %s has type %s, which Docent's engine cannot compute with",
               name, llm_type_name (t->type));
      return false;
    }
  m->type = t->type;
  m->data = t->data;
  m->rows = t->ne[1];
  m->cols = t->ne[0];
  return true;
}

/* A vector of @n floats (norm weight or bias), dequantized into the model. */
static bool
find_vec (LlmBert *b, const char *name, int64_t n, bool required, float **out,
          char *err, size_t es)
{
  Mat m;
  *out = NULL;
  if (!find_mat (b, name, n, 1, required, &m, err, es))
    return false;
  if (m.data == NULL)
    return true;
  if (b->n_vectors_used + (size_t) n > b->n_vectors_cap)
    {
      set_err (err, es, "internal error: vector space exhausted at %s", name);
      return false;
    }
  float *v = b->vectors + b->n_vectors_used;
  if (!llm_dequantize_row (m.type, m.data, v, n))
    {
      set_err (err, es, "tensor %s: cannot read type %s", name, llm_type_name (m.type));
      return false;
    }
  b->n_vectors_used += (size_t) n;
  *out = v;
  return true;
}

static bool
load_layer (LlmBert *b, int il, Layer *L, char *err, size_t es)
{
  const int64_t E = b->hp.n_embd, F = b->hp.n_ff;
  char name[LLM_GGUF_MAX_NAME];
#define NAME(s) (snprintf (name, sizeof name, "blk.%d." s, il), name)

  if (llm_gguf_find_tensor (b->gguf, NAME ("attn_qkv.weight")) != NULL)
    {
      if (!find_mat (b, NAME ("attn_qkv.weight"), E, 3 * E, true, &L->wqkv, err, es)
          || !find_vec (b, NAME ("attn_qkv.bias"), 3 * E, false, &L->bqkv, err, es))
        return false;
    }
  else if (!find_mat (b, NAME ("attn_q.weight"), E, E, true, &L->wq, err, es)
           || !find_mat (b, NAME ("attn_k.weight"), E, E, true, &L->wk, err, es)
           || !find_mat (b, NAME ("attn_v.weight"), E, E, true, &L->wv, err, es)
           || !find_vec (b, NAME ("attn_q.bias"), E, false, &L->bq, err, es)
           || !find_vec (b, NAME ("attn_k.bias"), E, false, &L->bk, err, es)
           || !find_vec (b, NAME ("attn_v.bias"), E, false, &L->bv, err, es))
    return false;
  return find_mat (b, NAME ("attn_output.weight"), E, E, true, &L->wo, err, es)
      && find_vec (b, NAME ("attn_output.bias"), E, false, &L->bo, err, es)
      && find_vec (b, NAME ("attn_output_norm.weight"), E, true, &L->attn_norm_w, err, es)
      && find_vec (b, NAME ("attn_output_norm.bias"), E, true, &L->attn_norm_b, err, es)
      && find_mat (b, NAME ("ffn_up.weight"), E, F, true, &L->up, err, es)
      && find_vec (b, NAME ("ffn_up.bias"), F, false, &L->bup, err, es)
      && find_mat (b, NAME ("ffn_down.weight"), F, E, true, &L->down, err, es)
      && find_vec (b, NAME ("ffn_down.bias"), E, false, &L->bdown, err, es)
      && find_vec (b, NAME ("layer_output_norm.weight"), E, true, &L->out_norm_w, err, es)
      && find_vec (b, NAME ("layer_output_norm.bias"), E, true, &L->out_norm_b, err, es);
#undef NAME
}

LlmBert *
llm_bert_from_gguf (llm_gguf *gguf, char *err, size_t es)
{
  LlmBert *b = calloc (1, sizeof *b);
  char *arch = NULL;
  uint32_t pooling = LLM_BERT_POOL_MEAN;
  int32_t pool_i = 0;
  double eps = 1e-12;
  LlmBertParams *hp;

  if (b == NULL)
    {
      llm_gguf_close (gguf);
      set_err (err, es, "out of memory");
      return NULL;
    }
  b->gguf = gguf;
  hp = &b->hp;

  arch = llm_gguf_dup_string (gguf, "general.architecture");
  if (arch == NULL)
    {
      set_err (err, es, "metadata general.architecture is missing");
      goto fail;
    }
  if (strcmp (arch, "bert") != 0)
    {
      set_err (err, es, "architecture \"%s\" is not an encoder model (Docent embeds with \"bert\" "
               "models: bge, e5, all-MiniLM, multilingual-e5, bge-m3)", arch);
      goto fail;
    }

  if (!get_u32 (gguf, "bert.embedding_length", true, 0, 1 << 16, &hp->n_embd, err, es)
      || !get_u32 (gguf, "bert.block_count", true, 0, 1024, &hp->n_layer, err, es)
      || !get_u32 (gguf, "bert.attention.head_count", true, 0, 1024, &hp->n_head, err, es)
      || !get_u32 (gguf, "bert.feed_forward_length", true, 0, 1 << 18, &hp->n_ff, err, es)
      || !get_u32 (gguf, "bert.context_length", true, 0, 1 << 20, &hp->n_ctx, err, es)
      || !get_u32 (gguf, "bert.pooling_type", false, LLM_BERT_POOL_MEAN, 1000, &pool_i, err, es)
      || !get_u32 (gguf, "tokenizer.ggml.token_type_count", false, 0, 1 << 16, &hp->n_token_types, err, es))
    goto fail;
  pooling = (uint32_t) pool_i;
  if (hp->n_embd == 0 || hp->n_layer == 0 || hp->n_head == 0 || hp->n_ff == 0 || hp->n_ctx == 0)
    {
      set_err (err, es, "metadata: embedding_length, block_count, head_count, feed_forward_length "
               "and context_length must all be positive");
      goto fail;
    }
  if (hp->n_embd % hp->n_head != 0)
    {
      set_err (err, es, "metadata: embedding_length %d is not a multiple of head_count %d",
               hp->n_embd, hp->n_head);
      goto fail;
    }
  if (llm_gguf_find_kv (gguf, "bert.attention.layer_norm_epsilon") != NULL
      && !llm_gguf_get_float (gguf, "bert.attention.layer_norm_epsilon", &eps))
    {
      set_err (err, es, "metadata bert.attention.layer_norm_epsilon is not a number");
      goto fail;
    }
  if (!(eps >= 0 && eps < 1))
    {
      set_err (err, es, "metadata bert.attention.layer_norm_epsilon = %g is out of range", eps);
      goto fail;
    }
  hp->eps = (float) eps;
  {
    bool causal = false;
    if (llm_gguf_get_bool (gguf, "bert.attention.causal", &causal) && causal)
      {
        set_err (err, es, "metadata bert.attention.causal is true: not an encoder");
        goto fail;
      }
  }
  switch (pooling)
    {
    case LLM_BERT_POOL_NONE:
    case LLM_BERT_POOL_MEAN: hp->pooling = LLM_BERT_POOL_MEAN; break;
    case LLM_BERT_POOL_CLS:  hp->pooling = LLM_BERT_POOL_CLS; break;
    case LLM_BERT_POOL_LAST: hp->pooling = LLM_BERT_POOL_LAST; break;
    default:
      set_err (err, es, "bert.pooling_type %u is not a sentence embedding (4 is a reranker); "
               "Docent pools by mean (1), CLS (2) or last token (3)", pooling);
      goto fail;
    }

  {
    char verr[256] = "";
    b->vocab = llm_vocab_from_gguf (gguf, verr, sizeof verr);
    if (b->vocab == NULL)
      {
        set_err (err, es, "tokenizer: %s", verr);
        goto fail;
      }
  }
  hp->n_vocab = llm_vocab_n_tokens (b->vocab);
  b->name = llm_gguf_dup_string (gguf, "general.name");

  /* room for every norm weight and bias */
  b->n_vectors_cap = 2 * (size_t) hp->n_embd
                     + (size_t) hp->n_layer * (10 * (size_t) hp->n_embd + (size_t) hp->n_ff);
  b->vectors = malloc (b->n_vectors_cap * sizeof (float));
  b->layers = calloc ((size_t) hp->n_layer, sizeof (Layer));
  if (b->vectors == NULL || b->layers == NULL)
    {
      set_err (err, es, "out of memory");
      goto fail;
    }

  if (!find_mat (b, "token_embd.weight", hp->n_embd, hp->n_vocab, true, &b->tok_embd, err, es)
      || !find_vec (b, "token_embd_norm.weight", hp->n_embd, true, &b->embd_norm_w, err, es)
      || !find_vec (b, "token_embd_norm.bias", hp->n_embd, true, &b->embd_norm_b, err, es))
    goto fail;
  /* positions: at least one row; a table shorter than context_length caps it */
  if (!find_mat (b, "position_embd.weight", hp->n_embd, -1, true, &b->pos_embd, err, es))
    goto fail;
  if (b->pos_embd.rows < hp->n_ctx)
    hp->n_ctx = (int32_t) b->pos_embd.rows;
  if (llm_gguf_find_tensor (gguf, "token_types.weight") != NULL)
    {
      const llm_gguf_tensor *t = llm_gguf_find_tensor (gguf, "token_types.weight");
      if (hp->n_token_types == 0)
        hp->n_token_types = (int32_t) t->ne[1];
      if (!find_mat (b, "token_types.weight", hp->n_embd, hp->n_token_types, true,
                     &b->type_embd, err, es))
        goto fail;
    }
  else
    hp->n_token_types = 0;

  for (int il = 0; il < hp->n_layer; il++)
    if (!load_layer (b, il, &b->layers[il], err, es))
      goto fail;
  hp->weight_type = b->layers[0].wqkv.data ? b->layers[0].wqkv.type : b->layers[0].wq.type;

  free (arch);
  return b;

fail:
  free (arch);
  llm_bert_free (b);
  return NULL;
}

LlmBert *
llm_bert_load (const char *path, char *err, size_t es)
{
  llm_gguf_error gerr = { 0 };
  llm_gguf *g = llm_gguf_open (path, &gerr);
  if (g == NULL)
    {
      set_err (err, es, "%s", gerr.message);
      return NULL;
    }
  return llm_bert_from_gguf (g, err, es);
}

void
llm_bert_free (LlmBert *b)
{
  if (b == NULL)
    return;
  llm_vocab_free (b->vocab);
  llm_gguf_close (b->gguf);
  free (b->name);
  free (b->layers);
  free (b->vectors);
  free (b);
}

const LlmBertParams *
llm_bert_get_params (const LlmBert *b)
{
  return &b->hp;
}

const LlmVocab *
llm_bert_get_vocab (const LlmBert *b)
{
  return b->vocab;
}

const char *
llm_bert_get_name (const LlmBert *b)
{
  return b->name;
}

LlmToken *
llm_bert_tokenize (const LlmBert *b, const char *text, size_t len, size_t *n_tokens)
{
  size_t n = 0;
  LlmToken *ids = llm_tokenize (b->vocab, text, len, LLM_TOKENIZE_ADD_SPECIAL, &n);
  if (ids == NULL)
    return NULL;
  if (n > (size_t) b->hp.n_ctx)
    {
      /* keep the closing [SEP] / </s>, as sentence-transformers truncation does */
      LlmToken last = ids[n - 1];
      bool closing = llm_vocab_get_token_type (b->vocab, last) == LLM_TOKEN_TYPE_CONTROL;
      n = (size_t) b->hp.n_ctx;
      if (closing)
        ids[n - 1] = last;
    }
  *n_tokens = n;
  return ids;
}

/* ---- forward ------------------------------------------------------------- */

static void
layer_norm (float *x, int64_t n, const float *w, const float *b, float eps)
{
  double mean = 0, var = 0;
  for (int64_t i = 0; i < n; i++)
    mean += x[i];
  mean /= (double) n;
  for (int64_t i = 0; i < n; i++)
    {
      double d = x[i] - mean;
      var += d * d;
    }
  var /= (double) n;
  float scale = (float) (1.0 / sqrt (var + eps));
  for (int64_t i = 0; i < n; i++)
    x[i] = ((float) (x[i] - mean) * scale) * w[i] + b[i];
}

/* erf as a rational function of x on [-4, 4] (beyond, erf is ±1 in float):
 * the published coefficients of Eigen's fast float erf, within 4.2e-7 of
 * libm's erf. No calls, so the loop over a batch vectorizes; libm's erff
 * was 10% of an embedding. */
static inline float
erf_approx (float x)
{
  x = x < -4.0f ? -4.0f : x > 4.0f ? 4.0f : x;
  float x2 = x * x;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 - 2.10102402082508e-06f;
  p = p * x2 - 5.69250639462346e-05f;
  p = p * x2 - 7.34990630326855e-04f;
  p = p * x2 - 2.95459980854025e-03f;
  p = p * x2 - 1.60960333262415e-02f;
  float q = -1.45660718464996e-05f;
  q = q * x2 - 2.13374055278905e-04f;
  q = q * x2 - 1.68282697438203e-03f;
  q = q * x2 - 7.37332916720468e-03f;
  q = q * x2 - 1.42647390514189e-02f;
  return x * p / q;
}

/* GELU as BERT trained it (hidden_act "gelu": the erf form, not tanh). */
static inline float
gelu (float x)
{
  return 0.5f * x * (1.0f + erf_approx (x * 0.70710678118654752f));
}

static bool
matmul_bias (llm_pool *pool, const Mat *m, const float *bias, const float *X, int64_t n,
             float *Y, char *err, size_t es, const char *what)
{
  if (!llm_matmul (pool, m->type, m->data, m->rows, m->cols, X, n, Y, LLM_MATMUL_AUTO))
    {
      set_err (err, es, "%s: matrix product failed (type %s, or out of memory)", what,
               llm_type_name (m->type));
      return false;
    }
  if (bias)
    for (int64_t t = 0; t < n; t++)
      for (int64_t r = 0; r < m->rows; r++)
        Y[t * m->rows + r] += bias[r];
  return true;
}

typedef struct {
  const float  *q, *k, *v;     /* rows of stride ld */
  int64_t       ld;
  float        *out;           /* T × E */
  int64_t       E, d_head;
  int           n_head;
  const size_t *starts, *lens;
  size_t        n_seqs;
  int64_t       max_len;
  bool          failed;
} AttnJob;

/* Per (sequence, head): S = Q Kᵀ / √d, softmax by rows, O = S V — two
 * sgemm calls on strided views of the Q/K/V rows, for blocks of query rows
 * so the scores stay ATTN_ROWS × L however long the sequence. */
#define ATTN_ROWS 256

static void
attn_worker (void *data, int ith, int nth)
{
  AttnJob *j = data;
  size_t n_items = j->n_seqs * (size_t) j->n_head;
  int64_t rows = j->max_len < ATTN_ROWS ? j->max_len : ATTN_ROWS;
  float *scores = malloc ((size_t) rows * (size_t) j->max_len * sizeof (float));
  const float scale = 1.0f / sqrtf ((float) j->d_head);

  if (scores == NULL)
    {
      j->failed = true;
      return;
    }
  for (size_t item = (size_t) ith; item < n_items; item += (size_t) nth)
    {
      size_t s = item / (size_t) j->n_head;
      int64_t h = (int64_t) (item % (size_t) j->n_head);
      int64_t L = (int64_t) j->lens[s], off = h * j->d_head;
      const float *k0 = j->k + j->starts[s] * j->ld + off;
      const float *v0 = j->v + j->starts[s] * j->ld + off;

      for (int64_t i0 = 0; i0 < L; i0 += rows)
        {
          int64_t b = L - i0 < rows ? L - i0 : rows;
          const float *q0 = j->q + (j->starts[s] + (size_t) i0) * j->ld + off;
          float *o0 = j->out + (j->starts[s] + (size_t) i0) * j->E + off;

          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (blasint) b, (blasint) L,
                       (blasint) j->d_head, scale, q0, (blasint) j->ld, k0, (blasint) j->ld,
                       0.0f, scores, (blasint) L);
          for (int64_t i = 0; i < b; i++)
            {
              float *row = scores + i * L, mx = -INFINITY, sum = 0;
              for (int64_t t = 0; t < L; t++)
                mx = row[t] > mx ? row[t] : mx;
              for (int64_t t = 0; t < L; t++)
                sum += row[t] = expf (row[t] - mx);
              for (int64_t t = 0; t < L; t++)
                row[t] /= sum;
            }
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint) b, (blasint) j->d_head,
                       (blasint) L, 1.0f, scores, (blasint) L, v0, (blasint) j->ld,
                       0.0f, o0, (blasint) j->E);
        }
    }
  free (scores);
}

static bool
embed_row (const Mat *m, int64_t row, float *out)
{
  size_t rs = llm_row_size (m->type, m->cols);
  return llm_dequantize_row (m->type, (const uint8_t *) m->data + (size_t) row * rs, out, m->cols);
}

bool
llm_bert_forward (const LlmBert *b, llm_pool *pool,
                  const LlmToken *const *tokens, const size_t *n_tokens, size_t n_seqs,
                  float *hidden, char *err, size_t es)
{
  const LlmBertParams *hp = &b->hp;
  const int64_t E = hp->n_embd, F = hp->n_ff;
  size_t T = 0;
  int64_t max_len = 0;
  bool ok = false;
  size_t *starts = NULL;
  float *qkv = NULL, *ctx = NULL, *tmp = NULL, *row = NULL;

  for (size_t s = 0; s < n_seqs; s++)
    {
      if (n_tokens[s] > (size_t) hp->n_ctx)
        {
          set_err (err, es, "sequence %zu has %zu tokens; the model takes at most %d",
                   s, n_tokens[s], hp->n_ctx);
          return false;
        }
      for (size_t i = 0; i < n_tokens[s]; i++)
        if (tokens[s][i] < 0 || tokens[s][i] >= hp->n_vocab)
          {
            set_err (err, es, "token id %d out of range (vocabulary of %d)",
                     tokens[s][i], hp->n_vocab);
            return false;
          }
      T += n_tokens[s];
      if ((int64_t) n_tokens[s] > max_len)
        max_len = (int64_t) n_tokens[s];
    }
  if (T == 0)
    return true;

  starts = malloc (n_seqs * sizeof *starts);
  qkv = malloc (T * 3 * (size_t) E * sizeof (float));
  ctx = malloc (T * (size_t) E * sizeof (float));
  tmp = malloc (T * (size_t) (F > E ? F : E) * sizeof (float));
  row = malloc ((size_t) E * sizeof (float));
  if (starts == NULL || qkv == NULL || ctx == NULL || tmp == NULL || row == NULL)
    {
      set_err (err, es, "out of memory for a batch of %zu tokens", T);
      goto out;
    }

  /* embeddings: token + position + type 0, then LayerNorm */
  for (size_t s = 0, t0 = 0; s < n_seqs; t0 += n_tokens[s], s++)
    {
      starts[s] = t0;
      for (size_t i = 0; i < n_tokens[s]; i++)
        {
          float *x = hidden + (t0 + i) * (size_t) E;
          if (!embed_row (&b->tok_embd, tokens[s][i], x) || !embed_row (&b->pos_embd, (int64_t) i, row))
            {
              set_err (err, es, "cannot read the embedding tables");
              goto out;
            }
          for (int64_t c = 0; c < E; c++)
            x[c] += row[c];
          if (b->type_embd.data != NULL)
            {
              embed_row (&b->type_embd, 0, row);
              for (int64_t c = 0; c < E; c++)
                x[c] += row[c];
            }
          layer_norm (x, E, b->embd_norm_w, b->embd_norm_b, hp->eps);
        }
    }

  for (int il = 0; il < hp->n_layer; il++)
    {
      const Layer *L = &b->layers[il];
      AttnJob job = { 0 };
      job.E = E;
      job.n_head = hp->n_head;
      job.d_head = E / hp->n_head;
      job.starts = starts;
      job.lens = n_tokens;
      job.n_seqs = n_seqs;
      job.max_len = max_len;
      job.out = ctx;
      if (L->wqkv.data != NULL)
        {
          if (!matmul_bias (pool, &L->wqkv, L->bqkv, hidden, (int64_t) T, qkv, err, es, "attn_qkv"))
            goto out;
          job.q = qkv, job.k = qkv + E, job.v = qkv + 2 * E, job.ld = 3 * E;
        }
      else
        {
          float *q = qkv, *k = qkv + T * (size_t) E, *v = qkv + 2 * T * (size_t) E;
          if (!matmul_bias (pool, &L->wq, L->bq, hidden, (int64_t) T, q, err, es, "attn_q")
              || !matmul_bias (pool, &L->wk, L->bk, hidden, (int64_t) T, k, err, es, "attn_k")
              || !matmul_bias (pool, &L->wv, L->bv, hidden, (int64_t) T, v, err, es, "attn_v"))
            goto out;
          job.q = q, job.k = k, job.v = v, job.ld = E;
        }
      llm_pool_run (pool, attn_worker, &job);
      if (job.failed)
        {
          set_err (err, es, "out of memory in attention");
          goto out;
        }
      if (!matmul_bias (pool, &L->wo, L->bo, ctx, (int64_t) T, tmp, err, es, "attn_output"))
        goto out;
      for (size_t t = 0; t < T; t++)
        {
          float *x = hidden + t * (size_t) E;
          for (int64_t c = 0; c < E; c++)
            x[c] += tmp[t * (size_t) E + (size_t) c];
          layer_norm (x, E, L->attn_norm_w, L->attn_norm_b, hp->eps);
        }
      if (!matmul_bias (pool, &L->up, L->bup, hidden, (int64_t) T, tmp, err, es, "ffn_up"))
        goto out;
      for (size_t i = 0; i < T * (size_t) F; i++)
        tmp[i] = gelu (tmp[i]);
      if (!matmul_bias (pool, &L->down, L->bdown, tmp, (int64_t) T, ctx, err, es, "ffn_down"))
        goto out;
      for (size_t t = 0; t < T; t++)
        {
          float *x = hidden + t * (size_t) E;
          for (int64_t c = 0; c < E; c++)
            x[c] += ctx[t * (size_t) E + (size_t) c];
          layer_norm (x, E, L->out_norm_w, L->out_norm_b, hp->eps);
        }
    }
  ok = true;

out:
  free (starts);
  free (qkv);
  free (ctx);
  free (tmp);
  free (row);
  return ok;
}

static void
pool_and_normalize (const LlmBertParams *hp, const float *h, size_t n, float *out)
{
  const int64_t E = hp->n_embd;
  memset (out, 0, (size_t) E * sizeof (float));
  if (n == 0)
    return;
  switch (hp->pooling)
    {
    case LLM_BERT_POOL_CLS:
      memcpy (out, h, (size_t) E * sizeof (float));
      break;
    case LLM_BERT_POOL_LAST:
      memcpy (out, h + (n - 1) * (size_t) E, (size_t) E * sizeof (float));
      break;
    default:
      {
        double *acc = calloc ((size_t) E, sizeof (double));
        if (acc == NULL)
          return;
        for (size_t t = 0; t < n; t++)
          for (int64_t c = 0; c < E; c++)
            acc[c] += h[t * (size_t) E + (size_t) c];
        for (int64_t c = 0; c < E; c++)
          out[c] = (float) (acc[c] / (double) n);
        free (acc);
      }
    }
  double norm = 0;
  for (int64_t c = 0; c < E; c++)
    norm += (double) out[c] * out[c];
  if (norm > 0)
    {
      float inv = (float) (1.0 / sqrt (norm));
      for (int64_t c = 0; c < E; c++)
        out[c] *= inv;
    }
}

bool
llm_bert_embed_tokens (const LlmBert *b, llm_pool *pool,
                       const LlmToken *const *tokens, const size_t *n_tokens, size_t n_seqs,
                       float *out, char *err, size_t es)
{
  const int64_t E = b->hp.n_embd;
  size_t cap = BERT_MAX_BATCH_TOKENS > (size_t) b->hp.n_ctx ? BERT_MAX_BATCH_TOKENS : (size_t) b->hp.n_ctx;
  float *hidden = malloc (cap * (size_t) E * sizeof (float));
  bool ok = true;

  if (hidden == NULL)
    {
      set_err (err, es, "out of memory");
      return false;
    }
  for (size_t s0 = 0; s0 < n_seqs && ok;)
    {
      /* as many whole sequences as fit in the scratch rows */
      size_t s1 = s0, T = 0;
      while (s1 < n_seqs && (s1 == s0 || T + n_tokens[s1] <= cap))
        T += n_tokens[s1++];
      if (T > cap)
        {
          set_err (err, es, "sequence %zu has %zu tokens; the model takes at most %d",
                   s0, n_tokens[s0], b->hp.n_ctx);
          ok = false;
          break;
        }
      ok = llm_bert_forward (b, pool, tokens + s0, n_tokens + s0, s1 - s0, hidden, err, es);
      for (size_t s = s0, t0 = 0; ok && s < s1; t0 += n_tokens[s], s++)
        pool_and_normalize (&b->hp, hidden + t0 * (size_t) E, n_tokens[s], out + s * (size_t) E);
      s0 = s1;
    }
  free (hidden);
  return ok;
}

bool
llm_bert_embed_texts (const LlmBert *b, llm_pool *pool,
                      const char *const *texts, size_t n_texts,
                      float *out, char *err, size_t es)
{
  LlmToken **ids = calloc (n_texts ? n_texts : 1, sizeof *ids);
  size_t *lens = calloc (n_texts ? n_texts : 1, sizeof *lens);
  bool ok = ids != NULL && lens != NULL;

  if (!ok)
    set_err (err, es, "out of memory");
  for (size_t i = 0; ok && i < n_texts; i++)
    {
      ids[i] = llm_bert_tokenize (b, texts[i], strlen (texts[i]), &lens[i]);
      if (ids[i] == NULL)
        {
          set_err (err, es, "out of memory while tokenizing");
          ok = false;
        }
    }
  if (ok)
    ok = llm_bert_embed_tokens (b, pool, (const LlmToken *const *) ids, lens, n_texts, out, err, es);
  for (size_t i = 0; ids && i < n_texts; i++)
    free (ids[i]);
  free (ids);
  free (lens);
  return ok;
}

/* ---- random models for benchmarks --------------------------------------- */

typedef struct {
  llm_gguf_writer *w;
  void           **bufs;
  size_t           n_bufs;
  uint64_t         rng;
  bool             oom;
} RandomModel;

static float
rnd (RandomModel *m)
{
  m->rng ^= m->rng << 13;
  m->rng ^= m->rng >> 7;
  m->rng ^= m->rng << 17;
  return (float) ((double) (m->rng >> 11) / (double) (1ull << 52) - 1.0);
}

static void
random_tensor (RandomModel *m, const char *name, int64_t cols, int64_t rows,
               float center, float scale, llm_type type)
{
  size_t rs = llm_row_size (type, cols);
  uint8_t *data = malloc (rs * (size_t) rows);
  float *row = malloc ((size_t) cols * sizeof (float));
  void **bufs = realloc (m->bufs, (m->n_bufs + 1) * sizeof *bufs);
  int64_t ne[2] = { cols, rows };

  if (bufs)
    m->bufs = bufs;
  if (data == NULL || row == NULL || bufs == NULL)
    {
      free (data);
      free (row);
      m->oom = true;
      return;
    }
  for (int64_t r = 0; r < rows; r++)
    {
      for (int64_t c = 0; c < cols; c++)
        row[c] = center + scale * rnd (m);
      llm_quantize_row (type, row, data + (size_t) r * rs, cols);
    }
  free (row);
  m->bufs[m->n_bufs++] = data;
  llm_gguf_writer_add_tensor (m->w, name, type, rows == 1 ? 1 : 2, ne, data);
}

bool
llm_bert_write_random (const char *path, const LlmBertParams *hp, llm_type type,
                       uint64_t seed, char *err, size_t es)
{
  RandomModel m = { llm_gguf_writer_new (), NULL, 0, seed * 0x9E3779B97F4A7C15ull + 1, false };
  const int64_t E = hp->n_embd, F = hp->n_ff, V = hp->n_vocab;
  static const char *const specials[] = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" };
  char **tokens = NULL;
  int32_t *types = NULL;
  llm_gguf_error gerr = { 0 };
  bool ok = false;
  char name[64];

  if (m.w == NULL || V < 6 || E <= 0 || F <= 0 || hp->n_head <= 0 || E % hp->n_head != 0
      || hp->n_layer <= 0 || hp->n_ctx <= 0 || !computable (type, E) || !computable (type, F))
    {
      set_err (err, es, "cannot write a model of this shape as %s", llm_type_name (type));
      goto out;
    }
  tokens = calloc ((size_t) V, sizeof *tokens);
  types = calloc ((size_t) V, sizeof *types);
  if (tokens == NULL || types == NULL)
    goto oom;
  for (int64_t i = 0; i < V; i++)
    {
      tokens[i] = malloc (16);
      if (tokens[i] == NULL)
        goto oom;
      if (i < 5)
        snprintf (tokens[i], 16, "%s", specials[i]);
      else
        snprintf (tokens[i], 16, "\xe2\x96\x81w%lld", (long long) i);  /* "▁w…": a word start, as published files spell it */
      types[i] = i < 5 ? LLM_TOKEN_TYPE_CONTROL : LLM_TOKEN_TYPE_NORMAL;
    }
  llm_gguf_writer_set_string (m.w, "general.architecture", "bert");
  llm_gguf_writer_set_string (m.w, "general.name", "random bert");
  llm_gguf_writer_set_u32 (m.w, "bert.context_length", (uint32_t) hp->n_ctx);
  llm_gguf_writer_set_u32 (m.w, "bert.embedding_length", (uint32_t) E);
  llm_gguf_writer_set_u32 (m.w, "bert.feed_forward_length", (uint32_t) F);
  llm_gguf_writer_set_u32 (m.w, "bert.block_count", (uint32_t) hp->n_layer);
  llm_gguf_writer_set_u32 (m.w, "bert.attention.head_count", (uint32_t) hp->n_head);
  llm_gguf_writer_set_f32 (m.w, "bert.attention.layer_norm_epsilon", 1e-12f);
  llm_gguf_writer_set_bool (m.w, "bert.attention.causal", false);
  llm_gguf_writer_set_u32 (m.w, "bert.pooling_type", (uint32_t) hp->pooling);
  llm_gguf_writer_set_u32 (m.w, "tokenizer.ggml.token_type_count",
                           (uint32_t) (hp->n_token_types > 0 ? hp->n_token_types : 2));
  llm_gguf_writer_set_string (m.w, "tokenizer.ggml.model", "bert");
  llm_gguf_writer_set_string_array (m.w, "tokenizer.ggml.tokens", (const char *const *) tokens, (uint64_t) V);
  llm_gguf_writer_set_array (m.w, "tokenizer.ggml.token_type", LLM_GGUF_TYPE_INT32, types, (uint64_t) V);
  llm_gguf_writer_set_u32 (m.w, "tokenizer.ggml.unknown_token_id", 1);
  llm_gguf_writer_set_u32 (m.w, "tokenizer.ggml.seperator_token_id", 3);
  llm_gguf_writer_set_u32 (m.w, "tokenizer.ggml.padding_token_id", 0);
  llm_gguf_writer_set_u32 (m.w, "tokenizer.ggml.cls_token_id", 2);
  llm_gguf_writer_set_u32 (m.w, "tokenizer.ggml.mask_token_id", 4);

  random_tensor (&m, "token_embd.weight", E, V, 0, 1.0f, type);
  random_tensor (&m, "position_embd.weight", E, hp->n_ctx, 0, 0.5f, LLM_TYPE_F32);
  random_tensor (&m, "token_types.weight", E, hp->n_token_types > 0 ? hp->n_token_types : 2, 0, 0.5f, LLM_TYPE_F32);
  random_tensor (&m, "token_embd_norm.weight", E, 1, 1, 0.2f, LLM_TYPE_F32);
  random_tensor (&m, "token_embd_norm.bias", E, 1, 0, 0.1f, LLM_TYPE_F32);
  for (int il = 0; il < hp->n_layer; il++)
    {
      float a = sqrtf (3.0f / (float) E), af = sqrtf (3.0f / (float) F);
#define N(s) (snprintf (name, sizeof name, "blk.%d." s, il), name)
      random_tensor (&m, N ("attn_q.weight"), E, E, 0, a, type);
      random_tensor (&m, N ("attn_q.bias"), E, 1, 0, 0.1f, LLM_TYPE_F32);
      random_tensor (&m, N ("attn_k.weight"), E, E, 0, a, type);
      random_tensor (&m, N ("attn_k.bias"), E, 1, 0, 0.1f, LLM_TYPE_F32);
      random_tensor (&m, N ("attn_v.weight"), E, E, 0, a, type);
      random_tensor (&m, N ("attn_v.bias"), E, 1, 0, 0.1f, LLM_TYPE_F32);
      random_tensor (&m, N ("attn_output.weight"), E, E, 0, a, type);
      random_tensor (&m, N ("attn_output.bias"), E, 1, 0, 0.1f, LLM_TYPE_F32);
      random_tensor (&m, N ("attn_output_norm.weight"), E, 1, 1, 0.2f, LLM_TYPE_F32);
      random_tensor (&m, N ("attn_output_norm.bias"), E, 1, 0, 0.1f, LLM_TYPE_F32);
      random_tensor (&m, N ("ffn_up.weight"), E, F, 0, a, type);
      random_tensor (&m, N ("ffn_up.bias"), F, 1, 0, 0.1f, LLM_TYPE_F32);
      random_tensor (&m, N ("ffn_down.weight"), F, E, 0, af, type);
      random_tensor (&m, N ("ffn_down.bias"), E, 1, 0, 0.1f, LLM_TYPE_F32);
      random_tensor (&m, N ("layer_output_norm.weight"), E, 1, 1, 0.2f, LLM_TYPE_F32);
      random_tensor (&m, N ("layer_output_norm.bias"), E, 1, 0, 0.1f, LLM_TYPE_F32);
#undef N
    }
  if (m.oom)
    goto oom;
  ok = llm_gguf_writer_write_file (m.w, path, &gerr);
  if (!ok)
    set_err (err, es, "%s", gerr.message);
  goto out;

oom:
  set_err (err, es, "out of memory");
out:
  for (int64_t i = 0; tokens && i < V; i++)
    free (tokens[i]);
  free (tokens);
  free (types);
  for (size_t i = 0; i < m.n_bufs; i++)
    free (m.bufs[i]);
  free (m.bufs);
  llm_gguf_writer_free (m.w);
  return ok;
}
