/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-retriever"
#include "config.h"

#include <glib/gi18n-lib.h>

#include <json-glib/json-glib.h>
#include <string.h>

#include "docent-collection.h"
#include "docent-error.h"
#include "docent-fts-tokenizer.h"
#include "docent-hash-embedder.h"
#include "docent-retriever.h"
#include "docent-store-private.h"
#include "docent-vector-store.h"

#define BUILTIN_DIM DOCENT_HASH_EMBEDDER_DIM_DEFAULT
#define BUILTIN_PREFIX "hash-ngram-"
/* Above this many passages the matrix is int8 (a quarter of the memory);
 * below it float32 costs little and is exact. */
#define INT8_ABOVE_ROWS 200000

/* What measured best with the built-in embedder on the dev set
 * (docs/BENCHMARKS.md): BM25 ranked by docent_rank beats fusing the
 * built-in vectors in (hit@5 0.925 vs 0.863 overall), so they serve "more
 * like this" and the cache; a real embedding model defaults to hybrid. */
#define BUILTIN_DEFAULT_MODE DOCENT_SEARCH_MODE_BM25

struct _DocentRetriever
{
  GObject            parent_instance;
  DocentStore       *store;
  DocentEmbedder    *embedder;
  gboolean           builtin;     /* follows the library's built-in embedder */
  DocentVectorIndex *index;
  DocentTokenizer   *tokenizer;
  gint64             data_version;
  double             w_bm25;
  double             w_dense;
  guint              rrf_k;
  guint              depth;
  float              dense_floor;
};

G_DEFINE_FINAL_TYPE (DocentRetriever, docent_retriever, G_TYPE_OBJECT)

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

const char *
docent_search_mode_to_string (DocentSearchMode mode)
{
  switch (mode)
    {
    case DOCENT_SEARCH_MODE_BM25: return "bm25";
    case DOCENT_SEARCH_MODE_DENSE: return "dense";
    case DOCENT_SEARCH_MODE_HYBRID: return "hybrid";
    default: return "bm25";
    }
}

gboolean
docent_search_mode_from_string (const char       *str,
                                DocentSearchMode *mode)
{
  for (int m = DOCENT_SEARCH_MODE_BM25; m <= DOCENT_SEARCH_MODE_HYBRID; m++)
    if (g_strcmp0 (str, docent_search_mode_to_string (m)) == 0)
      {
        *mode = m;
        return TRUE;
      }
  return FALSE;
}

static void
docent_retriever_finalize (GObject *object)
{
  DocentRetriever *self = DOCENT_RETRIEVER (object);

  g_clear_object (&self->store);
  g_clear_object (&self->embedder);
  g_clear_pointer (&self->index, docent_vector_index_free);
  g_clear_pointer (&self->tokenizer, docent_tokenizer_free);
  G_OBJECT_CLASS (docent_retriever_parent_class)->finalize (object);
}

static void
docent_retriever_class_init (DocentRetrieverClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = docent_retriever_finalize;
}

static void
docent_retriever_init (DocentRetriever *self)
{
  self->w_bm25 = 1.0;
  self->w_dense = 1.0;
  self->rrf_k = DOCENT_RRF_K_DEFAULT;
  self->depth = DOCENT_FUSION_DEPTH_DEFAULT;
  self->dense_floor = DOCENT_DENSE_FLOOR_NONE;
  self->data_version = -1;
}

