/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The vocabulary: building, lookups, special tokens, tokenize and decode.
 * The algorithms themselves live in llm-tokenizer-{spm,bpe,wpm,ugm}.c. */
#define _GNU_SOURCE  /* memmem */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm-tokenizer-private.h"

/* ---- token buffer ---- */

void
llm_tokbuf_push (LlmTokBuf *buf, LlmToken id)
{
  if (buf->oom)
    return;
  if (buf->len == buf->cap)
    {
      size_t cap = buf->cap ? buf->cap * 2 : 32;
      LlmToken *d = realloc (buf->data, cap * sizeof *d);
      if (d == NULL)
        {
          buf->oom = true;
          return;
        }
      buf->data = d;
      buf->cap = cap;
    }
  buf->data[buf->len++] = id;
}

/* ---- byte string ---- */

bool
llm_str_add (LlmStr *s, const char *p, size_t n)
{
  if (s->len + n > s->cap)
    {
      size_t cap = s->cap ? s->cap * 2 : 64;
      char *d;
      while (cap < s->len + n)
        cap *= 2;
      d = realloc (s->data, cap);
      if (d == NULL)
        return false;
      s->data = d;
      s->cap = cap;
    }
  memcpy (s->data + s->len, p, n);
  s->len += n;
  return true;
}

/* ---- string map ---- */

/* FNV-1a, computed a byte at a time so that callers trying every prefix of
 * a string (unigram, WordPiece) hash it once. */
static uint64_t
hash_bytes (const char *s, size_t len)
{
  uint64_t h = LLM_HASH_INIT;
  for (size_t i = 0; i < len; i++)
    h = llm_hash_step (h, (unsigned char) s[i]);
  return llm_hash_final (h);
}

bool
llm_strmap_init (LlmStrMap *map, size_t expected)
{
  size_t cap = 16;

  memset (map, 0, sizeof *map);
  while (cap < expected * 2)
    cap <<= 1;
  map->keys = calloc (cap, sizeof *map->keys);
  map->lens = calloc (cap, sizeof *map->lens);
  map->values = calloc (cap, sizeof *map->values);
  map->cap = cap;
  if (!map->keys || !map->lens || !map->values)
    {
      llm_strmap_clear (map);
      return false;
    }
  return true;
}

void
llm_strmap_clear (LlmStrMap *map)
{
  for (size_t i = 0; i < map->n_owned; i++)
    free (map->owned[i]);
  free (map->owned);
  free (map->keys);
  free (map->lens);
  free (map->values);
  memset (map, 0, sizeof *map);
}

static bool
strmap_grow (LlmStrMap *map)
{
  LlmStrMap bigger;
  size_t cap = map->cap * 2;

  bigger = *map;
  bigger.keys = calloc (cap, sizeof *bigger.keys);
  bigger.lens = calloc (cap, sizeof *bigger.lens);
  bigger.values = calloc (cap, sizeof *bigger.values);
  if (!bigger.keys || !bigger.lens || !bigger.values)
    {
      free (bigger.keys);
      free (bigger.lens);
      free (bigger.values);
      return false;
    }
  bigger.cap = cap;
  for (size_t i = 0; i < map->cap; i++)
    if (map->keys[i])
      {
        size_t j = hash_bytes (map->keys[i], map->lens[i]) & (cap - 1);
        while (bigger.keys[j])
          j = (j + 1) & (cap - 1);
        bigger.keys[j] = map->keys[i];
        bigger.lens[j] = map->lens[i];
        bigger.values[j] = map->values[i];
      }
  free (map->keys);
  free (map->lens);
  free (map->values);
  *map = bigger;
  return true;
}

bool
llm_strmap_put (LlmStrMap *map, const char *key, size_t len, int32_t value)
{
  size_t j;

  if ((map->count + 1) * 2 > map->cap && !strmap_grow (map))
    return false;
  j = hash_bytes (key, len) & (map->cap - 1);
  while (map->keys[j])
    {
      if (map->lens[j] == len && memcmp (map->keys[j], key, len) == 0)
        return true;
      j = (j + 1) & (map->cap - 1);
    }
  map->keys[j] = key;
  map->lens[j] = (uint32_t) len;
  map->values[j] = value;
  map->count++;
  return true;
}

bool
llm_strmap_put_copy (LlmStrMap *map, const char *key, size_t len, int32_t value)
{
  char *copy;
  char **owned;

  if (llm_strmap_get (map, key, len) >= 0)
    return true;
  owned = realloc (map->owned, (map->n_owned + 1) * sizeof *owned);
  if (owned == NULL)
    return false;
  map->owned = owned;
  copy = malloc (len + 1);
  if (copy == NULL)
    return false;
  memcpy (copy, key, len);
  copy[len] = '\0';
  map->owned[map->n_owned++] = copy;
  return llm_strmap_put (map, copy, len, value);
}

