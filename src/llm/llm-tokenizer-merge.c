/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The pair-merging loop shared by SentencePiece BPE (best score first) and
 * byte-level BPE (lowest merge rank first): a doubly linked list of symbols
 * and a heap of candidate pairs; a pair whose sides changed since it was
 * pushed is stale and skipped. */
#include "config.h"

#include <stdlib.h>

#include "llm-tokenizer-private.h"

/* Highest priority first; on ties the leftmost pair. */
static bool
before (const LlmBigram *a, const LlmBigram *b)
{
  if (a->priority != b->priority)
    return a->priority > b->priority;
  return a->left < b->left;
}

static void
heap_push (LlmBigramHeap *h, LlmBigram x)
{
  size_t i;

  if (h->oom)
    return;
  if (h->len == h->cap)
    {
      size_t cap = h->cap ? h->cap * 2 : 64;
      LlmBigram *d = realloc (h->data, cap * sizeof *d);
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

static LlmBigram
heap_pop (LlmBigramHeap *h)
{
  LlmBigram top = h->data[0];
  LlmBigram last = h->data[--h->len];
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
try_pair (LlmSymbol *syms, LlmBigramHeap *heap, LlmPairScore score, void *ctx,
          int left, int right)
{
  LlmBigram b;

  if (left < 0 || right < 0)
    return;
  if (!score (ctx, &syms[left], &syms[right], &b.priority))
    return;
  b.left = left;
  b.right = right;
  b.size = syms[left].n + syms[right].n;
  heap_push (heap, b);
}

void
llm_merge_symbols (LlmSymbol     *syms,
                   int            n_syms,
                   LlmBigramHeap *heap,
                   LlmPairScore   score,
                   void          *ctx)
{
  heap->len = 0;
  for (int i = 1; i < n_syms; i++)
    try_pair (syms, heap, score, ctx, i - 1, i);

  while (heap->len > 0)
    {
      LlmBigram b = heap_pop (heap);
      LlmSymbol *l = &syms[b.left], *r = &syms[b.right];

      /* stale: one side was merged away since */
      if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
        continue;
      l->n += r->n;
      r->n = 0;
      l->next = r->next;
      if (r->next >= 0)
        syms[r->next].prev = b.left;
      try_pair (syms, heap, score, ctx, l->prev, b.left);
      try_pair (syms, heap, score, ctx, b.left, l->next);
    }
}
