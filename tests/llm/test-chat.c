/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Chat templates: every real template in ../shared/chat-templates/ is
 * recognised and formats conversations to the exact string its Jinja would
 * (strings worked out by reading each template), plus the Llama 2, Mistral
 * v0.1 and Llama 3.0 templates inline, ChatML for unknown text, clear errors. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "llm-chat.h"

static char *
read_template (const char *name)
{
  const char *dir = g_getenv ("DOCENT_SHARED_DIR");
  g_autofree char *path = g_build_filename (dir ? dir : "../shared", "chat-templates", name, NULL);
  char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return text;
}

#define MSG(r, c) ((LlmChatMessage) { r, c })

static const LlmChatMessage conv_sys[] = {
  { "system", "You are helpful." },
  { "user", "Hello" },
  { "assistant", "Hi there" },
  { "user", "How are you?" },
};
static const LlmChatMessage conv_nosys[] = {
  { "user", "Hello" },
  { "assistant", "Hi there" },
  { "user", "How are you?" },
};

static void
check (const LlmChatTemplate *t, const LlmChatMessage *msgs, size_t n, bool gen,
       const char *expect)
{
  char err[256] = "";
  char *got = llm_chat_format (t, msgs, n, gen, err, sizeof err);
  g_assert_nonnull (got);
  g_assert_cmpstr (got, ==, expect);
  free (got);
}

static LlmChatTemplate *
load (const char *file, LlmChatFamily family)
{
  g_autofree char *src = read_template (file);
  if (src == NULL)
    return NULL;
  LlmChatTemplate *t = llm_chat_template_new (src);
  g_assert_nonnull (t);
  g_assert_cmpstr (llm_chat_family_name (llm_chat_template_family (t)), ==,
                   llm_chat_family_name (family));
  g_assert_true (llm_chat_template_known (t));
  return t;
}

static void
test_qwen (void)
{
  LlmChatTemplate *t = load ("Qwen-Qwen2.5-7B-Instruct.jinja", LLM_CHAT_CHATML);
  if (t == NULL)
    {
      g_test_skip ("shared chat templates not found");
      return;
    }
  g_assert_false (llm_chat_template_adds_bos (t));
  g_assert_cmpstr (llm_chat_template_end_of_turn (t), ==, "<|im_end|>");
  check (t, conv_sys, 4, true,
         "<|im_start|>system\nYou are helpful.<|im_end|>\n"
         "<|im_start|>user\nHello<|im_end|>\n"
         "<|im_start|>assistant\nHi there<|im_end|>\n"
         "<|im_start|>user\nHow are you?<|im_end|>\n"
         "<|im_start|>assistant\n");
  /* no system message: the template's own default, then the turns */
  check (t, conv_nosys, 1, true,
         "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
         "<|im_start|>user\nHello<|im_end|>\n"
         "<|im_start|>assistant\n");
  check (t, conv_nosys, 2, false,
         "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
         "<|im_start|>user\nHello<|im_end|>\n"
         "<|im_start|>assistant\nHi there<|im_end|>\n");
  /* ChatML does not trim, and carries any text */
  LlmChatMessage ko[] = { MSG ("system", " 짧게 답하세요.\n"), MSG ("user", "양자화란?") };
  check (t, ko, 2, true,
         "<|im_start|>system\n 짧게 답하세요.\n<|im_end|>\n"
         "<|im_start|>user\n양자화란?<|im_end|>\n"
         "<|im_start|>assistant\n");
  llm_chat_template_free (t);
}

static void
test_llama31 (void)
{
  LlmChatTemplate *t = load ("meta-llama-Llama-3.1-8B-Instruct.jinja", LLM_CHAT_LLAMA3);
  if (t == NULL)
    {
      g_test_skip ("shared chat templates not found");
      return;
    }
  llm_chat_template_set_bos_eos (t, "<|begin_of_text|>", "<|eot_id|>");
  g_assert_true (llm_chat_template_adds_bos (t));
  g_assert_cmpstr (llm_chat_template_end_of_turn (t), ==, "<|eot_id|>");
  LlmChatMessage m[] = { MSG ("system", "  You are helpful.\n"), MSG ("user", "Hello \n"),
                         MSG ("assistant", "Hi there"), MSG ("user", "How are you?") };
  check (t, m, 4, true,
         "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
         "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
         "You are helpful.<|eot_id|>"
         "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
         "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
         "<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>"
         "<|start_header_id|>assistant<|end_header_id|>\n\n");
  /* the system header is written even without a system message */
  check (t, conv_nosys, 1, false,
         "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
         "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
         "<|eot_id|>"
         "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>");
  llm_chat_template_free (t);
}

