/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Decoder-only transformers from GGUF files: llama (Llama 2/3, Mistral,
 * TinyLlama, SmolLM), qwen2 (QKV bias) and qwen3 (per-head q/k RMSNorm).
 * Plain C11, no GLib. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llm-tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llm_decoder llm_decoder;

/* Memory-maps @path and checks every tensor against the metadata. @n_ctx 0
 * means the model's own context length; @n_threads 0 means one per CPU.
 * Returns NULL with a message in @err naming what is wrong. */
llm_decoder *llm_decoder_load (const char *path, int n_ctx, int n_threads,
                               char *err, size_t err_size);
void         llm_decoder_free (llm_decoder *d);

const LlmVocab *llm_decoder_vocab (const llm_decoder *d);
int          llm_decoder_n_vocab (const llm_decoder *d);
int          llm_decoder_n_ctx (const llm_decoder *d);
int          llm_decoder_n_past (const llm_decoder *d);
const char  *llm_decoder_arch (const llm_decoder *d);
/* The open file (metadata such as tokenizer.chat_template). */
typedef struct llm_gguf llm_gguf;
const llm_gguf *llm_decoder_gguf (const llm_decoder *d);

/* Forgets the KV cache (the next token is at position 0). */
void         llm_decoder_reset (llm_decoder *d);

/* Runs @n tokens at the next positions, appending them to the KV cache. A
 * batch goes through matrix-matrix products (prefill), a single token
 * through matrix-vector products (decode). Writes logits for every token
 * (n × n_vocab) when @all_logits, else for the last one only. Returns false
 * when the context is full. */
bool         llm_decoder_eval (llm_decoder *d, const LlmToken *tokens, int n,
                               bool all_logits, float *logits);

/* Sampling. temperature 0 is greedy; top_k 0, top_p 1 and min_p 0 turn
 * those filters off; repeat_penalty 1 turns it off. */
typedef struct {
  float    temperature;
  int      top_k;
  float    top_p;
  float    min_p;
  float    repeat_penalty;
  int      repeat_last_n;
  uint64_t seed;
} llm_sampling;

void         llm_sampling_defaults (llm_sampling *s);

typedef struct llm_sampler llm_sampler;
llm_sampler *llm_sampler_new  (const llm_sampling *params);
void         llm_sampler_free (llm_sampler *s);
/* The index of the largest of @v's @n values, the first one on a tie (0
 * when @n < 1 or none compares larger, as with NaNs). */
int          llm_argmax (const float *v, int n);
/* Picks a token from @logits (modified in place); @history holds the ids so
 * far (for the repetition penalty). */
LlmToken     llm_sampler_sample (llm_sampler *s, float *logits, int n_vocab,
                                 const LlmToken *history, size_t n_history);

/* Generation with streaming: @on_token gets each new token's text (bytes
 * of a character split across tokens are held back) and returns false to
 * stop (cancellation). Stops at end-of-generation tokens, after @max_new
 * tokens, or when the text ends with one of @stop (NULL-terminated). The
 * prompt is appended to the KV cache from position 0. Returns the number of
 * new tokens written to @out (capacity @max_new), -1 on error. */
typedef bool (*llm_token_fn) (const char *text, size_t len, LlmToken id, void *user_data);
int          llm_generate (llm_decoder *d, const LlmToken *prompt, size_t n_prompt,
                           const llm_sampling *params, int max_new, const char *const *stop,
                           llm_token_fn on_token, void *user_data, LlmToken *out,
                           double *prefill_tok_s, double *decode_tok_s);

/* Perplexity the usual way: windows of n_ctx tokens, the first replaced by
 * BOS, the second half of each scored. Returns exp(mean NLL), or a negative
 * value when there are fewer than n_ctx tokens. */
double       llm_decoder_perplexity (llm_decoder *d, const LlmToken *tokens, size_t n,
                                     size_t *n_scored, size_t *n_windows);

#ifdef __cplusplus
}
#endif
