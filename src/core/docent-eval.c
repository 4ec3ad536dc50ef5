/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-eval"
#include "config.h"

#include <glib/gi18n-lib.h>

#include <json-glib/json-glib.h>
#include <string.h>

#include "docent-error.h"
#include "docent-eval.h"

void
docent_eval_item_free (DocentEvalItem *item)
{
  if (item == NULL)
    return;
  g_free (item->id);
  g_free (item->lang);
  g_free (item->question);
  g_free (item->doc);
  g_clear_pointer (&item->pages, g_array_unref);
  g_free (item);
}

static gboolean
bad_line (GError    **error,
          const char *path,
          guint       line,
          const char *what)
{
  g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_USAGE,
               _("%s:%u: %s; each line must be one JSON object with id, lang, question, doc "
                 "and pages or lines (see eval/README.md)"), path, line, what);
  return FALSE;
}

GPtrArray *
docent_eval_load (const char  *path,
                  GError     **error)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) docent_eval_item_free);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_get_contents (path, &contents, NULL, error))
    return NULL;
  lines = g_strsplit (contents, "\n", -1);
  for (guint l = 0; lines[l] != NULL; l++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(DocentEvalItem) item = NULL;
      g_autoptr(GError) local = NULL;
      JsonObject *obj;
      const char *text = g_strstrip (lines[l]);

      if (*text == '\0')
        continue;
      if (!json_parser_load_from_data (parser, text, -1, &local))
        return bad_line (error, path, l + 1, local->message), NULL;
      if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        return bad_line (error, path, l + 1, "not an object"), NULL;
      obj = json_node_get_object (json_parser_get_root (parser));
      if (!json_object_has_member (obj, "question") || !json_object_has_member (obj, "doc"))
        return bad_line (error, path, l + 1, "no question or doc"), NULL;

      item = g_new0 (DocentEvalItem, 1);
      item->id = g_strdup (json_object_get_string_member_with_default (obj, "id", ""));
      item->lang = g_strdup (json_object_get_string_member_with_default (obj, "lang", "und"));
      item->question = g_strdup (json_object_get_string_member (obj, "question"));
      item->doc = g_strdup (json_object_get_string_member (obj, "doc"));
      item->pages = g_array_new (FALSE, FALSE, sizeof (guint));
      if (json_object_has_member (obj, "pages") &&
          JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, "pages")))
        {
          JsonArray *a = json_object_get_array_member (obj, "pages");
          for (guint i = 0; i < json_array_get_length (a); i++)
            {
              guint p = (guint) json_array_get_int_element (a, i);
              g_array_append_val (item->pages, p);
            }
        }
      if (json_object_has_member (obj, "lines") &&
          JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, "lines")))
        {
          JsonArray *a = json_object_get_array_member (obj, "lines");
          if (json_array_get_length (a) >= 1)
            {
              item->line_first = (guint) json_array_get_int_element (a, 0);
              item->line_last = (guint) json_array_get_int_element (a, json_array_get_length (a) - 1);
            }
        }
      if (item->question == NULL || item->doc == NULL ||
          (item->pages->len == 0 && item->line_first == 0))
        return bad_line (error, path, l + 1, "no gold pages or lines"), NULL;
      g_ptr_array_add (items, g_steal_pointer (&item));
    }
  return g_steal_pointer (&items);
}

gboolean
docent_eval_is_hit (const DocentEvalItem     *item,
                    const DocentSearchResult *result)
{
  g_return_val_if_fail (item != NULL && result != NULL, FALSE);

  if (g_strcmp0 (item->doc, result->doc) != 0)
    return FALSE;
  if (item->pages->len > 0 && result->type == DOCENT_DOC_TYPE_PDF)
    {
      guint last = MAX (result->page_end, result->page);
      for (guint i = 0; i < item->pages->len; i++)
        {
          guint p = g_array_index (item->pages, guint, i);
          if (p >= result->page && p <= last)
            return TRUE;
        }
      return FALSE;
    }
  if (item->line_first > 0 && result->type == DOCENT_DOC_TYPE_TEXT)
    {
      guint last = MAX (result->line_end, result->line);
      return result->line <= item->line_last && last >= item->line_first;
    }
  return FALSE;
}

void
docent_eval_report_free (DocentEvalReport *report)
{
  if (report == NULL)
    return;
  g_clear_pointer (&report->by_lang, g_hash_table_unref);
  g_clear_pointer (&report->langs, g_ptr_array_unref);
  g_clear_pointer (&report->first_hit, g_array_unref);
  g_free (report);
}

static void
scores_add (DocentEvalScores *s,
            guint             first_hit)
{
  s->n++;
  if (first_hit == 0)
    return;
  s->hit1 += first_hit <= 1;
  s->hit5 += first_hit <= 5;
  s->hit10 += first_hit <= 10;
  s->mrr += 1.0 / first_hit;
}

static void
scores_finish (DocentEvalScores *s)
{
  if (s->n == 0)
    return;
  s->hit1 /= s->n;
  s->hit5 /= s->n;
  s->hit10 /= s->n;
  s->mrr /= s->n;
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static int
compare_str (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

DocentEvalReport *
docent_eval_run (DocentRetriever  *retriever,
                 GPtrArray        *items,
                 DocentSearchMode  mode,
                 guint             k,
                 GError          **error)
{
  g_autoptr(DocentEvalReport) report = g_new0 (DocentEvalReport, 1);
  g_autoptr(GArray) ms = g_array_new (FALSE, FALSE, sizeof (double));
  DocentSearchOptions options = { k, NULL };
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (DOCENT_IS_RETRIEVER (retriever), NULL);
  g_return_val_if_fail (items != NULL, NULL);
  g_return_val_if_fail (k > 0, NULL);

  report->mode = mode;
  report->by_lang = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  report->langs = g_ptr_array_new ();
  report->first_hit = g_array_new (FALSE, TRUE, sizeof (guint));

  for (guint i = 0; i < items->len; i++)
    {
      DocentEvalItem *item = items->pdata[i];
      g_autoptr(GPtrArray) results = NULL;
      DocentEvalScores *lang;
      guint first = 0;
      gint64 t0 = g_get_monotonic_time ();
      double t;

      results = docent_retriever_search (retriever, item->question, mode, &options, error);
      if (results == NULL)
        return NULL;
      t = (g_get_monotonic_time () - t0) / 1000.0;
      g_array_append_val (ms, t);
      for (guint r = 0; r < results->len && r < k; r++)
        if (docent_eval_is_hit (item, results->pdata[r]))
          {
            first = r + 1;
            break;
          }
      g_array_append_val (report->first_hit, first);

      lang = g_hash_table_lookup (report->by_lang, item->lang);
      if (lang == NULL)
        {
          char *name = g_strdup (item->lang);
          lang = g_new0 (DocentEvalScores, 1);
          g_hash_table_insert (report->by_lang, name, lang);
          g_ptr_array_add (report->langs, name);
        }
      scores_add (lang, first);
      scores_add (&report->all, first);
    }

  scores_finish (&report->all);
  g_hash_table_iter_init (&iter, report->by_lang);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    scores_finish (value);
  g_ptr_array_sort (report->langs, compare_str);
  g_array_sort (ms, compare_double);
  if (ms->len > 0)
    {
      report->ms_p50 = g_array_index (ms, double, ms->len / 2);
      report->ms_p95 = g_array_index (ms, double, MIN (ms->len - 1, (guint) (ms->len * 0.95)));
    }
  return g_steal_pointer (&report);
}
