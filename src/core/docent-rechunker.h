/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "docent-embedder.h"
#include "docent-store.h"

G_BEGIN_DECLS

/* Passage size and overlap are per-library settings, kept in the library
 * file (settings keys "chunk-size" and "chunk-overlap"), so a copied library
 * keeps its meaning. The importer cuts new documents with them; a change
 * re-cuts the documents already there with a DocentRechunker. */

#define DOCENT_CHUNK_SIZE_MIN 100       /* characters */
#define DOCENT_CHUNK_SIZE_MAX 10000
/* The overlap runs from 0 to half the size. */

/* FALSE with DOCENT_ERROR_USAGE and a sentence saying the valid range. */
gboolean docent_chunking_validate (guint         size,
                                   guint         overlap,
                                   GError      **error);
/* The library's settings (the defaults, 1000 and 150, when never set). */
gboolean docent_chunking_get      (DocentStore  *store,
                                   guint        *size,
                                   guint        *overlap,
                                   GError      **error);
/* Validates and saves them; existing documents keep their passages until
 * a DocentRechunker runs (docent_rechunker_count_pending says how many). */
gboolean docent_chunking_set      (DocentStore  *store,
                                   guint         size,
                                   guint         overlap,
                                   GError      **error);

/* The library's embedding model (settings key "embedding-model"): the
 * path of a GGUF embedding model, "" for the built-in embedder alone, or
 * NULL (from get) when the library never recorded a choice. The app reads
 * it to search and re-embeds with a DocentRechunker after a change. */
gboolean docent_embedding_model_get (DocentStore  *store,
                                     char        **path,
                                     GError      **error);
gboolean docent_embedding_model_set (DocentStore  *store,
                                     const char   *path,
                                     GError      **error);

/* The embedder a recorded choice stands for, under one rule for the app
 * and the command line: "" or NULL is the built-in embedder (*embedder set
 * to NULL: callers pass NULL on as "built-in only"), anything else the GGUF
 * model loaded from that path. A file that cannot be loaded is an error
 * naming it (DOCENT_ERROR_NOT_FOUND, _UNREADABLE, _UNSUPPORTED, _CORRUPT),
 * never a quiet switch to another model. */
gboolean docent_embedding_model_load (const char      *path,
                                      DocentEmbedder **embedder,
                                      GError         **error);
/* The same for the model @store records (never chosen: the built-in one). */
gboolean docent_embedding_model_dup_embedder (DocentStore     *store,
                                              DocentEmbedder **embedder,
                                              GError         **error);

/* Passages lacking a vector of @embedder: what re-embedding the library
 * for it would do (also after an interrupted run). -1 on error. */
gint64   docent_rechunker_count_unembedded (DocentStore    *store,
                                            DocentEmbedder *embedder,
                                            GError        **error);

/* Documents whose passages were cut with other settings than the
 * library's: what a re-chunk would do (also after an interrupted one).
 * -1 on error. */
gint64   docent_rechunker_count_pending (DocentStore *store,
                                         GError     **error);

typedef enum {
  DOCENT_RECHUNK_PHASE_SPLIT,   /* re-cutting documents */
  DOCENT_RECHUNK_PHASE_EMBED,   /* vectors for the new passages */
} DocentRechunkPhase;

/* A snapshot of progress, delivered on the main context. */
typedef struct {
  DocentRechunkPhase phase;
  guint       docs_total;       /* SPLIT: documents to re-cut */
  guint       docs_done;
  guint       chunks_total;     /* EMBED: passages to embed (SPLIT: 0) */
  guint       chunks_done;      /* SPLIT: passages written so far; EMBED: embedded */
  double      elapsed_s;
  double      eta_s;            /* < 0 when unknown */
  const char *current;          /* SPLIT: a document in flight, or NULL */
} DocentRechunkProgress;

/* Re-cuts every document whose passages differ from the library's chunk
 * settings, then brings the vectors up to date; also the way to re-embed
 * the library in the background after the embedding model changed (with
 * nothing to re-cut it only embeds).
 *
 * Each document is re-cut from the library's own text (its passages cover
 * the whole text but for whitespace between them, which is rebuilt with
 * the right line and page breaks), so it works when the file has moved or
 * changed since (re-importing is what picks up a changed file), and is
 * written in one transaction with its new vectors: an interrupted run
 * leaves every document whole, cut one way or the other, and the next run
 * resumes with the rest.
 *
 * Signals (emitted on the thread-default main context of the caller of
 * run_async):
 *   "progress" (const DocentRechunkProgress *)  */
#define DOCENT_TYPE_RECHUNKER (docent_rechunker_get_type ())
G_DECLARE_FINAL_TYPE (DocentRechunker, docent_rechunker, DOCENT, RECHUNKER, GObject)

DocentRechunker *docent_rechunker_new          (const char        *library_path);
void             docent_rechunker_set_n_workers (DocentRechunker  *self,
                                                 guint             n_workers);
/* The library's chosen embedding model (a GGUF one): its vectors are made
 * beside the built-in embedder's, and any passage lacking one is embedded
 * (a model just chosen embeds the whole library). NULL: built-in only. */
void             docent_rechunker_set_embedder (DocentRechunker   *self,
                                                DocentEmbedder    *embedder);
/* Only the built-in vectors' catch-up is skipped (tests, --no-embed). */
void             docent_rechunker_set_embed    (DocentRechunker   *self,
                                                gboolean           embed);

void             docent_rechunker_run_async    (DocentRechunker   *self,
                                                GCancellable      *cancellable,
                                                GAsyncReadyCallback callback,
                                                gpointer           user_data);
/* @n_docs: documents re-cut; @n_embedded: vectors written by the catch-up
 * (both optional). Cancelled: DOCENT_ERROR_CANCELLED or G_IO_ERROR_CANCELLED,
 * with the documents done so far kept. */
gboolean         docent_rechunker_run_finish   (DocentRechunker   *self,
                                                GAsyncResult      *result,
                                                guint             *n_docs,
                                                guint             *n_embedded,
                                                GError           **error);
/* Blocking convenience (runs its own main context) for the CLI and tests. */
gboolean         docent_rechunker_run_sync     (DocentRechunker   *self,
                                                GCancellable      *cancellable,
                                                guint             *n_docs,
                                                guint             *n_embedded,
                                                GError           **error);

G_END_DECLS
