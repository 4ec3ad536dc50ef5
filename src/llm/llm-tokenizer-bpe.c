/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Byte-level BPE (tokenizer.ggml.model "gpt2"): split the text with the
 * pre-tokenizer patterns of tokenizer.ggml.pre, spell each piece's bytes as
 * the GPT-2 byte characters, then apply the merge rules lowest rank first. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "llm-tokenizer-private.h"

typedef struct {
  const LlmVocab *v;
  const char     *word;
  LlmSymbol      *syms;
  LlmBigramHeap   heap;
  char           *key;      /* scratch for "left\xffright" */
  size_t          key_cap;
} Session;

/* A pair merges when "left\xffright" is a merge rule; lowest rank first. */
static bool
bpe_pair_score (void *data, const LlmSymbol *l, const LlmSymbol *r, double *priority)
{
  Session *s = data;
  size_t n = l->n + r->n + 1;
  int32_t rank;

  if (n > s->key_cap)
    {
      char *k = realloc (s->key, n * 2);
      if (k == NULL)
        {
          s->heap.oom = true;
          return false;
        }
      s->key = k;
      s->key_cap = n * 2;
    }
  memcpy (s->key, s->word + l->start, l->n);
  s->key[l->n] = '\xff';
  memcpy (s->key + l->n + 1, s->word + r->start, r->n);
  rank = llm_strmap_get (&s->v->merge_rank, s->key, n);
  if (rank < 0)
    return false;
  *priority = -(double) rank;
  return true;
}

/* Runs the merges over one byte-encoded word and appends its tokens. */
static void
bpe_word (Session *s, const char *word, size_t len, LlmTokBuf *out)
{
  const LlmVocab *v = s->v;
  int n_syms = 0;

  if (v->flags[LLM_VOCAB_FLAG_IGNORE_MERGES])
    {
      LlmToken id = llm_strmap_get (&v->text_to_id, word, len);
      if (id >= 0)
        {
          llm_tokbuf_push (out, id);
          return;
        }
    }

  s->word = word;
  for (size_t off = 0; off < len;)
    {
      size_t n = llm_utf8_len ((unsigned char) word[off]);
      if (n > len - off)
        n = len - off;
      s->syms[n_syms].start = off;
      s->syms[n_syms].n = n;
      s->syms[n_syms].prev = n_syms - 1;
      off += n;
      s->syms[n_syms].next = off == len ? -1 : n_syms + 1;
      n_syms++;
    }
  llm_merge_symbols (s->syms, n_syms, &s->heap, bpe_pair_score, s);

  for (int i = 0; n_syms > 0 && i != -1; i = s->syms[i].next)
    {
      const LlmSymbol *sym = &s->syms[i];
      LlmToken id = llm_strmap_get (&v->text_to_id, word + sym->start, sym->n);

      if (id >= 0)
        {
          llm_tokbuf_push (out, id);
          continue;
        }
      /* Not in the vocabulary (a vocabulary without all 256 byte
       * characters): fall back to single-byte tokens, else unknown. */
      for (size_t j = 0; j < sym->n; j++)
        {
          LlmToken b = llm_strmap_get (&v->text_to_id, word + sym->start + j, 1);
          if (b < 0)
            b = v->special[LLM_SPECIAL_UNK];
          if (b >= 0)
            llm_tokbuf_push (out, b);
        }
    }
}

void
llm_tokenize_bpe (const LlmVocab *v, const char *text, size_t len, LlmTokBuf *out)
{
  Session s = { 0 };
  LlmSpan *spans;
  size_t n_spans = 0;
  char *word = NULL;

  if (len == 0)
    return;
  spans = llm_regex_split_run (v->split, text, len, &n_spans);
  /* a byte becomes at most 2 bytes of UTF-8, and at most one symbol */
  word = malloc (len * 2 + 1);
  s.syms = malloc ((len + 1) * sizeof *s.syms);
  s.v = v;
  if (spans == NULL || word == NULL || s.syms == NULL)
    {
      out->oom = true;
      goto out;
    }

  for (size_t i = 0; i < n_spans; i++)
    {
      size_t wlen = 0;

      for (size_t j = 0; j < spans[i].len; j++)
        {
          size_t n;
          const char *u = llm_byte_to_unicode ((unsigned char) text[spans[i].start + j], &n);
          memcpy (word + wlen, u, n);
          wlen += n;
        }
      bpe_word (&s, word, wlen, out);
    }
  if (s.heap.oom)
    out->oom = true;

out:
  free (spans);
  free (word);
  free (s.syms);
  free (s.heap.data);
  free (s.key);
}
