/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Number formats: hand-worked blocks, round-trip error bounds, SIMD paths
 * against the scalar path, matrix products against a plain reference. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "llm-quant.h"
#include "llm-matmul.h"

static const llm_type weight_types[] = {
  LLM_TYPE_F32, LLM_TYPE_F16, LLM_TYPE_BF16, LLM_TYPE_Q4_0, LLM_TYPE_Q4_1, LLM_TYPE_Q5_0,
  LLM_TYPE_Q5_1, LLM_TYPE_Q8_0, LLM_TYPE_Q4_K, LLM_TYPE_Q5_K, LLM_TYPE_Q6_K,
};

static float
gauss (GRand *r)
{
  /* Box-Muller */
  double u1 = g_rand_double_range (r, 1e-12, 1.0), u2 = g_rand_double (r);
  return (float) (sqrt (-2.0 * log (u1)) * cos (2 * G_PI * u2));
}

static void
test_fp16 (void)
{
  /* every finite half survives a round trip */
  for (uint32_t h = 0; h < 0x10000; h++)
    {
      if ((h & 0x7C00) == 0x7C00 && (h & 0x03FF))
        continue;   /* NaN */
      g_assert_cmpuint (llm_fp32_to_fp16 (llm_fp16_to_fp32 ((uint16_t) h)), ==, h);
    }
  g_assert_cmpuint (llm_fp32_to_fp16 (1.0f), ==, 0x3C00);
  g_assert_cmpuint (llm_fp32_to_fp16 (-2.0f), ==, 0xC000);
  g_assert_cmpuint (llm_fp32_to_fp16 (65504.f), ==, 0x7BFF);
  g_assert_cmpuint (llm_fp32_to_fp16 (65520.f), ==, 0x7C00);         /* rounds to inf */
  g_assert_cmpuint (llm_fp32_to_fp16 (0.1f), ==, 0x2E66);
  g_assert_cmpuint (llm_fp32_to_fp16 (1.0f + 0x1p-11f), ==, 0x3C00); /* tie: even */
  g_assert_cmpuint (llm_fp32_to_fp16 (1.0f + 3 * 0x1p-11f), ==, 0x3C02);
  g_assert_cmpuint (llm_fp32_to_fp16 (0x1p-24f), ==, 0x0001);        /* smallest subnormal */
  g_assert_cmpuint (llm_fp32_to_fp16 (0x1p-26f), ==, 0x0000);
  g_assert_cmpfloat (llm_fp16_to_fp32 (0x3555), ==, 0.333251953125f);
  g_assert_cmpuint (llm_fp32_to_bf16 (1.0f), ==, 0x3F80);
  g_assert_cmpuint (llm_fp32_to_bf16 (1.00390625f), ==, 0x3F80);     /* tie: even */
  g_assert_cmpuint (llm_fp32_to_bf16 (1.01171875f), ==, 0x3F82);
  g_assert_cmpfloat (llm_bf16_to_fp32 (0xC040), ==, -3.0f);
}

/* x[j] = (j mod 7) - 3: amax 3, so no value lands on a rounding tie. */
static void
fill_hand (float *x)
{
  for (int j = 0; j < 32; j++)
    x[j] = (float) (j % 7 - 3);
}

static void
test_q8_0_block (void)
{
  float x[32], y[32];
  llm_block_q8_0 b;
  static const int8_t q_of_k[7] = { -127, -85, -42, 0, 42, 85, 127 };
  uint8_t expect[34];

  fill_hand (x);
  /* d = 3/127 = 0.0236220… → half 0x260C (1.51171875 × 2⁻⁶) */
  expect[0] = 0x0C;
  expect[1] = 0x26;
  for (int j = 0; j < 32; j++)
    expect[2 + j] = (uint8_t) q_of_k[j % 7];
  g_assert_true (llm_quantize_row (LLM_TYPE_Q8_0, x, &b, 32));
  g_assert_cmpmem (&b, sizeof b, expect, sizeof expect);
  g_assert_true (llm_dequantize_row (LLM_TYPE_Q8_0, &b, y, 32));
  for (int j = 0; j < 32; j++)
    g_assert_cmpfloat_with_epsilon (y[j], x[j], 0.02);
}

static void
test_q4_0_block (void)
{
  float x[32], y[32];
  llm_block_q4_0 b;
  /* max is -3 (first of the largest), d = -3/-8 = 0.375 (half 0x3600),
   * q = trunc(x/d + 8.5) clamped to 15 */
  static const uint8_t q_of_k[7] = { 0, 3, 5, 8, 11, 13, 15 };
  uint8_t expect[18];

  fill_hand (x);
  expect[0] = 0x00;
  expect[1] = 0x36;
  for (int j = 0; j < 16; j++)
    expect[2 + j] = (uint8_t) (q_of_k[j % 7] | (q_of_k[(j + 16) % 7] << 4));
  g_assert_true (llm_quantize_row (LLM_TYPE_Q4_0, x, &b, 32));
  g_assert_cmpmem (&b, sizeof b, expect, sizeof expect);
  g_assert_true (llm_dequantize_row (LLM_TYPE_Q4_0, &b, y, 32));
  /* -3 → (0-8)·0.375 = -3; 3 → (15-8)·0.375 = 2.625 */
  g_assert_cmpfloat (y[0], ==, -3.0f);
  g_assert_cmpfloat (y[6], ==, 2.625f);
}

