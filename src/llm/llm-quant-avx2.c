/* SPDX-License-Identifier: GPL-3.0-or-later */
/* AVX2 + FMA + F16C dot products. This file is compiled with -mavx2 -mfma
 * -mf16c and only called after llm_cpu_has_avx2() said yes. The integer sum
 * of each block is exactly the scalar path's; only the float accumulation
 * order differs. */
#include "llm-quant.h"

#include <immintrin.h>

/* Memory-bound kernels prefetch this far ahead in their row (measured on
 * Q8_0 from RAM: +25% over the hardware prefetcher alone). */
#define LLM_PREFETCH_BYTES 2048

#include <string.h>

static inline float
hsum_ps (__m256 x)
{
  __m128 r = _mm_add_ps (_mm256_castps256_ps128 (x), _mm256_extractf128_ps (x, 1));
  r = _mm_add_ps (r, _mm_movehl_ps (r, r));
  r = _mm_add_ss (r, _mm_movehdup_ps (r));
  return _mm_cvtss_f32 (r);
}

static inline float
hsum_ps128 (__m128 r)
{
  r = _mm_add_ps (r, _mm_movehl_ps (r, r));
  r = _mm_add_ss (r, _mm_movehdup_ps (r));
  return _mm_cvtss_f32 (r);
}

static inline __m256i
combine (__m128i lo, __m128i hi)
{
  return _mm256_inserti128_si256 (_mm256_castsi128_si256 (lo), hi, 1);
}

/* 16 bytes of nibbles -> 32 bytes: low nibbles first, then high nibbles. */
static inline __m256i
unpack_nibbles (const uint8_t *p)
{
  const __m128i t = _mm_loadu_si128 ((const __m128i *) p);
  return _mm256_and_si256 (combine (t, _mm_srli_epi16 (t, 4)), _mm256_set1_epi8 (0x0F));
}

/* 32 bits -> 32 bytes, 0xFF where the bit is set. */
static inline __m256i
expand_bits (const uint8_t *p)
{
  uint32_t x;
  memcpy (&x, p, 4);
  const __m256i shuf = _mm256_set_epi64x (0x0303030303030303, 0x0202020202020202,
                                          0x0101010101010101, 0x0000000000000000);
  const __m256i bits = _mm256_set1_epi64x ((long long) 0x8040201008040201ULL);
  const __m256i v = _mm256_shuffle_epi8 (_mm256_set1_epi32 ((int) x), shuf);
  return _mm256_cmpeq_epi8 (_mm256_and_si256 (v, bits), bits);
}

/* Signed bytes x·y summed in pairs of four into 8 int32. */
static inline __m256i
dot_i8 (__m256i x, __m256i y)
{
  const __m256i ax = _mm256_sign_epi8 (x, x);
  const __m256i sy = _mm256_sign_epi8 (y, x);
  return _mm256_madd_epi16 (_mm256_maddubs_epi16 (ax, sy), _mm256_set1_epi16 (1));
}

/* Unsigned x (< 128) times signed y. */
static inline __m256i
dot_u8_i8 (__m256i x, __m256i y)
{
  return _mm256_madd_epi16 (_mm256_maddubs_epi16 (x, y), _mm256_set1_epi16 (1));
}

static inline float
h2f (uint16_t h)
{
  return llm_fp16_table[h];
}

/* d_x·d_y in every lane: two broadcast loads from the half table. */
static inline __m256
scale2 (uint16_t a, uint16_t b)
{
  return _mm256_mul_ps (_mm256_broadcast_ss (&llm_fp16_table[a]), _mm256_broadcast_ss (&llm_fp16_table[b]));
}

