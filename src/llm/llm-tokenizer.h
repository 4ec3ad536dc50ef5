/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Tokenizers of the GGUF world: SentencePiece-style (llama), byte-level BPE
 * (gpt2), WordPiece (bert) and Unigram (t5), with special tokens.
 *
 * A vocabulary is built either from GGUF metadata (llm_vocab_load_gguf) or by
 * hand (llm_vocab_new, add tokens/merges, set flags, llm_vocab_finish), which
 * is what the tests do with crafted vocabularies. Plain C11, no GLib. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t LlmToken;
#define LLM_TOKEN_NULL ((LlmToken) -1)

typedef enum {
  LLM_VOCAB_SPM,    /* tokenizer.ggml.model "llama" */
  LLM_VOCAB_BPE,    /* "gpt2" */
  LLM_VOCAB_WPM,    /* "bert" */
  LLM_VOCAB_UGM,    /* "t5" */
} LlmVocabType;

/* The values of tokenizer.ggml.token_type. */
typedef enum {
  LLM_TOKEN_TYPE_UNDEFINED    = 0,
  LLM_TOKEN_TYPE_NORMAL       = 1,
  LLM_TOKEN_TYPE_UNKNOWN      = 2,
  LLM_TOKEN_TYPE_CONTROL      = 3,
  LLM_TOKEN_TYPE_USER_DEFINED = 4,
  LLM_TOKEN_TYPE_UNUSED       = 5,
  LLM_TOKEN_TYPE_BYTE         = 6,
} LlmTokenType;

typedef enum {
  LLM_SPECIAL_BOS,   /* for bert: [CLS] */
  LLM_SPECIAL_EOS,   /* for bert: [SEP] */
  LLM_SPECIAL_EOT,
  LLM_SPECIAL_UNK,
  LLM_SPECIAL_SEP,
  LLM_SPECIAL_PAD,
  LLM_SPECIAL_CLS,
  LLM_SPECIAL_MASK,
  LLM_SPECIAL_N
} LlmSpecial;

typedef enum {
  LLM_VOCAB_FLAG_ADD_BOS,
  LLM_VOCAB_FLAG_ADD_EOS,
  LLM_VOCAB_FLAG_ADD_SPACE_PREFIX,       /* spm, ugm: "▁" before the text */
  LLM_VOCAB_FLAG_REMOVE_EXTRA_WHITESPACES, /* ugm */
  LLM_VOCAB_FLAG_IGNORE_MERGES,          /* bpe: a whole word in the vocab is one token */
  LLM_VOCAB_FLAG_LOWERCASE,              /* wpm: lowercase and strip accents */
  LLM_VOCAB_FLAG_N
} LlmVocabFlag;

/* tokenize() flags */
enum {
  LLM_TOKENIZE_ADD_SPECIAL   = 1 << 0,  /* BOS/EOS (CLS/SEP) as the vocabulary says */
  LLM_TOKENIZE_PARSE_SPECIAL = 1 << 1,  /* control-token text in the input becomes that token */
};

typedef struct LlmVocab LlmVocab;

/* Building. Errors are written to @err (may be NULL) and reported by a
 * false/NULL return. */
LlmVocab   *llm_vocab_new           (LlmVocabType type);
void        llm_vocab_free          (LlmVocab *vocab);
LlmToken    llm_vocab_add_token     (LlmVocab *vocab, const char *text, size_t len,
                                     float score, LlmTokenType type);
/* A merge rule "left right" (the form of tokenizer.ggml.merges); rank is the
 * order of addition. */
bool        llm_vocab_add_merge     (LlmVocab *vocab, const char *merge, size_t len);
/* Selects the BPE split patterns by tokenizer.ggml.pre; NULL or "" means
 * "default". An unknown name is an error. */
bool        llm_vocab_set_pre       (LlmVocab *vocab, const char *pre, char *err, size_t err_size);
void        llm_vocab_set_special   (LlmVocab *vocab, LlmSpecial which, LlmToken id);
void        llm_vocab_set_flag      (LlmVocab *vocab, LlmVocabFlag flag, bool value);
/* Unigram normalisation table (tokenizer.ggml.precompiled_charsmap); copied. */
bool        llm_vocab_set_charsmap  (LlmVocab *vocab, const void *data, size_t size,
                                     char *err, size_t err_size);
/* Checks ids and builds the lookup structures; required before use. */
bool        llm_vocab_finish        (LlmVocab *vocab, char *err, size_t err_size);

/* Loads the tokenizer.ggml.* metadata of a GGUF file (any architecture,
 * tensors or not). */
LlmVocab   *llm_vocab_load_gguf     (const char *path, char *err, size_t err_size);
/* The same from a file the caller already opened (llm-gguf.h); nothing of
 * @gguf is kept, so it may be closed afterwards. */
typedef struct llm_gguf llm_gguf;
LlmVocab   *llm_vocab_from_gguf     (const llm_gguf *gguf, char *err, size_t err_size);

/* Queries. */
LlmVocabType llm_vocab_get_type     (const LlmVocab *vocab);
const char  *llm_vocab_get_pre      (const LlmVocab *vocab);
int32_t      llm_vocab_n_tokens     (const LlmVocab *vocab);
LlmToken     llm_vocab_get_special  (const LlmVocab *vocab, LlmSpecial which);
bool         llm_vocab_get_flag     (const LlmVocab *vocab, LlmVocabFlag flag);
/* The vocabulary's own string for @id (not NUL-terminated when @len is used;
 * always NUL-terminated in fact). NULL when out of range. */
const char  *llm_vocab_get_text     (const LlmVocab *vocab, LlmToken id, size_t *len);
float        llm_vocab_get_score    (const LlmVocab *vocab, LlmToken id);
LlmTokenType llm_vocab_get_token_type (const LlmVocab *vocab, LlmToken id);
LlmToken     llm_vocab_lookup       (const LlmVocab *vocab, const char *text, size_t len);
/* End of generation: EOS, EOT and the usual end-of-turn tokens. */
bool         llm_vocab_is_eog       (const LlmVocab *vocab, LlmToken id);

/* Tokenizes @len bytes of @text. Returns a malloc'd array (free()) of
 * *n_tokens ids; NULL only when out of memory. */
LlmToken   *llm_tokenize            (const LlmVocab *vocab, const char *text, size_t len,
                                     unsigned flags, size_t *n_tokens);

/* The text a token stands for, appended to nothing: writes at most @size bytes
 * to @buf and returns the full length (like snprintf, without NUL). Control
 * and unknown tokens give "" unless @special. */
size_t      llm_token_to_piece      (const LlmVocab *vocab, LlmToken id, bool special,
                                     char *buf, size_t size);
/* Streaming output: the length of the longest prefix of @s that does not end
 * inside a UTF-8 sequence, so a caller printing pieces as they come can hold
 * back the bytes of a character split across tokens. Invalid bytes count as
 * complete. */
size_t      llm_utf8_complete_prefix (const char *s, size_t len);
/* Decodes a token sequence to text (malloc'd, NUL-terminated, *len without
 * the NUL). Exact for byte-level BPE and byte-fallback SentencePiece. */
char       *llm_detokenize          (const LlmVocab *vocab, const LlmToken *ids, size_t n_ids,
                                     bool special, size_t *len);

#ifdef __cplusplus
}
#endif
