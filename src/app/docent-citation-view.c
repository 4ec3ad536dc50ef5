/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-citation-view"
#include "config.h"

#include <glib/gi18n.h>
#include <poppler.h>

#include "docent-application.h"
#include "docent-citation-view.h"

#define POINTS_TO_PIXELS (96.0 / 72.0)
#define ZOOM_MIN 0.25
#define ZOOM_MAX 5.0

struct _DocentCitationView
{
  GtkWidget        parent_instance;

  /* template */
  GtkWidget       *box;
  GtkImage        *type_icon;
  GtkLabel        *title_label;
  GtkWidget       *page_controls;
  GtkLabel        *page_label;
  GtkWidget       *zoom_controls;
  GtkLabel        *zoom_label;
  GtkRevealer     *moved_revealer;
  GtkLabel        *moved_label;
  GtkStack        *stack;
  GtkSpinner      *spinner;
  GtkScrolledWindow *pdf_scroller;
  GtkDrawingArea  *page_area;
  GtkScrolledWindow *text_scroller;
  GtkTextView     *text_view;

  /* the citation */
  gint64           doc_id;
  char            *path;
  char            *name;
  DocentDocType    type;
  guint            first_page;
  guint            last_page;
  guint            line;
  gint64           char_start;
  gint64           char_end;
  char            *passage;
  GArray          *matches;      /* gint64 pairs within passage */

  /* what is on screen */
  GCancellable    *cancellable;
  PopplerDocument *document;
  char            *document_path;
  PopplerPage     *page;
  guint            page_number;  /* 1-based */
  guint            n_pages;
  double           page_width;
  double           page_height;
  double           zoom;
  GArray          *passage_rects;  /* PopplerRectangle, merged by line */
  GArray          *match_rects;
  guint            n_text_highlight;
  guint            loaded : 1;
  guint            missing : 1;
  guint            scroll_pending : 1;
  guint            fit_pending : 1;
};

G_DEFINE_FINAL_TYPE (DocentCitationView, docent_citation_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_LOADED,
  PROP_ZOOM,
  N_PROPS
};

enum {
  LOADED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* --- locating the passage ------------------------------------------------ */

/* The visible characters of @text (lower-cased) and the index of each in
 * @text, so the passage can be found on a page whatever the line breaks. */
static void
visible_chars (const char  *text,
               GArray     **chars_out,
               GArray     **index_out)
{
  GArray *chars = g_array_new (FALSE, FALSE, sizeof (gunichar));
  GArray *index = g_array_new (FALSE, FALSE, sizeof (guint));
  guint i = 0;

  for (const char *p = text; p != NULL && *p != '\0'; p = g_utf8_next_char (p), i++)
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isspace (c) || c == 0xAD /* soft hyphen */)
        continue;
      c = g_unichar_tolower (c);
      g_array_append_val (chars, c);
      g_array_append_val (index, i);
    }
  *chars_out = chars;
  *index_out = index;
}

static gssize
find_run (GArray *hay,
          GArray *needle,
          guint   needle_start,
          guint   len)
{
  const gunichar *h = (const gunichar *) hay->data;
  const gunichar *n = (const gunichar *) needle->data + needle_start;

  if (len == 0 || len > hay->len || needle_start + len > needle->len)
    return -1;
  for (guint i = 0; i + len <= hay->len; i++)
    if (h[i] == n[0] && memcmp (h + i, n, len * sizeof (gunichar)) == 0)
      return i;
  return -1;
}

static void
add_rect (GArray                 *rects,
          const PopplerRectangle *r,
          gboolean                may_merge)
{
  if (rects->len > 0 && may_merge)
    {
      PopplerRectangle *last = &g_array_index (rects, PopplerRectangle, rects->len - 1);
      double h = MIN (r->y2 - r->y1, last->y2 - last->y1);

      /* Same line and moving right: grow the last box over the gap. */
      if (fabs (r->y1 - last->y1) < h * 0.5 && r->x1 >= last->x1 - 1.0)
        {
          last->x2 = MAX (last->x2, r->x2);
          last->y1 = MIN (last->y1, r->y1);
          last->y2 = MAX (last->y2, r->y2);
          return;
        }
    }
  g_array_append_val (rects, *r);
}

/* The part of the passage on page @number: a PDF passage joins its pages'
 * texts with form feeds. Code points into the passage, [*start, *end). */
static void update_page_size (DocentCitationView *self);
static void queue_scroll_to_passage (DocentCitationView *self);

