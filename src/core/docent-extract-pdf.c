/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-extract"

#include "config.h"

#include <glib/gi18n-lib.h>

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
               _("“%s” could not be read: %s. Check the disk or copy the file elsewhere and import it again."),
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
                   _("“%s” is not a PDF file (it does not start with a PDF header), although its name ends in .pdf. "
                     "Check what the file really is, or get the PDF again and import it."),
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
                   _("“%s” is truncated: it ends before the PDF's end marker (%%%%EOF), as after an interrupted "
                     "download or copy. Download or copy it again and import it again."),
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
                               const char      *uri,
                               const char      *password,
                               guint            n_threads,
                               DocentChunker   *chunker,
                               DocentDocInfo   *info,
                               GCancellable    *cancellable,
                               GError         **error);

gboolean
_docent_extract_pdf (const char    *path,
                     int            fd,
                     goffset        size,
                     const char    *password,
                     guint          n_threads,
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
                   _("“%s” cannot be opened (%s). Rename or move it and import it again."),
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
                         _("The password given for “%s” is wrong: the PDF is encrypted and that password does not open it. "
                           "Import it again with the right one: --password PASSWORD."),
                         name);
          else
            g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_ENCRYPTED,
                         _("“%s” is encrypted and needs a password. Import it again with --password PASSWORD."),
                         name);
        }
      else
        g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_CORRUPT,
                     _("“%s” is damaged and cannot be read as a PDF (%s). Get an intact copy (download it again, "
                       "or export it again from the program that made it) and import it again."),
                     name, local_error ? local_error->message : _("unknown error"));
      return FALSE;
    }

  ok = extract_pages (path, name, doc, uri, password, n_threads, chunker, info, cancellable, error);
  g_object_unref (doc);
  return ok;
}

/* ---- pages read by several threads, fed in order ---- */

/* Below this many pages a second thread is not worth opening the file twice. */
#define PARALLEL_MIN_PAGES 32
/* Helpers stop this far ahead of the page being fed: bounded memory. */
#define PARALLEL_MAX_AHEAD 64

typedef struct {
  char    *text;
  char    *label;
  gboolean ready;
  gboolean failed;
} PageSlot;

typedef struct {
  const char   *uri;
  const char   *password;
  int           n_pages;
  PageSlot     *slots;
  GMutex        lock;
  GCond         cond;
  int           next_claim;   /* the next page nobody has taken */
  int           next_feed;    /* the next page the chunker needs */
  gboolean      stop;
  GCancellable *cancellable;
} PageQueue;

/* Reads page @i of @doc into its slot (any thread). */
static void
read_page_into (PageQueue       *q,
                PopplerDocument *doc,
                int              i)
{
  PopplerPage *page = poppler_document_get_page (doc, i);
  char *text = NULL, *label = NULL;

  if (page != NULL)
    {
      text = poppler_page_get_text (page);
      label = poppler_page_get_label (page);
      g_object_unref (page);
      if (text == NULL)
        text = g_strdup ("");
    }
  g_mutex_lock (&q->lock);
  q->slots[i].text = text;
  q->slots[i].label = label;
  q->slots[i].failed = page == NULL;
  q->slots[i].ready = TRUE;
  g_cond_broadcast (&q->cond);
  g_mutex_unlock (&q->lock);
}

/* Takes the next unread page, or -1 when none is left (or too far ahead). */
static int
claim_page (PageQueue *q,
            gboolean   may_wait)
{
  int i = -1;

  g_mutex_lock (&q->lock);
  while (may_wait && !q->stop && q->next_claim < q->n_pages &&
         q->next_claim - q->next_feed > PARALLEL_MAX_AHEAD)
    g_cond_wait (&q->cond, &q->lock);
  if (!q->stop && q->next_claim < q->n_pages &&
      (may_wait || q->next_claim - q->next_feed <= PARALLEL_MAX_AHEAD))
    i = q->next_claim++;
  g_mutex_unlock (&q->lock);
  return i;
}