static gint64
data_version (sqlite3 *db)
{
  sqlite3_stmt *stmt = NULL;
  gint64 v = -1;

  if (sqlite3_prepare_v2 (db, "PRAGMA data_version", -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    v = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return v;
}

gboolean
docent_retriever_reload (DocentRetriever  *self,
                         GError          **error)
{
  sqlite3 *db;

  g_return_val_if_fail (DOCENT_IS_RETRIEVER (self), FALSE);

  db = docent_store_get_db (self->store);
  self->data_version = data_version (db);
  if (self->builtin)
    {
      /* Statistics re-counted by another connection: a new embedder, whose
       * vectors replace the old ones. */
      g_autofree char *latest = docent_vector_store_dup_builtin_id (db, BUILTIN_DIM);
      if (latest != NULL && g_strcmp0 (latest, docent_embedder_get_model_id (self->embedder)) != 0)
        {
          DocentEmbedder *e = docent_vector_store_dup_builtin (db, BUILTIN_DIM, FALSE, error);
          if (e == NULL)
            return FALSE;
          g_clear_object (&self->embedder);
          self->embedder = e;
          g_clear_pointer (&self->index, docent_vector_index_free);
        }
    }
  if (self->index == NULL)
    {
      g_autoptr(GError) local = NULL;
      self->index = docent_vector_store_load_index (db, docent_embedder_get_model_id (self->embedder),
                                                    DOCENT_VECTOR_F32, &local);
      if (self->index == NULL)
        {
          if (!g_error_matches (local, DOCENT_ERROR, DOCENT_ERROR_NOT_FOUND))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          /* No vectors yet: dense search finds nothing until they come. */
          self->index = docent_vector_index_new (docent_embedder_get_dim (self->embedder),
                                                 DOCENT_VECTOR_F32);
        }
    }
  else if (!docent_vector_store_sync_index (db, docent_embedder_get_model_id (self->embedder),
                                            self->index, error))
    return FALSE;

  if (docent_vector_index_get_format (self->index) == DOCENT_VECTOR_F32 &&
      docent_vector_index_get_n_rows (self->index) > INT8_ABOVE_ROWS)
    {
      /* Grown large: rebuild as int8 once. */
      g_autoptr(DocentVectorIndex) i8 = docent_vector_index_new (docent_vector_index_get_dim (self->index),
                                                                 DOCENT_VECTOR_I8);
      guint n, dim = docent_vector_index_get_dim (self->index);
      const gint64 *ids = docent_vector_index_get_ids (self->index, &n);
      g_autofree float *v = g_new (float, dim);

      docent_vector_index_reserve (i8, n);
      for (guint i = 0; i < n; i++)
        {
          docent_vector_index_get_vector (self->index, ids[i], v);
          docent_vector_index_add (i8, ids[i], v);
        }
      docent_vector_index_free (self->index);
      self->index = g_steal_pointer (&i8);
    }
  return TRUE;
}

DocentRetriever *
docent_retriever_new (DocentStore     *store,
                      DocentEmbedder  *embedder,
                      GError         **error)
{
  g_autoptr(DocentRetriever) self = NULL;
  sqlite3 *db;

  g_return_val_if_fail (DOCENT_IS_STORE (store), NULL);
  g_return_val_if_fail (embedder == NULL || DOCENT_IS_EMBEDDER (embedder), NULL);

  db = docent_store_get_db (store);
  if (!docent_vector_store_ensure_schema (db, error) ||
      !docent_collection_ensure_schema (db, error))
    return NULL;

  self = g_object_new (DOCENT_TYPE_RETRIEVER, NULL);
  self->store = g_object_ref (store);
  self->tokenizer = docent_tokenizer_new ();
  if (embedder != NULL)
    self->embedder = g_object_ref (embedder);
  else
    {
      self->builtin = TRUE;
      self->dense_floor = DOCENT_DENSE_FLOOR_BUILTIN;
      self->embedder = docent_vector_store_dup_builtin (db, BUILTIN_DIM, FALSE, error);
      if (self->embedder == NULL)
        return NULL;
    }
  if (!docent_retriever_reload (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

DocentEmbedder *
docent_retriever_get_embedder (DocentRetriever *self)
{
  g_return_val_if_fail (DOCENT_IS_RETRIEVER (self), NULL);
  return self->embedder;
}

DocentStore *
docent_retriever_get_store (DocentRetriever *self)
{
  g_return_val_if_fail (DOCENT_IS_RETRIEVER (self), NULL);
  return self->store;
}

guint
docent_retriever_get_n_vectors (DocentRetriever *self)
{
  g_return_val_if_fail (DOCENT_IS_RETRIEVER (self), 0);
  return docent_vector_index_get_n_rows (self->index);
}

DocentSearchMode
docent_retriever_get_default_mode (DocentRetriever *self)
{
  g_return_val_if_fail (DOCENT_IS_RETRIEVER (self), DOCENT_SEARCH_MODE_BM25);
  if (g_str_has_prefix (docent_embedder_get_model_id (self->embedder), BUILTIN_PREFIX))
    return BUILTIN_DEFAULT_MODE;
  return DOCENT_SEARCH_MODE_HYBRID;
}

void
docent_retriever_set_fusion (DocentRetriever *self,
                             double           w_bm25,
                             double           w_dense,
                             guint            rrf_k,
                             guint            depth)
{
  g_return_if_fail (DOCENT_IS_RETRIEVER (self));
  g_return_if_fail (w_bm25 >= 0 && w_dense >= 0);

  self->w_bm25 = w_bm25;
  self->w_dense = w_dense;
  self->rrf_k = rrf_k > 0 ? rrf_k : DOCENT_RRF_K_DEFAULT;
  self->depth = depth > 0 ? depth : DOCENT_FUSION_DEPTH_DEFAULT;
}

void
docent_retriever_set_lexical (DocentRetriever *self,
                              double           k1,
                              double           b,
                              double           w_prox,
                              double           w_cov)
{
  DocentRankParams rank;

  g_return_if_fail (DOCENT_IS_RETRIEVER (self));
  _docent_store_get_rank_params (self->store, &rank);
  if (k1 >= 0)
    rank.k1 = k1;
  if (b >= 0)
    rank.b = MIN (b, 1.0);
  if (w_prox >= 0)
    rank.w_prox = w_prox;
  if (w_cov >= 0)
    rank.w_cov = w_cov;
  _docent_store_set_rank_params (self->store, &rank);
}

void
docent_retriever_set_dense_floor (DocentRetriever *self,
                                  float            floor)
{
  g_return_if_fail (DOCENT_IS_RETRIEVER (self));
  self->dense_floor = floor;
}

float
docent_retriever_get_dense_floor (DocentRetriever *self)
{
  g_return_val_if_fail (DOCENT_IS_RETRIEVER (self), DOCENT_DENSE_FLOOR_NONE);
  return self->dense_floor;
}

/* ---- results for dense hits -------------------------------------------- */

typedef struct {
  GHashTable *terms;
  GArray     *ranges;   /* byte pairs */
} Highlighter;

static gboolean
collect_term (const char *term, gsize term_len, gsize byte_start, gsize byte_end, gpointer data)
{
  g_hash_table_add (data, g_strndup (term, term_len));
  return TRUE;
}

static gboolean
collect_range (const char *term, gsize term_len, gsize byte_start, gsize byte_end, gpointer data)
{
  Highlighter *h = data;
  g_autofree char *key = g_strndup (term, term_len);

  if (g_hash_table_contains (h->terms, key))
    {
      guint n = h->ranges->len;
      gint64 r[2] = { (gint64) byte_start, (gint64) byte_end };
      if (n >= 2 && g_array_index (h->ranges, gint64, n - 1) >= r[0])
        g_array_index (h->ranges, gint64, n - 1) = MAX (r[1], g_array_index (h->ranges, gint64, n - 1));
      else
        g_array_append_vals (h->ranges, r, 2);
    }
  return TRUE;
}

/* The query's terms in @text, as code-point ranges (like the store's). */
static GArray *
highlights_for (DocentRetriever *self,
                GHashTable      *terms,
                const char      *text)
{
  Highlighter h = { terms, g_array_new (FALSE, FALSE, sizeof (gint64)) };
  GArray *out = g_array_new (FALSE, FALSE, sizeof (gint64));

  docent_tokenizer_tokenize (self->tokenizer, text, -1, collect_range, &h);
  for (guint i = 0; i < h.ranges->len; i++)
    {
      gint64 cp = g_utf8_pointer_to_offset (text, text + g_array_index (h.ranges, gint64, i));
      g_array_append_val (out, cp);
    }
  g_array_unref (h.ranges);
  return out;
}

static DocentSearchResult *
fetch_result (DocentRetriever *self,
              sqlite3_stmt    *stmt,
              gint64           chunk_id,
              GHashTable      *terms,
              GError         **error)
{
  DocentSearchResult *r;
  gboolean pdf;
  int rc;

  sqlite3_reset (stmt);
  sqlite3_bind_int64 (stmt, 1, chunk_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    return NULL;   /* removed since the matrix was synced */
  if (rc != SQLITE_ROW)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_STORE, _("Library error while searching: %s"),
                   sqlite3_errmsg (docent_store_get_db (self->store)));
      return NULL;
    }
  r = g_new0 (DocentSearchResult, 1);
  pdf = g_strcmp0 ((const char *) sqlite3_column_text (stmt, 4), "pdf") == 0;
  r->chunk_id = sqlite3_column_int64 (stmt, 0);
  r->doc_id = sqlite3_column_int64 (stmt, 1);
  r->doc = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
  r->path = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
  r->type = pdf ? DOCENT_DOC_TYPE_PDF : DOCENT_DOC_TYPE_TEXT;
  if (pdf)
    {
      r->page = sqlite3_column_int (stmt, 5);
      r->page_end = sqlite3_column_int (stmt, 6);
      r->page_label = g_strdup ((const char *) sqlite3_column_text (stmt, 7));
    }
  else
    {
      r->line = sqlite3_column_int (stmt, 8);
      r->line_end = sqlite3_column_int (stmt, 9);
    }
  r->char_start = sqlite3_column_int64 (stmt, 10);
  r->char_end = sqlite3_column_int64 (stmt, 11);
  r->text = g_strdup ((const char *) sqlite3_column_text (stmt, 12));
  if (r->text == NULL)
    r->text = g_strdup ("");
  r->highlights = highlights_for (self, terms, r->text);
  return r;
}

static char *
ids_json (GArray *ids)
{
  GString *json = g_string_new ("[");

  for (guint i = 0; ids != NULL && i < ids->len; i++)
    g_string_append_printf (json, "%s%" G_GINT64_FORMAT, i ? "," : "",
                            g_array_index (ids, gint64, i));
  g_string_append_c (json, ']');
  return g_string_free (json, FALSE);
}

static char *
names_json (GPtrArray *names)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_array (b);
  for (guint i = 0; names != NULL && i < names->len; i++)
    json_builder_add_string_value (b, names->pdata[i]);
  json_builder_end_array (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

void
docent_search_filter_init (DocentSearchFilter *filter)
{
  g_return_if_fail (filter != NULL);
  memset (filter, 0, sizeof *filter);
  filter->type = -1;
}

static gboolean
filter_is_set (const DocentSearchOptions *options,
               const DocentSearchFilter  *filter)
{
  return (options != NULL && options->doc_ids != NULL && options->doc_ids->len > 0) ||
         (filter != NULL && ((filter->collections != NULL && filter->collections->len > 0) ||
                             filter->type >= 0 || filter->added_after != 0 ||
                             filter->added_before != 0 || filter->page_first != 0 ||
                             filter->page_last != 0));
}

/* Every filter as one condition on c (chunks) and d (documents), with its
 * parameters numbered from 10 (bound by bind_filter). */
#define FILTER_SQL \
  " (?10 = 0 OR c.doc_id IN (SELECT value FROM json_each (?11)))" \
  " AND (?12 = 0 OR c.doc_id IN (SELECT cd.doc_id FROM collection_docs cd" \
  "      JOIN collections co ON co.id = cd.collection_id" \
  "      WHERE co.name IN (SELECT value FROM json_each (?13))))" \
  " AND (?14 < 0 OR d.type = ?15)" \
  " AND (?16 = 0 OR d.added >= ?16) AND (?17 = 0 OR d.added < ?17)" \
  " AND (?18 = 0 OR (d.type = 'pdf' AND c.page_last >= ?18 AND c.page_first <= ?19))"

static void
bind_filter (sqlite3_stmt              *stmt,
             const DocentSearchOptions *options,
             const DocentSearchFilter  *filter)
{
  gboolean docs = options != NULL && options->doc_ids != NULL && options->doc_ids->len > 0;
  gboolean colls = filter != NULL && filter->collections != NULL && filter->collections->len > 0;
  guint first = filter != NULL ? filter->page_first : 0;
  guint last = filter != NULL ? filter->page_last : 0;

  sqlite3_bind_int (stmt, 10, docs);
  sqlite3_bind_text (stmt, 11, ids_json (docs ? options->doc_ids : NULL), -1, g_free);
  sqlite3_bind_int (stmt, 12, colls);
  sqlite3_bind_text (stmt, 13, names_json (colls ? filter->collections : NULL), -1, g_free);
  sqlite3_bind_int (stmt, 14, filter != NULL ? filter->type : -1);
  sqlite3_bind_text (stmt, 15, filter != NULL && filter->type >= 0
                                 ? docent_doc_type_to_string (filter->type) : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 16, filter != NULL ? filter->added_after : 0);
  sqlite3_bind_int64 (stmt, 17, filter != NULL ? filter->added_before : 0);
  /* a range open at either end */
  sqlite3_bind_int (stmt, 18, first != 0 || last != 0 ? MAX (first, 1) : 0);
  sqlite3_bind_int (stmt, 19, last != 0 ? last : G_MAXINT);
}

/* The BM25 ranking as chunk ids (and scores) only: fusion needs ranks, and
 * only the few passages that survive it need their text and highlights. The
 * same MATCH expression as docent_store_search(), filters inside the query. */
static GArray *
bm25_candidates (DocentRetriever           *self,
                 const char                *query,
                 const DocentSearchOptions *options,
                 const DocentSearchFilter  *filter,
                 guint                      depth,
                 GArray                    *scores,
                 GError                   **error)
{
  sqlite3 *db = docent_store_get_db (self->store);
  g_autoptr(GHashTable) terms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *match = NULL;
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  DocentRankParams rank;
  int rc;

  match = _docent_store_build_match (self->store, query, terms);
  if (match == NULL)
    return ids;
  if (sqlite3_prepare_v2 (db,
                          "SELECT chunks_fts.rowid, docent_rank (chunks_fts, ?3, ?4, ?5, ?6) AS score"
                          " FROM chunks_fts"
                          " JOIN chunks c ON c.id = chunks_fts.rowid"
                          " JOIN documents d ON d.id = c.doc_id"
                          " WHERE chunks_fts MATCH ?1 AND" FILTER_SQL
                          " ORDER BY score DESC, c.id LIMIT ?2", -1, &stmt, NULL) != SQLITE_OK)
    goto fail;
  _docent_store_get_rank_params (self->store, &rank);
  sqlite3_bind_text (stmt, 1, match, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (stmt, 2, depth);
  sqlite3_bind_double (stmt, 3, rank.k1);
  sqlite3_bind_double (stmt, 4, rank.b);
  sqlite3_bind_double (stmt, 5, rank.w_prox);
  sqlite3_bind_double (stmt, 6, rank.w_cov);
  bind_filter (stmt, options, filter);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      double score = sqlite3_column_double (stmt, 1);
      g_array_append_val (ids, id);
      if (scores != NULL)
        g_array_append_val (scores, score);
    }
  if (rc == SQLITE_DONE)
    return ids;

fail:
  g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_STORE, _("Library error while searching: %s"),
               sqlite3_errmsg (db));
  g_array_unref (ids);
  return NULL;
}

/* Chunk ids that pass the filters (NULL = no filter). */
static GArray *
allowed_chunks (DocentRetriever           *self,
                const DocentSearchOptions *options,
                const DocentSearchFilter  *filter,
                GError                   **error)
{
  sqlite3 *db = docent_store_get_db (self->store);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GArray) ids = NULL;
  int rc;

  if (!filter_is_set (options, filter))
    return NULL;

  if (sqlite3_prepare_v2 (db, "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id"
                              " WHERE" FILTER_SQL, -1, &stmt, NULL) != SQLITE_OK)
    goto fail;
  bind_filter (stmt, options, filter);
  ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (ids, id);
    }
  if (rc != SQLITE_DONE)
    goto fail;
  return g_steal_pointer (&ids);

fail:
  g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_STORE, _("Library error while filtering: %s"),
               sqlite3_errmsg (db));
  return NULL;
}

typedef struct {
  gint64              chunk_id;
  double              score;
  guint               best_rank;
} Fused;

static int
compare_fused (gconstpointer a,
               gconstpointer b)
{
  const Fused *x = a, *y = b;

  if (x->score != y->score)
    return x->score < y->score ? 1 : -1;
  if (x->best_rank != y->best_rank)
    return x->best_rank < y->best_rank ? -1 : 1;
  return x->chunk_id < y->chunk_id ? -1 : x->chunk_id > y->chunk_id;
}

GPtrArray *
docent_retriever_search (DocentRetriever           *self,
                         const char                *query,
                         DocentSearchMode           mode,
                         const DocentSearchOptions *options,
                         GError                   **error)
{
  return docent_retriever_search_filtered (self, query, mode, options, NULL, error);
}

static sqlite3_stmt *
prepare_row (DocentRetriever  *self,
             GError          **error)
{
  sqlite3 *db = docent_store_get_db (self->store);
  sqlite3_stmt *row = NULL;

  if (sqlite3_prepare_v2 (db,
                          "SELECT c.id, c.doc_id, d.name, d.path, d.type, c.page_first, c.page_last,"
                          " p.label, c.line_first, c.line_last, c.char_start, c.char_end, c.text"
                          " FROM chunks c JOIN documents d ON d.id = c.doc_id"
                          " LEFT JOIN pages p ON p.doc_id = c.doc_id AND p.number = c.page_first"
                          " WHERE c.id = ?1", -1, &row, NULL) != SQLITE_OK)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_STORE, _("Library error while searching: %s"),
                   sqlite3_errmsg (db));
      return NULL;
    }
  return row;
}

