/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-extract"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <poppler.h>

#include "docent-error.h"
#include "docent-extract-private.h"

/* Fewer visible characters than this per page, on average, and the PDF is
 * taken for a scan without a text layer. */
#define MIN_VISIBLE_PER_PAGE 10

/* Where the PDF header may start and where the end marker must be: the same
 * windows Acrobat has always allowed. */
#define HEADER_WINDOW 1024
#define TRAILER_WINDOW 1024
/* How far back to look past trailing padding for the end marker. */
#define TRAILER_SEARCH (64 * 1024)

static gssize
pread_full (int     fd,
            guint8 *buf,
            gsize   len,
            goffset offset)
{
  gsize done = 0;

  while (done < len)
    {
      gssize n = pread (fd, buf + done, len - done, offset + (goffset) done);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      if (n == 0)
        break;
      done += (gsize) n;
    }
  return (gssize) done;
}

static const guint8 *
find_last (const guint8 *hay,
           gsize         hay_len,
           const char   *needle)
{
  gsize n = strlen (needle);

  if (hay_len < n)
    return NULL;
  for (gsize i = hay_len - n + 1; i-- > 0;)
    if (memcmp (hay + i, needle, n) == 0)
      return hay + i;
  return NULL;
}

static void
set_read_error (const char *name,
                int         errsv,
                GError    **error)
{
  g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_UNREADABLE,
               "“%s” could not be read: %s. Check the disk or copy the file elsewhere and import it again.",
               name, g_strerror (errsv));
}

/* Poppler repairs many damaged files quietly, and a truncated one often
 * opens with pages missing. So before Poppler, check that the file starts
 * like a PDF and still has its end marker. */
static gboolean
check_envelope (const char *name,
                int         fd,
                goffset     size,
                GError    **error)
{
  g_autofree guint8 *buf = NULL;
  gsize len = (gsize) MIN (size, (goffset) TRAILER_SEARCH);
  const guint8 *eof_mark;
  gssize n;

  buf = g_malloc (MAX (len, HEADER_WINDOW));

  n = pread_full (fd, buf, (gsize) MIN (size, (goffset) HEADER_WINDOW), 0);
  if (n < 0)
    {
      set_read_error (name, errno, error);
      return FALSE;
    }
  if (find_last (buf, (gsize) n, "%PDF-") == NULL)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_CORRUPT,
                   "“%s” is not a PDF file (it does not start with a PDF header), although its name ends in .pdf. "
                   "Check what the file really is, or get the PDF again and import it.",
                   name);
      return FALSE;
    }

  n = pread_full (fd, buf, len, size - (goffset) len);
  if (n < 0)
    {
      set_read_error (name, errno, error);
      return FALSE;
    }

  eof_mark = find_last (buf, (gsize) n, "%%EOF");
  if (eof_mark != NULL && (gsize) n - (gsize) (eof_mark - buf) > TRAILER_WINDOW)
    {
      /* Far from the end: allowed only if all that follows is padding. */
      for (const guint8 *p = eof_mark + 5; p < buf + n; p++)
        if (!(*p == 0 || g_ascii_isspace (*p)))
          {
            eof_mark = NULL;
            break;
          }
    }
  if (eof_mark == NULL)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_CORRUPT,
                   "“%s” is truncated: it ends before the PDF's end marker (%%%%EOF), as after an interrupted "
                   "download or copy. Download or copy it again and import it again.",
                   name);
      return FALSE;
    }
  return TRUE;
}

static char *
dup_metadata (char *value)
{
  g_autofree char *owned = value;

  if (owned == NULL)
    return NULL;
  g_strstrip (owned);
  if (*owned == '\0' || !g_utf8_validate (owned, -1, NULL))
    return NULL;
  return g_steal_pointer (&owned);
}

static gsize
count_visible (const char *text)
{
  gsize n = 0;

  for (const char *p = text; *p; p = g_utf8_next_char (p))
    if (!g_unichar_isspace (g_utf8_get_char (p)))
      n++;
  return n;
}

static gboolean extract_pages (const char      *path,
                               const char      *name,
                               PopplerDocument *doc,
                               DocentChunker   *chunker,
                               DocentDocInfo   *info,
                               GCancellable    *cancellable,
                               GError         **error);

