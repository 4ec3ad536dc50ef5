/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Batched products of Q4_0 / Q8_0 weights with Q8_0 activations, AVX-512
 * VNNI. A tile of 16 weight rows is gathered once so that each 32-bit lane
 * of a register holds four consecutive weights of one row; a dpbusd against
 * four activation bytes broadcast to every lane then adds four products to
 * each of the 16 rows' sums at once. Eight such steps finish a block for 16
 * rows and one token, with the block's integer sums exact (as the scalar
 * path) before they are scaled. The weights stay in registers while up to
 * eight tokens pass, so each block is decoded once per eight tokens, not
 * once per token.
 *
 * dpbusd multiplies unsigned bytes by signed ones, so the weights are used
 * with an offset: Q4_0 nibbles q ∈ [0, 15] stand for q − 8, Q8_0 bytes are
 * flipped to w + 128; the offset times the activation block's sum starts
 * each integer accumulator. */
#include "llm-gemm.h"

#include <immintrin.h>
#include <string.h>

#define ALWAYS_INLINE static inline __attribute__ ((always_inline))

static size_t
align64 (size_t n)
{
  return (n + 63) & ~(size_t) 63;
}

bool
llm_gemm_avx512_has (llm_type type)
{
  return type == LLM_TYPE_Q4_0 || type == LLM_TYPE_Q8_0 || type == LLM_TYPE_F16;
}

size_t
llm_gemm_acts_bytes (llm_type type, int64_t n, int64_t cols)
{
  size_t nb = (size_t) (n * (cols / LLM_QK));
  if (type == LLM_TYPE_F16)
    return align64 ((size_t) (n * cols) * sizeof (float));
  return align64 (nb * sizeof (llm_block_q8_0)) + align64 (nb * sizeof (float))
       + align64 (nb * sizeof (int32_t));
}

void
llm_gemm_acts_init (llm_gemm_acts *a, llm_type type, void *buf, int64_t n, int64_t cols)
{
  size_t nb = (size_t) (n * (cols / LLM_QK));
  uint8_t *p = buf;

  memset (a, 0, sizeof *a);
  a->n = n;
  a->cols = cols;
  a->nb = cols / LLM_QK;
  if (type == LLM_TYPE_F16)
    {
      a->x = (float *) p;
      return;
    }
  a->q = (llm_block_q8_0 *) p;
  p += align64 (nb * sizeof (llm_block_q8_0));
  a->d = (float *) p;
  p += align64 (nb * sizeof (float));
  a->corr = (int32_t *) p;
}

