/* SPDX-License-Identifier: GPL-3.0-or-later */
/* AVX-512 (F, BW, VL, VNNI) dot products for the types where they measure
 * faster than AVX2 (F16, Q4_0, Q8_0). Compiled with the matching -m flags and
 * called only after llm_cpu_has_avx512(). The integer sum of each block is
 * exactly the scalar path's. Other types fall back to AVX2. */
#include "llm-quant.h"

#include <immintrin.h>

/* Memory-bound kernels prefetch this far ahead in their row: measured on
 * Q8_0 from RAM, 2-4 KiB ahead gives +25% over the hardware prefetcher alone. */
#ifndef LLM_PREFETCH_BYTES
#define LLM_PREFETCH_BYTES 2048
#endif

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static inline __m256i
combine (__m128i lo, __m128i hi)
{
  return _mm256_inserti128_si256 (_mm256_castsi128_si256 (lo), hi, 1);
}

static inline __m512i
combine512 (__m256i lo, __m256i hi)
{
  return _mm512_inserti64x4 (_mm512_castsi256_si512 (lo), hi, 1);
}

static inline __m256
scale2 (uint16_t a, uint16_t b)
{
  return _mm256_mul_ps (_mm256_broadcast_ss (&llm_fp16_table[a]), _mm256_broadcast_ss (&llm_fp16_table[b]));
}

static inline float
hsum128 (__m128 r)
{
  r = _mm_add_ps (r, _mm_movehl_ps (r, r));
  r = _mm_add_ss (r, _mm_movehdup_ps (r));
  return _mm_cvtss_f32 (r);
}

/* Q4_0 four blocks to a 512-bit register. Four blocks are 72 bytes: the d
 * of block k is 16-bit word 9k, its 16 quant bytes words 9k+1 … 9k+8, so two
 * overlapping loads (bytes 0-63 and 8-71) and one word permutation gather
 * the 64 quant bytes, low nibbles in the low and high nibbles in the high
 * halves of each 128-bit lane after a shift. The activations are rearranged
 * to match once per group, shared by every row of a multi-row kernel, with
 * -8·Σv per block as the starting value of the dpbusd: the weights go in as
 * unsigned nibbles, and each block's integer sum is exactly the scalar one. */
static const int16_t q4_0_qs_words[32] = {
  1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17,
  19, 20, 21, 22, 23, 24, 25, 26, 28, 29, 30, 31, 60, 61, 62, 63,
};
static const int16_t q4_0_d_words[32] = {
  0, 0, 0, 0, 9, 9, 9, 9, 18, 18, 18, 18, 27, 27, 27, 27,
};

typedef struct {
  __m512i lo, hi;     /* elements 0-15 / 16-31 of blocks 0-3, one per lane */
  __m512i negcorr;    /* -8·Σv of block k in int32 lanes 4k … 4k+3 */
  __m512  dy;         /* d of block k in float lanes 4k … 4k+3 */
} q8_0_x4;

static inline q8_0_x4
q8_0_x4_load (const llm_block_q8_0 *y)
{
  const __m512i eight = _mm512_set1_epi8 (8);
  const __m512i v01 = combine512 (_mm256_loadu_si256 ((const __m256i *) y[0].qs),
                                  _mm256_loadu_si256 ((const __m256i *) y[1].qs));
  const __m512i v23 = combine512 (_mm256_loadu_si256 ((const __m256i *) y[2].qs),
                                  _mm256_loadu_si256 ((const __m256i *) y[3].qs));
  const __m128 d4 = _mm_setr_ps (llm_fp16_table[y[0].d], llm_fp16_table[y[1].d],
                                 llm_fp16_table[y[2].d], llm_fp16_table[y[3].d]);
  q8_0_x4 a;

  a.lo = _mm512_shuffle_i64x2 (v01, v23, 0x88);
  a.hi = _mm512_shuffle_i64x2 (v01, v23, 0xDD);
  a.negcorr = _mm512_sub_epi32 (_mm512_setzero_si512 (),
                                _mm512_dpbusd_epi32 (_mm512_dpbusd_epi32 (_mm512_setzero_si512 (), eight, a.lo),
                                                     eight, a.hi));
  a.dy = _mm512_permutexvar_ps (_mm512_setr_epi32 (0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3),
                                _mm512_castps128_ps512 (d4));
  return a;
}

/* acc + the four blocks at @p against @a, 16 float lanes */
static inline __m512
q4_0_x4_fma (const uint8_t *p, const q8_0_x4 *a, __m512 acc)
{
  const __m512i m4 = _mm512_set1_epi8 (0x0F);
  const __m512i w0 = _mm512_loadu_si512 (p), w1 = _mm512_loadu_si512 (p + 8);
  const __m512i q = _mm512_permutex2var_epi16 (w0, _mm512_loadu_si512 (q4_0_qs_words), w1);
  const __m512 dx = _mm512_cvtph_ps (_mm512_castsi512_si256 (
      _mm512_permutexvar_epi16 (_mm512_loadu_si512 (q4_0_d_words), w0)));
  const __m512i s = _mm512_dpbusd_epi32 (_mm512_dpbusd_epi32 (a->negcorr, _mm512_and_si512 (q, m4), a->lo),
                                         _mm512_and_si512 (_mm512_srli_epi16 (q, 4), m4), a->hi);
  return _mm512_fmadd_ps (_mm512_mul_ps (dx, a->dy), _mm512_cvtepi32_ps (s), acc);
}

/* One block at a time, for the tail of a row that is not a multiple of four
 * blocks. */
static float
dot_q4_0_blocks (int64_t nb, const llm_block_q4_0 *x, const llm_block_q8_0 *y)
{
  const __m256i m4 = _mm256_set1_epi8 (0x0F);
  const __m256i eight = _mm256_set1_epi8 (8);
  __m256 acc = _mm256_setzero_ps ();

  for (int64_t i = 0; i < nb; i++)
    {
      const __m128i t = _mm_loadu_si128 ((const __m128i *) x[i].qs);
      const __m256i q = _mm256_and_si256 (combine (t, _mm_srli_epi16 (t, 4)), m4);
      const __m256i v = _mm256_loadu_si256 ((const __m256i *) y[i].qs);
      const __m256i s = _mm256_sub_epi32 (_mm256_dpbusd_epi32 (_mm256_setzero_si256 (), q, v),
                                          _mm256_dpbusd_epi32 (_mm256_setzero_si256 (), eight, v));
      acc = _mm256_fmadd_ps (scale2 (x[i].d, y[i].d), _mm256_cvtepi32_ps (s), acc);
    }
  {
    __m128 r = _mm_add_ps (_mm256_castps256_ps128 (acc), _mm256_extractf128_ps (acc, 1));
    return hsum128 (r);
  }
}

static float
dot_q4_0 (int64_t nb, const llm_block_q4_0 *x, const llm_block_q8_0 *y)
{
  __m512 acc0 = _mm512_setzero_ps (), acc1 = _mm512_setzero_ps ();
  int64_t i = 0;

  for (; i + 8 <= nb; i += 8)
    {
      _mm_prefetch ((const char *) (x + i) + LLM_PREFETCH_BYTES, _MM_HINT_T0);
      _mm_prefetch ((const char *) (x + i) + LLM_PREFETCH_BYTES + 64, _MM_HINT_T0);
      _mm_prefetch ((const char *) (x + i) + LLM_PREFETCH_BYTES + 128, _MM_HINT_T0);
      const q8_0_x4 a0 = q8_0_x4_load (y + i), a1 = q8_0_x4_load (y + i + 4);
      acc0 = q4_0_x4_fma ((const uint8_t *) (x + i), &a0, acc0);
      acc1 = q4_0_x4_fma ((const uint8_t *) (x + i + 4), &a1, acc1);
    }
  for (; i + 4 <= nb; i += 4)
    {
      const q8_0_x4 a = q8_0_x4_load (y + i);
      acc0 = q4_0_x4_fma ((const uint8_t *) (x + i), &a, acc0);
    }
  return _mm512_reduce_add_ps (_mm512_add_ps (acc0, acc1)) + (i < nb ? dot_q4_0_blocks (nb - i, x + i, y + i) : 0.0f);
}

/* Q4_1, Q5_0 and Q5_1 the same way: four blocks per register, gathered by
 * word permutations from two overlapping loads (every field of these
 * blocks is at an even offset), the fifth bits tested into byte masks that
 * add 16, and for the _1 types the m·s term of each block added once (lane
 * 4k of the 16 float lanes of block k). */
#define ALWAYS_INLINE inline __attribute__ ((always_inline))

/* Word @w of four blocks from two loads: words 0-31, and 32-63 for words
 * @o … o+31 (the second load starts at word o). */
#define X4W(w, o) ((w) < 32 ? (w) : 32 + (w) - (o))
/* Words of block k (of @bw words) from word @f: 8 quant words; qh words
 * then 6 unused; d or m four times. */
#define X4_QS8(bw, k, f) X4W ((bw) * (k) + (f), 4 * (bw) - 32), X4W ((bw) * (k) + (f) + 1, 4 * (bw) - 32), \
    X4W ((bw) * (k) + (f) + 2, 4 * (bw) - 32), X4W ((bw) * (k) + (f) + 3, 4 * (bw) - 32),                  \
    X4W ((bw) * (k) + (f) + 4, 4 * (bw) - 32), X4W ((bw) * (k) + (f) + 5, 4 * (bw) - 32),                  \
    X4W ((bw) * (k) + (f) + 6, 4 * (bw) - 32), X4W ((bw) * (k) + (f) + 7, 4 * (bw) - 32)
#define X4_QH8(bw, k, f) X4W ((bw) * (k) + (f), 4 * (bw) - 32), X4W ((bw) * (k) + (f) + 1, 4 * (bw) - 32), \
    0, 0, 0, 0, 0, 0
#define X4_D4(bw, k, f) X4W ((bw) * (k) + (f), 4 * (bw) - 32), X4W ((bw) * (k) + (f), 4 * (bw) - 32),     \
    X4W ((bw) * (k) + (f), 4 * (bw) - 32), X4W ((bw) * (k) + (f), 4 * (bw) - 32)
#define X4_ALL(M, bw, f) M (bw, 0, f), M (bw, 1, f), M (bw, 2, f), M (bw, 3, f)

typedef struct {
  int16_t qs_idx[32];   /* the 4 × 16 quant bytes, block k in 128-bit lane k */
  int16_t d_idx[32];    /* d of block k in words 4k … 4k+3, m in words 16+4k … */
  int16_t qh_idx[32];   /* the 32 fifth bits of block k in words 8k, 8k+1 */
} x4_index;