static void
test_gemma (void)
{
  LlmChatTemplate *t = load ("google-gemma-2-2b-it.jinja", LLM_CHAT_GEMMA);
  if (t == NULL)
    {
      g_test_skip ("shared chat templates not found");
      return;
    }
  llm_chat_template_set_bos_eos (t, "<bos>", "<eos>");
  g_assert_true (llm_chat_template_adds_bos (t));
  g_assert_cmpstr (llm_chat_template_end_of_turn (t), ==, "<end_of_turn>");
  LlmChatMessage m[] = { MSG ("user", " Hello\n"), MSG ("assistant", "Hi there "),
                         MSG ("user", "How are you?") };
  check (t, m, 3, true,
         "<bos><start_of_turn>user\nHello<end_of_turn>\n"
         "<start_of_turn>model\nHi there<end_of_turn>\n"
         "<start_of_turn>user\nHow are you?<end_of_turn>\n"
         "<start_of_turn>model\n");
  check (t, m, 2, false,
         "<bos><start_of_turn>user\nHello<end_of_turn>\n"
         "<start_of_turn>model\nHi there<end_of_turn>\n");
  /* the template refuses a system role; ours folds it into the first user turn */
  check (t, conv_sys, 2, true,
         "<bos><start_of_turn>user\nYou are helpful.\n\nHello<end_of_turn>\n"
         "<start_of_turn>model\n");
  llm_chat_template_free (t);
}

static void
test_phi35 (void)
{
  LlmChatTemplate *t = load ("microsoft-Phi-3.5-mini-instruct.jinja", LLM_CHAT_PHI3);
  if (t == NULL)
    {
      g_test_skip ("shared chat templates not found");
      return;
    }
  llm_chat_template_set_bos_eos (t, "<s>", "<|endoftext|>");
  g_assert_false (llm_chat_template_adds_bos (t));
  g_assert_cmpstr (llm_chat_template_end_of_turn (t), ==, "<|end|>");
  check (t, conv_sys, 4, true,
         "<|system|>\nYou are helpful.<|end|>\n"
         "<|user|>\nHello<|end|>\n"
         "<|assistant|>\nHi there<|end|>\n"
         "<|user|>\nHow are you?<|end|>\n"
         "<|assistant|>\n");
  /* an empty system message is skipped; without a generation prompt, EOS */
  LlmChatMessage m[] = { MSG ("system", ""), MSG ("user", "Hello"), MSG ("assistant", "Hi there") };
  check (t, m, 3, false,
         "<|user|>\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n<|endoftext|>");
  llm_chat_template_free (t);
}

static void
test_mistral_nemo (void)
{
  LlmChatTemplate *t = load ("mistralai-Mistral-Nemo-Instruct-2407.jinja", LLM_CHAT_MISTRAL);
  if (t == NULL)
    {
      g_test_skip ("shared chat templates not found");
      return;
    }
  g_assert_true (llm_chat_template_adds_bos (t));
  g_assert_cmpstr (llm_chat_template_end_of_turn (t), ==, "</s>");
  /* no spaces inside [INST]; the system message joins the last user turn */
  check (t, conv_sys, 4, true,
         "<s>[INST]Hello[/INST]Hi there</s>[INST]You are helpful.\n\nHow are you?[/INST]");
  check (t, conv_nosys, 3, false,
         "<s>[INST]Hello[/INST]Hi there</s>[INST]How are you?[/INST]");
  check (t, conv_sys, 2, true, "<s>[INST]You are helpful.\n\nHello[/INST]");
  llm_chat_template_free (t);
}

/* Published templates not in the shared folder, quoted from the model cards. */
static const char llama2_src[] =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
  "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
  "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
  "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation "
  "roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
  "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + "
  "system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = "
  "message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + "
  "content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + "
  "content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