static gboolean
passage_segment (DocentCitationView *self,
                 guint               number,
                 gint64             *start,
                 gint64             *end)
{
  guint page = self->first_page;
  gint64 pos = 0;
  const char *p;

  *start = 0;
  for (p = self->passage; *p != '\0'; p = g_utf8_next_char (p), pos++)
    if (*p == '\f')
      {
        if (page == number)
          break;
        page++;
        *start = pos + 1;
      }
  *end = pos;
  return page == number;
}

/* The page of the first matched word, where a reader wants to land. */
static guint
first_match_page (DocentCitationView *self)
{
  gint64 first, pos = 0;
  guint page = self->first_page;

  if (self->matches == NULL || self->matches->len < 2 || self->passage == NULL)
    return self->first_page;
  first = g_array_index (self->matches, gint64, 0);
  for (const char *p = self->passage; *p != '\0' && pos < first; p = g_utf8_next_char (p), pos++)
    if (*p == '\f')
      page++;
  return page;
}

static void
locate_passage_on_page (DocentCitationView *self)
{
  g_autofree char *text = NULL;
  g_autofree char *segment = NULL;
  g_autofree PopplerRectangle *layout = NULL;
  g_autoptr(GArray) page_chars = NULL;
  g_autoptr(GArray) page_index = NULL;
  g_autoptr(GArray) seg_chars = NULL;
  g_autoptr(GArray) seg_index = NULL;
  g_autofree gboolean *is_match = NULL;
  guint n_layout = 0;
  gssize start = -1;
  guint seg_offset = 0;
  gint64 seg_start, seg_end;
  static const guint lengths[] = { 48, 24, 12 };

  g_array_set_size (self->passage_rects, 0);
  g_array_set_size (self->match_rects, 0);

  if (self->page == NULL || self->passage == NULL)
    return;
  if (!passage_segment (self, self->page_number, &seg_start, &seg_end) || seg_end <= seg_start)
    return;

  text = poppler_page_get_text (self->page);
  if (text == NULL || !poppler_page_get_text_layout (self->page, &layout, &n_layout))
    return;

  segment = g_utf8_substring (self->passage, seg_start, seg_end);
  visible_chars (text, &page_chars, &page_index);
  visible_chars (segment, &seg_chars, &seg_index);
  if (page_chars->len == 0 || seg_chars->len == 0)
    return;

  /* Find the segment by a run of its visible characters, whatever the line
   * breaks; a later run if the first is not on the page as extracted. */
  for (guint l = 0; start < 0 && l < G_N_ELEMENTS (lengths); l++)
    {
      guint len = MIN (lengths[l], seg_chars->len);

      for (guint from = 0; start < 0 && from + len <= seg_chars->len && from <= 200; from += len)
        if ((start = find_run (page_chars, seg_chars, from, len)) >= 0)
          seg_offset = from;
    }
  if (start < 0)
    return;
  /* Back up from the run found to where the segment starts. */
  if ((gssize) seg_offset <= start)
    {
      start -= seg_offset;
      seg_offset = 0;
    }
  else
    {
      seg_offset -= start;
      start = 0;
    }

  /* Which visible characters are words the query matched. */
  is_match = g_new0 (gboolean, seg_chars->len);
  if (self->matches != NULL)
    for (guint m = 0; m + 1 < self->matches->len; m += 2)
      {
        gint64 ms = g_array_index (self->matches, gint64, m) - seg_start;
        gint64 me = g_array_index (self->matches, gint64, m + 1) - seg_start;

        for (guint k = 0; k < seg_chars->len; k++)
          {
            gint64 ci = g_array_index (seg_index, guint, k);
            if (ci >= ms && ci < me)
              is_match[k] = TRUE;
          }
      }

  for (guint k = 0; (guint) start + k < page_chars->len && seg_offset + k < seg_chars->len; k++)
    {
      guint ci = g_array_index (page_index, guint, start + k);

      if (ci >= n_layout)
        break;
      add_rect (self->passage_rects, &layout[ci], TRUE);
      /* A matched word joins the previous box only if it continues it
       * (the next visible character), not across unmatched words. */
      if (is_match[seg_offset + k])
        add_rect (self->match_rects, &layout[ci], k > 0 && is_match[seg_offset + k - 1]);
    }
}

/* --- PDF ----------------------------------------------------------------- */

static void
update_zoom_label (DocentCitationView *self)
{
  g_autofree char *label = g_strdup_printf ("%.0f%%", self->zoom * 100.0);
  gtk_label_set_label (self->zoom_label, label);
}

