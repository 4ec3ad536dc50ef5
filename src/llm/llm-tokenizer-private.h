/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Internals shared by the tokenizer files (llm-tokenizer*.c). */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llm-tokenizer.h"

/* Growable array of token ids. */
typedef struct {
  LlmToken *data;
  size_t    len;
  size_t    cap;
  bool      oom;
} LlmTokBuf;

void llm_tokbuf_push (LlmTokBuf *buf, LlmToken id);

/* Growable byte string (not NUL-terminated). */
typedef struct {
  char  *data;
  size_t len;
  size_t cap;
} LlmStr;

/* Appends @n bytes; false when out of memory. */
bool llm_str_add (LlmStr *s, const char *p, size_t n);

/* Open-addressing map from byte strings to int32 values. Keys are borrowed
 * (they must outlive the map) unless added with llm_strmap_put_copy. */
typedef struct {
  const char **keys;
  uint32_t    *lens;
  int32_t     *values;
  size_t       cap;     /* power of two */
  size_t       count;
  char       **owned;   /* copies made by put_copy, freed with the map */
  size_t       n_owned;
} LlmStrMap;

bool     llm_strmap_init     (LlmStrMap *map, size_t expected);
void     llm_strmap_clear    (LlmStrMap *map);
/* Returns false when out of memory. An existing key keeps its first value. */
bool     llm_strmap_put      (LlmStrMap *map, const char *key, size_t len, int32_t value);
bool     llm_strmap_put_copy (LlmStrMap *map, const char *key, size_t len, int32_t value);
int32_t  llm_strmap_get      (const LlmStrMap *map, const char *key, size_t len); /* -1 if absent */
/* The same with the hash already computed (llm_hash_* over the key). */
int32_t  llm_strmap_get_hashed (const LlmStrMap *map, const char *key, size_t len, uint64_t hash);

#define LLM_HASH_INIT 1469598103934665603ull
static inline uint64_t llm_hash_step (uint64_t h, unsigned char c) { return (h ^ c) * 1099511628211ull; }
static inline uint64_t llm_hash_final (uint64_t h) { return h ^ (h >> 29); }

/* Symbols and candidate pairs of the BPE merge loop (llm-tokenizer-merge.c). */
typedef struct {
  int    prev;
  int    next;
  size_t start;   /* byte offset in the text */
  size_t n;       /* 0 once merged into its left neighbour */
} LlmSymbol;

typedef struct {
  int    left;
  int    right;
  double priority;  /* merged first when highest */
  size_t size;      /* l->n + r->n when pushed, to spot stale pairs */
} LlmBigram;

typedef struct {
  LlmBigram *data;
  size_t     len;
  size_t     cap;
  bool       oom;
} LlmBigramHeap;

/* Whether the pair may merge, and with what priority. */
typedef bool (*LlmPairScore) (void *ctx, const LlmSymbol *l, const LlmSymbol *r, double *priority);

/* Merges adjacent symbols best pair first until no pair scores; the heap is
 * reused (caller frees heap->data; heap->oom reports allocation failure). */
void llm_merge_symbols (LlmSymbol *syms, int n_syms, LlmBigramHeap *heap,
                        LlmPairScore score, void *ctx);

typedef struct {
  char   *text;
  uint32_t len;
  float   score;
  uint8_t type;     /* LlmTokenType */
  uint8_t rstrip;   /* eat whitespace after the special token (Phi-3) */
} LlmTokenData;

/* Pre-tokenizer regex set (PCRE2), see llm-tokenizer-unicode.c. */
typedef struct LlmRegexSplit LlmRegexSplit;

struct LlmVocab {
  LlmVocabType  type;
  char         *pre;        /* tokenizer.ggml.pre as given, "default" if none */

  LlmTokenData *tokens;
  int32_t       n_tokens;
  int32_t       cap_tokens;
  size_t        max_token_len;

  char        **merges;     /* "left\xffright" keys, rank = index */
  int32_t       n_merges;
  int32_t       cap_merges;

