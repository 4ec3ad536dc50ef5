/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-vector-store"
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>

#include "docent-error.h"
#include "docent-hash-embedder.h"
#include "docent-vector-store.h"

#define ROUND_CHUNKS 2048          /* passages read, embedded and written per transaction */
/* Progress within a round, as the workers finish their batches: a slow
 * model takes minutes over a round, and a bar that moves every 2,048
 * passages looks stuck. */
#define REPORT_CHUNKS 128
#define REPORT_US     (250 * G_TIME_SPAN_MILLISECOND)
#define PARAMS_MAGIC "DHE2"
/* Passages sampled to learn the built-in embedder's projection: enough to
 * find the main directions, bounded so a huge library fits in memory. */
#define FIT_SAMPLE_MAX 8000
#define BUILTIN_BASE_DIM 4096
#define BUILTIN_PREFIX "hash-ngram-"   /* every built-in id, whatever its statistics */

static gboolean
set_sql_error (sqlite3     *db,
               GError     **error,
               const char  *what)
{
  int saved = errno;

  /* The same few causes a person can act on as the store's own errors. */
  switch (sqlite3_errcode (db) & 0xff)
    {
    case SQLITE_FULL:
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_DISK_FULL,
                   _("The disk holding the library is full (%s). Free some space and try again; "
                     "nothing already in the library was lost"), what);
      return FALSE;
    case SQLITE_READONLY:
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_READ_ONLY,
                   _("The library is read-only (%s). Check the file's permissions"), what);
      return FALSE;
    case SQLITE_IOERR:
      if (saved == EFBIG || saved == ENOSPC)
        {
          g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_DISK_FULL,
                       _("The disk holding the library is full (%s). Free some space and try "
                         "again; nothing already in the library was lost"), what);
          return FALSE;
        }
      break;
    default:
      break;
    }
  g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_STORE,
               _("Library error while %s: %s"), what, sqlite3_errmsg (db));
  return FALSE;
}

static sqlite3_stmt *
prepare (sqlite3     *db,
         const char  *sql,
         GError     **error)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_sql_error (db, error, "preparing a statement");
      return NULL;
    }
  return stmt;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

static gboolean
exec (sqlite3     *db,
      const char  *sql,
      const char  *what,
      GError     **error)
{
  if (sqlite3_exec (db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return set_sql_error (db, error, what);
  return TRUE;
}

gboolean
docent_vector_store_ensure_schema (sqlite3  *db,
                                   GError  **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (db != NULL, FALSE);
  /* The store's migration 2 creates the tables; a connection that did not
   * come through docent_store_open may predate it. */
  stmt = prepare (db, "PRAGMA user_version", error);
  if (stmt == NULL)
    return FALSE;
  if (sqlite3_step (stmt) != SQLITE_ROW || sqlite3_column_int (stmt, 0) < 2)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_STORE,
                   _("The library has no vector tables yet; open it with docent_store_open, "
                     "which upgrades it"));
      return FALSE;
    }
  return TRUE;
}

/* ---- vectors as blobs -------------------------------------------------- */

static void
vec_to_le (const float *v,
           guint        dim,
           float       *out)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  memcpy (out, v, sizeof (float) * dim);
#else
  for (guint i = 0; i < dim; i++)
    {
      guint32 u;
      memcpy (&u, &v[i], 4);
      u = GUINT32_TO_LE (u);
      memcpy (&out[i], &u, 4);
    }
#endif
}

static void
vec_from_le (const void *blob,
             guint       dim,
             float      *out)
{
  memcpy (out, blob, sizeof (float) * dim);
#if G_BYTE_ORDER != G_LITTLE_ENDIAN
  for (guint i = 0; i < dim; i++)
    {
      guint32 u;
      memcpy (&u, &out[i], 4);
      u = GUINT32_FROM_LE (u);
      memcpy (&out[i], &u, 4);
    }
#endif
}

/* ---- embedders --------------------------------------------------------- */

