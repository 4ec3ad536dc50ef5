/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Building a vocabulary from the tokenizer.ggml.* metadata of a GGUF file. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "llm-gguf.h"
#include "llm-tokenizer-private.h"

static const struct {
  const char *key;
  LlmSpecial  which;
} special_keys[] = {
  { "tokenizer.ggml.bos_token_id", LLM_SPECIAL_BOS },
  { "tokenizer.ggml.eos_token_id", LLM_SPECIAL_EOS },
  { "tokenizer.ggml.eot_token_id", LLM_SPECIAL_EOT },
  { "tokenizer.ggml.unknown_token_id", LLM_SPECIAL_UNK },
  { "tokenizer.ggml.seperator_token_id", LLM_SPECIAL_SEP },  /* sic: the key as published */
  { "tokenizer.ggml.separator_token_id", LLM_SPECIAL_SEP },
  { "tokenizer.ggml.padding_token_id", LLM_SPECIAL_PAD },
  { "tokenizer.ggml.cls_token_id", LLM_SPECIAL_CLS },
  { "tokenizer.ggml.mask_token_id", LLM_SPECIAL_MASK },
};

static const struct {
  const char  *key;
  LlmVocabFlag flag;
} flag_keys[] = {
  { "tokenizer.ggml.add_bos_token", LLM_VOCAB_FLAG_ADD_BOS },
  { "tokenizer.ggml.add_eos_token", LLM_VOCAB_FLAG_ADD_EOS },
  { "tokenizer.ggml.add_space_prefix", LLM_VOCAB_FLAG_ADD_SPACE_PREFIX },
  { "tokenizer.ggml.remove_extra_whitespaces", LLM_VOCAB_FLAG_REMOVE_EXTRA_WHITESPACES },
  /* not written by the usual converters; lets a cased WordPiece model say so */
  { "tokenizer.ggml.do_lower_case", LLM_VOCAB_FLAG_LOWERCASE },
};

static bool
contains_ci (const char *haystack, const char *needle)
{
  size_t n = strlen (needle);

  for (; *haystack; haystack++)
    {
      size_t i = 0;
      while (i < n && haystack[i]
             && (haystack[i] | 0x20) == (needle[i] | 0x20))
        i++;
      if (i == n)
        return true;
    }
  return false;
}

