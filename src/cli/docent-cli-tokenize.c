/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-cli"
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docent-cli.h"
#include "llm-tokenizer.h"

/* `docent tokenize`: the engine's tokenizer on a text, for checking a model's
 * vocabulary against other runtimes. Works on any GGUF file with tokenizer
 * metadata, including vocabulary-only files. */

/* Pieces are printed as the vocabulary spells them; only bytes that would
 * garble a terminal line are escaped. */
static void
print_piece (GString *out, const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++)
    {
      unsigned char c = (unsigned char) s[i];
      switch (c)
        {
        case '\n': g_string_append (out, "\\n"); break;
        case '\t': g_string_append (out, "\\t"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\\': g_string_append (out, "\\\\"); break;
        default:
          if (c < 0x20 || c == 0x7F)
            g_string_append_printf (out, "\\x%02x", c);
          else
            g_string_append_c (out, (char) c);
        }
    }
}

int
docent_cli_tokenize (DocentCliGlobal *global, int argc, char **argv)
{
  g_autofree char *model = NULL;
  g_autofree char *file = NULL;
  g_autofree char *contents = NULL;
  gboolean no_special = FALSE, json = FALSE;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, N_("GGUF file with a tokenizer"), N_("FILE") },
    { "no-special", 0, 0, G_OPTION_ARG_NONE, &no_special,
      N_("Add no BOS/EOS and treat special-token text as ordinary text"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object"), NULL },
    { "file", 'f', 0, G_OPTION_ARG_FILENAME, &file, N_("Tokenize the exact bytes of a file"), N_("PATH") },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  char err[512] = "";
  const char *text;
  gsize len;
  LlmVocab *vocab;
  LlmToken *ids;
  size_t n_ids = 0;

  if (!docent_cli_parse (global, "tokenize", _("(TEXT | --file PATH)"), entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  /* "--" ends the options (a text may start with "-"); GOption leaves it in. */
  if (argc > 1 && strcmp (argv[1], "--") == 0)
    {
      argv[1] = argv[0];
      argv++;
      argc--;
    }
  if (model == NULL)
    {
      g_printerr ("docent tokenize: %s\n", _("--model FILE is required"));
      return DOCENT_EXIT_USAGE;
    }
  if ((file != NULL) == (argc > 1))
    {
      g_printerr ("docent tokenize: %s\n", _("give either a TEXT or --file PATH"));
      return DOCENT_EXIT_USAGE;
    }

  if (file != NULL)
    {
      if (!g_file_get_contents (file, &contents, &len, &error))
        {
          g_printerr ("docent tokenize: %s\n", error->message);
          return DOCENT_EXIT_PARTIAL;
        }
    }
  else
    {
      /* Several words without quotes mean the words joined by spaces. */
      contents = g_strjoinv (" ", argv + 1);
      len = strlen (contents);
    }
  text = contents;

  vocab = llm_vocab_load_gguf (model, err, sizeof err);
  if (vocab == NULL)
    {
      g_printerr ("docent tokenize: %s\n", err);
      return DOCENT_EXIT_PARTIAL;
    }

  ids = llm_tokenize (vocab, text, len,
                      no_special ? 0 : (LLM_TOKENIZE_ADD_SPECIAL | LLM_TOKENIZE_PARSE_SPECIAL),
                      &n_ids);
  if (ids == NULL)
    {
      g_printerr ("docent tokenize: %s\n", _("out of memory"));
      llm_vocab_free (vocab);
      return DOCENT_EXIT_PARTIAL;
    }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "ids");
      json_builder_begin_array (b);
      for (size_t i = 0; i < n_ids; i++)
        json_builder_add_int_value (b, ids[i]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "pieces");
      json_builder_begin_array (b);
      for (size_t i = 0; i < n_ids; i++)
        {
          size_t plen;
          const char *piece = llm_vocab_get_text (vocab, ids[i], &plen);
          /* vocabulary strings are UTF-8; anything else is shown replaced */
          g_autofree char *valid = g_utf8_make_valid (piece ? piece : "", (gssize) plen);
          json_builder_add_string_value (b, valid);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      docent_cli_print_json (root);
    }
  else
    {
      g_autoptr(GString) out = g_string_new (NULL);

      for (size_t i = 0; i < n_ids; i++)
        {
          size_t plen;
          const char *piece = llm_vocab_get_text (vocab, ids[i], &plen);

          g_string_append_printf (out, "%d\t", ids[i]);
          print_piece (out, piece ? piece : "", piece ? plen : 0);
          g_string_append_c (out, '\n');
        }
      fwrite (out->str, 1, out->len, stdout);
      fflush (stdout);
    }

  free (ids);
  llm_vocab_free (vocab);
  return DOCENT_EXIT_OK;
}
