/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Model quantizer. The per-tensor choices follow the conventions people
 * expect from the names Q4_K_M etc. in other GGUF tools, so a file made here
 * is what they would make, block for block where the rounding is fixed. */
#include "llm-quantize.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "llm-matmul.h"

static const struct {
  int         ftype;
  const char *name;
  llm_type    base;
} ftypes[] = {
  { LLM_FTYPE_Q8_0,   "Q8_0",   LLM_TYPE_Q8_0 },
  { LLM_FTYPE_Q6_K,   "Q6_K",   LLM_TYPE_Q6_K },
  { LLM_FTYPE_Q5_K_M, "Q5_K_M", LLM_TYPE_Q5_K },
  { LLM_FTYPE_Q4_K_M, "Q4_K_M", LLM_TYPE_Q4_K },
  { LLM_FTYPE_Q4_0,   "Q4_0",   LLM_TYPE_Q4_0 },
};

int
llm_ftype_from_name (const char *name)
{
  for (size_t i = 0; i < sizeof ftypes / sizeof ftypes[0]; i++)
    if (strcasecmp (ftypes[i].name, name) == 0)
      return ftypes[i].ftype;
  return -1;
}

const char *
llm_ftype_name (int ftype)
{
  /* Names of the file types other tools write, for display. */
  static const struct { int ftype; const char *name; } others[] = {
    { 0, "F32" }, { 1, "F16" }, { 3, "Q4_1" }, { 8, "Q5_0" }, { 9, "Q5_1" }, { 10, "Q2_K" },
    { 11, "Q3_K_S" }, { 12, "Q3_K_M" }, { 13, "Q3_K_L" }, { 14, "Q4_K_S" }, { 16, "Q5_K_S" },
    { 32, "BF16" },
  };
  for (size_t i = 0; i < sizeof ftypes / sizeof ftypes[0]; i++)
    if (ftypes[i].ftype == ftype)
      return ftypes[i].name;
  for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
    if (others[i].ftype == ftype)
      return others[i].name;
  return NULL;
}

static bool
ends_with (const char *s, const char *suffix)
{
  size_t n = strlen (s), m = strlen (suffix);
  return n >= m && strcmp (s + n - m, suffix) == 0;
}

static bool
is_float_type (llm_type t)
{
  return t == LLM_TYPE_F32 || t == LLM_TYPE_F16 || t == LLM_TYPE_BF16;
}

/* Which matrices get quantized at all. */
static bool
wants_quantization (const llm_gguf_tensor *t)
{
  static const char *const keep[] = {
    "_norm.weight", "ffn_gate_inp.weight", "pos_embd", "position_embd",
    "token_types", "ssm_conv1d", "ssm_a", "ssm_d", "time_mix_", "rel_pos",
  };
  int n_dims = 0;

  for (int d = 0; d < LLM_GGUF_MAX_DIMS; d++)
    if (t->ne[d] > 1)
      n_dims = d + 1;
  if (n_dims < 2 || !ends_with (t->name, "weight"))
    return false;
  for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
    if (strstr (t->name, keep[i]) != NULL)
      return false;
  return true;
}

/* Layers that get more bits in the _M mixes: the first and last eighth and
 * every third one between. */
