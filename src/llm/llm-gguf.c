/* SPDX-License-Identifier: GPL-3.0-or-later */
/* GGUF reader and writer.
 *
 * The reader treats the file as hostile: every count, length, dimension and
 * offset is checked against the bytes that are really there, with
 * overflow-checked arithmetic, before anything is allocated or read. Values
 * are read little-endian with memcpy (no unaligned loads). */
#include "llm-gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_MAGIC        0x46554747u  /* "GGUF" little-endian */
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DEPTH    3            /* arrays of arrays of arrays at most */

struct llm_gguf {
  const uint8_t   *base;
  size_t           size;
  bool             mapped;
  uint32_t         version;
  uint32_t         alignment;
  uint64_t         data_offset;
  llm_gguf_kv     *kvs;
  size_t           n_kv;
  size_t          *kv_sorted;      /* indices of kvs sorted by key */
  llm_gguf_tensor *tensors;
  size_t           n_tensors;
  size_t          *tensor_sorted;  /* indices of tensors sorted by name */
};

static const char *const status_names[LLM_GGUF_E_COUNT] = {
  "ok", "io", "out of memory", "truncated", "bad magic", "big-endian",
  "unsupported version", "tensor count", "metadata count", "bad key",
  "duplicate key", "string length", "value type", "array type",
  "array length", "nesting", "bad bool", "alignment", "tensor name",
  "duplicate tensor", "dimension count", "dimension", "dimension overflow",
  "tensor type", "partial block", "misaligned tensor", "tensor offset",
  "overlapping tensors", "data start", "write", "invalid argument",
};

const char *
llm_gguf_status_name (llm_gguf_status code)
{
  if ((unsigned) code >= LLM_GGUF_E_COUNT)
    return "?";
  return status_names[code];
}

static const char *const type_names[LLM_GGUF_TYPE_COUNT] = {
  "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool",
  "string", "array", "uint64", "int64", "float64",
};

const char *
llm_gguf_type_name (llm_gguf_type type)
{
  if ((unsigned) type >= LLM_GGUF_TYPE_COUNT)
    return "?";
  return type_names[type];
}

/* Bytes of a fixed-size value type; 0 for STRING and ARRAY. */
static size_t
value_size (llm_gguf_type type)
{
  switch (type)
    {
    case LLM_GGUF_TYPE_UINT8: case LLM_GGUF_TYPE_INT8: case LLM_GGUF_TYPE_BOOL:
      return 1;
    case LLM_GGUF_TYPE_UINT16: case LLM_GGUF_TYPE_INT16:
      return 2;
    case LLM_GGUF_TYPE_UINT32: case LLM_GGUF_TYPE_INT32: case LLM_GGUF_TYPE_FLOAT32:
      return 4;
    case LLM_GGUF_TYPE_UINT64: case LLM_GGUF_TYPE_INT64: case LLM_GGUF_TYPE_FLOAT64:
      return 8;
    default:
      return 0;
    }
}

static bool
set_error (llm_gguf_error *error, llm_gguf_status code, const char *fmt, ...)
{
  if (error != NULL && error->code == LLM_GGUF_OK)
    {
      va_list ap;
      error->code = code;
      va_start (ap, fmt);
      vsnprintf (error->message, sizeof error->message, fmt, ap);
      va_end (ap);
    }
  return false;
}

/* ---- reading ----------------------------------------------------------- */

typedef struct {
  const uint8_t  *base;
  size_t          size;
  size_t          pos;
  llm_gguf_error *error;
} cursor;

static size_t
remaining (const cursor *c)
{
  return c->size - c->pos;
}

static bool
take (cursor *c, size_t n, const char *what, const void **out)
{
  if (n > remaining (c))
    return set_error (c->error, LLM_GGUF_E_TRUNCATED,
                      "file ends inside %s (offset %zu, %zu bytes needed, %zu left)",
                      what, c->pos, n, remaining (c));
  *out = c->base + c->pos;
  c->pos += n;
  return true;
}

static bool
read_u32 (cursor *c, const char *what, uint32_t *v)
{
  const void *p = NULL;
  if (!take (c, 4, what, &p))
    return false;
  memcpy (v, p, 4);
  return true;
}

static bool
read_u64 (cursor *c, const char *what, uint64_t *v)
{
  const void *p = NULL;
  if (!take (c, 8, what, &p))
    return false;
  memcpy (v, p, 8);
  return true;
}

/* A string: u64 length then bytes. */
static bool
read_string (cursor *c, const char *what, const char **str, uint64_t *len)
{
  const void *p = NULL;

  if (!read_u64 (c, what, len))
    return false;
  if (*len > remaining (c))
    return set_error (c->error, LLM_GGUF_E_STRING_LENGTH,
                      "%s at offset %zu has length %llu but only %zu bytes remain",
                      what, c->pos - 8, (unsigned long long) *len, remaining (c));
  take (c, (size_t) *len, what, &p);
  *str = p;
  return true;
}

static void
value_clear (llm_gguf_value *v)
{
  if (v->type != LLM_GGUF_TYPE_ARRAY)
    return;
  free ((void *) v->arr_strings);
  v->arr_strings = NULL;
  if (v->arr_elems != NULL)
    {
      for (uint64_t i = 0; i < v->arr_n; i++)
        value_clear (&v->arr_elems[i]);
      free (v->arr_elems);
      v->arr_elems = NULL;
    }
}

static void
decode_scalar (llm_gguf_value *v, const uint8_t *p)
{
  switch (v->type)
    {
    case LLM_GGUF_TYPE_UINT8:  v->num.u64 = p[0]; break;
    case LLM_GGUF_TYPE_BOOL:   v->num.u64 = p[0]; break;
    case LLM_GGUF_TYPE_INT8:   v->num.i64 = (int8_t) p[0]; break;
    case LLM_GGUF_TYPE_UINT16: { uint16_t x; memcpy (&x, p, 2); v->num.u64 = x; break; }
    case LLM_GGUF_TYPE_INT16:  { int16_t x;  memcpy (&x, p, 2); v->num.i64 = x; break; }
    case LLM_GGUF_TYPE_UINT32: { uint32_t x; memcpy (&x, p, 4); v->num.u64 = x; break; }
    case LLM_GGUF_TYPE_INT32:  { int32_t x;  memcpy (&x, p, 4); v->num.i64 = x; break; }
    case LLM_GGUF_TYPE_UINT64: { uint64_t x; memcpy (&x, p, 8); v->num.u64 = x; break; }
    case LLM_GGUF_TYPE_INT64:  { int64_t x;  memcpy (&x, p, 8); v->num.i64 = x; break; }
    case LLM_GGUF_TYPE_FLOAT32: { float x;   memcpy (&x, p, 4); v->num.f64 = x; break; }
    case LLM_GGUF_TYPE_FLOAT64: { double x;  memcpy (&x, p, 8); v->num.f64 = x; break; }
    default: break;
    }
}

