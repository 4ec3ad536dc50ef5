/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-window"
#include "config.h"

#include <glib/gi18n.h>

#include "docent-application.h"
#include "docent-citation-view.h"
#include "docent-document-row.h"
#include "docent-result-row.h"
#include "docent-window-private.h"

G_DEFINE_FINAL_TYPE (DocentWindow, docent_window, ADW_TYPE_APPLICATION_WINDOW)

static void run_query (DocentWindow *self);
static void clear_results (DocentWindow *self);

void
_docent_window_toast (DocentWindow *self,
                      const char   *message)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

static gboolean
mode_is_ask (DocentWindow *self)
{
  g_autofree char *mode = g_settings_get_string (self->settings, "query-mode");
  return g_strcmp0 (mode, "ask") == 0;
}

/* The filter menu's collection section follows the library's collections. */
static void
update_collections_menu (DocentWindow *self)
{
  const char * const *names = docent_library_get_collections (self->library);
  g_autoptr(GMenu) section = NULL;
  g_autofree char *joined = g_strjoinv ("\n", (char **) names);

  if (g_strcmp0 (joined, self->collections_shown) == 0)
    return;
  g_free (self->collections_shown);
  self->collections_shown = g_steal_pointer (&joined);

  if (self->collections_section_index >= 0)
    g_menu_remove (self->filter_menu, self->collections_section_index);
  self->collections_section_index = -1;
  if (names[0] == NULL)
    return;

  section = g_menu_new ();
  {
    g_autoptr(GMenuItem) any = g_menu_item_new (_("Any Collection"), NULL);
    g_menu_item_set_action_and_target (any, "win.filter-collection", "s", "");
    g_menu_append_item (section, any);
  }
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(GMenuItem) item = g_menu_item_new (names[i], NULL);
      g_menu_item_set_action_and_target (item, "win.filter-collection", "s", names[i]);
      g_menu_append_item (section, item);
    }
  self->collections_section_index = g_menu_model_get_n_items (G_MENU_MODEL (self->filter_menu));
  g_menu_append_section (self->filter_menu, _("Collection"), G_MENU_MODEL (section));
}

/* Which page shows: nothing imported yet, the query page, or a citation. */
void
_docent_window_update_state (DocentWindow *self)
{
  GListModel *docs;
  guint n;
  const char *page = gtk_stack_get_visible_child_name (self->main_stack);
  g_autofree char *subtitle = NULL;

  if (self->library == NULL)
    return;
  docs = docent_library_get_documents (self->library);
  n = g_list_model_get_n_items (docs);

  gtk_stack_set_visible_child_name (self->sidebar_stack, n > 0 ? "list" : "empty");

  if (docent_library_get_error (self->library) != NULL)
    {
      g_autofree char *description =
        g_strdup_printf (_("%s\n\nChoose another location for the library in Preferences."),
                         docent_library_get_error (self->library)->message);

      adw_status_page_set_description (self->error_page, description);
      gtk_stack_set_visible_child_name (self->main_stack, "error");
    }
  else if (g_strcmp0 (page, "error") == 0)
    gtk_stack_set_visible_child_name (self->main_stack, "query");

  if (docent_library_get_error (self->library) != NULL)
    ;
  else if (n == 0 && docent_library_get_loaded (self->library) &&
      !docent_library_get_importing (self->library))
    gtk_stack_set_visible_child_name (self->main_stack, "empty");
  else if (g_strcmp0 (page, "empty") == 0)
    gtk_stack_set_visible_child_name (self->main_stack, "query");

  update_collections_menu (self);

  if (n > 0)
    subtitle = g_strdup_printf (ngettext ("%u document", "%u documents", n), n);
  adw_window_title_set_subtitle (self->window_title, subtitle ? subtitle : "");
}

/* --- library ------------------------------------------------------------- */

static char *
dup_library_path (DocentWindow *self)
{
  g_autofree char *path = g_settings_get_string (self->settings, "library-path");

  /* docent --library PATH (see main.c) wins over the setting. */
  if (g_getenv ("DOCENT_LIBRARY") != NULL && g_getenv ("DOCENT_LIBRARY")[0] != '\0')
    return g_strdup (g_getenv ("DOCENT_LIBRARY"));
  if (path[0] != '\0')
    return g_steal_pointer (&path);
  return g_build_filename (g_get_user_data_dir (), "docent", "library.db", NULL);
}

static void
open_library (DocentWindow *self)
{
  g_autofree char *path = dup_library_path (self);

  if (self->library != NULL && g_strcmp0 (docent_library_get_path (self->library), path) == 0)
    return;

  if (self->search_cancellable != NULL)
    g_cancellable_cancel (self->search_cancellable);
  if (self->library != NULL)
    {
      g_signal_handlers_disconnect_by_data (docent_library_get_documents (self->library), self);
      g_signal_handlers_disconnect_by_data (self->library, self);
      gtk_list_view_set_model (self->documents_list, NULL);
      g_clear_object (&self->documents_selection);
      g_clear_object (&self->documents_entries);
      g_clear_pointer (&self->entry_groups, g_ptr_array_unref);
      g_object_run_dispose (G_OBJECT (self->library));
      g_clear_object (&self->library);
    }
  clear_results (self);
  g_array_set_size (self->filter_ids, 0);

  self->library = docent_library_new (path);
  _docent_window_bind_library (self);
  {
    /* The embedding model is the library's own (kept in its file); one
     * that never chose gets the user's default when it opens. */
    g_autofree char *model = g_settings_get_string (self->settings, "embedding-model-path");
    docent_library_set_default_embedding_model (self->library, model);
  }
  docent_library_refresh (self->library);

  gtk_stack_set_visible_child_name (self->results_stack, "welcome");
  gtk_stack_set_visible_child_name (self->main_stack, "query");
  _docent_window_update_state (self);
}

