/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Exact dense search: all vectors of one embedder in one contiguous
 * row-major matrix. A query is one BLAS sgemv (float32) or one pass of an
 * int8 kernel (int8 rows with a per-row scale, a quarter of the memory) and a
 * partial top-k selection with a heap. Rows are addressed by a caller's id
 * (a chunk id); removing a row moves the last row into its place.
 *
 * Not thread-safe for writing; concurrent searches on an unchanging index
 * are fine. */
typedef enum {
  DOCENT_VECTOR_F32,
  DOCENT_VECTOR_I8,
} DocentVectorFormat;

typedef struct {
  gint64 id;
  float  score;     /* inner product; cosine for unit vectors */
} DocentVectorHit;

typedef struct _DocentVectorIndex DocentVectorIndex;

DocentVectorIndex *docent_vector_index_new       (guint               dim,
                                                  DocentVectorFormat  format);
void               docent_vector_index_free      (DocentVectorIndex  *self);
guint              docent_vector_index_get_dim   (DocentVectorIndex  *self);
DocentVectorFormat docent_vector_index_get_format (DocentVectorIndex *self);
guint              docent_vector_index_get_n_rows (DocentVectorIndex *self);
/* Bytes of the matrix itself (rows and scales): what one query reads. */
gsize              docent_vector_index_get_matrix_bytes (DocentVectorIndex *self);
void               docent_vector_index_reserve   (DocentVectorIndex  *self,
                                                  guint               n_rows);

/* Adds or replaces the row of @id (@vec: dim floats, expected unit length). */
void               docent_vector_index_add       (DocentVectorIndex  *self,
                                                  gint64              id,
                                                  const float        *vec);
void               docent_vector_index_add_many  (DocentVectorIndex  *self,
                                                  const gint64       *ids,
                                                  const float        *vecs,
                                                  guint               n);
gboolean           docent_vector_index_remove    (DocentVectorIndex  *self,
                                                  gint64              id);
gboolean           docent_vector_index_contains  (DocentVectorIndex  *self,
                                                  gint64              id);
/* Copies the stored row of @id (dequantized for int8) into @out. */
gboolean           docent_vector_index_get_vector (DocentVectorIndex *self,
                                                   gint64             id,
                                                   float             *out);
void               docent_vector_index_clear     (DocentVectorIndex  *self);
/* The ids of all rows, in row order (borrowed; valid until the next change). */
const gint64      *docent_vector_index_get_ids   (DocentVectorIndex  *self,
                                                  guint              *n_rows);

/* The @k rows with the highest inner product with @query, best first (ties:
 * lower id first). When @allow is not NULL only rows whose ids are among
 * @allow[0..n_allow) compete: a filter applied before ranking, never after.
 * Returns the number of hits written to @hits (≤ k). */
guint              docent_vector_index_search    (DocentVectorIndex  *self,
                                                  const float        *query,
                                                  guint               k,
                                                  const gint64       *allow,
                                                  guint               n_allow,
                                                  DocentVectorHit    *hits);
/* Several queries at once (@queries: n_queries × dim, row-major): one sgemm
 * over the matrix. @hits holds n_queries × k entries; @n_hits[q] is the count
 * for query q. */
void               docent_vector_index_search_many (DocentVectorIndex *self,
                                                    const float       *queries,
                                                    guint              n_queries,
                                                    guint              k,
                                                    const gint64      *allow,
                                                    guint              n_allow,
                                                    DocentVectorHit   *hits,
                                                    guint             *n_hits);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DocentVectorIndex, docent_vector_index_free)

G_END_DECLS