static void
update_page_size (DocentCitationView *self)
{
  double s = POINTS_TO_PIXELS * self->zoom;

  gtk_drawing_area_set_content_width (self->page_area, MAX (1, (int) (self->page_width * s)));
  gtk_drawing_area_set_content_height (self->page_area, MAX (1, (int) (self->page_height * s)));
  gtk_widget_queue_draw (GTK_WIDGET (self->page_area));
}

static gboolean
scroll_to_passage_tick (GtkWidget     *widget,
                        GdkFrameClock *clock,
                        gpointer       user_data)
{
  DocentCitationView *self = DOCENT_CITATION_VIEW (widget);
  GtkAdjustment *vadj = gtk_scrolled_window_get_vadjustment (self->pdf_scroller);
  GtkAdjustment *hadj = gtk_scrolled_window_get_hadjustment (self->pdf_scroller);
  double s = POINTS_TO_PIXELS * self->zoom;
  const PopplerRectangle *r;
  double want_h;

  if (!self->scroll_pending)
    return G_SOURCE_REMOVE;

  if (self->fit_pending)
    {
      /* A new citation starts at the page's width, never above 100%; the
       * width is known only once the view is on screen. */
      int avail = gtk_widget_get_width (GTK_WIDGET (self->pdf_scroller)) - 48;

      if (avail <= 0)
        return G_SOURCE_CONTINUE;
      self->fit_pending = FALSE;
      if (avail > 100 && self->page_width > 0)
        {
          self->zoom = CLAMP (MIN (1.0, avail / (self->page_width * POINTS_TO_PIXELS)), ZOOM_MIN, ZOOM_MAX);
          update_zoom_label (self);
          update_page_size (self);
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
          return G_SOURCE_CONTINUE;
        }
    }

  want_h = self->page_height * s;
  /* Wait until the scrolled window knows the page's new size. */
  if (gtk_adjustment_get_upper (vadj) + 1 < MIN (want_h, gtk_adjustment_get_page_size (vadj)))
    return G_SOURCE_CONTINUE;

  self->scroll_pending = FALSE;
  if (self->passage_rects->len == 0)
    {
      gtk_adjustment_set_value (vadj, 0);
      return G_SOURCE_REMOVE;
    }
  r = &g_array_index (self->passage_rects, PopplerRectangle, 0);
  gtk_adjustment_set_value (vadj, MAX (0, r->y1 * s - gtk_adjustment_get_page_size (vadj) / 4));
  gtk_adjustment_set_value (hadj, MAX (0, r->x1 * s - 24));
  return G_SOURCE_REMOVE;
}

static void
queue_scroll_to_passage (DocentCitationView *self)
{
  if (self->scroll_pending)
    return;
  self->scroll_pending = TRUE;
  gtk_widget_add_tick_callback (GTK_WIDGET (self), scroll_to_passage_tick, NULL, NULL);
}

static void
update_page_label (DocentCitationView *self)
{
  g_autofree char *label = NULL;

  if (self->type == DOCENT_DOC_TYPE_PDF && self->n_pages > 0)
    label = g_strdup_printf (_("Page %u of %u"), self->page_number, self->n_pages);
  gtk_label_set_label (self->page_label, label ? label : "");

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "citation.previous-page",
                                 self->document != NULL && self->page_number > 1);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "citation.next-page",
                                 self->document != NULL && self->page_number < self->n_pages);
}

static void
show_pdf_page (DocentCitationView *self,
               guint               number)
{
  g_clear_object (&self->page);
  self->page_number = number;
  self->page = poppler_document_get_page (self->document, number - 1);
  if (self->page == NULL)
    return;

  poppler_page_get_size (self->page, &self->page_width, &self->page_height);
  locate_passage_on_page (self);
  update_page_size (self);
  update_page_label (self);
  queue_scroll_to_passage (self);
}