/* After the library was embedded again (another model), the query on
 * screen is answered again with the new vectors. */
void
_docent_window_rerun_query (DocentWindow *self)
{
  if (self->query != NULL && !docent_library_get_importing (self->library))
    run_query (self);
}

/* --- filters ------------------------------------------------------------- */

static const char *
action_state (GSimpleAction *action)
{
  g_autoptr(GVariant) state = g_action_get_state (G_ACTION (action));
  /* Interned so the caller can keep it. */
  return g_intern_string (g_variant_get_string (state, NULL));
}

static gboolean
filters_active (DocentWindow *self)
{
  return self->filter_ids->len > 0 ||
         g_strcmp0 (action_state (self->filter_type), "all") != 0 ||
         g_strcmp0 (action_state (self->filter_added), "any") != 0 ||
         g_strcmp0 (action_state (self->filter_collection), "") != 0 ||
         gtk_spin_button_get_value_as_int (self->page_first_spin) > 0 ||
         gtk_spin_button_get_value_as_int (self->page_last_spin) > 0;
}

static gint64
added_since (DocentWindow *self)
{
  const char *added = action_state (self->filter_added);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (g_str_equal (added, "day"))
    return now - 24 * 3600;
  if (g_str_equal (added, "week"))
    return now - 7 * 24 * 3600;
  if (g_str_equal (added, "month"))
    return now - 30 * 24 * 3600;
  return 0;
}

/* Type, date and collection go to the retriever, which applies them inside
 * both rankings, before they are cut. */
static void
build_filter (DocentWindow       *self,
              DocentSearchFilter *filter)
{
  const char *type = action_state (self->filter_type);
  const char *collection = action_state (self->filter_collection);

  docent_search_filter_init (filter);
  if (g_str_equal (type, "pdf"))
    filter->type = DOCENT_DOC_TYPE_PDF;
  else if (g_str_equal (type, "text"))
    filter->type = DOCENT_DOC_TYPE_TEXT;
  filter->added_after = added_since (self);
  filter->page_first = gtk_spin_button_get_value_as_int (self->page_first_spin);
  filter->page_last = gtk_spin_button_get_value_as_int (self->page_last_spin);
  if (collection[0] != '\0')
    {
      filter->collections = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (filter->collections, g_strdup (collection));
    }
}

/* The documents selected in the sidebar, or NULL for all. */
static GArray *
dup_selected_ids (DocentWindow *self)
{
  if (self->filter_ids->len == 0)
    return NULL;
  return g_array_copy (self->filter_ids);
}

/* The documents the selection, type and date filters leave (for the
 * label: the search itself hands the filters to the retriever). */
GArray *
_docent_window_dup_search_ids (DocentWindow *self)
{
  const char *type = action_state (self->filter_type);
  GListModel *docs = docent_library_get_documents (self->library);
  guint n = g_list_model_get_n_items (docs);
  gint64 since = added_since (self);
  GArray *ids;

  if (!filters_active (self))
    return NULL;

  ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(DocentDocumentItem) item = g_list_model_get_item (docs, i);
      const DocentDocument *doc = docent_document_item_get_document (item);
      gboolean keep = doc->id > 0;

      if (keep && self->filter_ids->len > 0)
        {
          keep = FALSE;
          for (guint j = 0; j < self->filter_ids->len; j++)
            keep |= g_array_index (self->filter_ids, gint64, j) == doc->id;
        }
      if (keep && g_str_equal (type, "pdf"))
        keep = doc->type == DOCENT_DOC_TYPE_PDF;
      else if (keep && g_str_equal (type, "text"))
        keep = doc->type == DOCENT_DOC_TYPE_TEXT;
      if (keep && since > 0)
        keep = doc->added >= since;
      if (keep)
        g_array_append_val (ids, doc->id);
    }
  return ids;
}

static void
update_filter_label (DocentWindow *self)
{
  g_autoptr(GArray) ids = _docent_window_dup_search_ids (self);
  g_autofree char *label = NULL;
  const char *collection = action_state (self->filter_collection);

  if (ids != NULL && gtk_spin_button_get_value_as_int (self->page_first_spin) + gtk_spin_button_get_value_as_int (self->page_last_spin) > 0)
    label = g_strdup (_("Only the chosen PDF pages"));
  else if (ids != NULL && collection[0] != '\0')
    /* Translators: the filter in effect; %s is a collection name */
    label = g_strdup_printf (_("Only in “%s”"), collection);
  else if (ids != NULL)
    label = g_strdup_printf (ngettext ("Only in %u document", "Only in %u documents", ids->len), ids->len);
  gtk_label_set_label (self->filter_label, label ? label : "");
  gtk_revealer_set_reveal_child (self->filter_revealer, ids != NULL);
  if (ids != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (self->filter_button), "suggested-action");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->filter_button), "suggested-action");
}

static void
filter_change_state (GSimpleAction *action,
                     GVariant      *value,
                     gpointer       user_data)
{
  DocentWindow *self = user_data;
  g_autoptr(GVariant) old = g_action_get_state (G_ACTION (action));

  if (g_variant_equal (old, value))
    return;
  g_simple_action_set_state (action, value);
  update_filter_label (self);
  if (self->query != NULL)
    run_query (self);
}

static void
pages_changed_cb (DocentWindow *self)
{
  update_filter_label (self);
  if (self->query != NULL)
    run_query (self);
}

