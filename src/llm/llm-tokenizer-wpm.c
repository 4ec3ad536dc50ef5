/* SPDX-License-Identifier: GPL-3.0-or-later */
/* WordPiece (tokenizer.ggml.model "bert"): BERT's basic tokenizer (clean
 * up, split on whitespace and punctuation, CJK characters alone, lowercase
 * and strip accents for uncased models), then greedy longest-match pieces
 * per word. GGUF files usually store "▁word" for word starts and bare
 * continuations; vocabularies with "##" continuations work too. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "llm-tokenizer-private.h"

static bool
is_cjk (uint32_t cp)
{
  /* the ranges BERT's tokenizer treats as Chinese characters */
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF)
         || (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F)
         || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF)
         || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

static bool
is_bert_punct (uint32_t cp)
{
  return llm_cp_is_punctuation (cp) || (cp < 0x7F && llm_cp_is_symbol (cp));
}

/* Greedy longest match of one word (without any prefix) at @out. */
static void
wordpiece (const LlmVocab *v, const char *word, size_t len, LlmStr *scratch, LlmTokBuf *out)
{
  static const char phantom[] = "\xe2\x96\x81";
  size_t mark = out->len;
  bool ok = true;

  /* Lay the word out as the vocabulary spells word starts. */
  scratch->len = 0;
  if (!v->wpm_hashes && !llm_str_add (scratch, phantom, 3))
    goto oom;
  if (!llm_str_add (scratch, word, len))
    goto oom;

  for (size_t i = 0; i < scratch->len && ok;)
    {
      const char *base = scratch->data;
      size_t n = scratch->len;
      size_t max = n - i;
      bool match = false;

      if (max > v->max_token_len)
        max = v->max_token_len;
      for (size_t j = max; j > 0; j--)
        {
          LlmToken id;

          /* only end pieces on character boundaries */
          if (i + j < n && ((unsigned char) base[i + j] & 0xC0) == 0x80)
            continue;
          if (v->wpm_hashes && i > 0)
            {
              char buf[512];
              if (j + 2 > sizeof buf)
                continue;
              memcpy (buf, "##", 2);
              memcpy (buf + 2, base + i, j);
              id = llm_strmap_get (&v->text_to_id, buf, j + 2);
            }
          else
            id = llm_strmap_get (&v->text_to_id, base + i, j);
          if (id >= 0)
            {
              llm_tokbuf_push (out, id);
              i += j;
              match = true;
              break;
            }
        }
      if (!match)
        ok = false;
    }
  if (!ok)
    {
      /* one unknown token for the whole word */
      out->len = mark;
      if (v->special[LLM_SPECIAL_UNK] >= 0)
        llm_tokbuf_push (out, v->special[LLM_SPECIAL_UNK]);
    }
  return;

oom:
  out->oom = true;
}

void
llm_tokenize_wpm (const LlmVocab *v, const char *text, size_t len, LlmTokBuf *out)
{
  bool lower = v->flags[LLM_VOCAB_FLAG_LOWERCASE];
  uint32_t *cps = NULL, *norm = NULL;
  size_t n_cps = 0, n_norm = 0;
  LlmStr word = { 0 }, scratch = { 0 };

  if (len == 0)
    return;
  cps = malloc (len * sizeof *cps);
  if (cps == NULL)
    goto oom;
  for (size_t i = 0; i < len;)
    {
      size_t adv;
      cps[n_cps++] = llm_utf8_decode (text + i, len - i, &adv);
      i += adv;
    }
  if (lower)
    {
      /* accents go with the decomposition: NFD, then drop the marks */
      norm = llm_cps_nfd (cps, n_cps, &n_norm);
      if (norm == NULL)
        goto oom;
    }
  else
    {
      norm = cps;
      n_norm = n_cps;
      cps = NULL;
    }

  for (size_t i = 0; i <= n_norm; i++)
    {
      uint32_t cp;
      char utf8[4];
      size_t n;
      bool alone;

      if (i == n_norm || llm_cp_is_whitespace (norm[i]))
        {
          if (word.len)
            wordpiece (v, word.data, word.len, &scratch, out);
          word.len = 0;
          continue;
        }
      cp = norm[i];
      if (cp == 0 || cp == 0xFFFD || llm_cp_is_control (cp))
        continue;
      if (lower && llm_cp_is_mark_nonspacing (cp))
        continue;
      alone = is_bert_punct (cp) || is_cjk (cp);
      if (lower)
        cp = llm_cp_tolower (cp);
      n = llm_utf8_encode (cp, utf8);
      if (alone)
        {
          if (word.len)
            wordpiece (v, word.data, word.len, &scratch, out);
          wordpiece (v, utf8, n, &scratch, out);
          word.len = 0;
        }
      else if (!llm_str_add (&word, utf8, n))
        goto oom;
    }
  goto out;

oom:
  out->oom = true;
out:
  free (cps);
  free (norm);
  free (word.data);
  free (scratch.data);
}
