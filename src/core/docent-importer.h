/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "docent-document.h"

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
void            docent_importer_set_chunking (DocentImporter      *self,
                                              guint                size,
                                              guint                overlap);
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