int32_t
llm_strmap_get (const LlmStrMap *map, const char *key, size_t len)
{
  return llm_strmap_get_hashed (map, key, len, hash_bytes (key, len));
}

int32_t
llm_strmap_get_hashed (const LlmStrMap *map, const char *key, size_t len, uint64_t hash)
{
  size_t j;

  if (map->cap == 0)
    return -1;
  j = hash & (map->cap - 1);
  while (map->keys[j])
    {
      if (map->lens[j] == len && memcmp (map->keys[j], key, len) == 0)
        return map->values[j];
      j = (j + 1) & (map->cap - 1);
    }
  return -1;
}

/* ---- building ---- */

LlmVocab *
llm_vocab_new (LlmVocabType type)
{
  LlmVocab *v = calloc (1, sizeof *v);

  if (v == NULL)
    return NULL;
  v->type = type;
  for (int i = 0; i < LLM_SPECIAL_N; i++)
    v->special[i] = LLM_TOKEN_NULL;
  /* The defaults GGUF files were written against. */
  switch (type)
    {
    case LLM_VOCAB_SPM:
      v->special[LLM_SPECIAL_BOS] = 1;
      v->special[LLM_SPECIAL_EOS] = 2;
      v->special[LLM_SPECIAL_UNK] = 0;
      v->flags[LLM_VOCAB_FLAG_ADD_BOS] = true;
      v->flags[LLM_VOCAB_FLAG_ADD_SPACE_PREFIX] = true;
      break;
    case LLM_VOCAB_BPE:
      break;
    case LLM_VOCAB_WPM:
      v->special[LLM_SPECIAL_UNK] = 100;
      v->special[LLM_SPECIAL_CLS] = 101;
      v->special[LLM_SPECIAL_SEP] = 102;
      v->special[LLM_SPECIAL_PAD] = 0;
      v->special[LLM_SPECIAL_MASK] = 103;
      v->flags[LLM_VOCAB_FLAG_ADD_BOS] = true;
      v->flags[LLM_VOCAB_FLAG_ADD_EOS] = true;
      break;
    case LLM_VOCAB_UGM:
      v->special[LLM_SPECIAL_EOS] = 1;
      v->special[LLM_SPECIAL_UNK] = 2;
      v->special[LLM_SPECIAL_PAD] = 0;
      v->flags[LLM_VOCAB_FLAG_ADD_EOS] = true;
      break;
    }
  v->pre = strdup ("default");
  if (v->pre == NULL)
    {
      free (v);
      return NULL;
    }
  return v;
}

void
llm_vocab_free (LlmVocab *v)
{
  if (v == NULL)
    return;
  for (int32_t i = 0; i < v->n_tokens; i++)
    free (v->tokens[i].text);
  free (v->tokens);
  for (int32_t i = 0; i < v->n_merges; i++)
    free (v->merges[i]);
  free (v->merges);
  free (v->charsmap);
  free (v->pre);
  llm_strmap_clear (&v->text_to_id);
  llm_strmap_clear (&v->merge_rank);
  free (v->special_cache);
  free (v->by_first);
  free (v->eog);
  llm_regex_split_free (v->split);
  free (v);
}

LlmToken
llm_vocab_add_token (LlmVocab *v, const char *text, size_t len, float score, LlmTokenType type)
{
  LlmTokenData *t;

  if (v->finished || len > UINT32_MAX)
    return LLM_TOKEN_NULL;
  if (v->n_tokens == v->cap_tokens)
    {
      int32_t cap = v->cap_tokens ? v->cap_tokens * 2 : 256;
      LlmTokenData *d = realloc (v->tokens, (size_t) cap * sizeof *d);
      if (d == NULL)
        return LLM_TOKEN_NULL;
      v->tokens = d;
      v->cap_tokens = cap;
    }
  t = &v->tokens[v->n_tokens];
  memset (t, 0, sizeof *t);
  t->text = malloc (len + 1);
  if (t->text == NULL)
    return LLM_TOKEN_NULL;
  memcpy (t->text, text, len);
  t->text[len] = '\0';
  t->len = (uint32_t) len;
  t->score = score;
  t->type = (uint8_t) (type <= LLM_TOKEN_TYPE_BYTE ? type : LLM_TOKEN_TYPE_UNDEFINED);
  if (len > v->max_token_len)
    v->max_token_len = len;
  return v->n_tokens++;
}

