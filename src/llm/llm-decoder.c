/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Decoder-only transformers (llama, qwen2, qwen3) over memory-mapped GGUF
 * weights: RMSNorm, RoPE, grouped-query attention with a KV cache, SwiGLU.
 * Matrix products go through llm-matmul (quantized activations as other
 * GGUF runtimes use them, so perplexities agree). */
#include "llm-decoder.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <time.h>

#include "llm-gguf.h"
#include "llm-matmul.h"
#include "llm-quant.h"

/* Sixteen floats as one value: GCC and Clang lower it to whatever vector
 * registers the target has. Loads and stores through memcpy: no alignment
 * is assumed. */
typedef float v16f __attribute__ ((vector_size (64)));

/* The helpers below pass vectors by value; they are always inlined, so no
 * call crosses an ABI boundary. */
#pragma GCC diagnostic ignored "-Wpsabi"

static inline v16f
v16f_load (const float *p)
{
  v16f v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
v16f_store (float *p, v16f v)
{
  memcpy (p, &v, sizeof v);
}

/* A pairwise sum of the sixteen lanes, always in the same order: halves
 * added as vectors down to four lanes. */
typedef float v8f __attribute__ ((vector_size (32)));
typedef float v4f __attribute__ ((vector_size (16)));

static inline float
v16f_sum (v16f v)
{
  v8f a, b;
  v4f c, e;
  memcpy (&a, &v, sizeof a);
  memcpy (&b, (const char *) &v + sizeof a, sizeof b);
  a += b;
  memcpy (&c, &a, sizeof c);
  memcpy (&e, (const char *) &a + sizeof c, sizeof e);
  c += e;
  return (c[0] + c[2]) + (c[1] + c[3]);
}

/* Prefill runs in batches of at most this many tokens: bounded buffers
 * whatever the context length. */
#define MAX_BATCH 256

/* Attention heads of at most this many dimensions (models have 64-256). */
#define MAX_HEAD_DIM 1024

typedef struct {
  const void *data;
  llm_type    type;
  int64_t     rows, cols;
} Matrix;

typedef struct {
  const float *attn_norm, *ffn_norm;
  const float *q_bias, *k_bias, *v_bias;   /* qwen2 */
  const float *q_norm, *k_norm;            /* qwen3 */
  Matrix wq, wk, wv, wo, gate, up, down;
} Layer;

struct llm_decoder {
  llm_gguf  *gguf;
  LlmVocab  *vocab;
  llm_pool  *pool;
  char       arch[32];
  bool       neox;          /* RoPE pairs (i, i + d/2) instead of (2i, 2i+1) */

  int        n_vocab, n_embd, n_layer, n_ff, n_head, n_kv, head_dim, rot_dim;
  int        n_ctx, n_past;
  float      eps, rope_base, rope_scale;

  Matrix     tok_embd, output;
  const float *output_norm;
  Layer     *layers;

  void      *weights;             /* the matrices copied onto huge pages, or NULL */
  void      *k_cache, *v_cache;   /* [layer][kv head][pos][head_dim]: one head's
                                  * rows are one stream for attention */
  bool       kv_f16;              /* the caches hold F16 (else floats): half the
                                  * memory and the bytes attention reads, the
                                  * precision other GGUF runtimes keep; floats
                                  * only for a model whose weights are floats */
  float     *inv_freq;            /* rot_dim / 2 */
  float     *rope_cs;             /* [token][2][rot_dim]: see rope_angles */

  /* Work buffers for one batch. */
  float *x, *xn, *q, *k, *v, *att, *o, *g, *u, *scores;

  /* Single-token decode: every matrix computable by llm_matvec_rows, and
   * activations converted once per dot type (ACT_SLOTS buffers). */
  bool     fast_decode;
  uint8_t *act_buf;
  size_t   act_slot_size;
};

static bool
fail (char *err, size_t err_size, const char *fmt, ...)
{
  va_list ap;

  if (err != NULL && err_size > 0)
    {
      va_start (ap, fmt);
      vsnprintf (err, err_size, fmt, ap);
      va_end (ap);
    }
  return false;
}

static bool
get_u (llm_gguf *g, const char *arch, const char *key, uint64_t *out, bool required,
       char *err, size_t err_size)
{
  char full[128];
  int64_t i;

  snprintf (full, sizeof full, "%s.%s", arch, key);
  if (llm_gguf_get_uint (g, full, out))
    return true;
  if (llm_gguf_get_int (g, full, &i) && i >= 0)
    {
      *out = (uint64_t) i;
      return true;
    }
  if (required)
    return fail (err, err_size, "the model lacks the metadata key %s", full);
  return false;
}

static bool
get_f (llm_gguf *g, const char *arch, const char *key, float *out)
{
  char full[128];
  double d;

  snprintf (full, sizeof full, "%s.%s", arch, key);
  if (!llm_gguf_get_float (g, full, &d))
    return false;
  *out = (float) d;
  return true;
}

/* A 2-D weight [rows × cols] (GGUF ne[0] = cols). */
static bool
get_matrix (llm_decoder *d, const char *name, int64_t rows, int64_t cols, bool required,
            Matrix *m, char *err, size_t err_size)
{
  const llm_gguf_tensor *t = llm_gguf_find_tensor (d->gguf, name);

  memset (m, 0, sizeof *m);
  if (t == NULL)
    return required ? fail (err, err_size, "the model lacks the tensor %s", name) : true;
  if (t->ne[0] != cols || t->ne[1] != rows || t->ne[2] != 1 || t->ne[3] != 1)
    return fail (err, err_size, "tensor %s is %lld × %lld, expected %lld × %lld from the metadata",
                 name, (long long) t->ne[1], (long long) t->ne[0], (long long) rows, (long long) cols);
  if (llm_type_get_traits (t->type) == NULL)
    return fail (err, err_size, "tensor %s has a type this engine cannot use", name);
  m->data = t->data;
  m->type = t->type;
  m->rows = rows;
  m->cols = cols;
  return true;
}

static bool
get_vector (llm_decoder *d, const char *name, int64_t n, bool required, const float **out,
            char *err, size_t err_size)
{
  const llm_gguf_tensor *t = llm_gguf_find_tensor (d->gguf, name);

  *out = NULL;
  if (t == NULL)
    return required ? fail (err, err_size, "the model lacks the tensor %s", name) : true;
  if (t->n_elements != n || t->type != LLM_TYPE_F32)
    return fail (err, err_size, "tensor %s must be %lld F32 values", name, (long long) n);
  *out = t->data;
  return true;
}

void
llm_decoder_free (llm_decoder *d)
{
  if (d == NULL)
    return;
  free (d->layers);
  free (d->weights);
  free (d->k_cache);
  free (d->v_cache);
  free (d->inv_freq);
  free (d->rope_cs);
  free (d->x); free (d->xn); free (d->q); free (d->k); free (d->v);
  free (d->att); free (d->o); free (d->g); free (d->u); free (d->scores);
  free (d->act_buf);
  if (d->pool)
    llm_pool_free (d->pool);
  if (d->vocab)
    llm_vocab_free (d->vocab);
  if (d->gguf)
    llm_gguf_close (d->gguf);
  free (d);
}

#define ACT_SLOTS 4

/* Whether llm_matvec_rows can compute with @m (what llm_matvec accepts). */
static bool
decodable (const Matrix *m)
{
  const llm_type_traits *t = llm_type_get_traits (m->type), *vt;

  if (t == NULL || !t->can_compute || m->type == LLM_TYPE_Q8_K || m->type == LLM_TYPE_Q8_1)
    return false;
  vt = llm_type_get_traits (t->vec_dot_type);
  return vt != NULL && m->cols % t->block_size == 0 && m->cols % vt->block_size == 0
         && llm_row_size (t->vec_dot_type, m->cols) != 0;
}

/* True when the kernel gives huge pages to memory that asks for them. */
static bool
huge_pages_available (void)
{
#ifdef MADV_HUGEPAGE
  char buf[128] = "";
  FILE *f = fopen ("/sys/kernel/mm/transparent_hugepage/enabled", "r");

  if (f == NULL)
    return false;
  if (fgets (buf, sizeof buf, f) == NULL)
    buf[0] = '\0';
  fclose (f);
  return strstr (buf, "[never]") == NULL && buf[0] != '\0';
#else
  return false;
#endif
}

#define HUGE_PAGE ((size_t) 2 << 20)
#define WEIGHT_ALIGN 64

/* Decoding streams every matrix once per token. From the file mapping the
 * weights sit on 4 KiB pages, and on this kind of machine (a VM, two-level
 * page walks) the TLB misses and the prefetcher stopping at each page
 * boundary halve the read bandwidth (256 MB summed by one thread: 12.6 GB/s
 * on 4 KiB pages, 25.9 on 2 MiB ones). So the matrices read per token are
 * copied once onto transparent huge pages, as other runtimes do without
 * mmap; the file's pages are then left to the page cache. Falls back to the
 * mapping when the kernel has no huge pages or memory is short. */
static void
copy_to_huge_pages (llm_decoder *d)
{
#ifdef MADV_HUGEPAGE
  Matrix **ms;
  int n = 0;
  size_t total = 0, off = 0;
  uint8_t *buf;

  if (!huge_pages_available () || getenv ("LLM_NO_WEIGHT_COPY") != NULL)
    return;
  ms = malloc ((size_t) (7 * d->n_layer + 1) * sizeof *ms);
  if (ms == NULL)
    return;
  for (int l = 0; l < d->n_layer; l++)
    {
      Layer *L = &d->layers[l];
      ms[n++] = &L->wq; ms[n++] = &L->wk; ms[n++] = &L->wv; ms[n++] = &L->wo;
      ms[n++] = &L->gate; ms[n++] = &L->up; ms[n++] = &L->down;
    }
  ms[n++] = &d->output;
  for (int i = 0; i < n; i++)
    total += (llm_row_size (ms[i]->type, ms[i]->cols) * (size_t) ms[i]->rows + WEIGHT_ALIGN - 1)
             & ~(size_t) (WEIGHT_ALIGN - 1);
  total = (total + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
  if (posix_memalign ((void **) &buf, HUGE_PAGE, total) != 0)
    {
      free (ms);
      return;
    }
  madvise (buf, total, MADV_HUGEPAGE);
  for (int i = 0; i < n; i++)
    {
      size_t size = llm_row_size (ms[i]->type, ms[i]->cols) * (size_t) ms[i]->rows;
      bool tied = ms[i] == &d->output && d->output.data == d->tok_embd.data;
      memcpy (buf + off, ms[i]->data, size);
      {
        /* Unmap the copied file pages from this process (they stay in the
         * page cache): otherwise it holds the weights twice in its RSS. */
        uintptr_t page = (uintptr_t) sysconf (_SC_PAGESIZE);
        uintptr_t a = ((uintptr_t) ms[i]->data + page - 1) & ~(page - 1);
        uintptr_t b = ((uintptr_t) ms[i]->data + size) & ~(page - 1);
        if (b > a)
          madvise ((void *) a, b - a, MADV_DONTNEED);
      }
      ms[i]->data = buf + off;
      if (tied)
        d->tok_embd.data = buf + off;
      off += (size + WEIGHT_ALIGN - 1) & ~(size_t) (WEIGHT_ALIGN - 1);
    }
  d->weights = buf;
  free (ms);
#else
  (void) d;
#endif
}

llm_decoder *
llm_decoder_load (const char *path, int n_ctx, int n_threads, char *err, size_t err_size)
{
  llm_decoder *d = calloc (1, sizeof *d);
  llm_gguf_error gerr = { 0 };
  char *arch = NULL;
  uint64_t v;
  char name[LLM_GGUF_MAX_NAME];
  size_t cache;

  if (d == NULL)
    return NULL;
  d->gguf = llm_gguf_open (path, &gerr);
  if (d->gguf == NULL)
    {
      fail (err, err_size, "%s", gerr.message);
      goto error;
    }
  arch = llm_gguf_dup_string (d->gguf, "general.architecture");
  if (arch == NULL)
    {
      fail (err, err_size, "the model has no general.architecture");
      goto error;
    }
  if (strcmp (arch, "llama") != 0 && strcmp (arch, "qwen2") != 0 && strcmp (arch, "qwen3") != 0)
    {
      fail (err, err_size, "architecture “%s” is not supported (llama, qwen2, qwen3 are)", arch);
      goto error;
    }
  snprintf (d->arch, sizeof d->arch, "%s", arch);
  d->neox = strcmp (arch, "llama") != 0;

  d->vocab = llm_vocab_from_gguf (d->gguf, err, err_size);
  if (d->vocab == NULL)
    goto error;
  d->n_vocab = llm_vocab_n_tokens (d->vocab);

  if (!get_u (d->gguf, arch, "embedding_length", &v, true, err, err_size))
    goto error;
  d->n_embd = (int) v;
  if (!get_u (d->gguf, arch, "block_count", &v, true, err, err_size))
    goto error;
  d->n_layer = (int) v;
  if (!get_u (d->gguf, arch, "feed_forward_length", &v, true, err, err_size))
    goto error;
  d->n_ff = (int) v;
  if (!get_u (d->gguf, arch, "attention.head_count", &v, true, err, err_size))
    goto error;
  d->n_head = (int) v;
  d->n_kv = get_u (d->gguf, arch, "attention.head_count_kv", &v, false, NULL, 0) ? (int) v : d->n_head;
  if (d->n_embd <= 0 || d->n_layer <= 0 || d->n_ff <= 0 || d->n_head <= 0 || d->n_kv <= 0 ||
      d->n_embd > (1 << 16) || d->n_layer > 1024 || d->n_ff > (1 << 20) || d->n_head > 1024 ||
      d->n_head % d->n_kv != 0)
    {
      fail (err, err_size, "inconsistent sizes in the metadata (embedding %d, layers %d, heads %d/%d)",
            d->n_embd, d->n_layer, d->n_head, d->n_kv);
      goto error;
    }
  d->head_dim = get_u (d->gguf, arch, "attention.key_length", &v, false, NULL, 0)
                  ? (int) v : d->n_embd / d->n_head;
  if (d->head_dim <= 0 || d->head_dim > MAX_HEAD_DIM || d->head_dim % 2 != 0)
    {
      fail (err, err_size, "bad attention head size %d", d->head_dim);
      goto error;
    }
  d->rot_dim = get_u (d->gguf, arch, "rope.dimension_count", &v, false, NULL, 0)
                 ? (int) v : d->head_dim;
  if (d->rot_dim <= 0 || d->rot_dim > d->head_dim || d->rot_dim % 2 != 0)
    {
      fail (err, err_size, "bad rope.dimension_count %d", d->rot_dim);
      goto error;
    }
  d->eps = 1e-5f;
  get_f (d->gguf, arch, "attention.layer_norm_rms_epsilon", &d->eps);
  d->rope_base = 10000.0f;
  get_f (d->gguf, arch, "rope.freq_base", &d->rope_base);
  d->rope_scale = 1.0f;
  {
    char key[128];
    char *type;
    snprintf (key, sizeof key, "%s.rope.scaling.type", arch);
    type = llm_gguf_dup_string (d->gguf, key);
    if (type != NULL && strcmp (type, "linear") == 0)
      {
        float factor = 1.0f;
        if (get_f (d->gguf, arch, "rope.scaling.factor", &factor) && factor > 0)
          d->rope_scale = 1.0f / factor;
      }
    free (type);
  }

  if (!get_u (d->gguf, arch, "context_length", &v, false, NULL, 0))
    v = 2048;
  d->n_ctx = n_ctx > 0 ? n_ctx : (int) (v < 8192 ? v : 8192);
  if (d->n_ctx < 2 || d->n_ctx > (1 << 20))
    {
      fail (err, err_size, "bad context length %d", d->n_ctx);
      goto error;
    }

  /* Tensors, each checked against the metadata. */
  if (!get_matrix (d, "token_embd.weight", d->n_vocab, d->n_embd, true, &d->tok_embd, err, err_size) ||
      !get_matrix (d, "output.weight", d->n_vocab, d->n_embd, false, &d->output, err, err_size) ||
      !get_vector (d, "output_norm.weight", d->n_embd, true, &d->output_norm, err, err_size))
    goto error;
  if (d->output.data == NULL)
    d->output = d->tok_embd;   /* tied */

  d->layers = calloc ((size_t) d->n_layer, sizeof (Layer));
  if (d->layers == NULL)
    goto oom;
  for (int l = 0; l < d->n_layer; l++)
    {
      Layer *L = &d->layers[l];
      int qd = d->n_head * d->head_dim, kvd = d->n_kv * d->head_dim;
      bool qwen2 = strcmp (arch, "qwen2") == 0, qwen3 = strcmp (arch, "qwen3") == 0;

#define T(suffix) (snprintf (name, sizeof name, "blk.%d." suffix, l), name)
      if (!get_vector (d, T ("attn_norm.weight"), d->n_embd, true, &L->attn_norm, err, err_size) ||
          !get_vector (d, T ("ffn_norm.weight"), d->n_embd, true, &L->ffn_norm, err, err_size) ||
          !get_matrix (d, T ("attn_q.weight"), qd, d->n_embd, true, &L->wq, err, err_size) ||
          !get_matrix (d, T ("attn_k.weight"), kvd, d->n_embd, true, &L->wk, err, err_size) ||
          !get_matrix (d, T ("attn_v.weight"), kvd, d->n_embd, true, &L->wv, err, err_size) ||
          !get_matrix (d, T ("attn_output.weight"), d->n_embd, qd, true, &L->wo, err, err_size) ||
          !get_matrix (d, T ("ffn_gate.weight"), d->n_ff, d->n_embd, true, &L->gate, err, err_size) ||
          !get_matrix (d, T ("ffn_up.weight"), d->n_ff, d->n_embd, true, &L->up, err, err_size) ||
          !get_matrix (d, T ("ffn_down.weight"), d->n_embd, d->n_ff, true, &L->down, err, err_size) ||
          !get_vector (d, T ("attn_q.bias"), qd, qwen2, &L->q_bias, err, err_size) ||
          !get_vector (d, T ("attn_k.bias"), kvd, qwen2, &L->k_bias, err, err_size) ||
          !get_vector (d, T ("attn_v.bias"), kvd, qwen2, &L->v_bias, err, err_size) ||
          !get_vector (d, T ("attn_q_norm.weight"), d->head_dim, qwen3, &L->q_norm, err, err_size) ||
          !get_vector (d, T ("attn_k_norm.weight"), d->head_dim, qwen3, &L->k_norm, err, err_size))
        goto error;
#undef T
    }

  copy_to_huge_pages (d);
  d->pool = llm_pool_new (n_threads);
  cache = (size_t) d->n_layer * (size_t) d->n_ctx * (size_t) (d->n_kv * d->head_dim);
  d->kv_f16 = d->layers[0].wq.type != LLM_TYPE_F32;
  d->k_cache = malloc (cache * (d->kv_f16 ? sizeof (uint16_t) : sizeof (float)));
  d->v_cache = malloc (cache * (d->kv_f16 ? sizeof (uint16_t) : sizeof (float)));
  d->inv_freq = malloc ((size_t) (d->rot_dim / 2) * sizeof (float));
  d->rope_cs = malloc ((size_t) MAX_BATCH * 2 * (size_t) d->rot_dim * sizeof (float));
  {
    size_t B = MAX_BATCH;
    size_t qd = (size_t) d->n_head * d->head_dim, kvd = (size_t) d->n_kv * d->head_dim;
    d->x = malloc (B * d->n_embd * sizeof (float));
    d->xn = malloc (B * d->n_embd * sizeof (float));
    d->q = malloc (B * qd * sizeof (float));
    d->k = malloc (B * kvd * sizeof (float));
    d->v = malloc (B * kvd * sizeof (float));
    d->att = malloc (B * qd * sizeof (float));
    d->o = malloc (B * d->n_embd * sizeof (float));
    d->g = malloc (B * d->n_ff * sizeof (float));
    d->u = malloc (B * d->n_ff * sizeof (float));
    d->scores = malloc ((size_t) llm_pool_n_threads (d->pool) * (size_t) (d->n_head / d->n_kv)
                        * d->n_ctx * sizeof (float));
  }
  {
    size_t widest = (size_t) d->n_embd;
    if ((size_t) d->n_ff > widest)
      widest = (size_t) d->n_ff;
    if ((size_t) d->n_head * d->head_dim > widest)
      widest = (size_t) d->n_head * d->head_dim;
    /* F32 is the widest activation format */
    d->act_slot_size = (widest * sizeof (float) + 1024 + 63) & ~(size_t) 63;
    d->act_buf = aligned_alloc (64, ACT_SLOTS * d->act_slot_size);
    d->fast_decode = decodable (&d->output);
    for (int l = 0; l < d->n_layer; l++)
      {
        Layer *L = &d->layers[l];
        d->fast_decode = d->fast_decode && decodable (&L->wq) && decodable (&L->wk) && decodable (&L->wv)
                         && decodable (&L->wo) && decodable (&L->gate) && decodable (&L->up)
                         && decodable (&L->down);
      }
  }
  if (d->act_buf == NULL || d->pool == NULL || d->k_cache == NULL || d->v_cache == NULL || d->inv_freq == NULL ||
      d->rope_cs == NULL ||
      d->x == NULL || d->xn == NULL || d->q == NULL || d->k == NULL || d->v == NULL ||
      d->att == NULL || d->o == NULL || d->g == NULL || d->u == NULL || d->scores == NULL)
    goto oom;
  /* theta_i = base^(-2i/rot_dim), computed as other GGUF runtimes do. */
  {
    float theta_scale = powf (d->rope_base, -2.0f / (float) d->rot_dim);
    float t = 1.0f;
    for (int i = 0; i < d->rot_dim / 2; i++, t *= theta_scale)
      d->inv_freq[i] = t;
  }
  free (arch);
  return d;

oom:
  fail (err, err_size, "not enough memory for the model with a context of %d", d->n_ctx);
error:
  free (arch);
  llm_decoder_free (d);
  return NULL;
}

const LlmVocab *llm_decoder_vocab (const llm_decoder *d) { return d->vocab; }
int llm_decoder_n_vocab (const llm_decoder *d) { return d->n_vocab; }
int llm_decoder_n_ctx (const llm_decoder *d) { return d->n_ctx; }
int llm_decoder_n_past (const llm_decoder *d) { return d->n_past; }
const char *llm_decoder_arch (const llm_decoder *d) { return d->arch; }
const llm_gguf *llm_decoder_gguf (const llm_decoder *d) { return d->gguf; }
void llm_decoder_reset (llm_decoder *d) { d->n_past = 0; }

/* Sixteen running sums of squares (the plain loop chained 1,024 double
 * additions: 2 µs, twice a layer); each clone sums in the same order. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__ ((target_clones ("avx512f", "avx2", "default")))
#endif
static void
rms_norm (const float *x, const float *w, float *out, int n, float eps)
{
  v16f acc = { 0 };
  double ss;
  float scale;
  int i = 0;

  for (; i + 16 <= n; i += 16)
    {
      v16f v = v16f_load (x + i);
      acc += v * v;
    }
  ss = v16f_sum (acc);
  for (; i < n; i++)
    ss += (double) x[i] * x[i];
  scale = 1.0f / sqrtf ((float) (ss / n) + eps);
  for (i = 0; i + 16 <= n; i += 16)
    v16f_store (out + i, v16f_load (x + i) * scale * v16f_load (w + i));
  for (; i < n; i++)
    out[i] = x[i] * scale * w[i];
}

/* The rotation of each position pos0 … pos0 + n - 1 as two rows of
 * rot_dim floats, once per batch rather than once per head and layer: a
 * rotated x is x·C + partner(x)·S, where an element's partner is the other
 * of its pair (the next or previous one; NeoX: the one half the rotated
 * dimensions away), C holds each pair's cos at both places and S its sin,
 * negated at the pair's first place. */
static void
rope_angles (llm_decoder *d, int pos0, int n)
{
  int half = d->rot_dim / 2;

  for (int t = 0; t < n; t++)
    {
      float p = (float) (pos0 + t) * d->rope_scale;
      float *C = d->rope_cs + (size_t) t * 2 * d->rot_dim, *S = C + d->rot_dim;
      for (int i = 0; i < half; i++)
        {
          float theta = p * d->inv_freq[i], c = cosf (theta), sn = sinf (theta);
          int a = d->neox ? i : 2 * i, b = d->neox ? i + half : 2 * i + 1;
          C[a] = C[b] = c;
          S[a] = -sn;
          S[b] = sn;
        }
    }
}

/* @cs: the token's rows of rope_angles. Vectors of sixteen when the pairs
 * allow (NeoX: halves of whole vectors; else pairs inside a vector). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__ ((target_clones ("avx512f", "avx2", "default")))
#endif
static void
rope (const llm_decoder *d, float *vec, int n_heads, const float *cs)
{
  typedef int v16i __attribute__ ((vector_size (64)));
  const v16i swap_pairs = { 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14 };
  const float *C = cs, *S = cs + d->rot_dim;
  int half = d->rot_dim / 2;

  for (int h = 0; h < n_heads; h++)
    {
      float *x = vec + (size_t) h * d->head_dim;
      int i = 0;
      if (d->neox && half % 16 == 0)
        for (; i < half; i += 16)
          {
            v16f x0 = v16f_load (x + i), x1 = v16f_load (x + i + half);
            v16f_store (x + i, x0 * v16f_load (C + i) + x1 * v16f_load (S + i));
            v16f_store (x + i + half, x1 * v16f_load (C + i + half) + x0 * v16f_load (S + i + half));
          }
      else if (!d->neox)
        for (; i + 16 <= d->rot_dim; i += 16)
          {
            v16f v = v16f_load (x + i);
            v16f_store (x + i, v * v16f_load (C + i) + __builtin_shuffle (v, swap_pairs) * v16f_load (S + i));
          }
      if (d->neox)
        for (; i < half; i++)
          {
            float x0 = x[i], x1 = x[i + half];
            x[i] = x0 * C[i] + x1 * S[i];
            x[i + half] = x1 * C[i + half] + x0 * S[i + half];
          }
      else
        for (; i < d->rot_dim; i += 2)
          {
            float x0 = x[i], x1 = x[i + 1];
            x[i] = x0 * C[i] + x1 * S[i];
            x[i + 1] = x1 * C[i + 1] + x0 * S[i + 1];
          }
    }
}

/* Layer @l's cached key or value row of KV head @kvh at @pos. */
static inline void *
cache_row (const llm_decoder *d, void *cache, int l, int kvh, int pos)
{
  size_t i = (((size_t) l * d->n_kv + kvh) * d->n_ctx + pos) * d->head_dim;
  return d->kv_f16 ? (void *) ((uint16_t *) cache + i) : (void *) ((float *) cache + i);
}

/* One token's q, k, v after their products, for KV heads h0 … h1 - 1 and
 * their query heads: biases (qwen2), per-head norms (qwen3), RoPE at @cs,
 * and k, v into layer @l's cache at @pos. The same for decode and for
 * each token of a prefill. */
static void
finish_heads (llm_decoder *d, const Layer *L, int l, int pos,
              float *q, float *k, float *v, const float *cs, int h0, int h1)
{
  int hd = d->head_dim, group = d->n_head / d->n_kv;
  int q0 = h0 * group * hd, q1 = h1 * group * hd, k0 = h0 * hd, k1 = h1 * hd;

  if (L->q_bias)
    for (int i = q0; i < q1; i++) q[i] += L->q_bias[i];
  if (L->k_bias)
    for (int i = k0; i < k1; i++) k[i] += L->k_bias[i];
  if (L->v_bias)
    for (int i = k0; i < k1; i++) v[i] += L->v_bias[i];
  if (L->q_norm)
    for (int h = h0 * group; h < h1 * group; h++)
      rms_norm (q + h * hd, L->q_norm, q + h * hd, hd, d->eps);
  if (L->k_norm)
    for (int h = h0; h < h1; h++)
      rms_norm (k + h * hd, L->k_norm, k + h * hd, hd, d->eps);
  rope (d, q + q0, (h1 - h0) * group, cs);
  rope (d, k + k0, h1 - h0, cs);
  for (int h = h0; h < h1; h++)
    {
      const float *kh = k + (size_t) h * hd, *vh = v + (size_t) h * hd;
      if (d->kv_f16)
        {
          llm_quantize_activations (LLM_TYPE_F16, kh, cache_row (d, d->k_cache, l, h, pos), hd);
          llm_quantize_activations (LLM_TYPE_F16, vh, cache_row (d, d->v_cache, l, h, pos), hd);
        }
      else
        {
          memcpy (cache_row (d, d->k_cache, l, h, pos), kh, (size_t) hd * sizeof (float));
          memcpy (cache_row (d, d->v_cache, l, h, pos), vh, (size_t) hd * sizeof (float));
        }
    }
}

static bool
matmul (llm_decoder *d, const Matrix *m, const float *X, int n, float *Y)
{
  if (n == 1)
    return llm_matvec (d->pool, m->type, m->data, m->rows, m->cols, X, Y);
  /* the tiled kernels at every batch size; other types as measured */
  return llm_matmul (d->pool, m->type, m->data, m->rows, m->cols, X, n, Y,
                     llm_matmul_tiled (m->type) ? LLM_MATMUL_DOT : LLM_MATMUL_AUTO);
}

/* Row @j of a head's cache as floats (F16 to float is exact). */
static inline const float *
kv_row (const llm_decoder *d, const void *head, int j, float *buf)
{
  const uint16_t *h16 = (const uint16_t *) head + (size_t) j * d->head_dim;

  if (!d->kv_f16)
    return (const float *) head + (size_t) j * d->head_dim;
  for (int i = 0; i < d->head_dim; i++)
    buf[i] = llm_fp16_table[h16[i]];
  return buf;
}

typedef struct {
  llm_decoder *d;
  int          layer;
  int          n;        /* tokens in the batch */
  int          pos0;     /* position of the first */
} AttnJob;

/* Attention of one token over the cache, for the query heads that share
 * KV head @kvh: each key and value row is read once for the whole group.
 * @scores holds group × n_ctx floats. Cloned per instruction set (by CPU
 * feature, not by "arch=", which is a CPU model and never matches AMD's):
 * the 16-float vectors become one AVX-512 register, two AVX ones or four
 * SSE ones, with the same sums in the same order. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__ ((target_clones ("avx512f", "avx2", "default")))
#endif
static void
attend_kv_head (const AttnJob *job, int t, int kvh, float *scores)
{
  llm_decoder *d = job->d;
  int hd = d->head_dim, qd = d->n_head * hd;
  int group = d->n_head / d->n_kv;
  float scale = 1.0f / sqrtf ((float) hd);
  const void *K = cache_row (d, d->k_cache, job->layer, kvh, 0);
  const void *V = cache_row (d, d->v_cache, job->layer, kvh, 0);
  int n_keys = job->pos0 + t + 1;
  const float *q = d->q + (size_t) t * qd + (size_t) kvh * group * hd;
  float *out = d->att + (size_t) t * qd + (size_t) kvh * group * hd;
  int hd16 = hd & ~15;
  float row[MAX_HEAD_DIM];

  /* with AVX-512: sixteen keys at a time, a vector exp (docs/ENGINE.md) */
  if (llm_attend_simd (group, hd, n_keys, q, K, V, d->kv_f16, scale, scores, d->n_ctx, out))
    return;

  for (int j = 0; j < n_keys; j++)
    {
      const float *k = kv_row (d, K, j, row);
      for (int g = 0; g < group; g++)
        {
          const float *qg = q + (size_t) g * hd;
          v16f acc = { 0 };
          float s = 0;
          int i = 0;
          for (; i < hd16; i += 16)
            acc += v16f_load (qg + i) * v16f_load (k + i);
          for (; i < hd; i++)
            s += qg[i] * k[i];
          scores[(size_t) g * d->n_ctx + j] = (v16f_sum (acc) + s) * scale;
        }
    }
  for (int g = 0; g < group; g++)
    {
      float *row = scores + (size_t) g * d->n_ctx, max = -FLT_MAX;
      double sum = 0;
      for (int j = 0; j < n_keys; j++)
        if (row[j] > max)
          max = row[j];
      for (int j = 0; j < n_keys; j++)
        {
          row[j] = expf (row[j] - max);
          sum += row[j];
        }
      for (int j = 0; j < n_keys; j++)
        row[j] = (float) (row[j] / sum);
    }
  memset (out, 0, (size_t) group * hd * sizeof (float));
  for (int j = 0; j < n_keys; j++)
    {
      const float *v = kv_row (d, V, j, row);
      for (int g = 0; g < group; g++)
        {
          float p = scores[(size_t) g * d->n_ctx + j], *o = out + (size_t) g * hd;
          int i = 0;
          for (; i < hd16; i += 16)
            v16f_store (o + i, v16f_load (o + i) + p * v16f_load (v + i));
          for (; i < hd; i++)
            o[i] += p * v[i];
        }
    }
}

/* ---- single-token decode ----
 * One token reads every weight matrix once, so decoding runs at the speed
 * the weights stream from memory; what costs is everything between the
 * products. So: each activation is converted for the dot products once
 * (Q, K and V share it, gate and up too), Q, K, V and attention are one job
 * of a chunk per share of the KV heads, gate and up one job that applies
 * SwiGLU to the rows it made, and the residual adds happen in the jobs of
 * W_o and W_down: 4 jobs a layer instead of 8. */

typedef struct {
  const float *x;
  int          n;
  llm_type     vt[ACT_SLOTS];
  const void  *buf[ACT_SLOTS];
} Act;

static void
act_reset (Act *a, const float *x)
{
  a->x = x;
  a->n = 0;
}

/* @a's vector converted for @m's dot products (once per dot type). */
static const void *
act_for (llm_decoder *d, Act *a, const Matrix *m)
{
  llm_type vt = llm_type_get_traits (m->type)->vec_dot_type;
  uint8_t *buf;

  for (int i = 0; i < a->n; i++)
    if (a->vt[i] == vt)
      return a->buf[i];
  if (a->n == ACT_SLOTS)
    return NULL;
  buf = d->act_buf + (size_t) a->n * d->act_slot_size;
  llm_quantize_activations (vt, a->x, buf, m->cols);
  a->vt[a->n] = vt;
  a->buf[a->n] = buf;
  return a->buf[a->n++];
}

/* Single-token attention as one job, a chunk per share of the KV heads.
 * In decode (@L set) the job also does Q, K and V: a chunk computes the Q
 * rows of its heads' query heads and the K and V rows of its KV heads
 * (three streams), RoPE and the cache rows for them, then their attention.
 * Nothing waits for the other share between the products and attention,
 * and the cache rows one thread still misses overlap the other's streaming
 * (it was a Q/K/V job, the caller's RoPE, then an attention job: 1.3-1.9
 * µs of serial work and a wait a layer). A batch of one token (a model the
 * decode path cannot take) has its q, k, v done and a chunk per KV head. */
typedef struct {
  AttnJob       job;
  const Layer  *L;            /* NULL: q, k, v and the cache rows are done */
  const void   *xq[3];        /* activations for wq, wk, wv */
  int           n_chunks;
  float        *scores;
  size_t        per_thread;
} HeadsJob;

static void
heads_chunk (void *ctx, int c, int ith)
{
  const HeadsJob *j = ctx;
  llm_decoder *d = j->job.d;
  const Layer *L = j->L;
  int hd = d->head_dim, group = d->n_head / d->n_kv;
  int h0 = c * d->n_kv / j->n_chunks, h1 = (c + 1) * d->n_kv / j->n_chunks;

  if (L != NULL)
    {
      llm_matvec_rows (L->wq.type, L->wq.data, L->wq.cols, j->xq[0], (int64_t) h0 * group * hd,
                       (int64_t) h1 * group * hd, d->q);
      llm_matvec_rows (L->wk.type, L->wk.data, L->wk.cols, j->xq[1], (int64_t) h0 * hd, (int64_t) h1 * hd, d->k);
      llm_matvec_rows (L->wv.type, L->wv.data, L->wv.cols, j->xq[2], (int64_t) h0 * hd, (int64_t) h1 * hd, d->v);
      finish_heads (d, L, j->job.layer, j->job.pos0, d->q, d->k, d->v, d->rope_cs, h0, h1);
    }
  for (int h = h0; h < h1; h++)
    attend_kv_head (&j->job, 0, h, j->scores + (size_t) ith * j->per_thread);
}

/* A single token's attention over layer @layer's cache (q, k, v done). */
static void
run_heads (llm_decoder *d, int layer, int pos)
{
  HeadsJob j = { { d, layer, 1, pos }, NULL, { NULL }, d->n_kv, d->scores,
                 (size_t) (d->n_head / d->n_kv) * d->n_ctx };

  llm_pool_run_chunks (d->pool, heads_chunk, &j, j.n_chunks);
}

static bool
run_qkv_attention (llm_decoder *d, const Layer *L, int layer, int pos, Act *act)
{
  int nth = llm_pool_n_threads (d->pool);
  HeadsJob j = { { d, layer, 1, pos }, L, { act_for (d, act, &L->wq), act_for (d, act, &L->wk),
                                            act_for (d, act, &L->wv) },
                 d->n_kv < nth ? d->n_kv : nth, d->scores, (size_t) (d->n_head / d->n_kv) * d->n_ctx };

  if (j.xq[0] == NULL || j.xq[1] == NULL || j.xq[2] == NULL)
    return false;
  llm_pool_run_chunks (d->pool, heads_chunk, &j, j.n_chunks);
  return true;
}

/* One product as a job; @add, when set, receives y added to it (the
 * residual). */
typedef struct {
  const Matrix *m;
  const void   *xq;
  float        *y;
  float        *add;
  int64_t       chunk;
} MatvecJob;

static void
matvec_job_chunk (void *ctx, int c, int ith)
{
  const MatvecJob *j = ctx;
  int64_t r0 = (int64_t) c * j->chunk, r1 = r0 + j->chunk < j->m->rows ? r0 + j->chunk : j->m->rows;

  (void) ith;
  llm_matvec_rows (j->m->type, j->m->data, j->m->cols, j->xq, r0, r1, j->y);
  if (j->add != NULL)
    for (int64_t r = r0; r < r1; r++)
      j->add[r] += j->y[r];
}

/* gate and up over the same rows, then SwiGLU into g. */
typedef struct {
  const Layer *L;
  const void  *xq_gate, *xq_up;
  float       *g, *u;
  int64_t      chunk;
} FfnJob;

static void
ffn_chunk (void *ctx, int c, int ith)
{
  const FfnJob *j = ctx;
  int64_t rows = j->L->gate.rows;
  int64_t r0 = (int64_t) c * j->chunk, r1 = r0 + j->chunk < rows ? r0 + j->chunk : rows;

  (void) ith;
  llm_matvec_rows (j->L->gate.type, j->L->gate.data, j->L->gate.cols, j->xq_gate, r0, r1, j->g);
  llm_matvec_rows (j->L->up.type, j->L->up.data, j->L->up.cols, j->xq_up, r0, r1, j->u);
  for (int64_t i = r0; i < r1; i++)
    {
      float g = j->g[i];
      j->g[i] = g / (1.0f + expf (-g)) * j->u[i];   /* SwiGLU */
    }
}

/* y = m · @xq (+ into @add), on the pool; false without activations. */
static bool
run_matvec (llm_decoder *d, const Matrix *m, const void *xq, float *y, float *add)
{
  MatvecJob j = { m, xq, y, add, llm_matvec_chunk_rows (d->pool, m->type, m->rows, m->cols) };

  if (xq == NULL)
    return false;
  llm_pool_run_chunks (d->pool, matvec_job_chunk, &j, (int) ((m->rows + j.chunk - 1) / j.chunk));
  return true;
}

static bool
eval_token (llm_decoder *d, LlmToken token, float *logits)
{
  int E = d->n_embd;
  int pos = d->n_past;
  size_t row_size = llm_row_size (d->tok_embd.type, E);
  float *x = d->x, *xn = d->xn;
  Act act;

  if (token < 0 || token >= d->n_vocab)
    return false;
  llm_dequantize_row (d->tok_embd.type, (const uint8_t *) d->tok_embd.data + (size_t) token * row_size, x, E);
  rope_angles (d, pos, 1);

  for (int l = 0; l < d->n_layer; l++)
    {
      Layer *L = &d->layers[l];
      FfnJob ffn = { L, NULL, NULL, d->g, d->u, 0 };

      rms_norm (x, L->attn_norm, xn, E, d->eps);
      act_reset (&act, xn);
      if (!run_qkv_attention (d, L, l, pos, &act))
        return false;

      /* x += W_o · attention */
      act_reset (&act, d->att);
      if (!run_matvec (d, &L->wo, act_for (d, &act, &L->wo), d->o, x))
        return false;

      rms_norm (x, L->ffn_norm, xn, E, d->eps);
      act_reset (&act, xn);
      ffn.xq_gate = act_for (d, &act, &L->gate);
      ffn.xq_up = act_for (d, &act, &L->up);
      if (ffn.xq_gate == NULL || ffn.xq_up == NULL)
        return false;
      /* the larger chunk of the two, so both rows ranges stay streams */
      ffn.chunk = llm_matvec_chunk_rows (d->pool, L->gate.type, L->gate.rows, L->gate.cols);
      {
        int64_t cu = llm_matvec_chunk_rows (d->pool, L->up.type, L->up.rows, L->up.cols);
        if (cu > ffn.chunk)
          ffn.chunk = cu;
      }
      llm_pool_run_chunks (d->pool, ffn_chunk, &ffn, (int) ((L->gate.rows + ffn.chunk - 1) / ffn.chunk));

      /* x += W_down · SwiGLU */
      act_reset (&act, d->g);
      if (!run_matvec (d, &L->down, act_for (d, &act, &L->down), d->o, x))
        return false;
    }

  d->n_past++;
  {
    rms_norm (x, d->output_norm, xn, E, d->eps);
    act_reset (&act, xn);
    return run_matvec (d, &d->output, act_for (d, &act, &d->output), logits, NULL);
  }
}

/* ---- batches (prefill) ----
 * Between the matrix products, the per-token work (norms, biases, RoPE, the
 * cache rows, SwiGLU) is split by tokens across the pool, and attention over
 * a batch is two sgemm calls per head and block of query rows. */

typedef enum { ROWS_NORM, ROWS_QKV, ROWS_SWIGLU } RowsStage;

typedef struct {
  llm_decoder  *d;
  const Layer  *L;
  int           layer, n;
  RowsStage     stage;
  const float  *norm;   /* ROWS_NORM: xn = rms_norm (x (+= o when add)) */
  bool          add;
} RowsJob;

static void
rows_worker (void *ctx, int ith, int nth)
{
  const RowsJob *j = ctx;
  llm_decoder *d = j->d;
  const Layer *L = j->L;
  int E = d->n_embd, hd = d->head_dim, qd = d->n_head * hd, kvd = d->n_kv * hd;
  int per = (j->n + nth - 1) / nth;
  int t0 = per * ith < j->n ? per * ith : j->n, t1 = t0 + per < j->n ? t0 + per : j->n;

  for (int t = t0; t < t1; t++)
    switch (j->stage)
      {
      case ROWS_NORM:
        {
          float *x = d->x + (size_t) t * E;
          if (j->add)
            for (int i = 0; i < E; i++)
              x[i] += d->o[(size_t) t * E + i];
          rms_norm (x, j->norm, d->xn + (size_t) t * E, E, d->eps);
          break;
        }
      case ROWS_QKV:
        {
          float *q = d->q + (size_t) t * qd, *k = d->k + (size_t) t * kvd, *v = d->v + (size_t) t * kvd;
          int pos = d->n_past + t;

          finish_heads (d, L, j->layer, pos, q, k, v, d->rope_cs + (size_t) t * 2 * d->rot_dim, 0, d->n_kv);
          break;
        }
      case ROWS_SWIGLU:
        {
          float *g = d->g + (size_t) t * d->n_ff, *u = d->u + (size_t) t * d->n_ff;
          for (int i = 0; i < d->n_ff; i++)
            g[i] = g[i] / (1.0f + expf (-g[i])) * u[i];
          break;
        }
      }
}

static void
rows_run (llm_decoder *d, RowsJob *j)
{
  if (j->n == 1)
    rows_worker (j, 0, 1);
  else
    llm_pool_run (d->pool, rows_worker, j);
}

/* Query rows per block of batch attention: the scores are ATTN_ROWS × keys. */
#define ATTN_ROWS 64

typedef struct {
  llm_decoder *d;
  int          layer, n, pos0;
  atomic_int   next;
  atomic_bool  failed;
} BatchAttnJob;

/* Per (KV head, block of query rows): the head's cached rows as floats,
 * then for each query head of its group S = Q Kᵀ / √d over the keys up to
 * the block's last position (sgemm), a causal softmax by rows, O = S V
 * (sgemm). Items are claimed one at a time, so a thread the system delays
 * does not hold up the other. */
static void
batch_attention_worker (void *ctx, int ith, int nth)
{
  BatchAttnJob *j = ctx;
  llm_decoder *d = j->d;
  int hd = d->head_dim, qd = d->n_head * hd, group = d->n_head / d->n_kv;
  int n_blocks = (j->n + ATTN_ROWS - 1) / ATTN_ROWS, items = d->n_kv * n_blocks;
  int max_keys = j->pos0 + j->n;
  float scale = 1.0f / sqrtf ((float) hd);
  /* scores, then the KV head's cached rows as floats for sgemm */
  float *scores = malloc (((size_t) ATTN_ROWS + (d->kv_f16 ? 2 * (size_t) hd : 0)) * (size_t) max_keys
                         * sizeof (float));
  float *K16 = scores + (size_t) ATTN_ROWS * max_keys, *V16 = K16 + (size_t) hd * max_keys;

  (void) ith;
  (void) nth;
  if (scores == NULL)
    {
      atomic_store (&j->failed, true);
      return;
    }
  for (;;)
    {
      int item = atomic_fetch_add_explicit (&j->next, 1, memory_order_relaxed);
      if (item >= items)
        break;
      int kvh = item % d->n_kv, i0 = (item / d->n_kv) * ATTN_ROWS;
      int b = j->n - i0 < ATTN_ROWS ? j->n - i0 : ATTN_ROWS;
      int keys = j->pos0 + i0 + b;

      const float *K = cache_row (d, d->k_cache, j->layer, kvh, 0);
      const float *V = cache_row (d, d->v_cache, j->layer, kvh, 0);

      /* F16 to float is exact: the same products as on the cache itself */
      if (d->kv_f16)
        {
          llm_dequantize_row (LLM_TYPE_F16, K, K16, (int64_t) keys * hd);
          llm_dequantize_row (LLM_TYPE_F16, V, V16, (int64_t) keys * hd);
          K = K16;
          V = V16;
        }
      for (int h = kvh * group; h < (kvh + 1) * group; h++)
        {
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, b, keys, hd, scale,
                       d->q + (size_t) i0 * qd + (size_t) h * hd, qd, K, hd, 0.0f, scores, keys);
          for (int i = 0; i < b; i++)
            {
              float *row = scores + (size_t) i * keys, max = -FLT_MAX;
              int last = j->pos0 + i0 + i;
              double sum = 0;
              for (int k = 0; k <= last; k++)
                if (row[k] > max)
                  max = row[k];
              for (int k = 0; k <= last; k++)
                {
                  row[k] = expf (row[k] - max);
                  sum += row[k];
                }
              for (int k = 0; k <= last; k++)
                row[k] = (float) (row[k] / sum);
              for (int k = last + 1; k < keys; k++)
                row[k] = 0.0f;
            }
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, b, hd, keys, 1.0f, scores, keys,
                       V, hd, 0.0f, d->att + (size_t) i0 * qd + (size_t) h * hd, qd);
        }
    }
  free (scores);
}

