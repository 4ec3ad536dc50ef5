/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for the GGUF reader: any input must be either rejected
 * with an error or accepted with every vouched-for byte readable. Built and
 * run by tests/fuzz/run-fuzz.sh (clang, ASan + UBSan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm-gguf.h"

static void
touch_value (const llm_gguf_value *v, volatile uint64_t *sink)
{
  if (v->type == LLM_GGUF_TYPE_STRING)
    for (uint64_t i = 0; i < v->str_len; i++)
      *sink += (uint8_t) v->str[i];
  if (v->type != LLM_GGUF_TYPE_ARRAY)
    return;
  for (uint64_t i = 0; i < v->arr_n; i++)
    {
      const char *s;
      uint64_t len;
      int64_t iv;
      double fv;
      if (llm_gguf_value_array_string (v, i, &s, &len))
        for (uint64_t k = 0; k < len; k++)
          *sink += (uint8_t) s[k];
      if (llm_gguf_value_array_int (v, i, &iv))
        *sink += (uint64_t) iv;
      if (llm_gguf_value_array_float (v, i, &fv))
        *sink += (uint64_t) (fv == fv);
      if (v->arr_elems != NULL)
        touch_value (&v->arr_elems[i], sink);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  volatile uint64_t sink = 0;
  llm_gguf_error err;
  llm_gguf *g = llm_gguf_open_memory (data, size, &err);

  if (g == NULL)
    {
      if (err.code == LLM_GGUF_OK || err.message[0] == '\0')
        abort ();   /* a rejection must say why */
      return 0;
    }
  for (size_t i = 0; i < llm_gguf_n_kv (g); i++)
    {
      const llm_gguf_kv *kv = llm_gguf_get_kv (g, i);
      char *s;
      uint64_t u;
      if (llm_gguf_find_kv (g, kv->key) == NULL)
        abort ();
      for (size_t k = 0; k < kv->raw_len; k++)
        sink += kv->raw[k];
      touch_value (&kv->value, &sink);
      s = llm_gguf_dup_string (g, kv->key);
      free (s);
      sink += llm_gguf_get_uint (g, kv->key, &u);
    }
  for (size_t i = 0; i < llm_gguf_n_tensors (g); i++)
    {
      const llm_gguf_tensor *t = llm_gguf_get_tensor (g, i);
      if (llm_gguf_find_tensor (g, t->name) != t)
        abort ();
      for (uint64_t k = 0; k < t->size; k++)
        sink += ((const uint8_t *) t->data)[k];
    }
  llm_gguf_close (g);
  return 0;
}
