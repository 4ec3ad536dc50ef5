/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "docent-extract.h"

G_BEGIN_DECLS

/* Shared between docent-extract*.c. @fd is an open, readable regular file of
 * @size bytes (> 0); the callee does not close it. */
gboolean _docent_extract_pdf  (const char    *path,
                               int            fd,
                               goffset        size,
                               const char    *password,
                               guint          n_threads,
                               DocentChunker *chunker,
                               DocentDocInfo *info,
                               GCancellable  *cancellable,
                               GError       **error);
gboolean _docent_extract_text (const char    *path,
                               int            fd,
                               goffset        size,
                               DocentChunker *chunker,
                               DocentDocInfo *info,
                               GCancellable  *cancellable,
                               GError       **error);

/* The name people see in messages: the base name, quoted. */
char    *_docent_extract_display_name (const char *path);

/* Sets a DOCENT_ERROR_CANCELLED error if @cancellable is cancelled. */
gboolean _docent_extract_check_cancelled (const char   *path,
                                          GCancellable *cancellable,
                                          GError      **error);

G_END_DECLS
