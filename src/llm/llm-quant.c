/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Number formats: type table, half/bfloat conversions, reference
 * quantization (the same rounding as the public GGUF tools, so files match
 * byte for byte where a block is fully determined by its input), dequantization
 * and the portable scalar dot products the SIMD paths are tested against. */
#include "llm-quant.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

_Static_assert (sizeof (llm_block_q4_0) == 18, "q4_0 layout");
_Static_assert (sizeof (llm_block_q4_1) == 20, "q4_1 layout");
_Static_assert (sizeof (llm_block_q5_0) == 22, "q5_0 layout");
_Static_assert (sizeof (llm_block_q5_1) == 24, "q5_1 layout");
_Static_assert (sizeof (llm_block_q8_0) == 34, "q8_0 layout");
_Static_assert (sizeof (llm_block_q8_1) == 36, "q8_1 layout");
_Static_assert (sizeof (llm_block_q4_K) == 144, "q4_K layout");
_Static_assert (sizeof (llm_block_q5_K) == 176, "q5_K layout");
_Static_assert (sizeof (llm_block_q6_K) == 210, "q6_K layout");
_Static_assert (sizeof (llm_block_q8_K) == 292, "q8_K layout");

/* ---- type table -------------------------------------------------------- */

#define T(id, nm, bs, ts, comp, dot) [id] = { nm, bs, ts, comp, dot }
static const llm_type_traits traits[LLM_TYPE_COUNT] = {
  T (LLM_TYPE_F32,     "F32",     1,   4,   true,  LLM_TYPE_F32),
  T (LLM_TYPE_F16,     "F16",     1,   2,   true,  LLM_TYPE_F16),
  T (LLM_TYPE_Q4_0,    "Q4_0",    32,  18,  true,  LLM_TYPE_Q8_0),
  T (LLM_TYPE_Q4_1,    "Q4_1",    32,  20,  true,  LLM_TYPE_Q8_1),
  T (LLM_TYPE_Q5_0,    "Q5_0",    32,  22,  true,  LLM_TYPE_Q8_0),
  T (LLM_TYPE_Q5_1,    "Q5_1",    32,  24,  true,  LLM_TYPE_Q8_1),
  T (LLM_TYPE_Q8_0,    "Q8_0",    32,  34,  true,  LLM_TYPE_Q8_0),
  T (LLM_TYPE_Q8_1,    "Q8_1",    32,  36,  true,  LLM_TYPE_Q8_1),
  T (LLM_TYPE_Q2_K,    "Q2_K",    256, 84,  false, LLM_TYPE_Q8_K),
  T (LLM_TYPE_Q3_K,    "Q3_K",    256, 110, false, LLM_TYPE_Q8_K),
  T (LLM_TYPE_Q4_K,    "Q4_K",    256, 144, true,  LLM_TYPE_Q8_K),
  T (LLM_TYPE_Q5_K,    "Q5_K",    256, 176, true,  LLM_TYPE_Q8_K),
  T (LLM_TYPE_Q6_K,    "Q6_K",    256, 210, true,  LLM_TYPE_Q8_K),
  T (LLM_TYPE_Q8_K,    "Q8_K",    256, 292, true,  LLM_TYPE_Q8_K),
  T (LLM_TYPE_IQ2_XXS, "IQ2_XXS", 256, 66,  false, LLM_TYPE_Q8_K),
  T (LLM_TYPE_IQ2_XS,  "IQ2_XS",  256, 74,  false, LLM_TYPE_Q8_K),
  T (LLM_TYPE_IQ3_XXS, "IQ3_XXS", 256, 98,  false, LLM_TYPE_Q8_K),
  T (LLM_TYPE_IQ1_S,   "IQ1_S",   256, 50,  false, LLM_TYPE_Q8_K),
  T (LLM_TYPE_IQ4_NL,  "IQ4_NL",  32,  18,  false, LLM_TYPE_Q8_0),
  T (LLM_TYPE_IQ3_S,   "IQ3_S",   256, 110, false, LLM_TYPE_Q8_K),
  T (LLM_TYPE_IQ2_S,   "IQ2_S",   256, 82,  false, LLM_TYPE_Q8_K),
  T (LLM_TYPE_IQ4_XS,  "IQ4_XS",  256, 136, false, LLM_TYPE_Q8_K),
  T (LLM_TYPE_I8,      "I8",      1,   1,   false, LLM_TYPE_I8),
  T (LLM_TYPE_I16,     "I16",     1,   2,   false, LLM_TYPE_I16),
  T (LLM_TYPE_I32,     "I32",     1,   4,   false, LLM_TYPE_I32),
  T (LLM_TYPE_I64,     "I64",     1,   8,   false, LLM_TYPE_I64),
  T (LLM_TYPE_F64,     "F64",     1,   8,   false, LLM_TYPE_F64),
  T (LLM_TYPE_IQ1_M,   "IQ1_M",   256, 56,  false, LLM_TYPE_Q8_K),
  T (LLM_TYPE_BF16,    "BF16",    1,   2,   true,  LLM_TYPE_BF16),
  T (LLM_TYPE_TQ1_0,   "TQ1_0",   256, 54,  false, LLM_TYPE_Q8_K),
  T (LLM_TYPE_TQ2_0,   "TQ2_0",   256, 66,  false, LLM_TYPE_Q8_K),
};
#undef T

const llm_type_traits *
llm_type_get_traits (uint32_t type)
{
  if (type >= LLM_TYPE_COUNT || traits[type].name == NULL)
    return NULL;
  return &traits[type];
}

const char *
llm_type_name (uint32_t type)
{
  const llm_type_traits *t = llm_type_get_traits (type);
  return t ? t->name : "?";
}

int
llm_type_from_name (const char *name)
{
  for (int i = 0; i < LLM_TYPE_COUNT; i++)
    if (traits[i].name != NULL && strcasecmp (traits[i].name, name) == 0)
      return i;
  return -1;
}

size_t
llm_row_size (llm_type type, int64_t n)
{
  const llm_type_traits *t = llm_type_get_traits (type);
  if (t == NULL || n < 0 || n % t->block_size != 0)
    return 0;
  return (size_t) (n / t->block_size) * t->type_size;
}

/* ---- half and bfloat16 ------------------------------------------------- */

static inline uint32_t f2u (float f) { uint32_t u; memcpy (&u, &f, 4); return u; }
static inline float u2f (uint32_t u) { float f; memcpy (&f, &u, 4); return f; }

/* Bit manipulation as in the FP16 library by Marat Dukhan (public method):
 * exact for all inputs, round to nearest even. */
