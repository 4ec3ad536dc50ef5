/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "docent-embedder.h"

G_BEGIN_DECLS

/* The built-in embedder: no weights. Each text becomes a bag of features —
 * whole words and character n-grams of each word (3..5 for alphabetic
 * scripts, 2..3 for Hangul/Han/Kana runs) — weighted by sublinear TF
 * (1 + ln tf) times IDF, then projected to @dim dimensions by signed
 * feature hashing and L2-normalised.
 *
 * IDF comes from document frequencies over DOCENT_HASH_EMBEDDER_N_BUCKETS
 * hashed buckets, counted over a library's passages with
 * docent_hash_embedder_count_df(). The table is integer counts, so it does
 * not depend on the order passages were counted in, and its fingerprint is
 * part of the model id: vectors made with different statistics never mix.
 * Without a table every feature weighs the same (IDF = 1). */
#define DOCENT_HASH_EMBEDDER_N_BUCKETS (1u << 18)
#define DOCENT_HASH_EMBEDDER_DIM_DEFAULT 384

#define DOCENT_TYPE_HASH_EMBEDDER (docent_hash_embedder_get_type ())
G_DECLARE_FINAL_TYPE (DocentHashEmbedder, docent_hash_embedder, DOCENT, HASH_EMBEDDER, GObject)

DocentHashEmbedder *docent_hash_embedder_new       (guint           dim);
/* @df holds DOCENT_HASH_EMBEDDER_N_BUCKETS counts (copied); @n_docs is the
 * number of passages they were counted over. */
DocentHashEmbedder *docent_hash_embedder_new_with_df (guint           dim,
                                                      const guint32  *df,
                                                      guint64         n_docs);
const guint32      *docent_hash_embedder_get_df    (DocentHashEmbedder *self,
                                                    guint64            *n_docs);

/* The built-in embedder with a projection learnt from the library (latent
 * semantic analysis): texts are hashed into @base's dimension as above, then
 * projected onto the @dim directions along which the library's passages vary
 * most. In a few hundred dimensions this keeps what the sparse n-gram space
 * says about passages far better than hashing straight to a few hundred,
 * where collisions drown the signal. The projection (dim × base dim,
 * orthonormal rows) is part of the model id. */
DocentHashEmbedder *docent_hash_embedder_new_projected (DocentHashEmbedder *base,
                                                        guint               dim,
                                                        const float        *proj);
/* Learns the projection from @texts (a sample of the library's passages):
 * subspace iteration from a fixed seed, so a library gives the same
 * projection on a given machine. */
DocentHashEmbedder *docent_hash_embedder_fit_projection (DocentHashEmbedder *base,
                                                         const char * const *texts,
                                                         guint               n_texts,
                                                         guint               dim,
                                                         GCancellable       *cancellable,
                                                         GError            **error);
/* The projection (dim × *base_dim floats) or NULL. */
const float        *docent_hash_embedder_get_projection (DocentHashEmbedder *self,
                                                         guint              *base_dim);

/* Adds one passage to a document-frequency table of
 * DOCENT_HASH_EMBEDDER_N_BUCKETS counts (each bucket at most once per text).
 * Not thread-safe on the same table. */
void docent_hash_embedder_count_df (guint32    *df,
                                    const char *text);

/* Feature weights used by embed(), exposed for tests and for the sentence
 * scorer of extractive answers: calls @func for every distinct feature of
 * @text with its hash and TF weight (before IDF). */
typedef void (*DocentHashFeatureFunc) (guint64 hash, float tf_weight, gpointer user_data);
void docent_hash_embedder_foreach_feature (const char            *text,
                                           DocentHashFeatureFunc  func,
                                           gpointer               user_data);

G_END_DECLS
