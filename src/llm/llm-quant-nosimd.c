/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Stand-in for compilers without AVX2 support: every type uses the scalar path. */
#include "llm-quant.h"

bool
llm_vec_dot_avx2 (llm_type type, int64_t n, const void *x, const void *y, float *out)
{
  return false;
}

bool
llm_vec_dot4_avx2 (llm_type type, int64_t n, const void *x, size_t stride, const void *y,
                   float out[4])
{
  return false;
}
