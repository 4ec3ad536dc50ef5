/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <sqlite3.h>

#include "docent-embedder.h"
#include "docent-vector-index.h"

G_BEGIN_DECLS

/* Passage vectors in the library file, one row per (embedder, chunk):
 *
 *   embedders     (id TEXT PRIMARY KEY, dim, params BLOB, n_chunks_fit, created)
 *   chunk_vectors (embedder, chunk_id → chunks ON DELETE CASCADE, vec BLOB)
 *
 * The tables belong to the store's schema (migration 2 in docent-store.c);
 * ensure_schema only checks that the library was upgraded. A vector's length is checked against its embedder's dimension by a
 * trigger, so a library cannot hold vectors of the wrong size; and an
 * embedder id names everything that changes its vectors (see
 * docent-embedder.h), so switching embedders only means embedding again
 * under the new id while the old vectors keep serving. */

gboolean docent_vector_store_ensure_schema (sqlite3        *db,
                                            GError        **error);

/* Records @embedder (id, dimension, optional parameters such as the
 * built-in embedder's statistics). Registering an id again with another
 * dimension is an error. */
gboolean docent_vector_store_register    (sqlite3        *db,
                                          DocentEmbedder *embedder,
                                          GBytes         *params,
                                          GError        **error);

/* The library's built-in hashed n-gram embedder: its stored IDF statistics,
 * or, when @fit is TRUE, new ones counted over all passages when there are
 * none or the library has since grown or shrunk by more than half (the old
 * vectors stay until the new ones are written); registers it. With @fit
 * FALSE, the latest stored statistics whatever their age, or the plain
 * embedder (no IDF) when there are none. */
DocentEmbedder *docent_vector_store_dup_builtin (sqlite3   *db,
                                                 guint      dim,
                                                 gboolean   fit,
                                                 GError   **error);

/* The id of the latest built-in embedder recorded in the library (NULL if
 * none): cheap, to notice that statistics were re-counted elsewhere. */
char           *docent_vector_store_dup_builtin_id (sqlite3  *db,
                                                    guint     dim);

/* @done of @total passages embedded: every 128 or so (or 250 ms) from
 * whichever pool thread finished a batch, and after each round's write from
 * the calling thread; one call at a time, @done never going back. */
typedef void (*DocentEmbedProgressFunc) (guint done, guint total, gpointer user_data);

/* Passages without a vector for @embedder, embedded in batches on a pool of
 * @n_workers threads and written from the calling thread, in transactions
 * of a few thousand. @n_done, when given, receives how many were embedded.
 * Vectors of other embedders are left alone. */
gboolean docent_vector_store_embed_missing (sqlite3        *db,
                                            DocentEmbedder *embedder,
                                            guint           n_workers,
                                            GCancellable   *cancellable,
                                            guint          *n_done,
                                            GError        **error);

/* The same with progress (and cancellation checked between rounds of a
 * few thousand: what was written stays, the next call goes on). */
gboolean docent_vector_store_embed_missing_full (sqlite3                 *db,
                                                 DocentEmbedder          *embedder,
                                                 guint                    n_workers,
                                                 GCancellable            *cancellable,
                                                 DocentEmbedProgressFunc  progress,
                                                 gpointer                 user_data,
                                                 guint                   *n_done,
                                                 GError                 **error);

/* The built-in embedder with the library's fitted statistics, for
 * embedding passages as they are written (the import's and re-chunker's
 * workers); NULL (and no error) when there are none yet, or when the
 * library has grown or shrunk enough that the next update re-counts them:
 * then the vectors are made by docent_vector_store_update_builtin after the
 * run. Statistics are frozen per embedder id, so vectors of one id always
 * agree with each other. */
DocentEmbedder *docent_vector_store_dup_builtin_frozen (sqlite3  *db,
                                                        guint     dim,
                                                        GError  **error);

/* TRUE when @embedder (one of docent_vector_store_dup_builtin_frozen) is
 * still the library's latest built-in embedder and its statistics hold:
 * the catch-up may embed with it rather than load them again. */
gboolean docent_vector_store_builtin_is_current (sqlite3         *db,
                                                 DocentEmbedder  *embedder,
                                                 GError         **error);

/* The built-in embedder's catch-up: statistics (re)counted when needed (a
 * new id), passages lacking a vector of the current id embedded, vectors of
 * older ids dropped once the new ones are all written. */
gboolean docent_vector_store_update_builtin (sqlite3                 *db,
                                             guint                    dim,
                                             guint                    n_workers,
                                             GCancellable            *cancellable,
                                             DocentEmbedProgressFunc  progress,
                                             gpointer                 user_data,
                                             guint                   *n_done,
                                             GError                 **error);

/* Writes vectors on the writer's connection, inside its transaction (the
 * one that writes their passages). Registers the embedder on creation. */
typedef struct _DocentVectorWriter DocentVectorWriter;
DocentVectorWriter *docent_vector_writer_new  (sqlite3             *db,
                                               DocentEmbedder      *embedder,
                                               GError             **error);
const char *docent_vector_writer_get_model_id (DocentVectorWriter  *w);
gboolean    docent_vector_writer_put          (DocentVectorWriter  *w,
                                               gint64               chunk_id,
                                               const float         *vec,
                                               GError             **error);
void        docent_vector_writer_free         (DocentVectorWriter  *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DocentVectorWriter, docent_vector_writer_free)

/* Drops the vectors (and the record) of every embedder whose id starts with
 * @prefix except @keep_id: the built-in embedder after re-fitting. */
gboolean docent_vector_store_drop_others (sqlite3        *db,
                                          const char     *prefix,
                                          const char     *keep_id,
                                          GError        **error);

/* Every vector of @model_id in one matrix. */
DocentVectorIndex *docent_vector_store_load_index (sqlite3            *db,
                                                   const char         *model_id,
                                                   DocentVectorFormat  format,
                                                   GError            **error);

/* Brings @index up to date with the table: adds vectors it lacks, removes
 * rows whose passages are gone. Returns FALSE on a database error. */
gboolean docent_vector_store_sync_index (sqlite3            *db,
                                         const char         *model_id,
                                         DocentVectorIndex  *index,
                                         GError            **error);

G_END_DECLS
