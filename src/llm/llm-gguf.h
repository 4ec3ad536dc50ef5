/* SPDX-License-Identifier: GPL-3.0-or-later */
/* GGUF files: a reader that memory-maps a file and checks every length and
 * offset in it before use, and a writer for version 3 files.
 * Plain C11, no GLib. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "llm-quant.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  LLM_GGUF_TYPE_UINT8   = 0,
  LLM_GGUF_TYPE_INT8    = 1,
  LLM_GGUF_TYPE_UINT16  = 2,
  LLM_GGUF_TYPE_INT16   = 3,
  LLM_GGUF_TYPE_UINT32  = 4,
  LLM_GGUF_TYPE_INT32   = 5,
  LLM_GGUF_TYPE_FLOAT32 = 6,
  LLM_GGUF_TYPE_BOOL    = 7,
  LLM_GGUF_TYPE_STRING  = 8,
  LLM_GGUF_TYPE_ARRAY   = 9,
  LLM_GGUF_TYPE_UINT64  = 10,
  LLM_GGUF_TYPE_INT64   = 11,
  LLM_GGUF_TYPE_FLOAT64 = 12,
  LLM_GGUF_TYPE_COUNT
} llm_gguf_type;

/* Every way a file can be wrong has its own code, so tests can tell them
 * apart; the message in llm_gguf_error says where. */
typedef enum {
  LLM_GGUF_OK = 0,
  LLM_GGUF_E_IO,              /* open/stat/mmap failed */
  LLM_GGUF_E_NOMEM,
  LLM_GGUF_E_TRUNCATED,       /* the file ends inside a structure */
  LLM_GGUF_E_MAGIC,
  LLM_GGUF_E_BIG_ENDIAN,
  LLM_GGUF_E_VERSION,
  LLM_GGUF_E_TENSOR_COUNT,    /* more tensors than the file could hold */
  LLM_GGUF_E_KV_COUNT,
  LLM_GGUF_E_KEY,             /* empty or non-text key */
  LLM_GGUF_E_DUPLICATE_KEY,
  LLM_GGUF_E_STRING_LENGTH,   /* a string runs past the end of the file */
  LLM_GGUF_E_VALUE_TYPE,      /* unknown metadata value type */
  LLM_GGUF_E_ARRAY_TYPE,      /* unknown array element type */
  LLM_GGUF_E_ARRAY_LENGTH,    /* an array runs past the end of the file */
  LLM_GGUF_E_NESTING,         /* arrays nested too deep */
  LLM_GGUF_E_BOOL,            /* a bool that is neither 0 nor 1 */
  LLM_GGUF_E_ALIGNMENT,       /* general.alignment of wrong type or not a power of two */
  LLM_GGUF_E_TENSOR_NAME,     /* empty or over-long tensor name */
  LLM_GGUF_E_DUPLICATE_TENSOR,
  LLM_GGUF_E_N_DIMS,
  LLM_GGUF_E_DIMENSION,       /* a dimension too large */
  LLM_GGUF_E_DIM_OVERFLOW,    /* the product of the dimensions overflows */
  LLM_GGUF_E_TENSOR_TYPE,     /* unknown tensor type */
  LLM_GGUF_E_BLOCK,           /* row length not a whole number of blocks */
  LLM_GGUF_E_MISALIGNED,      /* tensor offset not a multiple of the alignment */
  LLM_GGUF_E_OFFSET,          /* tensor data past the end of the file */
  LLM_GGUF_E_OVERLAP,         /* two tensors share bytes */
  LLM_GGUF_E_DATA_START,      /* the data section starts past the end */
  LLM_GGUF_E_WRITE,           /* writer: cannot write the file */
  LLM_GGUF_E_INVALID,         /* writer: bad argument */
  LLM_GGUF_E_COUNT
} llm_gguf_status;

typedef struct {
  llm_gguf_status code;
  char            message[256];
} llm_gguf_error;

const char *llm_gguf_status_name (llm_gguf_status code);
const char *llm_gguf_type_name (llm_gguf_type type);

/* A metadata value; points into the mapped file. */
typedef struct llm_gguf_value llm_gguf_value;
struct llm_gguf_value {
  llm_gguf_type type;
  union {
    uint64_t u64;   /* UINT8..UINT64 and BOOL, zero-extended */
    int64_t  i64;   /* INT8..INT64, sign-extended */
    double   f64;   /* FLOAT32, FLOAT64 */
  } num;
  /* STRING: not NUL-terminated */
  const char *str;
  uint64_t    str_len;
  /* ARRAY */
  llm_gguf_type         arr_type;
  uint64_t              arr_n;
  const uint8_t        *arr_data;    /* elements of fixed size, as stored */
  const uint8_t *const *arr_strings; /* STRING elements: each at its length prefix */
  llm_gguf_value       *arr_elems;   /* ARRAY elements */
};

typedef struct {
  const char    *key;        /* NUL-terminated copy */
  llm_gguf_value value;
  const uint8_t *raw;        /* type id and value as stored, for copying */
  size_t         raw_len;
} llm_gguf_kv;

#define LLM_GGUF_MAX_DIMS 4
#define LLM_GGUF_MAX_NAME 256

typedef struct {
  const char *name;          /* NUL-terminated copy */
  uint32_t    n_dims;
  int64_t     ne[LLM_GGUF_MAX_DIMS];  /* unused dims are 1 */
  llm_type    type;
  uint64_t    offset;        /* from the start of the data section */
  uint64_t    size;          /* bytes */
  int64_t     n_elements;
  const void *data;          /* in the mapping */
} llm_gguf_tensor;