static bool read_value (cursor *c, llm_gguf_type type, int depth, const char *key,
                        llm_gguf_value *v);

static bool
read_array (cursor *c, int depth, const char *key, llm_gguf_value *v)
{
  uint32_t elem_type;
  uint64_t n;
  size_t esize;

  if (depth >= GGUF_MAX_DEPTH)
    return set_error (c->error, LLM_GGUF_E_NESTING,
                      "metadata \"%s\": arrays nested more than %d deep", key, GGUF_MAX_DEPTH);
  if (!read_u32 (c, "an array type", &elem_type) || !read_u64 (c, "an array length", &n))
    return false;
  if (elem_type >= LLM_GGUF_TYPE_COUNT)
    return set_error (c->error, LLM_GGUF_E_ARRAY_TYPE,
                      "metadata \"%s\": unknown array element type %u", key, elem_type);
  v->arr_type = (llm_gguf_type) elem_type;
  v->arr_n = n;
  esize = value_size (v->arr_type);
  if (esize > 0)
    {
      if (n > remaining (c) / esize)
        return set_error (c->error, LLM_GGUF_E_ARRAY_LENGTH,
                          "metadata \"%s\": array of %llu %s runs past the end of the file",
                          key, (unsigned long long) n, llm_gguf_type_name (v->arr_type));
      v->arr_data = c->base + c->pos;
      if (v->arr_type == LLM_GGUF_TYPE_BOOL)
        for (uint64_t i = 0; i < n; i++)
          if (v->arr_data[i] > 1)
            return set_error (c->error, LLM_GGUF_E_BOOL,
                              "metadata \"%s\": element %llu is not a bool (%u)", key,
                              (unsigned long long) i, v->arr_data[i]);
      c->pos += (size_t) (n * esize);
      return true;
    }

  if (v->arr_type == LLM_GGUF_TYPE_STRING)
    {
      const uint8_t **strs;
      /* Each string needs at least its 8-byte length. */
      if (n > remaining (c) / 8)
        return set_error (c->error, LLM_GGUF_E_ARRAY_LENGTH,
                          "metadata \"%s\": array of %llu strings runs past the end of the file",
                          key, (unsigned long long) n);
      strs = malloc ((size_t) (n ? n : 1) * sizeof *strs);
      if (strs == NULL)
        return set_error (c->error, LLM_GGUF_E_NOMEM, "metadata \"%s\": out of memory", key);
      v->arr_strings = strs;
      for (uint64_t i = 0; i < n; i++)
        {
          const char *s;
          uint64_t len;
          strs[i] = c->base + c->pos;
          if (!read_string (c, "a string in an array", &s, &len))
            return false;
        }
      return true;
    }

  /* Arrays of arrays: each needs at least a type and a length. */
  if (n > remaining (c) / 12)
    return set_error (c->error, LLM_GGUF_E_ARRAY_LENGTH,
                      "metadata \"%s\": array of %llu arrays runs past the end of the file",
                      key, (unsigned long long) n);
  v->arr_elems = calloc ((size_t) (n ? n : 1), sizeof *v->arr_elems);
  if (v->arr_elems == NULL)
    return set_error (c->error, LLM_GGUF_E_NOMEM, "metadata \"%s\": out of memory", key);
  for (uint64_t i = 0; i < n; i++)
    if (!read_value (c, LLM_GGUF_TYPE_ARRAY, depth + 1, key, &v->arr_elems[i]))
      {
        /* Only elements up to i hold allocations; the rest are zeroed. */
        return false;
      }
  return true;
}

static bool
read_value (cursor *c, llm_gguf_type type, int depth, const char *key, llm_gguf_value *v)
{
  size_t esize = value_size (type);

  memset (v, 0, sizeof *v);
  v->type = type;
  if (esize > 0)
    {
      const void *p = NULL;
      if (!take (c, esize, "a metadata value", &p))
        return false;
      if (type == LLM_GGUF_TYPE_BOOL && *(const uint8_t *) p > 1)
        return set_error (c->error, LLM_GGUF_E_BOOL,
                          "metadata \"%s\" is not a bool (%u)", key, *(const uint8_t *) p);
      decode_scalar (v, p);
      return true;
    }
  if (type == LLM_GGUF_TYPE_STRING)
    return read_string (c, "a string value", &v->str, &v->str_len);
  if (type == LLM_GGUF_TYPE_ARRAY)
    return read_array (c, depth, key, v);
  return set_error (c->error, LLM_GGUF_E_VALUE_TYPE,
                    "metadata \"%s\" has unknown value type %u", key, (unsigned) type);
}

static const llm_gguf *sort_ctx;

static int
cmp_kv (const void *a, const void *b)
{
  return strcmp (sort_ctx->kvs[*(const size_t *) a].key, sort_ctx->kvs[*(const size_t *) b].key);
}

static int
cmp_tensor_name (const void *a, const void *b)
{
  return strcmp (sort_ctx->tensors[*(const size_t *) a].name,
                 sort_ctx->tensors[*(const size_t *) b].name);
}

static int
cmp_tensor_offset (const void *a, const void *b)
{
  uint64_t x = sort_ctx->tensors[*(const size_t *) a].offset;
  uint64_t y = sort_ctx->tensors[*(const size_t *) b].offset;
  return x < y ? -1 : x > y;
}

/* qsort has no context argument in C11; the reader holds a lock around it. */
static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;

