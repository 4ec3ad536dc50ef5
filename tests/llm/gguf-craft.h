/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Crafted GGUF files: one valid small file and a corpus of broken ones, each
 * with the error the reader must give. Shared by test-gguf and the fuzzer's
 * seed corpus writer. Plain C (no GLib) so the fuzz target can use it. */
#pragma once

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm-gguf.h"

typedef struct {
  uint8_t *p;
  size_t   len, cap;
} craft_buf;

static inline void
craft_add (craft_buf *b, const void *d, size_t n)
{
  if (b->len + n > b->cap)
    {
      b->cap = (b->len + n) * 2 + 64;
      b->p = realloc (b->p, b->cap);
    }
  memcpy (b->p + b->len, d, n);
  b->len += n;
}
static inline void craft_u8 (craft_buf *b, uint8_t v) { craft_add (b, &v, 1); }
static inline void craft_u32 (craft_buf *b, uint32_t v) { craft_add (b, &v, 4); }
static inline void craft_u64 (craft_buf *b, uint64_t v) { craft_add (b, &v, 8); }
static inline void
craft_str (craft_buf *b, const char *s)
{
  craft_u64 (b, strlen (s));
  craft_add (b, s, strlen (s));
}
static inline void
craft_header (craft_buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
  craft_add (b, "GGUF", 4);
  craft_u32 (b, version);
  craft_u64 (b, n_tensors);
  craft_u64 (b, n_kv);
}
static inline void
craft_kv_str (craft_buf *b, const char *key, const char *val)
{
  craft_str (b, key);
  craft_u32 (b, LLM_GGUF_TYPE_STRING);
  craft_str (b, val);
}
static inline void
craft_kv_u32 (craft_buf *b, const char *key, uint32_t val)
{
  craft_str (b, key);
  craft_u32 (b, LLM_GGUF_TYPE_UINT32);
  craft_u32 (b, val);
}
static inline void
craft_tensor (craft_buf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
              uint32_t type, uint64_t offset)
{
  craft_str (b, name);
  craft_u32 (b, n_dims);
  for (uint32_t i = 0; i < n_dims; i++)
    craft_u64 (b, ne[i]);
  craft_u32 (b, type);
  craft_u64 (b, offset);
}
static inline void
craft_pad (craft_buf *b, size_t align)
{
  while (b->len % align)
    craft_u8 (b, 0);
}
static inline void
craft_zeros (craft_buf *b, size_t n)
{
  for (size_t i = 0; i < n; i++)
    craft_u8 (b, (uint8_t) i);
}

/* The valid base: 2 tensors (F32 [8] at 0, Q8_0 [32,2] at 32), 3 keys. */
static inline void
craft_valid (craft_buf *b)
{
  static const uint64_t ne_a[] = { 8 }, ne_b[] = { 32, 2 };
  craft_header (b, 3, 2, 3);
  craft_kv_str (b, "general.architecture", "llama");
  craft_kv_u32 (b, "general.alignment", 32);
  craft_str (b, "tokenizer.ggml.tokens");
  craft_u32 (b, LLM_GGUF_TYPE_ARRAY);
  craft_u32 (b, LLM_GGUF_TYPE_STRING);
  craft_u64 (b, 3);
  craft_str (b, "a");
  craft_str (b, "bc");
  craft_str (b, "");
  craft_tensor (b, "a", 1, ne_a, LLM_TYPE_F32, 0);
  craft_tensor (b, "b", 2, ne_b, LLM_TYPE_Q8_0, 32);
  craft_pad (b, 32);
  craft_zeros (b, 32 + 68);
}

typedef struct {
  const char     *name;
  llm_gguf_status expect;
} craft_case;

/* A header with one tensor info of the given shape, then @data bytes. */
static inline void
craft_one_tensor (craft_buf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                  uint32_t type, uint64_t offset, size_t data)
{
  craft_header (b, 3, 1, 0);
  craft_tensor (b, name, n_dims, ne, type, offset);
  craft_pad (b, 32);
  craft_zeros (b, data);
}