static GtkSpinButton *
new_page_spin (DocentWindow *self,
               const char   *accessible_label)
{
  GtkSpinButton *spin = GTK_SPIN_BUTTON (gtk_spin_button_new_with_range (0, 100000, 1));

  gtk_spin_button_set_numeric (spin, TRUE);
  gtk_editable_set_width_chars (GTK_EDITABLE (spin), 5);
  gtk_accessible_update_property (GTK_ACCESSIBLE (spin), GTK_ACCESSIBLE_PROPERTY_LABEL, accessible_label, -1);
  g_signal_connect_object (spin, "value-changed", G_CALLBACK (pages_changed_cb), self, G_CONNECT_SWAPPED);
  return spin;
}

/* "From [ ] to [ ]" inside the filter menu; 0 leaves that end open. */
static void
add_page_range_controls (DocentWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkPopover *popover = gtk_menu_button_get_popover (self->filter_button);

  self->page_first_spin = new_page_spin (self, _("First page"));
  self->page_last_spin = new_page_spin (self, _("Last page"));
  gtk_box_append (GTK_BOX (box), gtk_label_new (_("From")));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->page_first_spin));
  gtk_box_append (GTK_BOX (box), gtk_label_new (_("to")));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->page_last_spin));
  gtk_widget_set_tooltip_text (box, _("Only passages on these pages of PDF documents; 0 leaves an end open"));
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_popover_menu_add_child (GTK_POPOVER_MENU (popover), box, "pages");
}

void
_docent_window_documents_selection_changed (DocentWindow *self)
{
  g_autoptr(GtkBitset) selected = NULL;
  g_autoptr(GArray) before = g_array_copy (self->filter_ids);
  GtkBitsetIter iter;
  guint position;
  guint n;

  /* A refresh that replaces rows drops their selection; it is restored
   * from filter_ids afterwards (documents_changed_cb). */
  if (self->library == NULL || docent_library_get_applying (self->library) || self->regrouping)
    return;

  g_array_set_size (self->filter_ids, 0);
  selected = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->documents_selection));
  for (gboolean ok = gtk_bitset_iter_init_first (&iter, selected, &position);
       ok;
       ok = gtk_bitset_iter_next (&iter, &position))
    {
      DocentDocumentItem *item = _docent_window_get_document_item (self, position);
      gint64 id = docent_document_item_get_id (item);
      gboolean seen = FALSE;

      /* A document listed under two collections counts once. */
      for (guint j = 0; j < self->filter_ids->len && !seen; j++)
        seen = g_array_index (self->filter_ids, gint64, j) == id;
      if (id > 0 && !seen)
        g_array_append_val (self->filter_ids, id);
    }

  n = self->filter_ids->len;
  update_filter_label (self);

  /* The filter applies to the query on screen right away. */
  if (self->query != NULL &&
      (before->len != n || memcmp (before->data, self->filter_ids->data, n * sizeof (gint64)) != 0))
    run_query (self);
}

/* Double-click or Enter on a document opens it in its own application. */
static void
document_activated_cb (DocentWindow *self,
                       guint         position)
{
  DocentDocumentItem *item = _docent_window_get_document_item (self, position);
  g_autoptr(GFile) file = NULL;

  if (item == NULL)
    return;
  file = g_file_new_for_path (docent_document_item_get_path (item));
  if (!g_file_query_exists (file, NULL))
    {
      _docent_window_toast (self, _("The file has moved or been deleted"));
      return;
    }
  {
    g_autofree char *uri = g_file_get_uri (file);
    g_app_info_launch_default_for_uri_async (uri, NULL, NULL, NULL, NULL);
  }
}

static void
clear_filter_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *param)
{
  DocentWindow *self = DOCENT_WINDOW (widget);

  g_action_change_state (G_ACTION (self->filter_type), g_variant_new_string ("all"));
  g_action_change_state (G_ACTION (self->filter_added), g_variant_new_string ("any"));
  g_action_change_state (G_ACTION (self->filter_collection), g_variant_new_string (""));
  gtk_spin_button_set_value (self->page_first_spin, 0);
  gtk_spin_button_set_value (self->page_last_spin, 0);
  gtk_selection_model_unselect_all (GTK_SELECTION_MODEL (self->documents_selection));
}

/* --- asking and searching ------------------------------------------------- */

static gboolean
is_sentence_end (const char *p)
{
  gunichar c = g_utf8_get_char (p);
  const char *next = g_utf8_next_char (p);

  if (c == 0x3002 || c == 0xFF0E || c == '\n' || c == 0x0C)
    return TRUE;
  if ((c == '.' || c == '?' || c == '!') && (*next == '\0' || g_unichar_isspace (g_utf8_get_char (next))))
    return TRUE;
  return FALSE;
}

static gboolean
is_stopword (const char *word)
{
  static const char * const stop[] = {
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from",
    "how", "i", "if", "in", "into", "is", "it", "of", "on", "or", "that", "the", "this",
    "to", "what", "when", "where", "which", "who", "why", "with", NULL
  };

  return g_strv_contains (stop, word);
}

/* How well [sent_start, sent_end) answers: distinct matched words (not
 * stopwords, not single letters) first, then how much of it matched; a line
 * of code or a table of contents (mostly symbols) counts half. */
static guint
score_sentence (const DocentSearchResult *result,
                const char               *sentence,
                gint64                    sent_start,
                gint64                    sent_end)
{
  g_autoptr(GHashTable) words = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint matched = 0, symbols = 0, chars = 0;
  guint score;

  if (result->highlights == NULL)
    return 0;
  for (guint i = 0; i + 1 < result->highlights->len; i += 2)
    {
      gint64 hs = MAX (g_array_index (result->highlights, gint64, i), sent_start);
      gint64 he = MIN (g_array_index (result->highlights, gint64, i + 1), sent_end);
      g_autofree char *word = NULL;
      g_autofree char *lower = NULL;

      if (he <= hs)
        continue;
      word = g_utf8_substring (sentence, hs - sent_start, he - sent_start);
      lower = g_utf8_strdown (word, -1);
      if (g_utf8_strlen (lower, -1) < 2 || is_stopword (lower))
        continue;
      matched += he - hs;
      g_hash_table_add (words, g_steal_pointer (&lower));
    }
  if (g_hash_table_size (words) == 0)
    return 0;

  for (const char *p = sentence; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (g_unichar_isspace (c))
        continue;
      chars++;
      if (!g_unichar_isalnum (c))
        symbols++;
    }
  score = g_hash_table_size (words) * 1000 + MIN (matched, 999);
  if (chars > 0 && symbols * 100 / chars > 15)
    score /= 2;
  return score;
}