static void
sort_indices (const llm_gguf *g, size_t *idx, size_t n, int (*cmp) (const void *, const void *))
{
  for (size_t i = 0; i < n; i++)
    idx[i] = i;
  pthread_mutex_lock (&sort_lock);
  sort_ctx = g;
  qsort (idx, n, sizeof *idx, cmp);
  sort_ctx = NULL;
  pthread_mutex_unlock (&sort_lock);
}

static char *
dup_name (const char *s, uint64_t len)
{
  char *r = malloc ((size_t) len + 1);
  if (r != NULL)
    {
      memcpy (r, s, (size_t) len);
      r[len] = '\0';
    }
  return r;
}

static bool
parse (llm_gguf *g, llm_gguf_error *error)
{
  cursor c = { g->base, g->size, 0, error };
  uint32_t magic;
  uint64_t n_tensors, n_kv;
  const llm_gguf_kv *align_kv;
  uint64_t data_size;

  if (g->size < 4 || !read_u32 (&c, "the magic", &magic))
    return set_error (error, LLM_GGUF_E_TRUNCATED, "file is too short to be GGUF (%zu bytes)", g->size);
  if (magic != GGUF_MAGIC)
    return set_error (error, LLM_GGUF_E_MAGIC, "not a GGUF file (magic %08x)", magic);
  if (!read_u32 (&c, "the header", &g->version))
    return false;
  if (g->version == 0x02000000u || g->version == 0x03000000u)
    return set_error (error, LLM_GGUF_E_BIG_ENDIAN, "big-endian GGUF files are not supported");
  if (g->version != 2 && g->version != 3)
    return set_error (error, LLM_GGUF_E_VERSION,
                      "GGUF version %u is not supported (only 2 and 3)", g->version);
  if (!read_u64 (&c, "the header", &n_tensors) || !read_u64 (&c, "the header", &n_kv))
    return false;
  /* A key/value pair takes at least 8 (key length) + 1 + 4 (type) + 1 bytes;
   * a tensor info 8 + 1 + 4 + 4 + 8 (no dimensions). */
  if (n_kv > remaining (&c) / 14)
    return set_error (error, LLM_GGUF_E_KV_COUNT,
                      "header claims %llu metadata pairs; the file could hold at most %zu",
                      (unsigned long long) n_kv, remaining (&c) / 14);
  if (n_tensors > remaining (&c) / 25)
    return set_error (error, LLM_GGUF_E_TENSOR_COUNT,
                      "header claims %llu tensors; the file could hold at most %zu",
                      (unsigned long long) n_tensors, remaining (&c) / 25);

  g->kvs = calloc ((size_t) n_kv + 1, sizeof *g->kvs);
  g->kv_sorted = calloc ((size_t) n_kv + 1, sizeof *g->kv_sorted);
  if (g->kvs == NULL || g->kv_sorted == NULL)
    return set_error (error, LLM_GGUF_E_NOMEM, "out of memory for %llu metadata pairs",
                      (unsigned long long) n_kv);
  for (uint64_t i = 0; i < n_kv; i++)
    {
      llm_gguf_kv *kv = &g->kvs[i];
      const char *key;
      uint64_t key_len;
      uint32_t type;
      size_t start;

      if (!read_string (&c, "a metadata key", &key, &key_len))
        return false;
      if (key_len == 0)
        return set_error (error, LLM_GGUF_E_KEY, "metadata key %llu is empty",
                          (unsigned long long) i);
      if (memchr (key, '\0', (size_t) key_len) != NULL)
        return set_error (error, LLM_GGUF_E_KEY, "metadata key %llu contains a NUL byte",
                          (unsigned long long) i);
      kv->key = dup_name (key, key_len);
      if (kv->key == NULL)
        return set_error (error, LLM_GGUF_E_NOMEM, "out of memory");
      g->n_kv = i + 1;
      start = c.pos;
      if (!read_u32 (&c, "a metadata type", &type))
        return false;
      if (type >= LLM_GGUF_TYPE_COUNT)
        return set_error (error, LLM_GGUF_E_VALUE_TYPE,
                          "metadata \"%s\" has unknown value type %u", kv->key, type);
      if (!read_value (&c, (llm_gguf_type) type, 0, kv->key, &kv->value))
        return false;
      kv->raw = g->base + start;
      kv->raw_len = c.pos - start;
    }
  sort_indices (g, g->kv_sorted, g->n_kv, cmp_kv);
  for (size_t i = 1; i < g->n_kv; i++)
    if (strcmp (g->kvs[g->kv_sorted[i - 1]].key, g->kvs[g->kv_sorted[i]].key) == 0)
      return set_error (error, LLM_GGUF_E_DUPLICATE_KEY, "metadata key \"%s\" appears twice",
                        g->kvs[g->kv_sorted[i]].key);

  g->alignment = GGUF_DEFAULT_ALIGNMENT;
  align_kv = llm_gguf_find_kv (g, "general.alignment");
  if (align_kv != NULL)
    {
      uint64_t a = align_kv->value.num.u64;
      if (align_kv->value.type != LLM_GGUF_TYPE_UINT32)
        return set_error (error, LLM_GGUF_E_ALIGNMENT, "general.alignment is a %s, not a uint32",
                          llm_gguf_type_name (align_kv->value.type));
      if (a == 0 || (a & (a - 1)) != 0)
        return set_error (error, LLM_GGUF_E_ALIGNMENT,
                          "general.alignment %llu is not a power of two", (unsigned long long) a);
      g->alignment = (uint32_t) a;
    }

  if (n_tensors > remaining (&c) / 25)
    return set_error (error, LLM_GGUF_E_TENSOR_COUNT,
                      "header claims %llu tensors; the rest of the file could hold at most %zu",
                      (unsigned long long) n_tensors, remaining (&c) / 25);
  g->tensors = calloc ((size_t) n_tensors + 1, sizeof *g->tensors);
  g->tensor_sorted = calloc ((size_t) n_tensors + 1, sizeof *g->tensor_sorted);
  if (g->tensors == NULL || g->tensor_sorted == NULL)
    return set_error (error, LLM_GGUF_E_NOMEM, "out of memory for %llu tensors",
                      (unsigned long long) n_tensors);
  for (uint64_t i = 0; i < n_tensors; i++)
    {
      llm_gguf_tensor *t = &g->tensors[i];
      const llm_type_traits *tr;
      const char *name;
      uint64_t name_len, n_el = 1, blocks, size;
      uint32_t type;

      if (!read_string (&c, "a tensor name", &name, &name_len))
        return false;
      if (name_len == 0)
        return set_error (error, LLM_GGUF_E_TENSOR_NAME, "tensor %llu has an empty name",
                          (unsigned long long) i);
      if (name_len >= LLM_GGUF_MAX_NAME || memchr (name, '\0', (size_t) name_len) != NULL)
        return set_error (error, LLM_GGUF_E_TENSOR_NAME,
                          "tensor %llu has an over-long (%llu bytes) or binary name",
                          (unsigned long long) i, (unsigned long long) name_len);
      t->name = dup_name (name, name_len);
      if (t->name == NULL)
        return set_error (error, LLM_GGUF_E_NOMEM, "out of memory");
      g->n_tensors = i + 1;
      if (!read_u32 (&c, "a tensor info", &t->n_dims))
        return false;
      if (t->n_dims > LLM_GGUF_MAX_DIMS)
        return set_error (error, LLM_GGUF_E_N_DIMS, "tensor \"%s\" has %u dimensions (at most %d)",
                          t->name, t->n_dims, LLM_GGUF_MAX_DIMS);
      for (int d = 0; d < LLM_GGUF_MAX_DIMS; d++)
        t->ne[d] = 1;
      for (uint32_t d = 0; d < t->n_dims; d++)
        {
          uint64_t ne;
          if (!read_u64 (&c, "a tensor info", &ne))
            return false;
          if (ne > (uint64_t) INT64_MAX)
            return set_error (error, LLM_GGUF_E_DIMENSION,
                              "tensor \"%s\": dimension %u is %llu", t->name, d,
                              (unsigned long long) ne);
          t->ne[d] = (int64_t) ne;
          if (__builtin_mul_overflow (n_el, ne, &n_el) || n_el > (uint64_t) INT64_MAX)
            return set_error (error, LLM_GGUF_E_DIM_OVERFLOW,
                              "tensor \"%s\": the product of its dimensions overflows", t->name);
        }
      t->n_elements = (int64_t) n_el;
      if (!read_u32 (&c, "a tensor info", &type))
        return false;
      tr = llm_type_get_traits (type);
      if (tr == NULL)
        return set_error (error, LLM_GGUF_E_TENSOR_TYPE, "tensor \"%s\" has unknown type %u",
                          t->name, type);
      t->type = (llm_type) type;
      if (t->ne[0] % tr->block_size != 0)
        return set_error (error, LLM_GGUF_E_BLOCK,
                          "tensor \"%s\": rows of %lld elements are not whole %s blocks of %u",
                          t->name, (long long) t->ne[0], tr->name, tr->block_size);
      blocks = n_el / tr->block_size;
      if (__builtin_mul_overflow (blocks, (uint64_t) tr->type_size, &size))
        return set_error (error, LLM_GGUF_E_DIM_OVERFLOW, "tensor \"%s\": its size overflows", t->name);
      t->size = size;
      if (!read_u64 (&c, "a tensor info", &t->offset))
        return false;
    }

  sort_indices (g, g->tensor_sorted, g->n_tensors, cmp_tensor_name);
  for (size_t i = 1; i < g->n_tensors; i++)
    if (strcmp (g->tensors[g->tensor_sorted[i - 1]].name, g->tensors[g->tensor_sorted[i]].name) == 0)
      return set_error (error, LLM_GGUF_E_DUPLICATE_TENSOR, "tensor \"%s\" appears twice",
                        g->tensors[g->tensor_sorted[i]].name);

  /* The data section starts at the next multiple of the alignment. */
  g->data_offset = ((uint64_t) c.pos + g->alignment - 1) / g->alignment * g->alignment;
  data_size = g->data_offset <= g->size ? g->size - g->data_offset : 0;
  for (size_t i = 0; i < g->n_tensors; i++)
    {
      llm_gguf_tensor *t = &g->tensors[i];
      if (t->offset % g->alignment != 0)
        return set_error (error, LLM_GGUF_E_MISALIGNED,
                          "tensor \"%s\": offset %llu is not a multiple of the alignment %u",
                          t->name, (unsigned long long) t->offset, g->alignment);
      if (t->size > 0 && g->data_offset > g->size)
        return set_error (error, LLM_GGUF_E_DATA_START,
                          "the tensor data would start at %llu, past the end of the file (%zu bytes)",
                          (unsigned long long) g->data_offset, g->size);
      if (t->offset > data_size || t->size > data_size - t->offset)
        return set_error (error, LLM_GGUF_E_OFFSET,
                          "tensor \"%s\": %llu bytes at offset %llu run past the end of the file "
                          "(data section is %llu bytes)", t->name, (unsigned long long) t->size,
                          (unsigned long long) t->offset, (unsigned long long) data_size);
      t->data = g->base + g->data_offset + t->offset;
    }

  /* Tensors sorted by offset must not share bytes. */
  if (g->n_tensors > 1)
    {
      size_t *idx = malloc (g->n_tensors * sizeof *idx);
      if (idx == NULL)
        return set_error (error, LLM_GGUF_E_NOMEM, "out of memory");
      sort_indices (g, idx, g->n_tensors, cmp_tensor_offset);
      for (size_t i = 1; i < g->n_tensors; i++)
        {
          const llm_gguf_tensor *a = &g->tensors[idx[i - 1]], *b = &g->tensors[idx[i]];
          if (a->size > 0 && b->size > 0 && a->offset + a->size > b->offset)
            {
              set_error (error, LLM_GGUF_E_OVERLAP, "tensors \"%s\" and \"%s\" overlap",
                         a->name, b->name);
              free (idx);
              return false;
            }
        }
      free (idx);
    }
  return true;
}

