/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Model quantizer: F32/F16/BF16 GGUF in, a GGUF of one of the usual mixes
 * out (Q8_0, Q6_K, Q5_K_M, Q4_K_M, Q4_0), metadata kept.
 * Plain C11, no GLib. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llm-gguf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* general.file_type values, as other GGUF tools write them. */
typedef enum {
  LLM_FTYPE_Q4_0   = 2,
  LLM_FTYPE_Q8_0   = 7,
  LLM_FTYPE_Q4_K_M = 15,
  LLM_FTYPE_Q5_K_M = 17,
  LLM_FTYPE_Q6_K   = 18,
} llm_ftype;

/* "Q4_K_M" (any case) → ftype; -1 when not one we make. The name of any
 * general.file_type value other tools write, or NULL. */
int         llm_ftype_from_name (const char *name);
const char *llm_ftype_name (int ftype);

typedef void (*llm_quantize_progress) (void *data, size_t index, size_t n_tensors,
                                       const char *name, llm_type from, llm_type to);

typedef struct {
  int                    ftype;
  int                    n_threads;      /* 0: one per CPU */
  llm_quantize_progress  progress;       /* called before each tensor; may be NULL */
  void                  *progress_data;
  const volatile int    *cancel;         /* set non-zero to stop; may be NULL */
} llm_quantize_params;

typedef struct {
  uint64_t size_in, size_out;            /* file sizes in bytes */
  uint64_t n_tensors, n_quantized;
  uint32_t type_counts[LLM_TYPE_COUNT];  /* tensors of each type in the output */
} llm_quantize_result;

/* The output type of every tensor of @g (in file order) for @ftype, by the
 * usual conventions: 1-D tensors and norms keep their type; the output
 * matrix (or the token embedding when tied) is Q6_K except in Q8_0 files;
 * Q4_K_M/Q5_K_M keep part of attn_v and ffn_down at Q6_K. Returns false with
 * a reason when a tensor that should be quantized is not F32/F16/BF16. */
bool llm_quantize_plan (const llm_gguf *g, int ftype, llm_type *types,
                        char *err, size_t err_size);

/* Quantizes @in into @out (written to a temporary name, then renamed). */
bool llm_quantize_file (const char *in, const char *out, const llm_quantize_params *params,
                        llm_quantize_result *result, char *err, size_t err_size);

#ifdef __cplusplus
}
#endif