/* The sentence of @result that best answers, whitespace folded.
 * TODO: core's extractive answerer replaces this once it lands. */
static char *
best_sentence (const DocentSearchResult *result)
{
  const char *text = result->text ? result->text : "";
  const char *p = text;
  const char *best_start = text, *best_end = text + strlen (text);
  gint64 pos = 0, sent_pos = 0;
  guint best_score = 0;
  const char *start = text;
  GString *out;

  while (*p != '\0')
    {
      gboolean end = is_sentence_end (p);
      const char *next = g_utf8_next_char (p);

      pos++;
      if (end || *next == '\0')
        {
          g_autofree char *sentence = g_strndup (start, next - start);
          guint score = (next - start) > 12 ? score_sentence (result, sentence, sent_pos, pos) : 0;

          if (score > best_score)
            {
              best_score = score;
              best_start = start;
              best_end = next;
            }
          start = next;
          sent_pos = pos;
        }
      p = next;
    }

  /* A passage found only by meaning (no matched word) gives no quote. */
  if (best_score == 0)
    return NULL;

  out = g_string_new (NULL);
  for (p = best_start; p < best_end; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isspace (c) || c == 0x0C)
        {
          if (out->len > 0 && out->str[out->len - 1] != ' ')
            g_string_append_c (out, ' ');
        }
      else
        g_string_append_unichar (out, c);
    }
  g_strstrip (out->str);
  out->len = strlen (out->str);
  /* A Markdown list item or heading quotes without its marker. */
  {
    gsize skip = strspn (out->str, "-*#>+ ");
    if (skip > 0 && skip < out->len)
      g_string_erase (out, 0, skip);
  }
  if (out->len > 400)
    {
      g_string_truncate (out, g_utf8_offset_to_pointer (out->str, 380) - out->str);
      g_string_append (out, "…");
    }
  return g_string_free (out, FALSE);
}

/* The core's extractive answer: sentences in document order with [n]
 * markers that become links to the cited sentence. */
static gboolean
show_core_answer (DocentWindow *self)
{
  g_autoptr(GString) markup = NULL;
  g_autofree char *escaped = NULL;

  if (self->answer == NULL)
    return FALSE;

  if (self->answer->mode == DOCENT_ANSWER_NOT_FOUND || self->answer->citations->len == 0)
    {
      gtk_label_set_label (self->answer_label,
                           _("Nothing in the library answers this question. The closest passages are below."));
      g_free (self->answer_text);
      self->answer_text = g_strdup (_("Nothing in the library answers this question. The closest passages are below."));
    }
  else
    {
      escaped = g_markup_escape_text (self->answer->answer, -1);
      markup = g_string_new (escaped);
      for (guint i = 0; i < self->answer->citations->len; i++)
        {
          const DocentCitation *c = g_ptr_array_index (self->answer->citations, i);
          g_autofree char *marker = g_strdup_printf ("[%u]", c->n);
          g_autofree char *link = g_strdup_printf ("<a href=\"cite:%u\">[%u]</a>", c->n, c->n);

          g_string_replace (markup, marker, link, 0);
        }
      gtk_label_set_markup (self->answer_label, markup->str);
      g_free (self->answer_text);
      self->answer_text = g_strdup (self->answer->answer);
    }
  gtk_label_set_label (self->answer_note,
                       _("Quoted from the best passages. Choose a chat model in Preferences for written answers."));
  return TRUE;
}

static void
show_answer (DocentWindow *self)
{
  GString *markup;
  GString *plain;
  guint n = MIN (self->results->len, 3);

  if (show_core_answer (self))
    return;
  markup = g_string_new (NULL);
  plain = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *sentence = best_sentence (g_ptr_array_index (self->results, i));
      g_autofree char *escaped = NULL;

      if (sentence == NULL || sentence[0] == '\0')
        continue;
      escaped = g_markup_escape_text (sentence, -1);
      if (markup->len > 0)
        {
          g_string_append_c (markup, ' ');
          g_string_append_c (plain, ' ');
        }
      g_string_append_printf (markup, "%s <a href=\"cite:%u\" title=\"%s\">[%u]</a>",
                              escaped, i + 1, _("Open this source"), i + 1);
      g_string_append_printf (plain, "%s [%u]", sentence, i + 1);
    }

  if (markup->len == 0)
    {
      /* Nothing matched word for word: point at the best passage instead. */
      g_string_append_printf (markup, "%s <a href=\"cite:1\">[1]</a>",
                              _("No sentence repeats your words; the closest passage is the first source."));
      g_string_append_printf (plain, "%s [1]",
                              _("No sentence repeats your words; the closest passage is the first source."));
    }
  gtk_label_set_markup (self->answer_label, markup->str);
  gtk_label_set_label (self->answer_note,
                       _("Quoted from the best passages. Choose a chat model in Preferences for written answers."));
  g_free (self->answer_text);
  self->answer_text = g_string_free (plain, FALSE);
  g_string_free (markup, TRUE);
}