static const craft_case craft_cases[] = {
  { "empty", LLM_GGUF_E_TRUNCATED },
  { "truncated-header", LLM_GGUF_E_TRUNCATED },
  { "bad-magic", LLM_GGUF_E_MAGIC },
  { "version-1", LLM_GGUF_E_VERSION },
  { "big-endian", LLM_GGUF_E_BIG_ENDIAN },
  { "huge-tensor-count", LLM_GGUF_E_TENSOR_COUNT },
  { "huge-kv-count", LLM_GGUF_E_KV_COUNT },
  { "key-length-past-end", LLM_GGUF_E_STRING_LENGTH },
  { "empty-key", LLM_GGUF_E_KEY },
  { "key-with-nul", LLM_GGUF_E_KEY },
  { "duplicate-key", LLM_GGUF_E_DUPLICATE_KEY },
  { "unknown-value-type", LLM_GGUF_E_VALUE_TYPE },
  { "unknown-array-type", LLM_GGUF_E_ARRAY_TYPE },
  { "array-length-past-end", LLM_GGUF_E_ARRAY_LENGTH },
  { "string-array-length-past-end", LLM_GGUF_E_ARRAY_LENGTH },
  { "string-in-array-past-end", LLM_GGUF_E_STRING_LENGTH },
  { "nested-too-deep", LLM_GGUF_E_NESTING },
  { "bad-bool", LLM_GGUF_E_BOOL },
  { "alignment-not-power-of-two", LLM_GGUF_E_ALIGNMENT },
  { "alignment-wrong-type", LLM_GGUF_E_ALIGNMENT },
  { "empty-tensor-name", LLM_GGUF_E_TENSOR_NAME },
  { "long-tensor-name", LLM_GGUF_E_TENSOR_NAME },
  { "duplicate-tensor", LLM_GGUF_E_DUPLICATE_TENSOR },
  { "too-many-dims", LLM_GGUF_E_N_DIMS },
  { "huge-dimension", LLM_GGUF_E_DIMENSION },
  { "dimension-overflow", LLM_GGUF_E_DIM_OVERFLOW },
  { "size-overflow", LLM_GGUF_E_DIM_OVERFLOW },
  { "unknown-tensor-type", LLM_GGUF_E_TENSOR_TYPE },
  { "removed-tensor-type", LLM_GGUF_E_TENSOR_TYPE },
  { "partial-block", LLM_GGUF_E_BLOCK },
  { "misaligned-offset", LLM_GGUF_E_MISALIGNED },
  { "offset-past-end", LLM_GGUF_E_OFFSET },
  { "size-past-end", LLM_GGUF_E_OFFSET },
  { "offset-wraps", LLM_GGUF_E_OFFSET },
  { "overlapping-tensors", LLM_GGUF_E_OVERLAP },
  { "truncated-tensor-info", LLM_GGUF_E_TRUNCATED },
  { "data-start-past-end", LLM_GGUF_E_DATA_START },
};
#define CRAFT_N_CASES (sizeof craft_cases / sizeof craft_cases[0])