static void
draw_page (GtkDrawingArea *area,
           cairo_t        *cr,
           int             width,
           int             height,
           gpointer        user_data)
{
  DocentCitationView *self = user_data;
  double s;

  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  if (self->page == NULL || self->page_width <= 0)
    return;

  s = width / self->page_width;
  cairo_save (cr);
  cairo_scale (cr, s, s);
  poppler_page_render (self->page, cr);
  cairo_restore (cr);

  /* Multiply keeps the text under the marker readable. */
  cairo_set_operator (cr, CAIRO_OPERATOR_MULTIPLY);
  cairo_set_source_rgba (cr, 1.0, 0.92, 0.35, 0.9);
  for (guint i = 0; i < self->passage_rects->len; i++)
    {
      const PopplerRectangle *r = &g_array_index (self->passage_rects, PopplerRectangle, i);
      cairo_rectangle (cr, r->x1 * s - 1, r->y1 * s - 1, (r->x2 - r->x1) * s + 2, (r->y2 - r->y1) * s + 2);
    }
  cairo_fill (cr);
  cairo_set_source_rgba (cr, 1.0, 0.66, 0.2, 0.9);
  for (guint i = 0; i < self->match_rects->len; i++)
    {
      const PopplerRectangle *r = &g_array_index (self->match_rects, PopplerRectangle, i);
      cairo_rectangle (cr, r->x1 * s - 1, r->y1 * s - 1, (r->x2 - r->x1) * s + 2, (r->y2 - r->y1) * s + 2);
    }
  cairo_fill (cr);
}

/* --- text ---------------------------------------------------------------- */

static void
show_text (DocentCitationView *self,
           const char         *text,
           gint64              offset_base)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);
  GtkTextIter start, end, iter;
  gint64 s = self->char_start - offset_base;
  gint64 e = self->char_end - offset_base;
  g_autofree char *found = NULL;
  g_autoptr(GArray) a_chars = NULL, a_index = NULL, b_chars = NULL, b_index = NULL;
  gboolean located = FALSE;

  gtk_text_buffer_set_text (buffer, text, -1);

  if (s >= 0 && e > s && e <= gtk_text_buffer_get_char_count (buffer))
    {
      gtk_text_buffer_get_iter_at_offset (buffer, &start, s);
      gtk_text_buffer_get_iter_at_offset (buffer, &end, e);
      found = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
      visible_chars (found, &a_chars, &a_index);
      visible_chars (self->passage, &b_chars, &b_index);
      located = a_chars->len > 0 && a_chars->len == b_chars->len &&
                memcmp (a_chars->data, b_chars->data, a_chars->len * sizeof (gunichar)) == 0;
    }

  if (!located && self->passage != NULL)
    {
      /* Offsets disagree with the file (it changed since import): look for
       * the passage's first line instead. */
      g_autofree char *first = g_strndup (self->passage, strcspn (self->passage, "\r\n"));

      gtk_text_buffer_get_start_iter (buffer, &iter);
      if (first[0] != '\0' &&
          gtk_text_iter_forward_search (&iter, first, GTK_TEXT_SEARCH_TEXT_ONLY, &start, NULL, NULL))
        {
          s = gtk_text_iter_get_offset (&start);
          e = s + g_utf8_strlen (self->passage, -1);
          located = TRUE;
        }
    }

  self->n_text_highlight = 0;
  if (located)
    {
      gtk_text_buffer_get_iter_at_offset (buffer, &start, s);
      gtk_text_buffer_get_iter_at_offset (buffer, &end, e);
      gtk_text_buffer_apply_tag_by_name (buffer, "passage", &start, &end);
      self->n_text_highlight = e - s;

      if (self->matches != NULL)
        for (guint m = 0; m + 1 < self->matches->len; m += 2)
          {
            GtkTextIter ms, me;
            gtk_text_buffer_get_iter_at_offset (buffer, &ms, s + g_array_index (self->matches, gint64, m));
            gtk_text_buffer_get_iter_at_offset (buffer, &me, s + g_array_index (self->matches, gint64, m + 1));
            gtk_text_buffer_apply_tag_by_name (buffer, "match", &ms, &me);
          }

      gtk_text_buffer_place_cursor (buffer, &start);
      gtk_text_view_scroll_to_mark (self->text_view,
                                    gtk_text_buffer_get_insert (buffer),
                                    0.0, TRUE, 0.0, 0.2);
    }
  gtk_stack_set_visible_child_name (self->stack, "text");
}

/* --- loading ------------------------------------------------------------- */

static void
set_loaded (DocentCitationView *self)
{
  gtk_spinner_stop (self->spinner);
  self->loaded = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
  g_signal_emit (self, signals[LOADED], 0);
}

/* The source is gone or unreadable: the stored passage is all we have. */
static void
show_stored_passage (DocentCitationView *self,
                     const char         *why)
{
  self->missing = TRUE;
  gtk_label_set_label (self->moved_label, why);
  gtk_revealer_set_reveal_child (self->moved_revealer, TRUE);
  gtk_widget_set_visible (self->page_controls, FALSE);
  gtk_widget_set_visible (self->zoom_controls, FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->page_label), FALSE);
  self->char_end = self->char_end - self->char_start;
  self->char_start = 0;
  {
    /* Page breaks in a PDF passage read as paragraph breaks (same length,
     * so the offsets hold). */
    g_autofree char *text = g_strdup (self->passage ? self->passage : "");
    g_strdelimit (text, "\f", '\n');
    show_text (self, text, 0);
  }
  set_loaded (self);
}