/* Block sizes and offsets in words: Q4_1 d, m, qs[16]; Q5_0 d, qh[4],
 * qs[16]; Q5_1 d, m, qh[4], qs[16]. */
static const x4_index x4_index_q4_1 = { { X4_ALL (X4_QS8, 10, 2) }, { X4_ALL (X4_D4, 10, 0), X4_ALL (X4_D4, 10, 1) }, { 0 } };
static const x4_index x4_index_q5_0 = { { X4_ALL (X4_QS8, 11, 3) }, { X4_ALL (X4_D4, 11, 0) }, { X4_ALL (X4_QH8, 11, 1) } };
static const x4_index x4_index_q5_1 = { { X4_ALL (X4_QS8, 12, 4) }, { X4_ALL (X4_D4, 12, 0), X4_ALL (X4_D4, 12, 1) }, { X4_ALL (X4_QH8, 12, 2) } };

typedef struct {
  __m512i qs_idx, d_idx, qh_idx;
  int     off1;     /* byte offset of the second load */
} x4_layout;

static ALWAYS_INLINE x4_layout
x4_layout_make (const x4_index *ix, int block)
{
  x4_layout l;

  l.off1 = 4 * block - 64;
  l.qs_idx = _mm512_loadu_si512 (ix->qs_idx);
  l.d_idx = _mm512_loadu_si512 (ix->d_idx);
  l.qh_idx = _mm512_loadu_si512 (ix->qh_idx);
  return l;
}

typedef struct {
  __m512i lo, hi;     /* elements 0-15 / 16-31 of blocks 0-3, one per lane */
  __m512i init;       /* -bias·Σv of block k in int32 lanes 4k … 4k+3 */
  __m512  dy;         /* d of block k in float lanes 4k … 4k+3 */
  __m512  sy;         /* s of block k in float lane 4k, 0 elsewhere (Q8_1) */
} act_x4;