static void
test_k_blocks (void)
{
  float x[256], y[256];
  llm_block_q6_K b6;
  llm_block_q4_K b4;
  llm_block_q8_K b8;

  /* A constant block: Q6_K stores one level, Q4_K a zero min. */
  for (int j = 0; j < 256; j++)
    x[j] = 0.5f;
  g_assert_true (llm_quantize_row (LLM_TYPE_Q6_K, x, &b6, 256));
  g_assert_true (llm_dequantize_row (LLM_TYPE_Q6_K, &b6, y, 256));
  for (int j = 0; j < 256; j++)
    g_assert_cmpfloat_with_epsilon (y[j], 0.5f, 1e-3);
  g_assert_true (llm_quantize_row (LLM_TYPE_Q4_K, x, &b4, 256));
  g_assert_true (llm_dequantize_row (LLM_TYPE_Q4_K, &b4, y, 256));
  for (int j = 0; j < 256; j++)
    g_assert_cmpfloat_with_epsilon (y[j], 0.5f, 1e-2);
  g_assert_cmpuint (b4.dmin & 0x7fff, ==, 0);   /* ±0 */

  /* Q8_K: the largest magnitude maps to -127·sign, bsums are group sums. */
  for (int j = 0; j < 256; j++)
    x[j] = (float) (j - 100);
  g_assert_true (llm_quantize_row (LLM_TYPE_Q8_K, x, &b8, 256));
  g_assert_cmpint (b8.qs[255], ==, -127);   /* the scale is negative */
  for (int g = 0; g < 16; g++)
    {
      int s = 0;
      for (int k = 0; k < 16; k++)
        s += b8.qs[16 * g + k];
      g_assert_cmpint (b8.bsums[g], ==, s);
    }
  g_assert_cmpfloat_with_epsilon (b8.d, -155.f / 127.f, 1e-5);

  /* All zeros stay zeros everywhere. */
  memset (x, 0, sizeof x);
  for (size_t t = 0; t < G_N_ELEMENTS (weight_types); t++)
    {
      uint8_t buf[1024];
      g_assert_true (llm_quantize_row (weight_types[t], x, buf, 256));
      g_assert_true (llm_dequantize_row (weight_types[t], buf, y, 256));
      for (int j = 0; j < 256; j++)
        g_assert_cmpfloat (y[j], ==, 0.0f);
    }
}

/* RMS error of quantize → dequantize on N(0,1) data, per type, with bounds
 * about 10% above what the formats give (measured: see g_test_message). */
static void
test_round_trip_rms (void)
{
  static const struct { llm_type type; double bound; } cases[] = {
    { LLM_TYPE_F16,  0.00025 }, { LLM_TYPE_BF16, 0.0019 },
    { LLM_TYPE_Q8_0, 0.0060 }, { LLM_TYPE_Q6_K, 0.0200 },
    { LLM_TYPE_Q5_1, 0.0420 }, { LLM_TYPE_Q5_0, 0.0480 }, { LLM_TYPE_Q5_K, 0.0400 },
    { LLM_TYPE_Q4_1, 0.0870 }, { LLM_TYPE_Q4_0, 0.0950 }, { LLM_TYPE_Q4_K, 0.0790 },
    { LLM_TYPE_Q8_K, 0.0078 },
  };
  const int64_t n = 256 * 256;
  GRand *r = g_rand_new_with_seed (42);
  float *x = g_new (float, n), *y = g_new (float, n);
  uint8_t *q = g_malloc (n * 4);
  gboolean failed = FALSE;

  for (int64_t i = 0; i < n; i++)
    x[i] = gauss (r);
  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      double se = 0;
      g_assert_true (llm_quantize_row (cases[c].type, x, q, n));
      g_assert_true (llm_dequantize_row (cases[c].type, q, y, n));
      for (int64_t i = 0; i < n; i++)
        se += (double) (x[i] - y[i]) * (x[i] - y[i]);
      se = sqrt (se / n);
      g_test_message ("%-5s RMS error %.5f (bound %.4f)", llm_type_name (cases[c].type), se, cases[c].bound);
      if (se >= cases[c].bound)
        failed = TRUE;
    }
  g_assert_false (failed);
  g_free (x);
  g_free (y);
  g_free (q);
  g_rand_free (r);
}

static int64_t
block_of (llm_type t)
{
  return llm_type_get_traits (t)->block_size;
}