static void
load_pdf_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  const char *path = task_data;
  g_autofree char *uri = g_filename_to_uri (path, NULL, NULL);
  g_autoptr(GError) error = NULL;
  PopplerDocument *doc;

  doc = poppler_document_new_from_file (uri, NULL, &error);
  if (doc == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, doc, g_object_unref);
}

static void
load_pdf_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  DocentCitationView *self = DOCENT_CITATION_VIEW (object);
  PopplerDocument *doc = NULL;
  g_autoptr(GError) error = NULL;

  doc = g_task_propagate_pointer (G_TASK (result), &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_object (&doc);
      return;
    }
  if (doc == NULL)
    {
      g_autofree char *msg = NULL;

      if (g_error_matches (error, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED))
        msg = g_strdup (_("The document is protected by a password, so only the stored passage is shown."));
      else
        msg = g_strdup_printf (_("The document could not be opened (%s). Showing the passage stored in the library."),
                               error->message);
      show_stored_passage (self, msg);
      return;
    }

  g_clear_object (&self->document);
  self->document = doc;   /* owned now */
  g_free (self->document_path);
  self->document_path = g_strdup (self->path);
  self->n_pages = poppler_document_get_n_pages (doc);
  gtk_stack_set_visible_child_name (self->stack, "pdf");
  show_pdf_page (self, CLAMP (first_match_page (self), 1, MAX (self->n_pages, 1)));
  set_loaded (self);
}

static char *
decode_text (const char *data,
             gsize       len,
             const char *encoding)
{
  /* The same decodings the importer accepts, so offsets line up; the
   * encoding it recorded wins over guessing. */
  if (encoding != NULL && (g_str_equal (encoding, "CP949") || g_str_equal (encoding, "EUC-KR")))
    {
      char *converted = g_convert (data, len, "UTF-8", "CP949", NULL, NULL, NULL);
      if (converted != NULL)
        return converted;
    }
  if (len >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0)
    return g_utf8_make_valid (data + 3, len - 3);
  if (len >= 2 && memcmp (data, "\xFF\xFE", 2) == 0)
    return g_convert (data + 2, len - 2, "UTF-8", "UTF-16LE", NULL, NULL, NULL);
  if (len >= 2 && memcmp (data, "\xFE\xFF", 2) == 0)
    return g_convert (data + 2, len - 2, "UTF-8", "UTF-16BE", NULL, NULL, NULL);
  if (g_utf8_validate_len (data, len, NULL))
    return g_strndup (data, len);
  {
    char *converted = g_convert (data, len, "UTF-8", "CP949", NULL, NULL, NULL);
    if (converted != NULL)
      return converted;
  }
  return g_utf8_make_valid (data, len);
}

static void
load_text_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  char **args = task_data;   /* path, encoding */
  const char *path = args[0];
  g_autofree char *data = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = 0;
  char *text;

  if (!g_file_get_contents (path, &data, &len, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  text = decode_text (data, len, args[1]);
  if (text == NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s",
                             _("The file is no longer in an encoding Docent can read"));
  else
    g_task_return_pointer (task, text, g_free);
}

static void
load_text_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  DocentCitationView *self = DOCENT_CITATION_VIEW (object);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  text = g_task_propagate_pointer (G_TASK (result), &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (text == NULL)
    {
      g_autofree char *msg = g_strdup_printf (_("The file could not be read (%s). Showing the passage stored in the library."),
                                              error->message);
      show_stored_passage (self, msg);
      return;
    }
  show_text (self, text, 0);
  set_loaded (self);
}

void
docent_citation_view_clear (DocentCitationView *self)
{
  g_return_if_fail (DOCENT_IS_CITATION_VIEW (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->page);
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->passage, g_free);
  g_clear_pointer (&self->matches, g_array_unref);
  g_array_set_size (self->passage_rects, 0);
  g_array_set_size (self->match_rects, 0);
  self->doc_id = 0;
  self->page_number = 0;
  self->n_text_highlight = 0;
  self->loaded = FALSE;
  self->missing = FALSE;
  self->scroll_pending = FALSE;
  gtk_revealer_set_reveal_child (self->moved_revealer, FALSE);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->text_view), "", 0);
}