static float
dot_q4_0 (int64_t nb, const llm_block_q4_0 *x, const llm_block_q8_0 *y)
{
  __m256 acc0 = _mm256_setzero_ps (), acc1 = _mm256_setzero_ps ();
  const __m256i off = _mm256_set1_epi8 (8);
  int64_t i = 0;

  for (; i + 1 < nb; i += 2)
    {
      const __m256i q0 = _mm256_sub_epi8 (unpack_nibbles (x[i].qs), off);
      const __m256i q1 = _mm256_sub_epi8 (unpack_nibbles (x[i + 1].qs), off);
      const __m256i p0 = dot_i8 (q0, _mm256_loadu_si256 ((const __m256i *) y[i].qs));
      const __m256i p1 = dot_i8 (q1, _mm256_loadu_si256 ((const __m256i *) y[i + 1].qs));
      acc0 = _mm256_fmadd_ps (scale2 (x[i].d, y[i].d), _mm256_cvtepi32_ps (p0), acc0);
      acc1 = _mm256_fmadd_ps (scale2 (x[i + 1].d, y[i + 1].d), _mm256_cvtepi32_ps (p1), acc1);
    }
  for (; i < nb; i++)
    {
      const __m256i q0 = _mm256_sub_epi8 (unpack_nibbles (x[i].qs), off);
      const __m256i p0 = dot_i8 (q0, _mm256_loadu_si256 ((const __m256i *) y[i].qs));
      acc0 = _mm256_fmadd_ps (scale2 (x[i].d, y[i].d), _mm256_cvtepi32_ps (p0), acc0);
    }
  return hsum_ps (_mm256_add_ps (acc0, acc1));
}

static float
dot_q4_1 (int64_t nb, const llm_block_q4_1 *x, const llm_block_q8_1 *y)
{
  __m256 acc = _mm256_setzero_ps ();
  float summs = 0;

  for (int64_t i = 0; i < nb; i++)
    {
      const __m256i q = unpack_nibbles (x[i].qs);
      const __m256i p = dot_u8_i8 (q, _mm256_loadu_si256 ((const __m256i *) y[i].qs));
      acc = _mm256_fmadd_ps (scale2 (x[i].d, y[i].d), _mm256_cvtepi32_ps (p), acc);
      summs += h2f (x[i].m) * h2f (y[i].s);
    }
  return hsum_ps (acc) + summs;
}

static float
dot_q5_0 (int64_t nb, const llm_block_q5_0 *x, const llm_block_q8_0 *y)
{
  __m256 acc = _mm256_setzero_ps ();

  for (int64_t i = 0; i < nb; i++)
    {
      __m256i q = unpack_nibbles (x[i].qs);
      /* Where the fifth bit is clear the value is q - 16: set the top nibble. */
      const __m256i hi = _mm256_andnot_si256 (expand_bits (x[i].qh), _mm256_set1_epi8 ((char) 0xF0));
      q = _mm256_or_si256 (q, hi);
      const __m256i p = dot_i8 (q, _mm256_loadu_si256 ((const __m256i *) y[i].qs));
      acc = _mm256_fmadd_ps (scale2 (x[i].d, y[i].d), _mm256_cvtepi32_ps (p), acc);
    }
  return hsum_ps (acc);
}

static float
dot_q5_1 (int64_t nb, const llm_block_q5_1 *x, const llm_block_q8_1 *y)
{
  __m256 acc = _mm256_setzero_ps ();
  float summs = 0;

  for (int64_t i = 0; i < nb; i++)
    {
      __m256i q = unpack_nibbles (x[i].qs);
      q = _mm256_or_si256 (q, _mm256_and_si256 (expand_bits (x[i].qh), _mm256_set1_epi8 (0x10)));
      const __m256i p = dot_u8_i8 (q, _mm256_loadu_si256 ((const __m256i *) y[i].qs));
      acc = _mm256_fmadd_ps (scale2 (x[i].d, y[i].d), _mm256_cvtepi32_ps (p), acc);
      summs += h2f (x[i].m) * h2f (y[i].s);
    }
  return hsum_ps (acc) + summs;
}