static gboolean
register_full (sqlite3        *db,
               DocentEmbedder *embedder,
               GBytes         *params,
               gint64          n_chunks_fit,
               GError        **error)
{
  g_autoptr(sqlite3_stmt) check = NULL;
  g_autoptr(sqlite3_stmt) insert = NULL;
  const char *id = docent_embedder_get_model_id (embedder);
  guint dim = docent_embedder_get_dim (embedder);

  check = prepare (db, "SELECT dim FROM embedders WHERE id = ?1", error);
  if (check == NULL)
    return FALSE;
  sqlite3_bind_text (check, 1, id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (check) == SQLITE_ROW)
    {
      if ((guint) sqlite3_column_int (check, 0) != dim)
        {
          g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_STORE,
                       _("The library already knows an embedder “%s” of dimension %d, "
                         "but this one has dimension %u; give the model a different id"),
                       id, sqlite3_column_int (check, 0), dim);
          return FALSE;
        }
      return TRUE;
    }

  insert = prepare (db, "INSERT INTO embedders (id, dim, params, n_chunks_fit, created)"
                        " VALUES (?1, ?2, ?3, ?4, strftime ('%s', 'now'))", error);
  if (insert == NULL)
    return FALSE;
  sqlite3_bind_text (insert, 1, id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (insert, 2, dim);
  if (params != NULL)
    sqlite3_bind_blob (insert, 3, g_bytes_get_data (params, NULL),
                       (int) g_bytes_get_size (params), SQLITE_TRANSIENT);
  sqlite3_bind_int64 (insert, 4, n_chunks_fit);
  if (sqlite3_step (insert) != SQLITE_DONE)
    return set_sql_error (db, error, "recording an embedder");
  return TRUE;
}

gboolean
docent_vector_store_register (sqlite3        *db,
                              DocentEmbedder *embedder,
                              GBytes         *params,
                              GError        **error)
{
  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (DOCENT_IS_EMBEDDER (embedder), FALSE);
  return register_full (db, embedder, params, 0, error);
}

static gint64
count_chunks (sqlite3  *db,
              GError  **error)
{
  g_autoptr(sqlite3_stmt) stmt = prepare (db, "SELECT count(*) FROM chunks", error);

  if (stmt == NULL)
    return -1;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      set_sql_error (db, error, "counting passages");
      return -1;
    }
  return sqlite3_column_int64 (stmt, 0);
}

/* The built-in embedder's parameters as stored: "DHE2", n_docs (u64),
 * base_dim, dim (u32), the document frequencies (u32 × N_BUCKETS), then,
 * when dim != base_dim, the projection (f32 × dim × base_dim); all
 * little-endian. */
static GBytes *
params_from_embedder (DocentHashEmbedder *e)
{
  guint64 n_docs = 0;
  const guint32 *df = docent_hash_embedder_get_df (e, &n_docs);
  guint base_dim = 0;
  const float *proj = docent_hash_embedder_get_projection (e, &base_dim);
  guint dim = docent_embedder_get_dim (DOCENT_EMBEDDER (e));
  gsize n_proj = proj != NULL ? (gsize) dim * base_dim : 0;
  gsize size = 4 + 8 + 4 + 4 + 4 * (gsize) DOCENT_HASH_EMBEDDER_N_BUCKETS + 4 * n_proj;
  guint8 *buf = g_malloc (size), *p = buf;
  guint64 n_le = GUINT64_TO_LE (n_docs);
  guint32 u;

  g_assert (df != NULL);
  memcpy (p, PARAMS_MAGIC, 4); p += 4;
  memcpy (p, &n_le, 8); p += 8;
  u = GUINT32_TO_LE (proj != NULL ? base_dim : dim); memcpy (p, &u, 4); p += 4;
  u = GUINT32_TO_LE (dim); memcpy (p, &u, 4); p += 4;
  for (guint b = 0; b < DOCENT_HASH_EMBEDDER_N_BUCKETS; b++, p += 4)
    {
      u = GUINT32_TO_LE (df[b]);
      memcpy (p, &u, 4);
    }
  for (gsize i = 0; i < n_proj; i++, p += 4)
    {
      memcpy (&u, &proj[i], 4);
      u = GUINT32_TO_LE (u);
      memcpy (p, &u, 4);
    }
  return g_bytes_new_take (buf, size);
}

