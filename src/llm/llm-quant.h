/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Tensor number formats: the block layouts GGUF files use, conversion to and
 * from float, and dot products of a quantized row with quantized activations.
 * Plain C11, no GLib. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* GGML type ids as stored in GGUF tensor infos. */
typedef enum {
  LLM_TYPE_F32     = 0,
  LLM_TYPE_F16     = 1,
  LLM_TYPE_Q4_0    = 2,
  LLM_TYPE_Q4_1    = 3,
  LLM_TYPE_Q5_0    = 6,
  LLM_TYPE_Q5_1    = 7,
  LLM_TYPE_Q8_0    = 8,
  LLM_TYPE_Q8_1    = 9,
  LLM_TYPE_Q2_K    = 10,
  LLM_TYPE_Q3_K    = 11,
  LLM_TYPE_Q4_K    = 12,
  LLM_TYPE_Q5_K    = 13,
  LLM_TYPE_Q6_K    = 14,
  LLM_TYPE_Q8_K    = 15,
  LLM_TYPE_IQ2_XXS = 16,
  LLM_TYPE_IQ2_XS  = 17,
  LLM_TYPE_IQ3_XXS = 18,
  LLM_TYPE_IQ1_S   = 19,
  LLM_TYPE_IQ4_NL  = 20,
  LLM_TYPE_IQ3_S   = 21,
  LLM_TYPE_IQ2_S   = 22,
  LLM_TYPE_IQ4_XS  = 23,
  LLM_TYPE_I8      = 24,
  LLM_TYPE_I16     = 25,
  LLM_TYPE_I32     = 26,
  LLM_TYPE_I64     = 27,
  LLM_TYPE_F64     = 28,
  LLM_TYPE_IQ1_M   = 29,
  LLM_TYPE_BF16    = 30,
  LLM_TYPE_TQ1_0   = 34,
  LLM_TYPE_TQ2_0   = 35,
  LLM_TYPE_COUNT   = 40,
} llm_type;

#define LLM_QK   32    /* elements per block of the _0/_1 types */
#define LLM_QK_K 256   /* elements per super-block of the K types */

/* Block layouts, byte for byte as in GGUF files (little-endian, packed). */
typedef struct { uint16_t d; uint8_t qs[LLM_QK / 2]; } llm_block_q4_0;
typedef struct { uint16_t d, m; uint8_t qs[LLM_QK / 2]; } llm_block_q4_1;
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[LLM_QK / 2]; } llm_block_q5_0;
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[LLM_QK / 2]; } llm_block_q5_1;
typedef struct { uint16_t d; int8_t qs[LLM_QK]; } llm_block_q8_0;
typedef struct { uint16_t d, s; int8_t qs[LLM_QK]; } llm_block_q8_1;   /* s = d * sum(qs) */
typedef struct {
  uint16_t d, dmin;
  uint8_t  scales[12];          /* 8 scales and 8 mins, 6 bits each */
  uint8_t  qs[LLM_QK_K / 2];
} llm_block_q4_K;
typedef struct {
  uint16_t d, dmin;
  uint8_t  scales[12];
  uint8_t  qh[LLM_QK_K / 8];
  uint8_t  qs[LLM_QK_K / 2];
} llm_block_q5_K;
typedef struct {
  uint8_t  ql[LLM_QK_K / 2];
  uint8_t  qh[LLM_QK_K / 4];
  int8_t   scales[LLM_QK_K / 16];
  uint16_t d;
} llm_block_q6_K;
typedef struct {
  float    d;
  int8_t   qs[LLM_QK_K];
  int16_t  bsums[LLM_QK_K / 16];  /* sums of groups of 16 qs */
} llm_block_q8_K;

typedef struct {
  const char *name;
  uint32_t    block_size;   /* elements per block */
  uint32_t    type_size;    /* bytes per block */
  bool        can_compute;  /* dequantize and dot are implemented */
  llm_type    vec_dot_type; /* how activations are quantized for dot */
} llm_type_traits;

/* NULL for an id that names no known type. */
const llm_type_traits *llm_type_get_traits (uint32_t type);
const char *llm_type_name (uint32_t type);       /* "?" when unknown */
/* Parses "Q4_0", "q4_0", "F16"…; returns -1 when unknown. */
int         llm_type_from_name (const char *name);
/* Bytes of a row of n elements; 0 if n is not a whole number of blocks. */
size_t      llm_row_size (llm_type type, int64_t n);

