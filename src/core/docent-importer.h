/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "docent-document.h"
#include "docent-embedder.h"

G_BEGIN_DECLS

/* What happened to one input file. */
typedef enum {
  DOCENT_IMPORT_IMPORTED,
  DOCENT_IMPORT_SKIPPED,    /* unchanged, duplicate, unsupported type */
  DOCENT_IMPORT_FAILED,
} DocentImportOutcome;

typedef struct {
  char               *path;
  DocentImportOutcome outcome;
  gint64              doc_id;   /* 0 unless imported or unchanged */
  char               *name;
  guint               pages;
  guint               chunks;
  char               *reason;   /* skipped: why; failed: the error message */
  int                 error_code; /* DocentError code when failed */
} DocentImportFileResult;

typedef enum {
  DOCENT_IMPORT_PHASE_FILES,   /* reading, cutting, embedding, writing files */
  DOCENT_IMPORT_PHASE_EMBED,   /* after the files: the vectors' catch-up */
} DocentImportPhase;

/* A snapshot of progress, delivered on the main context. */
typedef struct {
  guint   files_total;     /* known so far (folders are walked as we go) */
  guint   files_done;
  guint   pages_done;
  guint64 bytes_total;
  guint64 bytes_done;
  double  elapsed_s;
  double  bytes_per_s;
  double  eta_s;           /* < 0 when unknown */
  const char *current;     /* a file in flight, or NULL */
  DocentImportPhase phase;
  guint   chunks_to_embed; /* EMBED phase: passages to embed */
  guint   chunks_embedded; /* passages embedded (on the workers, then the catch-up) */
} DocentImportProgress;

#define DOCENT_TYPE_IMPORTER (docent_importer_get_type ())
G_DECLARE_FINAL_TYPE (DocentImporter, docent_importer, DOCENT, IMPORTER, GObject)

/* Signals (emitted on the thread-default main context of the caller of
 * import_async):
 *   "progress"  (const DocentImportProgress *)
 *   "file-done" (const DocentImportFileResult *)  */
DocentImporter *docent_importer_new          (const char          *library_path);
void            docent_importer_set_password (DocentImporter      *self,
                                              const char          *password);
void            docent_importer_set_n_workers (DocentImporter     *self,
                                               guint               n_workers);
/* Runs the workers and the writer below the rest of the process (on Linux
 * at nice 10, per thread), so a window's main loop gets a core at once
 * while an import keeps them all busy; under autogroup or an app cgroup
 * this only splits the app's own share. Default FALSE: the command line
 * keeps its full priority. */
void            docent_importer_set_background (DocentImporter    *self,
                                                gboolean           background);
/* Overrides the library's own passage settings (docent_chunking_get) for
 * this importer's runs; the documents remember what they were cut with. */
void            docent_importer_set_chunking (DocentImporter      *self,
                                              guint                size,
                                              guint                overlap);
/* Vectors are made on the worker pool, in batches, and written in each
 * document's transaction: the built-in embedder's (default TRUE; while the
 * library has no statistics yet, or is about to re-count them, they are
 * made after the files, over all passages, still on a pool) and, when set,
 * the chosen embedding model's (NULL: none). After the files the run embeds
 * any passage still lacking a vector of either, so choosing a new model
 * and importing (even nothing) re-embeds the library in the background;
 * a DocentRechunker does the same without importing. Dimensions never mix:
 * vectors are stored per (passage, embedder id). */
void            docent_importer_set_embed    (DocentImporter      *self,
                                              gboolean             embed);
void            docent_importer_set_embedder (DocentImporter      *self,
                                              DocentEmbedder      *embedder);
/* Imports files and folders (recursively: .pdf, .txt, .md). */
void            docent_importer_import_async (DocentImporter      *self,
                                              const char * const  *paths,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
/* Returns the per-file results (GPtrArray of DocentImportFileResult), or
 * NULL with an error when the library itself failed (cannot open/write). */
GPtrArray      *docent_importer_import_finish (DocentImporter     *self,
                                               GAsyncResult       *result,
                                               GError            **error);
/* Blocking convenience (runs its own main context) for the CLI and tests. */
GPtrArray      *docent_importer_import_sync  (DocentImporter      *self,
                                              const char * const  *paths,
                                              GCancellable        *cancellable,
                                              GError             **error);

void docent_import_file_result_free (DocentImportFileResult *r);

G_END_DECLS