static DocentEmbedder *
builtin_from_params (const void *blob,
                     gsize       size)
{
  const guint8 *p = blob;
  g_autofree guint32 *df = NULL;
  g_autofree float *proj = NULL;
  g_autoptr(DocentHashEmbedder) base = NULL;
  guint64 n_docs;
  guint32 base_dim, dim;
  gsize n_proj;

  if (size < 20 || memcmp (p, PARAMS_MAGIC, 4) != 0)
    return NULL;
  memcpy (&n_docs, p + 4, 8);
  memcpy (&base_dim, p + 12, 4);
  memcpy (&dim, p + 16, 4);
  n_docs = GUINT64_FROM_LE (n_docs);
  base_dim = GUINT32_FROM_LE (base_dim);
  dim = GUINT32_FROM_LE (dim);
  if (dim == 0 || base_dim == 0 || dim > base_dim || base_dim > 65536)
    return NULL;
  n_proj = dim != base_dim ? (gsize) dim * base_dim : 0;
  if (size != 20 + 4 * (gsize) DOCENT_HASH_EMBEDDER_N_BUCKETS + 4 * n_proj)
    return NULL;
  p += 20;
  df = g_new (guint32, DOCENT_HASH_EMBEDDER_N_BUCKETS);
  memcpy (df, p, 4 * (gsize) DOCENT_HASH_EMBEDDER_N_BUCKETS);
  for (guint b = 0; b < DOCENT_HASH_EMBEDDER_N_BUCKETS; b++)
    df[b] = GUINT32_FROM_LE (df[b]);
  p += 4 * (gsize) DOCENT_HASH_EMBEDDER_N_BUCKETS;
  base = docent_hash_embedder_new_with_df (base_dim, df, n_docs);
  if (n_proj == 0)
    return DOCENT_EMBEDDER (g_steal_pointer (&base));
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  if (((guintptr) p % G_ALIGNOF (float)) == 0)
    /* the blob as it is: new_projected keeps its own copy */
    return DOCENT_EMBEDDER (docent_hash_embedder_new_projected (base, dim, (const float *) p));
#endif
  proj = g_new (float, n_proj);
  for (gsize i = 0; i < n_proj; i++, p += 4)
    {
      guint32 u;
      memcpy (&u, p, 4);
      u = GUINT32_FROM_LE (u);
      memcpy (&proj[i], &u, 4);
    }
  return DOCENT_EMBEDDER (docent_hash_embedder_new_projected (base, dim, proj));
}