static gpointer
page_reader_thread (gpointer data)
{
  PageQueue *q = data;
  PopplerDocument *doc = poppler_document_new_from_file (q->uri, q->password && *q->password ? q->password : NULL, NULL);
  int i;

  /* Without a document of its own the helper simply does nothing: the
   * feeding thread reads every page itself. */
  while (doc != NULL && !g_cancellable_is_cancelled (q->cancellable) && (i = claim_page (q, TRUE)) >= 0)
    read_page_into (q, doc, i);
  g_clear_object (&doc);
  return NULL;
}

static gboolean
extract_pages (const char      *path,
               const char      *name,
               PopplerDocument *doc,
               const char      *uri,
               const char      *password,
               guint            n_threads,
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
                   _("“%s” is damaged: Poppler finds no pages in it. Get an intact copy (download it again, "
                     "or export it again from the program that made it) and import it again."),
                   name);
      return FALSE;
    }

  info->page_count = (guint) n_pages;
  g_clear_pointer (&info->title, g_free);
  g_clear_pointer (&info->author, g_free);
  info->title = dup_metadata (poppler_document_get_title (doc));
  info->author = dup_metadata (poppler_document_get_author (doc));
  g_clear_pointer (&info->encoding, g_free);

  {
    PageQueue q = { uri, password, n_pages, g_new0 (PageSlot, n_pages) };
    g_autoptr(GPtrArray) helpers = g_ptr_array_new ();
    gboolean ok = TRUE;

    g_mutex_init (&q.lock);
    g_cond_init (&q.cond);
    q.cancellable = cancellable;
    if (n_pages >= PARALLEL_MIN_PAGES)
      for (guint t = 1; t < MIN (n_threads, 8); t++)
        g_ptr_array_add (helpers, g_thread_new ("docent-pdf-pages", page_reader_thread, &q));

    for (int i = 0; i < n_pages && ok; i++)
      {
        g_autofree char *text = NULL;
        g_autofree char *label = NULL;
        gboolean failed;

        if (!_docent_extract_check_cancelled (path, cancellable, error))
          {
            ok = FALSE;
            break;
          }

        /* Read pages ourselves until the one we need is ready. */
        for (;;)
          {
            int mine;
            g_mutex_lock (&q.lock);
            if (q.slots[i].ready)
              {
                g_mutex_unlock (&q.lock);
                break;
              }
            g_mutex_unlock (&q.lock);
            mine = claim_page (&q, FALSE);
            if (mine >= 0)
              {
                read_page_into (&q, doc, mine);
                continue;
              }
            g_mutex_lock (&q.lock);
            while (!q.slots[i].ready)
              g_cond_wait (&q.cond, &q.lock);
            g_mutex_unlock (&q.lock);
            break;
          }

        g_mutex_lock (&q.lock);
        text = g_steal_pointer (&q.slots[i].text);
        label = g_steal_pointer (&q.slots[i].label);
        failed = q.slots[i].failed;
        q.next_feed = i + 1;
        g_cond_broadcast (&q.cond);
        g_mutex_unlock (&q.lock);

        if (failed)
          {
            g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_CORRUPT,
                         _("“%s” is damaged: page %d of %d cannot be read. Get an intact copy (download it again, "
                           "or export it again from the program that made it) and import it again."),
                         name, i + 1, n_pages);
            ok = FALSE;
            break;
          }
        if (!g_utf8_validate (text, -1, NULL))
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
                         _("Reading “%s” was cancelled. Import it again to finish."), name);
            ok = FALSE;
            break;
          }
      }

    g_mutex_lock (&q.lock);
    q.stop = TRUE;
    g_cond_broadcast (&q.cond);
    g_mutex_unlock (&q.lock);
    for (guint t = 0; t < helpers->len; t++)
      g_thread_join (helpers->pdata[t]);
    for (int i = 0; i < n_pages; i++)
      {
        g_free (q.slots[i].text);
        g_free (q.slots[i].label);
      }
    g_free (q.slots);
    g_mutex_clear (&q.lock);
    g_cond_clear (&q.cond);
    if (!ok)
      return FALSE;
  }

  info->no_text_layer = n_visible < (guint64) MIN_VISIBLE_PER_PAGE * (guint64) n_pages;
  return TRUE;
}