gboolean
_docent_extract_pdf (const char    *path,
                     int            fd,
                     goffset        size,
                     const char    *password,
                     DocentChunker *chunker,
                     DocentDocInfo *info,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autofree char *name = _docent_extract_display_name (path);
  PopplerDocument *doc;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *abs_path = NULL;
  g_autofree char *uri = NULL;
  gboolean ok;

  if (!check_envelope (name, fd, size, error))
    return FALSE;

  /* By name, not from @fd: poppler_document_new_from_fd() retries a wrong
   * password on a stream it has already freed, and then reports the file as
   * damaged. */
  abs_path = g_canonicalize_filename (path, NULL);
  uri = g_filename_to_uri (abs_path, NULL, &local_error);
  if (uri == NULL)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_UNREADABLE,
                   "“%s” cannot be opened (%s). Rename or move it and import it again.",
                   name, local_error->message);
      return FALSE;
    }
  doc = poppler_document_new_from_file (uri, password && *password ? password : NULL, &local_error);
  if (doc == NULL)
    {
      if (g_error_matches (local_error, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED))
        {
          if (password && *password)
            g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_ENCRYPTED,
                         "The password given for “%s” is wrong: the PDF is encrypted and that password does not open it. "
                         "Import it again with the right one: --password PASSWORD.",
                         name);
          else
            g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_ENCRYPTED,
                         "“%s” is encrypted and needs a password. Import it again with --password PASSWORD.",
                         name);
        }
      else
        g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_CORRUPT,
                     "“%s” is damaged and cannot be read as a PDF (%s). Get an intact copy (download it again, "
                     "or export it again from the program that made it) and import it again.",
                     name, local_error ? local_error->message : "unknown error");
      return FALSE;
    }

  ok = extract_pages (path, name, doc, chunker, info, cancellable, error);
  g_object_unref (doc);
  return ok;
}

static gboolean
extract_pages (const char      *path,
               const char      *name,
               PopplerDocument *doc,
               DocentChunker   *chunker,
               DocentDocInfo   *info,
               GCancellable    *cancellable,
               GError         **error)
{
  guint64 n_visible = 0;
  int n_pages;

  n_pages = poppler_document_get_n_pages (doc);
  if (n_pages <= 0)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_CORRUPT,
                   "“%s” is damaged: Poppler finds no pages in it. Get an intact copy (download it again, "
                   "or export it again from the program that made it) and import it again.",
                   name);
      return FALSE;
    }

  info->page_count = (guint) n_pages;
  g_clear_pointer (&info->title, g_free);
  g_clear_pointer (&info->author, g_free);
  info->title = dup_metadata (poppler_document_get_title (doc));
  info->author = dup_metadata (poppler_document_get_author (doc));
  g_clear_pointer (&info->encoding, g_free);

  for (int i = 0; i < n_pages; i++)
    {
      PopplerPage *page;
      g_autofree char *text = NULL;
      g_autofree char *label = NULL;

      if (!_docent_extract_check_cancelled (path, cancellable, error))
        return FALSE;

      page = poppler_document_get_page (doc, i);
      if (page == NULL)
        {
          g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_CORRUPT,
                       "“%s” is damaged: page %d of %d cannot be read. Get an intact copy (download it again, "
                       "or export it again from the program that made it) and import it again.",
                       name, i + 1, n_pages);
          return FALSE;
        }

      text = poppler_page_get_text (page);
      label = poppler_page_get_label (page);
      g_object_unref (page);
      if (text == NULL)
        text = g_strdup ("");
      else if (!g_utf8_validate (text, -1, NULL))
        {
          char *valid = g_utf8_make_valid (text, -1);
          g_free (text);
          text = valid;
        }

      if (label != NULL && (*label == '\0' || !g_utf8_validate (label, -1, NULL)))
        g_clear_pointer (&label, g_free);

      n_visible += count_visible (text);

      docent_chunker_begin_page (chunker, (guint) i + 1, label);
      if (*text != '\0' && !docent_chunker_feed (chunker, text, -1))
        {
          g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_CANCELLED,
                       "Reading “%s” was cancelled. Import it again to finish.", name);
          return FALSE;
        }
    }

  info->no_text_layer = n_visible < (guint64) MIN_VISIBLE_PER_PAGE * (guint64) n_pages;
  return TRUE;
}
