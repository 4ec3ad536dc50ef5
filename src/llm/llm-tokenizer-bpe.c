/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Byte-level BPE (tokenizer.ggml.model "gpt2"): split the text with the
 * pre-tokenizer patterns of tokenizer.ggml.pre, spell each piece's bytes as
 * the GPT-2 byte characters, then apply the merge rules lowest rank first. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "llm-tokenizer-private.h"

typedef struct {
  int    prev;
  int    next;
  size_t start;
  size_t n;
} Symbol;

typedef struct {
  int    left;
  int    right;
  int32_t rank;
  size_t size;
} Bigram;

typedef struct {
  Bigram *data;
  size_t  len;
  size_t  cap;
  bool    oom;
} Heap;

/* Lowest rank first; on ties the leftmost pair. */
static bool
before (const Bigram *a, const Bigram *b)
{
  if (a->rank != b->rank)
    return a->rank < b->rank;
  return a->left < b->left;
}

static void
heap_push (Heap *h, Bigram x)
{
  size_t i;

  if (h->oom)
    return;
  if (h->len == h->cap)
    {
      size_t cap = h->cap ? h->cap * 2 : 64;
      Bigram *d = realloc (h->data, cap * sizeof *d);
      if (d == NULL)
        {
          h->oom = true;
          return;
        }
      h->data = d;
      h->cap = cap;
    }
  i = h->len++;
  while (i > 0 && before (&x, &h->data[(i - 1) / 2]))
    {
      h->data[i] = h->data[(i - 1) / 2];
      i = (i - 1) / 2;
    }
  h->data[i] = x;
}

static Bigram
heap_pop (Heap *h)
{
  Bigram top = h->data[0];
  Bigram last = h->data[--h->len];
  size_t i = 0;

  for (;;)
    {
      size_t c = 2 * i + 1;
      if (c >= h->len)
        break;
      if (c + 1 < h->len && before (&h->data[c + 1], &h->data[c]))
        c++;
      if (!before (&h->data[c], &last))
        break;
      h->data[i] = h->data[c];
      i = c;
    }
  if (h->len > 0)
    h->data[i] = last;
  return top;
}

typedef struct {
  const LlmVocab *v;
  const char     *word;
  Symbol         *syms;
  Heap            heap;
  char           *key;      /* scratch for "left\xffright" */
  size_t          key_cap;
} Session;

static void
try_bigram (Session *s, int left, int right)
{
  const Symbol *l, *r;
  size_t n;
  int32_t rank;
  Bigram b;

  if (left < 0 || right < 0)
    return;
  l = &s->syms[left];
  r = &s->syms[right];
  n = l->n + r->n + 1;
  if (n > s->key_cap)
    {
      char *k = realloc (s->key, n * 2);
      if (k == NULL)
        {
          s->heap.oom = true;
          return;
        }
      s->key = k;
      s->key_cap = n * 2;
    }
  memcpy (s->key, s->word + l->start, l->n);
  s->key[l->n] = '\xff';
  memcpy (s->key + l->n + 1, s->word + r->start, r->n);
  rank = llm_strmap_get (&s->v->merge_rank, s->key, n);
  if (rank < 0)
    return;
  b.left = left;
  b.right = right;
  b.rank = rank;
  b.size = l->n + r->n;
  heap_push (&s->heap, b);
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
  s->heap.len = 0;
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
  for (int i = 1; i < n_syms; i++)
    try_bigram (s, i - 1, i);

  while (s->heap.len > 0)
    {
      Bigram b = heap_pop (&s->heap);
      Symbol *l = &s->syms[b.left], *r = &s->syms[b.right];

      if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
        continue;
      l->n += r->n;
      r->n = 0;
      l->next = r->next;
      if (r->next >= 0)
        s->syms[r->next].prev = b.left;
      try_bigram (s, l->prev, b.left);
      try_bigram (s, b.left, l->next);
    }

  for (int i = 0; n_syms > 0 && i != -1; i = s->syms[i].next)
    {
      const Symbol *sym = &s->syms[i];
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
