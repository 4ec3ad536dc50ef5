/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "docent-document-item.h"
#include "docent-importer.h"
#include "docent-answer.h"
#include "docent-retriever.h"
#include "docent-store.h"

G_BEGIN_DECLS

#define DOCENT_TYPE_LIBRARY (docent_library_get_type ())
G_DECLARE_FINAL_TYPE (DocentLibrary, docent_library, DOCENT, LIBRARY, GObject)

/* The window's view of one library file: the documents as a list model,
 * searches on a worker thread with their own DocentStore, and imports through
 * DocentImporter, one batch after another. Nothing here blocks the main loop.
 *
 * Signals (main thread):
 *   "import-started"   ()
 *   "import-progress"  (const DocentImportProgress *, guint batches_waiting)
 *   "import-file-done" (const DocentImportFileResult *)
 *   "import-indexing"  () files are in; their vectors are being computed
 *   "import-finished"  (GPtrArray *results or NULL, const GError *error or NULL)
 *   "rechunk-started"  () after "import-started", for a re-cut
 *   "rechunk-progress" (const DocentRechunkProgress *) for a re-cut, a
 *                      re-embedding, and the vectors after an import
 *   "reembed-started"  () after "import-started", for a re-embedding
 *   "password-needed"  (const char *path, const char *reason)
 *   "documents-loaded" () after each refresh */
DocentLibrary *docent_library_new             (const char           *path);
const char    *docent_library_get_path        (DocentLibrary        *self);
GListModel    *docent_library_get_documents   (DocentLibrary        *self);
DocentDocumentItem *docent_library_find_document (DocentLibrary     *self,
                                                  gint64             id);
gboolean       docent_library_get_importing   (DocentLibrary        *self);
/* TRUE while a refresh replaces the list's items (selection changes then
 * are not a person's doing). */
gboolean       docent_library_get_applying    (DocentLibrary        *self);
/* Collection names, as of the last refresh (NULL-terminated, owned). */
const char * const *docent_library_get_collections (DocentLibrary   *self);
/* Adds a document to a collection (created if needed), then refreshes. */
void           docent_library_add_to_collection (DocentLibrary      *self,
                                                 gint64              doc_id,
                                                 const char         *name);

/* Why the last listing failed (the library cannot be opened), or NULL. */
const GError  *docent_library_get_error       (DocentLibrary        *self);
/* TRUE once the first list of documents has come back. */
gboolean       docent_library_get_loaded      (DocentLibrary        *self);

void           docent_library_refresh         (DocentLibrary        *self);
void           docent_library_import          (DocentLibrary        *self,
                                               const char * const   *paths,
                                               const char           *password);
void           docent_library_cancel_import   (DocentLibrary        *self);
/* The library's embedding model, a GGUF file (NULL: the built-in one),
 * kept in the library file ("embedding-model" property). Setting it queues
 * a job that loads the model (a file that cannot be used fails the job
 * with the reason and the old choice stays), records it and embeds every
 * passage lacking its vectors with a DocentRechunker, shown as an import
 * ("import-started", "reembed-started", "rechunk-progress",
 * "import-finished"); Stop keeps what was embedded, and the rest is done
 * when the library opens again. */
const char    *docent_library_get_embedding_model (DocentLibrary    *self);
void           docent_library_set_embedding_model (DocentLibrary    *self,
                                                   const char       *path);
/* The model a library that never chose one gets when it opens (and then
 * keeps): the user's default for new libraries. */
void           docent_library_set_default_embedding_model (DocentLibrary *self,
                                                           const char    *path);
/* Validates the passage size and overlap (FALSE with the valid range), then
 * in the import queue saves them in the library file and re-cuts the
 * documents with a DocentRechunker, shown as an import ("import-started",
 * "rechunk-started", "rechunk-progress", "import-finished"); Stop cancels
 * between documents. */
gboolean       docent_library_set_chunking    (DocentLibrary        *self,
                                               guint                 size,
                                               guint                 overlap,
                                               GError              **error);
void           docent_library_remove          (DocentLibrary        *self,
                                               gint64                id);
/* Forgets a failure that never reached the store. */
void           docent_library_dismiss_failure (DocentLibrary        *self,
                                               const char           *path);

/* @doc_ids: gint64 ids to search in, NULL for all; @filter (copied; NULL for
 * none) applies inside the rankings, before they are cut. */
void           docent_library_search_async    (DocentLibrary        *self,
                                               const char           *query,
                                               guint                 k,
                                               GArray               *doc_ids,
                                               const DocentSearchFilter *filter,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
GPtrArray     *docent_library_search_finish   (DocentLibrary        *self,
                                               GAsyncResult         *result,
                                               GError              **error);
/* Ask: an extractive answer (DocentAnswer, with numbered citations) and the
 * passages it was drawn from (DocentSearchResult*), on the worker. */
typedef struct {
  DocentAnswer *answer;     /* NULL if answering failed (then only sources) */
  GPtrArray    *sources;
} DocentLibraryAnswer;

void           docent_library_answer_free     (DocentLibraryAnswer  *answer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DocentLibraryAnswer, docent_library_answer_free)

void           docent_library_ask_async       (DocentLibrary        *self,
                                               const char           *question,
                                               guint                 k,
                                               GArray               *doc_ids,
                                               const DocentSearchFilter *filter,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
DocentLibraryAnswer *docent_library_ask_finish (DocentLibrary       *self,
                                                GAsyncResult        *result,
                                                GError             **error);

/* The pages of a document (DocentPage*), for mapping passages onto pages. */
void           docent_library_dup_pages_async (DocentLibrary        *self,
                                               gint64                doc_id,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
GPtrArray     *docent_library_dup_pages_finish (DocentLibrary       *self,
                                                GAsyncResult        *result,
                                                GError             **error);

G_END_DECLS
