/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-cli"
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "docent-cli.h"
#include "docent-gguf-embedder.h"
#include "docent-rechunker.h"

/* One row per subcommand; each lives in its own docent-cli-*.c file. */
static const DocentCliCommand commands[] = {
  { "import", docent_cli_import, N_("Import PDFs, text and Markdown files or folders") },
  { "list",   docent_cli_list,   N_("List the documents in the library") },
  { "search", docent_cli_search, N_("Search the library") },
  { "ask",    docent_cli_ask,    N_("Answer a question from the library, with citations") },
  { "remove", docent_cli_remove, N_("Remove documents from the library") },
  { "backup", docent_cli_backup, N_("Write a consistent copy of the library") },
  { "tokenize", docent_cli_tokenize, N_("Show how a model's tokenizer splits a text") },
  { "bench",  docent_cli_bench,  N_("Measure performance: bench import|query|kernels") },
  { "eval",   docent_cli_eval,   N_("Measure retrieval quality on a question set") },
  { "collection", docent_cli_collection, N_("Group documents: collection add|remove|list") },
  { "library", docent_cli_library, N_("Library settings: library show|set|rechunk") },
  { "generate", docent_cli_generate, N_("Generate text with a GGUF chat model") },
  { "perplexity", docent_cli_perplexity, N_("Score a text file with a GGUF model (perplexity)") },
  { "info",   docent_cli_info,   N_("Describe a GGUF model file") },
  { "quantize", docent_cli_quantize, N_("Quantize a GGUF model (Q8_0, Q6_K, Q5_K_M, Q4_K_M, Q4_0)") },
  { "embed", docent_cli_embed, N_("Embed texts with a GGUF embedding model") },
  { "models", docent_cli_models, N_("List the GGUF models on this computer, Docent's and other apps'") },
};

static const DocentCliCommand *
find_command (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (commands[i].name, name))
      return &commands[i];
  return NULL;
}

/* Index of the subcommand in argv, skipping a leading --library PATH. */
static int
subcommand_index (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--library"))
        {
          i++;
          continue;
        }
      if (g_str_has_prefix (argv[i], "--library="))
        continue;
      if (argv[i][0] == '-')
        return -1;
      return i;
    }
  return -1;
}

gboolean
docent_cli_wants_cli (int argc, char **argv)
{
  int i = subcommand_index (argc, argv);

  /* "docent FILE…" (the desktop file's Exec line, Open With) opens the
   * window on those files; an unknown word that is no file stays a usage
   * error in the terminal. */
  if (i >= 0 && find_command (argv[i]) == NULL && !g_str_equal (argv[i], "help") &&
      (strstr (argv[i], "://") != NULL || g_file_test (argv[i], G_FILE_TEST_EXISTS)))
    return FALSE;

  if (i < 0)
    {
      /* "docent --help" and "docent --version" are terminal requests too. */
      for (int j = 1; j < argc; j++)
        if (g_str_equal (argv[j], "--version"))
          return TRUE;
      return FALSE;
    }
  return TRUE;
}

static void
print_usage (FILE *out)
{
  fprintf (out, "%s\n", _("Usage: docent [--library PATH] COMMAND [OPTIONS…]"));
  fprintf (out, "%s\n\n", _("With no command, opens the Docent window."));
  fprintf (out, "%s\n", _("Commands:"));
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-10s %s\n", commands[i].name, _(commands[i].summary));
}

char *
docent_cli_dup_library_path (DocentCliGlobal *global)
{
  if (global->library_path != NULL)
    return g_strdup (global->library_path);
  return g_build_filename (g_get_user_data_dir (), "docent", "library.db", NULL);
}

gboolean
docent_cli_parse (DocentCliGlobal    *global,
                  const char         *command,
                  const char         *parameter_string,
                  const GOptionEntry *entries,
                  int                *argc,
                  char             ***argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *library = NULL;
  g_autofree char *title = g_strdup_printf ("%s %s", command, parameter_string);
  const GOptionEntry global_entries[] = {
    { "library", 0, 0, G_OPTION_ARG_FILENAME, &library,
      N_("The library file to use"), N_("PATH") },
    G_OPTION_ENTRY_NULL
  };

  context = g_option_context_new (title);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, global_entries, GETTEXT_PACKAGE);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("docent %s: %s\n", command, error->message);
      g_printerr (_("Try “docent %s --help”.\n"), command);
      return FALSE;
    }
  if (library != NULL)
    {
      g_free (global->library_path);
      global->library_path = g_steal_pointer (&library);
    }
  return TRUE;
}