GPtrArray *
docent_retriever_search_filtered (DocentRetriever           *self,
                                  const char                *query,
                                  DocentSearchMode           mode,
                                  const DocentSearchOptions *options,
                                  const DocentSearchFilter  *filter,
                                  GError                   **error)
{
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func ((GDestroyNotify) docent_search_result_free);
  g_autoptr(GArray) bm25 = NULL;
  g_autoptr(GArray) allow = NULL;
  g_autoptr(GHashTable) terms = NULL;
  g_autoptr(sqlite3_stmt) row = NULL;
  g_autofree DocentVectorHit *hits = NULL;
  g_autofree float *qvec = NULL;
  guint n_hits = 0, k = 10, depth;
  sqlite3 *db;

  g_return_val_if_fail (DOCENT_IS_RETRIEVER (self), NULL);
  g_return_val_if_fail (query != NULL, NULL);

  if (options != NULL && options->k > 0)
    k = options->k;
  depth = MAX (k, self->depth);
  db = docent_store_get_db (self->store);
  terms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  docent_tokenizer_tokenize (self->tokenizer, query, -1, collect_term, terms);

  if (mode == DOCENT_SEARCH_MODE_BM25 && !filter_is_set (NULL, filter))
    {
      DocentSearchOptions o = { k, options != NULL ? options->doc_ids : NULL };
      return docent_store_search (self->store, query, &o, error);
    }
  if (mode == DOCENT_SEARCH_MODE_BM25)
    {
      /* Filters the store does not know: the same ranking, filtered here. */
      g_autoptr(GArray) scores = g_array_new (FALSE, FALSE, sizeof (double));
      bm25 = bm25_candidates (self, query, options, filter, k, scores, error);
      if (bm25 == NULL || (row = prepare_row (self, error)) == NULL)
        return NULL;
      for (guint i = 0; i < bm25->len; i++)
        {
          GError *local = NULL;
          DocentSearchResult *r = fetch_result (self, row, g_array_index (bm25, gint64, i), terms, &local);
          if (local != NULL)
            {
              g_propagate_error (error, local);
              return NULL;
            }
          if (r == NULL)
            continue;
          r->score = g_array_index (scores, double, i);
          r->rank = results->len + 1;
          g_ptr_array_add (results, r);
        }
      return g_steal_pointer (&results);
    }
  if (mode == DOCENT_SEARCH_MODE_HYBRID)
    {
      bm25 = bm25_candidates (self, query, options, filter, depth, NULL, error);
      if (bm25 == NULL)
        return NULL;
    }

  /* Dense side: the matrix follows writes made by other connections. */
  if (data_version (db) != self->data_version && !docent_retriever_reload (self, error))
    return NULL;
  {
    GError *local = NULL;
    allow = allowed_chunks (self, options, filter, &local);
    if (local != NULL)
      {
        g_propagate_error (error, local);
        return NULL;
      }
  }
  qvec = docent_embedder_embed_one (self->embedder, DOCENT_EMBED_QUERY, query, error);
  if (qvec == NULL)
    return NULL;
  hits = g_new (DocentVectorHit, depth);
  /* An empty allow-list allows nothing (and its data may be NULL, which
   * the index would read as "no filter"). */
  if (allow == NULL || allow->len > 0)
    n_hits = docent_vector_index_search (self->index, qvec,
                                         mode == DOCENT_SEARCH_MODE_DENSE ? k : depth,
                                         allow != NULL ? (const gint64 *) allow->data : NULL,
                                         allow != NULL ? allow->len : 0, hits);

  row = prepare_row (self, error);
  if (row == NULL)
    return NULL;

  if (mode == DOCENT_SEARCH_MODE_DENSE)
    {
      for (guint i = 0; i < n_hits; i++)
        {
          GError *local = NULL;
          DocentSearchResult *r = fetch_result (self, row, hits[i].id, terms, &local);
          if (local != NULL)
            {
              g_propagate_error (error, local);
              return NULL;
            }
          if (r == NULL)
            continue;
          r->score = hits[i].score;
          r->rank = results->len + 1;
          g_ptr_array_add (results, r);
        }
      return g_steal_pointer (&results);
    }

  /* Hybrid: weighted reciprocal rank fusion over both candidate lists. */
  {
    g_autoptr(GHashTable) by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
    /* sized for both lists: by_id points into it, so it must not move */
    g_autoptr(GArray) fused = g_array_sized_new (FALSE, FALSE, sizeof (Fused), bm25->len + n_hits);

    for (guint i = 0; i < bm25->len; i++)
      {
        Fused f = { g_array_index (bm25, gint64, i), self->w_bm25 / (self->rrf_k + i + 1), i + 1 };
        g_array_append_val (fused, f);
      }
    for (guint i = 0; i < fused->len; i++)
      g_hash_table_insert (by_id, &g_array_index (fused, Fused, i).chunk_id,
                           GUINT_TO_POINTER (i + 1));
    for (guint i = 0; i < n_hits; i++)
      {
        guint at = GPOINTER_TO_UINT (g_hash_table_lookup (by_id, &hits[i].id));
        double s = self->w_dense / (self->rrf_k + i + 1);
        if (at > 0)
          {
            Fused *f = &g_array_index (fused, Fused, at - 1);
            f->score += s;
            f->best_rank = MIN (f->best_rank, i + 1);
          }
        else if (hits[i].score >= self->dense_floor)
          {
            /* Only the dense side found it: below the floor a vector says
             * nothing about the query, and fusion would otherwise add
             * passages to any result list whether related or not. */
            Fused f = { hits[i].id, s, i + 1 };
            g_array_append_val (fused, f);
          }
      }
    g_array_sort (fused, compare_fused);

    for (guint i = 0; i < fused->len && results->len < k; i++)
      {
        Fused *f = &g_array_index (fused, Fused, i);
        DocentSearchResult *r;

        GError *local = NULL;

        r = fetch_result (self, row, f->chunk_id, terms, &local);
        if (local != NULL)
          {
            g_propagate_error (error, local);
            return NULL;
          }
        if (r == NULL)
          continue;
        r->score = f->score;
        r->rank = results->len + 1;
        g_ptr_array_add (results, r);
      }
  }
  return g_steal_pointer (&results);
}

