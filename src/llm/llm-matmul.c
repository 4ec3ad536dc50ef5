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
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause ()
#else
#define CPU_RELAX() ((void) 0)
#endif

/* ---- pool -------------------------------------------------------------- */

/* A job is a number of chunks; any thread claims the next one from the
 * pool's claim word (generation << 32 | next chunk) with a compare-and-swap,
 * and the caller returns once every chunk is finished. The caller never
 * waits for a worker that has not started: on a shared desktop the other
 * core is often busy, and then the caller simply runs every chunk itself
 * instead of waiting for a wake-up (decoding issues ~60 jobs per token). A
 * worker still on an old generation fails its compare-and-swap. */

typedef struct {
  llm_pool *pool;
  int       ith;
  pthread_t thread;
} worker;

#define CLAIM_CLOSED 0xFFFFFFFFu

struct llm_pool {
  int                        n_threads;
  worker                    *workers;
  pthread_mutex_t            lock;
  pthread_cond_t             wake;
  atomic_uint                generation;   /* bumped for each job */
  _Atomic uint64_t           claim;        /* generation << 32 | next chunk */
  atomic_int                 done;         /* chunks finished */
  atomic_int                 sleepers;     /* workers waiting on @wake */
  atomic_bool                quit;
  _Atomic (llm_pool_chunk_fn) fn;
  _Atomic (void *)           ctx;
  atomic_int                 n_chunks;
};

/* Workers spin this long before sleeping: decoding issues dozens of small
 * jobs per token, and a futex wake-up costs more than the work (the worker
 * then arrives after the caller has run its chunks alone). 2,000 pauses
 * (45 µs here) put the worker to sleep ~50 times per token when the other
 * core was busy (Q4_0 decode 206 tok/s, 39,459 futex calls); 200 µs: 373
 * tok/s, 6,831 calls, same minutes. Bounded by time, not rounds, as a
 * pause lasts 10-140 cycles depending on the CPU, and kept short of a
 * scheduler slice, with a sched_yield every SPIN_YIELD_NS: a spinning
 * thread must not keep the core its partner (or anything else) waits for.
 * The caller spins SPIN_ROUNDS_CALLER before yielding. */
#define SPIN_NS (200 * 1000)
#define SPIN_ROUNDS_CALLER 250
#define SPIN_YIELD_NS (20 * 1000)

static inline uint64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* Claims and runs chunks of generation @gen until none is left. */
static void
run_chunks (llm_pool *p, unsigned gen, llm_pool_chunk_fn fn, void *ctx, int n, int ith)
{
  uint64_t c = atomic_load_explicit (&p->claim, memory_order_acquire);

  for (;;)
    {
      uint32_t idx = (uint32_t) c;
      if ((unsigned) (c >> 32) != gen || idx >= (uint32_t) n)
        return;
      if (!atomic_compare_exchange_weak_explicit (&p->claim, &c, c + 1, memory_order_acq_rel,
                                                  memory_order_acquire))
        continue;
      fn (ctx, (int) idx, ith);
      atomic_fetch_add_explicit (&p->done, 1, memory_order_release);
      c = atomic_load_explicit (&p->claim, memory_order_acquire);
    }
}

