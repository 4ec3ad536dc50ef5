/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Encoder models of the BERT family (GGUF architecture `bert`: bge, e5,
 * all-MiniLM, and the XLM-RoBERTa ones such as multilingual-e5 and bge-m3):
 * token + position + token-type embeddings, post-LayerNorm blocks with GELU,
 * pooling as the file says (mean, CLS or last), L2 normalisation.
 * Plain C11, no GLib. See docs/ENGINE.md, "Encoders". */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "llm-gguf.h"
#include "llm-matmul.h"
#include "llm-tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The values of bert.pooling_type. */
typedef enum {
  LLM_BERT_POOL_NONE = 0,   /* per-token vectors: we pool by mean (see ENGINE.md) */
  LLM_BERT_POOL_MEAN = 1,
  LLM_BERT_POOL_CLS  = 2,
  LLM_BERT_POOL_LAST = 3,
} LlmBertPooling;

typedef struct {
  int32_t        n_vocab;
  int32_t        n_embd;
  int32_t        n_layer;
  int32_t        n_head;
  int32_t        n_ff;
  int32_t        n_ctx;          /* longest input; longer ones are truncated */
  int32_t        n_token_types;  /* 0 when the file has no token-type table */
  float          eps;            /* LayerNorm epsilon */
  LlmBertPooling pooling;        /* MEAN, CLS or LAST (NONE is read as MEAN) */
  llm_type       weight_type;    /* type of the attention/FFN matrices (the first block's Q) */
} LlmBertParams;

typedef struct LlmBert LlmBert;

/* Opens and checks a GGUF encoder: architecture, metadata, every tensor's
 * name, type and shape, and its tokenizer. Returns NULL with a message in
 * @err. The file stays memory-mapped until llm_bert_free. */
LlmBert *llm_bert_load (const char *path, char *err, size_t err_size);
/* The same over a file the caller opened; the model takes @gguf (closed by
 * llm_bert_free, or here on failure). */
LlmBert *llm_bert_from_gguf (llm_gguf *gguf, char *err, size_t err_size);
void     llm_bert_free (LlmBert *bert);

const LlmBertParams *llm_bert_get_params (const LlmBert *bert);
const LlmVocab      *llm_bert_get_vocab (const LlmBert *bert);
/* general.name, or NULL. */
const char          *llm_bert_get_name (const LlmBert *bert);

/* Tokenizes @text as the model wants (CLS/SEP or BOS/EOS as its vocabulary
 * says) and truncates to n_ctx, keeping the closing special token. Returns a
 * malloc'd array of *n_tokens ids. */
LlmToken *llm_bert_tokenize (const LlmBert *bert, const char *text, size_t len, size_t *n_tokens);

/* Final hidden states of a batch of sequences (each at most n_ctx tokens):
 * @hidden receives sum(n_tokens) × n_embd floats, sequence after sequence.
 * Sequences never attend to each other. @pool may be NULL (this thread).
 * The model is read-only here: several threads may call at once, each with
 * its own pool (or none). */
bool llm_bert_forward (const LlmBert *bert, llm_pool *pool,
                       const LlmToken *const *tokens, const size_t *n_tokens, size_t n_seqs,
                       float *hidden, char *err, size_t err_size);

/* Sentence embeddings of @n_seqs token sequences: pooled and L2-normalised,
 * n_seqs × n_embd floats into @out. An empty sequence gives the zero vector.
 * Long batches are split so scratch memory stays bounded. */
bool llm_bert_embed_tokens (const LlmBert *bert, llm_pool *pool,
                            const LlmToken *const *tokens, const size_t *n_tokens, size_t n_seqs,
                            float *out, char *err, size_t err_size);

/* Tokenizes and embeds @n_texts NUL-terminated texts. */
bool llm_bert_embed_texts (const LlmBert *bert, llm_pool *pool,
                           const char *const *texts, size_t n_texts,
                           float *out, char *err, size_t err_size);

/* Writes a BERT GGUF of the given shape with random weights (seeded), for
 * benchmarks: matrices and token_embd as @type, the rest F32, a WordPiece
 * vocabulary of n_vocab tokens ([PAD] [UNK] [CLS] [SEP] [MASK], then
 * words "w5", "w6"…, spelt "▁w5" as converted GGUF files spell word
 * starts). Uses hp's n_vocab, n_embd, n_layer, n_head, n_ff, n_ctx,
 * n_token_types and pooling. */
bool llm_bert_write_random (const char *path, const LlmBertParams *hp, llm_type type,
                            uint64_t seed, char *err, size_t err_size);

#ifdef __cplusplus
}
#endif