/* One batch of at most MAX_BATCH tokens; the last token's logits (all of
 * them with @all_logits) when @logits is not NULL. */
static bool
eval_batch (llm_decoder *d, const LlmToken *tokens, int n, bool all_logits, float *logits)
{
  int E = d->n_embd;
  size_t row_size = llm_row_size (d->tok_embd.type, E);

  for (int t = 0; t < n; t++)
    {
      if (tokens[t] < 0 || tokens[t] >= d->n_vocab)
        return false;
      llm_dequantize_row (d->tok_embd.type, (const uint8_t *) d->tok_embd.data + (size_t) tokens[t] * row_size,
                          d->x + (size_t) t * E, E);
    }

  rope_angles (d, d->n_past, n);
  for (int l = 0; l < d->n_layer; l++)
    {
      Layer *L = &d->layers[l];
      RowsJob rj = { d, L, l, n, ROWS_NORM, L->attn_norm, l > 0 };

      /* x += the previous block's FFN output, then the attention norm */
      rows_run (d, &rj);
      if (!matmul (d, &L->wq, d->xn, n, d->q) || !matmul (d, &L->wk, d->xn, n, d->k) ||
          !matmul (d, &L->wv, d->xn, n, d->v))
        return false;
      rj.stage = ROWS_QKV;
      rows_run (d, &rj);
      if (n == 1)
        {
          run_heads (d, l, d->n_past);
        }
      else
        {
          BatchAttnJob job = { d, l, n, d->n_past, 0, false };
          atomic_init (&job.next, 0);
          atomic_init (&job.failed, false);
          llm_pool_run (d->pool, batch_attention_worker, &job);
          if (atomic_load (&job.failed))
            return false;
        }
      if (!matmul (d, &L->wo, d->att, n, d->o))
        return false;

      rj.stage = ROWS_NORM;
      rj.norm = L->ffn_norm;
      rj.add = true;
      rows_run (d, &rj);
      if (!matmul (d, &L->gate, d->xn, n, d->g) || !matmul (d, &L->up, d->xn, n, d->u))
        return false;
      rj.stage = ROWS_SWIGLU;
      rows_run (d, &rj);
      if (!matmul (d, &L->down, d->g, n, d->o))
        return false;
    }
  for (size_t i = 0; i < (size_t) n * E; i++)
    d->x[i] += d->o[i];

  d->n_past += n;
  if (logits == NULL)
    return true;
  if (all_logits)
    {
      for (int t = 0; t < n; t++)
        rms_norm (d->x + (size_t) t * E, d->output_norm, d->xn + (size_t) t * E, E, d->eps);
      return matmul (d, &d->output, d->xn, n, logits);
    }
  rms_norm (d->x + (size_t) (n - 1) * E, d->output_norm, d->xn, E, d->eps);
  return matmul (d, &d->output, d->xn, 1, logits);
}