static float
dot_q8_0 (int64_t nb, const llm_block_q8_0 *x, const llm_block_q8_0 *y)
{
  __m256 acc0 = _mm256_setzero_ps (), acc1 = _mm256_setzero_ps ();
  int64_t i = 0;

  for (; i + 1 < nb; i += 2)
    {
      _mm_prefetch ((const char *) (x + i) + LLM_PREFETCH_BYTES, _MM_HINT_T0);
      const __m256i p0 = dot_i8 (_mm256_loadu_si256 ((const __m256i *) x[i].qs),
                                 _mm256_loadu_si256 ((const __m256i *) y[i].qs));
      const __m256i p1 = dot_i8 (_mm256_loadu_si256 ((const __m256i *) x[i + 1].qs),
                                 _mm256_loadu_si256 ((const __m256i *) y[i + 1].qs));
      acc0 = _mm256_fmadd_ps (scale2 (x[i].d, y[i].d), _mm256_cvtepi32_ps (p0), acc0);
      acc1 = _mm256_fmadd_ps (scale2 (x[i + 1].d, y[i + 1].d), _mm256_cvtepi32_ps (p1), acc1);
    }
  for (; i < nb; i++)
    {
      const __m256i p0 = dot_i8 (_mm256_loadu_si256 ((const __m256i *) x[i].qs),
                                 _mm256_loadu_si256 ((const __m256i *) y[i].qs));
      acc0 = _mm256_fmadd_ps (scale2 (x[i].d, y[i].d), _mm256_cvtepi32_ps (p0), acc0);
    }
  return hsum_ps (_mm256_add_ps (acc0, acc1));
}

static float
dot_q8_1 (int64_t nb, const llm_block_q8_1 *x, const llm_block_q8_1 *y)
{
  __m256 acc = _mm256_setzero_ps ();
  for (int64_t i = 0; i < nb; i++)
    {
      const __m256i p = dot_i8 (_mm256_loadu_si256 ((const __m256i *) x[i].qs),
                                _mm256_loadu_si256 ((const __m256i *) y[i].qs));
      acc = _mm256_fmadd_ps (scale2 (x[i].d, y[i].d), _mm256_cvtepi32_ps (p), acc);
    }
  return hsum_ps (acc);
}

/* The 8 scales and 8 mins of a Q4_K/Q5_K block as 16 int16: scales first. */
static inline __m256i
k_scales_mins (const uint8_t *scales)
{
  uint32_t u[4];
  const uint32_t m6 = 0x3f3f3f3f, m4 = 0x0f0f0f0f, m2 = 0x03030303;
  memcpy (u, scales, 12);
  /* bytes 0-3: scales 0-3 (low 6 bits); 4-7: mins 0-3; 8-11: low nibbles of
   * scales 4-7 and mins 4-7, whose top two bits are the top bits of 0-7. */
  u[3] = ((u[2] >> 4) & m4) | (((u[1] >> 6) & m2) << 4);   /* mins 4-7 */
  const uint32_t mins03 = u[1] & m6;
  u[1] = (u[2] & m4) | (((u[0] >> 6) & m2) << 4);          /* scales 4-7 */
  u[2] = mins03;
  u[0] &= m6;
  return _mm256_cvtepu8_epi16 (_mm_set_epi32 ((int) u[3], (int) u[2], (int) u[1], (int) u[0]));
}