bool
llm_vocab_add_merge (LlmVocab *v, const char *merge, size_t len)
{
  const char *space = NULL;
  char *key;

  if (v->finished)
    return false;
  /* The separator is the first space after the first byte, so a left part
   * that is itself a space still works. */
  for (size_t i = 1; i < len; i++)
    if (merge[i] == ' ')
      {
        space = merge + i;
        break;
      }
  if (v->n_merges == v->cap_merges)
    {
      int32_t cap = v->cap_merges ? v->cap_merges * 2 : 256;
      char **d = realloc (v->merges, (size_t) cap * sizeof *d);
      if (d == NULL)
        return false;
      v->merges = d;
      v->cap_merges = cap;
    }
  key = malloc (len + 1);
  if (key == NULL)
    return false;
  if (space == NULL)
    {
      /* Malformed: keep the rank slot but make the key unmatchable. */
      key[0] = '\0';
    }
  else
    {
      size_t l = (size_t) (space - merge);
      memcpy (key, merge, l);
      key[l] = '\xff';   /* never part of valid UTF-8 */
      memcpy (key + l + 1, space + 1, len - l - 1);
      key[len] = '\0';
    }
  v->merges[v->n_merges++] = key;
  return true;
}

bool
llm_vocab_set_pre (LlmVocab *v, const char *pre, char *err, size_t err_size)
{
  size_t n;
  bool ignore;
  char *copy;

  if (pre == NULL || *pre == '\0')
    pre = "default";
  if (v->type == LLM_VOCAB_BPE && llm_pre_patterns (pre, &n, &ignore) == NULL)
    {
      llm_set_error (err, err_size,
                     "unknown pre-tokenizer “%s” (tokenizer.ggml.pre); this model's "
                     "tokenizer is not supported yet", pre);
      return false;
    }
  copy = strdup (pre);
  if (copy == NULL)
    return false;
  free (v->pre);
  v->pre = copy;
  if (v->type == LLM_VOCAB_BPE && !v->flag_set[LLM_VOCAB_FLAG_IGNORE_MERGES])
    v->flags[LLM_VOCAB_FLAG_IGNORE_MERGES] = ignore;
  /* These families start every prompt with BOS even when their files do not
   * say so (tokenizer.ggml.add_bos_token still wins when present). */
  if (v->type == LLM_VOCAB_BPE && !v->flag_set[LLM_VOCAB_FLAG_ADD_BOS])
    {
      static const char *const with_bos[] = { "llama3", "llama-v3", "llama-bpe", "falcon3",
                                              "tekken", "chameleon" };
      v->flags[LLM_VOCAB_FLAG_ADD_BOS] = false;
      for (size_t i = 0; i < sizeof with_bos / sizeof with_bos[0]; i++)
        if (strcmp (pre, with_bos[i]) == 0)
          v->flags[LLM_VOCAB_FLAG_ADD_BOS] = true;
    }
  return true;
}

void
llm_vocab_set_special (LlmVocab *v, LlmSpecial which, LlmToken id)
{
  if (which < LLM_SPECIAL_N)
    v->special[which] = id;
}

void
llm_vocab_set_flag (LlmVocab *v, LlmVocabFlag flag, bool value)
{
  if (flag < LLM_VOCAB_FLAG_N)
    {
      v->flags[flag] = value;
      v->flag_set[flag] = true;
    }
}

bool
llm_vocab_set_charsmap (LlmVocab *v, const void *data, size_t size, char *err, size_t err_size)
{
  uint32_t blob;

  free (v->charsmap);
  v->charsmap = NULL;
  v->charsmap_size = 0;
  if (size == 0)
    return true;
  if (size < 4)
    goto bad;
  memcpy (&blob, data, 4);   /* little-endian on every platform we build for */
  if ((size_t) blob + 4 >= size || blob % 4 != 0)
    goto bad;
  v->charsmap = malloc (size + 1);
  if (v->charsmap == NULL)
    return false;
  memcpy (v->charsmap, data, size);
  v->charsmap[size] = '\0';  /* so the last replacement string is terminated */
  v->charsmap_size = size;
  return true;

bad:
  llm_set_error (err, err_size, "tokenizer.ggml.precompiled_charsmap is malformed");
  return false;
}

typedef struct {
  uint32_t len;
  LlmToken id;
} SpecialKey;

/* longest text first, then by id, so the order never depends on qsort */
static int
cmp_special (const void *a, const void *b)
{
  const SpecialKey *x = a, *y = b;

  if (x->len != y->len)
    return x->len > y->len ? -1 : 1;
  return (x->id > y->id) - (x->id < y->id);
}

static bool
sort_special (LlmVocab *v)
{
  SpecialKey *keys;

  if (v->n_special_cache < 2)
    return true;
  keys = malloc (v->n_special_cache * sizeof *keys);
  if (keys == NULL)
    return false;
  for (size_t i = 0; i < v->n_special_cache; i++)
    {
      keys[i].id = v->special_cache[i];
      keys[i].len = v->tokens[keys[i].id].len;
    }
  qsort (keys, v->n_special_cache, sizeof *keys, cmp_special);
  for (size_t i = 0; i < v->n_special_cache; i++)
    v->special_cache[i] = keys[i].id;
  free (keys);
  return true;
}

