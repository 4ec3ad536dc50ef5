/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-cli"
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "docent-cli.h"
#include "docent-gguf-embedder.h"

/* `docent embed`: the vectors a GGUF embedding model gives texts, through
 * the same embedder the library uses (prefixes, pooling, normalisation), so
 * they can be compared with other runtimes. */

int
docent_cli_embed (DocentCliGlobal *global, int argc, char **argv)
{
  g_autofree char *model = NULL;
  gboolean json = FALSE, query = FALSE;
  int threads = 0;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, N_("GGUF embedding model (bert: bge, e5, MiniLM…)"), N_("FILE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object"), NULL },
    { "query", 0, 0, G_OPTION_ARG_NONE, &query, N_("Embed the texts as search queries (the model's query prefix)"), NULL },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, N_("Threads (default: one per CPU)"), N_("N") },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentGgufEmbedder) embedder = NULL;
  g_autofree float *vecs = NULL;
  guint dim, n;

  if (!docent_cli_parse (global, "embed", _("TEXT…"), entries, &argc, &argv))
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
      g_printerr ("docent embed: %s\n", _("--model FILE is required"));
      return DOCENT_EXIT_USAGE;
    }
  if (argc < 2)
    {
      g_printerr ("docent embed: %s\n", _("give at least one TEXT"));
      return DOCENT_EXIT_USAGE;
    }
  if (threads < 0)
    {
      g_printerr ("docent embed: %s\n", _("--threads must be positive"));
      return DOCENT_EXIT_USAGE;
    }

  embedder = docent_gguf_embedder_new (model, &error);
  if (embedder == NULL)
    {
      g_printerr ("docent embed: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }
  docent_gguf_embedder_set_n_threads (embedder, threads > 0 ? (guint) threads : g_get_num_processors ());

  n = (guint) argc - 1;
  dim = docent_embedder_get_dim (DOCENT_EMBEDDER (embedder));
  vecs = g_new (float, (gsize) n * dim);
  if (!docent_embedder_embed (DOCENT_EMBEDDER (embedder), query ? DOCENT_EMBED_QUERY : DOCENT_EMBED_PASSAGE,
                              (const char * const *) argv + 1, n, vecs, NULL, &error))
    {
      g_printerr ("docent embed: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, docent_embedder_get_model_id (DOCENT_EMBEDDER (embedder)));
      json_builder_set_member_name (b, "dim");
      json_builder_add_int_value (b, dim);
      json_builder_set_member_name (b, "vectors");
      json_builder_begin_array (b);
      for (guint i = 0; i < n; i++)
        {
          json_builder_begin_array (b);
          for (guint c = 0; c < dim; c++)
            json_builder_add_double_value (b, vecs[(gsize) i * dim + c]);
          json_builder_end_array (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      docent_cli_print_json (root);
    }
  else
    {
      g_autoptr(GString) out = g_string_new (NULL);

      /* one line of dim numbers per text */
      for (guint i = 0; i < n; i++)
        {
          for (guint c = 0; c < dim; c++)
            g_string_append_printf (out, c ? " %.6f" : "%.6f", vecs[(gsize) i * dim + c]);
          g_string_append_c (out, '\n');
        }
      fwrite (out->str, 1, out->len, stdout);
      fflush (stdout);
    }
  return DOCENT_EXIT_OK;
}