static float
dot_q4_K (int64_t nb, const llm_block_q4_K *x, const llm_block_q8_K *y)
{
  const __m256i m4 = _mm256_set1_epi8 (0xF);
  __m256 acc = _mm256_setzero_ps ();
  __m128 acc_m = _mm_setzero_ps ();

  for (int64_t i = 0; i < nb; i++)
    {
      const float d = y[i].d * h2f (x[i].d);
      const float dmin = -y[i].d * h2f (x[i].dmin);
      const __m256i sm = k_scales_mins (x[i].scales);
      const __m256i bsums = _mm256_loadu_si256 ((const __m256i *) y[i].bsums);
      const __m128i q8s = _mm_hadd_epi16 (_mm256_castsi256_si128 (bsums), _mm256_extracti128_si256 (bsums, 1));
      const __m128i prod = _mm_madd_epi16 (_mm256_extracti128_si256 (sm, 1), q8s);
      acc_m = _mm_fmadd_ps (_mm_set1_ps (dmin), _mm_cvtepi32_ps (prod), acc_m);

      const __m128i sc128 = _mm256_castsi256_si128 (sm);
      const __m256i scales = combine (sc128, sc128);
      const uint8_t *q4 = x[i].qs;
      const int8_t *q8 = y[i].qs;
      __m256i sumi = _mm256_setzero_si256 ();
      #pragma GCC unroll 8
      for (int j = 0; j < 4; j++, q4 += 32, q8 += 64)
        {
          const __m256i sl = _mm256_shuffle_epi8 (scales, _mm256_set1_epi16 ((short) (((4 * j + 1) << 8) | (4 * j))));
          const __m256i sh = _mm256_shuffle_epi8 (scales, _mm256_set1_epi16 ((short) (((4 * j + 3) << 8) | (4 * j + 2))));
          const __m256i bits = _mm256_loadu_si256 ((const __m256i *) q4);
          const __m256i ql = _mm256_and_si256 (bits, m4);
          const __m256i qh = _mm256_and_si256 (_mm256_srli_epi16 (bits, 4), m4);
          __m256i pl = _mm256_maddubs_epi16 (ql, _mm256_loadu_si256 ((const __m256i *) q8));
          __m256i ph = _mm256_maddubs_epi16 (qh, _mm256_loadu_si256 ((const __m256i *) (q8 + 32)));
          pl = _mm256_madd_epi16 (sl, pl);
          ph = _mm256_madd_epi16 (sh, ph);
          sumi = _mm256_add_epi32 (sumi, _mm256_add_epi32 (pl, ph));
        }
      acc = _mm256_fmadd_ps (_mm256_set1_ps (d), _mm256_cvtepi32_ps (sumi), acc);
    }
  return hsum_ps (acc) + hsum_ps128 (acc_m);
}

static float
dot_q5_K (int64_t nb, const llm_block_q5_K *x, const llm_block_q8_K *y)
{
  const __m256i m4 = _mm256_set1_epi8 (0xF);
  const __m256i m16 = _mm256_set1_epi8 (16);
  __m256 acc = _mm256_setzero_ps ();
  __m128 acc_m = _mm_setzero_ps ();

  for (int64_t i = 0; i < nb; i++)
    {
      const float d = y[i].d * h2f (x[i].d);
      const float dmin = -y[i].d * h2f (x[i].dmin);
      const __m256i sm = k_scales_mins (x[i].scales);
      const __m256i bsums = _mm256_loadu_si256 ((const __m256i *) y[i].bsums);
      const __m128i q8s = _mm_hadd_epi16 (_mm256_castsi256_si128 (bsums), _mm256_extracti128_si256 (bsums, 1));
      const __m128i prod = _mm_madd_epi16 (_mm256_extracti128_si256 (sm, 1), q8s);
      acc_m = _mm_fmadd_ps (_mm_set1_ps (dmin), _mm_cvtepi32_ps (prod), acc_m);

      const __m128i sc128 = _mm256_castsi256_si128 (sm);
      const __m256i scales = combine (sc128, sc128);
      const __m256i hbits = _mm256_loadu_si256 ((const __m256i *) x[i].qh);
      const uint8_t *q5 = x[i].qs;
      const int8_t *q8 = y[i].qs;
      __m256i sumi = _mm256_setzero_si256 ();
      #pragma GCC unroll 8
      for (int j = 0; j < 4; j++, q5 += 32, q8 += 64)
        {
          const __m256i sl = _mm256_shuffle_epi8 (scales, _mm256_set1_epi16 ((short) (((4 * j + 1) << 8) | (4 * j))));
          const __m256i sh = _mm256_shuffle_epi8 (scales, _mm256_set1_epi16 ((short) (((4 * j + 3) << 8) | (4 * j + 2))));
          const __m256i bits = _mm256_loadu_si256 ((const __m256i *) q5);
          /* Bit 2j of qh is the fifth bit of the low half, 2j+1 of the high. */
          const __m256i hl = _mm256_and_si256 (_mm256_slli_epi16 (_mm256_srli_epi16 (hbits, 2 * j), 4), m16);
          const __m256i hh = _mm256_and_si256 (_mm256_slli_epi16 (_mm256_srli_epi16 (hbits, 2 * j + 1), 4), m16);
          const __m256i ql = _mm256_or_si256 (_mm256_and_si256 (bits, m4), hl);
          const __m256i qh = _mm256_or_si256 (_mm256_and_si256 (_mm256_srli_epi16 (bits, 4), m4), hh);
          __m256i pl = _mm256_maddubs_epi16 (ql, _mm256_loadu_si256 ((const __m256i *) q8));
          __m256i ph = _mm256_maddubs_epi16 (qh, _mm256_loadu_si256 ((const __m256i *) (q8 + 32)));
          pl = _mm256_madd_epi16 (sl, pl);
          ph = _mm256_madd_epi16 (sh, ph);
          sumi = _mm256_add_epi32 (sumi, _mm256_add_epi32 (pl, ph));
        }
      acc = _mm256_fmadd_ps (_mm256_set1_ps (d), _mm256_cvtepi32_ps (sumi), acc);
    }
  return hsum_ps (acc) + hsum_ps128 (acc_m);
}