static const char mistral01_src[] =
  "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != "
  "(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
  "user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}"
  "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
  "{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant "
  "roles are supported!') }}{% endif %}{% endfor %}";

static const char llama30_src[] =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
  "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | "
  "trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}"
  "{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
  "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

static void
test_inline_templates (void)
{
  LlmChatTemplate *t = llm_chat_template_new (llama2_src);
  g_assert_cmpint (llm_chat_template_family (t), ==, LLM_CHAT_LLAMA2);
  LlmChatMessage m[] = { MSG ("system", "You are helpful."), MSG ("user", "Hello "),
                         MSG ("assistant", " Hi there"), MSG ("user", "How are you?") };
  check (t, m, 4, true,
         "<s>[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHello [/INST] Hi there </s>"
         "<s>[INST] How are you? [/INST]");
  llm_chat_template_free (t);

  t = llm_chat_template_new (mistral01_src);
  g_assert_cmpint (llm_chat_template_family (t), ==, LLM_CHAT_MISTRAL);
  check (t, conv_nosys, 3, true, "<s>[INST] Hello [/INST]Hi there</s>[INST] How are you? [/INST]");
  /* v0.1 has no system role: it joins the first user turn */
  check (t, conv_sys, 4, true,
         "<s>[INST] You are helpful.\n\nHello [/INST]Hi there</s>[INST] How are you? [/INST]");
  llm_chat_template_free (t);

  t = llm_chat_template_new (llama30_src);
  g_assert_cmpint (llm_chat_template_family (t), ==, LLM_CHAT_LLAMA3);
  llm_chat_template_set_bos_eos (t, "<|begin_of_text|>", NULL);
  check (t, conv_sys, 2, true,
         "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
         "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
         "<|start_header_id|>assistant<|end_header_id|>\n\n");
  llm_chat_template_free (t);
}

static void
test_unknown_and_names (void)
{
  const char *unknown[] = { NULL, "", "{{ messages | join }}" };
  for (guint i = 0; i < G_N_ELEMENTS (unknown); i++)
    {
      LlmChatTemplate *t = llm_chat_template_new (unknown[i]);
      g_assert_cmpint (llm_chat_template_family (t), ==, LLM_CHAT_CHATML);
      g_assert_false (llm_chat_template_known (t));
      check (t, conv_sys, 2, true,
             "<|im_start|>system\nYou are helpful.<|im_end|>\n"
             "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n");
      llm_chat_template_free (t);
    }
  for (int f = 0; f < LLM_CHAT_N_FAMILIES; f++)
    {
      LlmChatTemplate *t = llm_chat_template_new (llm_chat_family_name (f));
      g_assert_cmpint (llm_chat_template_family (t), ==, f);
      g_assert_true (llm_chat_template_known (t));
      llm_chat_template_free (t);
    }
  g_assert_cmpstr (llm_chat_family_name (LLM_CHAT_N_FAMILIES), ==, "?");
}

static void
test_errors (void)
{
  g_autofree char *src = read_template ("google-gemma-2-2b-it.jinja");
  LlmChatTemplate *t = llm_chat_template_new (src ? src : "gemma");
  char err[256] = "";
  LlmChatMessage tool[] = { MSG ("user", "x"), MSG ("tool", "y") };
  g_assert_null (llm_chat_format (t, tool, 2, true, err, sizeof err));
  g_assert_nonnull (strstr (err, "no role \"tool\""));
  LlmChatMessage late_sys[] = { MSG ("user", "x"), MSG ("system", "y") };
  g_assert_null (llm_chat_format (t, late_sys, 2, true, err, sizeof err));
  g_assert_nonnull (strstr (err, "system message only first"));
  LlmChatMessage only_sys[] = { MSG ("system", "y") };
  g_assert_null (llm_chat_format (t, only_sys, 1, true, err, sizeof err));
  g_assert_nonnull (strstr (err, "needs a user message"));
  LlmChatMessage no_role[] = { MSG (NULL, "x") };
  g_assert_null (llm_chat_format (t, no_role, 1, true, err, sizeof err));
  llm_chat_template_free (t);

  /* ChatML takes any role, but not one that would break its markers */
  t = llm_chat_template_new (NULL);
  LlmChatMessage bad[] = { MSG ("user<|im_end|>", "x") };
  g_assert_null (llm_chat_format (t, bad, 1, true, err, sizeof err));
  check (t, tool, 2, false, "<|im_start|>user\nx<|im_end|>\n<|im_start|>tool\ny<|im_end|>\n");
  llm_chat_template_free (t);
}