static void *
worker_main (void *data)
{
  worker *w = data;
  llm_pool *p = w->pool;
  unsigned seen = 0;

  for (;;)
    {
      unsigned gen;
      unsigned spins = 0;
      uint64_t t0 = 0, yielded = 0;
      while ((gen = atomic_load_explicit (&p->generation, memory_order_acquire)) == seen
             && !atomic_load (&p->quit))
        {
          if (spins++ == 0)
            t0 = now_ns ();
          /* the clock read once per 32 pauses */
          if (spins % 32 != 0)
            {
              CPU_RELAX ();
              continue;
            }
          {
            uint64_t spent = now_ns () - t0;
            if (spent < SPIN_NS)
              {
                /* every ~20 µs, let a thread waiting for this core run */
                if (spent - yielded >= SPIN_YIELD_NS)
                  {
                    sched_yield ();
                    yielded = spent;
                  }
                continue;
              }
          }
          pthread_mutex_lock (&p->lock);
          atomic_fetch_add (&p->sleepers, 1);
          while (atomic_load (&p->generation) == seen && !atomic_load (&p->quit))
            pthread_cond_wait (&p->wake, &p->lock);
          atomic_fetch_sub (&p->sleepers, 1);
          pthread_mutex_unlock (&p->lock);
        }
      if (atomic_load (&p->quit))
        return NULL;
      seen = gen;
      /* Acquire loads: a job's fields written after the claim word moved on
       * imply a failed compare-and-swap in run_chunks. */
      run_chunks (p, gen, atomic_load_explicit (&p->fn, memory_order_acquire),
                  atomic_load_explicit (&p->ctx, memory_order_acquire),
                  atomic_load_explicit (&p->n_chunks, memory_order_acquire), w->ith);
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
  atomic_init (&p->claim, (uint64_t) CLAIM_CLOSED);
  atomic_init (&p->done, 0);
  atomic_init (&p->sleepers, 0);
  atomic_init (&p->quit, false);
  atomic_init (&p->fn, NULL);
  atomic_init (&p->ctx, NULL);
  atomic_init (&p->n_chunks, 0);
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
llm_pool_run_chunks (llm_pool *p, llm_pool_chunk_fn fn, void *ctx, int n_chunks)
{
  unsigned gen;
  int spins = 0;

  if (n_chunks <= 0)
    return;
  if (p == NULL || p->n_threads == 1 || n_chunks == 1)
    {
      for (int i = 0; i < n_chunks; i++)
        fn (ctx, i, 0);
      return;
    }
  /* Only this thread writes the generation. Close the claim word under the
   * new generation first, so a late worker cannot claim an old chunk
   * against the new job's fields. */
  gen = atomic_load_explicit (&p->generation, memory_order_relaxed) + 1;
  atomic_store_explicit (&p->claim, (uint64_t) gen << 32 | CLAIM_CLOSED, memory_order_release);
  atomic_store_explicit (&p->done, 0, memory_order_relaxed);
  atomic_store_explicit (&p->fn, fn, memory_order_release);
  atomic_store_explicit (&p->ctx, ctx, memory_order_release);
  atomic_store_explicit (&p->n_chunks, n_chunks, memory_order_release);
  atomic_store_explicit (&p->claim, (uint64_t) gen << 32, memory_order_release);
  atomic_store (&p->generation, gen);
  if (atomic_load (&p->sleepers) > 0)
    {
      pthread_mutex_lock (&p->lock);
      pthread_cond_broadcast (&p->wake);
      pthread_mutex_unlock (&p->lock);
    }
  run_chunks (p, gen, fn, ctx, n_chunks, 0);
  /* Every chunk is claimed; wait for those other threads are running. */
  while (atomic_load_explicit (&p->done, memory_order_acquire) < n_chunks)
    {
      if (++spins < SPIN_ROUNDS_CALLER)
        CPU_RELAX ();
      else
        sched_yield ();
    }
}

typedef struct {
  llm_pool_fn fn;
  void       *ctx;
  int         nth;
} run_all;

static void
run_all_chunk (void *data, int chunk, int ith)
{
  run_all *r = data;
  (void) ith;
  r->fn (r->ctx, chunk, r->nth);
}

void
llm_pool_run (llm_pool *p, llm_pool_fn fn, void *ctx)
{
  run_all r = { fn, ctx, llm_pool_n_threads (p) };

  if (r.nth == 1)
    {
      fn (ctx, 0, 1);
      return;
    }
  llm_pool_run_chunks (p, run_all_chunk, &r, r.nth);
}

/* ---- matrix-vector ----------------------------------------------------- */

static void
split (int64_t n, int ith, int nth, int64_t *start, int64_t *end)
{
  int64_t per = (n + nth - 1) / nth;
  *start = per * ith < n ? per * ith : n;
  *end = *start + per < n ? *start + per : n;
}

#define MATVEC_MIN_BYTES_PER_THREAD (64 * 1024)
#define MATVEC_MIN_CHUNK_BYTES (1024 * 1024)

void
llm_matvec_rows (llm_type type, const void *W, int64_t cols, const void *xq,
                 int64_t r0, int64_t r1, float *y)
{
  const uint8_t *w = W;
  size_t row_size = llm_row_size (type, cols);
  int64_t r = r0;

  if (r1 - r0 >= 4 && llm_vec_dot4_native (type))
    {
      /* Four rows a quarter of the range apart: four sequential streams
       * the hardware prefetcher follows, rather than four interleaved
       * rows it loses. */
      int64_t q = (r1 - r0) / 4;
      size_t stride = (size_t) q * row_size;
      llm_vec_dot4_rows (type, cols, w + (size_t) r0 * row_size, row_size, stride, q, xq, y + r0, q);
      r = r0 + 4 * q;
    }
  for (; r < r1; r++)
    y[r] = llm_vec_dot (type, cols, w + (size_t) r * row_size, xq);
}

int64_t
llm_matvec_chunk_rows (llm_pool *pool, llm_type type, int64_t rows, int64_t cols)
{
  int nth = llm_pool_n_threads (pool);
  int64_t chunk;

  /* A small matrix is done before the other threads would wake up. */
  if (nth == 1 || (size_t) rows * llm_row_size (type, cols) < MATVEC_MIN_BYTES_PER_THREAD)
    return rows > 0 ? rows : 1;
  /* Chunks of at least MATVEC_MIN_CHUNK_BYTES, a whole number per thread,
   * at most 16 per thread. Each chunk restarts the hardware prefetcher's
   * streams and costs a claim: one chunk per thread decodes the 200M
   * model 18% faster than 16 per thread (measured). A large matrix still
   * has several chunks per thread, so a thread the system delays does not
   * hold up the other for long. */
  {
    size_t bytes = (size_t) rows * llm_row_size (type, cols);
    int64_t n = (int64_t) (bytes / MATVEC_MIN_CHUNK_BYTES);
    if (n > 16 * nth)
      n = 16 * nth;
    n = (n + nth - 1) / nth * nth;
    if (n < nth)
      n = nth;
    chunk = (rows + n - 1) / n;
    chunk = (chunk + 3) / 4 * 4;   /* whole groups of the four-row kernels */
  }
  return chunk < 16 ? 16 : chunk;
}

typedef struct {
  llm_type       type;
  const void    *W;
  int64_t        rows, cols, chunk;
  const void    *xq;
  float         *y;
} matvec_job;

static void
matvec_chunk (void *data, int c, int ith)
{
  const matvec_job *j = data;
  int64_t r0 = (int64_t) c * j->chunk, r1 = r0 + j->chunk < j->rows ? r0 + j->chunk : j->rows;

  (void) ith;
  llm_matvec_rows (j->type, j->W, j->cols, j->xq, r0, r1, j->y);
}

void
llm_matvec_q (llm_pool *pool, llm_type type, const void *W, int64_t rows, int64_t cols,
              const void *xq, float *y)
{
  matvec_job j = { type, W, rows, cols, llm_matvec_chunk_rows (pool, type, rows, cols), xq, y };

  llm_pool_run_chunks (pool, matvec_chunk, &j, (int) ((rows + j.chunk - 1) / j.chunk));
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

bool
llm_matmul_tiled (llm_type type)
{
  return gemm_available (type);
}

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
    method = n >= llm_matmul_sgemm_threshold () ? LLM_MATMUL_SGEMM : LLM_MATMUL_DOT;

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

/* Chunks of 1 MiB claimed as the threads go, as matrix-vector products
 * claim their rows, so the probe and the products meet a busy core alike. */
#define READ_CHUNK ((size_t) 1 << 20)

typedef struct {
  const uint8_t *buf;
  size_t         size;
  uint64_t       sums[64];
} read_job;

static void
read_chunk (void *data, int c, int ith)
{
  read_job *j = data;
  size_t start = (size_t) c * READ_CHUNK;
  size_t end = start + READ_CHUNK < j->size ? start + READ_CHUNK : j->size;
  const uint8_t *p = j->buf + start;
  size_t lines = (end - start) / 64;
#if defined(__x86_64__)
  __m128i a0 = _mm_setzero_si128 (), a1 = a0, a2 = a0, a3 = a0;
  for (size_t l = 0; l < lines; l++, p += 64)
    {
      a0 = _mm_add_epi64 (a0, _mm_loadu_si128 ((const __m128i *) p));
      a1 = _mm_add_epi64 (a1, _mm_loadu_si128 ((const __m128i *) (p + 16)));
      a2 = _mm_add_epi64 (a2, _mm_loadu_si128 ((const __m128i *) (p + 32)));
      a3 = _mm_add_epi64 (a3, _mm_loadu_si128 ((const __m128i *) (p + 48)));
    }
  a0 = _mm_add_epi64 (_mm_add_epi64 (a0, a1), _mm_add_epi64 (a2, a3));
  j->sums[ith % 64] += (uint64_t) _mm_cvtsi128_si64 (a0) + (uint64_t) _mm_extract_epi16 (a0, 4);
#else
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t l = 0; l < lines; l++, p += 64)
    {
      uint64_t v[8];
      memcpy (v, p, 64);
      s0 += v[0] + v[4];
      s1 += v[1] + v[5];
      s2 += v[2] + v[6];
      s3 += v[3] + v[7];
    }
  j->sums[ith % 64] += s0 + s1 + s2 + s3;
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
  llm_pool_run_chunks (pool, read_chunk, &j, (int) ((size + READ_CHUNK - 1) / READ_CHUNK));
  for (int i = 0; i < 64; i++)
    sum += j.sums[i];
  return sum;
}