DocentEmbedder *
docent_vector_store_dup_builtin (sqlite3  *db,
                                 guint     dim,
                                 gboolean  fit,
                                 GError  **error)
{
  g_autoptr(DocentHashEmbedder) plain = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(sqlite3_stmt) texts = NULL;
  g_autoptr(DocentHashEmbedder) fitted = NULL;
  g_autoptr(DocentHashEmbedder) base = NULL;
  g_autoptr(GPtrArray) sample = NULL;
  g_autoptr(GBytes) params = NULL;
  gint64 stride;
  g_autofree char *pattern = NULL;
  g_autofree guint32 *df = NULL;
  gint64 n_chunks;
  guint64 n_docs = 0;
  gboolean fit_now = fit;
  int rc;

  g_return_val_if_fail (db != NULL, NULL);
  g_return_val_if_fail (dim > 0, NULL);

  n_chunks = count_chunks (db, error);
  if (n_chunks < 0)
    return NULL;

  plain = docent_hash_embedder_new (dim);
  pattern = g_strdup_printf ("%s-*", docent_embedder_get_model_id (DOCENT_EMBEDDER (plain)));
  stmt = prepare (db, "SELECT dim, params, n_chunks_fit FROM embedders WHERE id GLOB ?1"
                      " ORDER BY created DESC, rowid DESC LIMIT 1", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, pattern, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      gint64 n_fit = sqlite3_column_int64 (stmt, 2);
      /* Statistics stay until the library has grown or shrunk by half:
       * re-fitting means re-embedding everything. */
      if (!fit_now || (n_fit > 0 && n_chunks <= n_fit * 3 / 2 && n_chunks >= n_fit / 2))
        {
          DocentEmbedder *e = builtin_from_params (sqlite3_column_blob (stmt, 1),
                                                   sqlite3_column_bytes (stmt, 1));
          if (e != NULL)
            return e;
        }
    }

  if (!fit_now)
    return DOCENT_EMBEDDER (g_steal_pointer (&plain));
  if (n_chunks == 0)
    {
      /* Nothing to count yet: the plain embedder, until passages arrive. */
      if (!docent_vector_store_register (db, DOCENT_EMBEDDER (plain), NULL, error))
        return NULL;
      return DOCENT_EMBEDDER (g_steal_pointer (&plain));
    }

  df = g_new0 (guint32, DOCENT_HASH_EMBEDDER_N_BUCKETS);
  texts = prepare (db, "SELECT text FROM chunks ORDER BY id", error);
  if (texts == NULL)
    return NULL;
  sample = g_ptr_array_new_with_free_func (g_free);
  stride = MAX (1, (n_chunks + FIT_SAMPLE_MAX - 1) / FIT_SAMPLE_MAX);
  while ((rc = sqlite3_step (texts)) == SQLITE_ROW)
    {
      const char *text = (const char *) sqlite3_column_text (texts, 0);
      docent_hash_embedder_count_df (df, text != NULL ? text : "");
      if (n_docs % stride == 0 && sample->len < FIT_SAMPLE_MAX)
        g_ptr_array_add (sample, g_strdup (text != NULL ? text : ""));
      n_docs++;
    }
  if (rc != SQLITE_DONE)
    {
      set_sql_error (db, error, "counting term statistics");
      return NULL;
    }

  base = docent_hash_embedder_new_with_df (BUILTIN_BASE_DIM, df, n_docs);
  if (sample->len >= dim)
    fitted = docent_hash_embedder_fit_projection (base, (const char * const *) sample->pdata,
                                                  sample->len, dim, NULL, error);
  else
    /* Too few passages to find @dim directions: hash straight to @dim. */
    fitted = docent_hash_embedder_new_with_df (dim, df, n_docs);
  if (fitted == NULL)
    return NULL;
  params = params_from_embedder (fitted);
  if (!register_full (db, DOCENT_EMBEDDER (fitted), params, (gint64) n_docs, error))
    return NULL;
  return DOCENT_EMBEDDER (g_steal_pointer (&fitted));
}

char *
docent_vector_store_dup_builtin_id (sqlite3 *db,
                                    guint    dim)
{
  g_autoptr(DocentHashEmbedder) plain = docent_hash_embedder_new (dim);
  g_autofree char *pattern = g_strdup_printf ("%s-*", docent_embedder_get_model_id (DOCENT_EMBEDDER (plain)));
  g_autoptr(sqlite3_stmt) stmt = prepare (db, "SELECT id FROM embedders WHERE id GLOB ?1"
                                              " ORDER BY created DESC, rowid DESC LIMIT 1", NULL);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, pattern, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return NULL;
  return g_strdup ((const char *) sqlite3_column_text (stmt, 0));
}

