/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One passage. Offsets are Unicode code points into the document's text as
 * stored: decoded to UTF-8, BOM removed, line endings as in the file; for a
 * PDF the page texts joined with a form feed (U+000C). */
typedef struct {
  guint   ordinal;      /* 0-based within the document */
  gint64  char_start;   /* inclusive */
  gint64  char_end;     /* exclusive */
  guint   page_first;   /* 1-based physical page, 0 for text files */
  guint   page_last;
  guint   line_first;   /* 1-based line of char_start (text files; also counted for PDFs) */
  guint   line_last;    /* 1-based line of char_end - 1 */
  char   *text;         /* UTF-8, exactly the code points [char_start, char_end) */
} DocentChunk;

/* One page of a PDF as fed to the chunker. */
typedef struct {
  guint   number;       /* 1-based physical page */
  char   *label;        /* printed label ("xv", "23") or NULL */
  gint64  char_start;   /* offset of the page's first character */
  gint64  char_end;     /* exclusive; the form feed between pages belongs to neither */
  guint   n_chars;      /* non-whitespace characters on the page */
} DocentPage;

typedef struct _DocentChunker DocentChunker;

/* Called for every finished chunk; the callee takes ownership of @chunk
 * (free with docent_chunk_free). Return FALSE to stop (cancellation). */
typedef gboolean (*DocentChunkFunc) (DocentChunk *chunk, gpointer user_data);

#define DOCENT_CHUNK_SIZE_DEFAULT    1000
#define DOCENT_CHUNK_OVERLAP_DEFAULT 150

DocentChunker *docent_chunker_new        (guint            target_chars,
                                          guint            overlap_chars,
                                          DocentChunkFunc  func,
                                          gpointer         user_data);
/* PDF only: starts page @number. The chunker inserts the form feed between
 * pages itself; the extractor only feeds each page's text. */
void           docent_chunker_begin_page (DocentChunker   *self,
                                          guint            number,
                                          const char      *label);
/* Feeds valid UTF-8 (any split, even mid-sentence; never mid-character). */
gboolean       docent_chunker_feed       (DocentChunker   *self,
                                          const char      *utf8,
                                          gssize           len);
/* Flushes the last chunk. Returns FALSE if the callback stopped it. */
gboolean       docent_chunker_finish     (DocentChunker   *self);
/* Pages seen so far (array of DocentPage, owned by the chunker). */
GArray        *docent_chunker_get_pages  (DocentChunker   *self);
gint64         docent_chunker_get_n_chars (DocentChunker  *self);
/* Non-whitespace characters fed so far (for "no text layer" detection). */
gint64         docent_chunker_get_n_visible (DocentChunker *self);
guint          docent_chunker_get_n_chunks (DocentChunker *self);
void           docent_chunker_free       (DocentChunker   *self);

void           docent_chunk_free         (DocentChunk     *chunk);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DocentChunker, docent_chunker_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DocentChunk, docent_chunk_free)

G_END_DECLS