static bool
has_upper (const char *s, size_t len)
{
  for (size_t i = 0; i < len;)
    {
      size_t adv;
      uint32_t cp = llm_utf8_decode (s + i, len - i, &adv);
      if (llm_cp_is_upper (cp))
        return true;
      i += adv;
    }
  return false;
}

static void
add_eog (LlmVocab *v, LlmToken id)
{
  LlmToken *d;

  if (id < 0 || id >= v->n_tokens)
    return;
  for (size_t i = 0; i < v->n_eog; i++)
    if (v->eog[i] == id)
      return;
  d = realloc (v->eog, (v->n_eog + 1) * sizeof *d);
  if (d == NULL)
    return;
  v->eog = d;
  v->eog[v->n_eog++] = id;
}

bool
llm_vocab_finish (LlmVocab *v, char *err, size_t err_size)
{
  static const char *const eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
    "<|eom_id|>", "<EOT>", "<｜end▁of▁sentence｜>",
  };

  if (v->finished)
    return true;
  if (v->n_tokens == 0)
    {
      llm_set_error (err, err_size, "the vocabulary has no tokens");
      return false;
    }
  /* bert: [CLS]/[SEP] play the part of BOS/EOS */
  if (v->type == LLM_VOCAB_WPM)
    {
      if (v->special[LLM_SPECIAL_BOS] == LLM_TOKEN_NULL)
        v->special[LLM_SPECIAL_BOS] = v->special[LLM_SPECIAL_CLS];
      if (v->special[LLM_SPECIAL_EOS] == LLM_TOKEN_NULL)
        v->special[LLM_SPECIAL_EOS] = v->special[LLM_SPECIAL_SEP];
    }
  for (int i = 0; i < LLM_SPECIAL_N; i++)
    if (v->special[i] != LLM_TOKEN_NULL && (v->special[i] < 0 || v->special[i] >= v->n_tokens))
      {
        static const char *const names[] = { "bos", "eos", "eot", "unknown", "separator",
                                             "padding", "cls", "mask" };
        llm_set_error (err, err_size, "special token %s = %d is outside the vocabulary (%d tokens)",
                       names[i], v->special[i], v->n_tokens);
        return false;
      }
  if (v->flags[LLM_VOCAB_FLAG_ADD_BOS] && v->special[LLM_SPECIAL_BOS] == LLM_TOKEN_NULL)
    v->flags[LLM_VOCAB_FLAG_ADD_BOS] = false;
  if (v->flags[LLM_VOCAB_FLAG_ADD_EOS] && v->special[LLM_SPECIAL_EOS] == LLM_TOKEN_NULL)
    v->flags[LLM_VOCAB_FLAG_ADD_EOS] = false;

  if (!llm_strmap_init (&v->text_to_id, (size_t) v->n_tokens))
    goto oom;
  /* A text listed twice means its last id, as in the other GGUF runtimes. */
  for (int32_t i = v->n_tokens - 1; i >= 0; i--)
    if (!llm_strmap_put (&v->text_to_id, v->tokens[i].text, v->tokens[i].len, i))
      goto oom;

  if (v->type == LLM_VOCAB_BPE)
    {
      size_t n_pats;
      bool ignore;
      const char *const *pats = llm_pre_patterns (v->pre, &n_pats, &ignore);

      if (pats == NULL)
        {
          llm_set_error (err, err_size, "unknown pre-tokenizer “%s”", v->pre);
          return false;
        }
      v->split = llm_regex_split_new (pats, n_pats, err, err_size);
      if (v->split == NULL)
        return false;
      if (!llm_strmap_init (&v->merge_rank, (size_t) v->n_merges))
        goto oom;
      for (int32_t i = 0; i < v->n_merges; i++)
        if (v->merges[i][0] != '\0'
            && !llm_strmap_put (&v->merge_rank, v->merges[i], strlen (v->merges[i]), i))
          goto oom;
    }

  /* byte fallback: "<0x0A>" tokens, or the byte itself as a token */
  for (int b = 0; b < 256; b++)
    {
      char buf[8];
      LlmToken id;

      snprintf (buf, sizeof buf, "<0x%02X>", b);
      id = llm_strmap_get (&v->text_to_id, buf, 6);
      if (id < 0)
        {
          buf[0] = (char) b;
          id = llm_strmap_get (&v->text_to_id, buf, 1);
        }
      v->byte_tokens[b] = id;
    }

  if (v->type == LLM_VOCAB_WPM)
    {
      size_t hashes = 0, phantom = 0, upper = 0;

      for (int32_t i = 0; i < v->n_tokens; i++)
        {
          const LlmTokenData *t = &v->tokens[i];
          if (t->len > 2 && memcmp (t->text, "##", 2) == 0)
            hashes++;
          if (t->len > 3 && memcmp (t->text, "\xe2\x96\x81", 3) == 0)
            phantom++;
          if (t->type == LLM_TOKEN_TYPE_NORMAL && t->text[0] != '[' && has_upper (t->text, t->len))
            upper++;
        }
      v->wpm_hashes = hashes > phantom;
      /* An uncased vocabulary has no capitals outside its [BRACKETED]
       * specials; a cased one has thousands. */
      if (!v->flag_set[LLM_VOCAB_FLAG_LOWERCASE])
        v->flags[LLM_VOCAB_FLAG_LOWERCASE] = upper * 100 < (size_t) v->n_tokens;
    }

  if (v->type == LLM_VOCAB_UGM)
    {
      float min_score = 1e30f;
      for (int32_t i = 0; i < v->n_tokens; i++)
        if (v->tokens[i].type == LLM_TOKEN_TYPE_NORMAL && v->tokens[i].score < min_score)
          min_score = v->tokens[i].score;
      v->ugm_unknown_score = (min_score < 1e30f ? min_score : 0.0f) - 10.0f;
      if (v->special[LLM_SPECIAL_UNK] == LLM_TOKEN_NULL)
        {
          llm_set_error (err, err_size, "a unigram vocabulary needs an unknown token");
          return false;
        }
    }

  /* end of generation */
  add_eog (v, v->special[LLM_SPECIAL_EOS]);
  add_eog (v, v->special[LLM_SPECIAL_EOT]);
  for (size_t i = 0; i < sizeof eog_texts / sizeof eog_texts[0]; i++)
    {
      LlmToken id = llm_strmap_get (&v->text_to_id, eog_texts[i], strlen (eog_texts[i]));
      if (id >= 0)
        {
          add_eog (v, id);
          if (v->special[LLM_SPECIAL_EOT] == LLM_TOKEN_NULL && i < 5)
            v->special[LLM_SPECIAL_EOT] = id;
        }
    }

  /* special tokens matched in the input before the algorithm runs */
  v->special_cache = malloc ((size_t) v->n_tokens * sizeof (LlmToken));
  if (v->special_cache == NULL)
    goto oom;
  for (int32_t i = 0; i < v->n_tokens; i++)
    {
      uint8_t t = v->tokens[i].type;
      if (t == LLM_TOKEN_TYPE_USER_DEFINED)
        v->has_user_defined = true;
      if ((t == LLM_TOKEN_TYPE_CONTROL || t == LLM_TOKEN_TYPE_USER_DEFINED
           || t == LLM_TOKEN_TYPE_UNKNOWN) && v->tokens[i].len > 0)
        v->special_cache[v->n_special_cache++] = i;
    }
  if (!sort_special (v))
    goto oom;
  v->by_first = malloc ((v->n_special_cache + 1) * sizeof *v->by_first);
  if (v->by_first == NULL)
    goto oom;
  {
    uint32_t fill[256] = { 0 };
    memset (v->first_start, 0, sizeof v->first_start);
    for (size_t i = 0; i < v->n_special_cache; i++)
      v->first_start[(unsigned char) v->tokens[v->special_cache[i]].text[0] + 1]++;
    for (int b = 0; b < 256; b++)
      v->first_start[b + 1] += v->first_start[b];
    for (size_t i = 0; i < v->n_special_cache; i++)
      {
        unsigned char b = (unsigned char) v->tokens[v->special_cache[i]].text[0];
        v->by_first[v->first_start[b] + fill[b]++] = (uint32_t) i;
      }
  }
  {
    size_t unused;
    llm_byte_to_unicode (0, &unused);  /* build the byte table before any thread uses it */
  }

  v->finished = true;
  return true;