static float
dot_q6_K (int64_t nb, const llm_block_q6_K *x, const llm_block_q8_K *y)
{
  const __m256i m4 = _mm256_set1_epi8 (0xF);
  const __m256i m3 = _mm256_set1_epi8 (3);
  __m256 acc = _mm256_setzero_ps ();

  for (int64_t i = 0; i < nb; i++)
    {
      const float d = y[i].d * h2f (x[i].d);
      const __m128i sc8 = _mm_loadu_si128 ((const __m128i *) x[i].scales);
      const __m256i sc16 = _mm256_cvtepi8_epi16 (sc8);
      /* The -32 offset, applied once: 32 · Σ scale_g · bsum_g. */
      const __m256i corr = _mm256_slli_epi32 (
          _mm256_madd_epi16 (sc16, _mm256_loadu_si256 ((const __m256i *) y[i].bsums)), 5);
      const uint8_t *ql = x[i].ql, *qh = x[i].qh;
      const int8_t *q8 = y[i].qs;
      __m256i sumi = _mm256_setzero_si256 ();

      #pragma GCC unroll 8
      for (int j = 0; j < 2; j++, ql += 64, qh += 32)
        {
          const __m256i b1 = _mm256_loadu_si256 ((const __m256i *) ql);
          const __m256i b2 = _mm256_loadu_si256 ((const __m256i *) (ql + 32));
          const __m256i bh = _mm256_loadu_si256 ((const __m256i *) qh);
          __m256i q[4];
          q[0] = _mm256_or_si256 (_mm256_and_si256 (b1, m4), _mm256_slli_epi16 (_mm256_and_si256 (bh, m3), 4));
          q[1] = _mm256_or_si256 (_mm256_and_si256 (b2, m4),
                                  _mm256_slli_epi16 (_mm256_and_si256 (_mm256_srli_epi16 (bh, 2), m3), 4));
          q[2] = _mm256_or_si256 (_mm256_and_si256 (_mm256_srli_epi16 (b1, 4), m4),
                                  _mm256_slli_epi16 (_mm256_and_si256 (_mm256_srli_epi16 (bh, 4), m3), 4));
          q[3] = _mm256_or_si256 (_mm256_and_si256 (_mm256_srli_epi16 (b2, 4), m4),
                                  _mm256_slli_epi16 (_mm256_and_si256 (_mm256_srli_epi16 (bh, 6), m3), 4));
          #pragma GCC unroll 8
          for (int k = 0; k < 4; k++, q8 += 32)
            {
              const char g = (char) (8 * j + 2 * k);   /* scale of the first 16, then g + 1 */
              const __m256i s = _mm256_cvtepi8_epi16 (_mm_shuffle_epi8 (sc8, _mm_setr_epi8 (
                  g, g, g, g, g, g, g, g, g + 1, g + 1, g + 1, g + 1, g + 1, g + 1, g + 1, g + 1)));
              const __m256i p = _mm256_maddubs_epi16 (q[k], _mm256_loadu_si256 ((const __m256i *) q8));
              sumi = _mm256_add_epi32 (sumi, _mm256_madd_epi16 (s, p));
            }
        }
      sumi = _mm256_sub_epi32 (sumi, corr);
      acc = _mm256_fmadd_ps (_mm256_set1_ps (d), _mm256_cvtepi32_ps (sumi), acc);
    }
  return hsum_ps (acc);
}