/* roundf: to nearest, halves away from zero (x − trunc x is exact here). */
ALWAYS_INLINE __m512i
round_away (__m512 v)
{
  const __m512 t = _mm512_roundscale_ps (v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_abs_ps (_mm512_sub_ps (v, t));
  const __mmask16 up = _mm512_cmp_ps_mask (f, _mm512_set1_ps (0.5f), _CMP_GE_OQ);
  const __m512 one = _mm512_castsi512_ps (_mm512_or_si512 (
      _mm512_castps_si512 (_mm512_set1_ps (1.0f)),
      _mm512_and_si512 (_mm512_castps_si512 (v), _mm512_set1_epi32 ((int) 0x80000000u))));
  return _mm512_cvtps_epi32 (_mm512_mask_add_ps (t, up, t, one));
}

/* The same arithmetic as the reference quantize_q8_0 (d = amax / 127,
 * id = 1 / d, q = roundf (x · id)), so the bytes are identical. */
void
llm_gemm_avx512_quantize (llm_type type, const float *X, int64_t t0, int64_t t1, llm_gemm_acts *a)
{
  const int32_t offset = type == LLM_TYPE_Q4_0 ? 8 : 128;

  if (type == LLM_TYPE_F16)
    {
      /* round to half precision (to nearest even, as llm_fp32_to_fp16) */
      for (int64_t i = t0 * a->cols; i < t1 * a->cols; i += 16)
        {
          const int64_t left = t1 * a->cols - i;
          const __mmask16 m = (__mmask16) (left >= 16 ? 0xFFFF : (1u << left) - 1);
          const __m512 v = _mm512_maskz_loadu_ps (m, X + i);
          _mm512_mask_storeu_ps (a->x + i, m, _mm512_cvtph_ps (
              _mm512_cvtps_ph (v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
        }
      return;
    }
  for (int64_t t = t0; t < t1; t++)
    for (int64_t k = 0; k < a->nb; k++)
      {
        const float *x = X + t * a->cols + k * LLM_QK;
        const size_t bi = (size_t) (t * a->nb + k);
        llm_block_q8_0 *blk = &a->q[bi];
        const __m512 x0 = _mm512_loadu_ps (x), x1 = _mm512_loadu_ps (x + 16);
        const float amax = _mm512_reduce_max_ps (_mm512_max_ps (_mm512_abs_ps (x0), _mm512_abs_ps (x1)));
        const float d = amax / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t dh = (uint16_t) _mm_extract_epi16 (
            _mm_cvtps_ph (_mm_set_ss (d), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), 0);
        const __m512i q0 = round_away (_mm512_mul_ps (x0, _mm512_set1_ps (id)));
        const __m512i q1 = round_away (_mm512_mul_ps (x1, _mm512_set1_ps (id)));

        blk->d = dh;
        _mm_storeu_si128 ((__m128i *) blk->qs, _mm512_cvtepi32_epi8 (q0));
        _mm_storeu_si128 ((__m128i *) (blk->qs + 16), _mm512_cvtepi32_epi8 (q1));
        a->d[bi] = llm_fp16_table[dh];
        a->corr[bi] = -offset * _mm512_reduce_add_epi32 (_mm512_add_epi32 (q0, q1));
      }
}

/* Packed bytes per block of a tile: 16 rows × the block's quant bytes. */
static size_t
pack_block_bytes (llm_type type)
{
  return type == LLM_TYPE_Q4_0 ? 16 * 16 : 16 * 32;
}

size_t
llm_gemm_scratch_bytes (llm_type type, int64_t cols)
{
  size_t nb = (size_t) (cols / LLM_QK);

  if (type == LLM_TYPE_F16)
    return 64;   /* reads W in place */
  return align64 (nb * pack_block_bytes (type)) + align64 (nb * 16 * sizeof (float));
}

/* Gathers block k of each of the tile's rows: register i holds bytes
 * 4i..4i+3 of each row's quants (Q4_0: 16 bytes, 4 registers; Q8_0: 32
 * bytes, 8 registers, flipped to unsigned), and the 16 scales as floats.
 * Rows past @m read as zero. */
static void
pack_tile (llm_type type, const uint8_t *W, size_t row_size, __mmask16 m, int64_t nb,
           uint8_t *pack, float *wd)
{
  const bool q4 = type == LLM_TYPE_Q4_0;
  const size_t bsz = q4 ? sizeof (llm_block_q4_0) : sizeof (llm_block_q8_0);
  const int nreg = q4 ? 4 : 8;
  const __m512i ridx = _mm512_mullo_epi32 (
      _mm512_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
      _mm512_set1_epi32 ((int) row_size));
  const __m512i flip = _mm512_set1_epi32 (q4 ? 0 : (int) 0x80808080u);

  for (int64_t k = 0; k < nb; k++)
    {
      const uint8_t *base = W + (size_t) k * bsz;
      /* the scale is the block's first two bytes */
      const __m512i dv = _mm512_mask_i32gather_epi32 (_mm512_setzero_si512 (), m, ridx, base, 1);
      _mm512_store_ps (wd + k * 16, _mm512_cvtph_ps (_mm512_cvtepi32_epi16 (dv)));
      for (int i = 0; i < nreg; i++)
        {
          __m512i v = _mm512_mask_i32gather_epi32 (_mm512_setzero_si512 (), m, ridx, base + 2 + 4 * i, 1);
          _mm512_store_si512 ((__m512i *) (pack + (size_t) k * (size_t) nreg * 64 + 64 * i),
                              _mm512_xor_si512 (v, flip));
        }
    }
}

/* NT tokens from t0 against the packed tile. */
ALWAYS_INLINE void
tile_tokens (const int NT, const bool q4, int64_t nb, const uint8_t *pack, const float *wd,
             const llm_gemm_acts *a, int64_t t0, float *Y, int64_t ldy, __mmask16 m)
{
  const __m512i m4 = _mm512_set1_epi8 (0x0F);
  __m512 acc[8];

  #pragma GCC unroll 8
  for (int t = 0; t < NT; t++)
    acc[t] = _mm512_setzero_ps ();
  for (int64_t k = 0; k < nb; k++)
    {
      __m512i w[8];
      if (q4)
        {
          const uint8_t *p = pack + (size_t) k * 256;
          #pragma GCC unroll 8
          for (int i = 0; i < 4; i++)
            {
              const __m512i v = _mm512_load_si512 ((const __m512i *) (p + 64 * i));
              w[i] = _mm512_and_si512 (v, m4);                        /* elements 4i..4i+3 */
              w[i + 4] = _mm512_and_si512 (_mm512_srli_epi16 (v, 4), m4); /* 16+4i.. */
            }
        }
      else
        {
          const uint8_t *p = pack + (size_t) k * 512;
          #pragma GCC unroll 8
          for (int i = 0; i < 8; i++)
            w[i] = _mm512_load_si512 ((const __m512i *) (p + 64 * i));
        }
      const __m512 dw = _mm512_load_ps (wd + k * 16);
      #pragma GCC unroll 8
      for (int t = 0; t < NT; t++)
        {
          const size_t bi = (size_t) ((t0 + t) * a->nb + k);
          const int8_t *q = a->q[bi].qs;
          /* two dependency chains of four dpbusd rather than one of eight */
          __m512i s = _mm512_set1_epi32 (a->corr[bi]), s1 = _mm512_setzero_si512 ();
          #pragma GCC unroll 8
          for (int j = 0; j < 8; j += 2)
            {
              int32_t four, four1;
              memcpy (&four, q + 4 * j, 4);
              memcpy (&four1, q + 4 * j + 4, 4);
              s = _mm512_dpbusd_epi32 (s, w[j], _mm512_set1_epi32 (four));
              s1 = _mm512_dpbusd_epi32 (s1, w[j + 1], _mm512_set1_epi32 (four1));
            }
          s = _mm512_add_epi32 (s, s1);
          acc[t] = _mm512_fmadd_ps (_mm512_cvtepi32_ps (s), _mm512_mul_ps (dw, _mm512_set1_ps (a->d[bi])),
                                    acc[t]);
        }
    }
  #pragma GCC unroll 8
  for (int t = 0; t < NT; t++)
    _mm512_mask_storeu_ps (Y + (t0 + t) * ldy, m, acc[t]);
}

ALWAYS_INLINE void
tile_all (const bool q4, int64_t nb, const uint8_t *pack, const float *wd, const llm_gemm_acts *a,
          float *Y, int64_t ldy, __mmask16 m)
{
  int64_t t = 0;

  for (; t + 8 <= a->n; t += 8)
    tile_tokens (8, q4, nb, pack, wd, a, t, Y, ldy, m);
  if (t + 4 <= a->n)
    {
      tile_tokens (4, q4, nb, pack, wd, a, t, Y, ldy, m);
      t += 4;
    }
  if (t + 2 <= a->n)
    {
      tile_tokens (2, q4, nb, pack, wd, a, t, Y, ldy, m);
      t += 2;
    }
  if (t < a->n)
    tile_tokens (1, q4, nb, pack, wd, a, t, Y, ldy, m);
}

/* F16: the weights need no decoding beyond a conversion, so no tile is
 * gathered; each register holds 16 consecutive columns of one row and the
 * products are summed across lanes at the end, for NR rows × NT tokens at
 * once (4 × 6 accumulators: each weight load serves six tokens, each
 * activation load four rows). Rows are read from W in place. */
ALWAYS_INLINE void
f16_step (const int NR, const int NT, __m512 acc[4][6], __mmask16 m, const uint16_t *W,
          size_t row_size, const float *X, int64_t ldx, int64_t k)
{
  __m512 w[4];

#pragma GCC unroll 4
  for (int r = 0; r < NR; r++)
    w[r] = _mm512_cvtph_ps (_mm256_maskz_loadu_epi16 (
        m, (const uint8_t *) W + (size_t) r * row_size + (size_t) k * 2));
#pragma GCC unroll 6
  for (int t = 0; t < NT; t++)
    {
      const __m512 x = _mm512_maskz_loadu_ps (m, X + t * ldx + k);
#pragma GCC unroll 4
      for (int r = 0; r < NR; r++)
        acc[r][t] = _mm512_fmadd_ps (w[r], x, acc[r][t]);
    }
}

ALWAYS_INLINE void
f16_block (const int NR, const int NT, const uint16_t *W, size_t row_size, const float *X,
           int64_t cols, int64_t ldx, float *Y, int64_t ldy)
{
  __m512 acc[4][6];
  int64_t k = 0;

#pragma GCC unroll 4
  for (int r = 0; r < NR; r++)
#pragma GCC unroll 6
    for (int t = 0; t < NT; t++)
      acc[r][t] = _mm512_setzero_ps ();
  for (; k + 16 <= cols; k += 16)
    f16_step (NR, NT, acc, 0xFFFF, W, row_size, X, ldx, k);
  if (k < cols)
    f16_step (NR, NT, acc, (__mmask16) ((1u << (cols - k)) - 1), W, row_size, X, ldx, k);
#pragma GCC unroll 6
  for (int t = 0; t < NT; t++)
#pragma GCC unroll 4
    for (int r = 0; r < NR; r++)
      Y[t * ldy + r] = _mm512_reduce_add_ps (acc[r][t]);
}

ALWAYS_INLINE void
f16_rows (const int NR, const uint16_t *W, size_t row_size, const llm_gemm_acts *a, float *Y,
          int64_t ldy)
{
  const int64_t n = a->n, cols = a->cols;
  int64_t t = 0;

  for (; t + 6 <= n; t += 6)
    f16_block (NR, 6, W, row_size, a->x + t * cols, cols, cols, Y + t * ldy, ldy);
  switch (n - t)
    {
    case 5: f16_block (NR, 5, W, row_size, a->x + t * cols, cols, cols, Y + t * ldy, ldy); break;
    case 4: f16_block (NR, 4, W, row_size, a->x + t * cols, cols, cols, Y + t * ldy, ldy); break;
    case 3: f16_block (NR, 3, W, row_size, a->x + t * cols, cols, cols, Y + t * ldy, ldy); break;
    case 2: f16_block (NR, 2, W, row_size, a->x + t * cols, cols, cols, Y + t * ldy, ldy); break;
    case 1: f16_block (NR, 1, W, row_size, a->x + t * cols, cols, cols, Y + t * ldy, ldy); break;
    default: break;
    }
}

static void
f16_tile (const uint8_t *W, size_t row_size, int nrows, const llm_gemm_acts *a, float *Y, int64_t ldy)
{
  int r = 0;

  for (; r + 4 <= nrows; r += 4)
    f16_rows (4, (const uint16_t *) (W + (size_t) r * row_size), row_size, a, Y + r, ldy);
  for (; r < nrows; r++)
    f16_rows (1, (const uint16_t *) (W + (size_t) r * row_size), row_size, a, Y + r, ldy);
}

void
llm_gemm_avx512_tile (llm_type type, const void *W, size_t row_size, int nrows,
                      const llm_gemm_acts *a, float *Y, int64_t ldy, void *scratch)
{
  if (type == LLM_TYPE_F16)
    {
      f16_tile (W, row_size, nrows, a, Y, ldy);
      return;
    }

  const __mmask16 m = (__mmask16) (nrows >= 16 ? 0xFFFF : (1u << nrows) - 1);
  uint8_t *pack = scratch;

  float *wd = (float *) (pack + align64 ((size_t) a->nb * pack_block_bytes (type)));

  pack_tile (type, W, row_size, m, a->nb, pack, wd);
  if (type == LLM_TYPE_Q4_0)
    tile_all (true, a->nb, pack, wd, a, Y, ldy, m);
  else
    tile_all (false, a->nb, pack, wd, a, Y, ldy, m);
}