void
llm_gguf_close (llm_gguf *g)
{
  if (g == NULL)
    return;
  for (size_t i = 0; i < g->n_kv; i++)
    {
      free ((void *) g->kvs[i].key);
      value_clear (&g->kvs[i].value);
    }
  free (g->kvs);
  free (g->kv_sorted);
  for (size_t i = 0; i < g->n_tensors; i++)
    free ((void *) g->tensors[i].name);
  free (g->tensors);
  free (g->tensor_sorted);
  if (g->mapped)
    munmap ((void *) g->base, g->size);
  free (g);
}

llm_gguf *
llm_gguf_open_memory (const void *data, size_t size, llm_gguf_error *error)
{
  llm_gguf *g;

  if (error != NULL)
    {
      error->code = LLM_GGUF_OK;
      error->message[0] = '\0';
    }
  g = calloc (1, sizeof *g);
  if (g == NULL)
    {
      set_error (error, LLM_GGUF_E_NOMEM, "out of memory");
      return NULL;
    }
  g->base = data;
  g->size = size;
  if (!parse (g, error))
    {
      llm_gguf_close (g);
      return NULL;
    }
  return g;
}

llm_gguf *
llm_gguf_open (const char *path, llm_gguf_error *error)
{
  struct stat st;
  void *map;
  int fd;
  llm_gguf *g;

  if (error != NULL)
    {
      error->code = LLM_GGUF_OK;
      error->message[0] = '\0';
    }
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      set_error (error, LLM_GGUF_E_IO, "cannot open %s: %s", path, strerror (errno));
      return NULL;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      set_error (error, LLM_GGUF_E_IO, "%s is not a regular file", path);
      close (fd);
      return NULL;
    }
  if (st.st_size == 0)
    {
      close (fd);
      set_error (error, LLM_GGUF_E_TRUNCATED, "%s is empty", path);
      return NULL;
    }
  map = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close (fd);
  if (map == MAP_FAILED)
    {
      set_error (error, LLM_GGUF_E_IO, "cannot map %s: %s", path, strerror (errno));
      return NULL;
    }
  g = calloc (1, sizeof *g);
  if (g == NULL)
    {
      munmap (map, (size_t) st.st_size);
      set_error (error, LLM_GGUF_E_NOMEM, "out of memory");
      return NULL;
    }
  g->base = map;
  g->size = (size_t) st.st_size;
  g->mapped = true;
  if (!parse (g, error))
    {
      llm_gguf_close (g);
      return NULL;
    }
  return g;
}

