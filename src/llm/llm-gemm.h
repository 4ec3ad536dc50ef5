/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Matrix-matrix micro-kernels for batches of activations (prefill), AVX-512
 * VNNI. Internal to llm-matmul.c, which checks the CPU first. Plain C11. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "llm-quant.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Weight rows per tile: one 512-bit register holds a lane per row. */
#define LLM_GEMM_TILE_ROWS 16

/* A batch of activation rows as the type's dot products see them. For Q4_0
 * and Q8_0 weights: Q8_0 rows (the bytes llm_quantize_row makes), each
 * block's scale as a float and its correction for the weights' unsigned
 * offset, -c·Σq with c = 8 for Q4_0, 128 for Q8_0. For F16 weights: floats
 * rounded to half precision, as the F16 dot product rounds them. */
typedef struct {
  int64_t         n, cols, nb;
  llm_block_q8_0 *q;      /* n × nb */
  float          *d;      /* n × nb */
  int32_t        *corr;   /* n × nb */
  float          *x;      /* n × cols (F16) */
} llm_gemm_acts;

/* Types with a kernel (Q4_0, Q8_0, F16). */
bool   llm_gemm_avx512_has (llm_type type);
/* Bytes for n rows of activations, 64-byte aligned parts. */
size_t llm_gemm_acts_bytes (llm_type type, int64_t n, int64_t cols);
/* Points @a into @buf (llm_gemm_acts_bytes, 64-byte aligned). */
void   llm_gemm_acts_init (llm_gemm_acts *a, llm_type type, void *buf, int64_t n, int64_t cols);
/* Converts rows [t0, t1) of X. */
void   llm_gemm_avx512_quantize (llm_type type, const float *X, int64_t t0, int64_t t1,
                                 llm_gemm_acts *a);
/* Per-thread scratch for one tile of weights, 64-byte aligned. */
size_t llm_gemm_scratch_bytes (llm_type type, int64_t cols);
/* Y[t, r] = W[r,:]·X[t,:] for the first @nrows (≤ LLM_GEMM_TILE_ROWS) rows
 * of W and every activation row; Y rows are @ldy floats apart. */
void   llm_gemm_avx512_tile (llm_type type, const void *W, size_t row_size, int nrows,
                             const llm_gemm_acts *a, float *Y, int64_t ldy, void *scratch);

#ifdef __cplusplus
}
#endif