/* SIMD and scalar dot products agree on random data of many sizes. */
static void
test_simd_vs_scalar (void)
{
  static const int64_t sizes[] = { 1, 7, 8, 31, 32, 33, 64, 96, 256, 288, 512, 768, 1001, 4096, 11008 };
  GRand *r = g_rand_new_with_seed (7);

  g_test_message ("SIMD level: %s", llm_simd_level ());   /* also fills the half table */
  if (g_strcmp0 (llm_simd_level (), "scalar") == 0)
    {
      g_test_skip ("no SIMD on this CPU");
      g_rand_free (r);
      return;
    }
  for (size_t t = 0; t < G_N_ELEMENTS (weight_types); t++)
    {
      llm_type type = weight_types[t];
      llm_type vt = llm_type_get_traits (type)->vec_dot_type;
      for (size_t s = 0; s < G_N_ELEMENTS (sizes); s++)
        {
          int64_t n = sizes[s];
          float *x, *a;
          void *wq, *aq;
          double mag = 0;
          float simd, scalar;

          if (n % block_of (type) != 0 || n % block_of (vt) != 0)
            continue;
          x = g_new (float, n);
          a = g_new (float, n);
          for (int64_t i = 0; i < n; i++)
            {
              x[i] = gauss (r);
              a[i] = gauss (r);
              mag += fabs (x[i] * a[i]);
            }
          wq = g_malloc (llm_row_size (type, n) + 1);
          aq = g_malloc (llm_row_size (vt, n) + 1);
          llm_quantize_row (type, x, wq, n);
          llm_quantize_row (vt, a, aq, n);
          scalar = llm_vec_dot_scalar (type, n, wq, aq);
          for (int isa = 0; isa < 3; isa++)
            {
              if (isa == 0)
                simd = llm_vec_dot (type, n, wq, aq);
              else if (isa == 1 ? !llm_cpu_has_avx2 () || !llm_vec_dot_avx2 (type, n, wq, aq, &simd)
                                : !llm_cpu_has_avx512 () || !llm_vec_dot_avx512 (type, n, wq, aq, &simd))
                continue;
              if (fabs (simd - scalar) > 1e-5 * mag + 1e-6)
                g_error ("%s n=%" G_GINT64_FORMAT " isa %d: simd %.7g scalar %.7g", llm_type_name (type),
                         n, isa, simd, scalar);
            }
          g_free (x);
          g_free (a);
          g_free (wq);
          g_free (aq);
        }
    }
  g_rand_free (r);
}

/* Four-row kernels agree with the scalar path row by row. */
static void
test_dot4_size (int64_t n)
{
  GRand *r = g_rand_new_with_seed (5);
  float *x = g_new (float, 4 * n), *a = g_new (float, n);
  uint8_t *wq = g_malloc (4 * n * 4 + 64), *aq = g_malloc (n * 4);

  g_test_message ("SIMD level: %s", llm_simd_level ());
  for (int64_t i = 0; i < 4 * n; i++)
    x[i] = gauss (r);
  for (int64_t i = 0; i < n; i++)
    a[i] = gauss (r);
  for (size_t t = 0; t < G_N_ELEMENTS (weight_types); t++)
    {
      llm_type type = weight_types[t];
      size_t rs = llm_row_size (type, n) + 16;   /* a stride that is not the row size */
      float out[4], ref;
      if (n % block_of (type) != 0)
        continue;
      llm_quantize_row (llm_type_get_traits (type)->vec_dot_type, a, aq, n);
      for (int row = 0; row < 4; row++)
        llm_quantize_row (type, x + row * n, wq + row * rs, n);
      for (int isa = 0; isa < 3; isa++)
        {
          if (isa == 0)
            llm_vec_dot4 (type, n, wq, rs, aq, out);
          else if (isa == 1 ? !llm_cpu_has_avx2 () || !llm_vec_dot4_avx2 (type, n, wq, rs, aq, out)
                            : !llm_cpu_has_avx512 () || !llm_vec_dot4_avx512 (type, n, wq, rs, aq, out))
            continue;
          for (int row = 0; row < 4; row++)
            {
              ref = llm_vec_dot_scalar (type, n, wq + row * rs, aq);
              if (fabsf (out[row] - ref) > 1e-4f * (1 + fabsf (ref)))
                g_error ("%s isa %d row %d: %.7g vs scalar %.7g", llm_type_name (type), isa, row, out[row], ref);
            }
        }
    }
  g_free (x);
  g_free (a);
  g_free (wq);
  g_free (aq);
  g_rand_free (r);
}

/* Chunks of four-row groups agree with the scalar path row by row: three
 * groups, rows of group k at k·rs + m·3·rs, results at k + m·5. */
