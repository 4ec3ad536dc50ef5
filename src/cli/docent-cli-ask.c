/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-cli"
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "docent-answer.h"
#include "docent-cli.h"
#include "docent-error.h"

/* `docent ask QUESTION`: with no language model configured, an extractive
 * answer — the library's own sentences with numbered citations. */

int
docent_cli_ask (DocentCliGlobal *global,
                int              argc,
                char           **argv)
{
  gboolean json = FALSE;
  int k = 5;
  g_auto(GStrv) doc_names = NULL;
  g_autofree char *mode_name = NULL;
  g_auto(DocentCliFilterArgs) fargs = { 0 };
  const GOptionEntry entries[] = {
    { "k", 'k', 0, G_OPTION_ARG_INT, &k, N_("Passages to read the answer from (default 5)"), N_("N") },
    { "doc", 0, 0, G_OPTION_ARG_STRING_ARRAY, &doc_names, N_("Only this document (repeatable)"), N_("NAME|ID") },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode_name, N_("bm25, dense or hybrid (default: the best measured)"), N_("MODE") },
    DOCENT_CLI_FILTER_ENTRIES (fargs),
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object when the answer is complete"), NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autofree char *path = NULL;
  g_autofree char *question = NULL;
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(DocentEmbedder) embedder = NULL;
  g_autoptr(DocentRetriever) retriever = NULL;
  g_autoptr(DocentAnswer) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  DocentSearchFilter filter;
  DocentSearchOptions options = { 0 };
  DocentSearchMode mode = DOCENT_SEARCH_MODE_HYBRID;
  gint64 start = g_get_monotonic_time ();

  if (!docent_cli_parse (global, "ask", _("QUESTION"), entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  if (argc < 2 || k <= 0 || k > 100 ||
      (mode_name != NULL && !docent_search_mode_from_string (mode_name, &mode)))
    {
      g_printerr (_("Usage: docent ask [--k N] [--doc NAME|ID]… [--mode bm25|dense|hybrid] [--json] QUESTION\n"));
      return DOCENT_EXIT_USAGE;
    }
  if (!docent_cli_filter_resolve (&fargs, &filter, &error))
    {
      g_printerr ("docent ask: %s\n", error->message);
      return DOCENT_EXIT_USAGE;
    }
  question = g_strjoinv (" ", argv + 1);

  path = docent_cli_dup_library_path (global);
  store = docent_store_open (path, &error);
  if (store == NULL)
    {
      g_printerr ("docent ask: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }
  for (guint i = 0; doc_names != NULL && doc_names[i] != NULL; i++)
    {
      gint64 id;
      if (!docent_store_resolve_document (store, doc_names[i], &id, &error))
        {
          g_printerr ("docent ask: %s\n", error->message);
          return DOCENT_EXIT_USAGE;
        }
      g_array_append_val (ids, id);
    }
  if (!docent_cli_dup_library_embedder (store, "ask", TRUE, &embedder))
    return DOCENT_EXIT_PARTIAL;
  retriever = docent_retriever_new (store, embedder, &error);
  if (retriever == NULL)
    {
      g_printerr ("docent ask: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }
  if (mode_name == NULL)
    mode = docent_retriever_get_default_mode (retriever);
  options.k = k;
  options.doc_ids = ids;
  answer = docent_answer_extractive (retriever, question, mode, &options, &filter, &error);
  if (answer == NULL)
    {
      g_printerr ("docent ask: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "answer");
      json_builder_add_string_value (b, answer->answer);
      json_builder_set_member_name (b, "mode");
      json_builder_add_string_value (b, docent_answer_mode_to_string (answer->mode));
      json_builder_set_member_name (b, "cached");
      json_builder_add_null_value (b);
      json_builder_set_member_name (b, "citations");
      json_builder_begin_array (b);
      for (guint i = 0; i < answer->citations->len; i++)
        {
          DocentCitation *c = answer->citations->pdata[i];

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "n");
          json_builder_add_int_value (b, c->n);
          docent_cli_json_add_location (b, c->doc, c->doc_id, c->type, c->page,
                                        c->page_end, c->page_label, c->line,
                                        c->line_end, c->char_start, c->char_end);
          json_builder_set_member_name (b, "text");
          json_builder_add_string_value (b, c->text);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "elapsed_ms");
      json_builder_add_double_value (b, (g_get_monotonic_time () - start) / 1000.0);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      docent_cli_print_json (root);
      return DOCENT_EXIT_OK;
    }

  g_print ("%s\n", answer->answer);
  if (answer->citations->len > 0)
    g_print ("\n");
  for (guint i = 0; i < answer->citations->len; i++)
    {
      DocentCitation *c = answer->citations->pdata[i];
      if (c->type == DOCENT_DOC_TYPE_PDF)
        {
          g_autofree char *label = c->page_label != NULL ? g_strdup_printf (" (“%s”)", c->page_label) : g_strdup ("");
          if (c->page_end > c->page)
            g_print (_("[%u] %s, pages %u–%u%s\n"), c->n, c->doc, c->page, c->page_end, label);
          else
            g_print (_("[%u] %s, page %u%s\n"), c->n, c->doc, c->page, label);
        }
      else if (c->line_end > c->line)
        g_print (_("[%u] %s, lines %u–%u\n"), c->n, c->doc, c->line, c->line_end);
      else
        g_print (_("[%u] %s, line %u\n"), c->n, c->doc, c->line);
    }
  return DOCENT_EXIT_OK;
}