uint32_t llm_gguf_version (const llm_gguf *g) { return g->version; }
uint32_t llm_gguf_alignment (const llm_gguf *g) { return g->alignment; }
uint64_t llm_gguf_file_size (const llm_gguf *g) { return g->size; }
uint64_t llm_gguf_data_offset (const llm_gguf *g) { return g->data_offset; }
size_t   llm_gguf_n_kv (const llm_gguf *g) { return g->n_kv; }
size_t   llm_gguf_n_tensors (const llm_gguf *g) { return g->n_tensors; }

const llm_gguf_kv *
llm_gguf_get_kv (const llm_gguf *g, size_t i)
{
  return i < g->n_kv ? &g->kvs[i] : NULL;
}

const llm_gguf_kv *
llm_gguf_find_kv (const llm_gguf *g, const char *key)
{
  size_t lo = 0, hi = g->n_kv;
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      int c = strcmp (g->kvs[g->kv_sorted[mid]].key, key);
      if (c == 0)
        return &g->kvs[g->kv_sorted[mid]];
      if (c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return NULL;
}

const llm_gguf_tensor *
llm_gguf_get_tensor (const llm_gguf *g, size_t i)
{
  return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const llm_gguf_tensor *
llm_gguf_find_tensor (const llm_gguf *g, const char *name)
{
  size_t lo = 0, hi = g->n_tensors;
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      int c = strcmp (g->tensors[g->tensor_sorted[mid]].name, name);
      if (c == 0)
        return &g->tensors[g->tensor_sorted[mid]];
      if (c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return NULL;
}

static bool
is_signed (llm_gguf_type t)
{
  return t == LLM_GGUF_TYPE_INT8 || t == LLM_GGUF_TYPE_INT16
      || t == LLM_GGUF_TYPE_INT32 || t == LLM_GGUF_TYPE_INT64;
}

static bool
is_unsigned (llm_gguf_type t)
{
  return t == LLM_GGUF_TYPE_UINT8 || t == LLM_GGUF_TYPE_UINT16
      || t == LLM_GGUF_TYPE_UINT32 || t == LLM_GGUF_TYPE_UINT64;
}

bool
llm_gguf_get_uint (const llm_gguf *g, const char *key, uint64_t *out)
{
  const llm_gguf_kv *kv = llm_gguf_find_kv (g, key);
  if (kv == NULL)
    return false;
  if (is_unsigned (kv->value.type))
    *out = kv->value.num.u64;
  else if (is_signed (kv->value.type) && kv->value.num.i64 >= 0)
    *out = (uint64_t) kv->value.num.i64;
  else
    return false;
  return true;
}

bool
llm_gguf_get_int (const llm_gguf *g, const char *key, int64_t *out)
{
  const llm_gguf_kv *kv = llm_gguf_find_kv (g, key);
  if (kv == NULL)
    return false;
  if (is_signed (kv->value.type))
    *out = kv->value.num.i64;
  else if (is_unsigned (kv->value.type) && kv->value.num.u64 <= (uint64_t) INT64_MAX)
    *out = (int64_t) kv->value.num.u64;
  else
    return false;
  return true;
}

bool
llm_gguf_get_float (const llm_gguf *g, const char *key, double *out)
{
  const llm_gguf_kv *kv = llm_gguf_find_kv (g, key);
  if (kv == NULL || (kv->value.type != LLM_GGUF_TYPE_FLOAT32 && kv->value.type != LLM_GGUF_TYPE_FLOAT64))
    return false;
  *out = kv->value.num.f64;
  return true;
}

bool
llm_gguf_get_bool (const llm_gguf *g, const char *key, bool *out)
{
  const llm_gguf_kv *kv = llm_gguf_find_kv (g, key);
  if (kv == NULL || kv->value.type != LLM_GGUF_TYPE_BOOL)
    return false;
  *out = kv->value.num.u64 != 0;
  return true;
}

char *
llm_gguf_dup_string (const llm_gguf *g, const char *key)
{
  const llm_gguf_kv *kv = llm_gguf_find_kv (g, key);
  if (kv == NULL || kv->value.type != LLM_GGUF_TYPE_STRING)
    return NULL;
  return dup_name (kv->value.str, kv->value.str_len);
}

bool
llm_gguf_get_array (const llm_gguf *g, const char *key, llm_gguf_type *elem_type, uint64_t *n)
{
  const llm_gguf_kv *kv = llm_gguf_find_kv (g, key);
  if (kv == NULL || kv->value.type != LLM_GGUF_TYPE_ARRAY)
    return false;
  if (elem_type)
    *elem_type = kv->value.arr_type;
  if (n)
    *n = kv->value.arr_n;
  return true;
}

bool
llm_gguf_value_array_string (const llm_gguf_value *arr, uint64_t i, const char **str, uint64_t *len)
{
  if (arr->type != LLM_GGUF_TYPE_ARRAY || arr->arr_type != LLM_GGUF_TYPE_STRING || i >= arr->arr_n)
    return false;
  memcpy (len, arr->arr_strings[i], 8);   /* checked when parsed */
  *str = (const char *) arr->arr_strings[i] + 8;
  return true;
}

bool
llm_gguf_value_array_int (const llm_gguf_value *arr, uint64_t i, int64_t *out)
{
  llm_gguf_value v = { 0 };
  size_t es;
  if (arr->type != LLM_GGUF_TYPE_ARRAY || i >= arr->arr_n)
    return false;
  es = value_size (arr->arr_type);
  if (es == 0 || arr->arr_type == LLM_GGUF_TYPE_FLOAT32 || arr->arr_type == LLM_GGUF_TYPE_FLOAT64)
    return false;
  v.type = arr->arr_type;
  decode_scalar (&v, arr->arr_data + i * es);
  if (is_signed (v.type))
    *out = v.num.i64;
  else if (v.num.u64 <= (uint64_t) INT64_MAX)
    *out = (int64_t) v.num.u64;
  else
    return false;
  return true;
}

bool
llm_gguf_value_array_float (const llm_gguf_value *arr, uint64_t i, double *out)
{
  llm_gguf_value v = { 0 };
  if (arr->type != LLM_GGUF_TYPE_ARRAY || i >= arr->arr_n
      || (arr->arr_type != LLM_GGUF_TYPE_FLOAT32 && arr->arr_type != LLM_GGUF_TYPE_FLOAT64))
    return false;
  v.type = arr->arr_type;
  decode_scalar (&v, arr->arr_data + i * value_size (arr->arr_type));
  *out = v.num.f64;
  return true;
}

/* ---- writing ----------------------------------------------------------- */

typedef struct {
  uint8_t *p;
  size_t   len, cap;
  bool     oom;
} buffer;

static void
buf_add (buffer *b, const void *data, size_t n)
{
  if (b->oom)
    return;
  if (b->len + n > b->cap)
    {
      size_t cap = b->cap ? b->cap * 2 : 256;
      uint8_t *p;
      while (cap < b->len + n)
        cap *= 2;
      p = realloc (b->p, cap);
      if (p == NULL)
        {
          b->oom = true;
          return;
        }
      b->p = p;
      b->cap = cap;
    }
  memcpy (b->p + b->len, data, n);
  b->len += n;
}

static void buf_u32 (buffer *b, uint32_t v) { buf_add (b, &v, 4); }
static void buf_u64 (buffer *b, uint64_t v) { buf_add (b, &v, 8); }

static void
buf_str (buffer *b, const char *s, size_t len)
{
  buf_u64 (b, len);
  buf_add (b, s, len);
}

typedef struct {
  char    *key;
  uint8_t *raw;
  size_t   len;
} wkv;

typedef struct {
  char       *name;
  llm_type    type;
  uint32_t    n_dims;
  int64_t     ne[LLM_GGUF_MAX_DIMS];
  uint64_t    size, offset;
  const void *data;
} wtensor;

struct llm_gguf_writer {
  wkv     *kvs;
  size_t   n_kv, cap_kv;
  wtensor *ts;
  size_t   n_t, cap_t;
  /* streaming state */
  FILE    *f;
  char    *path;
  uint32_t alignment;
  size_t   cur;            /* tensor being written */
  uint64_t cur_written;
  bool     failed;
};

llm_gguf_writer *
llm_gguf_writer_new (void)
{
  return calloc (1, sizeof (llm_gguf_writer));
}

void
llm_gguf_writer_free (llm_gguf_writer *w)
{
  if (w == NULL)
    return;
  for (size_t i = 0; i < w->n_kv; i++)
    {
      free (w->kvs[i].key);
      free (w->kvs[i].raw);
    }
  free (w->kvs);
  for (size_t i = 0; i < w->n_t; i++)
    free (w->ts[i].name);
  free (w->ts);
  if (w->f != NULL)
    fclose (w->f);
  free (w->path);
  free (w);
}

bool
llm_gguf_writer_remove_key (llm_gguf_writer *w, const char *key)
{
  for (size_t i = 0; i < w->n_kv; i++)
    if (strcmp (w->kvs[i].key, key) == 0)
      {
        free (w->kvs[i].key);
        free (w->kvs[i].raw);
        memmove (&w->kvs[i], &w->kvs[i + 1], (w->n_kv - i - 1) * sizeof *w->kvs);
        w->n_kv--;
        return true;
      }
  return false;
}

/* Takes ownership of @raw. */
static bool
set_kv (llm_gguf_writer *w, const char *key, uint8_t *raw, size_t len)
{
  if (key == NULL || key[0] == '\0' || raw == NULL)
    {
      free (raw);
      return false;
    }
  for (size_t i = 0; i < w->n_kv; i++)
    if (strcmp (w->kvs[i].key, key) == 0)
      {
        free (w->kvs[i].raw);
        w->kvs[i].raw = raw;
        w->kvs[i].len = len;
        return true;
      }
  if (w->n_kv == w->cap_kv)
    {
      size_t cap = w->cap_kv ? w->cap_kv * 2 : 32;
      wkv *kvs = realloc (w->kvs, cap * sizeof *kvs);
      if (kvs == NULL)
        {
          free (raw);
          return false;
        }
      w->kvs = kvs;
      w->cap_kv = cap;
    }
  w->kvs[w->n_kv].key = strdup (key);
  if (w->kvs[w->n_kv].key == NULL)
    {
      free (raw);
      return false;
    }
  w->kvs[w->n_kv].raw = raw;
  w->kvs[w->n_kv].len = len;
  w->n_kv++;
  return true;
}

static bool
set_scalar (llm_gguf_writer *w, const char *key, llm_gguf_type type, const void *v)
{
  buffer b = { 0 };
  buf_u32 (&b, type);
  buf_add (&b, v, value_size (type));
  if (b.oom)
    {
      free (b.p);
      return false;
    }
  return set_kv (w, key, b.p, b.len);
}

bool llm_gguf_writer_set_u32 (llm_gguf_writer *w, const char *k, uint32_t v) { return set_scalar (w, k, LLM_GGUF_TYPE_UINT32, &v); }
bool llm_gguf_writer_set_i32 (llm_gguf_writer *w, const char *k, int32_t v) { return set_scalar (w, k, LLM_GGUF_TYPE_INT32, &v); }
bool llm_gguf_writer_set_u64 (llm_gguf_writer *w, const char *k, uint64_t v) { return set_scalar (w, k, LLM_GGUF_TYPE_UINT64, &v); }
bool llm_gguf_writer_set_f32 (llm_gguf_writer *w, const char *k, float v) { return set_scalar (w, k, LLM_GGUF_TYPE_FLOAT32, &v); }

bool
llm_gguf_writer_set_bool (llm_gguf_writer *w, const char *k, bool v)
{
  uint8_t x = v ? 1 : 0;
  return set_scalar (w, k, LLM_GGUF_TYPE_BOOL, &x);
}

bool
llm_gguf_writer_set_string (llm_gguf_writer *w, const char *key, const char *v)
{
  buffer b = { 0 };
  buf_u32 (&b, LLM_GGUF_TYPE_STRING);
  buf_str (&b, v, strlen (v));
  if (b.oom)
    {
      free (b.p);
      return false;
    }
  return set_kv (w, key, b.p, b.len);
}

bool
llm_gguf_writer_set_array (llm_gguf_writer *w, const char *key, llm_gguf_type elem_type,
                           const void *elems, uint64_t n)
{
  buffer b = { 0 };
  size_t es = value_size (elem_type);
  if (es == 0)
    return false;
  buf_u32 (&b, LLM_GGUF_TYPE_ARRAY);
  buf_u32 (&b, elem_type);
  buf_u64 (&b, n);
  buf_add (&b, elems, (size_t) n * es);
  if (b.oom)
    {
      free (b.p);
      return false;
    }
  return set_kv (w, key, b.p, b.len);
}

bool
llm_gguf_writer_set_string_array (llm_gguf_writer *w, const char *key,
                                  const char *const *strs, uint64_t n)
{
  buffer b = { 0 };
  buf_u32 (&b, LLM_GGUF_TYPE_ARRAY);
  buf_u32 (&b, LLM_GGUF_TYPE_STRING);
  buf_u64 (&b, n);
  for (uint64_t i = 0; i < n; i++)
    buf_str (&b, strs[i], strlen (strs[i]));
  if (b.oom)
    {
      free (b.p);
      return false;
    }
  return set_kv (w, key, b.p, b.len);
}

bool
llm_gguf_writer_set_raw (llm_gguf_writer *w, const char *key, const uint8_t *raw, size_t len)
{
  uint8_t *copy = malloc (len ? len : 1);
  if (copy == NULL)
    return false;
  memcpy (copy, raw, len);
  return set_kv (w, key, copy, len);
}

bool
llm_gguf_writer_copy_kv (llm_gguf_writer *w, const llm_gguf *src)
{
  for (size_t i = 0; i < src->n_kv; i++)
    if (!llm_gguf_writer_set_raw (w, src->kvs[i].key, src->kvs[i].raw, src->kvs[i].raw_len))
      return false;
  return true;
}

static uint32_t
writer_alignment (const llm_gguf_writer *w)
{
  for (size_t i = 0; i < w->n_kv; i++)
    if (strcmp (w->kvs[i].key, "general.alignment") == 0 && w->kvs[i].len == 8)
      {
        uint32_t type, a;
        memcpy (&type, w->kvs[i].raw, 4);
        memcpy (&a, w->kvs[i].raw + 4, 4);
        if (type == LLM_GGUF_TYPE_UINT32 && a != 0 && (a & (a - 1)) == 0)
          return a;
      }
  return GGUF_DEFAULT_ALIGNMENT;
}

static uint64_t
align_up (uint64_t x, uint64_t a)
{
  return (x + a - 1) / a * a;
}

bool
llm_gguf_writer_add_tensor (llm_gguf_writer *w, const char *name, llm_type type,
                            uint32_t n_dims, const int64_t *ne, const void *data)
{
  const llm_type_traits *tr = llm_type_get_traits (type);
  wtensor *t;
  uint64_t n_el = 1;

  if (w->f != NULL || tr == NULL || name == NULL || name[0] == '\0'
      || strlen (name) >= LLM_GGUF_MAX_NAME || n_dims > LLM_GGUF_MAX_DIMS)
    return false;
  for (size_t i = 0; i < w->n_t; i++)
    if (strcmp (w->ts[i].name, name) == 0)
      return false;
  if (w->n_t == w->cap_t)
    {
      size_t cap = w->cap_t ? w->cap_t * 2 : 32;
      wtensor *ts = realloc (w->ts, cap * sizeof *ts);
      if (ts == NULL)
        return false;
      w->ts = ts;
      w->cap_t = cap;
    }
  t = &w->ts[w->n_t];
  memset (t, 0, sizeof *t);
  for (int d = 0; d < LLM_GGUF_MAX_DIMS; d++)
    t->ne[d] = 1;
  for (uint32_t d = 0; d < n_dims; d++)
    {
      if (ne[d] < 0 || __builtin_mul_overflow (n_el, (uint64_t) ne[d], &n_el))
        return false;
      t->ne[d] = ne[d];
    }
  if (n_dims > 0 && ne[0] % tr->block_size != 0)
    return false;
  t->name = strdup (name);
  if (t->name == NULL)
    return false;
  t->type = type;
  t->n_dims = n_dims;
  t->size = n_el / tr->block_size * tr->type_size;
  t->data = data;
  w->n_t++;
  return true;
}

/* Lays out the tensor offsets and serializes everything before the data. */
static bool
build_header (llm_gguf_writer *w, buffer *b)
{
  uint64_t offset = 0;

  w->alignment = writer_alignment (w);
  for (size_t i = 0; i < w->n_t; i++)
    {
      w->ts[i].offset = offset;
      offset = align_up (offset + w->ts[i].size, w->alignment);
    }
  buf_u32 (b, GGUF_MAGIC);
  buf_u32 (b, 3);
  buf_u64 (b, w->n_t);
  buf_u64 (b, w->n_kv);
  for (size_t i = 0; i < w->n_kv; i++)
    {
      buf_str (b, w->kvs[i].key, strlen (w->kvs[i].key));
      buf_add (b, w->kvs[i].raw, w->kvs[i].len);
    }
  for (size_t i = 0; i < w->n_t; i++)
    {
      const wtensor *t = &w->ts[i];
      buf_str (b, t->name, strlen (t->name));
      buf_u32 (b, t->n_dims);
      for (uint32_t d = 0; d < t->n_dims; d++)
        buf_u64 (b, (uint64_t) t->ne[d]);
      buf_u32 (b, t->type);
      buf_u64 (b, t->offset);
    }
  while (b->len % w->alignment != 0)
    buf_add (b, "", 1);
  return !b->oom;
}

uint64_t
llm_gguf_writer_file_size (const llm_gguf_writer *w)
{
  buffer b = { 0 };
  uint64_t size;
  llm_gguf_writer *mw = (llm_gguf_writer *) w;

  build_header (mw, &b);
  size = b.len;
  free (b.p);
  for (size_t i = 0; i < w->n_t; i++)
    size += align_up (w->ts[i].size, w->alignment);
  return size;
}

static bool
write_bytes (llm_gguf_writer *w, const void *data, size_t n, llm_gguf_error *error)
{
  if (n > 0 && fwrite (data, 1, n, w->f) != n)
    {
      w->failed = true;
      return set_error (error, LLM_GGUF_E_WRITE, "cannot write %s: %s", w->path, strerror (errno));
    }
  return true;
}

bool
llm_gguf_writer_begin (llm_gguf_writer *w, const char *path, llm_gguf_error *error)
{
  buffer b = { 0 };
  bool ok;

  if (error != NULL)
    {
      error->code = LLM_GGUF_OK;
      error->message[0] = '\0';
    }
  if (w->f != NULL)
    return set_error (error, LLM_GGUF_E_INVALID, "writer already started");
  if (!build_header (w, &b))
    {
      free (b.p);
      return set_error (error, LLM_GGUF_E_NOMEM, "out of memory");
    }
  w->f = fopen (path, "wb");
  if (w->f == NULL)
    {
      free (b.p);
      return set_error (error, LLM_GGUF_E_WRITE, "cannot create %s: %s", path, strerror (errno));
    }
  free (w->path);
  w->path = strdup (path);
  w->cur = 0;
  w->cur_written = 0;
  w->failed = false;
  ok = write_bytes (w, b.p, b.len, error);
  free (b.p);
  return ok;
}

static const uint8_t zeros[64];

static bool
write_padding (llm_gguf_writer *w, uint64_t n, llm_gguf_error *error)
{
  while (n > 0)
    {
      size_t k = n < sizeof zeros ? (size_t) n : sizeof zeros;
      if (!write_bytes (w, zeros, k, error))
        return false;
      n -= k;
    }
  return true;
}

bool
llm_gguf_writer_write_data (llm_gguf_writer *w, const void *data, size_t size, llm_gguf_error *error)
{
  const uint8_t *p = data;

  if (w->f == NULL || w->failed)
    return set_error (error, LLM_GGUF_E_INVALID, "writer not started");
  while (size > 0)
    {
      wtensor *t;
      uint64_t k;
      while (w->cur < w->n_t && w->ts[w->cur].size == 0)
        w->cur++;
      if (w->cur >= w->n_t)
        return set_error (error, LLM_GGUF_E_INVALID, "more data than the declared tensors hold");
      t = &w->ts[w->cur];
      k = t->size - w->cur_written;
      if (k > size)
        k = size;
      if (!write_bytes (w, p, (size_t) k, error))
        return false;
      p += k;
      size -= (size_t) k;
      w->cur_written += k;
      if (w->cur_written == t->size)
        {
          if (!write_padding (w, align_up (t->size, w->alignment) - t->size, error))
            return false;
          w->cur++;
          w->cur_written = 0;
        }
    }
  return true;
}

bool
llm_gguf_writer_finish (llm_gguf_writer *w, llm_gguf_error *error)
{
  bool ok = true;

  if (w->f == NULL)
    return set_error (error, LLM_GGUF_E_INVALID, "writer not started");
  while (w->cur < w->n_t && w->ts[w->cur].size == 0)
    w->cur++;
  if (!w->failed && w->cur < w->n_t)
    ok = set_error (error, LLM_GGUF_E_INVALID, "tensor \"%s\" was not written", w->ts[w->cur].name);
  if (fclose (w->f) != 0 && ok)
    ok = set_error (error, LLM_GGUF_E_WRITE, "cannot write %s: %s", w->path, strerror (errno));
  w->f = NULL;
  return ok && !w->failed;
}

bool
llm_gguf_writer_write_file (llm_gguf_writer *w, const char *path, llm_gguf_error *error)
{
  if (!llm_gguf_writer_begin (w, path, error))
    return false;
  for (size_t i = 0; i < w->n_t; i++)
    {
      if (w->ts[i].size > 0 && w->ts[i].data == NULL)
        {
          set_error (error, LLM_GGUF_E_INVALID, "tensor \"%s\" has no data", w->ts[i].name);
          llm_gguf_writer_finish (w, NULL);
          return false;
        }
      if (!llm_gguf_writer_write_data (w, w->ts[i].data, (size_t) w->ts[i].size, error))
        {
          llm_gguf_writer_finish (w, NULL);
          return false;
        }
    }
  return llm_gguf_writer_finish (w, error);
}