/* Four Q8_0 (size 34, quants at 2) or Q8_1 (36, at 4) blocks. */
static ALWAYS_INLINE act_x4
act_x4_load (const uint8_t *y, int size, int qs, int bias)
{
  const __m512i rep4 = _mm512_setr_epi32 (0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  const __m512i v01 = combine512 (_mm256_loadu_si256 ((const __m256i *) (y + qs)),
                                  _mm256_loadu_si256 ((const __m256i *) (y + size + qs)));
  const __m512i v23 = combine512 (_mm256_loadu_si256 ((const __m256i *) (y + 2 * size + qs)),
                                  _mm256_loadu_si256 ((const __m256i *) (y + 3 * size + qs)));
  uint16_t h[8];
  act_x4 a;

  for (int k = 0; k < 4; k++)
    {
      memcpy (&h[k], y + k * size, 2);
      memcpy (&h[4 + k], y + k * size + 2, 2);
    }
  a.lo = _mm512_shuffle_i64x2 (v01, v23, 0x88);
  a.hi = _mm512_shuffle_i64x2 (v01, v23, 0xDD);
  a.init = _mm512_setzero_si512 ();
  if (bias)
    a.init = _mm512_sub_epi32 (a.init, _mm512_dpbusd_epi32 (_mm512_dpbusd_epi32 (a.init, _mm512_set1_epi8 ((char) bias), a.lo),
                                                            _mm512_set1_epi8 ((char) bias), a.hi));
  a.dy = _mm512_permutexvar_ps (rep4, _mm512_castps128_ps512 (_mm_setr_ps (llm_fp16_table[h[0]], llm_fp16_table[h[1]],
                                                                            llm_fp16_table[h[2]], llm_fp16_table[h[3]])));
  a.sy = _mm512_maskz_permutexvar_ps (0x1111, rep4, _mm512_castps128_ps512 (_mm_setr_ps (
      llm_fp16_table[h[4]], llm_fp16_table[h[5]], llm_fp16_table[h[6]], llm_fp16_table[h[7]])));
  return a;
}

/* acc + four blocks at @p against @a. */
static ALWAYS_INLINE __m512
x4_fma (const uint8_t *p, const x4_layout *l, const act_x4 *a, bool has_qh, bool has_m, __m512 acc)
{
  const __m512i m4 = _mm512_set1_epi8 (0x0F);
  const __m512i w0 = _mm512_loadu_si512 (p), w1 = _mm512_loadu_si512 (p + l->off1);
  const __m512i q = _mm512_permutex2var_epi16 (w0, l->qs_idx, w1);
  __m512i qlo = _mm512_and_si512 (q, m4), qhi = _mm512_and_si512 (_mm512_srli_epi16 (q, 4), m4);
  if (has_qh)
    {
      const __m512i h = _mm512_permutex2var_epi16 (w0, l->qh_idx, w1);
      const __m512i bits = _mm512_set1_epi64 ((long long) 0x8040201008040201ULL);
      const __m512i hlo = _mm512_shuffle_epi8 (h, _mm512_broadcast_i32x4 (
          _mm_setr_epi8 (0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1)));
      const __m512i hhi = _mm512_shuffle_epi8 (h, _mm512_broadcast_i32x4 (
          _mm_setr_epi8 (2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3)));
      qlo = _mm512_mask_add_epi8 (qlo, _mm512_test_epi8_mask (hlo, bits), qlo, _mm512_set1_epi8 (16));
      qhi = _mm512_mask_add_epi8 (qhi, _mm512_test_epi8_mask (hhi, bits), qhi, _mm512_set1_epi8 (16));
    }
  const __m512i s = _mm512_dpbusd_epi32 (_mm512_dpbusd_epi32 (a->init, qlo, a->lo), qhi, a->hi);
  const __m512i dm = _mm512_permutex2var_epi16 (w0, l->d_idx, w1);
  const __m512 dx = _mm512_cvtph_ps (_mm512_castsi512_si256 (dm));
  /* the m·s term first and off the chain of acc */
  const __m512 t = _mm512_mul_ps (_mm512_mul_ps (dx, a->dy), _mm512_cvtepi32_ps (s));
  if (has_m)
    return _mm512_add_ps (acc, _mm512_fmadd_ps (_mm512_cvtph_ps (_mm512_extracti64x4_epi64 (dm, 1)), a->sy, t));
  return _mm512_add_ps (acc, t);
}

typedef struct {
  const x4_index *index;
  int  block;                  /* bytes of a weight block */
  bool has_qh, has_m;
  int  act_size, act_qs, bias; /* the activation block; -bias·Σv per block */
} x4_type;

static const x4_type x4_q4_1 = { &x4_index_q4_1, 20, false, true, 36, 4, 0 };
static const x4_type x4_q5_0 = { &x4_index_q5_0, 22, true, false, 34, 2, 16 };
static const x4_type x4_q5_1 = { &x4_index_q5_1, 24, true, true, 36, 4, 0 };

/* @nr rows (1 or 4) @stride apart, nb a multiple of 4 blocks. */
static ALWAYS_INLINE void
x4_rows (const x4_type *t, int nr, int64_t nb, const uint8_t *x, size_t stride, const uint8_t *y, __m512 acc[4])
{
  const x4_layout l = x4_layout_make (t->index, t->block);

  for (int64_t i = 0; i < nb; i += 4)
    {
      const act_x4 a = act_x4_load (y + i * t->act_size, t->act_size, t->act_qs, t->bias);
      #pragma GCC unroll 8
      for (int r = 0; r < nr; r++)
        {
          const uint8_t *p = x + r * stride + (size_t) i * (size_t) t->block;
          _mm_prefetch ((const char *) p + LLM_PREFETCH_BYTES, _MM_HINT_T0);
          _mm_prefetch ((const char *) p + LLM_PREFETCH_BYTES + 64, _MM_HINT_T0);
          acc[r] = x4_fma (p, &l, &a, t->has_qh, t->has_m, acc[r]);
        }
    }
}

static ALWAYS_INLINE float
dot_x4 (const x4_type *t, llm_type type, int64_t nb, const uint8_t *x, const uint8_t *y)
{
  __m512 acc[4] = { _mm512_setzero_ps () };
  const int64_t nb4 = nb & ~(int64_t) 3;

  x4_rows (t, 1, nb4, x, 0, y, acc);
  return _mm512_reduce_add_ps (acc[0])
      + (nb4 < nb ? llm_vec_dot_scalar (type, (nb - nb4) * LLM_QK, x + nb4 * t->block, y + nb4 * t->act_size) : 0.0f);
}

static ALWAYS_INLINE void
dot4_x4 (const x4_type *t, llm_type type, int64_t nb, const uint8_t *x, size_t stride, const uint8_t *y,
         float out[4])
{
  __m512 acc[4] = { _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_ps () };
  const int64_t nb4 = nb & ~(int64_t) 3;

  x4_rows (t, 4, nb4, x, stride, y, acc);
  for (int r = 0; r < 4; r++)
    out[r] = _mm512_reduce_add_ps (acc[r])
        + (nb4 < nb ? llm_vec_dot_scalar (type, (nb - nb4) * LLM_QK, x + r * stride + nb4 * t->block,
                                          y + nb4 * t->act_size) : 0.0f);
}

#define X4_KERNELS(name, TYPE)                                                                      \
  static float                                                                                    \
  dot_##name (int64_t nb, const void *x, const void *y)                                          \
  {                                                                                               \
    return dot_x4 (&x4_##name, TYPE, nb, x, y);                                                   \
  }                                                                                               \
  static void                                                                                     \
  dot4_##name (int64_t nb, const void *x, size_t stride, const void *y, float out[4])            \
  {                                                                                               \
    dot4_x4 (&x4_##name, TYPE, nb, x, stride, y, out);                                            \
  }
X4_KERNELS (q4_1, LLM_TYPE_Q4_1)
X4_KERNELS (q5_0, LLM_TYPE_Q5_0)
X4_KERNELS (q5_1, LLM_TYPE_Q5_1)

static float
dot_q8_0 (int64_t nb, const llm_block_q8_0 *x, const llm_block_q8_0 *y)
{
  __m256 acc0 = _mm256_setzero_ps (), acc1 = _mm256_setzero_ps ();
  int64_t i = 0;
  float sum;

  for (; i + 1 < nb; i += 2)
    #pragma GCC unroll 8
    for (int k = 0; k < 2; k++)
      {
        _mm_prefetch ((const char *) (x + i + k) + LLM_PREFETCH_BYTES, _MM_HINT_T0);
        const __m256i q = _mm256_loadu_si256 ((const __m256i *) x[i + k].qs);
        const __m256i v = _mm256_loadu_si256 ((const __m256i *) y[i + k].qs);
        /* |q|·(v with the sign of q), as unsigned × signed */
        const __m256i s = _mm256_dpbusd_epi32 (_mm256_setzero_si256 (), _mm256_sign_epi8 (q, q),
                                               _mm256_sign_epi8 (v, q));
        if (k)
          acc1 = _mm256_fmadd_ps (scale2 (x[i + k].d, y[i + k].d), _mm256_cvtepi32_ps (s), acc1);
        else
          acc0 = _mm256_fmadd_ps (scale2 (x[i + k].d, y[i + k].d), _mm256_cvtepi32_ps (s), acc0);
      }
  {
    __m256 a = _mm256_add_ps (acc0, acc1);
    __m128 r = _mm_add_ps (_mm256_castps256_ps128 (a), _mm256_extractf128_ps (a, 1));
    r = _mm_add_ps (r, _mm_movehl_ps (r, r));
    r = _mm_add_ss (r, _mm_movehdup_ps (r));
    sum = _mm_cvtss_f32 (r);
  }
  if (i < nb)
    sum += llm_vec_dot_scalar (LLM_TYPE_Q8_0, (nb - i) * LLM_QK, x + i, y + i);
  return sum;
}

static float
dot_f16 (int64_t n, const uint16_t *x, const uint16_t *y)
{
  __m512 acc[4] = { _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_ps () };
  int64_t i = 0;
  float sum;

  for (; i + 64 <= n; i += 64)
    #pragma GCC unroll 8
    for (int k = 0; k < 4; k++)
      {
        if (k & 1)
          _mm_prefetch ((const char *) (x + i + 16 * k) + LLM_PREFETCH_BYTES, _MM_HINT_T0);
        const __m512 a = _mm512_cvtph_ps (_mm256_loadu_si256 ((const __m256i *) (x + i + 16 * k)));
        const __m512 b = _mm512_cvtph_ps (_mm256_loadu_si256 ((const __m256i *) (y + i + 16 * k)));
        acc[k] = _mm512_fmadd_ps (a, b, acc[k]);
      }
  for (; i + 16 <= n; i += 16)
    {
      const __m512 a = _mm512_cvtph_ps (_mm256_loadu_si256 ((const __m256i *) (x + i)));
      const __m512 b = _mm512_cvtph_ps (_mm256_loadu_si256 ((const __m256i *) (y + i)));
      acc[0] = _mm512_fmadd_ps (a, b, acc[0]);
    }
  sum = _mm512_reduce_add_ps (_mm512_add_ps (_mm512_add_ps (acc[0], acc[1]), _mm512_add_ps (acc[2], acc[3])));
  if (i < n)
    sum += llm_vec_dot_scalar (LLM_TYPE_F16, n - i, x + i, y + i);
  return sum;
}

/* The 8 scales and 8 mins of a Q4_K block as 16 int16, scales first (the
 * same unpacking as the AVX2 file). */
static inline __m256i
k_scales_mins (const uint8_t *scales)
{
  uint32_t u[4];
  const uint32_t m6 = 0x3f3f3f3f, m4 = 0x0f0f0f0f, m2 = 0x03030303;
  memcpy (u, scales, 12);
  u[3] = ((u[2] >> 4) & m4) | (((u[1] >> 6) & m2) << 4);
  const uint32_t mins03 = u[1] & m6;
  u[1] = (u[2] & m4) | (((u[0] >> 6) & m2) << 4);
  u[2] = mins03;
  u[0] &= m6;
  return _mm256_cvtepu8_epi16 (_mm_set_epi32 ((int) u[3], (int) u[2], (int) u[1], (int) u[0]));
}

/* The 8 scales and 8 mins of a K block as 16 bytes, scales first, unpacked
 * in vector registers. Reads 16 bytes from @scales (the 4 past the 12 are
 * the block's own quants). Scales 0-3 and mins 0-3 are the low 6 bits of
 * bytes 0-3 and 4-7; scales 4-7 and mins 4-7 the low and high nibbles of
 * bytes 8-11 with, as bits 4-5, the top two bits of bytes 0-3 and 4-7. */
static inline __m128i
k_scales_mins8 (const uint8_t *scales)
{
  const __m128i s = _mm_loadu_si128 ((const __m128i *) scales);
  const __m128i a = _mm_shuffle_epi8 (s, _mm_setr_epi8 (0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
  const __m128i b = _mm_shuffle_epi8 (s, _mm_setr_epi8 (-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7));
  const __m128i lo = _mm_mask_blend_epi8 (0xF000, a, _mm_srli_epi16 (a, 4));
  const __m128i m_lo = _mm_setr_epi8 (63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 15, 15, 15, 15);
  return _mm_or_si128 (_mm_and_si128 (lo, m_lo), _mm_and_si128 (_mm_srli_epi16 (b, 2), _mm_set1_epi8 (0x30)));
}

/* Scale indices for two slices packed by _mm512_packs_epi32: in each 128-bit
 * lane, int16 0-3 come from the first slice, 4-7 from the second; lanes 0-1
 * hold a slice's low nibbles, lanes 2-3 its high ones. So the pair of slices
 * j, j+1 takes scales 2j, 2j+2 in lanes 0-1 and 2j+1, 2j+3 in lanes 2-3. */
static inline __m512i
k_scale_index (int j)
{
  const short a = (short) (2 * j), b = (short) (2 * j + 2), c = (short) (2 * j + 1), e = (short) (2 * j + 3);
  return _mm512_set_epi16 (e, e, e, e, c, c, c, c, e, e, e, e, c, c, c, c,
                           b, b, b, b, a, a, a, a, b, b, b, b, a, a, a, a);
}

/* Q4_K with VNNI, 512 bits wide (full-width units on this generation): a
 * slice of 32 bytes is broadcast to both halves and shifted by 0 or 4, so
 * one dpbusd takes its 64 nibbles against 64 contiguous activations; its
 * sums of four products (at most 4·15·128, they fit int16) of two slices are
 * packed to int16 and multiplied by their 6-bit scales in one madd. Exact
 * integers, as the scalar path. */
static float
dot_q4_K (int64_t nb, const llm_block_q4_K *x, const llm_block_q8_K *y)
{
  const __m512i m4 = _mm512_set1_epi8 (0xF);
  const __m512i shift = _mm512_setr_epi64 (0, 0, 0, 0, 4, 4, 4, 4);
  const __m512i idx01 = k_scale_index (0), idx23 = k_scale_index (2);
  __m512 acc = _mm512_setzero_ps ();
  __m128 acc_m = _mm_setzero_ps ();

  for (int64_t i = 0; i < nb; i++)
    {
      _mm_prefetch ((const char *) (x + i) + LLM_PREFETCH_BYTES, _MM_HINT_T0);
      _mm_prefetch ((const char *) (x + i) + LLM_PREFETCH_BYTES + 64, _MM_HINT_T0);
      const float d = y[i].d * llm_fp16_table[x[i].d];
      const float dmin = -y[i].d * llm_fp16_table[x[i].dmin];
      const __m128i sm = k_scales_mins8 (x[i].scales);
      const __m256i bsums = _mm256_loadu_si256 ((const __m256i *) y[i].bsums);
      const __m128i q8s = _mm_hadd_epi16 (_mm256_castsi256_si128 (bsums), _mm256_extracti128_si256 (bsums, 1));
      const __m128i prod = _mm_madd_epi16 (_mm_cvtepu8_epi16 (_mm_srli_si128 (sm, 8)), q8s);
      acc_m = _mm_fmadd_ps (_mm_set1_ps (dmin), _mm_cvtepi32_ps (prod), acc_m);

      const __m512i sc = _mm512_castsi256_si512 (_mm256_cvtepu8_epi16 (sm));
      const uint8_t *q4 = x[i].qs;
      const int8_t *q8 = y[i].qs;
      __m512i p[4];
#pragma GCC unroll 4
      for (int j = 0; j < 4; j++)
        {
          const __m512i t = _mm512_broadcast_i64x4 (_mm256_loadu_si256 ((const __m256i *) (q4 + 32 * j)));
          const __m512i q = _mm512_and_si512 (_mm512_srlv_epi64 (t, shift), m4);
          p[j] = _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), q, _mm512_loadu_si512 (q8 + 64 * j));
        }
      const __m512i s01 = _mm512_madd_epi16 (_mm512_packs_epi32 (p[0], p[1]), _mm512_permutexvar_epi16 (idx01, sc));
      const __m512i s23 = _mm512_madd_epi16 (_mm512_packs_epi32 (p[2], p[3]), _mm512_permutexvar_epi16 (idx23, sc));
      acc = _mm512_fmadd_ps (_mm512_set1_ps (d), _mm512_cvtepi32_ps (_mm512_add_epi32 (s01, s23)), acc);
    }
  return _mm512_reduce_add_ps (acc) + hsum128 (acc_m);
}

/* Q5_K: as Q4_K with the fifth bit from qh (bit 2j for the low nibbles of
 * slice j, 2j+1 for the high ones), tested into a mask that adds 16; sums of
 * four stay below 4·31·128. */
static float
dot_q5_K (int64_t nb, const llm_block_q5_K *x, const llm_block_q8_K *y)
{
  const __m512i m4 = _mm512_set1_epi8 (0xF);
  const __m512i m16 = _mm512_set1_epi8 (16);
  const __m512i shift = _mm512_setr_epi64 (0, 0, 0, 0, 4, 4, 4, 4);
  const __m512i idx01 = k_scale_index (0), idx23 = k_scale_index (2);
  __m512 acc = _mm512_setzero_ps ();
  __m128 acc_m = _mm_setzero_ps ();

  for (int64_t i = 0; i < nb; i++)
    {
      _mm_prefetch ((const char *) (x + i) + LLM_PREFETCH_BYTES, _MM_HINT_T0);
      _mm_prefetch ((const char *) (x + i) + LLM_PREFETCH_BYTES + 64, _MM_HINT_T0);
      _mm_prefetch ((const char *) (x + i) + LLM_PREFETCH_BYTES + 128, _MM_HINT_T0);
      const float d = y[i].d * llm_fp16_table[x[i].d];
      const float dmin = -y[i].d * llm_fp16_table[x[i].dmin];
      const __m128i sm = k_scales_mins8 (x[i].scales);
      const __m256i bsums = _mm256_loadu_si256 ((const __m256i *) y[i].bsums);
      const __m128i q8s = _mm_hadd_epi16 (_mm256_castsi256_si128 (bsums), _mm256_extracti128_si256 (bsums, 1));
      const __m128i prod = _mm_madd_epi16 (_mm_cvtepu8_epi16 (_mm_srli_si128 (sm, 8)), q8s);
      acc_m = _mm_fmadd_ps (_mm_set1_ps (dmin), _mm_cvtepi32_ps (prod), acc_m);

      const __m512i sc = _mm512_castsi256_si512 (_mm256_cvtepu8_epi16 (sm));
      const __m512i hz = _mm512_broadcast_i64x4 (_mm256_loadu_si256 ((const __m256i *) x[i].qh));
      const uint8_t *q5 = x[i].qs;
      const int8_t *q8 = y[i].qs;
      __m512i p[4];
#pragma GCC unroll 4
      for (int j = 0; j < 4; j++)
        {
          const __m512i bit = _mm512_inserti64x4 (_mm512_set1_epi8 ((char) (1 << (2 * j))),
                                                  _mm256_set1_epi8 ((char) (1 << (2 * j + 1))), 1);
          const __m512i t = _mm512_broadcast_i64x4 (_mm256_loadu_si256 ((const __m256i *) (q5 + 32 * j)));
          const __m512i q4 = _mm512_and_si512 (_mm512_srlv_epi64 (t, shift), m4);
          const __m512i q = _mm512_mask_add_epi8 (q4, _mm512_test_epi8_mask (hz, bit), q4, m16);
          p[j] = _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), q, _mm512_loadu_si512 (q8 + 64 * j));
        }
      const __m512i s01 = _mm512_madd_epi16 (_mm512_packs_epi32 (p[0], p[1]), _mm512_permutexvar_epi16 (idx01, sc));
      const __m512i s23 = _mm512_madd_epi16 (_mm512_packs_epi32 (p[2], p[3]), _mm512_permutexvar_epi16 (idx23, sc));
      acc = _mm512_fmadd_ps (_mm512_set1_ps (d), _mm512_cvtepi32_ps (_mm512_add_epi32 (s01, s23)), acc);
    }
  return _mm512_reduce_add_ps (acc) + hsum128 (acc_m);
}

/* Q6_K, 512 bits wide. Per half block, one 64-byte load of ql holds
 * elements 0-63 in its low nibbles and 64-127 in its high ones, in order;
 * the two high bits come from qh broadcast to both halves and shifted per
 * half into bits 4-5. dpbusd takes the unsigned 6-bit values; the -32 of
 * each element is subtracted per sub-block as 32·Σv (bsums) times its
 * scale. In each 128-bit lane L of packs (lo, hi) words 0-3 belong to
 * sub-block L and words 4-7 to sub-block 4+L (of the half). Sums of four
 * products (at most 4·63·127) fit int16. Exact integers per block. */
/* Word index of the scale for each int16 of packs (p_lo, p_hi) of half @n. */
static inline void
q6_K_scale_index (__m512i idx[2])
{
  for (int n = 0; n < 2; n++)
    {
      int16_t w[32];
      for (int k = 0; k < 32; k++)
        w[k] = (int16_t) (8 * n + (k / 8) + (k % 8 >= 4 ? 4 : 0));
      idx[n] = _mm512_loadu_si512 (w);
    }
}

/* One Q6_K block against activations whose 256 quants are @yq and whose
 * 16 sub-block sums are @bs: the int32 lane sums (exact), to be scaled by
 * d · dy. Shared by the one- and four-row kernels. */
static ALWAYS_INLINE __m512i
q6_K_block_sum (const llm_block_q6_K *b, const __m512i yq[4], __m256i bs, const __m512i idx[2])
{
  const __m512i m4 = _mm512_set1_epi8 (0xF), m30 = _mm512_set1_epi8 (0x30);
  const __m512i shl = _mm512_setr_epi64 (4, 4, 4, 4, 2, 2, 2, 2);
  const __m512i shr = _mm512_setr_epi64 (0, 0, 0, 0, 2, 2, 2, 2);
  const __m256i sc16 = _mm256_cvtepi8_epi16 (_mm_loadu_si128 ((const __m128i *) b->scales));
  const __m512i sc = _mm512_castsi256_si512 (sc16);
  /* Σ scale · 32 · Σv over the 16 sub-blocks */
  const __m256i corr = _mm256_madd_epi16 (sc16, bs);
  __m512i sum = _mm512_sub_epi32 (_mm512_setzero_si512 (), _mm512_castsi256_si512 (_mm256_slli_epi32 (corr, 5)));

  sum = _mm512_inserti64x4 (sum, _mm256_setzero_si256 (), 1);
  #pragma GCC unroll 2
  for (int n = 0; n < 2; n++)
    {
      const __m512i l = _mm512_loadu_si512 (b->ql + 64 * n);
      const __m512i h = _mm512_broadcast_i64x4 (_mm256_loadu_si256 ((const __m256i *) (b->qh + 32 * n)));
      const __m512i lo = _mm512_or_si512 (_mm512_and_si512 (l, m4), _mm512_and_si512 (_mm512_sllv_epi64 (h, shl), m30));
      const __m512i hi = _mm512_or_si512 (_mm512_and_si512 (_mm512_srli_epi16 (l, 4), m4),
                                          _mm512_and_si512 (_mm512_srlv_epi64 (h, shr), m30));
      const __m512i p_lo = _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), lo, yq[2 * n]);
      const __m512i p_hi = _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), hi, yq[2 * n + 1]);
      sum = _mm512_dpwssd_epi32 (sum, _mm512_packs_epi32 (p_lo, p_hi), _mm512_permutexvar_epi16 (idx[n], sc));
    }
  return sum;
}

