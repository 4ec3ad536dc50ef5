/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "docent-chunker.h"

G_BEGIN_DECLS

typedef enum {
  DOCENT_DOC_TYPE_PDF,
  DOCENT_DOC_TYPE_TEXT,     /* .txt and .md (Markdown counts as text) */
} DocentDocType;

/* What extraction learns about a file besides its text. */
typedef struct {
  DocentDocType type;
  char    *title;          /* PDF metadata title, else the file's base name */
  char    *author;         /* PDF metadata author or NULL */
  char    *encoding;       /* text: "UTF-8", "UTF-8 (BOM)", "UTF-16LE", "UTF-16BE", "CP949", "EUC-KR"; PDF: NULL */
  guint    page_count;     /* PDF pages; 0 for text */
  gboolean no_text_layer;  /* PDF whose pages carry (almost) no text: scanned */
} DocentDocInfo;

/* Type from the file name: .pdf → PDF; .txt, .md, .markdown, .text → text.
 * Returns FALSE for anything else. */
gboolean docent_doc_type_from_path (const char    *path,
                                    DocentDocType *type);
const char *docent_doc_type_to_string (DocentDocType type);   /* "pdf" | "text" */

/* Extracts @path and streams its text into @chunker (begin_page + feed for
 * each PDF page; feed in blocks for text, never holding a whole large text
 * file in memory). Fills @info. On failure returns FALSE with a DOCENT_ERROR
 * whose message names the file and says what to do. A PDF without a text
 * layer is not an error: it returns TRUE with info->no_text_layer set.
 * The caller calls docent_chunker_finish() afterwards, and
 * docent_doc_info_clear() on @info whether or not extraction succeeded.
 * Cancellation (the cancellable, or the chunk callback returning FALSE)
 * is DOCENT_ERROR_CANCELLED. Safe to call from several threads at once. */
gboolean docent_extract_file       (const char    *path,
                                    const char    *password,
                                    DocentChunker *chunker,
                                    DocentDocInfo *info,
                                    GCancellable  *cancellable,
                                    GError       **error);

/* As docent_extract_file, using up to @n_threads threads for a long PDF
 * (each with its own Poppler document; pages still reach @chunker in order).
 * The importer passes its idle workers here so one big PDF uses every core. */
gboolean docent_extract_file_full  (const char    *path,
                                    const char    *password,
                                    guint          n_threads,
                                    DocentChunker *chunker,
                                    DocentDocInfo *info,
                                    GCancellable  *cancellable,
                                    GError       **error);

void     docent_doc_info_clear     (DocentDocInfo *info);

G_END_DECLS
