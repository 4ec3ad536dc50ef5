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
  const LlmVocab *v;
  const char     *text;
} SpmCtx;

/* A pair merges when its joined text is a piece; better scores first. */
static bool
spm_pair_score (void *data, const LlmSymbol *l, const LlmSymbol *r, double *priority)
{
  const SpmCtx *c = data;
  LlmToken id = llm_strmap_get (&c->v->text_to_id, c->text + l->start, l->n + r->n);

  if (id < 0)
    return false;
  *priority = c->v->tokens[id].score;
  return true;
}

void
llm_tokenize_spm (const LlmVocab *v, const char *text, size_t len, LlmTokBuf *out)
{
  LlmSymbol *syms;
  LlmBigramHeap heap = { 0 };
  SpmCtx ctx = { v, text };
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

  llm_merge_symbols (syms, n_syms, &heap, spm_pair_score, &ctx);
  if (heap.oom)
    out->oom = true;
  free (heap.data);

  for (int i = 0; i != -1; i = syms[i].next)
    {
      const LlmSymbol *s = &syms[i];
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