static inline void
q6_K_prefetch (const llm_block_q6_K *b)
{
  for (int k = 0; k < 4; k++)
    _mm_prefetch ((const char *) b + LLM_PREFETCH_BYTES + 64 * k, _MM_HINT_T0);
}

static float
dot_q6_K (int64_t nb, const llm_block_q6_K *x, const llm_block_q8_K *y)
{
  __m512i idx[2];
  __m512 acc = _mm512_setzero_ps ();

  q6_K_scale_index (idx);
  for (int64_t i = 0; i < nb; i++)
    {
      const __m512i yq[4] = { _mm512_loadu_si512 (y[i].qs), _mm512_loadu_si512 (y[i].qs + 64),
                              _mm512_loadu_si512 (y[i].qs + 128), _mm512_loadu_si512 (y[i].qs + 192) };
      q6_K_prefetch (x + i);
      acc = _mm512_fmadd_ps (_mm512_set1_ps (llm_fp16_table[x[i].d] * y[i].d),
                             _mm512_cvtepi32_ps (q6_K_block_sum (x + i, yq,
                                                                 _mm256_loadu_si256 ((const __m256i *) y[i].bsums),
                                                                 idx)),
                             acc);
    }
  return _mm512_reduce_add_ps (acc);
}

bool
llm_vec_dot_avx512 (llm_type type, int64_t n, const void *x, const void *y, float *out)
{
  switch (type)
    {
    case LLM_TYPE_F16:  *out = dot_f16 (n, x, y); return true;
    case LLM_TYPE_Q4_0: *out = dot_q4_0 (n / LLM_QK, x, y); return true;
    case LLM_TYPE_Q8_0: *out = dot_q8_0 (n / LLM_QK, x, y); return true;
    case LLM_TYPE_Q4_1: *out = dot_q4_1 (n / LLM_QK, x, y); return true;
    case LLM_TYPE_Q5_0: *out = dot_q5_0 (n / LLM_QK, x, y); return true;
    case LLM_TYPE_Q5_1: *out = dot_q5_1 (n / LLM_QK, x, y); return true;
    case LLM_TYPE_Q4_K: *out = dot_q4_K (n / LLM_QK_K, x, y); return true;
    case LLM_TYPE_Q5_K: *out = dot_q5_K (n / LLM_QK_K, x, y); return true;
    case LLM_TYPE_Q6_K: *out = dot_q6_K (n / LLM_QK_K, x, y); return true;
    default: return false;
    }
}

/* ---- four rows at a time ----------------------------------------------- */

/* The four rows are a quarter of a chunk apart (llm-matmul.c), four
 * sequential streams; each also prefetches ahead in its own row. */

/* Q4_0: groups of four blocks (q4_0_x4_fma), the activations of a group
 * loaded and rearranged once for the four rows. */
static void
dot4_q4_0 (int64_t nb, const uint8_t *x, size_t stride, const llm_block_q8_0 *y, float out[4])
{
  __m512 acc[4] = { _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_ps () };
  int64_t i = 0;

  for (; i + 4 <= nb; i += 4)
    {
      const q8_0_x4 a = q8_0_x4_load (y + i);
      #pragma GCC unroll 8
      for (int r = 0; r < 4; r++)
        {
          const uint8_t *p = x + r * stride + (size_t) i * sizeof (llm_block_q4_0);
          /* two lines per 72-byte step: one line would skip every ninth */
          _mm_prefetch ((const char *) p + LLM_PREFETCH_BYTES, _MM_HINT_T0);
          _mm_prefetch ((const char *) p + LLM_PREFETCH_BYTES + 64, _MM_HINT_T0);
          acc[r] = q4_0_x4_fma (p, &a, acc[r]);
        }
    }
  #pragma GCC unroll 8
  for (int r = 0; r < 4; r++)
    {
      const llm_block_q4_0 *row = (const llm_block_q4_0 *) (x + r * stride);
      out[r] = _mm512_reduce_add_ps (acc[r]) + (i < nb ? dot_q4_0_blocks (nb - i, row + i, y + i) : 0.0f);
    }
}

/* k_scales_mins8 on four blocks at once, one per 128-bit lane. */
static inline __m512i
k_scales_mins8_x4 (__m512i s)
{
  const __m512i a = _mm512_shuffle_epi8 (s, _mm512_broadcast_i32x4 (
      _mm_setr_epi8 (0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11)));
  const __m512i b = _mm512_shuffle_epi8 (s, _mm512_broadcast_i32x4 (
      _mm_setr_epi8 (-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7)));
  const __m512i lo = _mm512_mask_blend_epi8 (0xF000F000F000F000ull, a, _mm512_srli_epi16 (a, 4));
  const __m512i m_lo = _mm512_broadcast_i32x4 (
      _mm_setr_epi8 (63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 15, 15, 15, 15));
  return _mm512_or_si512 (_mm512_and_si512 (lo, m_lo),
                          _mm512_and_si512 (_mm512_srli_epi16 (b, 2), _mm512_set1_epi8 (0x30)));
}

/* Index of the scale (word 8·row + scale, see dot4_q4_K) for each int16 of
 * packs (lo, hi) where lo and hi are the dpbusd sums of one 64-byte load of
 * quants: lanes 0-1 cover sub-blocks 2j and 2j+1 (words 0-3 and 4-7 of the
 * lane), lanes 2-3 sub-blocks 2j+2 and 2j+3. */
