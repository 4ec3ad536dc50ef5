/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Chat templates: recognise the family of a model's `tokenizer.chat_template`
 * (a Jinja program we do not run) and format conversations the way that
 * template would. Plain C11, no GLib. See docs/ENGINE.md, "Chat templates". */
#pragma once

#include <stddef.h>
#include <stdbool.h>

#include "llm-gguf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  LLM_CHAT_CHATML,    /* <|im_start|>role\n…<|im_end|>\n (Qwen, SmolLM, unknown) */
  LLM_CHAT_LLAMA3,    /* <|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|> */
  LLM_CHAT_GEMMA,     /* <start_of_turn>user\n…<end_of_turn>\n, assistant = model */
  LLM_CHAT_MISTRAL,   /* [INST]…[/INST]…</s> (Mistral v0.1 … Nemo) */
  LLM_CHAT_LLAMA2,    /* <s>[INST] <<SYS>>\n…\n<</SYS>>\n\n… [/INST] … </s> */
  LLM_CHAT_PHI3,      /* <|user|>\n…<|end|>\n<|assistant|>\n */
  LLM_CHAT_N_FAMILIES
} LlmChatFamily;

typedef struct {
  const char *role;      /* "system", "user" or "assistant" */
  const char *content;
} LlmChatMessage;

typedef struct LlmChatTemplate LlmChatTemplate;

/* Recognises @source: a Jinja chat template, or one of the family names of
 * llm_chat_family_name() ("chatml", "llama3", …). NULL, empty or unknown
 * text gives ChatML. Never returns NULL except when out of memory. */
LlmChatTemplate *llm_chat_template_new       (const char *source);
/* From `tokenizer.chat_template` of @gguf (ChatML when there is none);
 * the BOS/EOS texts come from the file's vocabulary when it has one. */
LlmChatTemplate *llm_chat_template_from_gguf (const llm_gguf *gguf);
void             llm_chat_template_free      (LlmChatTemplate *tmpl);

LlmChatFamily    llm_chat_template_family    (const LlmChatTemplate *tmpl);
/* True when the template was recognised (false: ChatML by default). */
bool             llm_chat_template_known     (const LlmChatTemplate *tmpl);
const char      *llm_chat_family_name        (LlmChatFamily family);

/* The texts the template writes for {{ bos_token }} and {{ eos_token }}
 * (defaults "<s>" and "</s>"; from_gguf takes them from the vocabulary). */
void llm_chat_template_set_bos_eos (LlmChatTemplate *tmpl, const char *bos, const char *eos);

/* True when formatted prompts already start with the BOS text, so the caller
 * must not add another BOS token when tokenizing. */
bool llm_chat_template_adds_bos (const LlmChatTemplate *tmpl);

/* Text that ends an assistant turn in this family ("<|im_end|>", "<|eot_id|>",
 * "<end_of_turn>", "<|end|>", or the EOS text): a stop string. */
const char *llm_chat_template_end_of_turn (const LlmChatTemplate *tmpl);

/* Formats @msgs as the template would, with the assistant's opening appended
 * when @add_generation_prompt. Special tokens are written as their text.
 * Families without a system role (Gemma, Mistral v0.1) fold the system
 * message into the first (Mistral v0.3/Nemo: last) user message. Returns a
 * malloc'd string, or NULL with a message in @err (an unknown role). */
char *llm_chat_format (const LlmChatTemplate *tmpl,
                       const LlmChatMessage  *msgs,
                       size_t                 n_msgs,
                       bool                   add_generation_prompt,
                       char                  *err,
                       size_t                 err_size);

#ifdef __cplusplus
}
#endif