gboolean
docent_cli_dup_library_embedder (DocentStore     *store,
                                 const char      *command,
                                 gboolean         for_queries,
                                 DocentEmbedder **embedder)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  g_return_val_if_fail (embedder != NULL, FALSE);

  *embedder = NULL;
  if (!docent_embedding_model_get (store, &path, &error) ||
      !docent_embedding_model_load (path, embedder, &error))
    {
      g_printerr ("docent %s: %s\n", command, error->message);
      if (path != NULL)
        g_printerr (_("docent %s: the library %s embeds with %s. Choose another model with "
                      "“docent library set embedding-model FILE”, or the built-in one with "
                      "“docent library set embedding-model builtin”.\n"),
                    command, docent_store_get_path (store), path);
      return FALSE;
    }
  if (for_queries && *embedder != NULL && DOCENT_IS_GGUF_EMBEDDER (*embedder))
    docent_gguf_embedder_set_n_threads (DOCENT_GGUF_EMBEDDER (*embedder), g_get_num_processors ());
  return TRUE;
}

void
docent_cli_print_json (gpointer json_node)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_root (gen, json_node);
  text = json_generator_to_data (gen, NULL);
  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

static void
add_int_or_null (JsonBuilder *b,
                 const char  *name,
                 gint64       value,
                 gboolean     present)
{
  json_builder_set_member_name (b, name);
  if (present)
    json_builder_add_int_value (b, value);
  else
    json_builder_add_null_value (b);
}

void
docent_cli_json_add_location (gpointer       json_builder,
                              const char    *doc,
                              gint64         doc_id,
                              DocentDocType  type,
                              guint          page,
                              guint          page_end,
                              const char    *page_label,
                              guint          line,
                              guint          line_end,
                              gint64         char_start,
                              gint64         char_end)
{
  JsonBuilder *b = json_builder;
  gboolean pdf = type == DOCENT_DOC_TYPE_PDF;

  json_builder_set_member_name (b, "doc");
  json_builder_add_string_value (b, doc);
  json_builder_set_member_name (b, "doc_id");
  json_builder_add_int_value (b, doc_id);
  add_int_or_null (b, "page", page, pdf);
  add_int_or_null (b, "page_end", page_end, pdf);
  json_builder_set_member_name (b, "page_label");
  json_builder_add_string_value (b, pdf ? page_label : NULL);
  add_int_or_null (b, "line", line, !pdf);
  add_int_or_null (b, "line_end", line_end, !pdf);
  json_builder_set_member_name (b, "char_start");
  json_builder_add_int_value (b, char_start);
  json_builder_set_member_name (b, "char_end");
  json_builder_add_int_value (b, char_end);
}

int
docent_cli_run (int argc, char **argv)
{
  DocentCliGlobal global = { NULL };
  const DocentCliCommand *command;
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  int index;
  int rc;

  index = subcommand_index (argc, argv);
  if (index < 0)
    {
      if (argc > 1 && g_str_equal (argv[argc - 1], "--version"))
        {
          g_print ("docent %s\n", PACKAGE_VERSION);
          return DOCENT_EXIT_OK;
        }
      print_usage (stderr);
      return DOCENT_EXIT_USAGE;
    }

  if (g_str_equal (argv[index], "help"))
    {
      print_usage (stdout);
      return DOCENT_EXIT_OK;
    }

  command = find_command (argv[index]);
  if (command == NULL)
    {
      g_printerr (_("docent: unknown command “%s”\n\n"), argv[index]);
      print_usage (stderr);
      return DOCENT_EXIT_USAGE;
    }

  /* The subcommand sees its own name as argv[0] and a leading --library. */
  g_ptr_array_add (args, argv[index]);
  for (int i = 1; i < argc; i++)
    if (i != index)
      g_ptr_array_add (args, argv[i]);
  g_ptr_array_add (args, NULL);

  rc = command->func (&global, (int) args->len - 1, (char **) args->pdata);
  g_free (global.library_path);
  return rc;
}
