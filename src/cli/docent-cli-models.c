/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-cli"
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "docent-cli.h"
#include "docent-model-manager.h"

/* `docent models [--json]`: the GGUF models found on this computer. */

static const char *
model_kind (const DocentModelInfo *m)
{
  return m->is_embedding ? "embedding" : m->is_chat ? "chat" : "other";
}

static void
add_string_or_null (JsonBuilder *b, const char *member, const char *value)
{
  json_builder_set_member_name (b, member);
  if (value)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

int
docent_cli_models (DocentCliGlobal *global, int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object"), NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;

  if (!docent_cli_parse (global, "models", "", entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  if (argc != 1)
    {
      g_printerr ("%s\n", _("Usage: docent models [--json]"));
      return DOCENT_EXIT_USAGE;
    }
  models = docent_model_manager_discover (NULL, &error);
  if (models == NULL)
    {
      g_printerr ("docent models: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "models");
      json_builder_begin_array (b);
      for (guint i = 0; i < models->len; i++)
        {
          const DocentModelInfo *m = models->pdata[i];
          g_autofree char *path = g_filename_display_name (m->path);
          json_builder_begin_object (b);
          add_string_or_null (b, "path", path);
          add_string_or_null (b, "source", m->source);
          add_string_or_null (b, "name", m->name);
          add_string_or_null (b, "architecture", m->architecture);
          json_builder_set_member_name (b, "parameters");
          json_builder_add_int_value (b, (gint64) m->parameters);
          add_string_or_null (b, "quantization", m->quantization);
          json_builder_set_member_name (b, "file_size");
          json_builder_add_int_value (b, (gint64) m->file_size);
          json_builder_set_member_name (b, "ram_estimate");
          json_builder_add_int_value (b, (gint64) m->ram_estimate);
          add_string_or_null (b, "kind", model_kind (m));
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      docent_cli_print_json (root);
      return DOCENT_EXIT_OK;
    }

  if (models->len == 0)
    {
      g_print ("%s\n", _("No GGUF models found."));
      return DOCENT_EXIT_OK;
    }
  for (guint i = 0; i < models->len; i++)
    {
      const DocentModelInfo *m = models->pdata[i];
      g_autofree char *path = g_filename_display_name (m->path);
      g_autofree char *size = g_format_size_full (m->file_size, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *ram = g_format_size_full (m->ram_estimate, G_FORMAT_SIZE_IEC_UNITS);
      /* TRANSLATORS: name, architecture, parameters in millions, quantization, kind, source */
      g_print ("%s  (%s, %.1f M, %s, %s, %s)\n", m->name,
               m->architecture ? m->architecture : "?", m->parameters / 1e6,
               m->quantization ? m->quantization : "?", model_kind (m), m->source);
      g_print ("  %s\n  %s %s, %s %s\n", path, _("File size:"), size, _("RAM needed:"), ram);
    }
  return DOCENT_EXIT_OK;
}