static void
test_dot4_rows_size (int64_t n)
{
  GRand *r = g_rand_new_with_seed (6);
  float *x = g_new (float, 12 * n), *a = g_new (float, n), out[20];
  uint8_t *wq = g_malloc (12 * (n * 4 + 16)), *aq = g_malloc (n * 4);

  for (int64_t i = 0; i < 12 * n; i++)
    x[i] = gauss (r);
  for (int64_t i = 0; i < n; i++)
    a[i] = gauss (r);
  for (size_t t = 0; t < G_N_ELEMENTS (weight_types); t++)
    {
      llm_type type = weight_types[t];
      size_t rs = llm_row_size (type, n) + 16;
      if (n % block_of (type) != 0)
        continue;
      llm_quantize_row (llm_type_get_traits (type)->vec_dot_type, a, aq, n);
      for (int row = 0; row < 12; row++)
        llm_quantize_row (type, x + row * n, wq + row * rs, n);
      for (int i = 0; i < 20; i++)
        out[i] = NAN;
      llm_vec_dot4_rows (type, n, wq, rs, 3 * rs, 3, aq, out, 5);
      for (int k = 0; k < 3; k++)
        for (int m = 0; m < 4; m++)
          {
            float ref = llm_vec_dot_scalar (type, n, wq + (k + 3 * m) * rs, aq);
            if (!(fabsf (out[k + 5 * m] - ref) <= 1e-4f * (1 + fabsf (ref))))
              g_error ("%s n=%" G_GINT64_FORMAT " group %d row %d: %.7g vs scalar %.7g", llm_type_name (type), n, k,
                       m, out[k + 5 * m], ref);
            /* the multi-row kernels keep the one-row kernel's sums: decode
             * and a single product give the same logits */
            if ((type == LLM_TYPE_F16 || type == LLM_TYPE_Q6_K)
                && out[k + 5 * m] != llm_vec_dot (type, n, wq + (k + 3 * m) * rs, aq))
              g_error ("%s n=%" G_GINT64_FORMAT " group %d row %d: %.9g != one-row %.9g", llm_type_name (type), n, k,
                       m, out[k + 5 * m], llm_vec_dot (type, n, wq + (k + 3 * m) * rs, aq));
          }
      /* and each group's four results are llm_vec_dot4's to the bit */
      for (int k = 0; k < 3; k++)
        {
          float four[4];
          llm_vec_dot4 (type, n, wq + k * rs, 3 * rs, aq, four);
          for (int m = 0; m < 4; m++)
            if (out[k + 5 * m] != four[m])
              g_error ("%s n=%" G_GINT64_FORMAT " group %d row %d: %.9g != dot4 %.9g", llm_type_name (type), n, k,
                       m, out[k + 5 * m], four[m]);
        }
      for (int k = 3; k < 5; k++)
        for (int m = 0; m < 4; m++)
          g_assert_true (isnan (out[k + 5 * m]));   /* nothing written past the groups */
    }
  g_free (x);
  g_free (a);
  g_free (wq);
  g_free (aq);
  g_rand_free (r);
}

static void
test_dot4 (void)
{
  test_dot4_rows_size (1024);
  test_dot4_rows_size (1024 + 3 * 32);
  test_dot4_rows_size (2816);   /* Q4_0's chunk kernel only takes short rows */
  test_dot4_size (1024);
  test_dot4_size (1024 + 3 * 32);   /* tails for the kernels that take blocks in groups */
}

/* The SIMD activation quantizers give exactly llm_quantize_row's bytes:
 * random rows, rounding ties (x·id = k + 0.5: half away from zero for Q8_0,
 * half to even for Q8_K), a zero block, and a largest magnitude that occurs
 * with both signs (Q8_K takes the first). */
static void
test_quantize_activations (void)
{
  static const llm_type types[] = { LLM_TYPE_Q8_0, LLM_TYPE_Q8_1, LLM_TYPE_Q8_K };
  const int64_t n = 1024;
  GRand *r = g_rand_new_with_seed (17);
  float *x = g_new (float, n);
  uint8_t *a = g_malloc (2 * n), *b = g_malloc (2 * n);

  g_test_message ("SIMD level: %s", llm_simd_level ());
  for (int iter = 0; iter < 50; iter++)
    {
      for (int64_t i = 0; i < n; i++)
        x[i] = gauss (r) * (iter % 5 == 0 ? 1e-3f : 1.0f);
      if (iter % 2 == 1)
        {
          /* block 0 (32 and 256): amax 127 gives d = 1, so halves are ties */
          x[0] = 127.0f;
          for (int i = 1; i < 32; i++)
            x[i] = (float) ((i % 7) - 3) + 0.5f;
          /* a zero block of 32 and of 256 elements */
          memset (x + 256, 0, 256 * sizeof (float));
          /* the largest magnitude with both signs, negative first */
          x[600] = -9.0f;
          x[700] = 9.0f;
          /* Q8_K: iscale -127/-9: halves after scaling */
          x[601] = -9.0f * 2.5f / 127.0f;
        }
      for (size_t t = 0; t < G_N_ELEMENTS (types); t++)
        {
          size_t rs = llm_row_size (types[t], n);
          memset (a, 0xAA, rs);
          memset (b, 0x55, rs);
          g_assert_true (llm_quantize_row (types[t], x, a, n));
          g_assert_true (llm_quantize_activations (types[t], x, b, n));
          if (memcmp (a, b, rs) != 0)
            for (size_t i = 0; i < rs; i++)
              if (a[i] != b[i])
                g_error ("%s iter %d: byte %zu is %u, llm_quantize_row gives %u", llm_type_name (types[t]), iter, i,
                         b[i], a[i]);
        }
    }
  /* other types are passed on */
  g_assert_true (llm_quantize_activations (LLM_TYPE_F16, x, b, n));
  g_assert_true (llm_quantize_row (LLM_TYPE_F16, x, a, n));
  g_assert_cmpmem (a, 2 * n, b, 2 * n);
  g_free (x);
  g_free (a);
  g_free (b);
  g_rand_free (r);
}