static void
clear_results (DocentWindow *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->results_list))) != NULL)
    gtk_list_box_remove (self->results_list, child);
  g_clear_pointer (&self->results, g_ptr_array_unref);
  g_clear_pointer (&self->answer_text, g_free);
  g_clear_pointer (&self->answer, docent_answer_free);
}

static void
present_results (DocentWindow *self,
                 GPtrArray    *results,   /* transfer full, or NULL */
                 DocentAnswer *answer,    /* transfer full, or NULL */
                 const GError *error)
{
  g_autofree char *heading = NULL;

  g_clear_object (&self->search_cancellable);
  gtk_spinner_stop (self->busy_spinner);

  clear_results (self);
  self->answer = answer;
  if (results == NULL)
    {
      adw_status_page_set_title (ADW_STATUS_PAGE (gtk_stack_get_child_by_name (self->results_stack, "no-results")),
                                 _("Search Failed"));
      adw_status_page_set_description (ADW_STATUS_PAGE (gtk_stack_get_child_by_name (self->results_stack, "no-results")),
                                       error->message);
      gtk_stack_set_visible_child_name (self->results_stack, "no-results");
      return;
    }
  if (results->len == 0)
    {
      g_ptr_array_unref (results);
      adw_status_page_set_title (ADW_STATUS_PAGE (gtk_stack_get_child_by_name (self->results_stack, "no-results")),
                                 _("No Results"));
      adw_status_page_set_description (ADW_STATUS_PAGE (gtk_stack_get_child_by_name (self->results_stack, "no-results")),
                                       filters_active (self)
                                       ? _("Try other words, or search all documents")
                                       : _("Try other words, or add more documents"));
      gtk_stack_set_visible_child_name (self->results_stack, "no-results");
      return;
    }

  self->results = results;
  for (guint i = 0; i < self->results->len; i++)
    gtk_list_box_append (self->results_list,
                         docent_result_row_new (g_ptr_array_index (self->results, i), i + 1,
                                                ((DocentSearchResult *) g_ptr_array_index (self->results, 0))->score));

  gtk_widget_set_visible (self->answer_box, self->query_is_question);
  if (self->query_is_question)
    {
      show_answer (self);
      heading = g_strdup (_("Sources"));
    }
  else
    heading = g_strdup_printf (ngettext ("%u Passage", "%u Passages", self->results->len),
                               self->results->len);
  gtk_label_set_label (self->results_heading, heading);

  gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (self->results_scroller), 0);
  gtk_stack_set_visible_child_name (self->results_stack, "results");
}

static void
search_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(DocentWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  GPtrArray *results;

  results = docent_library_search_finish (DOCENT_LIBRARY (object), result, &error);

  /* A newer query or another library replaced this one. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
      DOCENT_LIBRARY (object) != self->library)
    {
      g_clear_pointer (&results, g_ptr_array_unref);
      return;
    }
  present_results (self, results, NULL, error);
}

static void
ask_cb (GObject      *object,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_autoptr(DocentWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentLibraryAnswer) answer = NULL;

  answer = docent_library_ask_finish (DOCENT_LIBRARY (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
      DOCENT_LIBRARY (object) != self->library)
    return;
  if (answer == NULL)
    present_results (self, NULL, NULL, error);
  else
    present_results (self, g_steal_pointer (&answer->sources), g_steal_pointer (&answer->answer), NULL);
}

static void
run_query (DocentWindow *self)
{
  g_autoptr(GArray) ids = NULL;
  DocentSearchFilter filter;
  guint k;

  if (self->query == NULL || self->library == NULL)
    return;

  if (self->search_cancellable != NULL)
    g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);
  self->search_cancellable = g_cancellable_new ();

  self->query_is_question = mode_is_ask (self);
  k = g_settings_get_uint (self->settings, self->query_is_question ? "sources" : "results");

  gtk_stack_set_visible_child_name (self->main_stack, "query");
  gtk_widget_set_visible (self->back_button, FALSE);
  gtk_spinner_start (self->busy_spinner);
  gtk_stack_set_visible_child_name (self->results_stack, "busy");

  ids = dup_selected_ids (self);
  build_filter (self, &filter);
  if (self->query_is_question)
    docent_library_ask_async (self->library, self->query, k, ids, &filter,
                              self->search_cancellable, ask_cb, g_object_ref (self));
  else
    docent_library_search_async (self->library, self->query, k, ids, &filter,
                                 self->search_cancellable, search_cb, g_object_ref (self));
  g_clear_pointer (&filter.collections, g_ptr_array_unref);
}

static void
query_activate_cb (DocentWindow *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->query_entry))));

  g_clear_handle_id (&self->typing_source, g_source_remove);
  if (text[0] == '\0')
    return;
  g_free (self->query);
  self->query = g_steal_pointer (&text);
  run_query (self);
}

static gboolean
typing_timeout_cb (gpointer user_data)
{
  DocentWindow *self = user_data;

  self->typing_source = 0;
  query_activate_cb (self);
  return G_SOURCE_REMOVE;
}

/* Search mode searches as you type (after a pause); ask mode waits for
 * Enter, since a question is only worth answering once it is whole. */
static void
query_changed_cb (DocentWindow *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->query_entry))));

  g_clear_handle_id (&self->typing_source, g_source_remove);
  if (mode_is_ask (self) || g_utf8_strlen (text, -1) < 2 || g_strcmp0 (text, self->query) == 0)
    return;
  self->typing_source = g_timeout_add (300, typing_timeout_cb, self);
}

void
docent_window_query (DocentWindow *self,
                     gboolean      ask,
                     const char   *text)
{
  g_return_if_fail (DOCENT_IS_WINDOW (self));
  g_return_if_fail (text != NULL);

  g_settings_set_string (self->settings, "query-mode", ask ? "ask" : "search");
  gtk_editable_set_text (GTK_EDITABLE (self->query_entry), text);
  query_activate_cb (self);
}