void
docent_citation_view_show_result (DocentCitationView       *self,
                                  const DocentSearchResult *result,
                                  const char               *encoding)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *title = NULL;
  gboolean is_pdf;

  g_return_if_fail (DOCENT_IS_CITATION_VIEW (self));
  g_return_if_fail (result != NULL);

  docent_citation_view_clear (self);

  self->doc_id = result->doc_id;
  self->path = g_strdup (result->path);
  self->name = g_strdup (result->doc ? result->doc : result->path);
  self->type = result->type;
  self->first_page = result->page;
  self->last_page = MAX (result->page_end, result->page);
  self->line = result->line;
  self->char_start = result->char_start;
  self->char_end = result->char_end;
  self->passage = g_strdup (result->text);
  if (result->highlights != NULL)
    {
      self->matches = g_array_sized_new (FALSE, FALSE, sizeof (gint64), result->highlights->len);
      g_array_append_vals (self->matches, result->highlights->data, result->highlights->len);
    }
  self->cancellable = g_cancellable_new ();
  self->fit_pending = TRUE;

  is_pdf = self->type == DOCENT_DOC_TYPE_PDF;
  gtk_image_set_from_icon_name (self->type_icon, is_pdf ? "x-office-document-symbolic" : "text-x-generic-symbolic");
  if (is_pdf)
    title = g_strdup (self->name);
  else
    {
      /* The line of the first matched word, where the eye should go. */
      guint line = result->line;
      gint64 first = (self->matches && self->matches->len >= 2) ? g_array_index (self->matches, gint64, 0) : 0;
      gint64 pos = 0;

      for (const char *p = self->passage ? self->passage : ""; *p != '\0' && pos < first; p = g_utf8_next_char (p), pos++)
        if (*p == '\n')
          line++;
      title = g_strdup_printf (_("%s · Line %u"), self->name, line);
    }
  gtk_label_set_label (self->title_label, title);
  gtk_widget_set_visible (self->page_controls, is_pdf);
  gtk_widget_set_visible (self->zoom_controls, is_pdf);
  gtk_widget_set_visible (GTK_WIDGET (self->page_label), is_pdf);
  gtk_label_set_label (self->page_label, "");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "citation.open-external", TRUE);

  if (self->path == NULL || !g_file_test (self->path, G_FILE_TEST_IS_REGULAR))
    {
      show_stored_passage (self, _("The file has moved or been deleted. Showing the passage stored in the library."));
      return;
    }

  if (is_pdf && self->document != NULL && g_strcmp0 (self->document_path, self->path) == 0)
    {
      self->n_pages = poppler_document_get_n_pages (self->document);
      gtk_stack_set_visible_child_name (self->stack, "pdf");
      show_pdf_page (self, CLAMP (first_match_page (self), 1, MAX (self->n_pages, 1)));
      set_loaded (self);
      return;
    }

  gtk_stack_set_visible_child_name (self->stack, "loading");
  gtk_spinner_start (self->spinner);
  task = g_task_new (self, self->cancellable, is_pdf ? load_pdf_cb : load_text_cb, NULL);
  g_task_set_source_tag (task, docent_citation_view_show_result);
  if (is_pdf)
    g_task_set_task_data (task, g_strdup (self->path), g_free);
  else
    {
      char **args = g_new0 (char *, 3);
      args[0] = g_strdup (self->path);
      args[1] = g_strdup (encoding);
      g_task_set_task_data (task, args, (GDestroyNotify) g_strfreev);
    }
  g_task_run_in_thread (task, is_pdf ? load_pdf_thread : load_text_thread);
}

/* --- actions ------------------------------------------------------------- */

void
docent_citation_view_set_page (DocentCitationView *self,
                               guint               page)
{
  g_return_if_fail (DOCENT_IS_CITATION_VIEW (self));

  if (self->document == NULL || page < 1 || page > self->n_pages || page == self->page_number)
    return;
  show_pdf_page (self, page);
}

double
docent_citation_view_get_zoom (DocentCitationView *self)
{
  g_return_val_if_fail (DOCENT_IS_CITATION_VIEW (self), 1.0);
  return self->zoom;
}

