/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unigram (tokenizer.ggml.model "t5"; also the XLM-RoBERTa vocabularies of
 * multilingual-e5 and bge-m3): normalise with SentencePiece's precompiled
 * character map, mark spaces with "▁", then choose the segmentation with the
 * highest total piece score (Viterbi). Characters no piece covers become the
 * unknown token, scored below every real piece; runs of them are merged. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "llm-tokenizer-private.h"

/* The precompiled map is a 4-byte size, an XOR-compressed double-array trie
 * of that many bytes (32-bit units: BASE in bits 10-30, shifted by 6 when
 * bit 9 is set; LEAF in bit 8; LCHECK in bits 0-7 and 31), then
 * NUL-terminated replacement strings. Returns the longest prefix of @s the
 * map rewrites (its length in *consumed), or NULL. */
static const char *
charsmap_match (const LlmVocab *v, const char *s, size_t n, size_t *consumed)
{
  const uint32_t *units;
  size_t n_units, strings_size;
  const char *strings;
  uint32_t blob, node, unit;
  const char *best = NULL;

  if (v->charsmap == NULL)
    return NULL;
  memcpy (&blob, v->charsmap, 4);
  n_units = blob / 4;
  units = (const uint32_t *) (const void *) (v->charsmap + 4);
  strings = (const char *) v->charsmap + 4 + blob;
  strings_size = v->charsmap_size - 4 - blob;

#define BASE(u) (((u) >> 10) << (((u) & (1u << 9)) >> 6))
#define LCHECK(u) ((u) & ((1u << 31) | 0xffu))
#define LEAF(u) (((u) >> 8) & 1u)
#define VALUE(u) ((u) & ((1u << 31) - 1))

  if (n_units == 0)
    return NULL;
  node = BASE (units[0]);
  for (size_t i = 0; i < n; i++)
    {
      unsigned char c = (unsigned char) s[i];
      bool leaf;

      if (c == 0)
        break;
      node ^= c;
      if (node >= n_units)
        break;
      unit = units[node];
      if (LCHECK (unit) != c)
        break;
      leaf = LEAF (unit);
      node ^= BASE (unit);
      if (node >= n_units)
        break;
      if (leaf)
        {
          uint32_t off = VALUE (units[node]);
          if (off < strings_size)
            {
              best = strings + off;
              *consumed = i + 1;
            }
        }
    }
  return best;
#undef BASE
#undef LCHECK
#undef LEAF
#undef VALUE
}

/* Longest user-defined token at @s, 0 if none. */
static size_t
user_defined_prefix (const LlmVocab *v, const char *s, size_t n)
{
  size_t max = n < v->max_token_len ? n : v->max_token_len;
  uint64_t h = LLM_HASH_INIT;
  size_t best = 0;

  if (!v->has_user_defined)
    return 0;
  for (size_t j = 1; j <= max; j++)
    {
      LlmToken id;

      h = llm_hash_step (h, (unsigned char) s[j - 1]);
      id = llm_strmap_get_hashed (&v->text_to_id, s, j, llm_hash_final (h));
      if (id >= 0 && v->tokens[id].type == LLM_TOKEN_TYPE_USER_DEFINED)
        best = j;
    }
  return best;
}

static bool
normalize (const LlmVocab *v, const char *text, size_t len, LlmStr *out)
{
  static const char space[] = "\xe2\x96\x81";
  bool prepend = v->flags[LLM_VOCAB_FLAG_ADD_SPACE_PREFIX];
  bool merge = v->flags[LLM_VOCAB_FLAG_REMOVE_EXTRA_WHITESPACES];
  bool prepended = false, in_word = false;

  for (size_t off = 0; off < len;)
    {
      const char *piece;
      size_t piece_len, consumed = 0;

      if ((consumed = user_defined_prefix (v, text + off, len - off)) > 0)
        {
          piece = text + off;
          piece_len = consumed;
        }
      else if ((piece = charsmap_match (v, text + off, len - off, &consumed)) != NULL)
        piece_len = strlen (piece);
      else
        {
          size_t adv;
          uint32_t cp = llm_utf8_decode (text + off, len - off, &adv);
          if (cp == 0xFFFD && adv == 1 && !(len - off >= 3 && memcmp (text + off, "\xef\xbf\xbd", 3) == 0))
            piece = "\xef\xbf\xbd", piece_len = 3;
          else
            piece = text + off, piece_len = adv;
          consumed = adv;
        }

      for (size_t i = 0; i < piece_len; i++)
        {
          if (piece[i] != ' ')
            {
              if (!in_word)
                {
                  in_word = true;
                  if ((prepend && !prepended) || merge)
                    {
                      if (!llm_str_add (out, space, 3))
                        return false;
                      prepended = true;
                    }
                }
              if (!llm_str_add (out, piece + i, 1))
                return false;
            }
          else
            {
              in_word = false;
              if (!merge && !llm_str_add (out, space, 3))
                return false;
            }
        }
      off += consumed;
    }
  return true;
}