oom:
  llm_set_error (err, err_size, "out of memory");
  return false;
}

/* ---- queries ---- */

LlmVocabType llm_vocab_get_type (const LlmVocab *v) { return v->type; }
const char *llm_vocab_get_pre (const LlmVocab *v) { return v->pre; }
int32_t llm_vocab_n_tokens (const LlmVocab *v) { return v->n_tokens; }

LlmToken
llm_vocab_get_special (const LlmVocab *v, LlmSpecial which)
{
  return which < LLM_SPECIAL_N ? v->special[which] : LLM_TOKEN_NULL;
}

bool
llm_vocab_get_flag (const LlmVocab *v, LlmVocabFlag flag)
{
  return flag < LLM_VOCAB_FLAG_N ? v->flags[flag] : false;
}

const char *
llm_vocab_get_text (const LlmVocab *v, LlmToken id, size_t *len)
{
  if (id < 0 || id >= v->n_tokens)
    return NULL;
  if (len)
    *len = v->tokens[id].len;
  return v->tokens[id].text;
}

float
llm_vocab_get_score (const LlmVocab *v, LlmToken id)
{
  return id >= 0 && id < v->n_tokens ? v->tokens[id].score : 0.0f;
}

LlmTokenType
llm_vocab_get_token_type (const LlmVocab *v, LlmToken id)
{
  return id >= 0 && id < v->n_tokens ? (LlmTokenType) v->tokens[id].type : LLM_TOKEN_TYPE_UNDEFINED;
}