void
docent_citation_view_set_zoom (DocentCitationView *self,
                               double              zoom)
{
  g_return_if_fail (DOCENT_IS_CITATION_VIEW (self));

  zoom = CLAMP (zoom, ZOOM_MIN, ZOOM_MAX);
  if (zoom == self->zoom)
    return;
  self->zoom = zoom;
  update_zoom_label (self);
  if (self->page != NULL)
    {
      update_page_size (self);
      queue_scroll_to_passage (self);
    }
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "citation.zoom-in", zoom < ZOOM_MAX);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "citation.zoom-out", zoom > ZOOM_MIN);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
}

static void
page_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  DocentCitationView *self = DOCENT_CITATION_VIEW (widget);

  if (g_str_equal (action_name, "citation.previous-page"))
    docent_citation_view_set_page (self, self->page_number - 1);
  else
    docent_citation_view_set_page (self, self->page_number + 1);
}

static void
zoom_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  DocentCitationView *self = DOCENT_CITATION_VIEW (widget);

  if (g_str_equal (action_name, "citation.zoom-in"))
    docent_citation_view_set_zoom (self, self->zoom * 1.2);
  else if (g_str_equal (action_name, "citation.zoom-out"))
    docent_citation_view_set_zoom (self, self->zoom / 1.2);
  else
    docent_citation_view_set_zoom (self, 1.0);
}

static void
launch_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!g_app_info_launch_default_for_uri_finish (result, &error))
    g_warning ("Could not open the document: %s", error->message);
}

static void
open_external_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *param)
{
  DocentCitationView *self = DOCENT_CITATION_VIEW (widget);
  g_autofree char *uri = NULL;
  g_autoptr(GAppInfo) viewer = NULL;

  if (self->path == NULL)
    return;

  /* GNOME's document viewers take a page; any other handler gets the file. */
  if (self->type == DOCENT_DOC_TYPE_PDF && self->page_number > 0)
    viewer = g_app_info_get_default_for_type ("application/pdf", FALSE);
  if (viewer != NULL)
    {
      const char *exe = g_app_info_get_executable (viewer);
      g_autofree char *base = exe ? g_path_get_basename (exe) : NULL;

      if (g_strcmp0 (base, "evince") == 0 || g_strcmp0 (base, "papers") == 0)
        {
          g_autofree char *page = g_strdup_printf ("--page-index=%u", self->page_number);
          const char *argv[] = { exe, page, self->path, NULL };
          g_autoptr(GError) error = NULL;

          if (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, &error))
            return;
          g_warning ("Could not start %s: %s", exe, error->message);
        }
    }

  uri = g_filename_to_uri (self->path, NULL, NULL);
  if (uri != NULL)
    g_app_info_launch_default_for_uri_async (uri, NULL, NULL, launch_cb, NULL);
}

/* --- object -------------------------------------------------------------- */

static void
docent_citation_view_dispose (GObject *object)
{
  DocentCitationView *self = DOCENT_CITATION_VIEW (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_pointer (&self->box, gtk_widget_unparent);

  G_OBJECT_CLASS (docent_citation_view_parent_class)->dispose (object);
}

static void
docent_citation_view_finalize (GObject *object)
{
  DocentCitationView *self = DOCENT_CITATION_VIEW (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->page);
  g_clear_object (&self->document);
  g_clear_pointer (&self->document_path, g_free);
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->passage, g_free);
  g_clear_pointer (&self->matches, g_array_unref);
  g_clear_pointer (&self->passage_rects, g_array_unref);
  g_clear_pointer (&self->match_rects, g_array_unref);

  G_OBJECT_CLASS (docent_citation_view_parent_class)->finalize (object);
}

