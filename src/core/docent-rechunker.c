/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-rechunker"
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "docent-chunker.h"
#include "docent-error.h"
#include "docent-gguf-embedder.h"
#include "docent-hash-embedder.h"
#include "docent-rechunker.h"
#include "docent-store-private.h"
#include "docent-vector-store.h"

/* How a re-chunk runs:
 *
 *   GTask thread (the writer) ─ lists documents cut with other settings,
 *        │ hands a few at a time to the pool, writes each result in one
 *        ▼ transaction (old passages out, new passages and vectors in)
 *   worker pool ─ rebuild the document's text from its passages, cut it
 *                 with the new settings, embed the new passages in batches
 *
 * then the vectors' catch-up on the same thread (statistics of the built-in
 * embedder re-counted when the passage count moved by half, any passage
 * lacking a vector embedded). */

#define KEY_SIZE    "chunk-size"
#define KEY_OVERLAP "chunk-overlap"
#define KEY_EMBEDDING_MODEL "embedding-model"
#define BUILTIN_DIM DOCENT_HASH_EMBEDDER_DIM_DEFAULT
#define MAX_INLINE  2   /* the built-in embedder and the chosen model */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

/* ---- settings ---- */

gboolean
docent_chunking_validate (guint    size,
                          guint    overlap,
                          GError **error)
{
  if (size < DOCENT_CHUNK_SIZE_MIN || size > DOCENT_CHUNK_SIZE_MAX)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_USAGE,
                   _("A passage size of %u characters is out of range: choose %u to %u"),
                   size, DOCENT_CHUNK_SIZE_MIN, DOCENT_CHUNK_SIZE_MAX);
      return FALSE;
    }
  if (overlap > size / 2)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_USAGE,
                   _("An overlap of %u characters is too large for passages of %u: "
                     "choose 0 to %u (half the size)"), overlap, size, size / 2);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_uint_setting (DocentStore *store,
                   const char  *key,
                   guint        fallback,
                   guint       *out,
                   GError     **error)
{
  g_autofree char *value = NULL;
  guint64 v;

  if (!_docent_store_get_setting (store, key, &value, error))
    return FALSE;
  if (value == NULL)
    {
      *out = fallback;
      return TRUE;
    }
  if (!g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT, &v, NULL))
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_CORRUPT,
                   _("The library's setting %s is “%s”, not a number; set it again "
                     "(docent library set %s N)"), key, value, key);
      return FALSE;
    }
  *out = (guint) v;
  return TRUE;
}

gboolean
docent_chunking_get (DocentStore *store,
                     guint       *size,
                     guint       *overlap,
                     GError     **error)
{
  guint s, o;

  g_return_val_if_fail (DOCENT_IS_STORE (store), FALSE);

  if (!read_uint_setting (store, KEY_SIZE, DOCENT_CHUNK_SIZE_DEFAULT, &s, error) ||
      !read_uint_setting (store, KEY_OVERLAP, DOCENT_CHUNK_OVERLAP_DEFAULT, &o, error))
    return FALSE;
  if (!docent_chunking_validate (s, o, NULL))
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_CORRUPT,
                   _("The library's passage settings (size %u, overlap %u) are out of range; "
                     "set them again (docent library set chunk-size N)"), s, o);
      return FALSE;
    }
  if (size != NULL)
    *size = s;
  if (overlap != NULL)
    *overlap = o;
  return TRUE;
}

gboolean
docent_chunking_set (DocentStore *store,
                     guint        size,
                     guint        overlap,
                     GError     **error)
{
  char s[16], o[16];

  g_return_val_if_fail (DOCENT_IS_STORE (store), FALSE);

  if (!docent_chunking_validate (size, overlap, error))
    return FALSE;
  g_snprintf (s, sizeof s, "%u", size);
  g_snprintf (o, sizeof o, "%u", overlap);
  if (!_docent_store_begin (store, error))
    return FALSE;
  if (!_docent_store_set_setting (store, KEY_SIZE, s, error) ||
      !_docent_store_set_setting (store, KEY_OVERLAP, o, error) ||
      !_docent_store_commit (store, error))
    {
      _docent_store_rollback (store);
      return FALSE;
    }
  return TRUE;
}

