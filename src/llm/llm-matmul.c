/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Thread pool and matrix products. Matrix-vector products are split across
 * threads by rows; each thread streams its own slice of W once. */
#include "llm-matmul.h"
#include "llm-gemm.h"

#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause ()
#else
#define CPU_RELAX() ((void) 0)
#endif

/* ---- pool -------------------------------------------------------------- */

typedef struct {
  llm_pool *pool;
  int       ith;
  pthread_t thread;
} worker;

struct llm_pool {
  int             n_threads;
  worker         *workers;
  pthread_mutex_t lock;
  pthread_cond_t  wake;
  atomic_uint     generation;   /* bumped for each job */
  atomic_int      pending;      /* workers still running the job */
  atomic_bool     quit;
  llm_pool_fn     fn;
  void           *ctx;
};

/* Workers spin this many rounds (about 50 µs) before sleeping: decoding
 * issues hundreds of small jobs per token, and a futex wake-up costs more
 * than the work. Kept short because a desktop shares its cores: a spinning
 * thread can take the core the thread it waits for needs. */
#define SPIN_ROUNDS 2000

static void *
worker_main (void *data)
{
  worker *w = data;
  llm_pool *p = w->pool;
  unsigned seen = 0;

  for (;;)
    {
      unsigned gen;
      int spins = 0;
      while ((gen = atomic_load_explicit (&p->generation, memory_order_acquire)) == seen
             && !atomic_load (&p->quit))
        {
          if (++spins < SPIN_ROUNDS)
            {
              CPU_RELAX ();
              continue;
            }
          pthread_mutex_lock (&p->lock);
          while (atomic_load (&p->generation) == seen && !atomic_load (&p->quit))
            pthread_cond_wait (&p->wake, &p->lock);
          pthread_mutex_unlock (&p->lock);
        }
      if (atomic_load (&p->quit))
        return NULL;
      seen = gen;
      p->fn (p->ctx, w->ith, p->n_threads);
      atomic_fetch_sub_explicit (&p->pending, 1, memory_order_release);
    }
}

