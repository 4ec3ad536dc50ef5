/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SentencePiece-style BPE over piece scores (tokenizer.ggml.model "llama"):
 * start from single characters, repeatedly join the adjacent pair whose
 * joined text is the best-scoring vocabulary piece, and spell whatever is
 * left outside the vocabulary as <0xNN> byte tokens. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "llm-tokenizer-private.h"

typedef struct {
  int    prev;
  int    next;
  size_t start;   /* byte offset in the text */
  size_t n;       /* 0 once merged into its left neighbour */
} Symbol;

typedef struct {
  int    left;
  int    right;
  float  score;
  size_t size;
} Bigram;

typedef struct {
  Bigram *data;
  size_t  len;
  size_t  cap;
  bool    oom;
} Heap;

/* Best score first; on ties the leftmost pair. */
static bool
before (const Bigram *a, const Bigram *b)
{
  if (a->score != b->score)
    return a->score > b->score;
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

static void
try_bigram (const LlmVocab *v, const char *text, Symbol *syms, Heap *h, int left, int right)
{
  size_t n;
  LlmToken id;
  Bigram b;

  if (left < 0 || right < 0)
    return;
  n = syms[left].n + syms[right].n;
  id = llm_strmap_get (&v->text_to_id, text + syms[left].start, n);
  if (id < 0)
    return;
  b.left = left;
  b.right = right;
  b.score = v->tokens[id].score;
  b.size = n;
  heap_push (h, b);
}

void
llm_tokenize_spm (const LlmVocab *v, const char *text, size_t len, LlmTokBuf *out)
{
  Symbol *syms;
  Heap heap = { 0 };
  int n_syms = 0;

  if (len == 0)
    return;
  syms = malloc (len * sizeof *syms);
  if (syms == NULL)
    {
      out->oom = true;
      return;
    }
  for (size_t off = 0; off < len;)
    {
      size_t n;

      /* Invalid UTF-8 goes byte by byte, so the byte fallback never
       * swallows part of the next character. */
      llm_utf8_decode (text + off, len - off, &n);
      syms[n_syms].start = off;
      syms[n_syms].n = n;
      syms[n_syms].prev = n_syms - 1;
      off += n;
      syms[n_syms].next = off == len ? -1 : n_syms + 1;
      n_syms++;
    }

  for (int i = 1; i < n_syms; i++)
    try_bigram (v, text, syms, &heap, i - 1, i);

  while (heap.len > 0)
    {
      Bigram b = heap_pop (&heap);
      Symbol *l = &syms[b.left], *r = &syms[b.right];

      /* stale: one side was merged away since */
      if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
        continue;
      l->n += r->n;
      r->n = 0;
      l->next = r->next;
      if (r->next >= 0)
        syms[r->next].prev = b.left;
      try_bigram (v, text, syms, &heap, l->prev, b.left);
      try_bigram (v, text, syms, &heap, b.left, l->next);
    }
  if (heap.oom)
    out->oom = true;
  free (heap.data);

  for (int i = 0; i != -1; i = syms[i].next)
    {
      const Symbol *s = &syms[i];
      LlmToken id = llm_strmap_get (&v->text_to_id, text + s->start, s->n);

      if (id >= 0)
        {
          llm_tokbuf_push (out, id);
          continue;
        }
      /* A merged symbol is always a piece, so this is a lone character
       * outside the vocabulary: spell it in bytes. */
      for (size_t j = 0; j < s->n; j++)
        {
          LlmToken b = v->byte_tokens[(unsigned char) text[s->start + j]];
          if (b < 0)
            b = v->special[LLM_SPECIAL_UNK];
          if (b >= 0)
            llm_tokbuf_push (out, b);
        }
    }
  free (syms);
}