gboolean
docent_embedding_model_get (DocentStore  *store,
                            char        **path,
                            GError      **error)
{
  g_return_val_if_fail (DOCENT_IS_STORE (store), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  return _docent_store_get_setting (store, KEY_EMBEDDING_MODEL, path, error);
}

gboolean
docent_embedding_model_set (DocentStore  *store,
                            const char   *path,
                            GError      **error)
{
  g_return_val_if_fail (DOCENT_IS_STORE (store), FALSE);

  return _docent_store_set_setting (store, KEY_EMBEDDING_MODEL, path ? path : "", error);
}

gboolean
docent_embedding_model_load (const char      *path,
                             DocentEmbedder **embedder,
                             GError         **error)
{
  DocentGgufEmbedder *gguf;

  g_return_val_if_fail (embedder != NULL, FALSE);

  *embedder = NULL;
  if (path == NULL || path[0] == '\0')
    return TRUE;
  gguf = docent_gguf_embedder_new (path, error);
  if (gguf == NULL)
    return FALSE;
  *embedder = DOCENT_EMBEDDER (gguf);
  return TRUE;
}

gboolean
docent_embedding_model_dup_embedder (DocentStore     *store,
                                     DocentEmbedder **embedder,
                                     GError         **error)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (DOCENT_IS_STORE (store), FALSE);
  g_return_val_if_fail (embedder != NULL, FALSE);

  *embedder = NULL;
  if (!docent_embedding_model_get (store, &path, error))
    return FALSE;
  return docent_embedding_model_load (path, embedder, error);
}