/* With unit scales the float result is the block's integer sum, so SIMD and
 * scalar must agree exactly on random bytes (saturation-free ranges). */
static void
test_simd_integer_exact (void)
{
  static const llm_type types[] = { LLM_TYPE_Q4_0, LLM_TYPE_Q4_1, LLM_TYPE_Q5_0, LLM_TYPE_Q5_1,
                                    LLM_TYPE_Q8_0, LLM_TYPE_Q4_K, LLM_TYPE_Q5_K, LLM_TYPE_Q6_K };
  GRand *r = g_rand_new_with_seed (99);

  if (g_strcmp0 (llm_simd_level (), "scalar") == 0)
    {
      g_test_skip ("no SIMD on this CPU");
      g_rand_free (r);
      return;
    }
  for (size_t t = 0; t < G_N_ELEMENTS (types); t++)
    for (int iter = 0; iter < 200; iter++)
      {
        llm_type type = types[t];
        llm_type vt = llm_type_get_traits (type)->vec_dot_type;
        /* eight blocks of 32 so the SIMD loops (two or eight at a time) run */
        int64_t n = 256;
        int64_t nb = n / block_of (type);
        size_t ws = llm_type_get_traits (type)->type_size, as = llm_type_get_traits (vt)->type_size;
        uint8_t w[512], a[512];
        const uint16_t one = 0x3C00;

        for (size_t i = 0; i < sizeof w; i++)
          {
            w[i] = (uint8_t) g_rand_int (r);
            a[i] = (uint8_t) g_rand_int (r);
          }
        /* activations in [-127, 127], as the quantizers make them */
        for (int64_t blk = 0; blk < nb; blk++)
          {
            uint8_t *ab = a + blk * as, *wb = w + blk * ws;
            switch (vt)
              {
              case LLM_TYPE_Q8_0:
              case LLM_TYPE_Q8_1:
                {
                  int off = vt == LLM_TYPE_Q8_0 ? 2 : 4;
                  for (int i = 0; i < 32; i++)
                    if (((int8_t *) ab)[off + i] == -128)
                      ab[off + i] = 0;
                  memcpy (ab, &one, 2);
                  if (vt == LLM_TYPE_Q8_1)
                    memcpy (ab + 2, &one, 2);
                }
                break;
              default:
                {
                  llm_block_q8_K *y = (llm_block_q8_K *) ab;
                  y->d = 1.0f;
                  for (int i = 0; i < 256; i++)
                    if (y->qs[i] == -128)
                      y->qs[i] = 0;
                  for (int g = 0; g < 16; g++)
                    {
                      int sum = 0;
                      for (int k = 0; k < 16; k++)
                        sum += y->qs[16 * g + k];
                      y->bsums[g] = (int16_t) sum;
                    }
                }
              }
            switch (type)
              {
              case LLM_TYPE_Q8_0:
                for (int i = 0; i < 32; i++)
                  if (((int8_t *) wb)[2 + i] == -128)
                    wb[2 + i] = 0;
                memcpy (wb, &one, 2);
                break;
              case LLM_TYPE_Q4_0:
              case LLM_TYPE_Q5_0:
                memcpy (wb, &one, 2);
                break;
              case LLM_TYPE_Q4_1:
              case LLM_TYPE_Q5_1:
              case LLM_TYPE_Q4_K:
              case LLM_TYPE_Q5_K:
                memcpy (wb, &one, 2);
                memcpy (wb + 2, &one, 2);
                break;
              case LLM_TYPE_Q6_K:
                memcpy (wb + 208, &one, 2);
                break;
              default:
                break;
              }
          }
        {
          float scalar = llm_vec_dot_scalar (type, n, w, a), simd;
          if (llm_cpu_has_avx2 () && llm_vec_dot_avx2 (type, n, w, a, &simd) && simd != scalar)
            g_error ("%s: avx2 %.9g != scalar %.9g", llm_type_name (type), simd, scalar);
          if (llm_cpu_has_avx512 () && llm_vec_dot_avx512 (type, n, w, a, &simd) && simd != scalar)
            g_error ("%s: avx512 %.9g != scalar %.9g", llm_type_name (type), simd, scalar);
          /* the four-row kernels, the same row four times (stride 0) */
          for (int isa = 1; isa < 3; isa++)
            {
              float out[4];
              if (isa == 1 ? !llm_cpu_has_avx2 () || !llm_vec_dot4_avx2 (type, n, w, 0, a, out)
                           : !llm_cpu_has_avx512 () || !llm_vec_dot4_avx512 (type, n, w, 0, a, out))
                continue;
              for (int row = 0; row < 4; row++)
                if (out[row] != scalar)
                  g_error ("%s: dot4 isa %d row %d %.9g != scalar %.9g", llm_type_name (type), isa, row,
                           out[row], scalar);
            }
        }
      }
  g_rand_free (r);
}

/* The dot product with quantized activations is close to the float dot
 * product of the dequantized row. */