LlmToken
llm_vocab_lookup (const LlmVocab *v, const char *text, size_t len)
{
  return llm_strmap_get (&v->text_to_id, text, len);
}

bool
llm_vocab_is_eog (const LlmVocab *v, LlmToken id)
{
  for (size_t i = 0; i < v->n_eog; i++)
    if (v->eog[i] == id)
      return true;
  return false;
}

/* ---- tokenize ---- */

/* A piece of the input: raw text to run the algorithm on, or a special token
 * found in it. */
typedef struct {
  LlmToken token;   /* LLM_TOKEN_NULL for text */
  size_t   start;
  size_t   len;
} Fragment;

typedef struct {
  Fragment *data;
  size_t    len;
  size_t    cap;
  bool      oom;
} FragBuf;

static void
frag_push (FragBuf *b, LlmToken token, size_t start, size_t len)
{
  if (b->oom || (token == LLM_TOKEN_NULL && len == 0))
    return;
  if (b->len == b->cap)
    {
      size_t cap = b->cap ? b->cap * 2 : 16;
      Fragment *d = realloc (b->data, cap * sizeof *d);
      if (d == NULL)
        {
          b->oom = true;
          return;
        }
      b->data = d;
      b->cap = cap;
    }
  b->data[b->len].token = token;
  b->data[b->len].start = start;
  b->data[b->len].len = len;
  b->len++;
}

static bool
is_ascii_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Splits the text around special tokens, longest tokens first. Control and
 * unknown tokens only count when @parse_special; user-defined tokens (added
 * vocabulary) always do, as in the reference tokenizers. */
static bool
partition_special (const LlmVocab *v, const char *text, size_t len, bool parse_special,
                   FragBuf *out)
{
  FragBuf cur = { 0 };

  bool *present = NULL;
  size_t n_present = 0;

  frag_push (&cur, LLM_TOKEN_NULL, 0, len);
  if (v->n_special_cache == 0)
    goto out;

  /* One pass over the text finds which special tokens occur at all (most
   * texts have none), so vocabularies with thousands of them stay fast. */
  present = calloc (v->n_special_cache, sizeof *present);
  if (present == NULL)
    {
      cur.oom = true;
      goto out;
    }
  for (size_t pos = 0; pos < len; pos++)
    {
      unsigned char b = (unsigned char) text[pos];
      for (uint32_t k = v->first_start[b]; k < v->first_start[b + 1]; k++)
        {
          uint32_t s = v->by_first[k];
          const LlmTokenData *t = &v->tokens[v->special_cache[s]];
          if (!present[s] && t->len <= len - pos && memcmp (text + pos, t->text, t->len) == 0
              && (parse_special || t->type == LLM_TOKEN_TYPE_USER_DEFINED))
            {
              present[s] = true;
              n_present++;
            }
        }
    }

  for (size_t s = 0; s < v->n_special_cache && n_present > 0 && !cur.oom; s++)
    {
      LlmToken id = v->special_cache[s];
      const LlmTokenData *t = &v->tokens[id];
      FragBuf next = { 0 };
      bool found = false;

      if (!present[s])
        continue;
      for (size_t f = 0; f < cur.len; f++)
        {
          Fragment fr = cur.data[f];
          size_t pos = fr.start, end = fr.start + fr.len;

          if (fr.token != LLM_TOKEN_NULL)
            {
              frag_push (&next, fr.token, 0, 0);
              continue;
            }
          while (pos < end)
            {
              const char *m = memmem (text + pos, end - pos, t->text, t->len);
              size_t at;

              if (m == NULL)
                break;
              found = true;
              at = (size_t) (m - text);
              frag_push (&next, LLM_TOKEN_NULL, pos, at - pos);
              frag_push (&next, id, 0, 0);
              pos = at + t->len;
              if (t->rstrip)
                while (pos < end && is_ascii_space (text[pos]))
                  pos++;
            }
          frag_push (&next, LLM_TOKEN_NULL, pos, end - pos);
        }
      if (!found)
        {
          free (next.data);
          continue;
        }
      free (cur.data);
      cur = next;
    }
out:
  free (present);
  *out = cur;
  return !cur.oom;
}