gint64
docent_rechunker_count_unembedded (DocentStore    *store,
                                   DocentEmbedder *embedder,
                                   GError        **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  sqlite3 *db;

  g_return_val_if_fail (DOCENT_IS_STORE (store), -1);
  g_return_val_if_fail (DOCENT_IS_EMBEDDER (embedder), -1);

  db = docent_store_get_db (store);
  if (sqlite3_prepare_v2 (db, "SELECT count(*) FROM chunks c"
                              " WHERE NOT EXISTS (SELECT 1 FROM chunk_vectors v"
                              "                   WHERE v.embedder = ?1 AND v.chunk_id = c.id)",
                          -1, &stmt, NULL) != SQLITE_OK)
    goto fail;
  sqlite3_bind_text (stmt, 1, docent_embedder_get_model_id (embedder), -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    goto fail;
  return sqlite3_column_int64 (stmt, 0);

fail:
  _docent_store_set_error (store, sqlite3_errcode (db), error, "counting passages to embed");
  return -1;
}

/* Documents with passages cut otherwise (failed ones have none: a
 * re-import cuts them with the library's settings). */
#define PENDING_WHERE \
  " WHERE status != 'failed' AND (chunk_size IS NOT ?1 OR chunk_overlap IS NOT ?2)"

gint64
docent_rechunker_count_pending (DocentStore *store,
                                GError     **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  sqlite3 *db;
  guint size, overlap;

  g_return_val_if_fail (DOCENT_IS_STORE (store), -1);

  if (!docent_chunking_get (store, &size, &overlap, error))
    return -1;
  db = docent_store_get_db (store);
  if (sqlite3_prepare_v2 (db, "SELECT count(*) FROM documents" PENDING_WHERE, -1, &stmt, NULL) != SQLITE_OK)
    goto fail;
  sqlite3_bind_int (stmt, 1, size);
  sqlite3_bind_int (stmt, 2, overlap);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    goto fail;
  return sqlite3_column_int64 (stmt, 0);

fail:
  _docent_store_set_error (store, sqlite3_errcode (db), error, "counting documents to re-cut");
  return -1;
}

/* ---- the object ---- */

struct _DocentRechunker
{
  GObject         parent_instance;

  char           *library_path;
  guint           n_workers;
  DocentEmbedder *embedder;
  gboolean        embed;
};

G_DEFINE_FINAL_TYPE (DocentRechunker, docent_rechunker, G_TYPE_OBJECT)

enum {
  SIGNAL_PROGRESS,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct {
  gint64          doc_id;
  char           *name;
  char           *sha256;
  DocentDocType   type;
  GPtrArray      *chunks;              /* DocentChunk*, the new passages */
  float          *vecs[MAX_INLINE];
  GError         *error;
} DocJob;

typedef struct {
  DocentRechunker *self;
  char            *library_path;
  guint            n_workers;
  guint            size;
  guint            overlap;
  gboolean         embed;
  DocentEmbedder  *extra;
  DocentEmbedder  *inline_embedders[MAX_INLINE];
  guint            n_inline;
  GCancellable    *cancellable;
  GMainContext    *context;
  GAsyncQueue     *finished;           /* DocJob* */

  GMutex           lock;               /* progress */
  DocentRechunkPhase phase;
  guint            docs_total;
  guint            docs_done;
  guint            chunks_total;
  guint            chunks_done;
  char            *current;
  gint64           start_us;
  gint64           phase_start_us;

  guint            n_docs;             /* results */
  guint            n_embedded;
} Run;

static void
doc_job_free (DocJob *job)
{
  g_clear_pointer (&job->chunks, g_ptr_array_unref);
  for (guint i = 0; i < MAX_INLINE; i++)
    g_free (job->vecs[i]);
  g_clear_error (&job->error);
  g_free (job->name);
  g_free (job->sha256);
  g_free (job);
}

static void
run_free (Run *run)
{
  g_clear_object (&run->self);
  g_clear_object (&run->extra);
  for (guint i = 0; i < run->n_inline; i++)
    g_clear_object (&run->inline_embedders[i]);
  g_clear_object (&run->cancellable);
  g_clear_pointer (&run->context, g_main_context_unref);
  g_clear_pointer (&run->finished, g_async_queue_unref);
  g_mutex_clear (&run->lock);
  g_free (run->current);
  g_free (run->library_path);
  g_free (run);
}

static gboolean
emit_progress (gpointer data)
{
  Run *run = data;
  DocentRechunkProgress p = { 0 };
  g_autofree char *current = NULL;
  double phase_s;
  guint done, total;

  g_mutex_lock (&run->lock);
  p.phase = run->phase;
  p.docs_total = run->docs_total;
  p.docs_done = run->docs_done;
  p.chunks_total = run->chunks_total;
  p.chunks_done = run->chunks_done;
  current = g_strdup (run->current);
  phase_s = (g_get_monotonic_time () - run->phase_start_us) / 1e6;
  g_mutex_unlock (&run->lock);

  p.elapsed_s = (g_get_monotonic_time () - run->start_us) / 1e6;
  p.current = current;
  done = p.phase == DOCENT_RECHUNK_PHASE_SPLIT ? p.docs_done : p.chunks_done;
  total = p.phase == DOCENT_RECHUNK_PHASE_SPLIT ? p.docs_total : p.chunks_total;
  p.eta_s = done > 0 && total >= done ? phase_s * (total - done) / done : -1;
  g_signal_emit (run->self, signals[SIGNAL_PROGRESS], 0, &p);
  return G_SOURCE_CONTINUE;
}

/* ---- workers: one document each ---- */

static gboolean
collect_chunk (DocentChunk *chunk,
               gpointer     user_data)
{
  g_ptr_array_add (user_data, chunk);
  return TRUE;
}

typedef struct {
  gint64 start, end;
  guint  line_first, line_last;
} Span;

/* The document's text as the chunker first saw it: every passage's code
 * points in place; between passages only whitespace was dropped, rebuilt
 * as the line breaks the line numbers count, the form feeds between pages,
 * and spaces. */
static gunichar *
rebuild_text (DocentStore  *store,
              DocJob       *job,
              GPtrArray    *pages,
              gint64       *n_out,
              GError      **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GArray) spans = g_array_new (FALSE, FALSE, sizeof (Span));
  g_autofree gunichar *text = NULL;
  g_autofree guint8 *known = NULL;
  sqlite3 *db = docent_store_get_db (store);
  gint64 n = 0;
  int rc;

  if (sqlite3_prepare_v2 (db, "SELECT char_start, char_end, line_first, line_last FROM chunks"
                              " WHERE doc_id = ?1 ORDER BY char_start, ordinal", -1, &stmt, NULL) != SQLITE_OK)
    goto sql_fail;
  sqlite3_bind_int64 (stmt, 1, job->doc_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      Span s = { sqlite3_column_int64 (stmt, 0), sqlite3_column_int64 (stmt, 1),
                 sqlite3_column_int (stmt, 2), sqlite3_column_int (stmt, 3) };
      if (s.start < 0 || s.end <= s.start || s.end > G_MAXINT32)
        goto corrupt;
      n = MAX (n, s.end);
      g_array_append_val (spans, s);
    }
  if (rc != SQLITE_DONE)
    goto sql_fail;
  for (guint i = 0; i < pages->len; i++)
    {
      const DocentPage *p = pages->pdata[i];
      if (p->char_start < 0 || p->char_end < p->char_start || p->char_end > G_MAXINT32)
        goto corrupt;
      n = MAX (n, p->char_end);
    }

  text = g_new (gunichar, n + 1);
  known = g_new0 (guint8, n + 1);

  /* The passages' own text. */
  sqlite3_finalize (g_steal_pointer (&stmt));
  if (sqlite3_prepare_v2 (db, "SELECT char_start, char_end, text FROM chunks WHERE doc_id = ?1",
                          -1, &stmt, NULL) != SQLITE_OK)
    goto sql_fail;
  sqlite3_bind_int64 (stmt, 1, job->doc_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 start = sqlite3_column_int64 (stmt, 0), end = sqlite3_column_int64 (stmt, 1);
      const char *utf8 = (const char *) sqlite3_column_text (stmt, 2);
      g_autofree gunichar *cps = NULL;
      glong len = 0;

      if (utf8 == NULL || !g_utf8_validate (utf8, -1, NULL))
        goto corrupt;
      cps = g_utf8_to_ucs4_fast (utf8, -1, &len);
      if (len != end - start)
        goto corrupt;
      memcpy (text + start, cps, sizeof (gunichar) * len);
      memset (known + start, 1, len);
    }
  if (rc != SQLITE_DONE)
    goto sql_fail;

  /* Page breaks. */
  for (guint i = 0; i + 1 < pages->len; i++)
    {
      gint64 at = ((const DocentPage *) pages->pdata[i])->char_end;
      if (at < n && !known[at])
        {
          text[at] = '\f';
          known[at] = 1;
        }
    }

  /* Gaps: as many line breaks as the line numbers say, then spaces. */
  {
    gint64 from = 0;
    guint line = 1;

    for (guint i = 0; i <= spans->len; i++)
      {
        gint64 to = i < spans->len ? g_array_index (spans, Span, i).start : n;
        guint next_line = i < spans->len ? g_array_index (spans, Span, i).line_first : line;
        guint breaks = next_line > line ? next_line - line : 0;

        for (gint64 at = from; at < to; at++)
          if (!known[at])
            {
              text[at] = breaks > 0 ? '\n' : ' ';
              if (breaks > 0)
                breaks--;
              known[at] = 1;
            }
        if (i < spans->len)
          {
            const Span *s = &g_array_index (spans, Span, i);
            if (s->end > from)
              {
                from = s->end;
                line = s->line_last;
              }
          }
      }
  }
  text[n] = 0;
  *n_out = n;
  return g_steal_pointer (&text);

sql_fail:
  _docent_store_set_error (store, sqlite3_errcode (db), error, "reading passages to re-cut");
  return NULL;
corrupt:
  g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_CORRUPT,
               _("The passages of %s in the library are inconsistent; re-import the file "
                 "to cut it again"), job->name);
  return NULL;
}

