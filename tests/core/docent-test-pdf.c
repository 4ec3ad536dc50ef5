/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-test"

#include "config.h"

#include <errno.h>
#include <string.h>

#include <cairo.h>
#include <cairo-pdf.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "docent-test-pdf.h"

#define PAGE_W 595.0  /* A4 in points */
#define PAGE_H 842.0
#define MARGIN 56.0
#define FONT_SIZE 11.0
#define LINE_H 15.0
#define FONT "Noto Sans CJK KR"

static gboolean
check_surface (cairo_surface_t *surface,
               const char      *path,
               GError         **error)
{
  cairo_status_t st = cairo_surface_status (surface);

  if (st == CAIRO_STATUS_SUCCESS)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
               "cairo could not write %s: %s", path, cairo_status_to_string (st));
  return FALSE;
}

/* Draws one paragraph line, wrapping at spaces to the text width. */
static void
draw_line (cairo_t    *cr,
           const char *line,
           double     *y)
{
  g_auto(GStrv) words = g_strsplit (line, " ", -1);
  GString *cur = g_string_new (NULL);

  for (guint i = 0; words[i] != NULL; i++)
    {
      g_autofree char *trial = cur->len ? g_strconcat (cur->str, " ", words[i], NULL)
                                        : g_strdup (words[i]);
      cairo_text_extents_t ext;

      cairo_text_extents (cr, trial, &ext);
      if (cur->len > 0 && ext.x_advance > PAGE_W - 2 * MARGIN)
        {
          cairo_move_to (cr, MARGIN, *y);
          cairo_show_text (cr, cur->str);
          *y += LINE_H;
          g_string_assign (cur, words[i]);
        }
      else
        g_string_assign (cur, trial);
    }

  if (cur->len > 0)
    {
      cairo_move_to (cr, MARGIN, *y);
      cairo_show_text (cr, cur->str);
    }
  *y += LINE_H;
  g_string_free (cur, TRUE);
}

gboolean
docent_test_pdf_write (const char         *path,
                       const char * const *pages,
                       const char * const *labels,
                       const char         *title,
                       const char         *author,
                       GError            **error)
{
  cairo_surface_t *surface;
  cairo_t *cr;
  gboolean ok;

  surface = cairo_pdf_surface_create (path, PAGE_W, PAGE_H);
  if (title)
    cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE, title);
  if (author)
    cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_AUTHOR, author);

  cr = cairo_create (surface);
  for (guint p = 0; pages[p] != NULL; p++)
    {
      g_auto(GStrv) lines = g_strsplit (pages[p], "\n", -1);
      double y = MARGIN + FONT_SIZE;

      if (labels && labels[p])
        cairo_pdf_surface_set_page_label (surface, labels[p]);

      cairo_select_font_face (cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
      cairo_set_font_size (cr, FONT_SIZE);
      cairo_set_source_rgb (cr, 0, 0, 0);
      for (guint l = 0; lines[l] != NULL; l++)
        {
          if (y > PAGE_H - MARGIN)
            break;  /* the caller gave more than a page holds */
          draw_line (cr, lines[l], &y);
        }
      cairo_show_page (cr);
    }
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  ok = check_surface (surface, path, error);
  cairo_surface_destroy (surface);
  return ok;
}

gboolean
docent_test_pdf_write_image_only (const char *path,
                                  guint       n_pages,
                                  GError    **error)
{
  cairo_surface_t *surface;
  cairo_surface_t *image;
  cairo_t *cr;
  gboolean ok;

  /* A grey "scan": noise-like stripes in an image, as a scanner would make. */
  image = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 200, 280);
  {
    guint8 *data = cairo_image_surface_get_data (image);
    int stride = cairo_image_surface_get_stride (image);
    cairo_surface_flush (image);
    for (int y = 0; y < 280; y++)
      for (int x = 0; x < 200; x++)
        {
          guint32 v = ((x * 7 + y * 13) % 64) + ((y / 10) % 2 ? 160 : 190);
          ((guint32 *) (data + y * stride))[x] = v | v << 8 | v << 16;
        }
    cairo_surface_mark_dirty (image);
  }

  surface = cairo_pdf_surface_create (path, PAGE_W, PAGE_H);
  cr = cairo_create (surface);
  for (guint p = 0; p < n_pages; p++)
    {
      cairo_save (cr);
      cairo_scale (cr, PAGE_W / 200.0, PAGE_H / 280.0);
      cairo_set_source_surface (cr, image, 0, 0);
      cairo_paint (cr);
      cairo_restore (cr);
      cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
      cairo_rectangle (cr, MARGIN, MARGIN, 200, 40 + p);
      cairo_fill (cr);
      cairo_show_page (cr);
    }
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  ok = check_surface (surface, path, error);
  cairo_surface_destroy (surface);
  cairo_surface_destroy (image);
  return ok;
}

gboolean
docent_test_pdf_encrypt (const char *in,
                         const char *out,
                         const char *user_password,
                         const char *owner_password,
                         GError    **error)
{
  const char *argv[] = { "qpdf", "--encrypt", user_password, owner_password, "256", "--",
                         in, out, NULL };
  g_autofree char *err_out = NULL;
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, &err_out, &status, error))
    return FALSE;
  return g_spawn_check_wait_status (status, error);
}

gboolean
docent_test_file_truncate_copy (const char *in,
                                const char *out,
                                double      fraction,
                                GError    **error)
{
  g_autofree char *data = NULL;
  gsize len;

  if (!g_file_get_contents (in, &data, &len, error))
    return FALSE;
  fraction = CLAMP (fraction, 0.0, 1.0);
  return g_file_set_contents (out, data, (gssize) (len * fraction), error);
}

gboolean
docent_test_pdf_corrupt_copy (const char *in,
                              const char *out,
                              GError    **error)
{
  static const char junk[] = "\x8f junk \x01 obj endobj stream ";
  g_autofree char *data = NULL;
  char *body;
  char *end;
  gsize len;

  if (!g_file_get_contents (in, &data, &len, error))
    return FALSE;

  body = memchr (data, '\n', len);
  end = NULL;
  for (gsize i = len >= 5 ? len - 5 + 1 : 0; i-- > 0;)
    if (memcmp (data + i, "%%EOF", 5) == 0)
      {
        end = data + i;
        break;
      }
  if (body == NULL || end == NULL || end <= body)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s does not look like a PDF", in);
      return FALSE;
    }
  for (char *p = body + 1; p < end; p++)
    *p = junk[(p - body) % (sizeof junk - 1)];
  return g_file_set_contents (out, data, (gssize) len, error);
}

char *
docent_test_make_tmpdir (const char *prefix)
{
  g_autofree char *tmpl = g_strdup_printf ("%s-XXXXXX", prefix ? prefix : "docent-test");
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp (tmpl, &error);

  g_assert_no_error (error);
  return dir;
}

static void
rm_rf (GFile *file)
{
  g_autoptr(GFileEnumerator) en = NULL;

  en = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                  G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  if (en != NULL)
    {
      GFile *child;
      while (g_file_enumerator_iterate (en, NULL, &child, NULL, NULL) && child != NULL)
        rm_rf (child);
    }
  g_file_delete (file, NULL, NULL);
}

void
docent_test_rm_rf (const char *path)
{
  g_autoptr(GFile) file = NULL;

  if (path == NULL)
    return;
  file = g_file_new_for_path (path);
  rm_rf (file);
}