gboolean
docent_retriever_update_builtin (DocentStore   *store,
                                 guint          n_workers,
                                 GCancellable  *cancellable,
                                 guint         *n_embedded,
                                 GError       **error)
{
  g_autoptr(DocentEmbedder) embedder = NULL;
  sqlite3 *db;

  g_return_val_if_fail (DOCENT_IS_STORE (store), FALSE);

  db = docent_store_get_db (store);
  embedder = docent_vector_store_dup_builtin (db, BUILTIN_DIM, TRUE, error);
  if (embedder == NULL)
    return FALSE;
  if (!docent_vector_store_embed_missing (db, embedder, n_workers, cancellable, n_embedded, error))
    return FALSE;
  return docent_vector_store_drop_others (db, BUILTIN_PREFIX,
                                          docent_embedder_get_model_id (embedder), error);
}

/* ---- snippets ---------------------------------------------------------- */

char *
docent_search_result_dup_snippet (const DocentSearchResult *result,
                                  guint                     max_chars,
                                  GArray                  **highlights)
{
  g_autofree gunichar *cps = NULL;
  glong n = 0;
  glong start = 0, end, best_count = -1;
  GArray *h = result->highlights;
  guint n_h = h != NULL ? h->len / 2 : 0;
  GString *out;
  GArray *out_h = g_array_new (FALSE, FALSE, sizeof (gint64));
  glong out_len = 0;
  gboolean space = FALSE;
  guint hi = 0;
  gint64 open_at = -1;

  g_return_val_if_fail (result != NULL, NULL);

  cps = g_utf8_to_ucs4_fast (result->text != NULL ? result->text : "", -1, &n);
  max_chars = MAX (max_chars, 20);

  /* The window holding the most highlights, starting a little before one. */
  for (guint i = 0; i < n_h; i++)
    {
      glong s0 = MAX (0, (glong) g_array_index (h, gint64, 2 * i) - (glong) max_chars / 5);
      glong count = 0;
      for (guint j = 0; j < n_h; j++)
        if (g_array_index (h, gint64, 2 * j) >= s0 &&
            g_array_index (h, gint64, 2 * j + 1) <= s0 + (glong) max_chars)
          count++;
      if (count > best_count)
        best_count = count, start = s0;
    }
  if (start + (glong) max_chars > n)
    start = MAX (0, n - (glong) max_chars);
  /* cut at spaces, within a few characters */
  for (glong b = 0; start > 0 && b < 15 && !g_unichar_isspace (cps[start - 1]); b++)
    start--;
  end = MIN (n, start + (glong) max_chars);
  for (glong b = 0; end < n && b < 15 && !g_unichar_isspace (cps[end]); b++)
    end++;

  out = g_string_new (start > 0 ? "…" : "");
  out_len = start > 0 ? 1 : 0;
  while (hi < n_h && g_array_index (h, gint64, 2 * hi + 1) <= start)
    hi++;
  for (glong i = start; i < end; i++)
    {
      gunichar c = cps[i];

      if (g_unichar_isspace (c))
        {
          space = TRUE;
          continue;
        }
      if (space && out_len > (start > 0 ? 1 : 0))
        {
          g_string_append_c (out, ' ');
          out_len++;
        }
      space = FALSE;
      /* highlight bounds, mapped through the collapsing */
      if (open_at < 0 && hi < n_h && i >= g_array_index (h, gint64, 2 * hi) &&
          i < g_array_index (h, gint64, 2 * hi + 1))
        open_at = out_len;
      g_string_append_unichar (out, c);
      out_len++;
      if (open_at >= 0 && hi < n_h && i + 1 >= g_array_index (h, gint64, 2 * hi + 1))
        {
          gint64 pair[2] = { open_at, out_len };
          g_array_append_vals (out_h, pair, 2);
          open_at = -1;
          hi++;
        }
    }
  if (open_at >= 0)
    {
      gint64 pair[2] = { open_at, out_len };
      g_array_append_vals (out_h, pair, 2);
    }
  if (end < n)
    g_string_append (out, "…");

  if (highlights != NULL)
    *highlights = out_h;
  else
    g_array_unref (out_h);
  return g_string_free (out, FALSE);
}