static void
docent_citation_view_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  DocentCitationView *self = DOCENT_CITATION_VIEW (object);

  switch (prop_id)
    {
    case PROP_LOADED:
      g_value_set_boolean (value, self->loaded);
      break;
    case PROP_ZOOM:
      g_value_set_double (value, self->zoom);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
docent_citation_view_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  DocentCitationView *self = DOCENT_CITATION_VIEW (object);

  switch (prop_id)
    {
    case PROP_ZOOM:
      docent_citation_view_set_zoom (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
docent_citation_view_class_init (DocentCitationViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = docent_citation_view_dispose;
  object_class->finalize = docent_citation_view_finalize;
  object_class->get_property = docent_citation_view_get_property;
  object_class->set_property = docent_citation_view_set_property;

  properties[PROP_LOADED] =
    g_param_spec_boolean ("loaded", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ZOOM] =
    g_param_spec_double ("zoom", NULL, NULL, ZOOM_MIN, ZOOM_MAX, 1.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[LOADED] =
    g_signal_new ("loaded", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  docent_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/docent/Docent/docent-citation-view.ui");
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "citationview");
  gtk_widget_class_bind_template_child (widget_class, DocentCitationView, box);
  gtk_widget_class_bind_template_child (widget_class, DocentCitationView, type_icon);
  gtk_widget_class_bind_template_child (widget_class, DocentCitationView, title_label);
  gtk_widget_class_bind_template_child (widget_class, DocentCitationView, page_controls);
  gtk_widget_class_bind_template_child (widget_class, DocentCitationView, page_label);
  gtk_widget_class_bind_template_child (widget_class, DocentCitationView, zoom_controls);
  gtk_widget_class_bind_template_child (widget_class, DocentCitationView, zoom_label);
  gtk_widget_class_bind_template_child (widget_class, DocentCitationView, moved_revealer);
  gtk_widget_class_bind_template_child (widget_class, DocentCitationView, moved_label);
  gtk_widget_class_bind_template_child (widget_class, DocentCitationView, stack);
  gtk_widget_class_bind_template_child (widget_class, DocentCitationView, spinner);
  gtk_widget_class_bind_template_child (widget_class, DocentCitationView, pdf_scroller);
  gtk_widget_class_bind_template_child (widget_class, DocentCitationView, page_area);
  gtk_widget_class_bind_template_child (widget_class, DocentCitationView, text_scroller);
  gtk_widget_class_bind_template_child (widget_class, DocentCitationView, text_view);

  gtk_widget_class_install_action (widget_class, "citation.previous-page", NULL, page_action);
  gtk_widget_class_install_action (widget_class, "citation.next-page", NULL, page_action);
  gtk_widget_class_install_action (widget_class, "citation.zoom-in", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "citation.zoom-out", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "citation.zoom-reset", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "citation.open-external", NULL, open_external_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Page_Up, 0, "citation.previous-page", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Page_Down, 0, "citation.next-page", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, GDK_CONTROL_MASK, "citation.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, GDK_CONTROL_MASK, "citation.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Add, GDK_CONTROL_MASK, "citation.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, GDK_CONTROL_MASK, "citation.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Subtract, GDK_CONTROL_MASK, "citation.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, GDK_CONTROL_MASK, "citation.zoom-reset", NULL);
}

static void
docent_citation_view_init (DocentCitationView *self)
{
  GtkTextBuffer *buffer;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->zoom = 1.0;
  self->passage_rects = g_array_new (FALSE, FALSE, sizeof (PopplerRectangle));
  self->match_rects = g_array_new (FALSE, FALSE, sizeof (PopplerRectangle));
  update_zoom_label (self);
  gtk_drawing_area_set_draw_func (self->page_area, draw_page, self, NULL);

  buffer = gtk_text_view_get_buffer (self->text_view);
  gtk_text_buffer_create_tag (buffer, "passage", "background", "#f8e45c", "foreground", "#000000", NULL);
  gtk_text_buffer_create_tag (buffer, "match", "background", "#ffa348", "weight", PANGO_WEIGHT_BOLD, NULL);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "citation.previous-page", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "citation.next-page", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "citation.open-external", FALSE);
}

GtkWidget *
docent_citation_view_new (void)
{
  return g_object_new (DOCENT_TYPE_CITATION_VIEW, NULL);
}

gboolean
docent_citation_view_get_loaded (DocentCitationView *self)
{
  g_return_val_if_fail (DOCENT_IS_CITATION_VIEW (self), FALSE);
  return self->loaded;
}

gint64
docent_citation_view_get_doc_id (DocentCitationView *self)
{
  g_return_val_if_fail (DOCENT_IS_CITATION_VIEW (self), 0);
  return self->doc_id;
}

const char *
docent_citation_view_get_path (DocentCitationView *self)
{
  g_return_val_if_fail (DOCENT_IS_CITATION_VIEW (self), NULL);
  return self->path;
}

guint
docent_citation_view_get_page (DocentCitationView *self)
{
  g_return_val_if_fail (DOCENT_IS_CITATION_VIEW (self), 0);
  return self->page_number;
}

guint
docent_citation_view_get_n_highlights (DocentCitationView *self)
{
  g_return_val_if_fail (DOCENT_IS_CITATION_VIEW (self), 0);

  if (self->page != NULL && !self->missing)
    return self->passage_rects->len;
  return self->n_text_highlight;
}

gboolean
docent_citation_view_get_source_missing (DocentCitationView *self)
{
  g_return_val_if_fail (DOCENT_IS_CITATION_VIEW (self), FALSE);
  return self->missing;
}