static void
test_dot_vs_dequantized (void)
{
  const int64_t n = 4096;
  GRand *r = g_rand_new_with_seed (3);
  float *x = g_new (float, n), *a = g_new (float, n), *xd = g_new (float, n);
  uint8_t *wq = g_malloc (n * 4), *aq = g_malloc (n * 4);

  for (int64_t i = 0; i < n; i++)
    {
      x[i] = gauss (r);
      a[i] = gauss (r);
    }
  for (size_t t = 0; t < G_N_ELEMENTS (weight_types); t++)
    {
      llm_type type = weight_types[t];
      llm_type vt = llm_type_get_traits (type)->vec_dot_type;
      double ref = 0, norm = 0;
      float got;
      llm_quantize_row (type, x, wq, n);
      llm_dequantize_row (type, wq, xd, n);
      for (int64_t i = 0; i < n; i++)
        {
          ref += (double) xd[i] * a[i];
          norm += (double) xd[i] * xd[i];
        }
      llm_quantize_row (vt, a, aq, n);
      got = llm_vec_dot (type, n, wq, aq);
      /* activation quantization adds about 1% of |x|·|a|/√n-scale noise */
      g_assert_cmpfloat (fabs (got - ref), <, 0.01 * sqrt (norm) * sqrt ((double) n) / 8);
    }
  g_free (x);
  g_free (a);
  g_free (xd);
  g_free (wq);
  g_free (aq);
  g_rand_free (r);
}

static void
check_products (llm_pool *pool)
{
  const int64_t rows = 67, cols = 512, nb = 5;
  GRand *r = g_rand_new_with_seed (11);
  float *W = g_new (float, rows * cols), *Wd = g_new (float, rows * cols);
  float *X = g_new (float, nb * cols), *Y = g_new (float, nb * rows), *Y2 = g_new (float, nb * rows);
  uint8_t *Wq = g_malloc (rows * cols * 4);

  for (int64_t i = 0; i < rows * cols; i++)
    W[i] = gauss (r);
  for (int64_t i = 0; i < nb * cols; i++)
    X[i] = gauss (r);
  for (size_t t = 0; t < G_N_ELEMENTS (weight_types); t++)
    {
      llm_type type = weight_types[t];
      size_t rs = llm_row_size (type, cols);
      for (int64_t i = 0; i < rows; i++)
        {
          llm_quantize_row (type, W + i * cols, Wq + i * rs, cols);
          llm_dequantize_row (type, Wq + i * rs, Wd + i * cols, cols);
        }
      /* matvec is the per-row dot product (up to summation order) */
      g_assert_true (llm_matvec (pool, type, Wq, rows, cols, X, Y));
      {
        uint8_t aq[4096];
        llm_quantize_row (llm_type_get_traits (type)->vec_dot_type, X, aq, cols);
        for (int64_t i = 0; i < rows; i++)
          g_assert_cmpfloat_with_epsilon (Y[i], llm_vec_dot_scalar (type, cols, Wq + i * rs, aq), 1e-3);
      }
      /* both matmul methods match the float reference */
      g_assert_true (llm_matmul (pool, type, Wq, rows, cols, X, nb, Y, LLM_MATMUL_DOT));
      g_assert_true (llm_matmul (pool, type, Wq, rows, cols, X, nb, Y2, LLM_MATMUL_SGEMM));
      for (int64_t b = 0; b < nb; b++)
        for (int64_t i = 0; i < rows; i++)
          {
            double ref = 0;
            for (int64_t k = 0; k < cols; k++)
              ref += (double) Wd[i * cols + k] * X[b * cols + k];
            g_assert_cmpfloat (fabs (Y2[b * rows + i] - ref), <, 1e-3);
            g_assert_cmpfloat (fabs (Y[b * rows + i] - ref), <, 0.5);
          }
    }
  g_assert_false (llm_matvec (pool, LLM_TYPE_Q4_K, Wq, rows, 100, X, Y));
  g_free (W);
  g_free (Wd);
  g_free (X);
  g_free (Y);
  g_free (Y2);
  g_free (Wq);
  g_rand_free (r);
}

/* Large enough to be split across threads: same result as one thread, up
 * to summation order (the four-row kernels group rows by chunk). */
static void
test_threaded_matvec (void)
{
  const int64_t rows = 1001, cols = 1024;
  static const llm_type types[] = { LLM_TYPE_Q4_0, LLM_TYPE_Q8_0, LLM_TYPE_Q4_K, LLM_TYPE_F16, LLM_TYPE_Q6_K };
  GRand *r = g_rand_new_with_seed (23);
  float *W = g_new (float, rows * cols), *x = g_new (float, cols);
  float *y1 = g_new (float, rows), *y3 = g_new (float, rows);
  uint8_t *Wq = g_malloc (rows * cols * 4);
  llm_pool *pool = llm_pool_new (3);

  for (int64_t i = 0; i < rows * cols; i++)
    W[i] = gauss (r);
  for (int64_t i = 0; i < cols; i++)
    x[i] = gauss (r);
  for (size_t t = 0; t < G_N_ELEMENTS (types); t++)
    {
      size_t rs = llm_row_size (types[t], cols);
      for (int64_t i = 0; i < rows; i++)
        llm_quantize_row (types[t], W + i * cols, Wq + i * rs, cols);
      g_assert_cmpuint (rs * rows, >=, 64 * 1024);
      g_assert_true (llm_matvec (NULL, types[t], Wq, rows, cols, x, y1));
      for (int rep = 0; rep < 20; rep++)
        {
          g_assert_true (llm_matvec (pool, types[t], Wq, rows, cols, x, y3));
          for (int64_t i = 0; i < rows; i++)
            g_assert_cmpfloat_with_epsilon (y1[i], y3[i], 1e-3);
        }
    }
  llm_pool_free (pool);
  g_free (W);
  g_free (x);
  g_free (y1);
  g_free (y3);
  g_free (Wq);
  g_rand_free (r);
}