static void
query_mode_changed_cb (DocentWindow *self)
{
  gboolean ask = mode_is_ask (self);

  gtk_entry_set_placeholder_text (self->query_entry,
                                  ask ? _("Ask a question about your documents")
                                      : _("Search for words and phrases"));
  gtk_entry_set_icon_from_icon_name (self->query_entry, GTK_ENTRY_ICON_PRIMARY,
                                     ask ? "chat-message-new-symbolic" : "system-search-symbolic");
}

static void
focus_query_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  DocentWindow *self = DOCENT_WINDOW (widget);

  g_settings_set_string (self->settings, "query-mode",
                         g_str_equal (action_name, "win.focus-search") ? "search" : "ask");
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "citation") == 0)
    gtk_stack_set_visible_child_name (self->main_stack, "query");
  gtk_widget_set_visible (self->back_button, FALSE);
  gtk_widget_grab_focus (GTK_WIDGET (self->query_entry));
}

/* --- citations ----------------------------------------------------------- */

static void
open_citation (DocentWindow *self,
               guint         index)
{
  const DocentSearchResult *result;

  if (self->results == NULL || index >= self->results->len)
    return;
  result = g_ptr_array_index (self->results, index);
  {
    DocentDocumentItem *item = docent_library_find_document (self->library, result->doc_id);
    const char *encoding = item ? docent_document_item_get_document (item)->encoding : NULL;

    docent_citation_view_show_result (self->citation_view, result, encoding);
  }
  gtk_stack_set_visible_child_name (self->main_stack, "citation");
  gtk_widget_set_visible (self->back_button, TRUE);
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
  gtk_widget_grab_focus (GTK_WIDGET (self->citation_view));
}

static void
result_activated_cb (DocentWindow  *self,
                     GtkListBoxRow *row)
{
  open_citation (self, gtk_list_box_row_get_index (row));
}

/* A citation of the core's answer points at one sentence: show exactly
 * that, highlighted, on its page or line. */
static void
open_answer_citation (DocentWindow *self,
                      guint         n)
{
  DocentSearchResult r = { 0 };
  const DocentCitation *c = NULL;
  DocentDocumentItem *item;

  for (guint i = 0; i < self->answer->citations->len; i++)
    if (((DocentCitation *) g_ptr_array_index (self->answer->citations, i))->n == n)
      c = g_ptr_array_index (self->answer->citations, i);
  if (c == NULL)
    return;
  item = docent_library_find_document (self->library, c->doc_id);

  r.rank = c->n;
  r.chunk_id = c->chunk_id;
  r.doc_id = c->doc_id;
  r.doc = c->doc;
  r.path = item ? (char *) docent_document_item_get_path (item) : NULL;
  r.type = c->type;
  r.page = c->page;
  r.page_end = c->page_end;
  r.page_label = c->page_label;
  r.line = c->line;
  r.line_end = c->line_end;
  r.char_start = c->char_start;
  r.char_end = c->char_end;
  r.score = c->score;
  r.text = c->text;
  docent_citation_view_show_result (self->citation_view, &r,
                                    item ? docent_document_item_get_document (item)->encoding : NULL);
  gtk_stack_set_visible_child_name (self->main_stack, "citation");
  gtk_widget_set_visible (self->back_button, TRUE);
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
}

static gboolean
answer_link_cb (DocentWindow *self,
                const char   *uri)
{
  guint64 n;

  if (!g_str_has_prefix (uri, "cite:"))
    return FALSE;
  if (!g_ascii_string_to_unsigned (uri + 5, 10, 1, G_MAXUINT, &n, NULL))
    return TRUE;
  if (self->answer != NULL)
    open_answer_citation (self, n);
  else
    open_citation (self, n - 1);
  return TRUE;
}

static void
back_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  DocentWindow *self = DOCENT_WINDOW (widget);

  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "citation") != 0)
    return;
  gtk_stack_set_visible_child_name (self->main_stack, "query");
  gtk_widget_set_visible (self->back_button, FALSE);
}

static void
show_sidebar_cb (DocentWindow *self)
{
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

/* --- copy and export ------------------------------------------------------ */

static char *
dup_answer_markdown (DocentWindow *self,
                     gboolean      markdown)
{
  GString *out = g_string_new (NULL);

  if (markdown && self->query != NULL)
    g_string_append_printf (out, "# %s\n\n", self->query);
  if (self->answer_text != NULL)
    g_string_append_printf (out, "%s\n\n", self->answer_text);
  g_string_append_printf (out, markdown ? "## %s\n\n" : "%s:\n", _("Sources"));
  for (guint i = 0; self->answer != NULL && i < self->answer->citations->len; i++)
    {
      const DocentCitation *c = g_ptr_array_index (self->answer->citations, i);
      g_autofree char *where = c->type == DOCENT_DOC_TYPE_PDF
                               ? g_strdup_printf (_("page %u"), c->page)
                               : g_strdup_printf (_("line %u"), c->line);

      if (markdown)
        g_string_append_printf (out, "%u. **%s**, %s\n", c->n, c->doc, where);
      else
        g_string_append_printf (out, "[%u] %s, %s\n", c->n, c->doc, where);
    }
  for (guint i = 0; self->answer == NULL && self->results != NULL && i < self->results->len; i++)
    {
      const DocentSearchResult *r = g_ptr_array_index (self->results, i);
      g_autofree char *where = r->type == DOCENT_DOC_TYPE_PDF
                               ? g_strdup_printf (_("page %u"), r->page)
                               : g_strdup_printf (_("line %u"), r->line);

      if (markdown)
        g_string_append_printf (out, "%u. **%s**, %s\n", i + 1, r->doc, where);
      else
        g_string_append_printf (out, "[%u] %s, %s\n", i + 1, r->doc, where);
    }
  return g_string_free (out, FALSE);
}

static void
copy_answer_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  DocentWindow *self = DOCENT_WINDOW (widget);
  g_autofree char *text = dup_answer_markdown (self, FALSE);

  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), text);
  _docent_window_toast (self, _("Answer copied with its sources"));
}