static gboolean
feed_range (DocentChunker  *chunker,
            const gunichar *text,
            gint64          from,
            gint64          to)
{
  /* In blocks, so a huge text file never needs a second full copy. */
  while (from < to)
    {
      gint64 n = MIN (to - from, 65536);
      g_autofree char *utf8 = g_ucs4_to_utf8 (text + from, n, NULL, NULL, NULL);
      if (utf8 == NULL || !docent_chunker_feed (chunker, utf8, -1))
        return FALSE;
      from += n;
    }
  return TRUE;
}

static gboolean
split_job (Run       *run,
           DocJob    *job,
           GError   **error)
{
  g_autoptr(DocentStore) store = docent_store_open (run->library_path, error);
  g_autoptr(GPtrArray) pages = NULL;
  g_autoptr(DocentChunker) chunker = NULL;
  g_autofree gunichar *text = NULL;
  gint64 n = 0;

  if (store == NULL)
    return FALSE;
  pages = docent_store_dup_pages (store, job->doc_id, error);
  if (pages == NULL)
    return FALSE;
  text = rebuild_text (store, job, pages, &n, error);
  if (text == NULL)
    return FALSE;
  g_clear_object (&store);   /* no read transaction held while cutting */

  job->chunks = g_ptr_array_new_with_free_func ((GDestroyNotify) docent_chunk_free);
  chunker = docent_chunker_new (run->size, run->overlap, collect_chunk, job->chunks);
  if (job->type == DOCENT_DOC_TYPE_PDF && pages->len > 0)
    {
      for (guint i = 0; i < pages->len; i++)
        {
          const DocentPage *p = pages->pdata[i];
          docent_chunker_begin_page (chunker, p->number, p->label);
          if (!feed_range (chunker, text, p->char_start, MIN (p->char_end, n)))
            break;
        }
    }
  else
    feed_range (chunker, text, 0, n);
  docent_chunker_finish (chunker);
  return !g_cancellable_set_error_if_cancelled (run->cancellable, error);
}

