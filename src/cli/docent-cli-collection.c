/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-cli"
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "docent-cli.h"
#include "docent-collection.h"
#include "docent-error.h"

/* `docent collection add|remove|list`, and the filter flags that search
 * (and ask) share. */

void
docent_cli_filter_args_clear (DocentCliFilterArgs *args)
{
  g_clear_pointer (&args->collections, g_strfreev);
  g_clear_pointer (&args->type, g_free);
  g_clear_pointer (&args->added_after, g_free);
  g_clear_pointer (&args->added_before, g_free);
  g_clear_pointer (&args->pages, g_free);
  g_clear_pointer (&args->collection_names, g_ptr_array_unref);
}

static gboolean
parse_date (const char  *flag,
            const char  *text,
            gint64      *out,
            GError     **error)
{
  int y, m, d;
  char extra;
  g_autoptr(GDateTime) dt = NULL;

  if (sscanf (text, "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 ||
      !g_date_valid_dmy (d, m, y) ||
      (dt = g_date_time_new_local (y, m, d, 0, 0, 0)) == NULL)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_USAGE,
                   "%s wants a date as YYYY-MM-DD, not “%s”", flag, text);
      return FALSE;
    }
  *out = g_date_time_to_unix (dt);
  return TRUE;
}

gboolean
docent_cli_filter_resolve (DocentCliFilterArgs *args,
                           DocentSearchFilter  *filter,
                           GError             **error)
{
  docent_search_filter_init (filter);

  if (args->collections != NULL && args->collections[0] != NULL)
    {
      args->collection_names = g_ptr_array_new ();
      for (guint i = 0; args->collections[i] != NULL; i++)
        g_ptr_array_add (args->collection_names, args->collections[i]);
      filter->collections = args->collection_names;
    }
  if (args->type != NULL)
    {
      if (g_str_equal (args->type, "pdf"))
        filter->type = DOCENT_DOC_TYPE_PDF;
      else if (g_str_equal (args->type, "text"))
        filter->type = DOCENT_DOC_TYPE_TEXT;
      else
        {
          g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_USAGE,
                       "--type is pdf or text, not “%s”", args->type);
          return FALSE;
        }
    }
  /* Dates are days in local time: after D = from D's start, before D = up
   * to D's start. */
  if (args->added_after != NULL && !parse_date ("--added-after", args->added_after, &filter->added_after, error))
    return FALSE;
  if (args->added_before != NULL && !parse_date ("--added-before", args->added_before, &filter->added_before, error))
    return FALSE;
  if (args->pages != NULL)
    {
      /* A-B, A, A- or -B */
      const char *p = args->pages;
      const char *dash = strchr (p, '-');
      guint64 a = 0, b = 0;
      gboolean ok = TRUE;

      if (dash == NULL)
        ok = g_ascii_string_to_unsigned (p, 10, 1, G_MAXINT, &a, NULL), b = a;
      else
        {
          g_autofree char *left = g_strndup (p, dash - p);
          if (*left != '\0')
            ok = g_ascii_string_to_unsigned (left, 10, 1, G_MAXINT, &a, NULL);
          if (ok && dash[1] != '\0')
            ok = g_ascii_string_to_unsigned (dash + 1, 10, 1, G_MAXINT, &b, NULL);
          ok = ok && (a != 0 || b != 0) && (b == 0 || a <= b);
        }
      if (!ok)
        {
          g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_USAGE,
                       "--pages wants A-B (1-based pages, A ≤ B), A, A- or -B, not “%s”", p);
          return FALSE;
        }
      filter->page_first = (guint) a;
      filter->page_last = (guint) b;
    }
  return TRUE;
}

/* ---- docent collection ------------------------------------------------- */

static DocentStore *
open_store (DocentCliGlobal *global)
{
  g_autofree char *path = docent_cli_dup_library_path (global);
  g_autoptr(GError) error = NULL;
  DocentStore *store = docent_store_open (path, &error);

  if (store == NULL)
    g_printerr ("docent collection: %s\n", error->message);
  return store;
}

static int
usage (void)
{
  g_printerr ("%s\n", _("Usage: docent collection add NAME DOC…\n"
                        "       docent collection remove NAME DOC…\n"
                        "       docent collection list [--json]"));
  return DOCENT_EXIT_USAGE;
}

int
docent_cli_collection (DocentCliGlobal *global,
                       int              argc,
                       char           **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the collections as JSON (list)"), NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(GError) error = NULL;
  const char *verb;

  if (!docent_cli_parse (global, "collection", _("add|remove|list [NAME DOC…]"), entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  if (argc < 2)
    return usage ();
  verb = argv[1];

  if (g_str_equal (verb, "list"))
    {
      g_autoptr(GPtrArray) list = NULL;
      g_autoptr(JsonBuilder) b = json_builder_new ();

      if (argc != 2)
        return usage ();
      if ((store = open_store (global)) == NULL)
        return DOCENT_EXIT_PARTIAL;
      list = docent_collection_list (store, &error);
      if (list == NULL)
        {
          g_printerr ("docent collection: %s\n", error->message);
          return DOCENT_EXIT_PARTIAL;
        }
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "collections");
      json_builder_begin_array (b);
      for (guint i = 0; i < list->len; i++)
        {
          DocentCollection *c = list->pdata[i];
          if (!json)
            g_print ("%s (%u)\n", c->name, c->doc_ids->len);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, c->name);
          json_builder_set_member_name (b, "documents");
          json_builder_begin_array (b);
          for (guint j = 0; j < c->doc_ids->len; j++)
            {
              gint64 id = g_array_index (c->doc_ids, gint64, j);
              g_autoptr(DocentDocument) doc = docent_store_dup_document (store, id, NULL);
              json_builder_begin_object (b);
              json_builder_set_member_name (b, "doc");
              json_builder_add_string_value (b, doc != NULL ? doc->name : NULL);
              json_builder_set_member_name (b, "doc_id");
              json_builder_add_int_value (b, id);
              json_builder_end_object (b);
              if (!json)
                g_print ("  %" G_GINT64_FORMAT "  %s\n", id, doc != NULL ? doc->name : "?");
            }
          json_builder_end_array (b);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      if (json)
        {
          g_autoptr(JsonNode) root = json_builder_get_root (b);
          docent_cli_print_json (root);
        }
      return DOCENT_EXIT_OK;
    }

  if (g_str_equal (verb, "add") || g_str_equal (verb, "remove"))
    {
      g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
      gboolean ok;

      if (argc < 4)
        return usage ();
      if ((store = open_store (global)) == NULL)
        return DOCENT_EXIT_PARTIAL;
      for (int i = 3; i < argc; i++)
        {
          gint64 id;
          if (!docent_store_resolve_document (store, argv[i], &id, &error))
            {
              g_printerr ("docent collection: %s\n", error->message);
              return DOCENT_EXIT_PARTIAL;
            }
          g_array_append_val (ids, id);
        }
      if (g_str_equal (verb, "add"))
        ok = docent_collection_add (store, argv[2], (const gint64 *) ids->data, ids->len, &error);
      else
        ok = docent_collection_remove (store, argv[2], (const gint64 *) ids->data, ids->len, &error);
      if (!ok)
        {
          g_printerr ("docent collection: %s\n", error->message);
          return g_error_matches (error, DOCENT_ERROR, DOCENT_ERROR_USAGE) ? DOCENT_EXIT_USAGE
                                                                          : DOCENT_EXIT_PARTIAL;
        }
      return DOCENT_EXIT_OK;
    }

  g_printerr (_("docent collection: unknown action “%s”\n"), verb);
  return usage ();
}