static void
export_response_cb (GtkNativeDialog *dialog,
                    int              response,
                    DocentWindow    *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *text = dup_answer_markdown (self, TRUE);
      g_autoptr(GError) error = NULL;

      if (!g_file_replace_contents (file, text, strlen (text), NULL, FALSE,
                                    G_FILE_CREATE_REPLACE_DESTINATION, NULL, NULL, &error))
        _docent_window_toast (self, error->message);
      else
        _docent_window_toast (self, _("Answer exported"));
    }
  g_clear_object (&self->chooser);
}

static void
export_answer_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *param)
{
  DocentWindow *self = DOCENT_WINDOW (widget);

  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (_("Export Answer"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SAVE,
                                               _("_Export"), _("_Cancel"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), _("Answer.md"));
  g_signal_connect (self->chooser, "response", G_CALLBACK (export_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* --- actions ------------------------------------------------------------- */

static void
add_files_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *param)
{
  _docent_window_add_files (DOCENT_WINDOW (widget), g_str_equal (action_name, "win.add-folder"));
}

static void
cancel_import_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *param)
{
  _docent_window_cancel_import (DOCENT_WINDOW (widget));
}

/* --- timing ----------------------------------------------------------------- */

/* DOCENT_TIMING=1 prints when the first frame was painted and when the
 * library's documents were shown (wall clock, µs since the epoch, so a
 * harness can subtract its own launch time) and the resident memory then;
 * DOCENT_TIMING=exit also quits. docs/BENCHMARKS.md uses it. */
static void
timing_report (DocentWindow *self,
               const char   *what)
{
  g_autofree char *status = NULL;
  const char *rss = NULL;

  if (g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    rss = strstr (status, "VmRSS:");
  g_printerr ("docent-timing: %s %" G_GINT64_FORMAT " rss_kb %d\n", what, g_get_real_time (),
              rss ? atoi (rss + 6) : -1);
}

static void
timing_maybe_exit (DocentWindow *self)
{
  if (g_strcmp0 (g_getenv ("DOCENT_TIMING"), "exit") == 0 &&
      self->first_frame_seen && docent_library_get_loaded (self->library))
    {
      GApplication *app = G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
      if (app != NULL)
        g_application_quit (app);
    }
}

static void
timing_after_paint_cb (GdkFrameClock *clock,
                       DocentWindow  *self)
{
  if (self->first_frame_seen)
    return;
  self->first_frame_seen = TRUE;
  timing_report (self, "first-frame");
  timing_maybe_exit (self);
}

static void
timing_loaded_cb (DocentWindow *self)
{
  /* The rows are in the list now; the frame that shows them comes next. */
  timing_report (self, "library-loaded");
  timing_maybe_exit (self);
}

static void
timing_realize_cb (DocentWindow *self)
{
  g_signal_connect_object (gtk_widget_get_frame_clock (GTK_WIDGET (self)), "after-paint",
                           G_CALLBACK (timing_after_paint_cb), self, 0);
}

/* --- object -------------------------------------------------------------- */

static gboolean
docent_window_close_request (GtkWindow *window)
{
  DocentWindow *self = DOCENT_WINDOW (window);
  int width, height;

  gtk_window_get_default_size (window, &width, &height);
  g_settings_delay (self->settings);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
  if (!gtk_window_is_maximized (window))
    {
      g_settings_set_int (self->settings, "window-width", width);
      g_settings_set_int (self->settings, "window-height", height);
    }
  g_settings_apply (self->settings);

  return GTK_WINDOW_CLASS (docent_window_parent_class)->close_request (window);
}

static void
docent_window_dispose (GObject *object)
{
  DocentWindow *self = DOCENT_WINDOW (object);

  if (self->search_cancellable != NULL)
    g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);
  g_clear_handle_id (&self->typing_source, g_source_remove);
  _docent_window_dispose_import (self);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  if (self->library != NULL)
    {
      g_signal_handlers_disconnect_by_data (docent_library_get_documents (self->library), self);
      g_signal_handlers_disconnect_by_data (self->library, self);
      g_object_run_dispose (G_OBJECT (self->library));
    }
  g_clear_object (&self->library);

  G_OBJECT_CLASS (docent_window_parent_class)->dispose (object);
}

static void
docent_window_finalize (GObject *object)
{
  DocentWindow *self = DOCENT_WINDOW (object);

  g_clear_pointer (&self->results, g_ptr_array_unref);
  g_clear_pointer (&self->filter_ids, g_array_unref);
  g_clear_object (&self->filter_type);
  g_clear_object (&self->documents_selection);
  g_clear_object (&self->documents_entries);
  g_clear_pointer (&self->entry_groups, g_ptr_array_unref);
  g_clear_object (&self->filter_added);
  g_clear_object (&self->filter_collection);
  g_clear_pointer (&self->query, g_free);
  g_clear_pointer (&self->answer_text, g_free);
  g_clear_pointer (&self->collections_shown, g_free);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (docent_window_parent_class)->finalize (object);
}

static void
docent_window_class_init (DocentWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = docent_window_dispose;
  object_class->finalize = docent_window_finalize;
  window_class->close_request = docent_window_close_request;

  g_type_ensure (DOCENT_TYPE_CITATION_VIEW);

  docent_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/docent/Docent/docent-window.ui");
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, content);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, sidebar_stack);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, documents_list);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, filter_revealer);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, filter_label);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, import_revealer);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, import_title);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, import_progress);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, import_detail);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, back_button);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, results_stack);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, busy_spinner);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, query_entry);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, answer_box);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, answer_label);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, answer_note);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, results_heading);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, filter_button);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, error_page);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, filter_menu);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, results_list);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, results_scroller);
  gtk_widget_class_bind_template_child (widget_class, DocentWindow, citation_view);
  gtk_widget_class_bind_template_callback (widget_class, document_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, show_sidebar_cb);
  gtk_widget_class_bind_template_callback (widget_class, query_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, query_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, answer_link_cb);
  gtk_widget_class_bind_template_callback (widget_class, result_activated_cb);

  gtk_widget_class_install_action (widget_class, "win.add-files", NULL, add_files_action);
  gtk_widget_class_install_action (widget_class, "win.add-folder", NULL, add_files_action);
  gtk_widget_class_install_action (widget_class, "win.cancel-import", NULL, cancel_import_action);
  gtk_widget_class_install_action (widget_class, "win.back", NULL, back_action);
  gtk_widget_class_install_action (widget_class, "win.clear-filter", NULL, clear_filter_action);
  gtk_widget_class_install_action (widget_class, "win.copy-answer", NULL, copy_answer_action);
  gtk_widget_class_install_action (widget_class, "win.export-answer", NULL, export_answer_action);
  gtk_widget_class_install_action (widget_class, "win.focus-search", NULL, focus_query_action);
  gtk_widget_class_install_action (widget_class, "win.focus-ask", NULL, focus_query_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.add-files", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.add-folder", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "win.focus-search", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_l, GDK_CONTROL_MASK, "win.focus-ask", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, GDK_ALT_MASK, "win.back", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "win.back", NULL);
}