float
llm_fp16_to_fp32 (uint16_t h)
{
  const uint32_t w = (uint32_t) h << 16;
  const uint32_t sign = w & 0x80000000u;
  const uint32_t two_w = w + w;
  const uint32_t exp_offset = 0xE0u << 23;
  const float normalized = u2f ((two_w >> 4) + exp_offset) * 0x1.0p-112f;
  const float denormalized = u2f ((two_w >> 17) | (126u << 23)) - 0.5f;
  const uint32_t result = sign | (two_w < (1u << 27) ? f2u (denormalized) : f2u (normalized));
  return u2f (result);
}

uint16_t
llm_fp32_to_fp16 (float f)
{
  float base = (fabsf (f) * 0x1.0p+112f) * 0x1.0p-110f;
  const uint32_t w = f2u (f);
  const uint32_t shl1_w = w + w;
  const uint32_t sign = w & 0x80000000u;
  uint32_t bias = shl1_w & 0xFF000000u;
  uint32_t bits, exp_bits, mantissa_bits, nonsign;

  if (bias < 0x71000000u)
    bias = 0x71000000u;
  base = u2f ((bias >> 1) + 0x07800000u) + base;
  bits = f2u (base);
  exp_bits = (bits >> 13) & 0x00007C00u;
  mantissa_bits = bits & 0x00000FFFu;
  nonsign = exp_bits + mantissa_bits;
  return (uint16_t) ((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

float
llm_bf16_to_fp32 (uint16_t h)
{
  return u2f ((uint32_t) h << 16);
}

uint16_t
llm_fp32_to_bf16 (float f)
{
  uint32_t u = f2u (f);
  if ((u & 0x7fffffffu) > 0x7f800000u)    /* NaN: keep it quiet */
    return (uint16_t) ((u >> 16) | 64);
  return (uint16_t) ((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

#define H2F(h) llm_fp16_to_fp32 (h)
#define F2H(f) llm_fp32_to_fp16 (f)

/* Round half to even via the float mantissa, as the reference K-quant code. */
static inline int
nearest_int (float fval)
{
  float val = fval + 12582912.f;
  int i;
  memcpy (&i, &val, sizeof i);
  return (i & 0x007fffff) - 0x00400000;
}

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define GROUP_MAX_EPS 1e-15f

/* ---- reference quantization -------------------------------------------- */

static void
quantize_q4_0 (const float *x, llm_block_q4_0 *y, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, x += LLM_QK)
    {
      float amax = 0.0f, max = 0.0f;
      for (int j = 0; j < LLM_QK; j++)
        if (amax < fabsf (x[j]))
          {
            amax = fabsf (x[j]);
            max = x[j];
          }
      const float d = max / -8;
      const float id = d ? 1.0f / d : 0.0f;
      y[i].d = F2H (d);
      for (int j = 0; j < LLM_QK / 2; j++)
        {
          const uint8_t q0 = (uint8_t) MIN (15, (int8_t) (x[j] * id + 8.5f));
          const uint8_t q1 = (uint8_t) MIN (15, (int8_t) (x[LLM_QK / 2 + j] * id + 8.5f));
          y[i].qs[j] = q0 | (uint8_t) (q1 << 4);
        }
    }
}

static void
quantize_q4_1 (const float *x, llm_block_q4_1 *y, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, x += LLM_QK)
    {
      float min = INFINITY, max = -INFINITY;
      for (int j = 0; j < LLM_QK; j++)
        {
          min = MIN (min, x[j]);
          max = MAX (max, x[j]);
        }
      const float d = (max - min) / 15;
      const float id = d ? 1.0f / d : 0.0f;
      y[i].d = F2H (d);
      y[i].m = F2H (min);
      for (int j = 0; j < LLM_QK / 2; j++)
        {
          const uint8_t q0 = (uint8_t) MIN (15, (int8_t) ((x[j] - min) * id + 0.5f));
          const uint8_t q1 = (uint8_t) MIN (15, (int8_t) ((x[LLM_QK / 2 + j] - min) * id + 0.5f));
          y[i].qs[j] = q0 | (uint8_t) (q1 << 4);
        }
    }
}

static void
quantize_q5_0 (const float *x, llm_block_q5_0 *y, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, x += LLM_QK)
    {
      float amax = 0.0f, max = 0.0f;
      uint32_t qh = 0;
      for (int j = 0; j < LLM_QK; j++)
        if (amax < fabsf (x[j]))
          {
            amax = fabsf (x[j]);
            max = x[j];
          }
      const float d = max / -16;
      const float id = d ? 1.0f / d : 0.0f;
      y[i].d = F2H (d);
      for (int j = 0; j < LLM_QK / 2; j++)
        {
          const uint8_t q0 = (uint8_t) MIN (31, (int8_t) (x[j] * id + 16.5f));
          const uint8_t q1 = (uint8_t) MIN (31, (int8_t) (x[LLM_QK / 2 + j] * id + 16.5f));
          y[i].qs[j] = (q0 & 0x0F) | (uint8_t) ((q1 & 0x0F) << 4);
          qh |= ((q0 & 0x10u) >> 4) << j;
          qh |= ((q1 & 0x10u) >> 4) << (j + LLM_QK / 2);
        }
      memcpy (y[i].qh, &qh, 4);
    }
}

static void
quantize_q5_1 (const float *x, llm_block_q5_1 *y, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, x += LLM_QK)
    {
      float min = INFINITY, max = -INFINITY;
      uint32_t qh = 0;
      for (int j = 0; j < LLM_QK; j++)
        {
          min = MIN (min, x[j]);
          max = MAX (max, x[j]);
        }
      const float d = (max - min) / 31;
      const float id = d ? 1.0f / d : 0.0f;
      y[i].d = F2H (d);
      y[i].m = F2H (min);
      for (int j = 0; j < LLM_QK / 2; j++)
        {
          const uint8_t q0 = (uint8_t) ((x[j] - min) * id + 0.5f);
          const uint8_t q1 = (uint8_t) ((x[LLM_QK / 2 + j] - min) * id + 0.5f);
          y[i].qs[j] = (q0 & 0x0F) | (uint8_t) ((q1 & 0x0F) << 4);
          qh |= ((q0 & 0x10u) >> 4) << j;
          qh |= ((q1 & 0x10u) >> 4) << (j + LLM_QK / 2);
        }
      memcpy (y[i].qh, &qh, 4);
    }
}

static void
quantize_q8_0 (const float *x, llm_block_q8_0 *y, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, x += LLM_QK)
    {
      float amax = 0.0f;
      for (int j = 0; j < LLM_QK; j++)
        amax = MAX (amax, fabsf (x[j]));
      const float d = amax / 127;
      const float id = d ? 1.0f / d : 0.0f;
      y[i].d = F2H (d);
      for (int j = 0; j < LLM_QK; j++)
        y[i].qs[j] = (int8_t) roundf (x[j] * id);
    }
}

static void
quantize_q8_1 (const float *x, llm_block_q8_1 *y, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, x += LLM_QK)
    {
      float amax = 0.0f;
      int sum = 0;
      for (int j = 0; j < LLM_QK; j++)
        amax = MAX (amax, fabsf (x[j]));
      const float d = amax / 127;
      const float id = d ? 1.0f / d : 0.0f;
      y[i].d = F2H (d);
      for (int j = 0; j < LLM_QK; j++)
        {
          y[i].qs[j] = (int8_t) roundf (x[j] * id);
          sum += y[i].qs[j];
        }
      y[i].s = F2H (sum * d);
    }
}

