/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-cli"
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "docent-cli.h"
#include "llm-chat.h"
#include "llm-decoder.h"

/* `docent generate` and `docent perplexity`: the decoder from the terminal. */

static llm_decoder *
load_model (const char *command, const char *path, int ctx, int threads)
{
  char err[512] = "";
  llm_decoder *d = llm_decoder_load (path, ctx, threads, err, sizeof err);

  if (d == NULL)
    g_printerr ("docent %s: %s: %s\n", command, path, err);
  return d;
}

typedef struct {
  gboolean stream;
} StreamData;

static bool
print_piece (const char *text, size_t len, LlmToken id, void *user_data)
{
  StreamData *sd = user_data;

  if (sd->stream)
    {
      fwrite (text, 1, len, stdout);
      fflush (stdout);
    }
  return true;
}

static void
add_ids (JsonBuilder *b, const char *name, const LlmToken *ids, size_t n)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (size_t i = 0; i < n; i++)
    json_builder_add_int_value (b, ids[i]);
  json_builder_end_array (b);
}

int
docent_cli_generate (DocentCliGlobal *global, int argc, char **argv)
{
  g_autofree char *model = NULL;
  int n_new = 128, threads = 0, ctx = 0;
  double temp = 0.7, top_p = 0.95;
  gint64 seed = 0;
  gboolean chat = FALSE, json = FALSE;
  const GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, N_("GGUF model file"), N_("FILE") },
    { "n", 'n', 0, G_OPTION_ARG_INT, &n_new, N_("Tokens to generate (default 128)"), N_("N") },
    { "temp", 0, 0, G_OPTION_ARG_DOUBLE, &temp, N_("Temperature; 0 is greedy (default 0.7)"), N_("T") },
    { "top-p", 0, 0, G_OPTION_ARG_DOUBLE, &top_p, N_("Nucleus sampling threshold (default 0.95)"), N_("P") },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, N_("Random seed"), N_("S") },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, N_("Threads (default: one per core)"), N_("N") },
    { "ctx", 0, 0, G_OPTION_ARG_INT, &ctx, N_("Context length (default: the model's, at most 8192)"), N_("N") },
    { "chat", 0, 0, G_OPTION_ARG_NONE, &chat, N_("Wrap the prompt in the model's chat template"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the result as JSON"), NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autofree char *prompt = NULL;
  g_autofree char *formatted = NULL;
  g_autofree LlmToken *out = NULL;
  const char *stop[2] = { NULL, NULL };
  LlmChatTemplate *tmpl = NULL;
  llm_decoder *d;
  llm_sampling params;
  StreamData sd = { TRUE };
  LlmToken *ids;
  size_t n_ids;
  unsigned flags = LLM_TOKENIZE_ADD_SPECIAL;
  double prefill = 0, decode = 0;
  int n;

  if (!docent_cli_parse (global, "generate", _("PROMPT"), entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  if (model == NULL || argc < 2 || n_new <= 0 || temp < 0 || top_p <= 0 || top_p > 1)
    {
      g_printerr (_("Usage: docent generate --model FILE [--n N] [--temp T] [--top-p P] [--seed S] "
                    "[--threads T] [--ctx N] [--chat] [--json] PROMPT\n"));
      return DOCENT_EXIT_USAGE;
    }
  sd.stream = !json;
  prompt = g_strjoinv (" ", argv + 1);
  d = load_model ("generate", model, ctx, threads);
  if (d == NULL)
    return DOCENT_EXIT_PARTIAL;

  if (chat)
    {
      char err[256] = "";
      LlmChatMessage msg = { "user", prompt };
      tmpl = llm_chat_template_from_gguf (llm_decoder_gguf (d));
      formatted = tmpl ? llm_chat_format (tmpl, &msg, 1, true, err, sizeof err) : NULL;
      if (formatted == NULL)
        {
          g_printerr ("docent generate: %s\n", err);
          llm_chat_template_free (tmpl);
          llm_decoder_free (d);
          return DOCENT_EXIT_PARTIAL;
        }
      /* Special-token text in the template becomes those tokens. */
      flags = LLM_TOKENIZE_PARSE_SPECIAL | (llm_chat_template_adds_bos (tmpl) ? 0 : LLM_TOKENIZE_ADD_SPECIAL);
      stop[0] = llm_chat_template_end_of_turn (tmpl);
    }
  ids = llm_tokenize (llm_decoder_vocab (d), chat ? formatted : prompt,
                      strlen (chat ? formatted : prompt), flags, &n_ids);
  if (ids == NULL || n_ids == 0 || (int) n_ids >= llm_decoder_n_ctx (d))
    {
      g_printerr (_("docent generate: the prompt (%zu tokens) does not fit the context of %d\n"),
                  n_ids, llm_decoder_n_ctx (d));
      free (ids);
      llm_chat_template_free (tmpl);
      llm_decoder_free (d);
      return DOCENT_EXIT_USAGE;
    }
  n_new = MIN (n_new, llm_decoder_n_ctx (d) - (int) n_ids);

  llm_sampling_defaults (&params);
  params.temperature = (float) temp;
  params.top_p = (float) top_p;
  params.seed = (uint64_t) seed;
  if (temp == 0)
    params.repeat_penalty = 1.0f;   /* greedy means the plain argmax */
  out = g_new (LlmToken, n_new);
  n = llm_generate (d, ids, n_ids, &params, n_new, stop[0] ? stop : NULL, print_piece, &sd, out,
                    &prefill, &decode);
  if (n < 0)
    {
      g_printerr ("docent generate: generation failed\n");
      free (ids);
      llm_chat_template_free (tmpl);
      llm_decoder_free (d);
      return DOCENT_EXIT_PARTIAL;
    }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autoptr(GString) text = g_string_new (NULL);

      for (int i = 0; i < n; i++)
        {
          char piece[256];
          size_t len = llm_token_to_piece (llm_decoder_vocab (d), out[i], false, piece, sizeof piece);
          g_string_append_len (text, piece, MIN (len, sizeof piece));
        }
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "text");
      json_builder_add_string_value (b, text->str);
      add_ids (b, "prompt_ids", ids, n_ids);
      add_ids (b, "ids", out, (size_t) n);
      json_builder_set_member_name (b, "prefill_tok_s");
      json_builder_add_double_value (b, prefill);
      json_builder_set_member_name (b, "decode_tok_s");
      json_builder_add_double_value (b, decode);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      docent_cli_print_json (root);
    }
  else
    {
      g_print ("\n");
      g_printerr (_("%d tokens; prefill %.1f tokens/s, decode %.1f tokens/s\n"), n, prefill, decode);
    }
  free (ids);
  llm_chat_template_free (tmpl);
  llm_decoder_free (d);
  return DOCENT_EXIT_OK;
}

int
docent_cli_perplexity (DocentCliGlobal *global, int argc, char **argv)
{
  g_autofree char *model = NULL;
  g_autofree char *file = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  int ctx = 256, threads = 0;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, N_("GGUF model file"), N_("FILE") },
    { "file", 0, 0, G_OPTION_ARG_FILENAME, &file, N_("Text to score"), N_("TEXT") },
    { "ctx", 0, 0, G_OPTION_ARG_INT, &ctx, N_("Window length (default 256)"), N_("N") },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, N_("Threads (default: one per core)"), N_("N") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the result as JSON"), NULL },
    G_OPTION_ENTRY_NULL
  };
  llm_decoder *d;
  LlmToken *ids;
  size_t n_ids, scored = 0, windows = 0;
  gsize len;
  double ppl;

  if (!docent_cli_parse (global, "perplexity", "", entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  if (model == NULL || file == NULL || argc > 1 || ctx < 4)
    {
      g_printerr (_("Usage: docent perplexity --model FILE --file TEXT [--ctx 256] [--threads N] [--json]\n"));
      return DOCENT_EXIT_USAGE;
    }
  if (!g_file_get_contents (file, &text, &len, &error))
    {
      g_printerr ("docent perplexity: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }
  d = load_model ("perplexity", model, ctx, threads);
  if (d == NULL)
    return DOCENT_EXIT_PARTIAL;
  /* The file's bytes as they are, with one BOS at the start. */
  ids = llm_tokenize (llm_decoder_vocab (d), text, len, LLM_TOKENIZE_ADD_SPECIAL, &n_ids);
  ppl = ids ? llm_decoder_perplexity (d, ids, n_ids, &scored, &windows) : -1;
  free (ids);
  llm_decoder_free (d);
  if (ppl < 0)
    {
      g_printerr (_("docent perplexity: %s has fewer than %d tokens\n"), file, ctx);
      return DOCENT_EXIT_PARTIAL;
    }
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "perplexity");
      json_builder_add_double_value (b, ppl);
      json_builder_set_member_name (b, "tokens_scored");
      json_builder_add_int_value (b, (gint64) scored);
      json_builder_set_member_name (b, "windows");
      json_builder_add_int_value (b, (gint64) windows);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      docent_cli_print_json (root);
    }
  else
    g_print (_("perplexity %.4f over %zu tokens in %zu windows of %d\n"), ppl, scored, windows, ctx);
  return DOCENT_EXIT_OK;
}