static float
dot_f16 (int64_t n, const uint16_t *x, const uint16_t *y)
{
  __m256 acc[4] = { _mm256_setzero_ps (), _mm256_setzero_ps (), _mm256_setzero_ps (), _mm256_setzero_ps () };
  int64_t i = 0;
  float sum;

  for (; i + 32 <= n; i += 32)
    #pragma GCC unroll 8
    for (int k = 0; k < 4; k++)
      {
        if (k == 0)
          _mm_prefetch ((const char *) (x + i) + LLM_PREFETCH_BYTES, _MM_HINT_T0);
        const __m256 a = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (x + i + 8 * k)));
        const __m256 b = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (y + i + 8 * k)));
        acc[k] = _mm256_fmadd_ps (a, b, acc[k]);
      }
  for (; i + 8 <= n; i += 8)
    {
      const __m256 a = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (x + i)));
      const __m256 b = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (y + i)));
      acc[0] = _mm256_fmadd_ps (a, b, acc[0]);
    }
  sum = hsum_ps (_mm256_add_ps (_mm256_add_ps (acc[0], acc[1]), _mm256_add_ps (acc[2], acc[3])));
  for (; i < n; i++)
    sum += h2f (x[i]) * h2f (y[i]);
  return sum;
}

static inline __m256
load_bf16 (const uint16_t *p)
{
  const __m256i v = _mm256_cvtepu16_epi32 (_mm_loadu_si128 ((const __m128i *) p));
  return _mm256_castsi256_ps (_mm256_slli_epi32 (v, 16));
}

static float
dot_bf16 (int64_t n, const uint16_t *x, const uint16_t *y)
{
  __m256 acc0 = _mm256_setzero_ps (), acc1 = _mm256_setzero_ps ();
  int64_t i = 0;
  float sum;

  for (; i + 16 <= n; i += 16)
    {
      acc0 = _mm256_fmadd_ps (load_bf16 (x + i), load_bf16 (y + i), acc0);
      acc1 = _mm256_fmadd_ps (load_bf16 (x + i + 8), load_bf16 (y + i + 8), acc1);
    }
  sum = hsum_ps (_mm256_add_ps (acc0, acc1));
  for (; i < n; i++)
    sum += llm_bf16_to_fp32 (x[i]) * llm_bf16_to_fp32 (y[i]);
  return sum;
}

static float
dot_f32 (int64_t n, const float *x, const float *y)
{
  __m256 acc[4] = { _mm256_setzero_ps (), _mm256_setzero_ps (), _mm256_setzero_ps (), _mm256_setzero_ps () };
  int64_t i = 0;
  float sum;

  for (; i + 32 <= n; i += 32)
    #pragma GCC unroll 8
    for (int k = 0; k < 4; k++)
      acc[k] = _mm256_fmadd_ps (_mm256_loadu_ps (x + i + 8 * k), _mm256_loadu_ps (y + i + 8 * k), acc[k]);
  for (; i + 8 <= n; i += 8)
    acc[0] = _mm256_fmadd_ps (_mm256_loadu_ps (x + i), _mm256_loadu_ps (y + i), acc[0]);
  sum = hsum_ps (_mm256_add_ps (_mm256_add_ps (acc[0], acc[1]), _mm256_add_ps (acc[2], acc[3])));
  for (; i < n; i++)
    sum += x[i] * y[i];
  return sum;
}