  LlmToken      special[LLM_SPECIAL_N];
  bool          flags[LLM_VOCAB_FLAG_N];
  bool          flag_set[LLM_VOCAB_FLAG_N];

  unsigned char *charsmap;
  size_t         charsmap_size;

  /* built by llm_vocab_finish */
  bool          finished;
  LlmStrMap     text_to_id;
  LlmStrMap     merge_rank;
  LlmToken     *special_cache;   /* control/user-defined/unknown ids, longest text first */
  size_t        n_special_cache;
  /* special_cache positions grouped by first byte: those starting with byte
   * b are by_first[first_start[b] .. first_start[b + 1]) */
  uint32_t      first_start[257];
  uint32_t     *by_first;
  LlmToken      byte_tokens[256]; /* spm/ugm byte fallback, LLM_TOKEN_NULL if none */
  LlmRegexSplit *split;          /* bpe */
  bool          wpm_hashes;      /* wpm vocabulary uses "##" continuations, not "▁" starts */
  float         ugm_unknown_score;
  bool          has_user_defined;
  LlmToken     *eog;
  size_t        n_eog;
};

void llm_set_error (char *err, size_t err_size, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

/* UTF-8 and Unicode helpers (llm-tokenizer-unicode.c). */
size_t   llm_utf8_len        (unsigned char lead);       /* 1..4 from the lead byte */
/* Decodes one code point at @s (at most @n bytes); *adv gets its byte length.
 * Invalid sequences decode as U+FFFD with *adv = 1. */
uint32_t llm_utf8_decode     (const char *s, size_t n, size_t *adv);
size_t   llm_utf8_encode     (uint32_t cp, char out[4]);
/* GPT-2 byte-to-unicode mapping, as UTF-8 (1-2 bytes). */
const char *llm_byte_to_unicode (unsigned char byte, size_t *len);
/* The inverse; -1 if @cp stands for no byte. */
int      llm_unicode_to_byte (uint32_t cp);

bool     llm_cp_is_whitespace  (uint32_t cp);
bool     llm_cp_is_control     (uint32_t cp);   /* \p{C} */
bool     llm_cp_is_punctuation (uint32_t cp);   /* \p{P} */
bool     llm_cp_is_symbol      (uint32_t cp);   /* \p{S} */
bool     llm_cp_is_mark_nonspacing (uint32_t cp);
bool     llm_cp_is_upper       (uint32_t cp);
uint32_t llm_cp_tolower        (uint32_t cp);
/* Canonical decomposition (NFD) of a code point array; malloc'd result. */
uint32_t *llm_cps_nfd          (const uint32_t *cps, size_t n, size_t *out_n);

/* A split is a list of byte ranges covering the text. */
typedef struct {
  size_t start;
  size_t len;
} LlmSpan;

LlmRegexSplit *llm_regex_split_new  (const char *const *patterns, size_t n,
                                     char *err, size_t err_size);
void           llm_regex_split_free (LlmRegexSplit *split);
/* Returns a malloc'd array of *n_spans spans; NULL when out of memory. */
LlmSpan       *llm_regex_split_run  (const LlmRegexSplit *split, const char *text, size_t len,
                                     size_t *n_spans);
/* The split patterns of a tokenizer.ggml.pre name, NULL when unknown. Also
 * says whether merges are skipped for whole-vocabulary words. */
const char *const *llm_pre_patterns (const char *pre, size_t *n, bool *ignore_merges);

/* Algorithms, each appending to @out (llm-tokenizer-{spm,bpe,wpm,ugm}.c). */
void llm_tokenize_spm (const LlmVocab *vocab, const char *text, size_t len, LlmTokBuf *out);
void llm_tokenize_bpe (const LlmVocab *vocab, const char *text, size_t len, LlmTokBuf *out);
void llm_tokenize_wpm (const LlmVocab *vocab, const char *text, size_t len, LlmTokBuf *out);
void llm_tokenize_ugm (const LlmVocab *vocab, const char *text, size_t len, LlmTokBuf *out);