typedef struct {
  LlmToken id;
  size_t   from;    /* where the token starts */
  double   score;   /* best total score of the text up to here */
} Best;

void
llm_tokenize_ugm (const LlmVocab *v, const char *text, size_t len, LlmTokBuf *out)
{
  LlmToken unk = v->special[LLM_SPECIAL_UNK];
  LlmStr norm = { 0 };
  Best *best = NULL;
  size_t n, mark;
  bool prev_unk = false;

  if (!normalize (v, text, len, &norm))
    goto oom;
  n = norm.len;
  if (n == 0)
    goto out;
  best = malloc ((n + 1) * sizeof *best);
  if (best == NULL)
    goto oom;
  for (size_t i = 0; i <= n; i++)
    {
      best[i].id = unk;
      best[i].from = 0;
      best[i].score = i == 0 ? 0.0 : -1e300;
    }

  for (size_t i = 0; i < n;)
    {
      size_t cp_len = llm_utf8_len ((unsigned char) norm.data[i]);
      size_t max = n - i < v->max_token_len ? n - i : v->max_token_len;
      bool whole_char = false;

      if (cp_len > n - i)
        cp_len = n - i;
      uint64_t h = LLM_HASH_INIT;

      for (size_t j = 1; j <= max; j++)
        {
          LlmToken id;
          uint8_t type;
          double score;

          h = llm_hash_step (h, (unsigned char) norm.data[i + j - 1]);
          /* pieces end on character boundaries */
          if (i + j < n && ((unsigned char) norm.data[i + j] & 0xC0) == 0x80)
            continue;
          id = llm_strmap_get_hashed (&v->text_to_id, norm.data + i, j, llm_hash_final (h));
          if (id < 0)
            continue;
          type = v->tokens[id].type;
          if (type != LLM_TOKEN_TYPE_NORMAL && type != LLM_TOKEN_TYPE_USER_DEFINED
              && type != LLM_TOKEN_TYPE_UNUSED)
            continue;
          if (j == cp_len)
            whole_char = true;
          /* user-defined pieces score 0, above every log probability */
          score = best[i].score + (type == LLM_TOKEN_TYPE_USER_DEFINED ? 0.0 : v->tokens[id].score);
          if (score > best[i + j].score)
            {
              best[i + j].id = id;
              best[i + j].from = i;
              best[i + j].score = score;
            }
        }
      if (!whole_char)
        {
          double score = best[i].score + v->ugm_unknown_score;
          if (score > best[i + cp_len].score)
            {
              best[i + cp_len].id = unk;
              best[i + cp_len].from = i;
              best[i + cp_len].score = score;
            }
        }
      i += cp_len;
    }

  /* walk back from the end, then reverse */
  mark = out->len;
  for (size_t at = n;;)
    {
      bool is_unk = best[at].id == unk;
      if (!(prev_unk && is_unk))
        llm_tokbuf_push (out, best[at].id);
      prev_unk = is_unk;
      at = best[at].from;
      if (at == 0)
        break;
    }
  if (!out->oom)
    for (size_t a = mark, b = out->len - 1; a < b; a++, b--)
      {
        LlmToken t = out->data[a];
        out->data[a] = out->data[b];
        out->data[b] = t;
      }
  goto out;

oom:
  out->oom = true;
out:
  free (norm.data);
  free (best);
}