static void
quantize_q8_K (const float *x, llm_block_q8_K *y, int64_t nb)
{
  for (int64_t i = 0; i < nb; i++, x += LLM_QK_K)
    {
      float max = 0, amax = 0;
      for (int j = 0; j < LLM_QK_K; j++)
        if (fabsf (x[j]) > amax)
          {
            amax = fabsf (x[j]);
            max = x[j];
          }
      if (!amax)
        {
          y[i].d = 0;
          memset (y[i].qs, 0, sizeof y[i].qs);
          memset (y[i].bsums, 0, sizeof y[i].bsums);
          continue;
        }
      const float iscale = -127.f / max;
      for (int j = 0; j < LLM_QK_K; j++)
        y[i].qs[j] = (int8_t) MIN (127, nearest_int (iscale * x[j]));
      for (int j = 0; j < LLM_QK_K / 16; j++)
        {
          int sum = 0;
          for (int k = 0; k < 16; k++)
            sum += y[i].qs[j * 16 + k];
          y[i].bsums[j] = (int16_t) sum;
        }
      y[i].d = 1 / iscale;
    }
}

/* Scale and min for a group, fitted by weighted least squares over a few
 * candidate scales (the K-quant reference method). */
static float
make_qkx2_quants (int n, int nmax, const float *x, const float *weights, uint8_t *L,
                  float *the_min, uint8_t *Laux, float rmin, float rdelta, int nstep)
{
  float min = x[0], max = x[0];
  float sum_w = weights[0], sum_x = sum_w * x[0];
  for (int i = 1; i < n; i++)
    {
      min = MIN (min, x[i]);
      max = MAX (max, x[i]);
      sum_w += weights[i];
      sum_x += weights[i] * x[i];
    }
  if (min > 0)
    min = 0;
  if (max == min)
    {
      memset (L, 0, (size_t) n);
      *the_min = -min;
      return 0.f;
    }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; i++)
    {
      int l = nearest_int (iscale * (x[i] - min));
      L[i] = (uint8_t) MAX (0, MIN (nmax, l));
      float diff = scale * L[i] + min - x[i];
      best_error += weights[i] * diff * diff;
    }
  if (nstep < 1)
    {
      *the_min = -min;
      return scale;
    }
  for (int is = 0; is <= nstep; is++)
    {
      iscale = (rmin + rdelta * is + nmax) / (max - min);
      float sum_l = 0, sum_l2 = 0, sum_xl = 0;
      for (int i = 0; i < n; i++)
        {
          int l = nearest_int (iscale * (x[i] - min));
          l = MAX (0, MIN (nmax, l));
          Laux[i] = (uint8_t) l;
          float w = weights[i];
          sum_l += w * l;
          sum_l2 += w * l * l;
          sum_xl += w * l * x[i];
        }
      float D = sum_w * sum_l2 - sum_l * sum_l;
      if (D > 0)
        {
          float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
          float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
          if (this_min > 0)
            {
              this_min = 0;
              this_scale = sum_xl / sum_l2;
            }
          float cur_error = 0;
          for (int i = 0; i < n; i++)
            {
              float diff = this_scale * Laux[i] + this_min - x[i];
              cur_error += weights[i] * diff * diff;
            }
          if (cur_error < best_error)
            {
              memcpy (L, Laux, (size_t) n);
              best_error = cur_error;
              scale = this_scale;
              min = this_min;
            }
        }
    }
  *the_min = -min;
  return scale;
}

/* Symmetric scale for a group of 16 (Q6_K), weighted by x². */
static float
make_qx_quants (int n, int nmax, const float *x, int8_t *L)
{
  float max = 0, amax = 0;
  for (int i = 0; i < n; i++)
    {
      float ax = fabsf (x[i]);
      if (ax > amax)
        {
          amax = ax;
          max = x[i];
        }
    }
  if (amax < GROUP_MAX_EPS)
    {
      memset (L, 0, (size_t) n);
      return 0.f;
    }
  float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; i++)
    {
      int l = nearest_int (iscale * x[i]);
      l = MAX (-nmax, MIN (nmax - 1, l));
      L[i] = (int8_t) (l + nmax);
      float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; is++)
    {
      if (is == 0)
        continue;
      iscale = -(nmax + 0.1f * is) / max;
      sumlx = suml2 = 0;
      for (int i = 0; i < n; i++)
        {
          int l = nearest_int (iscale * x[i]);
          l = MAX (-nmax, MIN (nmax - 1, l));
          float w = x[i] * x[i];
          sumlx += w * x[i] * l;
          suml2 += w * l * l;
        }
      if (suml2 > 0 && sumlx * sumlx > best * suml2)
        {
          for (int i = 0; i < n; i++)
            {
              int l = nearest_int (iscale * x[i]);
              L[i] = (int8_t) (nmax + MAX (-nmax, MIN (nmax - 1, l)));
            }
          scale = sumlx / suml2;
          best = scale * sumlx;
        }
    }
  return scale;
}