LlmToken *
llm_tokenize (const LlmVocab *v, const char *text, size_t len, unsigned flags, size_t *n_tokens)
{
  bool add_special = (flags & LLM_TOKENIZE_ADD_SPECIAL) != 0;
  bool add_bos = add_special && v->flags[LLM_VOCAB_FLAG_ADD_BOS];
  bool add_eos = add_special && v->flags[LLM_VOCAB_FLAG_ADD_EOS];
  LlmTokBuf out = { 0 };
  FragBuf frags = { 0 };
  bool prev_special = true;

  *n_tokens = 0;
  if (!v->finished)
    return NULL;
  if (len > 0 && !partition_special (v, text, len, (flags & LLM_TOKENIZE_PARSE_SPECIAL) != 0, &frags))
    {
      free (frags.data);
      return NULL;
    }

  if (add_bos)
    llm_tokbuf_push (&out, v->special[LLM_SPECIAL_BOS]);

  for (size_t f = 0; f < frags.len; f++)
    {
      const Fragment *fr = &frags.data[f];

      if (fr->token != LLM_TOKEN_NULL)
        {
          llm_tokbuf_push (&out, fr->token);
          prev_special = true;
          continue;
        }
      switch (v->type)
        {
        case LLM_VOCAB_SPM:
          {
            /* SentencePiece: " " becomes "▁", and a text that starts the
             * input or follows a special token gets one in front. */
            bool prefix = v->flags[LLM_VOCAB_FLAG_ADD_SPACE_PREFIX] && prev_special;
            size_t n_spaces = prefix ? 1 : 0;
            char *esc, *p;

            for (size_t i = 0; i < fr->len; i++)
              n_spaces += text[fr->start + i] == ' ';
            esc = malloc (fr->len + n_spaces * 2 + 1);
            if (esc == NULL)
              {
                out.oom = true;
                break;
              }
            p = esc;
            if (prefix)
              {
                memcpy (p, "\xe2\x96\x81", 3);
                p += 3;
              }
            for (size_t i = 0; i < fr->len; i++)
              {
                char c = text[fr->start + i];
                if (c == ' ')
                  {
                    memcpy (p, "\xe2\x96\x81", 3);
                    p += 3;
                  }
                else
                  *p++ = c;
              }
            llm_tokenize_spm (v, esc, (size_t) (p - esc), &out);
            free (esc);
          }
          break;
        case LLM_VOCAB_BPE:
          llm_tokenize_bpe (v, text + fr->start, fr->len, &out);
          break;
        case LLM_VOCAB_WPM:
          llm_tokenize_wpm (v, text + fr->start, fr->len, &out);
          break;
        case LLM_VOCAB_UGM:
          llm_tokenize_ugm (v, text + fr->start, fr->len, &out);
          break;
        }
      prev_special = false;
    }

  if (add_eos)
    llm_tokbuf_push (&out, v->special[LLM_SPECIAL_EOS]);
  free (frags.data);

  if (out.oom)
    {
      free (out.data);
      return NULL;
    }
  if (out.data == NULL)
    out.data = malloc (sizeof (LlmToken));
  *n_tokens = out.len;
  return out.data;
}

/* ---- decode ---- */

typedef struct {
  char  *data;
  size_t len;
  size_t cap;
  bool   oom;
} ByteBuf;

