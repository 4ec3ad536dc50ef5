/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-extract"

#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "docent-error.h"
#include "docent-extract-private.h"

gboolean
docent_doc_type_from_path (const char    *path,
                           DocentDocType *type)
{
  g_autofree char *base = NULL;
  g_autofree char *lower = NULL;
  const char *dot;

  g_return_val_if_fail (path != NULL, FALSE);

  base = g_path_get_basename (path);
  dot = strrchr (base, '.');
  if (dot == NULL || dot == base)
    return FALSE;

  lower = g_ascii_strdown (dot + 1, -1);
  if (g_str_equal (lower, "pdf"))
    {
      if (type)
        *type = DOCENT_DOC_TYPE_PDF;
      return TRUE;
    }
  if (g_str_equal (lower, "txt") || g_str_equal (lower, "md") ||
      g_str_equal (lower, "markdown") || g_str_equal (lower, "text"))
    {
      if (type)
        *type = DOCENT_DOC_TYPE_TEXT;
      return TRUE;
    }
  return FALSE;
}

const char *
docent_doc_type_to_string (DocentDocType type)
{
  switch (type)
    {
    case DOCENT_DOC_TYPE_PDF:
      return "pdf";
    case DOCENT_DOC_TYPE_TEXT:
      return "text";
    default:
      g_return_val_if_reached ("text");
    }
}

char *
_docent_extract_display_name (const char *path)
{
  return g_filename_display_name (path);
}

gboolean
_docent_extract_check_cancelled (const char   *path,
                                 GCancellable *cancellable,
                                 GError      **error)
{
  g_autofree char *name = NULL;

  if (!g_cancellable_is_cancelled (cancellable))
    return TRUE;

  name = _docent_extract_display_name (path);
  g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_CANCELLED,
               _("Reading “%s” was cancelled. Import it again to finish."), name);
  return FALSE;
}

/* Maps an errno from stat()/open() to an error a person can act on. */
static void
set_open_error (const char *path,
                int         errsv,
                GError    **error)
{
  g_autofree char *name = _docent_extract_display_name (path);

  switch (errsv)
    {
    case ENOENT:
    case ENOTDIR:
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_NOT_FOUND,
                   _("“%s” does not exist. Check the path (or the target of the link) and try again."),
                   name);
      break;
    case ELOOP:
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_NOT_FOUND,
                   _("“%s” is a symbolic link that loops back on itself. Fix or remove the link."),
                   name);
      break;
    case EACCES:
    case EPERM:
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_UNREADABLE,
                   _("“%s” cannot be read: permission denied. Make it readable (for example chmod u+r) and import it again."),
                   name);
      break;
    default:
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_UNREADABLE,
                   _("“%s” cannot be read: %s. Check the disk or copy the file elsewhere and import it again."),
                   name, g_strerror (errsv));
      break;
    }
}

gboolean
docent_extract_file (const char    *path,
                     const char    *password,
                     DocentChunker *chunker,
                     DocentDocInfo *info,
                     GCancellable  *cancellable,
                     GError       **error)
{
  return docent_extract_file_full (path, password, 1, chunker, info, cancellable, error);
}

gboolean
docent_extract_file_full (const char    *path,
                          const char    *password,
                          guint          n_threads,
                          DocentChunker *chunker,
                          DocentDocInfo *info,
                          GCancellable  *cancellable,
                          GError       **error)
{
  g_autofree char *name = NULL;
  g_autofree char *base = NULL;
  DocentDocType type;
  GStatBuf st;
  gboolean ok;
  int fd;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (chunker != NULL, FALSE);
  g_return_val_if_fail (info != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (info, 0, sizeof *info);
  name = _docent_extract_display_name (path);

  if (!docent_doc_type_from_path (path, &type))
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_UNSUPPORTED,
                   _("“%s” is not a PDF, text or Markdown file (.pdf, .txt, .md). Convert it to one of those to import it."),
                   name);
      return FALSE;
    }
  info->type = type;

  if (!_docent_extract_check_cancelled (path, cancellable, error))
    return FALSE;

  /* stat() before open() so that a FIFO or device never blocks us. */
  if (g_stat (path, &st) != 0)
    {
      set_open_error (path, errno, error);
      return FALSE;
    }
  if (S_ISDIR (st.st_mode))
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_UNSUPPORTED,
                   _("“%s” is a folder, not a file. Import it as a folder instead: Docent then imports the PDF, text and Markdown files inside it."),
                   name);
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_UNSUPPORTED,
                   _("“%s” is not a regular file (it is a device, socket or pipe). Import a regular file instead."),
                   name);
      return FALSE;
    }

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      set_open_error (path, errno, error);
      return FALSE;
    }
  /* Size again from the open file: it may have changed since stat(). */
  if (fstat (fd, &st) != 0)
    {
      set_open_error (path, errno, error);
      close (fd);
      return FALSE;
    }
  if (st.st_size == 0)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_EMPTY,
                   _("“%s” is empty (0 bytes): there is nothing to import. Check that the file was saved or copied completely."),
                   name);
      close (fd);
      return FALSE;
    }

  base = g_path_get_basename (path);

  if (type == DOCENT_DOC_TYPE_PDF)
    ok = _docent_extract_pdf (path, fd, st.st_size, password, n_threads, chunker, info, cancellable, error);
  else
    ok = _docent_extract_text (path, fd, st.st_size, chunker, info, cancellable, error);

  close (fd);

  if (info->title == NULL)
    info->title = g_filename_display_name (base);

  return ok;
}

void
docent_doc_info_clear (DocentDocInfo *info)
{
  if (info == NULL)
    return;
  g_clear_pointer (&info->title, g_free);
  g_clear_pointer (&info->author, g_free);
  g_clear_pointer (&info->encoding, g_free);
  info->page_count = 0;
  info->no_text_layer = FALSE;
}