bool
llm_vec_dot_avx2 (llm_type type, int64_t n, const void *x, const void *y, float *out)
{
  switch (type)
    {
    case LLM_TYPE_F32:  *out = dot_f32 (n, x, y); return true;
    case LLM_TYPE_F16:  *out = dot_f16 (n, x, y); return true;
    case LLM_TYPE_BF16: *out = dot_bf16 (n, x, y); return true;
    case LLM_TYPE_Q4_0: *out = dot_q4_0 (n / LLM_QK, x, y); return true;
    case LLM_TYPE_Q4_1: *out = dot_q4_1 (n / LLM_QK, x, y); return true;
    case LLM_TYPE_Q5_0: *out = dot_q5_0 (n / LLM_QK, x, y); return true;
    case LLM_TYPE_Q5_1: *out = dot_q5_1 (n / LLM_QK, x, y); return true;
    case LLM_TYPE_Q8_0: *out = dot_q8_0 (n / LLM_QK, x, y); return true;
    case LLM_TYPE_Q8_1: *out = dot_q8_1 (n / LLM_QK, x, y); return true;
    case LLM_TYPE_Q4_K: *out = dot_q4_K (n / LLM_QK_K, x, y); return true;
    case LLM_TYPE_Q5_K: *out = dot_q5_K (n / LLM_QK_K, x, y); return true;
    case LLM_TYPE_Q6_K: *out = dot_q6_K (n / LLM_QK_K, x, y); return true;
    default: return false;
    }
}

/* ---- four rows at a time ----------------------------------------------- */

/* The four rows are a quarter of a chunk apart (llm-matmul.c), four
 * sequential streams; each also prefetches ahead in its own row. */

/* Q4_0: Σ(q-8)·v = Σq·v - 8·Σv, where the second term depends only on the
 * activations and is computed once for the four rows. */
static void
dot4_q4_0 (int64_t nb, const uint8_t *x, size_t stride, const llm_block_q8_0 *y, float out[4])
{
  const __m256i m4 = _mm256_set1_epi8 (0x0F);
  const __m256i eight = _mm256_set1_epi8 (8);
  const __m256i ones = _mm256_set1_epi16 (1);
  const __m256i shift = _mm256_setr_epi64x (0, 0, 4, 4);
  __m256 acc[4] = { _mm256_setzero_ps (), _mm256_setzero_ps (), _mm256_setzero_ps (), _mm256_setzero_ps () };

  for (int64_t i = 0; i < nb; i++)
    {
      const __m256i v = _mm256_loadu_si256 ((const __m256i *) y[i].qs);
      const __m256i corr = _mm256_madd_epi16 (_mm256_maddubs_epi16 (eight, v), ones);
      const __m256 dy = _mm256_broadcast_ss (&llm_fp16_table[y[i].d]);
      #pragma GCC unroll 8
      for (int r = 0; r < 4; r++)
        {
          const llm_block_q4_0 *b = (const llm_block_q4_0 *) (x + r * stride) + i;
          _mm_prefetch ((const char *) b + LLM_PREFETCH_BYTES, _MM_HINT_T0);
          /* the 16 bytes in both halves, the upper half shifted to the high nibbles */
          const __m256i t = _mm256_broadcastsi128_si256 (_mm_loadu_si128 ((const __m128i *) b->qs));
          const __m256i q = _mm256_and_si256 (_mm256_srlv_epi64 (t, shift), m4);
          const __m256i s = _mm256_sub_epi32 (_mm256_madd_epi16 (_mm256_maddubs_epi16 (q, v), ones), corr);
          const __m256 d = _mm256_mul_ps (_mm256_broadcast_ss (&llm_fp16_table[b->d]), dy);
          acc[r] = _mm256_fmadd_ps (d, _mm256_cvtepi32_ps (s), acc[r]);
        }
    }
  #pragma GCC unroll 8
  for (int r = 0; r < 4; r++)
    out[r] = hsum_ps (acc[r]);
}

bool
llm_vec_dot4_avx2 (llm_type type, int64_t n, const void *x, size_t stride, const void *y, float out[4])
{
  switch (type)
    {
    case LLM_TYPE_Q4_0: dot4_q4_0 (n / LLM_QK, x, stride, y, out); return true;
    default: return false;   /* Q8_0: one row at a time streams faster from RAM */
    }
}