typedef struct llm_gguf llm_gguf;

/* Memory-maps and checks @path. Returns NULL and fills @error (may be NULL). */
llm_gguf *llm_gguf_open (const char *path, llm_gguf_error *error);
/* Same, over a buffer the caller keeps alive (fuzzing, tests). */
llm_gguf *llm_gguf_open_memory (const void *data, size_t size, llm_gguf_error *error);
void      llm_gguf_close (llm_gguf *gguf);

uint32_t   llm_gguf_version (const llm_gguf *gguf);
uint32_t   llm_gguf_alignment (const llm_gguf *gguf);
uint64_t   llm_gguf_file_size (const llm_gguf *gguf);
uint64_t   llm_gguf_data_offset (const llm_gguf *gguf);

size_t             llm_gguf_n_kv (const llm_gguf *gguf);
const llm_gguf_kv *llm_gguf_get_kv (const llm_gguf *gguf, size_t i);
const llm_gguf_kv *llm_gguf_find_kv (const llm_gguf *gguf, const char *key);

/* Typed accessors: return false when the key is missing or of another kind.
 * get_uint accepts any unsigned or non-negative signed integer type, get_int
 * any integer type that fits, get_float FLOAT32/FLOAT64. */
bool llm_gguf_get_uint  (const llm_gguf *gguf, const char *key, uint64_t *out);
bool llm_gguf_get_int   (const llm_gguf *gguf, const char *key, int64_t *out);
bool llm_gguf_get_float (const llm_gguf *gguf, const char *key, double *out);
bool llm_gguf_get_bool  (const llm_gguf *gguf, const char *key, bool *out);
/* Returns a newly allocated NUL-terminated copy, or NULL. */
char *llm_gguf_dup_string (const llm_gguf *gguf, const char *key);
/* Array of @key: its element type and count; false if not an array. */
bool  llm_gguf_get_array (const llm_gguf *gguf, const char *key,
                          llm_gguf_type *elem_type, uint64_t *n);

/* Element accessors on an array value. */
bool llm_gguf_value_array_string (const llm_gguf_value *arr, uint64_t i,
                                  const char **str, uint64_t *len);
bool llm_gguf_value_array_int (const llm_gguf_value *arr, uint64_t i, int64_t *out);
bool llm_gguf_value_array_float (const llm_gguf_value *arr, uint64_t i, double *out);

size_t                 llm_gguf_n_tensors (const llm_gguf *gguf);
const llm_gguf_tensor *llm_gguf_get_tensor (const llm_gguf *gguf, size_t i);
const llm_gguf_tensor *llm_gguf_find_tensor (const llm_gguf *gguf, const char *name);

/* ---- writer ------------------------------------------------------------ */

typedef struct llm_gguf_writer llm_gguf_writer;

llm_gguf_writer *llm_gguf_writer_new (void);
void             llm_gguf_writer_free (llm_gguf_writer *w);

/* Metadata setters replace an existing key of the same name. */
bool llm_gguf_writer_set_u32 (llm_gguf_writer *w, const char *key, uint32_t v);
bool llm_gguf_writer_set_i32 (llm_gguf_writer *w, const char *key, int32_t v);
bool llm_gguf_writer_set_u64 (llm_gguf_writer *w, const char *key, uint64_t v);
bool llm_gguf_writer_set_f32 (llm_gguf_writer *w, const char *key, float v);
bool llm_gguf_writer_set_bool (llm_gguf_writer *w, const char *key, bool v);
bool llm_gguf_writer_set_string (llm_gguf_writer *w, const char *key, const char *v);
bool llm_gguf_writer_set_array (llm_gguf_writer *w, const char *key, llm_gguf_type elem_type,
                                const void *elems, uint64_t n);  /* fixed-size elements */
bool llm_gguf_writer_set_string_array (llm_gguf_writer *w, const char *key,
                                       const char *const *strs, uint64_t n);
/* Raw: type id and serialized value, as in llm_gguf_kv.raw. */
bool llm_gguf_writer_set_raw (llm_gguf_writer *w, const char *key, const uint8_t *raw, size_t len);
/* Copies every key of @src. */
bool llm_gguf_writer_copy_kv (llm_gguf_writer *w, const llm_gguf *src);
bool llm_gguf_writer_remove_key (llm_gguf_writer *w, const char *key);

/* Declares a tensor. @data may be NULL when the bytes are streamed later with
 * llm_gguf_writer_write_data; otherwise it must stay valid until written. */
bool llm_gguf_writer_add_tensor (llm_gguf_writer *w, const char *name, llm_type type,
                                 uint32_t n_dims, const int64_t *ne, const void *data);
/* Total size of the file once written. */
uint64_t llm_gguf_writer_file_size (const llm_gguf_writer *w);

/* One shot: header, metadata, tensor infos and every tensor's data. */
bool llm_gguf_writer_write_file (llm_gguf_writer *w, const char *path, llm_gguf_error *error);
/* Streaming: writes the header and infos, then each tensor's bytes in order
 * of declaration with write_data, then finish. */
bool llm_gguf_writer_begin (llm_gguf_writer *w, const char *path, llm_gguf_error *error);
bool llm_gguf_writer_write_data (llm_gguf_writer *w, const void *data, size_t size,
                                 llm_gguf_error *error);
bool llm_gguf_writer_finish (llm_gguf_writer *w, llm_gguf_error *error);

#ifdef __cplusplus
}
#endif