gboolean
docent_vector_store_drop_others (sqlite3     *db,
                                 const char  *prefix,
                                 const char  *keep_id,
                                 GError     **error)
{
  g_autoptr(sqlite3_stmt) vecs = NULL;
  g_autoptr(sqlite3_stmt) rows = NULL;
  g_autofree char *pattern = NULL;

  g_return_val_if_fail (db != NULL && prefix != NULL && keep_id != NULL, FALSE);

  pattern = g_strdup_printf ("%s*", prefix);
  vecs = prepare (db, "DELETE FROM chunk_vectors WHERE embedder GLOB ?1 AND embedder != ?2", error);
  rows = prepare (db, "DELETE FROM embedders WHERE id GLOB ?1 AND id != ?2", error);
  if (vecs == NULL || rows == NULL)
    return FALSE;
  sqlite3_bind_text (vecs, 1, pattern, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (vecs, 2, keep_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (rows, 1, pattern, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (rows, 2, keep_id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (vecs) != SQLITE_DONE || sqlite3_step (rows) != SQLITE_DONE)
    return set_sql_error (db, error, "dropping old vectors");
  return TRUE;
}

/* ---- embedding on a worker pool ---------------------------------------- */

typedef struct {
  DocentEmbedder *embedder;
  GCancellable   *cancellable;
  GMutex          lock;
  GCond           cond;
  guint           pending;
  GError         *error;
  /* progress, under the lock */
  DocentEmbedProgressFunc progress;
  gpointer        user_data;
  guint           total;
  guint           done;               /* embedded, this round's included */
  guint           reported;
  gint64          reported_us;
} Round;

typedef struct {
  Round       *round;
  const char **texts;
  guint        n;
  float       *out;
} Batch;

static void
embed_batch (gpointer data,
             gpointer user_data)
{
  Batch *batch = data;
  Round *round = batch->round;
  GError *error = NULL;

  docent_embedder_embed (round->embedder, DOCENT_EMBED_PASSAGE, batch->texts, batch->n,
                         batch->out, round->cancellable, &error);
  g_mutex_lock (&round->lock);
  if (error != NULL && round->error == NULL)
    round->error = g_steal_pointer (&error);
  round->pending--;
  round->done += batch->n;
  /* The round's last batch leaves the report to the writer, once the
   * vectors are in. Called under the lock: one call at a time, in order. */
  if (round->progress != NULL && round->pending > 0 && round->error == NULL)
    {
      gint64 now = g_get_monotonic_time ();

      if (round->done - round->reported >= REPORT_CHUNKS || now - round->reported_us >= REPORT_US)
        {
          round->progress (round->done, MAX (round->total, round->done), round->user_data);
          round->reported = round->done;
          round->reported_us = now;
        }
    }
  g_cond_signal (&round->cond);
  g_mutex_unlock (&round->lock);
  g_clear_error (&error);
  g_free (batch);
}

gboolean
docent_vector_store_embed_missing (sqlite3        *db,
                                   DocentEmbedder *embedder,
                                   guint           n_workers,
                                   GCancellable   *cancellable,
                                   guint          *n_done,
                                   GError        **error)
{
  return docent_vector_store_embed_missing_full (db, embedder, n_workers, cancellable,
                                                 NULL, NULL, n_done, error);
}

static gint64
count_missing (sqlite3    *db,
               const char *id,
               GError    **error)
{
  g_autoptr(sqlite3_stmt) stmt = prepare (db, "SELECT count(*) FROM chunks c"
                                              " WHERE NOT EXISTS (SELECT 1 FROM chunk_vectors v"
                                              "                   WHERE v.embedder = ?1 AND v.chunk_id = c.id)",
                                          error);
  if (stmt == NULL)
    return -1;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      set_sql_error (db, error, "counting passages to embed");
      return -1;
    }
  return sqlite3_column_int64 (stmt, 0);
}

gboolean
docent_vector_store_embed_missing_full (sqlite3                 *db,
                                        DocentEmbedder          *embedder,
                                        guint                    n_workers,
                                        GCancellable            *cancellable,
                                        DocentEmbedProgressFunc  progress,
                                        gpointer                 user_data,
                                        guint                   *n_done,
                                        GError                 **error)
{
  gint64 total = 0;
  g_autoptr(sqlite3_stmt) select = NULL;
  g_autoptr(sqlite3_stmt) insert = NULL;
  GThreadPool *pool = NULL;
  const char *id;
  guint dim, batch_size, done = 0;
  Round round = { 0 };
  gboolean ok = FALSE;

  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (DOCENT_IS_EMBEDDER (embedder), FALSE);

  id = docent_embedder_get_model_id (embedder);
  dim = docent_embedder_get_dim (embedder);
  batch_size = docent_embedder_get_batch_size (embedder);
  if (batch_size == 0)
    batch_size = 32;
  if (n_workers == 0)
    n_workers = MAX (1, g_get_num_processors ());

  if (!register_full (db, embedder, NULL, 0, error))
    return FALSE;
  if (progress != NULL)
    {
      total = count_missing (db, id, error);
      if (total < 0)
        return FALSE;
      progress (0, (guint) total, user_data);
    }
  select = prepare (db, "SELECT c.id, c.text FROM chunks c"
                        " WHERE NOT EXISTS (SELECT 1 FROM chunk_vectors v"
                        "                   WHERE v.embedder = ?1 AND v.chunk_id = c.id)"
                        " ORDER BY c.id LIMIT ?2", error);
  /* A passage removed meanwhile is simply not written. */
  insert = prepare (db, "INSERT OR REPLACE INTO chunk_vectors (embedder, chunk_id, vec)"
                        " SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM chunks WHERE id = ?2)", error);
  if (select == NULL || insert == NULL)
    return FALSE;
  pool = g_thread_pool_new (embed_batch, NULL, (int) n_workers, FALSE, error);
  if (pool == NULL)
    return FALSE;

  round.embedder = embedder;
  round.cancellable = cancellable;
  round.progress = progress;
  round.user_data = user_data;
  round.total = (guint) total;
  round.reported_us = g_get_monotonic_time ();
  g_mutex_init (&round.lock);
  g_cond_init (&round.cond);

  for (;;)
    {
      g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
      g_autofree float *vecs = NULL;
      g_autofree float *le = g_new (float, dim);
      int rc;

      sqlite3_reset (select);
      sqlite3_bind_text (select, 1, id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int (select, 2, ROUND_CHUNKS);
      while ((rc = sqlite3_step (select)) == SQLITE_ROW)
        {
          gint64 chunk_id = sqlite3_column_int64 (select, 0);
          const char *text = (const char *) sqlite3_column_text (select, 1);
          g_array_append_val (ids, chunk_id);
          g_ptr_array_add (texts, g_strdup (text != NULL ? text : ""));
        }
      sqlite3_reset (select);
      if (rc != SQLITE_DONE)
        {
          set_sql_error (db, error, "reading passages to embed");
          goto out;
        }
      if (ids->len == 0)
        break;

      vecs = g_new (float, (gsize) ids->len * dim);
      round.pending = 0;
      round.done = done;
      for (guint i = 0; i < ids->len; i += batch_size)
        {
          Batch *batch = g_new0 (Batch, 1);
          batch->round = &round;
          batch->texts = (const char **) texts->pdata + i;
          batch->n = MIN (batch_size, ids->len - i);
          batch->out = vecs + (gsize) i * dim;
          g_mutex_lock (&round.lock);
          round.pending++;
          g_mutex_unlock (&round.lock);
          g_thread_pool_push (pool, batch, NULL);
        }
      g_mutex_lock (&round.lock);
      while (round.pending > 0)
        g_cond_wait (&round.cond, &round.lock);
      g_mutex_unlock (&round.lock);
      if (round.error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&round.error));
          goto out;
        }

      /* One writer: this thread, one transaction per round. */
      if (!exec (db, "BEGIN IMMEDIATE", "writing vectors", error))
        goto out;
      for (guint i = 0; i < ids->len; i++)
        {
          vec_to_le (vecs + (gsize) i * dim, dim, le);
          sqlite3_reset (insert);
          sqlite3_bind_text (insert, 1, id, -1, SQLITE_TRANSIENT);
          sqlite3_bind_int64 (insert, 2, g_array_index (ids, gint64, i));
          sqlite3_bind_blob (insert, 3, le, (int) (sizeof (float) * dim), SQLITE_TRANSIENT);
          if (sqlite3_step (insert) != SQLITE_DONE)
            {
              set_sql_error (db, error, "writing vectors");
              sqlite3_reset (insert);
              exec (db, "ROLLBACK", "rolling back", NULL);
              goto out;
            }
        }
      sqlite3_reset (insert);
      if (!exec (db, "COMMIT", "writing vectors", error))
        {
          exec (db, "ROLLBACK", "rolling back", NULL);
          goto out;
        }
      done += ids->len;
      if (progress != NULL)
        {
          progress (done, (guint) MAX (total, (gint64) done), user_data);
          round.reported = done;
          round.reported_us = g_get_monotonic_time ();
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto out;
    }
  ok = TRUE;

out:
  if (pool != NULL)
    g_thread_pool_free (pool, FALSE, TRUE);   /* waits for the workers */
  g_mutex_clear (&round.lock);
  g_cond_clear (&round.cond);
  g_clear_error (&round.error);
  if (n_done != NULL)
    *n_done = done;
  return ok;
}

/* ---- vectors written beside their passages ----------------------------- */

struct _DocentVectorWriter
{
  sqlite3      *db;
  char         *id;
  guint         dim;
  sqlite3_stmt *insert;
  float        *le;
};

DocentVectorWriter *
docent_vector_writer_new (sqlite3        *db,
                          DocentEmbedder *embedder,
                          GError        **error)
{
  DocentVectorWriter *w;
  sqlite3_stmt *insert;

  g_return_val_if_fail (db != NULL && DOCENT_IS_EMBEDDER (embedder), NULL);

  if (!register_full (db, embedder, NULL, 0, error))
    return NULL;
  insert = prepare (db, "INSERT OR REPLACE INTO chunk_vectors (embedder, chunk_id, vec)"
                        " VALUES (?1, ?2, ?3)", error);
  if (insert == NULL)
    return NULL;
  w = g_new0 (DocentVectorWriter, 1);
  w->db = db;
  w->id = g_strdup (docent_embedder_get_model_id (embedder));
  w->dim = docent_embedder_get_dim (embedder);
  w->insert = insert;
  w->le = g_new (float, w->dim);
  return w;
}

const char *
docent_vector_writer_get_model_id (DocentVectorWriter *w)
{
  return w->id;
}

gboolean
docent_vector_writer_put (DocentVectorWriter  *w,
                          gint64               chunk_id,
                          const float         *vec,
                          GError             **error)
{
  int rc;

  vec_to_le (vec, w->dim, w->le);
  sqlite3_reset (w->insert);
  sqlite3_bind_text (w->insert, 1, w->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (w->insert, 2, chunk_id);
  sqlite3_bind_blob (w->insert, 3, w->le, (int) (sizeof (float) * w->dim), SQLITE_STATIC);
  rc = sqlite3_step (w->insert);
  sqlite3_reset (w->insert);
  if (rc != SQLITE_DONE)
    return set_sql_error (w->db, error, "writing vectors");
  return TRUE;
}

void
docent_vector_writer_free (DocentVectorWriter *w)
{
  if (w == NULL)
    return;
  sqlite3_finalize (w->insert);
  g_free (w->id);
  g_free (w->le);
  g_free (w);
}

/* Fitted statistics stored under @id that the next update keeps: 1 yes,
 * 0 no, -1 error. */
static int
fit_still_valid (sqlite3     *db,
                 const char  *id,
                 GError     **error)
{
  g_autoptr(sqlite3_stmt) stmt = prepare (db, "SELECT n_chunks_fit FROM embedders WHERE id = ?1", error);
  gint64 n_fit, n_chunks;

  if (stmt == NULL)
    return -1;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return 0;
  n_fit = sqlite3_column_int64 (stmt, 0);
  n_chunks = count_chunks (db, error);
  if (n_chunks < 0)
    return -1;
  /* the rule of docent_vector_store_dup_builtin (fit = TRUE) */
  return n_fit > 0 && n_chunks <= n_fit * 3 / 2 && n_chunks >= n_fit / 2;
}

gboolean
docent_vector_store_builtin_is_current (sqlite3         *db,
                                        DocentEmbedder  *embedder,
                                        GError         **error)
{
  g_autofree char *latest = NULL;
  int valid;

  g_return_val_if_fail (db != NULL && DOCENT_IS_EMBEDDER (embedder), FALSE);

  latest = docent_vector_store_dup_builtin_id (db, docent_embedder_get_dim (embedder));
  if (g_strcmp0 (latest, docent_embedder_get_model_id (embedder)) != 0)
    return FALSE;
  valid = fit_still_valid (db, latest, error);
  return valid > 0;
}

DocentEmbedder *
docent_vector_store_dup_builtin_frozen (sqlite3  *db,
                                        guint     dim,
                                        GError  **error)
{
  g_autoptr(DocentHashEmbedder) plain = docent_hash_embedder_new (dim);
  g_autoptr(DocentEmbedder) e = NULL;

  e = docent_vector_store_dup_builtin (db, dim, FALSE, error);
  if (e == NULL)
    return NULL;
  if (g_strcmp0 (docent_embedder_get_model_id (e),
                 docent_embedder_get_model_id (DOCENT_EMBEDDER (plain))) == 0)
    return NULL;   /* no statistics yet */
  /* Statistics about to be re-counted would make these vectors wasted
   * work: the catch-up after the run embeds everything under the new id. */
  if (fit_still_valid (db, docent_embedder_get_model_id (e), error) <= 0)
    return NULL;
  return g_steal_pointer (&e);
}

gboolean
docent_vector_store_update_builtin (sqlite3                 *db,
                                    guint                    dim,
                                    guint                    n_workers,
                                    GCancellable            *cancellable,
                                    DocentEmbedProgressFunc  progress,
                                    gpointer                 user_data,
                                    guint                   *n_done,
                                    GError                 **error)
{
  g_autoptr(DocentEmbedder) embedder = NULL;

  if (n_done != NULL)
    *n_done = 0;
  embedder = docent_vector_store_dup_builtin (db, dim, TRUE, error);
  if (embedder == NULL)
    return FALSE;
  if (!docent_vector_store_embed_missing_full (db, embedder, n_workers, cancellable,
                                               progress, user_data, n_done, error))
    return FALSE;
  /* Only once the new vectors are all there do the old ones go. */
  return docent_vector_store_drop_others (db, BUILTIN_PREFIX, docent_embedder_get_model_id (embedder),
                                          error);
}

/* ---- loading into the matrix ------------------------------------------- */

static gint
embedder_dim (sqlite3    *db,
              const char *model_id,
              GError    **error)
{
  g_autoptr(sqlite3_stmt) stmt = prepare (db, "SELECT dim FROM embedders WHERE id = ?1", error);

  if (stmt == NULL)
    return -1;
  sqlite3_bind_text (stmt, 1, model_id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_NOT_FOUND,
                   _("The library has no vectors from the embedder “%s”"), model_id);
      return -1;
    }
  return sqlite3_column_int (stmt, 0);
}

DocentVectorIndex *
docent_vector_store_load_index (sqlite3            *db,
                                const char         *model_id,
                                DocentVectorFormat  format,
                                GError            **error)
{
  g_autoptr(DocentVectorIndex) index = NULL;
  gint dim;

  g_return_val_if_fail (db != NULL && model_id != NULL, NULL);

  dim = embedder_dim (db, model_id, error);
  if (dim <= 0)
    return NULL;
  index = docent_vector_index_new (dim, format);
  if (!docent_vector_store_sync_index (db, model_id, index, error))
    return NULL;
  return g_steal_pointer (&index);
}

gboolean
docent_vector_store_sync_index (sqlite3           *db,
                                const char        *model_id,
                                DocentVectorIndex *index,
                                GError           **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GHashTable) present = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GArray) stale = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree float *v = NULL;
  guint dim = docent_vector_index_get_dim (index);
  const gint64 *ids;
  guint n_rows;
  int rc;

  g_return_val_if_fail (db != NULL && model_id != NULL && index != NULL, FALSE);

  /* One pass over the table: new rows go in as they come; ids seen are
   * remembered so rows whose passages are gone can be dropped after. */
  stmt = prepare (db, "SELECT chunk_id, vec FROM chunk_vectors WHERE embedder = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, model_id, -1, SQLITE_TRANSIENT);
  v = g_new (float, dim);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);

      g_hash_table_add (present, g_memdup2 (&id, sizeof id));
      if (docent_vector_index_contains (index, id))
        continue;
      if ((gsize) sqlite3_column_bytes (stmt, 1) != sizeof (float) * dim)
        {
          g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_CORRUPT,
                       _("A stored vector of passage %lld has the wrong length "
                         "for the embedder “%s”"), (long long) id, model_id);
          return FALSE;
        }
      vec_from_le (sqlite3_column_blob (stmt, 1), dim, v);
      docent_vector_index_add (index, id, v);
    }
  if (rc != SQLITE_DONE)
    return set_sql_error (db, error, "reading vectors");

  ids = docent_vector_index_get_ids (index, &n_rows);
  for (guint i = 0; i < n_rows; i++)
    if (!g_hash_table_contains (present, &ids[i]))
      g_array_append_val (stale, ids[i]);
  for (guint i = 0; i < stale->len; i++)
    docent_vector_index_remove (index, g_array_index (stale, gint64, i));
  return TRUE;
}
