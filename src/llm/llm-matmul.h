/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A small thread pool and matrix products over the GGUF number formats.
 * Plain C11 + pthreads + OpenBLAS, no GLib. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "llm-quant.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llm_pool llm_pool;

/* @n_threads counts the calling thread; 0 means one per online CPU. */
llm_pool *llm_pool_new (int n_threads);
void      llm_pool_free (llm_pool *pool);
int       llm_pool_n_threads (const llm_pool *pool);

/* Runs fn(ctx, ith, nth) on every thread (the caller is ith 0) and returns
 * when all have finished. Not re-entrant. */
typedef void (*llm_pool_fn) (void *ctx, int ith, int nth);
void llm_pool_run (llm_pool *pool, llm_pool_fn fn, void *ctx);

/* Runs fn(ctx, chunk, ith) once for every chunk < @n_chunks, on whichever
 * threads are free (@ith, below llm_pool_n_threads, names the thread for
 * scratch space); returns when all have finished. The caller does not wait
 * for threads that have not started. Not re-entrant. */
typedef void (*llm_pool_chunk_fn) (void *ctx, int chunk, int ith);
void llm_pool_run_chunks (llm_pool *pool, llm_pool_chunk_fn fn, void *ctx, int n_chunks);

/* y[r] = W[r,:]·x for r < rows. W is rows × cols of @type (rows stored one
 * after another), x has cols floats. x is first converted to the type's
 * activation format (Q8_0, Q8_1, Q8_K, F16…) as other GGUF runtimes do.
 * @pool may be NULL (one thread). Returns false for a type it cannot use or
 * when cols is not a whole number of blocks. */
bool llm_matvec (llm_pool *pool, llm_type type, const void *W, int64_t rows, int64_t cols,
                 const float *x, float *y);

/* Same, with x already converted (llm_quantize_row to the vec_dot type). */
void llm_matvec_q (llm_pool *pool, llm_type type, const void *W, int64_t rows, int64_t cols,
                   const void *xq, float *y);

/* y[r] = W[r,:]·xq for r0 <= r < r1, on the calling thread: one chunk of a
 * product. The rows a chunk should have: llm_matvec_chunk_rows. */
void    llm_matvec_rows (llm_type type, const void *W, int64_t cols, const void *xq,
                         int64_t r0, int64_t r1, float *y);
int64_t llm_matvec_chunk_rows (llm_pool *pool, llm_type type, int64_t rows, int64_t cols);

/* Y[b,r] = W[r,:]·X[b,:] for a batch of n rows of activations (n × cols,
 * row-major) into Y (n × rows). DOT converts the activations as llm_matvec
 * does; for Q4_0, Q8_0 and F16 on AVX-512 it runs the tiled kernels of
 * llm-gemm-avx512.c (16 weight rows × up to 8 tokens per tile). SGEMM
 * dequantizes tiles of W and calls OpenBLAS with float activations. AUTO
 * takes DOT for small batches and SGEMM for large ones (float precision
 * where a caller needs it, e.g. embeddings); a caller that wants the
 * tiled kernels at every size asks for DOT when llm_matmul_tiled. */
typedef enum {
  LLM_MATMUL_AUTO,
  LLM_MATMUL_DOT,     /* quantized activations, integer dot products */
  LLM_MATMUL_SGEMM,   /* dequantized tiles of W, float activations */
} llm_matmul_method;

bool llm_matmul (llm_pool *pool, llm_type type, const void *W, int64_t rows, int64_t cols,
                 const float *X, int64_t n, float *Y, llm_matmul_method method);

/* Whether DOT runs the tiled micro-kernels for @type on this CPU (Q4_0,
 * Q8_0, F16 with AVX-512): then it is faster than SGEMM at any batch. */
bool llm_matmul_tiled (llm_type type);

/* Batch size from which AUTO uses sgemm (measured; see bench). */
int64_t llm_matmul_sgemm_threshold (void);

/* Reads @size bytes of @buf split across the pool's threads, the way a
 * matrix-vector product streams its weights; for measuring read bandwidth.
 * Returns a checksum so the reads cannot be optimised away. */
uint64_t llm_read_memory (llm_pool *pool, const void *buf, size_t size);

#ifdef __cplusplus
}
#endif