/* From a GGUF file: the template and the vocabulary's own BOS/EOS texts. */
static void
test_from_gguf (void)
{
  g_autofree char *src = read_template ("google-gemma-2-2b-it.jinja");
  if (src == NULL)
    {
      g_test_skip ("shared chat templates not found");
      return;
    }
  g_autofree char *dir = g_dir_make_tmp ("docent-chat-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "chat.gguf", NULL);
  llm_gguf_writer *w = llm_gguf_writer_new ();
  const char *tokens[] = { "<pad>", "<eos>", "<bos>", "hello" };
  llm_gguf_writer_set_string (w, "general.architecture", "gemma2");
  llm_gguf_writer_set_string (w, "tokenizer.chat_template", src);
  llm_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens", tokens, 4);
  llm_gguf_writer_set_u32 (w, "tokenizer.ggml.bos_token_id", 2);
  llm_gguf_writer_set_u32 (w, "tokenizer.ggml.eos_token_id", 1);
  llm_gguf_error gerr;
  g_assert_true (llm_gguf_writer_write_file (w, path, &gerr));
  llm_gguf_writer_free (w);
  llm_gguf *g = llm_gguf_open (path, &gerr);
  g_assert_nonnull (g);
  LlmChatTemplate *t = llm_chat_template_from_gguf (g);
  g_assert_cmpint (llm_chat_template_family (t), ==, LLM_CHAT_GEMMA);
  check (t, conv_nosys, 1, true, "<bos><start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n");
  llm_chat_template_free (t);
  llm_gguf_close (g);

  /* no template at all: ChatML */
  w = llm_gguf_writer_new ();
  llm_gguf_writer_set_string (w, "general.architecture", "llama");
  g_assert_true (llm_gguf_writer_write_file (w, path, &gerr));
  llm_gguf_writer_free (w);
  g = llm_gguf_open (path, &gerr);
  t = llm_chat_template_from_gguf (g);
  g_assert_cmpint (llm_chat_template_family (t), ==, LLM_CHAT_CHATML);
  g_assert_false (llm_chat_template_known (t));
  llm_chat_template_free (t);
  llm_gguf_close (g);
  g_unlink (path);
  g_rmdir (dir);
}

/* Every file in the folder is recognised as some known family. */
static void
test_all_files_known (void)
{
  const char *dir = g_getenv ("DOCENT_SHARED_DIR");
  g_autofree char *path = g_build_filename (dir ? dir : "../shared", "chat-templates", NULL);
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  if (d == NULL)
    {
      g_test_skip ("shared chat templates not found");
      return;
    }
  const char *name;
  guint n = 0;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *src = read_template (name);
      LlmChatTemplate *t = llm_chat_template_new (src);
      g_test_message ("%s: %s", name, llm_chat_family_name (llm_chat_template_family (t)));
      g_assert_true (llm_chat_template_known (t));
      llm_chat_template_free (t);
      n++;
    }
  g_assert_cmpuint (n, >=, 5);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/llm/chat/qwen2.5", test_qwen);
  g_test_add_func ("/llm/chat/llama3.1", test_llama31);
  g_test_add_func ("/llm/chat/gemma2", test_gemma);
  g_test_add_func ("/llm/chat/phi3.5", test_phi35);
  g_test_add_func ("/llm/chat/mistral-nemo", test_mistral_nemo);
  g_test_add_func ("/llm/chat/inline-templates", test_inline_templates);
  g_test_add_func ("/llm/chat/unknown-and-names", test_unknown_and_names);
  g_test_add_func ("/llm/chat/errors", test_errors);
  g_test_add_func ("/llm/chat/from-gguf", test_from_gguf);
  g_test_add_func ("/llm/chat/all-files-known", test_all_files_known);
  return g_test_run ();
}