static inline __m512i
k4_scale_index (int row, int j)
{
  int16_t w[32];
  for (int k = 0; k < 32; k++)
    w[k] = (int16_t) (8 * row + 2 * j + (k >= 16 ? 2 : 0) + (k % 8 >= 4 ? 1 : 0));
  return _mm512_loadu_si512 (w);
}

/* Q4_K, four rows at once. Per block, what depends only on the activations
 * (the sub-block order that matches 64-byte loads of quants, the sums for
 * the mins) is done once, and the scales, mins, d and dmin of the four rows
 * are unpacked together, one row per 128-bit lane. A 64-byte load of quants
 * holds sub-blocks 2j, 2j+2 in its low nibbles and 2j+1, 2j+3 in its high
 * ones, so the activations are rearranged into that order. Exact integers
 * per block, as the scalar path (k4_block; dot4_k, dot4_rows_k). */

/* What a Q8_K block of activations contributes to every row: its quants
 * in the sub-block order of a 64-byte load of weights, the sums for the
 * mins, d. */
typedef struct {
  __m512i lo01, hi01, lo23, hi23;
  __m512i q8s;      /* bsums added in pairs: sub-block sums, in every 128-bit lane */
  float   d;
} k_act;

static ALWAYS_INLINE k_act
k_act_load (const llm_block_q8_K *y)
{
  const __m512i y0 = _mm512_loadu_si512 (y->qs), y1 = _mm512_loadu_si512 (y->qs + 64);
  const __m512i y2 = _mm512_loadu_si512 (y->qs + 128), y3 = _mm512_loadu_si512 (y->qs + 192);
  const __m256i bs = _mm256_loadu_si256 ((const __m256i *) y->bsums);
  k_act a;

  a.lo01 = _mm512_shuffle_i64x2 (y0, y1, 0x44);
  a.hi01 = _mm512_shuffle_i64x2 (y0, y1, 0xEE);
  a.lo23 = _mm512_shuffle_i64x2 (y2, y3, 0x44);
  a.hi23 = _mm512_shuffle_i64x2 (y2, y3, 0xEE);
  a.q8s = _mm512_broadcast_i32x4 (_mm_hadd_epi16 (_mm256_castsi256_si128 (bs), _mm256_extracti128_si256 (bs, 1)));
  a.d = y->d;
  return a;
}

/* The constants of dot4_k's block step. */
typedef struct {
  __m512i bit[4];     /* Q5_K: the fifth bits' masks, see k4_block */
  __m512i m4;
  __m512i sidx[4][2];
} k4_consts;

static ALWAYS_INLINE void
k4_consts_init (k4_consts *c)
{
  /* the fifth bit of sub-block s is bit s of qh[l]; the order of the four
   * masked registers is sub-blocks (0, 2), (1, 3), (4, 6), (5, 7) */
  c->bit[0] = combine512 (_mm256_set1_epi8 (1), _mm256_set1_epi8 (4));
  c->bit[1] = combine512 (_mm256_set1_epi8 (2), _mm256_set1_epi8 (8));
  c->bit[2] = combine512 (_mm256_set1_epi8 (16), _mm256_set1_epi8 (64));
  c->bit[3] = combine512 (_mm256_set1_epi8 (32), _mm256_set1_epi8 ((char) 128));
  c->m4 = _mm512_set1_epi8 (0xF);
  #pragma GCC unroll 8
  for (int r = 0; r < 4; r++)
    {
      c->sidx[r][0] = k4_scale_index (r, 0);
      c->sidx[r][1] = k4_scale_index (r, 2);
    }
}

/* One block of each of four rows against activations @a. */
static ALWAYS_INLINE void
k4_block (bool q5, const uint8_t *x, size_t stride, size_t i, const k_act *a, const k4_consts *c,
          __m512 acc[4], __m512 *acc_m)
{
  const size_t size = q5 ? sizeof (llm_block_q5_K) : sizeof (llm_block_q4_K);
  const size_t qs = q5 ? offsetof (llm_block_q5_K, qs) : offsetof (llm_block_q4_K, qs);
  const llm_block_q4_K *b[4];   /* the fields common to both types */

  #pragma GCC unroll 8
  for (int r = 0; r < 4; r++)
    {
      b[r] = (const llm_block_q4_K *) (x + r * stride + i * size);
      _mm_prefetch ((const char *) b[r] + LLM_PREFETCH_BYTES, _MM_HINT_T0);
      _mm_prefetch ((const char *) b[r] + LLM_PREFETCH_BYTES + 64, _MM_HINT_T0);
      if (q5)
        _mm_prefetch ((const char *) b[r] + LLM_PREFETCH_BYTES + 128, _MM_HINT_T0);
    }

  /* scales and mins of the four rows: bytes 0-7 and 8-15 of lane r */
  __m512i s4 = _mm512_castsi128_si512 (_mm_loadu_si128 ((const __m128i *) b[0]->scales));
  s4 = _mm512_inserti32x4 (s4, _mm_loadu_si128 ((const __m128i *) b[1]->scales), 1);
  s4 = _mm512_inserti32x4 (s4, _mm_loadu_si128 ((const __m128i *) b[2]->scales), 2);
  s4 = _mm512_inserti32x4 (s4, _mm_loadu_si128 ((const __m128i *) b[3]->scales), 3);
  const __m512i sm4 = k_scales_mins8_x4 (s4);
  /* int16: word 8r + j is scale j (mins j) of row r */
  const __m512i sc = _mm512_cvtepu8_epi16 (_mm512_castsi512_si256 (
      _mm512_permutexvar_epi64 (_mm512_setr_epi64 (0, 2, 4, 6, 0, 2, 4, 6), sm4)));
  const __m512i mn = _mm512_cvtepu8_epi16 (_mm512_castsi512_si256 (
      _mm512_permutexvar_epi64 (_mm512_setr_epi64 (1, 3, 5, 7, 1, 3, 5, 7), sm4)));

  /* d and dmin of the four rows times the activations' d */
  uint32_t dd[4];
  #pragma GCC unroll 8
  for (int r = 0; r < 4; r++)
    memcpy (&dd[r], &b[r]->d, 4);
  const __m256 f = _mm256_mul_ps (_mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) dd)),
                                  _mm256_set1_ps (a->d));
  float fd[8];
  _mm256_storeu_ps (fd, f);

  /* mins: Σ m_j · (sum of the 32 activations of sub-block j), row r in lane r */
  *acc_m = _mm512_fnmadd_ps (_mm512_permutexvar_ps (_mm512_setr_epi32 (1, 1, 1, 1, 3, 3, 3, 3, 5, 5, 5, 5, 7, 7, 7, 7),
                                                    _mm512_castps256_ps512 (f)),
                             _mm512_cvtepi32_ps (_mm512_madd_epi16 (mn, a->q8s)), *acc_m);

  #pragma GCC unroll 8
  for (int r = 0; r < 4; r++)
    {
      const uint8_t *bq = (const uint8_t *) b[r] + qs;
      const __m512i q01 = _mm512_loadu_si512 (bq), q23 = _mm512_loadu_si512 (bq + 64);
      __m512i v[4] = { _mm512_and_si512 (q01, c->m4), _mm512_and_si512 (_mm512_srli_epi16 (q01, 4), c->m4),
                       _mm512_and_si512 (q23, c->m4), _mm512_and_si512 (_mm512_srli_epi16 (q23, 4), c->m4) };
      if (q5)
        {
          const __m512i h = _mm512_broadcast_i64x4 (
              _mm256_loadu_si256 ((const __m256i *) ((const llm_block_q5_K *) b[r])->qh));
          #pragma GCC unroll 8
          for (int m = 0; m < 4; m++)
            v[m] = _mm512_mask_add_epi8 (v[m], _mm512_test_epi8_mask (h, c->bit[m]), v[m], _mm512_set1_epi8 (16));
        }
      const __m512i p0 = _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), v[0], a->lo01);
      const __m512i p1 = _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), v[1], a->hi01);
      const __m512i p2 = _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), v[2], a->lo23);
      const __m512i p3 = _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), v[3], a->hi23);
      const __m512i s = _mm512_dpwssd_epi32 (
          _mm512_madd_epi16 (_mm512_packs_epi32 (p0, p1), _mm512_permutexvar_epi16 (c->sidx[r][0], sc)),
          _mm512_packs_epi32 (p2, p3), _mm512_permutexvar_epi16 (c->sidx[r][1], sc));
      acc[r] = _mm512_fmadd_ps (_mm512_set1_ps (fd[2 * r]), _mm512_cvtepi32_ps (s), acc[r]);
    }
}

static ALWAYS_INLINE void
k4_finish (const __m512 acc[4], __m512 acc_m, float *out, int64_t os)
{
  float m_sum[16];

  _mm512_storeu_ps (m_sum, acc_m);
  #pragma GCC unroll 8
  for (int r = 0; r < 4; r++)
    out[r * os] = _mm512_reduce_add_ps (acc[r]) + ((m_sum[4 * r] + m_sum[4 * r + 1]) + (m_sum[4 * r + 2] + m_sum[4 * r + 3]));
}

static ALWAYS_INLINE void
dot4_k (bool q5, int64_t nb, const uint8_t *x, size_t stride, const llm_block_q8_K *y, float out[4])
{
  k4_consts c;
  __m512 acc[4] = { _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_ps () };
  __m512 acc_m = _mm512_setzero_ps ();

  k4_consts_init (&c);
  for (int64_t i = 0; i < nb; i++)
    {
      const k_act a = k_act_load (y + i);
      k4_block (q5, x, stride, (size_t) i, &a, &c, acc, &acc_m);
    }
  k4_finish (acc, acc_m, out, 1);
}

/* Q4_K and Q5_K over a chunk of short rows: dot4_k's arithmetic (each
 * result is its to the bit) with each block's activations arranged once
 * for the chunk, as dot4_rows_q4_0 does, and for as many blocks (1,024
 * columns). */
#define K_ROWS_MAX_BLOCKS 4