static bool
use_more_bits (int i, int n)
{
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* A type whose blocks do not fit the rows falls back to one that does. */
static llm_type
fit_rows (llm_type type, int64_t ne0)
{
  if (ne0 % llm_type_get_traits (type)->block_size == 0)
    return type;
  switch (type)
    {
    case LLM_TYPE_Q4_K: type = LLM_TYPE_Q5_0; break;
    case LLM_TYPE_Q5_K: type = LLM_TYPE_Q5_1; break;
    case LLM_TYPE_Q6_K: type = LLM_TYPE_Q8_0; break;
    default: break;
    }
  if (ne0 % llm_type_get_traits (type)->block_size == 0)
    return type;
  return LLM_TYPE_F16;
}

bool
llm_quantize_plan (const llm_gguf *g, int ftype, llm_type *types, char *err, size_t err_size)
{
  llm_type base = LLM_TYPE_COUNT;
  bool has_output = llm_gguf_find_tensor (g, "output.weight") != NULL;
  bool k_mix = ftype == LLM_FTYPE_Q4_K_M || ftype == LLM_FTYPE_Q5_K_M;
  int n_attn_v = 0, n_ffn_down = 0, i_attn_v = 0, i_ffn_down = 0;
  size_t n = llm_gguf_n_tensors (g);

  for (size_t i = 0; i < sizeof ftypes / sizeof ftypes[0]; i++)
    if (ftypes[i].ftype == ftype)
      base = ftypes[i].base;
  if (base == LLM_TYPE_COUNT)
    {
      snprintf (err, err_size, "unknown quantization type %d", ftype);
      return false;
    }
  for (size_t i = 0; i < n; i++)
    {
      const char *name = llm_gguf_get_tensor (g, i)->name;
      if (strstr (name, "attn_v.weight") || strstr (name, "attn_qkv.weight"))
        n_attn_v++;
      if (strstr (name, "ffn_down"))
        n_ffn_down++;
    }

  for (size_t i = 0; i < n; i++)
    {
      const llm_gguf_tensor *t = llm_gguf_get_tensor (g, i);
      llm_type type = base;

      if (!wants_quantization (t))
        {
          types[i] = t->type;
          continue;
        }
      if (!is_float_type (t->type))
        {
          snprintf (err, err_size,
                    "tensor \"%s\" is already %s; quantize from an F32, F16 or BF16 file",
                    t->name, llm_type_name (t->type));
          return false;
        }
      if (strcmp (t->name, "output.weight") == 0
          || (!has_output && strcmp (t->name, "token_embd.weight") == 0))
        {
          if (base != LLM_TYPE_Q8_0)
            type = t->ne[0] % LLM_QK_K == 0 ? LLM_TYPE_Q6_K : LLM_TYPE_Q8_0;
        }
      else if (strstr (t->name, "attn_v.weight") || strstr (t->name, "attn_qkv.weight"))
        {
          if (strstr (t->name, "attn_qkv.weight"))
            {
              if (ftype == LLM_FTYPE_Q4_K_M)
                type = LLM_TYPE_Q5_K;
              else if (ftype == LLM_FTYPE_Q5_K_M)
                type = LLM_TYPE_Q6_K;
            }
          else if (k_mix && use_more_bits (i_attn_v, n_attn_v))
            type = LLM_TYPE_Q6_K;
          i_attn_v++;
        }
      else if (strstr (t->name, "ffn_down"))
        {
          if (k_mix && use_more_bits (i_ffn_down, n_ffn_down))
            type = LLM_TYPE_Q6_K;
          i_ffn_down++;
        }
      types[i] = fit_rows (type, t->ne[0]);
    }
  return true;
}

/* ---- conversion -------------------------------------------------------- */

typedef struct {
  const llm_gguf_tensor *t;
  llm_type               to;
  int64_t                n_rows, ne0;
  size_t                 in_row, out_row;
  uint8_t               *out;
  float                **scratch;     /* one row of floats per thread */
} convert_job;

static void
convert_worker (void *data, int ith, int nth)
{
  const convert_job *j = data;
  int64_t per = (j->n_rows + nth - 1) / nth;
  int64_t r0 = per * ith, r1 = r0 + per < j->n_rows ? r0 + per : j->n_rows;
  float *row = j->scratch[ith];

  for (int64_t r = r0; r < r1; r++)
    {
      llm_dequantize_row (j->t->type, (const uint8_t *) j->t->data + (size_t) r * j->in_row, row, j->ne0);
      llm_quantize_row (j->to, row, j->out + (size_t) r * j->out_row, j->ne0);
    }
}

bool
llm_quantize_file (const char *in, const char *out, const llm_quantize_params *params,
                   llm_quantize_result *result, char *err, size_t err_size)
{
  llm_gguf_error gerr;
  llm_gguf *g;
  llm_gguf_writer *w = NULL;
  llm_pool *pool = NULL;
  llm_type *types = NULL;
  float **scratch = NULL;
  char *tmp = NULL;
  size_t n;
  bool ok = false;
  int nth;

  memset (result, 0, sizeof *result);
  g = llm_gguf_open (in, &gerr);
  if (g == NULL)
    {
      snprintf (err, err_size, "%s: %s", in, gerr.message);
      return false;
    }
  n = llm_gguf_n_tensors (g);
  types = calloc (n + 1, sizeof *types);
  if (types == NULL)
    {
      snprintf (err, err_size, "out of memory");
      goto out;
    }
  if (!llm_quantize_plan (g, params->ftype, types, err, err_size))
    goto out;

  w = llm_gguf_writer_new ();
  if (w == NULL || !llm_gguf_writer_copy_kv (w, g)
      || !llm_gguf_writer_set_u32 (w, "general.quantization_version", 2)
      || !llm_gguf_writer_set_u32 (w, "general.file_type", (uint32_t) params->ftype))
    {
      snprintf (err, err_size, "out of memory");
      goto out;
    }
  for (size_t i = 0; i < n; i++)
    {
      const llm_gguf_tensor *t = llm_gguf_get_tensor (g, i);
      if (!llm_gguf_writer_add_tensor (w, t->name, types[i], t->n_dims, t->ne, NULL))
        {
          snprintf (err, err_size, "cannot add tensor \"%s\"", t->name);
          goto out;
        }
    }

  tmp = malloc (strlen (out) + 16);
  if (tmp == NULL)
    goto out;
  sprintf (tmp, "%s.part", out);
  if (!llm_gguf_writer_begin (w, tmp, &gerr))
    {
      snprintf (err, err_size, "%s", gerr.message);
      goto out;
    }

  pool = llm_pool_new (params->n_threads);
  nth = llm_pool_n_threads (pool);
  scratch = calloc ((size_t) nth, sizeof *scratch);
  if (scratch != NULL)
    {
      /* one row of floats per thread, as long as the longest row */
      int64_t max_ne0 = 1;
      for (size_t k = 0; k < n; k++)
        if (llm_gguf_get_tensor (g, k)->ne[0] > max_ne0)
          max_ne0 = llm_gguf_get_tensor (g, k)->ne[0];
      for (int k = 0; k < nth; k++)
        scratch[k] = malloc ((size_t) max_ne0 * sizeof (float));
    }

  for (size_t i = 0; i < n; i++)
    {
      const llm_gguf_tensor *t = llm_gguf_get_tensor (g, i);
      if (params->cancel != NULL && *params->cancel)
        {
          snprintf (err, err_size, "cancelled");
          llm_gguf_writer_finish (w, NULL);
          unlink (tmp);
          goto out;
        }
      if (params->progress != NULL)
        params->progress (params->progress_data, i, n, t->name, t->type, types[i]);
      result->type_counts[types[i]]++;
      if (types[i] == t->type)
        {
          if (!llm_gguf_writer_write_data (w, t->data, (size_t) t->size, &gerr))
            {
              snprintf (err, err_size, "%s", gerr.message);
              llm_gguf_writer_finish (w, NULL);
              unlink (tmp);
              goto out;
            }
          continue;
        }
      {
        convert_job j;
        size_t out_size;
        j.t = t;
        j.to = types[i];
        j.ne0 = t->ne[0];
        j.n_rows = j.ne0 > 0 ? t->n_elements / j.ne0 : 0;
        j.in_row = llm_row_size (t->type, j.ne0);
        j.out_row = llm_row_size (types[i], j.ne0);
        j.scratch = scratch;
        out_size = j.out_row * (size_t) j.n_rows;
        j.out = malloc (out_size ? out_size : 1);
        if (j.out == NULL || scratch == NULL || scratch[nth - 1] == NULL)
          {
            free (j.out);
            snprintf (err, err_size, "out of memory for tensor \"%s\"", t->name);
            llm_gguf_writer_finish (w, NULL);
            unlink (tmp);
            goto out;
          }
        llm_pool_run (pool, convert_worker, &j);
        result->n_quantized++;
        if (!llm_gguf_writer_write_data (w, j.out, out_size, &gerr))
          {
            free (j.out);
            snprintf (err, err_size, "%s", gerr.message);
            llm_gguf_writer_finish (w, NULL);
            unlink (tmp);
            goto out;
          }
        free (j.out);
      }
    }
  if (!llm_gguf_writer_finish (w, &gerr))
    {
      snprintf (err, err_size, "%s", gerr.message);
      unlink (tmp);
      goto out;
    }
  if (rename (tmp, out) != 0)
    {
      snprintf (err, err_size, "cannot rename %s to %s: %s", tmp, out, strerror (errno));
      unlink (tmp);
      goto out;
    }
  result->size_in = llm_gguf_file_size (g);
  result->size_out = llm_gguf_writer_file_size (w);
  result->n_tensors = n;
  ok = true;

out:
  if (scratch != NULL)
    {
      for (int k = 0; k < llm_pool_n_threads (pool); k++)
        free (scratch[k]);
      free (scratch);
    }
  llm_pool_free (pool);
  llm_gguf_writer_free (w);
  free (tmp);
  free (types);
  llm_gguf_close (g);
  return ok;
}