llm_pool *
llm_pool_new (int n_threads)
{
  llm_pool *p = calloc (1, sizeof *p);

  if (p == NULL)
    return NULL;
  if (n_threads <= 0)
    {
      long n = sysconf (_SC_NPROCESSORS_ONLN);
      n_threads = n > 0 ? (int) n : 1;
    }
  p->n_threads = n_threads;
  pthread_mutex_init (&p->lock, NULL);
  pthread_cond_init (&p->wake, NULL);
  atomic_init (&p->generation, 0);
  atomic_init (&p->pending, 0);
  atomic_init (&p->quit, false);
  p->workers = calloc ((size_t) n_threads, sizeof *p->workers);
  if (p->workers == NULL)
    {
      free (p);
      return NULL;
    }
  for (int i = 1; i < n_threads; i++)
    {
      p->workers[i].pool = p;
      p->workers[i].ith = i;
      if (pthread_create (&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0)
        {
          /* Fewer threads than asked: run with what started. */
          p->n_threads = i;
          break;
        }
    }
  return p;
}

void
llm_pool_free (llm_pool *p)
{
  if (p == NULL)
    return;
  pthread_mutex_lock (&p->lock);
  atomic_store (&p->quit, true);
  pthread_cond_broadcast (&p->wake);
  pthread_mutex_unlock (&p->lock);
  for (int i = 1; i < p->n_threads; i++)
    pthread_join (p->workers[i].thread, NULL);
  pthread_mutex_destroy (&p->lock);
  pthread_cond_destroy (&p->wake);
  free (p->workers);
  free (p);
}

int
llm_pool_n_threads (const llm_pool *p)
{
  return p ? p->n_threads : 1;
}

void
llm_pool_run (llm_pool *p, llm_pool_fn fn, void *ctx)
{
  int spins = 0;

  if (p == NULL || p->n_threads == 1)
    {
      fn (ctx, 0, 1);
      return;
    }
  p->fn = fn;
  p->ctx = ctx;
  atomic_store (&p->pending, p->n_threads - 1);
  pthread_mutex_lock (&p->lock);
  atomic_fetch_add_explicit (&p->generation, 1, memory_order_release);
  pthread_cond_broadcast (&p->wake);
  pthread_mutex_unlock (&p->lock);
  fn (ctx, 0, p->n_threads);
  while (atomic_load_explicit (&p->pending, memory_order_acquire) > 0)
    {
      if (++spins < SPIN_ROUNDS / 8)
        CPU_RELAX ();
      else
        sched_yield ();
    }
}

/* ---- matrix-vector ----------------------------------------------------- */

typedef struct {
  llm_type       type;
  const uint8_t *W;
  size_t         row_size;
  int64_t        rows, cols;
  const void    *xq;
  float         *y;
  int64_t        chunk;
  int            rows_at_once;
  atomic_llong   next;         /* first row not yet claimed */
} matvec_job;

static void
split (int64_t n, int ith, int nth, int64_t *start, int64_t *end)
{
  int64_t per = (n + nth - 1) / nth;
  *start = per * ith < n ? per * ith : n;
  *end = *start + per < n ? *start + per : n;
}

#define MATVEC_MIN_BYTES_PER_THREAD (64 * 1024)

/* Threads claim chunks of rows as they go rather than a fixed share, so a
 * thread the system delays (a desktop is never idle) does not hold up the
 * others at the end of every product. */
static void
matvec_worker (void *data, int ith, int nth)
{
  matvec_job *j = data;

  for (;;)
    {
      int64_t r0 = atomic_fetch_add_explicit (&j->next, j->chunk, memory_order_relaxed);
      int64_t r1 = r0 + j->chunk < j->rows ? r0 + j->chunk : j->rows;
      if (r0 >= j->rows)
        return;
      int64_t r = r0;
      if (j->rows_at_once == 4 && r1 - r0 >= 4)
        {
          /* Four rows a quarter of the chunk apart: four sequential streams
           * the hardware prefetcher follows, rather than four interleaved
           * rows it loses. */
          int64_t q = (r1 - r0) / 4;
          size_t stride = (size_t) q * j->row_size;
          llm_vec_dot4_rows (j->type, j->cols, j->W + (size_t) r0 * j->row_size, j->row_size, stride, q, j->xq,
                             j->y + r0, q);
          r = r0 + 4 * q;
        }
      for (; r < r1; r++)
        j->y[r] = llm_vec_dot (j->type, j->cols, j->W + (size_t) r * j->row_size, j->xq);
    }
}

void
llm_matvec_q (llm_pool *pool, llm_type type, const void *W, int64_t rows, int64_t cols,
              const void *xq, float *y)
{
  matvec_job j = { type, W, llm_row_size (type, cols), rows, cols, xq, y, 0, 4 };
  int nth = llm_pool_n_threads (pool);

  j.rows_at_once = llm_vec_dot4_native (type) ? 4 : 1;

  /* about 16 chunks per thread, at least 16 rows each */
  j.chunk = rows / (16 * nth);
  if (j.chunk < 16)
    j.chunk = 16;
  atomic_init (&j.next, 0);
  /* A small matrix is done before the other threads would wake up. */
  if ((size_t) rows * j.row_size < MATVEC_MIN_BYTES_PER_THREAD)
    matvec_worker (&j, 0, 1);
  else
    llm_pool_run (pool, matvec_worker, &j);
}

/* Activations converted to the dot type: F32 stays, others are converted. */
static void *
convert_activations (llm_type type, const float *x, int64_t n_rows, int64_t cols, size_t *row_size)
{
  const llm_type_traits *t = llm_type_get_traits (type);
  llm_type vt = t->vec_dot_type;
  size_t rs = llm_row_size (vt, cols);
  uint8_t *buf;

  if (rs == 0)
    return NULL;
  buf = malloc (rs * (size_t) n_rows + 64);
  if (buf == NULL)
    return NULL;
  for (int64_t i = 0; i < n_rows; i++)
    llm_quantize_activations (vt, x + i * cols, buf + (size_t) i * rs, cols);
  *row_size = rs;
  return buf;
}

static bool
usable (llm_type type, int64_t cols)
{
  const llm_type_traits *t = llm_type_get_traits (type);
  return t != NULL && t->can_compute && type != LLM_TYPE_Q8_K && type != LLM_TYPE_Q8_1
      && cols > 0 && cols % t->block_size == 0
      && cols % llm_type_get_traits (t->vec_dot_type)->block_size == 0;
}

bool
llm_matvec (llm_pool *pool, llm_type type, const void *W, int64_t rows, int64_t cols,
            const float *x, float *y)
{
  size_t rs;
  void *xq;

  if (!usable (type, cols))
    return false;
  xq = convert_activations (type, x, 1, cols, &rs);
  if (xq == NULL)
    return false;
  llm_matvec_q (pool, type, W, rows, cols, xq, y);
  free (xq);
  return true;
}

/* ---- matrix-matrix ----------------------------------------------------- */

#define DOT_TILE_ROWS 16

typedef struct {
  llm_type       type;
  const uint8_t *W;
  size_t         row_size;
  int64_t        rows, cols, n;
  const uint8_t *xq;
  size_t         xq_row_size;
  float         *Y;
} matmul_dot_job;

static void
matmul_dot_worker (void *data, int ith, int nth)
{
  const matmul_dot_job *j = data;
  int64_t r0, r1;

  split (j->rows, ith, nth, &r0, &r1);
  /* A tile of W rows stays in cache while every activation row passes. */
  for (int64_t rt = r0; rt < r1; rt += DOT_TILE_ROWS)
    {
      int64_t re = rt + DOT_TILE_ROWS < r1 ? rt + DOT_TILE_ROWS : r1;
      for (int64_t b = 0; b < j->n; b++)
        for (int64_t r = rt; r < re; r++)
          j->Y[b * j->rows + r] = llm_vec_dot (j->type, j->cols, j->W + (size_t) r * j->row_size,
                                               j->xq + (size_t) b * j->xq_row_size);
    }
}

/* The micro-kernels of llm-gemm-avx512.c: activations quantized once, then
 * threads claim tiles of 16 weight rows, each gathered once for the whole
 * batch. */
static bool
gemm_available (llm_type type)
{
#ifdef LLM_HAVE_AVX512
  return llm_gemm_avx512_has (type) && strcmp (llm_simd_level (), "avx512") == 0;
#else
  (void) type;
  return false;
#endif
}

#ifdef LLM_HAVE_AVX512
typedef struct {
  llm_type       type;
  const uint8_t *W;
  size_t         row_size;
  int64_t        rows;
  const float   *X;
  llm_gemm_acts  acts;
  float         *Y;
  uint8_t       *scratch;
  size_t         scratch_bytes;
  atomic_llong   next;
} gemm_job;

static void
gemm_quantize_worker (void *data, int ith, int nth)
{
  gemm_job *j = data;
  int64_t t0, t1;

  split (j->acts.n, ith, nth, &t0, &t1);
  llm_gemm_avx512_quantize (j->type, j->X, t0, t1, &j->acts);
}

static void
gemm_worker (void *data, int ith, int nth)
{
  gemm_job *j = data;
  uint8_t *scratch = j->scratch + (size_t) ith * j->scratch_bytes;

  (void) nth;
  for (;;)
    {
      int64_t r0 = atomic_fetch_add_explicit (&j->next, 1, memory_order_relaxed) * LLM_GEMM_TILE_ROWS;
      if (r0 >= j->rows)
        return;
      int nr = j->rows - r0 < LLM_GEMM_TILE_ROWS ? (int) (j->rows - r0) : LLM_GEMM_TILE_ROWS;
      llm_gemm_avx512_tile (j->type, j->W + (size_t) r0 * j->row_size, j->row_size, nr, &j->acts,
                            j->Y + r0, j->rows, scratch);
    }
}

static bool
matmul_gemm (llm_pool *pool, llm_type type, const void *W, size_t row_size, int64_t rows,
             int64_t cols, const float *X, int64_t n, float *Y)
{
  gemm_job j = { type, W, row_size, rows, X, { 0 }, Y, NULL, 0, 0 };
  int nth = llm_pool_n_threads (pool);
  size_t acts_bytes = llm_gemm_acts_bytes (type, n, cols);
  void *acts = aligned_alloc (64, acts_bytes);

  j.scratch_bytes = llm_gemm_scratch_bytes (type, cols);
  j.scratch = aligned_alloc (64, j.scratch_bytes * (size_t) nth);
  if (acts == NULL || j.scratch == NULL)
    {
      free (acts);
      free (j.scratch);
      return false;
    }
  llm_gemm_acts_init (&j.acts, type, acts, n, cols);
  atomic_init (&j.next, 0);
  if (n >= 2 * nth)
    llm_pool_run (pool, gemm_quantize_worker, &j);
  else
    gemm_quantize_worker (&j, 0, 1);
  llm_pool_run (pool, gemm_worker, &j);
  free (acts);
  free (j.scratch);
  return true;
}
#endif

typedef struct {
  llm_type       type;
  const uint8_t *W;
  size_t         row_size;
  int64_t        r0, nr, cols;
  float         *tile;
} dequant_job;

static void
dequant_worker (void *data, int ith, int nth)
{
  const dequant_job *j = data;
  int64_t a, b;

  split (j->nr, ith, nth, &a, &b);
  for (int64_t r = a; r < b; r++)
    llm_dequantize_row (j->type, j->W + (size_t) (j->r0 + r) * j->row_size,
                        j->tile + r * j->cols, j->cols);
}

#define SGEMM_TILE_ROWS 256

int64_t
llm_matmul_sgemm_threshold (void)
{
  const char *env = getenv ("LLM_SGEMM_MIN_BATCH");
  if (env != NULL && atoll (env) > 0)
    return atoll (env);
  /* docent bench kernels, 2 threads, 4096 × 4096: the dequantize + sgemm
   * path overtakes the quantized dot products between 64 and 256 rows of
   * activations for Q4_0, Q8_0, Q4_K and F16 (docs/BENCHMARKS.md). */
  return 128;
}

bool
llm_matmul (llm_pool *pool, llm_type type, const void *W, int64_t rows, int64_t cols,
            const float *X, int64_t n, float *Y, llm_matmul_method method)
{
  size_t row_size = llm_row_size (type, cols);

  if (!usable (type, cols) || n <= 0)
    return false;
  if (method == LLM_MATMUL_AUTO)
    method = n >= llm_matmul_sgemm_threshold () && !gemm_available (type) ? LLM_MATMUL_SGEMM
                                                                          : LLM_MATMUL_DOT;

#ifdef LLM_HAVE_AVX512
  if (method == LLM_MATMUL_DOT && gemm_available (type))
    return matmul_gemm (pool, type, W, row_size, rows, cols, X, n, Y);
#endif
  if (method == LLM_MATMUL_DOT)
    {
      matmul_dot_job j = { type, W, row_size, rows, cols, n, NULL, 0, Y };
      uint8_t *xq = convert_activations (type, X, n, cols, &j.xq_row_size);
      if (xq == NULL)
        return false;
      j.xq = xq;
      llm_pool_run (pool, matmul_dot_worker, &j);
      free (xq);
      return true;
    }

  {
    int64_t tile_rows = rows < SGEMM_TILE_ROWS ? rows : SGEMM_TILE_ROWS;
    float *tile = malloc ((size_t) tile_rows * (size_t) cols * sizeof (float));
    if (tile == NULL)
      return false;
    for (int64_t r0 = 0; r0 < rows; r0 += tile_rows)
      {
        int64_t nr = r0 + tile_rows <= rows ? tile_rows : rows - r0;
        dequant_job dj = { type, W, row_size, r0, nr, cols, tile };
        llm_pool_run (pool, dequant_worker, &dj);
        /* Y[:, r0:r0+nr] = X · tileᵀ */
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (blasint) n, (blasint) nr,
                     (blasint) cols, 1.0f, X, (blasint) cols, tile, (blasint) cols, 0.0f,
                     Y + r0, (blasint) rows);
      }
    free (tile);
    return true;
  }
}