static gboolean
embed_job (Run     *run,
           DocJob  *job,
           GError **error)
{
  g_autofree const char **texts = NULL;
  guint n = job->chunks->len;

  if (n == 0 || run->n_inline == 0)
    return TRUE;
  texts = g_new (const char *, n);
  for (guint i = 0; i < n; i++)
    texts[i] = ((DocentChunk *) job->chunks->pdata[i])->text;
  for (guint e = 0; e < run->n_inline; e++)
    {
      DocentEmbedder *embedder = run->inline_embedders[e];
      guint dim = docent_embedder_get_dim (embedder);
      guint batch = MAX (1, docent_embedder_get_batch_size (embedder));

      job->vecs[e] = g_new (float, (gsize) n * dim);
      for (guint i = 0; i < n; i += batch)
        if (!docent_embedder_embed (embedder, DOCENT_EMBED_PASSAGE, texts + i, MIN (batch, n - i),
                                    job->vecs[e] + (gsize) i * dim, run->cancellable, error))
          return FALSE;
    }
  return TRUE;
}

static void
worker_run (gpointer data,
            gpointer user_data)
{
  DocJob *job = data;
  Run *run = user_data;

  g_mutex_lock (&run->lock);
  g_free (run->current);
  run->current = g_strdup (job->name);
  g_mutex_unlock (&run->lock);

  if (!g_cancellable_set_error_if_cancelled (run->cancellable, &job->error) &&
      split_job (run, job, &job->error))
    embed_job (run, job, &job->error);
  g_async_queue_push (run->finished, job);
}

/* ---- the writer ---- */