bool
llm_decoder_eval (llm_decoder *d, const LlmToken *tokens, int n, bool all_logits, float *logits)
{
  if (n <= 0 || d->n_past + n > d->n_ctx)
    return false;
  for (int done = 0; done < n;)
    {
      int b = n - done < MAX_BATCH ? n - done : MAX_BATCH;
      bool last = done + b == n;
      float *out = all_logits ? logits + (size_t) done * d->n_vocab : logits;

      /* Intermediate batches only fill the cache: no output matrix. */
      if (b == 1 && d->fast_decode)
        {
          if (!eval_token (d, tokens[done], out))
            return false;
        }
      else if (!eval_batch (d, tokens + done, b, all_logits, all_logits || last ? out : NULL))
        return false;
      done += b;
    }
  return true;
}

/* ---- sampling ---- */

struct llm_sampler {
  llm_sampling p;
  uint64_t     state;
  float       *probs;
  int         *idx;
  int          cap;
};

void
llm_sampling_defaults (llm_sampling *s)
{
  s->temperature = 0.7f;
  s->top_k = 40;
  s->top_p = 0.95f;
  s->min_p = 0.05f;
  s->repeat_penalty = 1.1f;
  s->repeat_last_n = 64;
  s->seed = 0;
}

llm_sampler *
llm_sampler_new (const llm_sampling *params)
{
  llm_sampler *s = calloc (1, sizeof *s);

  if (s == NULL)
    return NULL;
  s->p = *params;
  s->state = params->seed ? params->seed : (uint64_t) time (NULL) ^ 0x9E3779B97F4A7C15ull;
  return s;
}