static LlmVocab *
load (const llm_gguf *g, const char *path, char *err, size_t err_size)
{
  const llm_gguf_kv *tokens_kv, *scores_kv, *types_kv, *merges_kv, *charsmap_kv;
  char *model = NULL, *pre = NULL, *name = NULL;
  LlmVocab *v = NULL;
  LlmVocabType type;
  uint64_t n_tokens;

  model = llm_gguf_dup_string (g, "tokenizer.ggml.model");
  if (model == NULL)
    {
      llm_set_error (err, err_size, "%s has no tokenizer (tokenizer.ggml.model is missing)", path);
      goto fail;
    }
  if (strcmp (model, "llama") == 0)
    type = LLM_VOCAB_SPM;
  else if (strcmp (model, "gpt2") == 0)
    type = LLM_VOCAB_BPE;
  else if (strcmp (model, "bert") == 0)
    type = LLM_VOCAB_WPM;
  else if (strcmp (model, "t5") == 0)
    type = LLM_VOCAB_UGM;
  else
    {
      llm_set_error (err, err_size, "%s: tokenizer model “%s” is not supported "
                     "(supported: llama, gpt2, bert, t5)", path, model);
      goto fail;
    }

  tokens_kv = llm_gguf_find_kv (g, "tokenizer.ggml.tokens");
  if (tokens_kv == NULL || tokens_kv->value.type != LLM_GGUF_TYPE_ARRAY
      || tokens_kv->value.arr_type != LLM_GGUF_TYPE_STRING || tokens_kv->value.arr_n == 0)
    {
      llm_set_error (err, err_size, "%s: tokenizer.ggml.tokens is missing or not a list of strings", path);
      goto fail;
    }
  n_tokens = tokens_kv->value.arr_n;
  if (n_tokens > INT32_MAX / 2)
    {
      llm_set_error (err, err_size, "%s: %llu tokens is too many", path, (unsigned long long) n_tokens);
      goto fail;
    }
  scores_kv = llm_gguf_find_kv (g, "tokenizer.ggml.scores");
  if (scores_kv && (scores_kv->value.type != LLM_GGUF_TYPE_ARRAY || scores_kv->value.arr_n != n_tokens))
    {
      llm_set_error (err, err_size, "%s: tokenizer.ggml.scores does not have one score per token", path);
      goto fail;
    }
  types_kv = llm_gguf_find_kv (g, "tokenizer.ggml.token_type");
  if (types_kv && (types_kv->value.type != LLM_GGUF_TYPE_ARRAY || types_kv->value.arr_n != n_tokens))
    {
      llm_set_error (err, err_size, "%s: tokenizer.ggml.token_type does not have one type per token", path);
      goto fail;
    }
  if ((type == LLM_VOCAB_SPM || type == LLM_VOCAB_UGM) && scores_kv == NULL)
    {
      llm_set_error (err, err_size, "%s: a %s tokenizer needs tokenizer.ggml.scores", path, model);
      goto fail;
    }

  v = llm_vocab_new (type);
  if (v == NULL)
    goto oom;

  for (uint64_t i = 0; i < n_tokens; i++)
    {
      const char *s;
      uint64_t len;
      double score = 0.0;
      int64_t tt = LLM_TOKEN_TYPE_NORMAL;

      if (!llm_gguf_value_array_string (&tokens_kv->value, i, &s, &len))
        {
          llm_set_error (err, err_size, "%s: token %llu is unreadable", path, (unsigned long long) i);
          goto fail;
        }
      if (scores_kv && !llm_gguf_value_array_float (&scores_kv->value, i, &score))
        {
          llm_set_error (err, err_size, "%s: tokenizer.ggml.scores is not a list of numbers", path);
          goto fail;
        }
      if (types_kv && !llm_gguf_value_array_int (&types_kv->value, i, &tt))
        {
          llm_set_error (err, err_size, "%s: tokenizer.ggml.token_type is not a list of integers", path);
          goto fail;
        }
      if (llm_vocab_add_token (v, s, (size_t) len, (float) score,
                               (LlmTokenType) (tt >= 0 && tt <= 6 ? tt : 0)) == LLM_TOKEN_NULL)
        goto oom;
    }

  merges_kv = llm_gguf_find_kv (g, "tokenizer.ggml.merges");
  if (type == LLM_VOCAB_BPE)
    {
      if (merges_kv == NULL || merges_kv->value.type != LLM_GGUF_TYPE_ARRAY
          || merges_kv->value.arr_type != LLM_GGUF_TYPE_STRING)
        {
          llm_set_error (err, err_size, "%s: a gpt2 tokenizer needs tokenizer.ggml.merges", path);
          goto fail;
        }
      for (uint64_t i = 0; i < merges_kv->value.arr_n; i++)
        {
          const char *s;
          uint64_t len;
          if (!llm_gguf_value_array_string (&merges_kv->value, i, &s, &len))
            {
              llm_set_error (err, err_size, "%s: merge %llu is unreadable", path, (unsigned long long) i);
              goto fail;
            }
          if (!llm_vocab_add_merge (v, s, (size_t) len))
            goto oom;
        }
      pre = llm_gguf_dup_string (g, "tokenizer.ggml.pre");
      if (!llm_vocab_set_pre (v, pre, err, err_size))
        goto fail;
    }

  charsmap_kv = llm_gguf_find_kv (g, "tokenizer.ggml.precompiled_charsmap");
  if (type == LLM_VOCAB_UGM && charsmap_kv != NULL)
    {
      const llm_gguf_value *cv = &charsmap_kv->value;
      if (cv->type != LLM_GGUF_TYPE_ARRAY
          || (cv->arr_type != LLM_GGUF_TYPE_UINT8 && cv->arr_type != LLM_GGUF_TYPE_INT8))
        {
          llm_set_error (err, err_size, "%s: tokenizer.ggml.precompiled_charsmap is not a byte array", path);
          goto fail;
        }
      if (!llm_vocab_set_charsmap (v, cv->arr_data, (size_t) cv->arr_n, err, err_size))
        goto fail;
    }

  for (size_t i = 0; i < sizeof special_keys / sizeof special_keys[0]; i++)
    {
      uint64_t id;
      if (llm_gguf_find_kv (g, special_keys[i].key) == NULL)
        continue;
      if (!llm_gguf_get_uint (g, special_keys[i].key, &id) || id >= n_tokens)
        {
          /* Published files carry the odd padding id of -1 or one past the
           * end; ids the tokenizer never emits are ignored when bad. */
          LlmSpecial w = special_keys[i].which;
          bool used = w == LLM_SPECIAL_BOS || w == LLM_SPECIAL_EOS || w == LLM_SPECIAL_UNK
                      || (type == LLM_VOCAB_WPM && (w == LLM_SPECIAL_CLS || w == LLM_SPECIAL_SEP));
          if (!used)
            {
              llm_vocab_set_special (v, w, LLM_TOKEN_NULL);
              continue;
            }
          llm_set_error (err, err_size, "%s: %s is not a token id of this vocabulary (%llu tokens)",
                         path, special_keys[i].key, (unsigned long long) n_tokens);
          goto fail;
        }
      llm_vocab_set_special (v, special_keys[i].which, (LlmToken) id);
    }
  for (size_t i = 0; i < sizeof flag_keys / sizeof flag_keys[0]; i++)
    {
      bool b;
      /* bert's closing token is [SEP], which has its own key; its EOS
       * flag (often false: BERT has no EOS) does not apply */
      if (type == LLM_VOCAB_WPM && flag_keys[i].flag == LLM_VOCAB_FLAG_ADD_EOS)
        continue;
      if (llm_gguf_get_bool (g, flag_keys[i].key, &b))
        llm_vocab_set_flag (v, flag_keys[i].flag, b);
    }
  if (type == LLM_VOCAB_WPM)
    {
      bool b;
      if (llm_gguf_get_bool (g, "tokenizer.ggml.add_sep_token", &b))
        llm_vocab_set_flag (v, LLM_VOCAB_FLAG_ADD_EOS, b);
    }

  /* Phi-3 eats the whitespace after its special tokens (as its reference
   * tokenizer does), except after <s>, <unk> and <|endoftext|>. */
  name = llm_gguf_dup_string (g, "general.name");
  if (name && (contains_ci (name, "phi-3") || contains_ci (name, "phi3")))
    for (int32_t i = 0; i < v->n_tokens; i++)
      {
        LlmTokenData *t = &v->tokens[i];
        if (t->type == LLM_TOKEN_TYPE_CONTROL || t->type == LLM_TOKEN_TYPE_USER_DEFINED
            || t->type == LLM_TOKEN_TYPE_UNKNOWN)
          t->rstrip = strcmp (t->text, "<unk>") != 0 && strcmp (t->text, "<s>") != 0
                      && strcmp (t->text, "<|endoftext|>") != 0;
      }

  if (!llm_vocab_finish (v, err, err_size))
    goto fail;
  free (model);
  free (pre);
  free (name);
  return v;

oom:
  llm_set_error (err, err_size, "out of memory reading the vocabulary of %s", path);
fail:
  llm_vocab_free (v);
  free (model);
  free (pre);
  free (name);
  return NULL;
}

LlmVocab *
llm_vocab_load_gguf (const char *path, char *err, size_t err_size)
{
  llm_gguf_error gerr = { 0 };
  llm_gguf *g = llm_gguf_open (path, &gerr);
  LlmVocab *v;

  if (g == NULL)
    {
      llm_set_error (err, err_size, "%s", gerr.message[0] ? gerr.message : "cannot read the GGUF file");
      return NULL;
    }
  v = load (g, path, err, err_size);
  llm_gguf_close (g);
  return v;
}

LlmVocab *
llm_vocab_from_gguf (const llm_gguf *gguf, char *err, size_t err_size)
{
  return load (gguf, "the model", err, err_size);
}