static inline void
get_scale_min_k4 (int j, const uint8_t *q, uint8_t *d, uint8_t *m)
{
  if (j < 4)
    {
      *d = q[j] & 63;
      *m = q[j + 4] & 63;
    }
  else
    {
      *d = (uint8_t) ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
      *m = (uint8_t) ((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Weighted squared error of a group of n on the grid x ≈ d·l − m, l in
 * 0..nmax, with each l the nearest level (optimal for a fixed grid). */
static float
fit_affine (const float *x, const float *w, int n, int nmax, float d, float m, uint8_t *L)
{
  float err = 0, id = d != 0 ? 1.f / d : 0.f;
  for (int i = 0; i < n; i++)
    {
      int l = d != 0 ? nearest_int ((x[i] + m) * id) : 0;
      l = MAX (0, MIN (nmax, l));
      L[i] = (uint8_t) l;
      float diff = d * l - m - x[i];
      err += w[i] * diff * diff;
    }
  return err;
}

/* Q4_K / Q5_K super-block: 8 groups of 32, x ≈ d·sc·l − dmin·m with 6-bit
 * sc and m. The groups' float scales and mins come from the weighted
 * least-squares search above; then, instead of rounding them once, each
 * group tries the 6-bit codes next to them and keeps the pair with the
 * least weighted error, and d and dmin are refitted by least squares over
 * the whole super-block, a few rounds, keeping the best. */
static void
quantize_k_superblock (const float *x, int nmax, float rmin, int nstep,
                       uint8_t *scales_out, uint16_t *d_out, uint16_t *dmin_out, uint8_t *L)
{
  uint8_t Laux[32], Lbest[LLM_QK_K], sc[8], mn[8], bsc[8], bmn[8];
  float w[LLM_QK_K], mins[8], scales[8];
  float max_scale = 0, max_min = 0;

  for (int j = 0; j < 8; j++)
    {
      const float *xj = x + 32 * j;
      float sum_x2 = 0;
      for (int l = 0; l < 32; l++)
        sum_x2 += xj[l] * xj[l];
      float av_x = sqrtf (sum_x2 / 32);
      for (int l = 0; l < 32; l++)
        w[32 * j + l] = av_x + fabsf (xj[l]);
      scales[j] = make_qkx2_quants (32, nmax, xj, w + 32 * j, L + 32 * j, &mins[j], Laux,
                                    rmin, 0.1f, nstep);
      max_scale = MAX (max_scale, scales[j]);
      max_min = MAX (max_min, mins[j]);
    }
  float d = max_scale / 63.f, dmin = max_min / 63.f;
  float best = INFINITY;
  uint16_t bd = 0, bdmin = 0;

  for (int round = 0; round < 4; round++)
    {
      uint16_t hd = F2H (d), hdmin = F2H (dmin);
      float df = H2F (hd), dmf = H2F (hdmin), total = 0;
      for (int j = 0; j < 8; j++)
        {
          int ls0 = df > 0 ? MIN (63, nearest_int (scales[j] / df)) : 0;
          int lm0 = dmf > 0 ? MIN (63, nearest_int (mins[j] / dmf)) : 0;
          float bj = INFINITY;
          for (int ls = MAX (0, ls0 - 1); ls <= MIN (63, ls0 + 1); ls++)
            for (int lm = MAX (0, lm0 - 1); lm <= MIN (63, lm0 + 1); lm++)
              {
                float e = fit_affine (x + 32 * j, w + 32 * j, 32, nmax, df * ls, dmf * lm, Laux);
                if (e < bj)
                  {
                    bj = e;
                    sc[j] = (uint8_t) ls;
                    mn[j] = (uint8_t) lm;
                    memcpy (L + 32 * j, Laux, 32);
                  }
              }
          total += bj;
        }
      if (total < best)
        {
          best = total;
          bd = hd;
          bdmin = hdmin;
          memcpy (bsc, sc, 8);
          memcpy (bmn, mn, 8);
          memcpy (Lbest, L, LLM_QK_K);
        }
      /* x ≈ d·a − dmin·b with a = sc·l, b = m: the 2×2 normal equations */
      double saa = 0, sbb = 0, sab = 0, sxa = 0, sxb = 0;
      for (int j = 0; j < 8; j++)
        for (int l = 0; l < 32; l++)
          {
            int i = 32 * j + l;
            double a = (double) sc[j] * L[i], b = mn[j], wi = w[i];
            saa += wi * a * a;
            sbb += wi * b * b;
            sab += wi * a * b;
            sxa += wi * x[i] * a;
            sxb += wi * x[i] * b;
          }
      double det = saa * sbb - sab * sab;
      if (sbb > 0 && det > 1e-12 * saa * sbb)
        {
          double nd = (sxa * sbb - sab * sxb) / det;
          double ne = (sab * sxa - saa * sxb) / det;
          if (nd <= 0 || ne < 0)
            break;
          d = (float) nd;
          dmin = (float) ne;
        }
      else if (saa > 0)
        {
          d = (float) (sxa / saa);
          if (d <= 0)
            break;
        }
      else
        break;
    }
  *d_out = bd;
  *dmin_out = bdmin;
  memcpy (L, Lbest, LLM_QK_K);
  memset (scales_out, 0, 12);
  for (int j = 0; j < 8; j++)
    {
      uint8_t ls = bsc[j], lm = bmn[j];
      if (j < 4)
        {
          scales_out[j] = ls;
          scales_out[j + 4] = lm;
        }
      else
        {
          scales_out[j + 4] = (uint8_t) ((ls & 0xF) | ((lm & 0xF) << 4));
          scales_out[j - 4] |= (uint8_t) ((ls >> 4) << 6);
          scales_out[j] |= (uint8_t) ((lm >> 4) << 6);
        }
    }
}

static void
quantize_q4_K (const float *x, llm_block_q4_K *y, int64_t nb)
{
  uint8_t L[LLM_QK_K];
  for (int64_t i = 0; i < nb; i++, x += LLM_QK_K)
    {
      quantize_k_superblock (x, 15, -1.f, 20, y[i].scales, &y[i].d, &y[i].dmin, L);
      uint8_t *q = y[i].qs;
      for (int j = 0; j < LLM_QK_K; j += 64, q += 32)
        for (int l = 0; l < 32; l++)
          q[l] = (uint8_t) (L[j + l] | (L[j + l + 32] << 4));
    }
}

static void
quantize_q5_K (const float *x, llm_block_q5_K *y, int64_t nb)
{
  uint8_t L[LLM_QK_K];
  for (int64_t i = 0; i < nb; i++, x += LLM_QK_K)
    {
      quantize_k_superblock (x, 31, -0.5f, 15, y[i].scales, &y[i].d, &y[i].dmin, L);
      uint8_t *qh = y[i].qh, *ql = y[i].qs;
      memset (qh, 0, LLM_QK_K / 8);
      uint8_t m1 = 1, m2 = 2;
      for (int n = 0; n < LLM_QK_K; n += 64, ql += 32)
        {
          for (int j = 0; j < 32; j++)
            {
              int l1 = L[n + j], l2 = L[n + j + 32];
              if (l1 > 15) { l1 -= 16; qh[j] |= m1; }
              if (l2 > 15) { l2 -= 16; qh[j] |= m2; }
              ql[j] = (uint8_t) (l1 | (l2 << 4));
            }
          m1 <<= 2;
          m2 <<= 2;
        }
    }
}

static void
quantize_q6_K (const float *x, llm_block_q6_K *y, int64_t nb)
{
  int8_t L[LLM_QK_K];
  float scales[LLM_QK_K / 16];
  for (int64_t i = 0; i < nb; i++, x += LLM_QK_K)
    {
      float max_scale = 0, max_abs_scale = 0;
      for (int ib = 0; ib < LLM_QK_K / 16; ib++)
        {
          const float scale = make_qx_quants (16, 32, x + 16 * ib, L + 16 * ib);
          scales[ib] = scale;
          if (fabsf (scale) > max_abs_scale)
            {
              max_abs_scale = fabsf (scale);
              max_scale = scale;
            }
        }
      if (max_abs_scale < GROUP_MAX_EPS)
        {
          memset (&y[i], 0, sizeof y[i]);
          y[i].d = F2H (0.f);
          continue;
        }
      float iscale = -128.f / max_scale;
      y[i].d = F2H (1 / iscale);
      for (int ib = 0; ib < LLM_QK_K / 16; ib++)
        y[i].scales[ib] = (int8_t) MIN (127, nearest_int (iscale * scales[ib]));
      for (int j = 0; j < LLM_QK_K / 16; j++)
        {
          float d = H2F (y[i].d) * y[i].scales[j];
          if (!d)
            continue;
          for (int ii = 0; ii < 16; ii++)
            {
              int l = nearest_int (x[16 * j + ii] / d);
              L[16 * j + ii] = (int8_t) (MAX (-32, MIN (31, l)) + 32);
            }
        }
      uint8_t *ql = y[i].ql, *qh = y[i].qh;
      for (int j = 0; j < LLM_QK_K; j += 128, ql += 64, qh += 32)
        for (int l = 0; l < 32; l++)
          {
            const uint8_t q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF;
            const uint8_t q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
            ql[l] = (uint8_t) (q1 | (q3 << 4));
            ql[l + 32] = (uint8_t) (q2 | (q4 << 4));
            qh[l] = (uint8_t) ((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2)
                               | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
          }
    }
}

bool
llm_quantize_row (llm_type type, const float *x, void *y, int64_t n)
{
  const llm_type_traits *t = llm_type_get_traits (type);
  int64_t nb;

  if (t == NULL || n % t->block_size != 0)
    return false;
  nb = n / t->block_size;
  switch (type)
    {
    case LLM_TYPE_F32:
      memcpy (y, x, (size_t) n * 4);
      return true;
    case LLM_TYPE_F16:
      for (int64_t i = 0; i < n; i++)
        ((uint16_t *) y)[i] = F2H (x[i]);
      return true;
    case LLM_TYPE_BF16:
      for (int64_t i = 0; i < n; i++)
        ((uint16_t *) y)[i] = llm_fp32_to_bf16 (x[i]);
      return true;
    case LLM_TYPE_Q4_0: quantize_q4_0 (x, y, nb); return true;
    case LLM_TYPE_Q4_1: quantize_q4_1 (x, y, nb); return true;
    case LLM_TYPE_Q5_0: quantize_q5_0 (x, y, nb); return true;
    case LLM_TYPE_Q5_1: quantize_q5_1 (x, y, nb); return true;
    case LLM_TYPE_Q8_0: quantize_q8_0 (x, y, nb); return true;
    case LLM_TYPE_Q8_1: quantize_q8_1 (x, y, nb); return true;
    case LLM_TYPE_Q4_K: quantize_q4_K (x, y, nb); return true;
    case LLM_TYPE_Q5_K: quantize_q5_K (x, y, nb); return true;
    case LLM_TYPE_Q6_K: quantize_q6_K (x, y, nb); return true;
    case LLM_TYPE_Q8_K: quantize_q8_K (x, y, nb); return true;
    default:
      return false;
    }
}

/* ---- dequantization ---------------------------------------------------- */

bool
llm_dequantize_row (llm_type type, const void *vx, float *y, int64_t n)
{
  const llm_type_traits *t = llm_type_get_traits (type);
  int64_t nb;

  if (t == NULL || !t->can_compute || n % t->block_size != 0)
    return false;
  nb = n / t->block_size;
  switch (type)
    {
    case LLM_TYPE_F32:
      memcpy (y, vx, (size_t) n * 4);
      return true;
    case LLM_TYPE_F16:
      for (int64_t i = 0; i < n; i++)
        y[i] = H2F (((const uint16_t *) vx)[i]);
      return true;
    case LLM_TYPE_BF16:
      for (int64_t i = 0; i < n; i++)
        y[i] = llm_bf16_to_fp32 (((const uint16_t *) vx)[i]);
      return true;
    case LLM_TYPE_Q4_0:
      for (int64_t i = 0; i < nb; i++, y += LLM_QK)
        {
          const llm_block_q4_0 *x = (const llm_block_q4_0 *) vx + i;
          const float d = H2F (x->d);
          for (int j = 0; j < LLM_QK / 2; j++)
            {
              y[j] = ((x->qs[j] & 0x0F) - 8) * d;
              y[j + LLM_QK / 2] = ((x->qs[j] >> 4) - 8) * d;
            }
        }
      return true;
    case LLM_TYPE_Q4_1:
      for (int64_t i = 0; i < nb; i++, y += LLM_QK)
        {
          const llm_block_q4_1 *x = (const llm_block_q4_1 *) vx + i;
          const float d = H2F (x->d), m = H2F (x->m);
          for (int j = 0; j < LLM_QK / 2; j++)
            {
              y[j] = (x->qs[j] & 0x0F) * d + m;
              y[j + LLM_QK / 2] = (x->qs[j] >> 4) * d + m;
            }
        }
      return true;
    case LLM_TYPE_Q5_0:
    case LLM_TYPE_Q5_1:
      for (int64_t i = 0; i < nb; i++, y += LLM_QK)
        {
          const uint8_t *qs, *qhp;
          float d, m;
          int off;
          uint32_t qh;
          if (type == LLM_TYPE_Q5_0)
            {
              const llm_block_q5_0 *x = (const llm_block_q5_0 *) vx + i;
              d = H2F (x->d); m = 0; off = 16; qs = x->qs; qhp = x->qh;
            }
          else
            {
              const llm_block_q5_1 *x = (const llm_block_q5_1 *) vx + i;
              d = H2F (x->d); m = H2F (x->m); off = 0; qs = x->qs; qhp = x->qh;
            }
          memcpy (&qh, qhp, 4);
          for (int j = 0; j < LLM_QK / 2; j++)
            {
              const int x0 = (qs[j] & 0x0F) | (int) (((qh >> j) << 4) & 0x10);
              const int x1 = (qs[j] >> 4) | (int) ((qh >> (j + 12)) & 0x10);
              y[j] = (x0 - off) * d + m;
              y[j + LLM_QK / 2] = (x1 - off) * d + m;
            }
        }
      return true;
    case LLM_TYPE_Q8_0:
      for (int64_t i = 0; i < nb; i++, y += LLM_QK)
        {
          const llm_block_q8_0 *x = (const llm_block_q8_0 *) vx + i;
          const float d = H2F (x->d);
          for (int j = 0; j < LLM_QK; j++)
            y[j] = x->qs[j] * d;
        }
      return true;
    case LLM_TYPE_Q8_1:
      for (int64_t i = 0; i < nb; i++, y += LLM_QK)
        {
          const llm_block_q8_1 *x = (const llm_block_q8_1 *) vx + i;
          const float d = H2F (x->d);
          for (int j = 0; j < LLM_QK; j++)
            y[j] = x->qs[j] * d;
        }
      return true;
    case LLM_TYPE_Q4_K:
    case LLM_TYPE_Q5_K:
      for (int64_t i = 0; i < nb; i++)
        {
          const uint8_t *q, *qh = NULL, *scales;
          float d, min;
          if (type == LLM_TYPE_Q4_K)
            {
              const llm_block_q4_K *x = (const llm_block_q4_K *) vx + i;
              d = H2F (x->d); min = H2F (x->dmin); q = x->qs; scales = x->scales;
            }
          else
            {
              const llm_block_q5_K *x = (const llm_block_q5_K *) vx + i;
              d = H2F (x->d); min = H2F (x->dmin); q = x->qs; scales = x->scales; qh = x->qh;
            }
          uint8_t u1 = 1, u2 = 2;
          for (int j = 0, is = 0; j < LLM_QK_K; j += 64, is += 2, q += 32)
            {
              uint8_t sc, m;
              get_scale_min_k4 (is, scales, &sc, &m);
              const float d1 = d * sc, m1 = min * m;
              get_scale_min_k4 (is + 1, scales, &sc, &m);
              const float d2 = d * sc, m2 = min * m;
              for (int l = 0; l < 32; l++)
                *y++ = d1 * ((q[l] & 0xF) + (qh && (qh[l] & u1) ? 16 : 0)) - m1;
              for (int l = 0; l < 32; l++)
                *y++ = d2 * ((q[l] >> 4) + (qh && (qh[l] & u2) ? 16 : 0)) - m2;
              u1 <<= 2;
              u2 <<= 2;
            }
        }
      return true;
    case LLM_TYPE_Q6_K:
      for (int64_t i = 0; i < nb; i++)
        {
          const llm_block_q6_K *x = (const llm_block_q6_K *) vx + i;
          const float d = H2F (x->d);
          const uint8_t *ql = x->ql, *qh = x->qh;
          const int8_t *sc = x->scales;
          for (int n2 = 0; n2 < LLM_QK_K; n2 += 128, y += 128, ql += 64, qh += 32, sc += 8)
            for (int l = 0; l < 32; l++)
              {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * sc[is] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
              }
        }
      return true;
    case LLM_TYPE_Q8_K:
      for (int64_t i = 0; i < nb; i++, y += LLM_QK_K)
        {
          const llm_block_q8_K *x = (const llm_block_q8_K *) vx + i;
          for (int j = 0; j < LLM_QK_K; j++)
            y[j] = x->d * x->qs[j];
        }
      return true;
    default:
      return false;
    }
}

/* ---- scalar dot products ----------------------------------------------- */

/* Unpacks the 8 six-bit scales and mins of a Q4_K/Q5_K block. */
static inline void
unpack_k_scales (const uint8_t *scales, uint8_t *sc, uint8_t *m)
{
  for (int j = 0; j < 8; j++)
    get_scale_min_k4 (j, scales, &sc[j], &m[j]);
}

static float
dot_q4_0 (int64_t nb, const llm_block_q4_0 *x, const llm_block_q8_0 *y)
{
  float sum = 0;
  for (int64_t i = 0; i < nb; i++)
    {
      int sumi = 0;
      for (int j = 0; j < LLM_QK / 2; j++)
        sumi += ((x[i].qs[j] & 0xF) - 8) * y[i].qs[j]
              + ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + LLM_QK / 2];
      sum += sumi * H2F (x[i].d) * H2F (y[i].d);
    }
  return sum;
}

static float
dot_q4_1 (int64_t nb, const llm_block_q4_1 *x, const llm_block_q8_1 *y)
{
  float sum = 0;
  for (int64_t i = 0; i < nb; i++)
    {
      int sumi = 0;
      for (int j = 0; j < LLM_QK / 2; j++)
        sumi += (x[i].qs[j] & 0xF) * y[i].qs[j] + (x[i].qs[j] >> 4) * y[i].qs[j + LLM_QK / 2];
      sum += sumi * H2F (x[i].d) * H2F (y[i].d) + H2F (x[i].m) * H2F (y[i].s);
    }
  return sum;
}

static float
dot_q5_0 (int64_t nb, const llm_block_q5_0 *x, const llm_block_q8_0 *y)
{
  float sum = 0;
  for (int64_t i = 0; i < nb; i++)
    {
      uint32_t qh;
      int sumi = 0;
      memcpy (&qh, x[i].qh, 4);
      for (int j = 0; j < LLM_QK / 2; j++)
        {
          const int x0 = ((x[i].qs[j] & 0xF) | (int) (((qh >> j) << 4) & 0x10)) - 16;
          const int x1 = ((x[i].qs[j] >> 4) | (int) ((qh >> (j + 12)) & 0x10)) - 16;
          sumi += x0 * y[i].qs[j] + x1 * y[i].qs[j + LLM_QK / 2];
        }
      sum += sumi * H2F (x[i].d) * H2F (y[i].d);
    }
  return sum;
}

static float
dot_q5_1 (int64_t nb, const llm_block_q5_1 *x, const llm_block_q8_1 *y)
{
  float sum = 0;
  for (int64_t i = 0; i < nb; i++)
    {
      uint32_t qh;
      int sumi = 0;
      memcpy (&qh, x[i].qh, 4);
      for (int j = 0; j < LLM_QK / 2; j++)
        {
          const int x0 = (x[i].qs[j] & 0xF) | (int) (((qh >> j) << 4) & 0x10);
          const int x1 = (x[i].qs[j] >> 4) | (int) ((qh >> (j + 12)) & 0x10);
          sumi += x0 * y[i].qs[j] + x1 * y[i].qs[j + LLM_QK / 2];
        }
      sum += sumi * H2F (x[i].d) * H2F (y[i].d) + H2F (x[i].m) * H2F (y[i].s);
    }
  return sum;
}

static float
dot_q8_0 (int64_t nb, const llm_block_q8_0 *x, const llm_block_q8_0 *y)
{
  float sum = 0;
  for (int64_t i = 0; i < nb; i++)
    {
      int sumi = 0;
      for (int j = 0; j < LLM_QK; j++)
        sumi += x[i].qs[j] * y[i].qs[j];
      sum += sumi * H2F (x[i].d) * H2F (y[i].d);
    }
  return sum;
}

static float
dot_q8_1 (int64_t nb, const llm_block_q8_1 *x, const llm_block_q8_1 *y)
{
  float sum = 0;
  for (int64_t i = 0; i < nb; i++)
    {
      int sumi = 0;
      for (int j = 0; j < LLM_QK; j++)
        sumi += x[i].qs[j] * y[i].qs[j];
      sum += sumi * H2F (x[i].d) * H2F (y[i].d);
    }
  return sum;
}

static float
dot_q4_K (int64_t nb, const llm_block_q4_K *x, const llm_block_q8_K *y)
{
  float sum = 0;
  for (int64_t i = 0; i < nb; i++)
    {
      uint8_t sc[8], m[8];
      int sumi = 0, summ = 0;
      unpack_k_scales (x[i].scales, sc, m);
      for (int j = 0; j < 8; j++)
        summ += m[j] * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
      for (int j = 0; j < 4; j++)
        {
          const uint8_t *q = x[i].qs + 32 * j;
          const int8_t *a = y[i].qs + 64 * j;
          int s0 = 0, s1 = 0;
          for (int l = 0; l < 32; l++)
            {
              s0 += (q[l] & 0xF) * a[l];
              s1 += (q[l] >> 4) * a[l + 32];
            }
          sumi += sc[2 * j] * s0 + sc[2 * j + 1] * s1;
        }
      sum += y[i].d * H2F (x[i].d) * sumi - y[i].d * H2F (x[i].dmin) * summ;
    }
  return sum;
}

static float
dot_q5_K (int64_t nb, const llm_block_q5_K *x, const llm_block_q8_K *y)
{
  float sum = 0;
  for (int64_t i = 0; i < nb; i++)
    {
      uint8_t sc[8], m[8];
      int sumi = 0, summ = 0;
      unpack_k_scales (x[i].scales, sc, m);
      for (int j = 0; j < 8; j++)
        summ += m[j] * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
      for (int j = 0; j < 4; j++)
        {
          const uint8_t *q = x[i].qs + 32 * j, *qh = x[i].qh;
          const int8_t *a = y[i].qs + 64 * j;
          int s0 = 0, s1 = 0;
          for (int l = 0; l < 32; l++)
            {
              s0 += ((q[l] & 0xF) | (((qh[l] >> (2 * j)) & 1) << 4)) * a[l];
              s1 += ((q[l] >> 4) | (((qh[l] >> (2 * j + 1)) & 1) << 4)) * a[l + 32];
            }
          sumi += sc[2 * j] * s0 + sc[2 * j + 1] * s1;
        }
      sum += y[i].d * H2F (x[i].d) * sumi - y[i].d * H2F (x[i].dmin) * summ;
    }
  return sum;
}

static float
dot_q6_K (int64_t nb, const llm_block_q6_K *x, const llm_block_q8_K *y)
{
  float sum = 0;
  for (int64_t i = 0; i < nb; i++)
    {
      int8_t q[LLM_QK_K];
      const uint8_t *ql = x[i].ql, *qh = x[i].qh;
      int sumi = 0;
      for (int n = 0; n < LLM_QK_K; n += 128, ql += 64, qh += 32)
        for (int l = 0; l < 32; l++)
          {
            q[n + l] = (int8_t) (((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
            q[n + l + 32] = (int8_t) (((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
            q[n + l + 64] = (int8_t) (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
            q[n + l + 96] = (int8_t) (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
          }
      for (int g = 0; g < LLM_QK_K / 16; g++)
        {
          int s = 0;
          for (int l = 0; l < 16; l++)
            s += q[16 * g + l] * y[i].qs[16 * g + l];
          sumi += x[i].scales[g] * s;
        }
      sum += H2F (x[i].d) * y[i].d * sumi;
    }
  return sum;
}

static float
dot_q8_K (int64_t nb, const llm_block_q8_K *x, const llm_block_q8_K *y)
{
  float sum = 0;
  for (int64_t i = 0; i < nb; i++)
    {
      int sumi = 0;
      for (int j = 0; j < LLM_QK_K; j++)
        sumi += x[i].qs[j] * y[i].qs[j];
      sum += x[i].d * y[i].d * sumi;
    }
  return sum;
}

float
llm_vec_dot_scalar (llm_type type, int64_t n, const void *x, const void *y)
{
  const llm_type_traits *t = llm_type_get_traits (type);
  int64_t nb;
  float sum = 0;

  if (t == NULL || !t->can_compute)
    return NAN;
  nb = n / t->block_size;
  switch (type)
    {
    case LLM_TYPE_F32:
      for (int64_t i = 0; i < n; i++)
        sum += ((const float *) x)[i] * ((const float *) y)[i];
      return sum;
    case LLM_TYPE_F16:
      for (int64_t i = 0; i < n; i++)
        sum += H2F (((const uint16_t *) x)[i]) * H2F (((const uint16_t *) y)[i]);
      return sum;
    case LLM_TYPE_BF16:
      for (int64_t i = 0; i < n; i++)
        sum += llm_bf16_to_fp32 (((const uint16_t *) x)[i]) * llm_bf16_to_fp32 (((const uint16_t *) y)[i]);
      return sum;
    case LLM_TYPE_Q4_0: return dot_q4_0 (nb, x, y);
    case LLM_TYPE_Q4_1: return dot_q4_1 (nb, x, y);
    case LLM_TYPE_Q5_0: return dot_q5_0 (nb, x, y);
    case LLM_TYPE_Q5_1: return dot_q5_1 (nb, x, y);
    case LLM_TYPE_Q8_0: return dot_q8_0 (nb, x, y);
    case LLM_TYPE_Q8_1: return dot_q8_1 (nb, x, y);
    case LLM_TYPE_Q4_K: return dot_q4_K (nb, x, y);
    case LLM_TYPE_Q5_K: return dot_q5_K (nb, x, y);
    case LLM_TYPE_Q6_K: return dot_q6_K (nb, x, y);
    case LLM_TYPE_Q8_K: return dot_q8_K (nb, x, y);
    default: return NAN;
    }
}

/* ---- dispatch ---------------------------------------------------------- */

float llm_fp16_table[65536];
static bool dot4_enabled = true;   /* LLM_DOT4=0 turns the four-row kernels off */

enum { SIMD_UNKNOWN, SIMD_SCALAR, SIMD_AVX2, SIMD_AVX512 };
static int simd_level = SIMD_UNKNOWN;

static int
detect_simd (void)
{
  const char *force = getenv ("LLM_SIMD");
  int level = SIMD_SCALAR;

  for (uint32_t h = 0; h < 65536; h++)
    llm_fp16_table[h] = llm_fp16_to_fp32 ((uint16_t) h);
  if (getenv ("LLM_DOT4") != NULL && atoi (getenv ("LLM_DOT4")) == 0)
    dot4_enabled = false;

  if (llm_cpu_has_avx512 ())
    level = SIMD_AVX512;
  else if (llm_cpu_has_avx2 ())
    level = SIMD_AVX2;
  if (force != NULL)
    {
      if (strcmp (force, "scalar") == 0)
        level = SIMD_SCALAR;
      else if (strcmp (force, "avx2") == 0 && level >= SIMD_AVX2)
        level = SIMD_AVX2;
    }
  return level;
}

static pthread_once_t simd_once = PTHREAD_ONCE_INIT;

static void
init_simd (void)
{
  __atomic_store_n (&simd_level, detect_simd (), __ATOMIC_RELEASE);
}

static inline int
get_simd (void)
{
  int level = __atomic_load_n (&simd_level, __ATOMIC_ACQUIRE);
  if (level == SIMD_UNKNOWN)
    {
      pthread_once (&simd_once, init_simd);
      level = __atomic_load_n (&simd_level, __ATOMIC_ACQUIRE);
    }
  return level;
}

const char *
llm_simd_level (void)
{
  switch (get_simd ())
    {
    case SIMD_AVX512: return "avx512";
    case SIMD_AVX2: return "avx2";
    default: return "scalar";
    }
}

float
llm_vec_dot (llm_type type, int64_t n, const void *x, const void *y)
{
  float out;
  int level = get_simd ();

  if (level >= SIMD_AVX512 && llm_vec_dot_avx512 (type, n, x, y, &out))
    return out;
  if (level >= SIMD_AVX2 && llm_vec_dot_avx2 (type, n, x, y, &out))
    return out;
  return llm_vec_dot_scalar (type, n, x, y);
}

bool
llm_cpu_has_avx2 (void)
{
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  __builtin_cpu_init ();
  /* F16C is CPUID.1:ECX bit 29 (not every compiler knows it by name). */
  if (!__get_cpuid (1, &a, &b, &c, &d) || !(c & (1u << 29)))
    return false;
  return __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma");
#else
  return false;
#endif
}

bool
llm_cpu_has_avx512 (void)
{
#if defined(__x86_64__) && defined(LLM_HAVE_AVX512)
  __builtin_cpu_init ();
  return llm_cpu_has_avx2 () && __builtin_cpu_supports ("avx512f")
      && __builtin_cpu_supports ("avx512bw") && __builtin_cpu_supports ("avx512vl")
      && __builtin_cpu_supports ("avx512vnni");
#else
  return false;
#endif
}

#ifndef LLM_HAVE_AVX512
bool
llm_vec_dot_avx512 (llm_type type, int64_t n, const void *x, const void *y, float *out)
{
  return false;
}

bool
llm_vec_dot4_avx512 (llm_type type, int64_t n, const void *x, size_t stride, const void *y,
                     float out[4])
{
  return false;
}

bool
llm_quantize_act_avx512 (llm_type type, const float *x, void *y, int64_t n)
{
  return false;
}

bool
llm_attend_avx512 (int group, int hd, int n, const float *q, const void *K, const void *V, bool f16, float scale,
                   float *scores, int ld, float *out)
{
  return false;
}

bool
llm_vec_dot4_rows_avx512 (llm_type type, int64_t n, const void *x, size_t row_size, size_t stride,
                          int64_t nq, const void *y, float *out, int64_t out_stride)
{
  return false;
}
#endif

bool
llm_quantize_activations (llm_type type, const float *x, void *y, int64_t n)
{
  const llm_type_traits *t = llm_type_get_traits (type);

  if (t != NULL && t->block_size > 0 && n % t->block_size == 0 && get_simd () >= SIMD_AVX512
      && llm_quantize_act_avx512 (type, x, y, n))
    return true;
  return llm_quantize_row (type, x, y, n);
}

bool
llm_attend_simd (int group, int hd, int n, const float *q, const void *K, const void *V, bool f16, float scale,
                 float *scores, int ld, float *out)
{
  return get_simd () >= SIMD_AVX512
      && llm_attend_avx512 (group, hd, n, q, K, V, f16, scale, scores, ld, out);
}

bool
llm_vec_dot4_native (llm_type type)
{
  int level = get_simd ();
  return dot4_enabled && ((level >= SIMD_AVX2 && type == LLM_TYPE_Q4_0)
                          || (level >= SIMD_AVX512 && (type == LLM_TYPE_F16 || type == LLM_TYPE_Q8_0 || type == LLM_TYPE_Q4_K || type == LLM_TYPE_Q5_K || type == LLM_TYPE_Q6_K || type == LLM_TYPE_Q4_1
                                                       || type == LLM_TYPE_Q5_0 || type == LLM_TYPE_Q5_1)));
}

void
llm_vec_dot4 (llm_type type, int64_t n, const void *x, size_t stride, const void *y, float out[4])
{
  int level = get_simd ();

  if (level >= SIMD_AVX512 && llm_vec_dot4_avx512 (type, n, x, stride, y, out))
    return;
  if (level >= SIMD_AVX2 && llm_vec_dot4_avx2 (type, n, x, stride, y, out))
    return;
  for (int r = 0; r < 4; r++)
    out[r] = llm_vec_dot (type, n, (const uint8_t *) x + r * stride, y);
}

void
llm_vec_dot4_rows (llm_type type, int64_t n, const void *x, size_t row_size, size_t stride, int64_t nq,
                   const void *y, float *out, int64_t out_stride)
{
  if (get_simd () >= SIMD_AVX512
      && llm_vec_dot4_rows_avx512 (type, n, x, row_size, stride, nq, y, out, out_stride))
    return;
  for (int64_t k = 0; k < nq; k++)
    {
      float o[4];
      llm_vec_dot4 (type, n, (const uint8_t *) x + (size_t) k * row_size, stride, y, o);
      for (int m = 0; m < 4; m++)
        out[k + m * out_stride] = o[m];
    }
}
