/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "docent-embedder.h"
#include "docent-store.h"

G_BEGIN_DECLS

typedef enum {
  DOCENT_SEARCH_MODE_BM25,
  DOCENT_SEARCH_MODE_DENSE,
  DOCENT_SEARCH_MODE_HYBRID,
} DocentSearchMode;

const char *docent_search_mode_to_string   (DocentSearchMode  mode);  /* "bm25" "dense" "hybrid" */
gboolean    docent_search_mode_from_string (const char       *str,
                                            DocentSearchMode *mode);

/* Reciprocal rank fusion defaults: score = Σ w / (k + rank). */
#define DOCENT_RRF_K_DEFAULT      60
#define DOCENT_FUSION_DEPTH_DEFAULT 100   /* candidates taken from each ranking */
/* Hybrid: a passage only the dense ranking found joins the fusion when its
 * cosine reaches a floor. None by default, since where unrelated texts land
 * depends on the model; the built-in embedder's floor was measured
 * (docs/RETRIEVAL.md). Dense mode itself has no floor. */
#define DOCENT_DENSE_FLOOR_NONE    (-2.0f)
#define DOCENT_DENSE_FLOOR_BUILTIN 0.25f

/* Search over one library in three modes: BM25 (the store's FTS5 index),
 * dense (the embedder's vectors in one matrix) and hybrid (weighted
 * reciprocal rank fusion of both). Filters (the options' documents) apply
 * inside each ranking, before it is cut, never to the fused list.
 *
 * Belongs to the thread of its store. The matrix follows the library: it is
 * brought up to date before a search whenever another connection wrote. */
#define DOCENT_TYPE_RETRIEVER (docent_retriever_get_type ())
G_DECLARE_FINAL_TYPE (DocentRetriever, docent_retriever, DOCENT, RETRIEVER, GObject)

/* @embedder NULL: the library's built-in embedder with its stored statistics. */
DocentRetriever *docent_retriever_new            (DocentStore      *store,
                                                  DocentEmbedder   *embedder,
                                                  GError          **error);
DocentEmbedder  *docent_retriever_get_embedder   (DocentRetriever  *self);
DocentStore     *docent_retriever_get_store      (DocentRetriever  *self);
/* Passages with a vector in the matrix. */
guint            docent_retriever_get_n_vectors  (DocentRetriever  *self);
/* The mode that measured best for this kind of embedder (docs/BENCHMARKS.md). */
DocentSearchMode docent_retriever_get_default_mode (DocentRetriever *self);
void             docent_retriever_set_fusion     (DocentRetriever  *self,
                                                  double            w_bm25,
                                                  double            w_dense,
                                                  guint             rrf_k,
                                                  guint             depth);
void             docent_retriever_set_dense_floor (DocentRetriever *self,
                                                   float            floor);
float            docent_retriever_get_dense_floor (DocentRetriever *self);
/* The lexical ranking (docent_rank): BM25's k1 and b, the proximity
 * weight and the coverage exponent. Set on the retriever's store, so the
 * store's own search ranks the same way. Negative values keep the current
 * setting. For tuning (docent eval); the defaults are the measured ones. */
void             docent_retriever_set_lexical    (DocentRetriever  *self,
                                                  double            k1,
                                                  double            b,
                                                  double            w_prox,
                                                  double            w_cov);
/* Re-reads the vectors now (after this thread wrote some itself). */
gboolean         docent_retriever_reload         (DocentRetriever  *self,
                                                  GError          **error);

GPtrArray       *docent_retriever_search         (DocentRetriever  *self,   /* of DocentSearchResult */
                                                  const char       *query,
                                                  DocentSearchMode  mode,
                                                  const DocentSearchOptions *options,
                                                  GError          **error);

/* Filters beyond the options' documents; each applies inside both rankings,
 * before they are cut. All set filters must hold (documents ∩ collections ∩
 * type ∩ dates); a page range keeps PDF passages overlapping it (text files
 * have no pages, so they drop out). */
typedef struct {
  GPtrArray *collections;   /* names (char*); NULL or empty = any */
  int        type;          /* DocentDocType, or -1 = any */
  gint64     added_after;   /* seconds since the epoch, inclusive; 0 = none */
  gint64     added_before;  /* exclusive; 0 = none */
  guint      page_first;    /* 1-based, inclusive; 0 = open */
  guint      page_last;     /* 0 = open */
} DocentSearchFilter;

void             docent_search_filter_init        (DocentSearchFilter *filter);
GPtrArray       *docent_retriever_search_filtered (DocentRetriever           *self,
                                                   const char                *query,
                                                   DocentSearchMode           mode,
                                                   const DocentSearchOptions *options,
                                                   const DocentSearchFilter  *filter,
                                                   GError                   **error);

/* A short excerpt of @result's passage for a result list: about @max_chars
 * code points around the densest run of highlights, cut at spaces, "…"
 * where cut, whitespace collapsed. @highlights (optional) receives pairs of
 * gint64 [start, end) code points within the snippet. */
char            *docent_search_result_dup_snippet (const DocentSearchResult *result,
                                                   guint                     max_chars,
                                                   GArray                  **highlights);

/* Brings the library's built-in vectors up to date after an import:
 * (re)counts statistics when needed, embeds passages that lack a vector on
 * @n_workers threads, and drops vectors of outdated statistics. */
gboolean         docent_retriever_update_builtin (DocentStore      *store,
                                                  guint             n_workers,
                                                  GCancellable     *cancellable,
                                                  guint            *n_embedded,
                                                  GError          **error);

G_END_DECLS