static ALWAYS_INLINE bool
dot4_rows_k (bool q5, int64_t nb, const uint8_t *x, size_t row_size, size_t stride, int64_t nq,
             const llm_block_q8_K *y, float *out, int64_t os)
{
  k4_consts c;
  k_act a[K_ROWS_MAX_BLOCKS];

  if (nb > K_ROWS_MAX_BLOCKS)
    return false;
  k4_consts_init (&c);
  for (int64_t i = 0; i < nb; i++)
    a[i] = k_act_load (y + i);
  for (int64_t k = 0; k < nq; k++)
    {
      const uint8_t *xk = x + (size_t) k * row_size;
      __m512 acc[4] = { _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_ps () };
      __m512 acc_m = _mm512_setzero_ps ();
      for (int64_t i = 0; i < nb; i++)
        k4_block (q5, xk, stride, (size_t) i, &a[i], &c, acc, &acc_m);
      k4_finish (acc, acc_m, out + k, os);
    }
  return true;
}

static void
dot4_q4_K (int64_t nb, const uint8_t *x, size_t stride, const llm_block_q8_K *y, float out[4])
{
  dot4_k (false, nb, x, stride, y, out);
}

/* Q5_K: the same with the fifth bits of qh tested into masks that add 16;
 * sums of four products stay below 4·31·128, so the packs do not saturate. */
static void
dot4_q5_K (int64_t nb, const uint8_t *x, size_t stride, const llm_block_q8_K *y, float out[4])
{
  dot4_k (true, nb, x, stride, y, out);
}

/* Q6_K, four rows at once: dot_q6_K's integer sums per row, with the
 * activations' quants and bsums loaded once per block for the four rows.
 * The float operations of each row are dot_q6_K's, so each row's result is
 * the one-row kernel's to the bit. */
static void
dot4_q6_K (int64_t nb, const uint8_t *x, size_t stride, const llm_block_q8_K *y, float out[4])
{
  __m512i idx[2];
  __m512 acc[4] = { _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_ps () };

  q6_K_scale_index (idx);
  for (int64_t i = 0; i < nb; i++)
    {
      const __m512i yq[4] = { _mm512_loadu_si512 (y[i].qs), _mm512_loadu_si512 (y[i].qs + 64),
                              _mm512_loadu_si512 (y[i].qs + 128), _mm512_loadu_si512 (y[i].qs + 192) };
      const __m256i bs = _mm256_loadu_si256 ((const __m256i *) y[i].bsums);

      #pragma GCC unroll 8
      for (int r = 0; r < 4; r++)
        {
          const llm_block_q6_K *b = (const llm_block_q6_K *) (x + r * stride) + i;
          q6_K_prefetch (b);
          acc[r] = _mm512_fmadd_ps (_mm512_set1_ps (llm_fp16_table[b->d] * y[i].d),
                                    _mm512_cvtepi32_ps (q6_K_block_sum (b, yq, bs, idx)), acc[r]);
        }
    }
  #pragma GCC unroll 8
  for (int r = 0; r < 4; r++)
    out[r] = _mm512_reduce_add_ps (acc[r]);
}

/* Q8_0, four rows at once, two blocks per 512-bit register. The weights
 * go in as unsigned bytes q + 128 (an xor of the sign bit), and each int32
 * lane starts from -128 · (its four activations' sum), computed once for
 * the four rows: the integer sum of each block is exactly Σ q·v. */
static void
dot4_q8_0 (int64_t nb, const uint8_t *x, size_t stride, const llm_block_q8_0 *y, float out[4])
{
  const __m512i sign = _mm512_set1_epi8 ((char) 0x80);
  __m512 acc[4] = { _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_ps () };
  int64_t i = 0;

  for (; i + 2 <= nb; i += 2)
    {
      const __m512i v = combine512 (_mm256_loadu_si256 ((const __m256i *) y[i].qs),
                                    _mm256_loadu_si256 ((const __m256i *) y[i + 1].qs));
      const __m512i negcorr = _mm512_sub_epi32 (_mm512_setzero_si512 (),
                                                _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), sign, v));
      const float dy0 = llm_fp16_table[y[i].d], dy1 = llm_fp16_table[y[i + 1].d];

      #pragma GCC unroll 8
      for (int r = 0; r < 4; r++)
        {
          const llm_block_q8_0 *b = (const llm_block_q8_0 *) (x + r * stride) + i;
          _mm_prefetch ((const char *) b + LLM_PREFETCH_BYTES, _MM_HINT_T0);
          _mm_prefetch ((const char *) b + LLM_PREFETCH_BYTES + 64, _MM_HINT_T0);
          const __m512i q = combine512 (_mm256_loadu_si256 ((const __m256i *) b[0].qs),
                                        _mm256_loadu_si256 ((const __m256i *) b[1].qs));
          const __m512i sum = _mm512_dpbusd_epi32 (negcorr, _mm512_xor_si512 (q, sign), v);
          const __m512 d = _mm512_castpd_ps (_mm512_insertf64x4 (
              _mm512_castps_pd (_mm512_set1_ps (llm_fp16_table[b[0].d] * dy0)),
              _mm256_castps_pd (_mm256_set1_ps (llm_fp16_table[b[1].d] * dy1)), 1));
          acc[r] = _mm512_fmadd_ps (d, _mm512_cvtepi32_ps (sum), acc[r]);
        }
    }
  #pragma GCC unroll 8
  for (int r = 0; r < 4; r++)
    {
      const llm_block_q8_0 *row = (const llm_block_q8_0 *) (x + r * stride);
      out[r] = _mm512_reduce_add_ps (acc[r]) + (i < nb ? dot_q8_0 (nb - i, row + i, y + i) : 0.0f);
    }
}

/* ---- chunks of four-row groups ------------------------------------------ */

/* llm_vec_dot4_rows: the activations of each group of four blocks are
 * rearranged once for the whole chunk instead of once per four rows. Only
 * for Q4_1 and Q5_1: for Q4_0 and Q5_0 (72- and 88-byte groups) this
 * variant streams from RAM at half the speed of dot4 one group of rows at
 * a time (measured with bench kernels on 4096 × 4096 matrices: Q4_0 17-30
 * against 39-41 GB/s on one thread, Q5_0 12-18 against 23), though it is
 * faster in cache. */

#define DOT4_ROWS_STACK_GROUPS 128   /* 16384 columns; longer rows use the heap */

static ALWAYS_INLINE bool
dot4_rows_x4 (const x4_type *t, llm_type type, int64_t nb, const uint8_t *x, size_t row_size, size_t stride,
              int64_t nq, const uint8_t *y, float *out, int64_t os)
{
  const int64_t ng = nb / 4;
  const x4_layout l = x4_layout_make (t->index, t->block);
  act_x4 stack[DOT4_ROWS_STACK_GROUPS];
  act_x4 *a = ng <= DOT4_ROWS_STACK_GROUPS ? stack : aligned_alloc (64, (size_t) ng * sizeof *a);

  if (a == NULL)
    return false;
  for (int64_t g = 0; g < ng; g++)
    a[g] = act_x4_load (y + 4 * g * t->act_size, t->act_size, t->act_qs, t->bias);
  for (int64_t k = 0; k < nq; k++)
    {
      const uint8_t *xk = x + (size_t) k * row_size;
      __m512 acc[4] = { _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_ps () };
      for (int64_t g = 0; g < ng; g++)
        #pragma GCC unroll 8
        for (int r = 0; r < 4; r++)
          {
            const uint8_t *p = xk + r * stride + (size_t) g * 4 * (size_t) t->block;
            _mm_prefetch ((const char *) p + LLM_PREFETCH_BYTES, _MM_HINT_T0);
            _mm_prefetch ((const char *) p + LLM_PREFETCH_BYTES + 64, _MM_HINT_T0);
            acc[r] = x4_fma (p, &l, &a[g], t->has_qh, t->has_m, acc[r]);
          }
      #pragma GCC unroll 8
      for (int r = 0; r < 4; r++)
        out[k + r * os] = _mm512_reduce_add_ps (acc[r])
            + (4 * ng < nb ? llm_vec_dot_scalar (type, (nb - 4 * ng) * LLM_QK, xk + r * stride + 4 * ng * t->block,
                                                 y + 4 * ng * t->act_size) : 0.0f);
    }
  if (a != stack)
    free (a);
  return true;
}

/* F16: the activations converted to float once per chunk instead of once
 * per row (dot_f16 converts both sides: half its conversions), then four
 * rows a quarter of the chunk apart, each with dot_f16's four accumulators
 * and order of sums, so each result is dot_f16's to the bit. */
#define F16_ROWS_STACK 8192

static bool
dot4_rows_f16 (int64_t n, const uint8_t *x, size_t row_size, size_t stride, int64_t nq,
               const uint16_t *y, float *out, int64_t os)
{
  float stack[F16_ROWS_STACK];
  float *yf = n <= F16_ROWS_STACK ? stack : aligned_alloc (64, ((size_t) n * sizeof (float) + 63) / 64 * 64);
  int64_t i, i0;

  if (yf == NULL)
    return false;
  for (i = 0; i + 16 <= n; i += 16)
    _mm512_storeu_ps (yf + i, _mm512_cvtph_ps (_mm256_loadu_si256 ((const __m256i *) (y + i))));
  for (; i < n; i++)
    yf[i] = llm_fp16_table[y[i]];
  for (int64_t k = 0; k < nq; k++)
    {
      const uint16_t *xr[4];
      __m512 acc[4][4];

      #pragma GCC unroll 8
      for (int r = 0; r < 4; r++)
        {
          xr[r] = (const uint16_t *) (x + (size_t) k * row_size + r * stride);
          for (int m = 0; m < 4; m++)
            acc[r][m] = _mm512_setzero_ps ();
        }
      for (i = 0; i + 64 <= n; i += 64)
        #pragma GCC unroll 8
        for (int m = 0; m < 4; m++)
          {
            const __m512 b = _mm512_loadu_ps (yf + i + 16 * m);
            #pragma GCC unroll 8
            for (int r = 0; r < 4; r++)
              {
                if (m & 1)
                  _mm_prefetch ((const char *) (xr[r] + i + 16 * m) + LLM_PREFETCH_BYTES, _MM_HINT_T0);
                acc[r][m] = _mm512_fmadd_ps (_mm512_cvtph_ps (_mm256_loadu_si256 ((const __m256i *) (xr[r] + i + 16 * m))),
                                             b, acc[r][m]);
              }
          }
      i0 = i;
      #pragma GCC unroll 8
      for (int r = 0; r < 4; r++)
        {
          float sum;
          for (i = i0; i + 16 <= n; i += 16)
            acc[r][0] = _mm512_fmadd_ps (_mm512_cvtph_ps (_mm256_loadu_si256 ((const __m256i *) (xr[r] + i))),
                                         _mm512_loadu_ps (yf + i), acc[r][0]);
          sum = _mm512_reduce_add_ps (_mm512_add_ps (_mm512_add_ps (acc[r][0], acc[r][1]),
                                                     _mm512_add_ps (acc[r][2], acc[r][3])));
          if (i < n)
            sum += llm_vec_dot_scalar (LLM_TYPE_F16, n - i, xr[r] + i, y + i);
          out[k + r * os] = sum;
        }
    }
  if (yf != stack)
    free (yf);
  return true;
}