static void
bytes_append (ByteBuf *b, const char *s, size_t n)
{
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap)
    {
      size_t cap = b->cap ? b->cap : 64;
      char *d;
      while (cap < b->len + n + 1)
        cap *= 2;
      d = realloc (b->data, cap);
      if (d == NULL)
        {
          b->oom = true;
          return;
        }
      b->data = d;
      b->cap = cap;
    }
  memcpy (b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

/* Appends the text of @id to @b; @first says whether it starts the output
 * (where the SentencePiece space prefix is dropped). */
static void
piece_append (const LlmVocab *v, LlmToken id, bool special, bool first, ByteBuf *b)
{
  const LlmTokenData *t;

  if (id < 0 || id >= v->n_tokens)
    return;
  t = &v->tokens[id];
  switch (t->type)
    {
    case LLM_TOKEN_TYPE_CONTROL:
    case LLM_TOKEN_TYPE_UNKNOWN:
      if (special)
        bytes_append (b, t->text, t->len);
      return;
    case LLM_TOKEN_TYPE_USER_DEFINED:
      bytes_append (b, t->text, t->len);
      return;
    case LLM_TOKEN_TYPE_BYTE:
      if (v->type != LLM_VOCAB_BPE && t->len == 6 && memcmp (t->text, "<0x", 3) == 0)
        {
          char byte = (char) strtol (t->text + 3, NULL, 16);
          bytes_append (b, &byte, 1);
          return;
        }
      break;
    case LLM_TOKEN_TYPE_NORMAL:
    case LLM_TOKEN_TYPE_UNUSED:
    case LLM_TOKEN_TYPE_UNDEFINED:
    default:
      break;
    }

  if (v->type == LLM_VOCAB_BPE)
    {
      /* Every character maps back to one byte. */
      for (size_t i = 0; i < t->len;)
        {
          size_t adv;
          uint32_t cp = llm_utf8_decode (t->text + i, t->len - i, &adv);
          int byte = llm_unicode_to_byte (cp);
          if (byte >= 0)
            {
              char c = (char) byte;
              bytes_append (b, &c, 1);
            }
          else
            bytes_append (b, t->text + i, adv);
          i += adv;
        }
      return;
    }

  if (v->type == LLM_VOCAB_WPM && v->wpm_hashes)
    {
      if (t->len >= 2 && memcmp (t->text, "##", 2) == 0)
        bytes_append (b, t->text + 2, t->len - 2);
      else
        {
          if (!first)
            bytes_append (b, " ", 1);
          bytes_append (b, t->text, t->len);
        }
      return;
    }

  /* "▁" is a space; the one the tokenizer put in front goes away. */
  for (size_t i = 0; i < t->len;)
    {
      if (i + 3 <= t->len && memcmp (t->text + i, "\xe2\x96\x81", 3) == 0)
        {
          bool drop = first && i == 0
                      && (v->flags[LLM_VOCAB_FLAG_ADD_SPACE_PREFIX] || v->type == LLM_VOCAB_WPM);
          if (!drop)
            bytes_append (b, " ", 1);
          i += 3;
        }
      else
        {
          bytes_append (b, t->text + i, 1);
          i++;
        }
    }
}

size_t
llm_token_to_piece (const LlmVocab *v, LlmToken id, bool special, char *buf, size_t size)
{
  ByteBuf b = { 0 };
  size_t n;

  piece_append (v, id, special, false, &b);
  n = b.len;
  if (buf && size)
    memcpy (buf, b.data ? b.data : "", n < size ? n : size);
  free (b.data);
  return n;
}

/* WordPiece output has a space before every punctuation mark; undo the
 * common cases as BERT's own decoder does (clean_up_tokenization_spaces).
 * Only for WordPiece: the other tokenizers decode exactly. */
static void
clean_up_spaces (ByteBuf *b)
{
  static const char *const from[] = { " .", " ?", " !", " ,", " ' ", " n't", " 'm", " 's", " 've", " 're" };
  static const char *const to[]   = { ".",  "?",  "!",  ",",  "'",   "n't",  "'m",  "'s",  "'ve",  "'re" };
  size_t w = 0;

  if (b->data == NULL)
    return;
  for (size_t r = 0; r < b->len;)
    {
      size_t k;
      for (k = 0; k < sizeof from / sizeof from[0]; k++)
        {
          size_t n = strlen (from[k]);
          if (r + n <= b->len && memcmp (b->data + r, from[k], n) == 0)
            break;
        }
      if (k < sizeof from / sizeof from[0])
        {
          size_t n = strlen (to[k]);
          memmove (b->data + w, to[k], n);
          w += n;
          r += strlen (from[k]);
        }
      else
        b->data[w++] = b->data[r++];
    }
  b->len = w;
  b->data[w] = '\0';
}

char *
llm_detokenize (const LlmVocab *v, const LlmToken *ids, size_t n_ids, bool special, size_t *len)
{
  ByteBuf b = { 0 };
  bool first = true;

  bytes_append (&b, "", 0);
  for (size_t i = 0; i < n_ids; i++)
    {
      /* A leading BOS does not count as the start for the space prefix. */
      if (first && ids[i] == v->special[LLM_SPECIAL_BOS] && !special)
        continue;
      piece_append (v, ids[i], special, first, &b);
      first = false;
    }
  if (v->type == LLM_VOCAB_WPM && !b.oom)
    clean_up_spaces (&b);
  if (b.oom)
    {
      free (b.data);
      return NULL;
    }
  if (len)
    *len = b.len;
  return b.data;
}

size_t
llm_utf8_complete_prefix (const char *str, size_t len)
{
  const unsigned char *s = (const unsigned char *) str;

  /* Look back at most 3 bytes for the lead byte of an unfinished sequence. */
  for (size_t back = 1; back <= 3 && back <= len; back++)
    {
      unsigned char c = s[len - back];
      size_t need;

      if ((c & 0xC0) == 0x80)
        continue;             /* a continuation byte: keep looking */
      if (c < 0xC2 || c > 0xF4)
        return len;           /* ASCII or invalid: nothing pending */
      need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      return need > back ? len - back : len;
    }
  return len;
}