static void
test_products (void)
{
  llm_pool *pool;

  check_products (NULL);
  pool = llm_pool_new (3);
  g_assert_cmpint (llm_pool_n_threads (pool), ==, 3);
  for (int i = 0; i < 3; i++)
    check_products (pool);
  llm_pool_free (pool);
}

/* A batched product equals a matrix-vector product per activation row, for
 * every type and method, with row counts that leave partial tiles (the
 * batch kernels take 16 rows at a time) and batch sizes that leave partial
 * groups of tokens (8, 4, 2, 1), and F16/F32 rows of 40 (a partial vector).
 * Same quantized activations, so only the float summation order differs. */
static void
test_batch_vs_matvec (void)
{
  static const int64_t shapes[][2] = { { 37, 64 }, { 16, 96 }, { 67, 512 }, { 3, 256 }, { 19, 40 } };
  static const int64_t batches[] = { 1, 2, 3, 7, 8, 13, 21 };
  GRand *r = g_rand_new_with_seed (31);
  llm_pool *pool = llm_pool_new (3);

  for (size_t s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      const int64_t rows = shapes[s][0], cols = shapes[s][1], max_b = 21;
      float *W = g_new (float, rows * cols), *X = g_new (float, max_b * cols);
      float *Y = g_new (float, max_b * rows), *y = g_new (float, rows);
      uint8_t *Wq = g_malloc (rows * cols * 4);

      for (int64_t i = 0; i < rows * cols; i++)
        W[i] = gauss (r);
      for (int64_t i = 0; i < max_b * cols; i++)
        X[i] = gauss (r) * (i % 5 == 0 ? 4.0f : 1.0f);
      for (size_t t = 0; t < G_N_ELEMENTS (weight_types); t++)
        {
          llm_type type = weight_types[t];
          size_t rs = llm_row_size (type, cols);
          if (rs == 0)
            continue;   /* K types need 256 columns */
          for (int64_t i = 0; i < rows; i++)
            llm_quantize_row (type, W + i * cols, Wq + i * rs, cols);
          for (size_t bi = 0; bi < G_N_ELEMENTS (batches); bi++)
            for (int method = LLM_MATMUL_AUTO; method <= LLM_MATMUL_DOT; method++)
              {
                int64_t nb = batches[bi];
                g_assert_true (llm_matmul (pool, type, Wq, rows, cols, X, nb, Y, method));
                for (int64_t b = 0; b < nb; b++)
                  {
                    g_assert_true (llm_matvec (NULL, type, Wq, rows, cols, X + b * cols, y));
                    for (int64_t i = 0; i < rows; i++)
                      {
                        double tol = 1e-5 * (1 + fabs (y[i])) * sqrt ((double) cols);
                        if (fabs (Y[b * rows + i] - y[i]) > tol)
                          g_error ("%s %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT " batch %" G_GINT64_FORMAT
                                   " row %" G_GINT64_FORMAT " token %" G_GINT64_FORMAT ": %g vs %g",
                                   llm_type_name (type), rows, cols, nb, i, b, Y[b * rows + i], y[i]);
                      }
                  }
              }
        }
      g_free (W);
      g_free (X);
      g_free (Y);
      g_free (y);
      g_free (Wq);
    }
  llm_pool_free (pool);
  g_rand_free (r);
}

static void
test_type_names (void)
{
  g_assert_cmpint (llm_type_from_name ("q4_k"), ==, LLM_TYPE_Q4_K);
  g_assert_cmpint (llm_type_from_name ("BF16"), ==, LLM_TYPE_BF16);
  g_assert_cmpint (llm_type_from_name ("Q4_2"), ==, -1);
  g_assert_cmpstr (llm_type_name (LLM_TYPE_Q6_K), ==, "Q6_K");
  g_assert_cmpstr (llm_type_name (4), ==, "?");
  g_assert_cmpuint (llm_row_size (LLM_TYPE_Q4_0, 64), ==, 36);
  g_assert_cmpuint (llm_row_size (LLM_TYPE_Q6_K, 100), ==, 0);
}

/* The AVX-512 single-token attention (keys and values cached in F16 and
 * in floats) against a plain double-precision one:
 * head groups of 1, 2, 4, 5 and 8, head sizes 64, 80 and 128, key counts on and off
 * multiples of 16 (the transposed sums and the masked tails), and scores
 * large enough that the softmax is peaked. */