/* Q4_0 over a chunk of short rows: dot4_q4_0's arithmetic (each result
 * is its to the bit), with each group of four blocks' activations
 * rearranged once for the chunk instead of once per four rows, a fifth of
 * dot4_q4_0's instructions, which Q4_0 is short of once both cores stream
 * (bench kernels, 2 threads, 1,024 columns: 73-89% → 93-110% of the read
 * probe). Only up to Q4_0_ROWS_MAX_STEPS groups (1,024 columns, 2 KiB of
 * rearranged activations): with longer rows the larger array competes in
 * L1 with the four weight streams, and the product streamed from RAM at
 * half the speed (2,048-4,096 columns: 32-36 against 63-75 GB/s). */
#define Q4_0_ROWS_MAX_STEPS 8

static bool
dot4_rows_q4_0 (int64_t nb, const uint8_t *x, size_t row_size, size_t stride, int64_t nq,
                const llm_block_q8_0 *y, float *out, int64_t os)
{
  const int64_t ns = nb / 4;
  q8_0_x4 a[Q4_0_ROWS_MAX_STEPS];

  if (ns > Q4_0_ROWS_MAX_STEPS)
    return false;
  for (int64_t s = 0; s < ns; s++)
    a[s] = q8_0_x4_load (y + 4 * s);
  for (int64_t k = 0; k < nq; k++)
    {
      const uint8_t *xk = x + (size_t) k * row_size;
      __m512 acc[4] = { _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_ps () };
      for (int64_t s = 0; s < ns; s++)
        #pragma GCC unroll 8
        for (int r = 0; r < 4; r++)
          {
            const uint8_t *p = xk + r * stride + (size_t) s * 4 * sizeof (llm_block_q4_0);
            _mm_prefetch ((const char *) p + LLM_PREFETCH_BYTES, _MM_HINT_T0);
            _mm_prefetch ((const char *) p + LLM_PREFETCH_BYTES + 64, _MM_HINT_T0);
            acc[r] = q4_0_x4_fma (p, &a[s], acc[r]);
          }
      #pragma GCC unroll 8
      for (int r = 0; r < 4; r++)
        {
          const llm_block_q4_0 *row = (const llm_block_q4_0 *) (xk + r * stride);
          out[k + r * os] = _mm512_reduce_add_ps (acc[r])
              + (4 * ns < nb ? dot_q4_0_blocks (nb - 4 * ns, row + 4 * ns, y + 4 * ns) : 0.0f);
        }
    }
  return true;
}