static gboolean
write_job (Run                 *run,
           DocentStore         *store,
           DocentVectorWriter **writers,
           DocJob              *job,
           gboolean            *written,
           GError             **error)
{
  sqlite3 *db = docent_store_get_db (store);
  g_autoptr(sqlite3_stmt) check = NULL;
  g_autoptr(sqlite3_stmt) del = NULL;
  g_autoptr(sqlite3_stmt) count = NULL;
  int rc;

  *written = FALSE;
  if (!_docent_store_begin (store, error))
    return FALSE;
  /* Re-imported (or re-cut by another run) meanwhile: leave it as it is. */
  if (sqlite3_prepare_v2 (db, "SELECT 1 FROM documents WHERE id = ?1 AND sha256 IS ?2"
                              " AND (chunk_size IS NOT ?3 OR chunk_overlap IS NOT ?4)",
                          -1, &check, NULL) != SQLITE_OK)
    goto sql_fail;
  sqlite3_bind_int64 (check, 1, job->doc_id);
  if (job->sha256 != NULL)
    sqlite3_bind_text (check, 2, job->sha256, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (check, 3, run->size);
  sqlite3_bind_int (check, 4, run->overlap);
  rc = sqlite3_step (check);
  if (rc == SQLITE_DONE)
    {
      _docent_store_rollback (store);
      return TRUE;
    }
  if (rc != SQLITE_ROW)
    goto sql_fail;

  /* Old passages out: their index entries and vectors go with them. */
  if (sqlite3_prepare_v2 (db, "DELETE FROM chunks WHERE doc_id = ?1", -1, &del, NULL) != SQLITE_OK)
    goto sql_fail;
  sqlite3_bind_int64 (del, 1, job->doc_id);
  if (sqlite3_step (del) != SQLITE_DONE)
    goto sql_fail;

  for (guint i = 0; i < job->chunks->len; i++)
    {
      DocentChunk *chunk = job->chunks->pdata[i];
      gint64 chunk_id;

      if (!_docent_store_add_chunk (store, job->doc_id, chunk, error))
        goto fail;
      chunk_id = sqlite3_last_insert_rowid (db);
      for (guint e = 0; e < run->n_inline; e++)
        {
          guint dim = docent_embedder_get_dim (run->inline_embedders[e]);
          if (!docent_vector_writer_put (writers[e], chunk_id, job->vecs[e] + (gsize) i * dim, error))
            goto fail;
        }
    }

  if (sqlite3_prepare_v2 (db, "UPDATE documents SET chunks = ?2 WHERE id = ?1", -1, &count, NULL) != SQLITE_OK)
    goto sql_fail;
  sqlite3_bind_int64 (count, 1, job->doc_id);
  sqlite3_bind_int (count, 2, job->chunks->len);
  if (sqlite3_step (count) != SQLITE_DONE)
    goto sql_fail;
  if (!_docent_store_set_document_chunking (store, job->doc_id, run->size, run->overlap, error) ||
      !_docent_store_commit (store, error))
    goto fail;
  *written = TRUE;
  return TRUE;

sql_fail:
  _docent_store_set_error (store, sqlite3_errcode (db), error, "re-cutting a document");
fail:
  _docent_store_rollback (store);
  return FALSE;
}

static void
embed_progress (guint    done,
                guint    total,
                gpointer user_data)
{
  Run *run = user_data;

  g_mutex_lock (&run->lock);
  run->chunks_done = done;
  run->chunks_total = total;
  g_mutex_unlock (&run->lock);
}

static void
set_phase (Run                *run,
           DocentRechunkPhase  phase)
{
  g_mutex_lock (&run->lock);
  run->phase = phase;
  run->chunks_done = 0;
  run->chunks_total = 0;
  run->phase_start_us = g_get_monotonic_time ();
  g_clear_pointer (&run->current, g_free);
  g_mutex_unlock (&run->lock);
}

typedef struct {
  Run     *run;
  GSource *progress_source;
} TaskData;

static void
run_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  Run *run = ((TaskData *) task_data)->run;
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(sqlite3_stmt) list = NULL;
  g_autoptr(GPtrArray) jobs = g_ptr_array_new ();
  DocentVectorWriter *writers[MAX_INLINE] = { NULL };
  GThreadPool *pool = NULL;
  sqlite3 *db;
  guint pushed = 0, received = 0;
  int rc;

  store = docent_store_open (run->library_path, &error);
  if (store == NULL || !docent_chunking_get (store, &run->size, &run->overlap, &error))
    goto out;
  db = docent_store_get_db (store);

  /* Vectors made with the passages: the chosen model's, and the built-in
   * one's while its statistics stay valid. */
  if (run->embed)
    {
      DocentEmbedder *builtin = docent_vector_store_dup_builtin_frozen (db, BUILTIN_DIM, &error);
      if (error != NULL)
        goto out;
      if (builtin != NULL)
        run->inline_embedders[run->n_inline++] = builtin;
    }
  if (run->extra != NULL)
    run->inline_embedders[run->n_inline++] = g_object_ref (run->extra);
  for (guint e = 0; e < run->n_inline; e++)
    if ((writers[e] = docent_vector_writer_new (db, run->inline_embedders[e], &error)) == NULL)
      goto out;

  if (sqlite3_prepare_v2 (db, "SELECT id, name, sha256, type FROM documents" PENDING_WHERE
                              " ORDER BY id", -1, &list, NULL) != SQLITE_OK)
    goto list_fail;
  sqlite3_bind_int (list, 1, run->size);
  sqlite3_bind_int (list, 2, run->overlap);
  while ((rc = sqlite3_step (list)) == SQLITE_ROW)
    {
      DocJob *job = g_new0 (DocJob, 1);
      job->doc_id = sqlite3_column_int64 (list, 0);
      job->name = g_strdup ((const char *) sqlite3_column_text (list, 1));
      job->sha256 = g_strdup ((const char *) sqlite3_column_text (list, 2));
      job->type = g_strcmp0 ((const char *) sqlite3_column_text (list, 3), "pdf") == 0
                    ? DOCENT_DOC_TYPE_PDF : DOCENT_DOC_TYPE_TEXT;
      g_ptr_array_add (jobs, job);
    }
  if (rc != SQLITE_DONE)
    goto list_fail;
  sqlite3_finalize (g_steal_pointer (&list));

  g_mutex_lock (&run->lock);
  run->docs_total = jobs->len;
  g_mutex_unlock (&run->lock);

  pool = g_thread_pool_new (worker_run, run, run->n_workers, FALSE, NULL);
  /* A few documents in flight per worker: memory stays bounded. */
  while (received < jobs->len)
    {
      DocJob *job;
      gboolean written = FALSE;

      while (pushed < jobs->len && pushed - received < 2 * run->n_workers &&
             !g_cancellable_is_cancelled (run->cancellable) && error == NULL)
        g_thread_pool_push (pool, jobs->pdata[pushed++], NULL);
      if (received == pushed)
        break;   /* cancelled or failed: nothing more in flight */
      job = g_async_queue_pop (run->finished);
      received++;
      if (error == NULL && job->error != NULL)
        {
          if (job->error->domain == DOCENT_ERROR && job->error->code == DOCENT_ERROR_CORRUPT)
            g_message ("%s", job->error->message);   /* keeps its old passages */
          else
            error = g_steal_pointer (&job->error);
        }
      else if (error == NULL)
        write_job (run, store, writers, job, &written, &error);
      g_mutex_lock (&run->lock);
      run->docs_done++;
      if (written)
        {
          run->n_docs++;
          run->chunks_done += job->chunks->len;
        }
      g_mutex_unlock (&run->lock);
      doc_job_free (job);
    }
  g_thread_pool_free (pool, FALSE, TRUE);
  for (guint i = pushed; i < jobs->len; i++)
    doc_job_free (jobs->pdata[i]);
  g_ptr_array_set_size (jobs, 0);
  if (error == NULL)
    g_cancellable_set_error_if_cancelled (run->cancellable, &error);
  if (error != NULL)
    goto out;

  /* The catch-up: statistics re-counted when the passage count moved by
   * half (all vectors anew, under a new id), anything still lacking one. */
  set_phase (run, DOCENT_RECHUNK_PHASE_EMBED);
  if (run->embed)
    {
      guint n = 0;
      if (!docent_vector_store_update_builtin (db, BUILTIN_DIM, run->n_workers, run->cancellable,
                                               embed_progress, run, &n, &error))
        goto out;
      run->n_embedded += n;
    }
  if (run->extra != NULL)
    {
      guint n = 0;
      if (!docent_vector_store_embed_missing_full (db, run->extra, run->n_workers, run->cancellable,
                                                   embed_progress, run, &n, &error))
        goto out;
      run->n_embedded += n;
    }
  goto out;

list_fail:
  _docent_store_set_error (store, sqlite3_errcode (docent_store_get_db (store)), &error,
                           "listing documents to re-cut");
out:
  for (guint e = 0; e < MAX_INLINE; e++)
    docent_vector_writer_free (writers[e]);
  for (guint i = 0; i < jobs->len; i++)
    doc_job_free (jobs->pdata[i]);
  if (error != NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
task_data_free (TaskData *td)
{
  g_source_destroy (td->progress_source);
  g_source_unref (td->progress_source);
  run_free (td->run);
  g_free (td);
}

void
docent_rechunker_run_async (DocentRechunker     *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  TaskData *td;
  Run *run;

  g_return_if_fail (DOCENT_IS_RECHUNKER (self));

  run = g_new0 (Run, 1);
  run->self = g_object_ref (self);
  run->library_path = g_strdup (self->library_path);
  run->n_workers = self->n_workers;
  run->embed = self->embed;
  run->extra = self->embedder ? g_object_ref (self->embedder) : NULL;
  run->cancellable = cancellable ? g_object_ref (cancellable) : g_cancellable_new ();
  run->context = g_main_context_ref_thread_default ();
  run->finished = g_async_queue_new ();
  g_mutex_init (&run->lock);
  run->start_us = run->phase_start_us = g_get_monotonic_time ();

  td = g_new0 (TaskData, 1);
  td->run = run;
  td->progress_source = g_timeout_source_new (100);
  g_source_set_callback (td->progress_source, emit_progress, run, NULL);
  g_source_attach (td->progress_source, run->context);

  task = g_task_new (self, run->cancellable, callback, user_data);
  g_task_set_source_tag (task, docent_rechunker_run_async);
  g_task_set_task_data (task, td, (GDestroyNotify) task_data_free);
  g_task_run_in_thread (task, run_thread);
}

gboolean
docent_rechunker_run_finish (DocentRechunker  *self,
                             GAsyncResult     *result,
                             guint            *n_docs,
                             guint            *n_embedded,
                             GError          **error)
{
  TaskData *td;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  td = g_task_get_task_data (G_TASK (result));
  if (n_docs != NULL)
    *n_docs = td->run->n_docs;
  if (n_embedded != NULL)
    *n_embedded = td->run->n_embedded;
  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  /* One last snapshot, so a listener sees the end. */
  emit_progress (td->run);
  return TRUE;
}

static void
sync_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

gboolean
docent_rechunker_run_sync (DocentRechunker  *self,
                           GCancellable     *cancellable,
                           guint            *n_docs,
                           guint            *n_embedded,
                           GError          **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  GAsyncResult *result = NULL;
  gboolean ok;

  g_main_context_push_thread_default (context);
  docent_rechunker_run_async (self, cancellable, sync_done, &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  ok = docent_rechunker_run_finish (self, result, n_docs, n_embedded, error);
  g_object_unref (result);
  g_main_context_pop_thread_default (context);
  return ok;
}

static void
docent_rechunker_finalize (GObject *object)
{
  DocentRechunker *self = DOCENT_RECHUNKER (object);

  g_free (self->library_path);
  g_clear_object (&self->embedder);
  G_OBJECT_CLASS (docent_rechunker_parent_class)->finalize (object);
}

static void
docent_rechunker_class_init (DocentRechunkerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = docent_rechunker_finalize;

  signals[SIGNAL_PROGRESS] =
    g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
docent_rechunker_init (DocentRechunker *self)
{
  self->n_workers = MAX (1, g_get_num_processors ());
  self->embed = TRUE;
}

DocentRechunker *
docent_rechunker_new (const char *library_path)
{
  DocentRechunker *self;

  g_return_val_if_fail (library_path != NULL, NULL);
  self = g_object_new (DOCENT_TYPE_RECHUNKER, NULL);
  self->library_path = g_strdup (library_path);
  return self;
}

void
docent_rechunker_set_n_workers (DocentRechunker *self,
                                guint            n_workers)
{
  g_return_if_fail (DOCENT_IS_RECHUNKER (self));
  self->n_workers = MAX (1, n_workers);
}

void
docent_rechunker_set_embedder (DocentRechunker *self,
                               DocentEmbedder  *embedder)
{
  g_return_if_fail (DOCENT_IS_RECHUNKER (self));
  g_return_if_fail (embedder == NULL || DOCENT_IS_EMBEDDER (embedder));
  g_set_object (&self->embedder, embedder);
}

void
docent_rechunker_set_embed (DocentRechunker *self,
                            gboolean         embed)
{
  g_return_if_fail (DOCENT_IS_RECHUNKER (self));
  self->embed = embed;
}