static void
docent_window_init (DocentWindow *self)
{
  g_autoptr(GAction) mode_action = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new (APP_ID);
  self->filter_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->collections_section_index = -1;

  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  self->filter_type = g_simple_action_new_stateful ("filter-type", G_VARIANT_TYPE_STRING,
                                                   g_variant_new_string ("all"));
  g_signal_connect (self->filter_type, "change-state", G_CALLBACK (filter_change_state), self);
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (self->filter_type));
  self->filter_added = g_simple_action_new_stateful ("filter-added", G_VARIANT_TYPE_STRING,
                                                    g_variant_new_string ("any"));
  g_signal_connect (self->filter_added, "change-state", G_CALLBACK (filter_change_state), self);
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (self->filter_added));
  add_page_range_controls (self);
  self->filter_collection = g_simple_action_new_stateful ("filter-collection", G_VARIANT_TYPE_STRING,
                                                         g_variant_new_string (""));
  g_signal_connect (self->filter_collection, "change-state", G_CALLBACK (filter_change_state), self);
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (self->filter_collection));

  mode_action = g_settings_create_action (self->settings, "query-mode");
  g_action_map_add_action (G_ACTION_MAP (self), mode_action);
  g_signal_connect_object (self->settings, "changed::query-mode",
                           G_CALLBACK (query_mode_changed_cb), self, G_CONNECT_SWAPPED);
  query_mode_changed_cb (self);

  g_signal_connect_object (self->settings, "changed::library-path",
                           G_CALLBACK (open_library), self, G_CONNECT_SWAPPED);

  _docent_window_init_import (self);
  open_library (self);

  if (g_getenv ("DOCENT_TIMING") != NULL)
    {
      g_signal_connect (self, "realize", G_CALLBACK (timing_realize_cb), NULL);
      g_signal_connect_object (self->library, "documents-loaded", G_CALLBACK (timing_loaded_cb), self,
                               G_CONNECT_SWAPPED);
    }
}

DocentWindow *
docent_window_new (DocentApplication *app)
{
  return g_object_new (DOCENT_TYPE_WINDOW, "application", app, NULL);
}

GtkDropTarget *
_docent_window_get_drop_target (DocentWindow *self)
{
  return self->drop_target;
}

DocentLibrary *
_docent_window_get_library (DocentWindow *self)
{
  return self->library;
}

DocentCitationView *
_docent_window_get_citation_view (DocentWindow *self)
{
  return self->citation_view;
}

GtkListBox *
_docent_window_get_results_list (DocentWindow *self)
{
  return self->results_list;
}

GtkSelectionModel *
_docent_window_get_documents_selection (DocentWindow *self)
{
  return GTK_SELECTION_MODEL (self->documents_selection);
}

GtkWidget *
_docent_window_get_document_row (DocentWindow *self,
                                 guint         position)
{
  DocentDocumentItem *item = _docent_window_get_document_item (self, position);

  /* GtkListView's children are its list item widgets; ours is inside. */
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->documents_list));
       child != NULL && item != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *row = gtk_widget_get_first_child (child);
      GtkListItem *list_item = row ? g_object_get_data (G_OBJECT (row), "list-item") : NULL;

      /* A document under two collections has two rows: the one there. */
      if (DOCENT_IS_DOCUMENT_ROW (row) && docent_document_row_get_item (DOCENT_DOCUMENT_ROW (row)) == item &&
          list_item != NULL && gtk_list_item_get_position (list_item) == position)
        return row;
    }
  return NULL;
}

GtkEntry *
_docent_window_get_query_entry (DocentWindow *self)
{
  return self->query_entry;
}

const char *
_docent_window_get_page_name (DocentWindow *self)
{
  const char *page = gtk_stack_get_visible_child_name (self->main_stack);

  if (g_strcmp0 (page, "query") == 0)
    return gtk_stack_get_visible_child_name (self->results_stack);
  return page;
}

gboolean
_docent_window_get_searching (DocentWindow *self)
{
  return self->search_cancellable != NULL;
}