void
llm_sampler_free (llm_sampler *s)
{
  if (s == NULL)
    return;
  free (s->probs);
  free (s->idx);
  free (s);
}

/* splitmix64: small, seeded, the same on every platform. */
static double
next_uniform (llm_sampler *s)
{
  uint64_t z = (s->state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (double) (z >> 11) / (double) (1ull << 53);
}

/* Candidates are token ids ordered by probability, highest first (ties by
 * id). No qsort: its comparator would need the probabilities in a static,
 * shared by samplers on different threads, and a full sort of a 150k
 * vocabulary per token costs ~20 ms; the top k are selected first. */
static inline bool
ranks_before (const float *p, int a, int b)
{
  return p[a] > p[b] || (p[a] == p[b] && a < b);
}

static inline void
swap_ids (int *a, int *b)
{
  int t = *a;
  *a = *b;
  *b = t;
}

/* Partitions idx[lo..hi] around a median-of-three pivot; returns its place. */
static int
partition_ranks (const float *p, int *idx, int lo, int hi)
{
  int mid = lo + (hi - lo) / 2, store = lo, pivot;

  if (ranks_before (p, idx[mid], idx[lo])) swap_ids (&idx[mid], &idx[lo]);
  if (ranks_before (p, idx[hi], idx[lo])) swap_ids (&idx[hi], &idx[lo]);
  if (ranks_before (p, idx[hi], idx[mid])) swap_ids (&idx[hi], &idx[mid]);
  swap_ids (&idx[mid], &idx[hi]);   /* the median is the pivot, at hi */
  pivot = idx[hi];
  for (int i = lo; i < hi; i++)
    if (ranks_before (p, idx[i], pivot))
      swap_ids (&idx[i], &idx[store++]);
  swap_ids (&idx[store], &idx[hi]);
  return store;
}

/* Moves the @k best of idx[0..n-1] to the front (in no order). */
static void
select_top (const float *p, int *idx, int n, int k)
{
  int lo = 0, hi = n - 1;

  while (lo < hi)
    {
      int q = partition_ranks (p, idx, lo, hi);
      if (q == k - 1)
        break;
      if (q < k - 1)
        lo = q + 1;
      else
        hi = q - 1;
    }
}

static void
sort_ranks (const float *p, int *idx, int lo, int hi)
{
  while (hi - lo > 16)
    {
      int q = partition_ranks (p, idx, lo, hi);
      /* recurse into the smaller side, loop on the larger */
      if (q - lo < hi - q)
        {
          sort_ranks (p, idx, lo, q - 1);
          lo = q + 1;
        }
      else
        {
          sort_ranks (p, idx, q + 1, hi);
          hi = q - 1;
        }
    }
  for (int i = lo + 1; i <= hi; i++)
    for (int j = i; j > lo && ranks_before (p, idx[j], idx[j - 1]); j--)
      swap_ids (&idx[j], &idx[j - 1]);
}

/* Sixteen running maxima, then the first index holding the largest: the
 * plain loop compares each value with logits[best], a load that waits for
 * the previous compare, and took 139 µs for 32,000 logits here (a fifth of
 * a decode step's non-product time); this takes 6 µs (11 without the
 * vector clones). */
#define ARGMAX_LANES 16

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__ ((target_clones ("avx512f", "avx2", "default")))
#endif
int
llm_argmax (const float *v, int n)
{
  float m[ARGMAX_LANES], max;
  int i = 0;

  if (n < 1)
    return 0;
  for (int k = 0; k < ARGMAX_LANES; k++)
    m[k] = v[0];
  for (; i + ARGMAX_LANES <= n; i += ARGMAX_LANES)
    for (int k = 0; k < ARGMAX_LANES; k++)
      m[k] = v[i + k] > m[k] ? v[i + k] : m[k];
  max = m[0];
  for (int k = 1; k < ARGMAX_LANES; k++)
    max = m[k] > max ? m[k] : max;
  for (; i < n; i++)
    max = v[i] > max ? v[i] : max;
  for (i = 0; i < n; i++)
    if (v[i] == max)
      return i;
  return 0;
}

LlmToken
llm_sampler_sample (llm_sampler *s, float *logits, int n_vocab, const LlmToken *history, size_t n_history)
{
  int best, n;
  float max;
  double sum = 0, cum = 0, r;

  if (s->p.repeat_penalty != 1.0f && history != NULL)
    {
      size_t from = n_history > (size_t) s->p.repeat_last_n ? n_history - (size_t) s->p.repeat_last_n : 0;
      for (size_t i = from; i < n_history; i++)
        if (history[i] >= 0 && history[i] < n_vocab)
          {
            float *l = &logits[history[i]];
            *l = *l > 0 ? *l / s->p.repeat_penalty : *l * s->p.repeat_penalty;
          }
    }
  best = llm_argmax (logits, n_vocab);
  if (s->p.temperature <= 0.0f)
    return best;

  if (s->cap < n_vocab)
    {
      free (s->probs);
      free (s->idx);
      s->probs = malloc ((size_t) n_vocab * sizeof (float));
      s->idx = malloc ((size_t) n_vocab * sizeof (int));
      if (s->probs == NULL || s->idx == NULL)
        return best;
      s->cap = n_vocab;
    }
  max = logits[best];
  for (int i = 0; i < n_vocab; i++)
    {
      s->probs[i] = expf ((logits[i] - max) / s->p.temperature);
      sum += s->probs[i];
    }
  for (int i = 0; i < n_vocab; i++)
    s->probs[i] = (float) (s->probs[i] / sum);

  /* Candidates: min-p first (a token under the floor is never kept, the
   * best always is), then the top k selected, then only those sorted. */
  {
    float floor = s->p.min_p > 0 ? s->probs[best] * s->p.min_p : 0.0f;
    n = 0;
    for (int i = 0; i < n_vocab; i++)
      if (s->probs[i] >= floor || i == best)
        s->idx[n++] = i;
  }
  if (s->p.top_k > 0 && s->p.top_k < n)
    {
      select_top (s->probs, s->idx, n, s->p.top_k);
      n = s->p.top_k;
    }
  sort_ranks (s->probs, s->idx, 0, n - 1);
  if (s->p.top_p < 1.0f)
    {
      int m = 0;
      for (cum = 0; m < n; m++)
        {
          cum += s->probs[s->idx[m]];
          if (cum >= s->p.top_p)
            {
              m++;
              break;
            }
        }
      n = m > 0 ? m : 1;
    }
  sum = 0;
  for (int i = 0; i < n; i++)
    sum += s->probs[s->idx[i]];
  r = next_uniform (s) * sum;
  cum = 0;
  for (int i = 0; i < n; i++)
    {
      cum += s->probs[s->idx[i]];
      if (r < cum)
        return s->idx[i];
    }
  return s->idx[n - 1];
}

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
llm_generate (llm_decoder *d, const LlmToken *prompt, size_t n_prompt, const llm_sampling *params,
              int max_new, const char *const *stop, llm_token_fn on_token, void *user_data,
              LlmToken *out, double *prefill_tok_s, double *decode_tok_s)
{
  float *logits = malloc ((size_t) d->n_vocab * sizeof (float));
  LlmToken *history = malloc ((n_prompt + (size_t) max_new + 1) * sizeof (LlmToken));
  llm_sampler *sampler = llm_sampler_new (params);
  char *text = NULL;
  size_t text_len = 0, shown = 0, n_hist = n_prompt;
  int n_out = 0;
  double t0, t1;

  if (logits == NULL || history == NULL || sampler == NULL || n_prompt == 0)
    goto error;
  memcpy (history, prompt, n_prompt * sizeof (LlmToken));
  llm_decoder_reset (d);
  t0 = now_s ();
  if (!llm_decoder_eval (d, prompt, (int) n_prompt, false, logits))
    goto error;
  t1 = now_s ();
  if (prefill_tok_s)
    *prefill_tok_s = n_prompt / (t1 - t0 > 0 ? t1 - t0 : 1e-9);

  while (n_out < max_new)
    {
      LlmToken id = llm_sampler_sample (sampler, logits, d->n_vocab, history, n_hist);
      char piece[256];
      size_t len;
      bool stop_now = false;

      if (llm_vocab_is_eog (d->vocab, id))
        break;
      out[n_out++] = id;
      history[n_hist++] = id;
      len = llm_token_to_piece (d->vocab, id, false, piece, sizeof piece);
      if (len > sizeof piece)
        len = sizeof piece;
      text = realloc (text, text_len + len + 1);
      if (text == NULL)
        goto error;
      memcpy (text + text_len, piece, len);
      text_len += len;
      text[text_len] = '\0';
      for (int s = 0; stop != NULL && stop[s] != NULL; s++)
        if (strstr (text + (shown > 64 ? shown - 64 : 0), stop[s]) != NULL)
          stop_now = true;
      {
        size_t complete = llm_utf8_complete_prefix (text, text_len);
        if (on_token != NULL && complete > shown)
          {
            if (!on_token (text + shown, complete - shown, id, user_data))
              stop_now = true;
            shown = complete;
          }
      }
      if (stop_now || n_out == max_new || d->n_past >= d->n_ctx)
        break;
      if (!llm_decoder_eval (d, &id, 1, false, logits))
        goto error;
    }
  if (on_token != NULL && text_len > shown)
    on_token (text + shown, text_len - shown, LLM_TOKEN_NULL, user_data);
  if (decode_tok_s)
    {
      double t2 = now_s ();
      *decode_tok_s = n_out > 1 ? (n_out - 1) / (t2 - t1 > 0 ? t2 - t1 : 1e-9) : 0;
    }
  free (text);
  free (logits);
  free (history);
  llm_sampler_free (sampler);
  return n_out;

error:
  free (text);
  free (logits);
  free (history);
  llm_sampler_free (sampler);
  return -1;
}

double
llm_decoder_perplexity (llm_decoder *d, const LlmToken *tokens, size_t n, size_t *n_scored, size_t *n_windows)
{
  int W = d->n_ctx;
  size_t windows = n / (size_t) W;
  float *logits = malloc ((size_t) W * d->n_vocab * sizeof (float));
  LlmToken *win = malloc ((size_t) W * sizeof (LlmToken));
  LlmToken bos = llm_vocab_get_special (d->vocab, LLM_SPECIAL_BOS);
  double nll = 0;
  size_t count = 0;

  if (windows == 0 || logits == NULL || win == NULL)
    {
      free (logits);
      free (win);
      return -1;
    }
  for (size_t w = 0; w < windows; w++)
    {
      memcpy (win, tokens + w * W, (size_t) W * sizeof (LlmToken));
      if (bos >= 0)
        win[0] = bos;
      llm_decoder_reset (d);
      if (!llm_decoder_eval (d, win, W, true, logits))
        {
          free (logits);
          free (win);
          return -1;
        }
      /* Logits at W/2 .. W-2 predict tokens W/2+1 .. W-1. */
      for (int i = W / 2; i < W - 1; i++)
        {
          const float *l = logits + (size_t) i * d->n_vocab;
          float max = l[0];
          double sum = 0;
          for (int j = 1; j < d->n_vocab; j++)
            if (l[j] > max)
              max = l[j];
          for (int j = 0; j < d->n_vocab; j++)
            sum += exp ((double) l[j] - max);
          nll -= (double) l[win[i + 1]] - max - log (sum);
          count++;
        }
    }
  free (logits);
  free (win);
  if (n_scored)
    *n_scored = count;
  if (n_windows)
    *n_windows = windows;
  return exp (nll / (double) count);
}