/* Half and bfloat16 conversions (round to nearest even, as F16C does). */
float    llm_fp16_to_fp32 (uint16_t h);
uint16_t llm_fp32_to_fp16 (float f);
float    llm_bf16_to_fp32 (uint16_t h);
uint16_t llm_fp32_to_bf16 (float f);

/* Converts n floats (n a multiple of the type's block size) to the type with
 * the reference rounding of the public GGUF tools, so Q8_0 and Q4_0 bytes are
 * exactly the same as theirs; Q4_K and Q5_K search their 6-bit scales and
 * mins further, for less error than the reference (same block layout).
 * Returns false for a type that cannot be made. */
bool llm_quantize_row (llm_type type, const float *x, void *y, int64_t n);
/* Back to float. Returns false for a type it cannot read. */
bool llm_dequantize_row (llm_type type, const void *x, float *y, int64_t n);

/* Dot product of a row of @type with activations already converted to
 * traits->vec_dot_type. Chooses the fastest path the CPU supports. */
float llm_vec_dot (llm_type type, int64_t n, const void *x, const void *y);
/* The portable scalar path, which the SIMD paths are tested against. */
float llm_vec_dot_scalar (llm_type type, int64_t n, const void *x, const void *y);

/* Four rows at once (x, x + stride, …) against the same activations, so the
 * work on the activations is shared: out[r] = llm_vec_dot of row r, up to
 * float summation order. Falls back to four single dot products. */
void llm_vec_dot4 (llm_type type, int64_t n, const void *x, size_t stride, const void *y,
                   float out[4]);
/* A chunk of four-row groups: for k < nq, the rows x + k·row_size +
 * m·stride (m < 4) give out[k + m·out_stride]. The same as nq calls of
 * llm_vec_dot4, with the work on the activations done once. */
void llm_vec_dot4_rows (llm_type type, int64_t n, const void *x, size_t row_size, size_t stride,
                        int64_t nq, const void *y, float *out, int64_t out_stride);
/* Whether llm_vec_dot4 has a kernel of its own for @type on this CPU
 * (otherwise one row at a time streams better). */
bool llm_vec_dot4_native (llm_type type);

/* llm_attend_avx512 (below) when the CPU and LLM_SIMD allow it; false
 * otherwise, and the caller computes attention itself. */
bool llm_attend_simd (int group, int hd, int n, const float *q, const void *K, const void *V, bool f16, float scale,
                      float *scores, int ld, float *out);

/* llm_quantize_row for the activation types (Q8_0, Q8_1, Q8_K; others are
 * passed on), with SIMD where the CPU has it: the same bytes, faster. */
bool llm_quantize_activations (llm_type type, const float *x, void *y, int64_t n);

/* Which SIMD level llm_vec_dot uses: "scalar", "avx2", "avx512". Set
 * LLM_SIMD=scalar|avx2 in the environment to force a lower one. */
const char *llm_simd_level (void);

/* Internal: all 65536 halves as floats, filled before any SIMD kernel runs
 * (a table load is cheaper than a conversion from a general register). */
extern float llm_fp16_table[65536];

/* Internal: per-ISA kernels, each returning false when it has no path for
 * the type. */
bool llm_vec_dot_avx2 (llm_type type, int64_t n, const void *x, const void *y, float *out);
bool llm_vec_dot_avx512 (llm_type type, int64_t n, const void *x, const void *y, float *out);
bool llm_vec_dot4_rows_avx512 (llm_type type, int64_t n, const void *x, size_t row_size, size_t stride,
                               int64_t nq, const void *y, float *out, int64_t out_stride);
bool llm_quantize_act_avx512 (llm_type type, const float *x, void *y, int64_t n);
/* Single-token attention over @n cached rows for the @group query heads
 * (consecutive rows of @hd floats at @q) that share one KV head (@K, @V:
 * @n contiguous rows of @hd values, F16 when @f16, else floats): @scores (group rows of @ld floats) receives
 * the softmax of q·kᵀ·@scale, @out (group × hd) the weighted sum of V. False
 * when the shape has no AVX-512 path (hd not a multiple of 16, over 256, or
 * more than 8 heads per group). */
bool llm_attend_avx512 (int group, int hd, int n, const float *q, const void *K, const void *V, bool f16, float scale,
                        float *scores, int ld, float *out);
bool llm_vec_dot4_avx2 (llm_type type, int64_t n, const void *x, size_t stride, const void *y,
                        float out[4]);
bool llm_vec_dot4_avx512 (llm_type type, int64_t n, const void *x, size_t stride, const void *y,
                          float out[4]);
bool llm_cpu_has_avx2 (void);
bool llm_cpu_has_avx512 (void);

#ifdef __cplusplus
}
#endif