#define X4_ROWS(name, TYPE)                                                                          \
  static bool                                                                                        \
  dot4_rows_##name (int64_t nb, const void *x, size_t row_size, size_t stride, int64_t nq,          \
                    const void *y, float *out, int64_t os)                                           \
  {                                                                                                  \
    return dot4_rows_x4 (&x4_##name, TYPE, nb, x, row_size, stride, nq, y, out, os);                 \
  }
X4_ROWS (q4_1, LLM_TYPE_Q4_1)
X4_ROWS (q5_1, LLM_TYPE_Q5_1)

bool
llm_vec_dot4_rows_avx512 (llm_type type, int64_t n, const void *x, size_t row_size, size_t stride, int64_t nq,
                          const void *y, float *out, int64_t out_stride)
{
  switch (type)
    {
    case LLM_TYPE_F16:  return dot4_rows_f16 (n, x, row_size, stride, nq, y, out, out_stride);
    case LLM_TYPE_Q4_0: return dot4_rows_q4_0 (n / LLM_QK, x, row_size, stride, nq, y, out, out_stride);
    case LLM_TYPE_Q4_K: return dot4_rows_k (false, n / LLM_QK_K, x, row_size, stride, nq, y, out, out_stride);
    case LLM_TYPE_Q5_K: return dot4_rows_k (true, n / LLM_QK_K, x, row_size, stride, nq, y, out, out_stride);
    case LLM_TYPE_Q4_1: return dot4_rows_q4_1 (n / LLM_QK, x, row_size, stride, nq, y, out, out_stride);
    case LLM_TYPE_Q5_1: return dot4_rows_q5_1 (n / LLM_QK, x, row_size, stride, nq, y, out, out_stride);
    default: return false;
    }
}

bool
llm_vec_dot4_avx512 (llm_type type, int64_t n, const void *x, size_t stride, const void *y,
                     float out[4])
{
  switch (type)
    {
    case LLM_TYPE_Q4_0: dot4_q4_0 (n / LLM_QK, x, stride, y, out); return true;
    case LLM_TYPE_Q4_K: dot4_q4_K (n / LLM_QK_K, x, stride, y, out); return true;
    case LLM_TYPE_Q5_K: dot4_q5_K (n / LLM_QK_K, x, stride, y, out); return true;
    case LLM_TYPE_Q6_K: dot4_q6_K (n / LLM_QK_K, x, stride, y, out); return true;
    case LLM_TYPE_Q4_1: dot4_q4_1 (n / LLM_QK, x, stride, y, out); return true;
    case LLM_TYPE_Q5_0: dot4_q5_0 (n / LLM_QK, x, stride, y, out); return true;
    case LLM_TYPE_Q5_1: dot4_q5_1 (n / LLM_QK, x, stride, y, out); return true;
    case LLM_TYPE_Q8_0: dot4_q8_0 (n / LLM_QK, x, stride, y, out); return true;
    default: return false;
    }
}

/* ---- single-token attention ------------------------------------------- */

/* exp(x) for x <= 0, 16 lanes: x = n·ln2 + r with |r| <= ln2/2 (ln2 split in
 * two for an exact n·ln2), Cephes' degree-5 polynomial for exp(r), then
 * scalef by 2^n (which underflows to 0 below -87). About 1 ulp from expf. */
static inline __m512
exp_nonpositive (__m512 x)
{
  const __m512 n = _mm512_roundscale_ps (_mm512_mul_ps (x, _mm512_set1_ps (1.44269504088896341f)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps (n, _mm512_set1_ps (0.693359375f), _mm512_max_ps (x, _mm512_set1_ps (-103.0f)));
  r = _mm512_fnmadd_ps (n, _mm512_set1_ps (-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps (1.9875691500e-4f);
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.3981999507e-3f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (8.3334519073e-3f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (4.1665795894e-2f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.6666665459e-1f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (5.0000001201e-1f));
  p = _mm512_fmadd_ps (_mm512_mul_ps (p, r), r, _mm512_add_ps (r, _mm512_set1_ps (1.0f)));
  return _mm512_scalef_ps (p, n);
}

/* Sixteen vectors to one: lane j is the sum of a[j]'s lanes. A tree of
 * two-source permutes, each level halving the partial sums per vector. */
static ALWAYS_INLINE __m512
sum16 (__m512 a[16])
{
  static const int32_t lv[4][2][16] = {
    { { 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23 },
      { 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31 } },
    { { 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27 },
      { 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31 } },
    { { 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29 },
      { 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31 } },
    { { 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30 },
      { 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31 } },
  };

  #pragma GCC unroll 4
  for (int l = 0; l < 4; l++)
    {
      const __m512i lo = _mm512_loadu_si512 (lv[l][0]), hi = _mm512_loadu_si512 (lv[l][1]);
      #pragma GCC unroll 8
      for (int i = 0; i < (8 >> l); i++)
        a[i] = _mm512_add_ps (_mm512_permutex2var_ps (a[2 * i], lo, a[2 * i + 1]),
                              _mm512_permutex2var_ps (a[2 * i], hi, a[2 * i + 1]));
    }
  return a[0];
}

/* Sixteen values of a KV cache (F16, converted exactly, or F32) from
 * element @i on. */
static ALWAYS_INLINE __m512
load_kv (const void *base, size_t i, bool f16)
{
  return f16 ? _mm512_cvtph_ps (_mm256_loadu_si256 ((const __m256i *) ((const uint16_t *) base + i)))
             : _mm512_loadu_ps ((const float *) base + i);
}

/* out (G heads × T·16 dimensions from chunk c0) = P · V, the G·T sums in
 * registers over all keys: G·T independent chains of FMAs (a sum kept in
 * memory is a chain of store-to-load forwarding, five times slower). */
static ALWAYS_INLINE void
pv_tile (int G, int T, int n, int hd, const void *V, bool f16, const float *s, int ld, float *out, int c0)
{
  __m512 acc[16];

  #pragma GCC unroll 16
  for (int i = 0; i < G * T; i++)
    acc[i] = _mm512_setzero_ps ();
  for (int j = 0; j < n; j++)
    {
      const size_t vr = (size_t) j * hd + 16 * c0;
      __m512 p[4];
      #pragma GCC unroll 4
      for (int g = 0; g < G; g++)
        p[g] = _mm512_set1_ps (s[(size_t) g * ld + j]);
      #pragma GCC unroll 16
      for (int k = 0; k < T; k++)
        {
          const __m512 v = load_kv (V, vr + 16 * k, f16);
          #pragma GCC unroll 4
          for (int g = 0; g < G; g++)
            acc[g * T + k] = _mm512_fmadd_ps (p[g], v, acc[g * T + k]);
        }
    }
  #pragma GCC unroll 16
  for (int g = 0; g < G; g++)
    #pragma GCC unroll 16
    for (int k = 0; k < T; k++)
      _mm512_storeu_ps (out + (size_t) g * hd + 16 * (c0 + k), acc[g * T + k]);
}

/* P · V for every head of the group: heads in sub-groups of 4, 2 or 1,
 * dimensions in tiles that keep at most 16 sums in registers. */
static ALWAYS_INLINE void
attend_pv (int group, int n, int hd, const void *V, bool f16, const float *scores, int ld, float *out)
{
  const int nc = hd / 16;

  for (int g0 = 0; g0 < group;)
    {
      const int G = group - g0 >= 4 ? 4 : group - g0 >= 2 ? 2 : 1;
      const float *s = scores + (size_t) g0 * ld;
      float *o = out + (size_t) g0 * hd;

      for (int c0 = 0; c0 < nc;)
        {
          int left = nc - c0, t = 1;
          while (t * 2 <= left && G * t * 2 <= 16)
            t *= 2;
          switch (G * 100 + t)
            {
            case 101: pv_tile (1, 1, n, hd, V, f16, s, ld, o, c0); break;
            case 102: pv_tile (1, 2, n, hd, V, f16, s, ld, o, c0); break;
            case 104: pv_tile (1, 4, n, hd, V, f16, s, ld, o, c0); break;
            case 108: pv_tile (1, 8, n, hd, V, f16, s, ld, o, c0); break;
            case 116: pv_tile (1, 16, n, hd, V, f16, s, ld, o, c0); break;
            case 201: pv_tile (2, 1, n, hd, V, f16, s, ld, o, c0); break;
            case 202: pv_tile (2, 2, n, hd, V, f16, s, ld, o, c0); break;
            case 204: pv_tile (2, 4, n, hd, V, f16, s, ld, o, c0); break;
            case 208: pv_tile (2, 8, n, hd, V, f16, s, ld, o, c0); break;
            case 401: pv_tile (4, 1, n, hd, V, f16, s, ld, o, c0); break;
            case 402: pv_tile (4, 2, n, hd, V, f16, s, ld, o, c0); break;
            default:  pv_tile (4, 4, n, hd, V, f16, s, ld, o, c0); break;
            }
          c0 += t;
        }
      g0 += G;
    }
}

static ALWAYS_INLINE bool
attend (int group, int hd, int n, const float *q, const void *K, const void *V, bool f16,
        float scale, float *scores, int ld, float *out)
{
  const int nc = hd / 16;

  if (hd % 16 != 0 || hd > 256 || group < 1 || group > 8 || n < 1)
    return false;

  /* scores: sixteen keys at a time, their sums transposed into one vector */
  for (int g = 0; g < group; g++)
    {
      const float *qg = q + (size_t) g * hd;
      float *row = scores + (size_t) g * ld;
      int j = 0;

      for (; j + 16 <= n; j += 16)
        {
          __m512 acc[16];
          #pragma GCC unroll 16
          for (int k = 0; k < 16; k++)
            acc[k] = _mm512_setzero_ps ();
          for (int c = 0; c < nc; c++)
            {
              const __m512 qc = _mm512_loadu_ps (qg + 16 * c);
              #pragma GCC unroll 16
              for (int k = 0; k < 16; k++)
                acc[k] = _mm512_fmadd_ps (qc, load_kv (K, (size_t) (j + k) * hd + 16 * c, f16), acc[k]);
            }
          _mm512_storeu_ps (row + j, _mm512_mul_ps (sum16 (acc), _mm512_set1_ps (scale)));
        }
      for (; j < n; j++)
        {
          __m512 acc = _mm512_setzero_ps ();
          for (int c = 0; c < nc; c++)
            acc = _mm512_fmadd_ps (_mm512_loadu_ps (qg + 16 * c), load_kv (K, (size_t) j * hd + 16 * c, f16), acc);
          row[j] = _mm512_reduce_add_ps (acc) * scale;
        }
    }

  /* softmax of each row: max, exp, sum, then one reciprocal */
  for (int g = 0; g < group; g++)
    {
      float *row = scores + (size_t) g * ld;
      __m512 vmax = _mm512_set1_ps (-3.402823466e+38f), vsum = _mm512_setzero_ps ();
      int j = 0;
      float max, inv;

      for (; j + 16 <= n; j += 16)
        vmax = _mm512_max_ps (vmax, _mm512_loadu_ps (row + j));
      if (j < n)
        vmax = _mm512_max_ps (vmax, _mm512_mask_loadu_ps (vmax, (__mmask16) ((1u << (n - j)) - 1), row + j));
      max = _mm512_reduce_max_ps (vmax);
      for (j = 0; j + 16 <= n; j += 16)
        {
          const __m512 e = exp_nonpositive (_mm512_sub_ps (_mm512_loadu_ps (row + j), _mm512_set1_ps (max)));
          _mm512_storeu_ps (row + j, e);
          vsum = _mm512_add_ps (vsum, e);
        }
      if (j < n)
        {
          const __mmask16 m = (__mmask16) ((1u << (n - j)) - 1);
          const __m512 e = exp_nonpositive (_mm512_sub_ps (_mm512_maskz_loadu_ps (m, row + j), _mm512_set1_ps (max)));
          _mm512_mask_storeu_ps (row + j, m, e);
          vsum = _mm512_add_ps (vsum, _mm512_maskz_mov_ps (m, e));
        }
      inv = 1.0f / _mm512_reduce_add_ps (vsum);
      for (j = 0; j + 16 <= n; j += 16)
        _mm512_storeu_ps (row + j, _mm512_mul_ps (_mm512_loadu_ps (row + j), _mm512_set1_ps (inv)));
      for (; j < n; j++)
        row[j] *= inv;
    }

  /* out = P · V */
  attend_pv (group, n, hd, V, f16, scores, ld, out);
  return true;
}

bool
llm_attend_avx512 (int group, int hd, int n, const float *q, const void *K, const void *V, bool f16,
                   float scale, float *scores, int ld, float *out)
{
  return f16 ? attend (group, hd, n, q, K, V, true, scale, scores, ld, out)
             : attend (group, hd, n, q, K, V, false, scale, scores, ld, out);
}

/* ---- activations ------------------------------------------------------- */

/* roundf: half away from zero. v - trunc(v) is exact, so the tie test is. */
static inline __m512
round_half_away (__m512 v)
{
  const __m512 t = _mm512_roundscale_ps (v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m512 frac = _mm512_abs_ps (_mm512_sub_ps (v, t));
  const __m512 one = _mm512_castsi512_ps (_mm512_or_si512 (
      _mm512_castps_si512 (_mm512_set1_ps (1.0f)),
      _mm512_and_si512 (_mm512_castps_si512 (v), _mm512_set1_epi32 ((int) 0x80000000u))));
  return _mm512_mask_add_ps (t, _mm512_cmp_ps_mask (frac, _mm512_set1_ps (0.5f), _CMP_GE_OQ), t, one);
}

/* Q8_0 (and Q8_1 with @s) activations, byte for byte as quantize_q8_0 and
 * quantize_q8_1 in llm-quant.c: the same float operations in the same
 * order per element. */
static void
quantize_q8_0_1 (const float *x, uint8_t *y, int64_t nb, bool q8_1)
{
  const size_t size = q8_1 ? sizeof (llm_block_q8_1) : sizeof (llm_block_q8_0);
  const int qs = q8_1 ? 4 : 2;

  for (int64_t i = 0; i < nb; i++, x += LLM_QK, y += size)
    {
      const __m512 x0 = _mm512_loadu_ps (x), x1 = _mm512_loadu_ps (x + 16);
      const float amax = _mm512_reduce_max_ps (_mm512_max_ps (_mm512_abs_ps (x0), _mm512_abs_ps (x1)));
      const float d = amax / 127;
      const float id = d ? 1.0f / d : 0.0f;
      const uint16_t dh = llm_fp32_to_fp16 (d);
      const __m512i q0 = _mm512_cvtps_epi32 (round_half_away (_mm512_mul_ps (x0, _mm512_set1_ps (id))));
      const __m512i q1 = _mm512_cvtps_epi32 (round_half_away (_mm512_mul_ps (x1, _mm512_set1_ps (id))));
      memcpy (y, &dh, 2);
      _mm_storeu_si128 ((__m128i *) (y + qs), _mm512_cvtepi32_epi8 (q0));
      _mm_storeu_si128 ((__m128i *) (y + qs + 16), _mm512_cvtepi32_epi8 (q1));
      if (q8_1)
        {
          const int sum = _mm512_reduce_add_epi32 (_mm512_add_epi32 (q0, q1));
          const uint16_t sh = llm_fp32_to_fp16 (sum * d);
          memcpy (y + 2, &sh, 2);
        }
    }
}

/* Q8_K as quantize_q8_K: the scale from the first element of largest
 * magnitude, nearest_int's round-half-even by the same float addition. */
static void
quantize_q8_K (const float *x, llm_block_q8_K *y, int64_t nb)
{
  const __m512 magic = _mm512_set1_ps (12582912.f);

  for (int64_t i = 0; i < nb; i++, x += LLM_QK_K)
    {
      __m512 m = _mm512_setzero_ps ();
      for (int j = 0; j < LLM_QK_K; j += 16)
        m = _mm512_max_ps (m, _mm512_abs_ps (_mm512_loadu_ps (x + j)));
      const float amax = _mm512_reduce_max_ps (m);
      if (!amax)
        {
          memset (&y[i], 0, sizeof y[i]);
          continue;
        }
      float max = 0;
      for (int j = 0; j < LLM_QK_K; j += 16)
        {
          const __mmask16 k = _mm512_cmp_ps_mask (_mm512_abs_ps (_mm512_loadu_ps (x + j)), _mm512_set1_ps (amax),
                                                  _CMP_EQ_OQ);
          if (k)
            {
              max = x[j + __builtin_ctz (k)];
              break;
            }
        }
      const float iscale = -127.f / max;
      for (int j = 0; j < LLM_QK_K; j += 16)
        {
          const __m512 v = _mm512_add_ps (_mm512_mul_ps (_mm512_set1_ps (iscale), _mm512_loadu_ps (x + j)), magic);
          __m512i q = _mm512_sub_epi32 (_mm512_and_si512 (_mm512_castps_si512 (v), _mm512_set1_epi32 (0x007fffff)),
                                        _mm512_set1_epi32 (0x00400000));
          q = _mm512_min_epi32 (q, _mm512_set1_epi32 (127));
          _mm_storeu_si128 ((__m128i *) (y[i].qs + j), _mm512_cvtepi32_epi8 (q));
          y[i].bsums[j / 16] = (int16_t) _mm512_reduce_add_epi32 (q);
        }
      y[i].d = 1 / iscale;
    }
}

/* Floats to F16 rounded to nearest even, as llm_fp32_to_fp16. */
static void
convert_f16 (const float *x, uint16_t *y, int64_t n)
{
  int64_t i = 0;

  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256 ((__m256i *) (y + i),
                         _mm512_cvtps_ph (_mm512_loadu_ps (x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  for (; i < n; i++)
    y[i] = llm_fp32_to_fp16 (x[i]);
}

bool
llm_quantize_act_avx512 (llm_type type, const float *x, void *y, int64_t n)
{
  switch (type)
    {
    case LLM_TYPE_Q8_0: quantize_q8_0_1 (x, y, n / LLM_QK, false); return true;
    case LLM_TYPE_Q8_1: quantize_q8_0_1 (x, y, n / LLM_QK, true); return true;
    case LLM_TYPE_Q8_K: quantize_q8_K (x, y, n / LLM_QK_K); return true;
    case LLM_TYPE_F16:  convert_f16 (x, y, n); return true;
    default: return false;
    }
}
