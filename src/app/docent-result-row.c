/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-result-row"
#include "config.h"

#include <glib/gi18n.h>

#include "docent-result-row.h"

struct _DocentResultRow
{
  GtkListBoxRow             parent_instance;
  const DocentSearchResult *result;
};

G_DEFINE_FINAL_TYPE (DocentResultRow, docent_result_row, GTK_TYPE_LIST_BOX_ROW)

static gboolean
in_highlight (GArray *highlights,
              gint64  pos)
{
  if (highlights == NULL)
    return FALSE;
  for (guint i = 0; i + 1 < highlights->len; i += 2)
    if (pos >= g_array_index (highlights, gint64, i) &&
        pos < g_array_index (highlights, gint64, i + 1))
      return TRUE;
  return FALSE;
}

char *
docent_markup_snippet (const char *text,
                       GArray     *highlights,
                       guint       max_chars)
{
  GString *out = g_string_new (NULL);
  gint64 n = g_utf8_strlen (text, -1);
  gint64 first = 0;
  gint64 start, end, pos = 0;
  gboolean open = FALSE;
  gboolean space = FALSE;
  const char *p;

  if (highlights != NULL && highlights->len >= 2)
    first = g_array_index (highlights, gint64, 0);
  /* Some context before the first match, then as much as fits. */
  start = MAX (0, first - (gint64) max_chars / 4);
  end = MIN (n, start + max_chars);
  start = MAX (0, end - max_chars);

  if (start > 0)
    g_string_append (out, "…");
  p = g_utf8_offset_to_pointer (text, start);
  for (pos = start; pos < end && *p != '\0'; pos++, p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gboolean hl = in_highlight (highlights, pos);

      if (hl != open)
        {
          g_string_append (out, hl ? "<span weight=\"bold\" background=\"#f6d32d\" bgalpha=\"45%\">" : "</span>");
          open = hl;
        }
      /* Runs of whitespace and line breaks read as one space in a snippet. */
      if (g_unichar_isspace (c) || c == 0x0C)
        {
          if (!space)
            g_string_append_c (out, ' ');
          space = TRUE;
          continue;
        }
      space = FALSE;
      switch (c)
        {
        case '<': g_string_append (out, "&lt;"); break;
        case '>': g_string_append (out, "&gt;"); break;
        case '&': g_string_append (out, "&amp;"); break;
        case '"': g_string_append (out, "&quot;"); break;
        case '\'': g_string_append (out, "&apos;"); break;
        default:
          g_string_append_unichar (out, c);
        }
    }
  if (open)
    g_string_append (out, "</span>");
  if (end < n)
    g_string_append (out, "…");
  return g_string_free (out, FALSE);
}

guint
docent_search_result_get_match_page (const DocentSearchResult *result)
{
  gint64 first, pos = 0;
  guint page;

  g_return_val_if_fail (result != NULL, 0);

  page = result->page;
  if (result->highlights == NULL || result->highlights->len < 2 || result->text == NULL)
    return page;
  first = g_array_index (result->highlights, gint64, 0);
  for (const char *p = result->text; *p != '\0' && pos < first; p = g_utf8_next_char (p), pos++)
    if (*p == '\f')
      page++;
  return page;
}

static void
docent_result_row_class_init (DocentResultRowClass *klass)
{
}

static void
docent_result_row_init (DocentResultRow *self)
{
  gtk_widget_add_css_class (GTK_WIDGET (self), "result-row");
}

GtkWidget *
docent_result_row_new (const DocentSearchResult *result,
                       guint                     number,
                       double                    top_score)
{
  DocentResultRow *self;
  GtkWidget *box, *top, *label, *icon;
  g_autofree char *num = NULL;
  g_autofree char *where = NULL;
  g_autofree char *score = NULL;
  g_autofree char *snippet = NULL;
  g_autofree char *a11y = NULL;

  g_return_val_if_fail (result != NULL, NULL);

  self = g_object_new (DOCENT_TYPE_RESULT_ROW, NULL);
  self->result = result;

  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_margin_top (box, 10);
  gtk_widget_set_margin_bottom (box, 10);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);

  top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  num = g_strdup_printf ("%u", number);
  label = gtk_label_new (num);
  gtk_widget_add_css_class (label, "numeric");
  gtk_widget_add_css_class (label, "accent");
  gtk_widget_add_css_class (label, "heading");
  gtk_box_append (GTK_BOX (top), label);

  icon = gtk_image_new_from_icon_name (result->type == DOCENT_DOC_TYPE_PDF
                                       ? "x-office-document-symbolic"
                                       : "text-x-generic-symbolic");
  gtk_box_append (GTK_BOX (top), icon);

  label = gtk_label_new (result->doc ? result->doc : result->path);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "heading");
  gtk_box_append (GTK_BOX (top), label);

  if (result->type == DOCENT_DOC_TYPE_PDF)
    {
      guint page = docent_search_result_get_match_page (result);

      /* The printed label belongs to the passage's first page. */
      if (page == result->page && result->page_label != NULL && result->page_label[0] != '\0' &&
          atoi (result->page_label) != (int) result->page)
        where = g_strdup_printf (_("page %s (%u)"), result->page_label, page);
      else
        where = g_strdup_printf (_("page %u"), page);
    }
  else
    where = g_strdup_printf (_("line %u"), result->line);
  label = gtk_label_new (where);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_set_hexpand (label, TRUE);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_box_append (GTK_BOX (top), label);

  /* Raw scores depend on the ranking (BM25, cosine, fused ranks); relative
   * to the best hit they read the same in every mode. */
  if (top_score > 0 && result->score >= 0)
    score = g_strdup_printf ("%.0f%%", 100.0 * result->score / top_score);
  else
    score = g_strdup_printf ("%.3g", result->score);
  label = gtk_label_new (score);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_widget_add_css_class (label, "score");
  {
    g_autofree char *tip = g_strdup_printf (_("Relevance score %.4g"), result->score);
    gtk_widget_set_tooltip_text (label, tip);
  }
  gtk_box_append (GTK_BOX (top), label);
  gtk_box_append (GTK_BOX (box), top);

  snippet = docent_markup_snippet (result->text ? result->text : "", result->highlights, 320);
  label = gtk_label_new (NULL);
  gtk_label_set_markup (GTK_LABEL (label), snippet);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_lines (GTK_LABEL (label), 5);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (label, "snippet");
  gtk_box_append (GTK_BOX (box), label);

  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (self), box);

  a11y = g_strdup_printf ("%u. %s, %s", number, result->doc ? result->doc : "", where);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
  return GTK_WIDGET (self);
}

const DocentSearchResult *
docent_result_row_get_result (DocentResultRow *self)
{
  g_return_val_if_fail (DOCENT_IS_RESULT_ROW (self), NULL);
  return self->result;
}