/* Builds case @i into @b (empty on entry). */
static inline void
craft_build (size_t i, craft_buf *b)
{
  const char *n = craft_cases[i].name;
  static const uint64_t ne8[] = { 8 }, ne32x2[] = { 32, 2 };

  if (!strcmp (n, "empty"))
    return;
  if (!strcmp (n, "truncated-header"))
    {
      craft_add (b, "GGUF\3\0", 6);
      return;
    }
  if (!strcmp (n, "bad-magic"))
    {
      craft_add (b, "GGML", 4);
      craft_u32 (b, 3);
      craft_u64 (b, 0);
      craft_u64 (b, 0);
      return;
    }
  if (!strcmp (n, "version-1"))
    {
      craft_header (b, 1, 0, 0);
      return;
    }
  if (!strcmp (n, "big-endian"))
    {
      craft_header (b, 0x03000000u, 0, 0);
      return;
    }
  if (!strcmp (n, "huge-tensor-count"))
    {
      craft_header (b, 3, (uint64_t) 1 << 60, 0);
      craft_zeros (b, 64);
      return;
    }
  if (!strcmp (n, "huge-kv-count"))
    {
      craft_header (b, 3, 0, UINT64_MAX);
      craft_zeros (b, 64);
      return;
    }
  if (!strcmp (n, "key-length-past-end"))
    {
      craft_header (b, 3, 0, 1);
      craft_u64 (b, 1000);
      craft_add (b, "general.name", 12);
      craft_u32 (b, LLM_GGUF_TYPE_UINT8);
      craft_u8 (b, 1);
      return;
    }
  if (!strcmp (n, "empty-key"))
    {
      craft_header (b, 3, 0, 1);
      craft_kv_u32 (b, "", 1);
      return;
    }
  if (!strcmp (n, "key-with-nul"))
    {
      craft_header (b, 3, 0, 1);
      craft_u64 (b, 3);
      craft_add (b, "a\0b", 3);
      craft_u32 (b, LLM_GGUF_TYPE_UINT32);
      craft_u32 (b, 1);
      return;
    }
  if (!strcmp (n, "duplicate-key"))
    {
      craft_header (b, 3, 0, 2);
      craft_kv_str (b, "general.name", "x");
      craft_kv_str (b, "general.name", "y");
      return;
    }
  if (!strcmp (n, "unknown-value-type"))
    {
      craft_header (b, 3, 0, 1);
      craft_str (b, "general.name");
      craft_u32 (b, 13);
      craft_u64 (b, 0);
      return;
    }
  if (!strcmp (n, "unknown-array-type"))
    {
      craft_header (b, 3, 0, 1);
      craft_str (b, "x.arr");
      craft_u32 (b, LLM_GGUF_TYPE_ARRAY);
      craft_u32 (b, 99);
      craft_u64 (b, 1);
      craft_u32 (b, 0);
      return;
    }
  if (!strcmp (n, "array-length-past-end"))
    {
      craft_header (b, 3, 0, 1);
      craft_str (b, "x.arr");
      craft_u32 (b, LLM_GGUF_TYPE_ARRAY);
      craft_u32 (b, LLM_GGUF_TYPE_UINT32);
      craft_u64 (b, (uint64_t) 1 << 62);   /* ×4 wraps to 0 without a check */
      craft_u32 (b, 7);
      return;
    }
  if (!strcmp (n, "string-array-length-past-end"))
    {
      craft_header (b, 3, 0, 1);
      craft_str (b, "tokenizer.ggml.tokens");
      craft_u32 (b, LLM_GGUF_TYPE_ARRAY);
      craft_u32 (b, LLM_GGUF_TYPE_STRING);
      craft_u64 (b, 1000000);
      craft_str (b, "a");
      return;
    }
  if (!strcmp (n, "string-in-array-past-end"))
    {
      craft_header (b, 3, 0, 1);
      craft_str (b, "tokenizer.ggml.tokens");
      craft_u32 (b, LLM_GGUF_TYPE_ARRAY);
      craft_u32 (b, LLM_GGUF_TYPE_STRING);
      craft_u64 (b, 2);
      craft_str (b, "a");
      craft_u64 (b, UINT64_MAX);
      craft_zeros (b, 8);
      return;
    }
  if (!strcmp (n, "nested-too-deep"))
    {
      craft_header (b, 3, 0, 1);
      craft_str (b, "x.nested");
      craft_u32 (b, LLM_GGUF_TYPE_ARRAY);
      for (int d = 0; d < 4; d++)
        {
          craft_u32 (b, LLM_GGUF_TYPE_ARRAY);
          craft_u64 (b, 1);
        }
      craft_u32 (b, LLM_GGUF_TYPE_UINT8);
      craft_u64 (b, 0);
      return;
    }
  if (!strcmp (n, "bad-bool"))
    {
      craft_header (b, 3, 0, 1);
      craft_str (b, "x.flag");
      craft_u32 (b, LLM_GGUF_TYPE_BOOL);
      craft_u8 (b, 2);
      return;
    }
  if (!strcmp (n, "alignment-not-power-of-two"))
    {
      craft_header (b, 3, 0, 1);
      craft_kv_u32 (b, "general.alignment", 48);
      return;
    }
  if (!strcmp (n, "alignment-wrong-type"))
    {
      craft_header (b, 3, 0, 1);
      craft_kv_str (b, "general.alignment", "32");
      return;
    }
  if (!strcmp (n, "empty-tensor-name"))
    {
      craft_one_tensor (b, "", 1, ne8, LLM_TYPE_F32, 0, 32);
      return;
    }
  if (!strcmp (n, "long-tensor-name"))
    {
      char name[301];
      memset (name, 'x', 300);
      name[300] = '\0';
      craft_one_tensor (b, name, 1, ne8, LLM_TYPE_F32, 0, 32);
      return;
    }
  if (!strcmp (n, "duplicate-tensor"))
    {
      craft_header (b, 3, 2, 0);
      craft_tensor (b, "w", 1, ne8, LLM_TYPE_F32, 0);
      craft_tensor (b, "w", 1, ne8, LLM_TYPE_F32, 32);
      craft_pad (b, 32);
      craft_zeros (b, 64);
      return;
    }
  if (!strcmp (n, "too-many-dims"))
    {
      static const uint64_t ne[] = { 1, 1, 1, 1, 8 };
      craft_one_tensor (b, "w", 5, ne, LLM_TYPE_F32, 0, 32);
      return;
    }
  if (!strcmp (n, "huge-dimension"))
    {
      static const uint64_t ne[] = { UINT64_MAX };
      craft_one_tensor (b, "w", 1, ne, LLM_TYPE_F32, 0, 32);
      return;
    }
  if (!strcmp (n, "dimension-overflow"))
    {
      static const uint64_t ne[] = { (uint64_t) 1 << 32, (uint64_t) 1 << 32 };
      craft_one_tensor (b, "w", 2, ne, LLM_TYPE_F32, 0, 32);
      return;
    }
  if (!strcmp (n, "size-overflow"))
    {
      /* Fits in int64 as an element count, not as bytes. */
      static const uint64_t ne[] = { (uint64_t) 1 << 62 };
      craft_one_tensor (b, "w", 1, ne, LLM_TYPE_F32, 0, 32);
      return;
    }
  if (!strcmp (n, "unknown-tensor-type"))
    {
      craft_one_tensor (b, "w", 1, ne8, 99, 0, 32);
      return;
    }
  if (!strcmp (n, "removed-tensor-type"))
    {
      craft_one_tensor (b, "w", 1, ne8, 4, 0, 32);
      return;
    }
  if (!strcmp (n, "partial-block"))
    {
      static const uint64_t ne[] = { 33 };
      craft_one_tensor (b, "w", 1, ne, LLM_TYPE_Q8_0, 0, 64);
      return;
    }
  if (!strcmp (n, "misaligned-offset"))
    {
      craft_one_tensor (b, "w", 1, ne8, LLM_TYPE_F32, 4, 64);
      return;
    }
  if (!strcmp (n, "offset-past-end"))
    {
      craft_one_tensor (b, "w", 1, ne8, LLM_TYPE_F32, 1 << 20, 32);
      return;
    }
  if (!strcmp (n, "size-past-end"))
    {
      craft_one_tensor (b, "w", 2, ne32x2, LLM_TYPE_Q8_0, 0, 67);
      return;
    }
  if (!strcmp (n, "offset-wraps"))
    {
      craft_one_tensor (b, "w", 1, ne8, LLM_TYPE_F32, UINT64_MAX - 31, 32);
      return;
    }
  if (!strcmp (n, "overlapping-tensors"))
    {
      craft_header (b, 3, 2, 0);
      craft_tensor (b, "a", 2, ne32x2, LLM_TYPE_Q8_0, 0);
      craft_tensor (b, "b", 1, ne8, LLM_TYPE_F32, 32);
      craft_pad (b, 32);
      craft_zeros (b, 128);
      return;
    }
  if (!strcmp (n, "truncated-tensor-info"))
    {
      craft_header (b, 3, 2, 0);
      craft_tensor (b, "a", 1, ne8, LLM_TYPE_F32, 0);
      craft_str (b, "blk.0.a.rather.long.tensor.name.weight.x");
      craft_u32 (b, 1);
      return;
    }
  if (!strcmp (n, "data-start-past-end"))
    {
      craft_header (b, 3, 1, 0);
      craft_tensor (b, "w", 1, ne8, LLM_TYPE_F32, 0);   /* ends at 62, not aligned */
      return;
    }
}