static void
test_attend (void)
{
  static const int groups[] = { 1, 2, 4, 5, 8 }, hds[] = { 64, 80, 128 }, ns[] = { 1, 5, 16, 17, 64, 100, 257 };
  GRand *r = g_rand_new_with_seed (11);

  if (!llm_cpu_has_avx512 ())
    {
      g_test_skip ("no AVX-512 on this CPU");
      g_rand_free (r);
      return;
    }
  for (size_t a = 0; a < G_N_ELEMENTS (groups); a++)
    for (size_t b = 0; b < G_N_ELEMENTS (hds); b++)
      for (size_t c = 0; c < G_N_ELEMENTS (ns); c++)
        {
          int group = groups[a], hd = hds[b], n = ns[c], ld = n + 3;
          float *q = g_new (float, group * hd), *Kf = g_new (float, n * hd), *Vf = g_new (float, n * hd);
          guint16 *K = g_new (guint16, n * hd), *V = g_new (guint16, n * hd);
          float *scores = g_new (float, group * ld), *out = g_new (float, group * hd);
          float scale = 1.0f / sqrtf ((float) hd);
          double *p = g_new (double, n);

          for (int i = 0; i < group * hd; i++)
            q[i] = 3 * gauss (r);
          for (int i = 0; i < n * hd; i++)
            {
              K[i] = llm_fp32_to_fp16 ((float) gauss (r));
              V[i] = llm_fp32_to_fp16 ((float) gauss (r));
              Kf[i] = llm_fp16_to_fp32 (K[i]);
              Vf[i] = llm_fp16_to_fp32 (V[i]);
            }
          /* the same values cached as F16 and as floats */
          for (int f16 = 0; f16 < 2; f16++)
          {
          g_assert_true (llm_attend_avx512 (group, hd, n, q, f16 ? (void *) K : (void *) Kf,
                                            f16 ? (void *) V : (void *) Vf, f16, scale, scores, ld, out));
          for (int g = 0; g < group; g++)
            {
              double max = -1e300, sum = 0;
              for (int j = 0; j < n; j++)
                {
                  double s = 0;
                  for (int i = 0; i < hd; i++)
                    s += (double) q[g * hd + i] * Kf[j * hd + i];
                  p[j] = s * scale;
                  max = MAX (max, p[j]);
                }
              for (int j = 0; j < n; j++)
                sum += (p[j] = exp (p[j] - max));
              for (int j = 0; j < n; j++)
                {
                  p[j] /= sum;
                  if (fabs (scores[g * ld + j] - p[j]) > 1e-5 + 1e-5 * p[j])
                    g_error ("group %d hd %d n %d head %d key %d: p %.9g vs %.9g", group, hd, n, g, j,
                             scores[g * ld + j], p[j]);
                }
              for (int i = 0; i < hd; i++)
                {
                  double o = 0;
                  for (int j = 0; j < n; j++)
                    o += p[j] * Vf[j * hd + i];
                  if (fabs (out[g * hd + i] - o) > 1e-5 * (1 + fabs (o)))
                    g_error ("group %d hd %d n %d head %d dim %d: out %.9g vs %.9g", group, hd, n, g, i,
                             out[g * hd + i], o);
                }
            }
          }
          g_free (q); g_free (K); g_free (V); g_free (Kf); g_free (Vf); g_free (scores); g_free (out); g_free (p);
        }
  /* shapes without a path are refused, not computed */
  {
    float x[48] = { 0 }, sc[4], o[48];
    guint16 kv[48] = { 0 };
    g_assert_false (llm_attend_avx512 (1, 24, 2, x, kv, kv, true, 1.0f, sc, 2, o));
    g_assert_false (llm_attend_avx512 (9, 16, 1, x, kv, kv, false, 1.0f, sc, 1, o));
  }
  g_rand_free (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/llm/quant/type-names", test_type_names);
  g_test_add_func ("/llm/quant/fp16", test_fp16);
  g_test_add_func ("/llm/quant/q8_0-block", test_q8_0_block);
  g_test_add_func ("/llm/quant/q4_0-block", test_q4_0_block);
  g_test_add_func ("/llm/quant/k-blocks", test_k_blocks);
  g_test_add_func ("/llm/quant/round-trip-rms", test_round_trip_rms);
  g_test_add_func ("/llm/quant/simd-vs-scalar", test_simd_vs_scalar);
  g_test_add_func ("/llm/quant/simd-integer-exact", test_simd_integer_exact);
  g_test_add_func ("/llm/quant/dot4", test_dot4);
  g_test_add_func ("/llm/quant/quantize-activations", test_quantize_activations);
  g_test_add_func ("/llm/quant/dot-vs-dequantized", test_dot_vs_dequantized);
  g_test_add_func ("/llm/quant/products", test_products);
  g_test_add_func ("/llm/quant/threaded-matvec", test_threaded_matvec);
  g_test_add_func ("/llm/quant/batch-vs-matvec", test_batch_vs_matvec);
  g_test_add_func ("/llm/quant/attend", test_attend);
  return g_test_run ();
}