/* ---- read bandwidth ---------------------------------------------------- */

typedef struct {
  const uint8_t *buf;
  size_t         size;
  uint64_t       sums[64];
} read_job;

static void
read_worker (void *data, int ith, int nth)
{
  read_job *j = data;
  size_t chunks = j->size / 64;
  size_t per = (chunks + (size_t) nth - 1) / (size_t) nth;
  size_t c0 = per * (size_t) ith, c1 = c0 + per < chunks ? c0 + per : chunks;
  const uint8_t *p = j->buf + c0 * 64;
#if defined(__x86_64__)
  __m128i a0 = _mm_setzero_si128 (), a1 = a0, a2 = a0, a3 = a0;
  for (size_t c = c0; c < c1; c++, p += 64)
    {
      a0 = _mm_add_epi64 (a0, _mm_loadu_si128 ((const __m128i *) p));
      a1 = _mm_add_epi64 (a1, _mm_loadu_si128 ((const __m128i *) (p + 16)));
      a2 = _mm_add_epi64 (a2, _mm_loadu_si128 ((const __m128i *) (p + 32)));
      a3 = _mm_add_epi64 (a3, _mm_loadu_si128 ((const __m128i *) (p + 48)));
    }
  a0 = _mm_add_epi64 (_mm_add_epi64 (a0, a1), _mm_add_epi64 (a2, a3));
  j->sums[ith % 64] = (uint64_t) _mm_cvtsi128_si64 (a0) + (uint64_t) _mm_extract_epi16 (a0, 4);
#else
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t c = c0; c < c1; c++, p += 64)
    {
      uint64_t v[8];
      memcpy (v, p, 64);
      s0 += v[0] + v[4];
      s1 += v[1] + v[5];
      s2 += v[2] + v[6];
      s3 += v[3] + v[7];
    }
  j->sums[ith % 64] = s0 + s1 + s2 + s3;
#endif
}

uint64_t
llm_read_memory (llm_pool *pool, const void *buf, size_t size)
{
  read_job j;
  uint64_t sum = 0;

  memset (&j, 0, sizeof j);
  j.buf = buf;
  j.size = size;
  llm_pool_run (pool, read_worker, &j);
  for (int i = 0; i < 64; i++)
    sum += j.sums[i];
  return sum;
}
