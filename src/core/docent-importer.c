/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-importer"
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <stdlib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "docent-error.h"
#include "docent-extract.h"
#include "docent-importer.h"
#include "docent-hash-embedder.h"
#include "docent-rechunker.h"
#include "docent-store-private.h"
#include "docent-vector-store.h"

/* How an import runs:
 *
 *   coordinator (GTask thread) ─ walks folders, queues paths ─► writer ops
 *        │ pushes files
 *        ▼
 *   worker threads ─ hash, extract, chunk ─► job ─► writer ops
 *                                                          │
 *   writer thread ─ owns the only write connection; one transaction per
 *                   document, so a crash never leaves half of one.
 *
 * A job is handed to the writer when its extraction is done, or early when
 * its passages pass a memory bound; then the worker waits while the writer
 * drains them, so a huge file streams through in bounded memory. */

#define PENDING_LIMIT_BYTES (8 * 1024 * 1024)
#define HASH_BLOCK (1024 * 1024)
#define MAX_INLINE 2    /* embedders run on the workers: built-in, chosen model */
#define BUILTIN_DIM DOCENT_HASH_EMBEDDER_DIM_DEFAULT
/* A background run's workers and writer: a nice-10 thread weighs about a
 * tenth of a nice-0 one, so the thread that draws a window gets a core at
 * once while the workers keep both busy. */
#define BACKGROUND_NICE 10

/* A passage on its way to the writer, with its vectors (one per inline
 * embedder) when embedding runs on the workers. */
typedef struct {
  DocentChunk *chunk;
  float       *vec[MAX_INLINE];
} Passage;

static void
passage_free (Passage *p)
{
  docent_chunk_free (p->chunk);
  for (guint i = 0; i < MAX_INLINE; i++)
    g_free (p->vec[i]);
  g_free (p);
}

typedef struct _ImportRun ImportRun;

typedef struct {
  ImportRun      *run;
  char           *path;          /* canonical */
  DocentDocument *doc;
  DocentChunker  *chunker;

  GMutex          lock;
  GCond           cond;
  GQueue          pending;       /* Passage* not yet written */
  GPtrArray      *unembedded;    /* DocentChunk* waiting for a full batch (worker only) */
  GError         *embed_error;
  gsize           pending_bytes;
  gboolean        handed_off;
  gboolean        done;          /* extraction finished */
  gboolean        stop;          /* the writer failed: stop extracting */
  guint           pages_seen;
  GError         *error;         /* extraction failure */
  GArray         *pages;         /* DocentPage, set when done */
} Job;

typedef enum {
  OP_QUEUE_ADD,
  OP_DOCUMENT,
  OP_SKIP,        /* a result decided by a worker without writing passages */
  OP_QUIT,
} OpKind;

typedef struct {
  OpKind                  kind;
  GPtrArray              *paths;    /* OP_QUEUE_ADD */
  Job                    *job;      /* OP_DOCUMENT */
  DocentImportFileResult *result;   /* OP_SKIP */
  gboolean                dequeue;  /* OP_SKIP: also drop the path from the queue */
} WriterOp;

struct _ImportRun
{
  DocentImporter *importer;
  char           *library_path;
  char           *password;
  guint           n_workers;
  gboolean        background;      /* workers and writer at a lower priority */
  GAsyncQueue    *files;           /* paths for the workers; stop_marker ends one */
  guint           chunk_size;
  guint           chunk_overlap;
  gboolean        chunking_set;    /* else the library's own settings */
  gboolean        embed;           /* the built-in embedder's vectors */
  DocentEmbedder *extra;           /* the chosen embedding model, or NULL */
  DocentEmbedder *inline_embedders[MAX_INLINE];  /* run on the workers */
  DocentVectorWriter *writers[MAX_INLINE];       /* the writer thread's */
  guint           n_inline;
  guint           batch_size;
  GCancellable   *cancellable;
  GMainContext   *context;

  GAsyncQueue    *writer_ops;
  GMutex          lock;
  GHashTable     *claimed_paths;   /* canonical paths taken by this run */
  GHashTable     *claimed_hashes;  /* sha256 → path, for duplicates within the run */
  GPtrArray      *results;
  GError         *fatal;           /* the library itself failed */

  /* Progress, under lock. */
  guint           files_total;
  guint           files_queued;    /* handed to the workers */
  guint           files_started;   /* taken by a worker */
  guint           files_done;
  guint           active;          /* workers busy with a file */
  guint           pages_done;
  guint64         bytes_total;
  guint64         bytes_done;
  gint64          start_us;
  char           *current;
  DocentImportPhase phase;
  guint           chunks_to_embed;
  guint           chunks_embedded;
};

struct _DocentImporter
{
  GObject  parent_instance;

  char    *library_path;
  char    *password;
  guint    n_workers;
  gboolean background;
  guint    chunk_size;
  guint    chunk_overlap;
  gboolean chunking_set;
  gboolean embed;
  DocentEmbedder *embedder;
};

G_DEFINE_FINAL_TYPE (DocentImporter, docent_importer, G_TYPE_OBJECT)

enum {
  SIGNAL_PROGRESS,
  SIGNAL_FILE_DONE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

void
docent_import_file_result_free (DocentImportFileResult *r)
{
  if (r == NULL)
    return;
  g_free (r->path);
  g_free (r->name);
  g_free (r->reason);
  g_free (r);
}

static DocentImportFileResult *
file_result_new (const char          *path,
                 DocentImportOutcome  outcome,
                 const char          *reason)
{
  DocentImportFileResult *r = g_new0 (DocentImportFileResult, 1);

  r->path = g_strdup (path);
  r->name = g_path_get_basename (path);
  r->outcome = outcome;
  r->reason = g_strdup (reason);
  return r;
}

static DocentImportFileResult *
file_result_copy (const DocentImportFileResult *r)
{
  DocentImportFileResult *copy = g_memdup2 (r, sizeof *r);

  copy->path = g_strdup (r->path);
  copy->name = g_strdup (r->name);
  copy->reason = g_strdup (r->reason);
  return copy;
}

/* ---- main-context notifications ---- */

typedef struct {
  DocentImporter         *importer;
  DocentImportFileResult *result;
} FileDoneEvent;

static gboolean
emit_file_done (gpointer data)
{
  FileDoneEvent *ev = data;

  g_signal_emit (ev->importer, signals[SIGNAL_FILE_DONE], 0, ev->result);
  g_object_unref (ev->importer);
  docent_import_file_result_free (ev->result);
  g_free (ev);
  return G_SOURCE_REMOVE;
}

static void
run_snapshot (ImportRun            *run,
              DocentImportProgress *p,
              char                **current)
{
  g_mutex_lock (&run->lock);
  p->files_total = run->files_total;
  p->files_done = run->files_done;
  p->pages_done = run->pages_done;
  p->bytes_total = run->bytes_total;
  p->bytes_done = run->bytes_done;
  p->phase = run->phase;
  p->chunks_to_embed = run->chunks_to_embed;
  p->chunks_embedded = run->chunks_embedded;
  *current = g_strdup (run->current);
  g_mutex_unlock (&run->lock);

  p->elapsed_s = (g_get_monotonic_time () - run->start_us) / 1e6;
  p->bytes_per_s = p->elapsed_s > 0 ? p->bytes_done / p->elapsed_s : 0;
  p->eta_s = p->bytes_per_s > 0 && p->bytes_total >= p->bytes_done
               ? (p->bytes_total - p->bytes_done) / p->bytes_per_s : -1;
  p->current = *current;
}

static gboolean
emit_progress (gpointer data)
{
  ImportRun *run = data;
  DocentImportProgress progress = { 0 };
  g_autofree char *current = NULL;

  run_snapshot (run, &progress, &current);
  g_signal_emit (run->importer, signals[SIGNAL_PROGRESS], 0, &progress);
  return G_SOURCE_CONTINUE;
}

/* Records a file's outcome (any thread) and tells the main context. */
static void
run_add_result (ImportRun              *run,
                DocentImportFileResult *result)
{
  FileDoneEvent *ev = g_new0 (FileDoneEvent, 1);

  g_mutex_lock (&run->lock);
  run->files_done++;
  g_ptr_array_add (run->results, result);
  g_mutex_unlock (&run->lock);

  ev->importer = g_object_ref (run->importer);
  ev->result = file_result_copy (result);
  g_main_context_invoke (run->context, emit_file_done, ev);
}

/* ---- jobs ---- */

static void
job_free (Job *job)
{
  g_queue_clear_full (&job->pending, (GDestroyNotify) passage_free);
  g_clear_pointer (&job->unembedded, g_ptr_array_unref);
  g_clear_error (&job->embed_error);
  g_clear_pointer (&job->doc, docent_document_free);
  g_clear_pointer (&job->chunker, docent_chunker_free);
  g_clear_pointer (&job->pages, g_array_unref);
  g_clear_error (&job->error);
  g_mutex_clear (&job->lock);
  g_cond_clear (&job->cond);
  g_free (job->path);
  g_free (job);
}

static void
push_op (ImportRun *run,
         OpKind     kind,
         gpointer   payload)
{
  WriterOp *op = g_new0 (WriterOp, 1);

  op->kind = kind;
  if (kind == OP_QUEUE_ADD)
    op->paths = payload;
  else if (kind == OP_DOCUMENT)
    op->job = payload;
  else if (kind == OP_SKIP)
    op->result = payload;
  g_async_queue_push (run->writer_ops, op);
}

static void
push_skip (ImportRun              *run,
           DocentImportFileResult *result,
           gboolean                dequeue)
{
  WriterOp *op = g_new0 (WriterOp, 1);

  op->kind = OP_SKIP;
  op->result = result;
  op->dequeue = dequeue;
  g_async_queue_push (run->writer_ops, op);
}

/* Hands a passage to the writer's side, waiting while the job holds more
 * than the memory bound. Returns FALSE when the writer failed. */
static gboolean
job_push (Job     *job,
          Passage *passage)
{
  ImportRun *run = job->run;
  gboolean go_on;

  g_mutex_lock (&job->lock);
  job->pending_bytes += strlen (passage->chunk->text) + 64 + 4 * 384 * run->n_inline;
  g_queue_push_tail (&job->pending, passage);
  g_cond_broadcast (&job->cond);

  if (job->pending_bytes > PENDING_LIMIT_BYTES && !job->handed_off)
    {
      job->handed_off = TRUE;
      push_op (run, OP_DOCUMENT, job);
    }
  while (job->pending_bytes > PENDING_LIMIT_BYTES && !job->stop &&
         !g_cancellable_is_cancelled (run->cancellable))
    g_cond_wait_until (&job->cond, &job->lock, g_get_monotonic_time () + G_TIME_SPAN_SECOND / 4);
  go_on = !job->stop;
  g_mutex_unlock (&job->lock);
  return go_on;
}

/* Embeds the passages waiting for a batch (on this worker), then hands
 * them on with their vectors. */
static gboolean
job_embed_pending (Job *job)
{
  ImportRun *run = job->run;
  GPtrArray *chunks = job->unembedded;
  guint n = chunks != NULL ? chunks->len : 0;
  g_autofree const char **texts = NULL;
  float *vecs[MAX_INLINE] = { NULL };
  gboolean ok = TRUE;

  if (n == 0)
    return TRUE;
  texts = g_new (const char *, n);
  for (guint i = 0; i < n; i++)
    texts[i] = ((DocentChunk *) chunks->pdata[i])->text;
  for (guint e = 0; e < run->n_inline && ok; e++)
    {
      guint dim = docent_embedder_get_dim (run->inline_embedders[e]);
      vecs[e] = g_new (float, (gsize) n * dim);
      ok = docent_embedder_embed (run->inline_embedders[e], DOCENT_EMBED_PASSAGE, texts, n,
                                  vecs[e], run->cancellable, &job->embed_error);
    }
  for (guint i = 0; i < n; i++)
    {
      Passage *p = g_new0 (Passage, 1);
      p->chunk = chunks->pdata[i];
      chunks->pdata[i] = NULL;
      for (guint e = 0; e < run->n_inline && ok; e++)
        {
          guint dim = docent_embedder_get_dim (run->inline_embedders[e]);
          p->vec[e] = g_memdup2 (vecs[e] + (gsize) i * dim, sizeof (float) * dim);
        }
      if (!ok)
        passage_free (p);
      else if (!job_push (job, p))   /* the queue owns @p either way */
        ok = FALSE;
    }
  g_ptr_array_set_size (chunks, 0);
  for (guint e = 0; e < MAX_INLINE; e++)
    g_free (vecs[e]);
  g_mutex_lock (&run->lock);
  run->chunks_embedded += n;
  g_mutex_unlock (&run->lock);
  return ok;
}

/* Chunker callback on the worker thread. */
static gboolean
job_take_chunk (DocentChunk *chunk,
                gpointer     user_data)
{
  Job *job = user_data;
  ImportRun *run = job->run;
  gboolean go_on;
  guint new_pages = 0;

  if (chunk->page_last > job->pages_seen)
    {
      g_mutex_lock (&job->lock);
      new_pages = chunk->page_last - job->pages_seen;
      job->pages_seen = chunk->page_last;
      g_mutex_unlock (&job->lock);
    }

  if (run->n_inline == 0)
    {
      Passage *p = g_new0 (Passage, 1);
      p->chunk = chunk;
      go_on = job_push (job, p);
    }
  else
    {
      if (job->unembedded == NULL)
        job->unembedded = g_ptr_array_new_with_free_func ((GDestroyNotify) docent_chunk_free);
      g_ptr_array_add (job->unembedded, chunk);
      go_on = job->unembedded->len < run->batch_size || job_embed_pending (job);
    }

  if (new_pages > 0)
    {
      g_mutex_lock (&run->lock);
      run->pages_done += new_pages;
      g_mutex_unlock (&run->lock);
    }
  return go_on && !g_cancellable_is_cancelled (run->cancellable);
}

static char *
hash_file (const char    *path,
           gint64        *size,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guchar *buf = g_malloc (HASH_BLOCK);
  FILE *fp = fopen (path, "rb");
  gint64 total = 0;
  size_t n;

  if (fp == NULL)
    {
      int saved = errno;
      g_set_error (error, DOCENT_ERROR,
                   saved == ENOENT ? DOCENT_ERROR_NOT_FOUND : DOCENT_ERROR_UNREADABLE,
                   _("Cannot read %s: %s. Check that the file exists and that you may read it"),
                   path, g_strerror (saved));
      return NULL;
    }
  while ((n = fread (buf, 1, HASH_BLOCK, fp)) > 0)
    {
      g_checksum_update (checksum, buf, n);
      total += n;
      if (g_cancellable_is_cancelled (cancellable))
        break;
    }
  if (ferror (fp))
    {
      int saved = errno;
      fclose (fp);
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_UNREADABLE,
                   _("Cannot read %s: %s"), path, g_strerror (saved));
      return NULL;
    }
  fclose (fp);
  *size = total;
  return g_strdup (g_checksum_get_string (checksum));
}

static void worker_file (ImportRun *run, char *path);

/* Worker: everything up to handing the passages to the writer. */
static void
worker_run (gpointer data,
            gpointer user_data)
{
  ImportRun *run = user_data;
  char *path = data;

  g_mutex_lock (&run->lock);
  run->files_started++;
  run->active++;
  g_mutex_unlock (&run->lock);
  worker_file (run, path);
  g_mutex_lock (&run->lock);
  run->active--;
  g_mutex_unlock (&run->lock);
}

/* Linux gives each thread its own nice value. It cannot be raised back
 * without privilege, so only threads that end with the run take it (the
 * page readers a worker starts inherit it and end before it). */
static void
run_enter_background (ImportRun *run)
{
#ifdef __linux__
  pid_t tid;
  int nice;

  if (!run->background)
    return;
  tid = (pid_t) syscall (SYS_gettid);
  errno = 0;
  nice = getpriority (PRIO_PROCESS, (id_t) tid);
  if (errno == 0 && nice < BACKGROUND_NICE &&
      setpriority (PRIO_PROCESS, (id_t) tid, BACKGROUND_NICE) != 0)
    g_debug ("Could not lower an import thread's priority: %s", g_strerror (errno));
#endif
}

static char stop_marker;

/* Threads of the run's own rather than a GThreadPool's: a pool's threads
 * outlive it, shared with every other pool and GTask of the process. */
static gpointer
worker_thread (gpointer data)
{
  ImportRun *run = data;
  char *path;

  run_enter_background (run);
  while ((path = g_async_queue_pop (run->files)) != &stop_marker)
    worker_run (path, run);
  return NULL;
}

static void
worker_file (ImportRun *run,
             char      *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentStore) reader = NULL;
  g_autofree char *sha256 = NULL;
  g_autofree char *old_sha = NULL;
  g_autofree char *dup_path = NULL;
  DocentDocStatus old_status = DOCENT_DOC_STATUS_FAILED;
  DocentDocInfo info = { 0 };
  DocentDocType type;
  GStatBuf st;
  gint64 size = 0;
  gint64 old_id, dup_id = 0;
  Job *job;
  gboolean ok;
  guint n_threads;

  if (g_cancellable_is_cancelled (run->cancellable) || run->fatal != NULL)
    {
      push_skip (run, file_result_new (path, DOCENT_IMPORT_SKIPPED, _("cancelled")), TRUE);
      g_free (path);
      return;
    }

  g_mutex_lock (&run->lock);
  g_free (run->current);
  run->current = g_strdup (path);
  g_mutex_unlock (&run->lock);

  if (g_stat (path, &st) != 0)
    {
      int saved = errno;
      DocentImportFileResult *r = file_result_new (path, DOCENT_IMPORT_FAILED, NULL);
      r->reason = g_strdup_printf (_("Cannot read %s: %s"), path, g_strerror (saved));
      r->error_code = saved == ENOENT ? DOCENT_ERROR_NOT_FOUND : DOCENT_ERROR_UNREADABLE;
      push_skip (run, r, TRUE);
      g_free (path);
      return;
    }
  docent_doc_type_from_path (path, &type);

  sha256 = hash_file (path, &size, run->cancellable, &error);
  if (sha256 == NULL)
    {
      DocentImportFileResult *r = file_result_new (path, DOCENT_IMPORT_FAILED, error->message);
      r->error_code = error->code;
      push_skip (run, r, TRUE);
      g_free (path);
      return;
    }

  /* Unchanged or a duplicate? Decided on a reader connection of our own. */
  reader = docent_store_open (run->library_path, &error);
  if (reader == NULL)
    {
      DocentImportFileResult *r = file_result_new (path, DOCENT_IMPORT_FAILED, error->message);
      r->error_code = error->code;
      push_skip (run, r, FALSE);
      g_free (path);
      return;
    }
  old_id = _docent_store_find_path (reader, path, &old_sha, &old_status, NULL);
  if (old_id > 0 && g_strcmp0 (old_sha, sha256) == 0 &&
      (old_status == DOCENT_DOC_STATUS_READY || old_status == DOCENT_DOC_STATUS_NO_TEXT_LAYER))
    {
      DocentImportFileResult *r = file_result_new (path, DOCENT_IMPORT_SKIPPED, _("unchanged"));
      r->doc_id = old_id;
      push_skip (run, r, TRUE);
      g_free (path);
      return;
    }
  dup_id = _docent_store_find_sha256 (reader, sha256, path, &dup_path, NULL);
  g_clear_object (&reader);

  g_mutex_lock (&run->lock);
  if (dup_id <= 0 && g_hash_table_contains (run->claimed_hashes, sha256))
    {
      dup_path = g_strdup (g_hash_table_lookup (run->claimed_hashes, sha256));
      dup_id = 0;
    }
  else if (dup_id <= 0)
    g_hash_table_insert (run->claimed_hashes, g_strdup (sha256), g_strdup (path));
  g_mutex_unlock (&run->lock);

  if (dup_path != NULL)
    {
      DocentImportFileResult *r = file_result_new (path, DOCENT_IMPORT_SKIPPED, NULL);
      r->reason = g_strdup_printf (_("duplicate of %s (same bytes)"), dup_path);
      r->doc_id = dup_id > 0 ? dup_id : 0;
      push_skip (run, r, TRUE);
      g_free (path);
      return;
    }

  job = g_new0 (Job, 1);
  job->run = run;
  job->path = path;
  g_mutex_init (&job->lock);
  g_cond_init (&job->cond);
  g_queue_init (&job->pending);
  job->doc = docent_document_new ();
  job->doc->path = g_strdup (path);
  job->doc->name = g_path_get_basename (path);
  job->doc->type = type;
  job->doc->size = size;
  job->doc->mtime = st.st_mtime;
  job->doc->sha256 = g_strdup (sha256);
  job->doc->status = DOCENT_DOC_STATUS_IMPORTING;
  job->chunker = docent_chunker_new (run->chunk_size, run->chunk_overlap, job_take_chunk, job);

  /* Workers with nothing left to take help with this file's pages. */
  g_mutex_lock (&run->lock);
  n_threads = run->files_queued > run->files_started
                ? 1 : 1 + (run->n_workers > run->active ? run->n_workers - run->active : 0);
  g_mutex_unlock (&run->lock);
  ok = docent_extract_file_full (path, run->password, n_threads, job->chunker, &info,
                                 run->cancellable, &error);
  if (ok && (!docent_chunker_finish (job->chunker) || !job_embed_pending (job)) && error == NULL)
    {
      if (job->embed_error != NULL)
        {
          error = g_steal_pointer (&job->embed_error);
          g_prefix_error (&error, _("Could not embed the passages of %s: "), path);
        }
      else if (g_cancellable_is_cancelled (run->cancellable))
        g_set_error (&error, DOCENT_ERROR, DOCENT_ERROR_CANCELLED, _("Import of %s was cancelled"), path);
      else
        g_set_error (&error, DOCENT_ERROR, DOCENT_ERROR_STORE, _("Could not save %s"), path);
      ok = FALSE;
    }
  if (!ok && job->embed_error != NULL)
    {
      /* The chunker stopped because embedding failed: say that. */
      g_clear_error (&error);
      error = g_steal_pointer (&job->embed_error);
      g_prefix_error (&error, _("Could not embed the passages of %s: "), path);
    }
  if (!ok && error == NULL)
    g_set_error (&error, DOCENT_ERROR, DOCENT_ERROR_FAILED, _("Could not import %s"), path);

  g_mutex_lock (&job->lock);
  if (ok)
    {
      job->doc->title = g_strdup (info.title ? info.title : job->doc->name);
      job->doc->author = g_strdup (info.author);
      job->doc->encoding = g_strdup (info.encoding);
      job->doc->pages = info.page_count;
      job->doc->chunks = docent_chunker_get_n_chunks (job->chunker);
      job->doc->status = info.no_text_layer ? DOCENT_DOC_STATUS_NO_TEXT_LAYER : DOCENT_DOC_STATUS_READY;
      job->pages = g_array_ref (docent_chunker_get_pages (job->chunker));
      if (info.page_count > job->pages_seen)
        {
          g_mutex_lock (&run->lock);
          run->pages_done += info.page_count - job->pages_seen;
          g_mutex_unlock (&run->lock);
        }
    }
  else
    job->error = g_steal_pointer (&error);
  job->done = TRUE;
  g_cond_broadcast (&job->cond);
  if (!job->handed_off)
    {
      job->handed_off = TRUE;
      push_op (run, OP_DOCUMENT, job);
    }
  /* From here on the writer owns the job. */
  g_mutex_unlock (&job->lock);
  docent_doc_info_clear (&info);
}

/* ---- the writer ---- */

static gboolean
writer_write_job (ImportRun    *run,
                  DocentStore  *store,
                  Job          *job,
                  GError      **error)
{
  gboolean began = FALSE;

  for (;;)
    {
      GQueue batch = G_QUEUE_INIT;
      gboolean finished;

      g_mutex_lock (&job->lock);
      while (job->pending.length == 0 && !job->done)
        g_cond_wait (&job->cond, &job->lock);
      batch = job->pending;
      g_queue_init (&job->pending);
      job->pending_bytes = 0;
      finished = job->done;
      g_cond_broadcast (&job->cond);
      g_mutex_unlock (&job->lock);

      if (job->error != NULL && finished)
        {
          g_queue_clear_full (&batch, (GDestroyNotify) passage_free);
          if (began)
            _docent_store_rollback (store);
          return TRUE;   /* an extraction failure: recorded by the caller */
        }

      if (!began)
        {
          if (!_docent_store_begin (store, error) ||
              !_docent_store_put_document (store, job->doc, error))
            {
              g_queue_clear_full (&batch, (GDestroyNotify) passage_free);
              goto fail;
            }
          began = TRUE;
        }

      for (GList *l = batch.head; l != NULL; l = l->next)
        {
          Passage *p = l->data;
          gint64 chunk_id;

          if (!_docent_store_add_chunk (store, job->doc->id, p->chunk, error))
            {
              g_queue_clear_full (&batch, (GDestroyNotify) passage_free);
              goto fail;
            }
          /* Vectors in the passage's own transaction: never one without the other. */
          chunk_id = sqlite3_last_insert_rowid (docent_store_get_db (store));
          for (guint e = 0; e < run->n_inline; e++)
            if (p->vec[e] != NULL &&
                !docent_vector_writer_put (run->writers[e], chunk_id, p->vec[e], error))
              {
                g_queue_clear_full (&batch, (GDestroyNotify) passage_free);
                goto fail;
              }
        }
      g_queue_clear_full (&batch, (GDestroyNotify) passage_free);

      if (finished)
        break;
    }

  if ((job->pages != NULL && !_docent_store_add_pages (store, job->doc->id, job->pages, error)) ||
      !_docent_store_finish_document (store, job->doc, error) ||
      !_docent_store_set_document_chunking (store, job->doc->id, run->chunk_size,
                                            run->chunk_overlap, error) ||
      !_docent_store_queue_remove (store, job->path, error) ||
      !_docent_store_commit (store, error))
    goto fail;
  return TRUE;

fail:
  _docent_store_rollback (store);
  /* Let a worker blocked on the memory bound give up. */
  g_mutex_lock (&job->lock);
  job->stop = TRUE;
  g_cond_broadcast (&job->cond);
  while (!job->done)
    {
      g_queue_clear_full (&job->pending, (GDestroyNotify) passage_free);
      job->pending_bytes = 0;
      g_cond_broadcast (&job->cond);
      g_cond_wait (&job->cond, &job->lock);
    }
  g_mutex_unlock (&job->lock);
  return FALSE;
}

/* A failed file is listed with its reason, unless an earlier good import
 * of the same path exists: that one is kept, nothing is lost. */
static gboolean
writer_record_failure (DocentStore  *store,
                       Job          *job,
                       GError      **error)
{
  DocentDocStatus status = DOCENT_DOC_STATUS_FAILED;
  gint64 id;

  if (!_docent_store_begin (store, error))
    return FALSE;
  id = _docent_store_find_path (store, job->path, NULL, &status, error);
  if (id < 0)
    goto fail;
  if (id == 0 || status == DOCENT_DOC_STATUS_FAILED)
    {
      job->doc->status = DOCENT_DOC_STATUS_FAILED;
      job->doc->error = g_strdup (job->error->message);
      job->doc->title = g_strdup (job->doc->name);
      job->doc->chunks = 0;
      job->doc->pages = 0;
      if (!_docent_store_put_document (store, job->doc, error))
        goto fail;
    }
  if (!_docent_store_queue_remove (store, job->path, error) ||
      !_docent_store_commit (store, error))
    goto fail;
  return TRUE;

fail:
  _docent_store_rollback (store);
  return FALSE;
}


/* Keeps the first error that stops the whole import (disk full, read-only
 * library); later ones are consequences of it. Takes @error. */
static void
run_set_fatal (ImportRun  *run,
               GError    **error)
{
  g_mutex_lock (&run->lock);
  if (run->fatal == NULL)
    run->fatal = g_steal_pointer (error);
  g_mutex_unlock (&run->lock);
  g_clear_error (error);
}

static void
writer_handle_job (ImportRun   *run,
                   DocentStore *store,
                   Job         *job)
{
  g_autoptr(GError) error = NULL;
  DocentImportFileResult *r;

  if (run->fatal == NULL)
    writer_write_job (run, store, job, &error);
  else
    {
      g_mutex_lock (&job->lock);
      job->stop = TRUE;
      g_cond_broadcast (&job->cond);
      while (!job->done)
        {
          g_queue_clear_full (&job->pending, (GDestroyNotify) passage_free);
          job->pending_bytes = 0;
          g_cond_broadcast (&job->cond);
          g_cond_wait (&job->cond, &job->lock);
        }
      g_mutex_unlock (&job->lock);
      error = g_error_copy (run->fatal);
    }

  if (error != NULL)
    {
      /* The library failed (disk full, read-only): stop the whole import. */
      r = file_result_new (job->path, DOCENT_IMPORT_FAILED, error->message);
      r->error_code = error->code;
      run_set_fatal (run, &error);
    }
  else if (job->error != NULL)
    {
      gboolean cancelled = g_error_matches (job->error, DOCENT_ERROR, DOCENT_ERROR_CANCELLED) ||
                           g_error_matches (job->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      if (cancelled)
        {
          r = file_result_new (job->path, DOCENT_IMPORT_SKIPPED, _("cancelled"));
          _docent_store_queue_remove (store, job->path, NULL);
        }
      else
        {
          r = file_result_new (job->path, DOCENT_IMPORT_FAILED, job->error->message);
          r->error_code = job->error->domain == DOCENT_ERROR ? job->error->code : DOCENT_ERROR_FAILED;
          if (!writer_record_failure (store, job, &error))
            run_set_fatal (run, &error);
          r->doc_id = job->doc->id;
        }
    }
  else
    {
      r = file_result_new (job->path, DOCENT_IMPORT_IMPORTED,
                           job->doc->status == DOCENT_DOC_STATUS_NO_TEXT_LAYER ? _("no text layer") : NULL);
      r->doc_id = job->doc->id;
      r->pages = job->doc->pages;
      r->chunks = job->doc->chunks;
    }

  g_mutex_lock (&run->lock);
  run->bytes_done += job->doc->size;
  g_mutex_unlock (&run->lock);
  run_add_result (run, r);
  job_free (job);
}

static gpointer
writer_thread (gpointer data)
{
  ImportRun *run = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentStore) store = NULL;

  run_enter_background (run);
  store = docent_store_open (run->library_path, &error);
  if (store == NULL)
    run_set_fatal (run, &error);
  for (guint e = 0; store != NULL && e < run->n_inline; e++)
    if ((run->writers[e] = docent_vector_writer_new (docent_store_get_db (store),
                                                     run->inline_embedders[e], &error)) == NULL)
      {
        run_set_fatal (run, &error);
        break;
      }

  for (;;)
    {
      WriterOp *op = g_async_queue_pop (run->writer_ops);
      OpKind kind = op->kind;

      switch (kind)
        {
        case OP_QUEUE_ADD:
          if (run->fatal == NULL)
            {
              /* One transaction for the batch: queueing 10,000 files is quick. */
              if (!_docent_store_begin (store, &error))
                goto queue_failed;
              for (guint i = 0; i < op->paths->len; i++)
                if (!_docent_store_queue_add (store, op->paths->pdata[i], &error))
                  goto queue_failed;
              if (!_docent_store_commit (store, &error))
                goto queue_failed;
              break;
            queue_failed:
              _docent_store_rollback (store);
              run_set_fatal (run, &error);
            }
          break;

        case OP_DOCUMENT:
          writer_handle_job (run, store, op->job);
          break;

        case OP_SKIP:
          if (op->dequeue && store != NULL && run->fatal == NULL)
            _docent_store_queue_remove (store, op->result->path, NULL);
          g_mutex_lock (&run->lock);
          if (run->fatal != NULL && op->result->outcome == DOCENT_IMPORT_FAILED &&
              op->result->error_code == 0)
            op->result->error_code = run->fatal->code;
          g_mutex_unlock (&run->lock);
          run_add_result (run, op->result);
          break;

        case OP_QUIT:
          break;
        }
      g_clear_pointer (&op->paths, g_ptr_array_unref);
      g_free (op);
      if (kind == OP_QUIT)
        break;
    }
  for (guint e = 0; e < MAX_INLINE; e++)
    g_clear_pointer (&run->writers[e], docent_vector_writer_free);
  return NULL;
}

/* ---- the coordinator: walking inputs ---- */

typedef struct {
  ImportRun  *run;
  GHashTable *visited_dirs;   /* "dev:ino" of folders walked, against symlink loops */
  GPtrArray  *batch;          /* paths to queue, then to hand to the workers */
} Walker;

static void
walker_flush (Walker *w)
{
  GPtrArray *paths;

  if (w->batch->len == 0)
    return;
  /* The queue rows are written before any worker can finish the file. */
  paths = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < w->batch->len; i++)
    g_ptr_array_add (paths, g_strdup (w->batch->pdata[i]));
  push_op (w->run, OP_QUEUE_ADD, paths);
  for (guint i = 0; i < w->batch->len; i++)
    {
      g_mutex_lock (&w->run->lock);
      w->run->files_queued++;
      g_mutex_unlock (&w->run->lock);
      g_async_queue_push (w->run->files, g_steal_pointer (&w->batch->pdata[i]));
    }
  g_ptr_array_set_size (w->batch, 0);
}

static void
walker_report (Walker              *w,
               const char          *path,
               DocentImportOutcome  outcome,
               int                  code,
               char                *reason)
{
  DocentImportFileResult *r = file_result_new (path, outcome, NULL);

  r->reason = reason;
  r->error_code = code;
  g_mutex_lock (&w->run->lock);
  w->run->files_total++;
  g_mutex_unlock (&w->run->lock);
  push_skip (w->run, r, TRUE);
}

static void
walker_add_file (Walker     *w,
                 const char *path,
                 GStatBuf   *st)
{
  ImportRun *run = w->run;

  g_mutex_lock (&run->lock);
  if (g_hash_table_contains (run->claimed_paths, path))
    {
      g_mutex_unlock (&run->lock);
      return;
    }
  g_hash_table_add (run->claimed_paths, g_strdup (path));
  run->files_total++;
  run->bytes_total += st->st_size;
  g_mutex_unlock (&run->lock);

  g_ptr_array_add (w->batch, g_strdup (path));
  if (w->batch->len >= 256)
    walker_flush (w);
}

static void walker_add (Walker *w, const char *path, gboolean explicit);

static void
walker_add_dir (Walker     *w,
                const char *path,
                const char *given,
                GStatBuf   *st)
{
  g_autofree char *key = g_strdup_printf ("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT,
                                          (guint64) st->st_dev, (guint64) st->st_ino);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = NULL;
  GDir *dir;
  const char *name;

  if (g_hash_table_contains (w->visited_dirs, key))
    {
      walker_report (w, given, DOCENT_IMPORT_SKIPPED, 0,
                     g_strdup (_("folder already visited (a symbolic link loops back to it)")));
      return;
    }
  g_hash_table_add (w->visited_dirs, g_steal_pointer (&key));

  dir = g_dir_open (path, 0, &error);
  if (dir == NULL)
    {
      walker_report (w, path, DOCENT_IMPORT_FAILED, DOCENT_ERROR_UNREADABLE,
                     g_strdup_printf (_("Cannot read the folder %s: %s. Check its permissions"),
                                      path, error->message));
      return;
    }
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (name[0] != '.')   /* hidden files and folders are not documents */
      g_ptr_array_add (names, g_strdup (name));
  g_dir_close (dir);
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *child = g_build_filename (path, (char *) names->pdata[i], NULL);
      if (g_cancellable_is_cancelled (w->run->cancellable))
        return;
      walker_add (w, child, FALSE);
    }
}

/* @explicit: named by the person (report everything) rather than found in a
 * folder (quietly ignore files that are not documents). */
static void
walker_add (Walker     *w,
            const char *given,
            gboolean    explicit)
{
  g_autofree char *absolute = g_canonicalize_filename (given, NULL);
  g_autofree char *real = NULL;
  GStatBuf st;
  DocentDocType type;

  if (g_stat (absolute, &st) != 0)
    {
      int saved = errno;
      if (!explicit && saved == ENOENT)
        return;   /* a dangling link inside a folder */
      if (saved == ELOOP)
        walker_report (w, absolute, DOCENT_IMPORT_FAILED, DOCENT_ERROR_UNREADABLE,
                       g_strdup_printf (_("%s is a symbolic link that loops back on itself; "
                                          "point it at a real file"), absolute));
      else
        walker_report (w, absolute, DOCENT_IMPORT_FAILED,
                       saved == ENOENT ? DOCENT_ERROR_NOT_FOUND : DOCENT_ERROR_UNREADABLE,
                       g_strdup_printf ("%s: %s", absolute,
                                        saved == ENOENT ? _("no such file or folder; check the path")
                                                        : g_strerror (saved)));
      return;
    }

  /* Identity is the canonical path with links resolved. */
  real = realpath (absolute, NULL);
  if (real == NULL)
    real = g_strdup (absolute);

  if (S_ISDIR (st.st_mode))
    {
      walker_add_dir (w, real, absolute, &st);
      return;
    }
  if (!S_ISREG (st.st_mode) || !docent_doc_type_from_path (real, &type))
    {
      if (explicit)
        walker_report (w, real, DOCENT_IMPORT_SKIPPED, DOCENT_ERROR_UNSUPPORTED,
                       g_strdup (_("not a PDF, text or Markdown file")));
      return;
    }
  walker_add_file (w, real, &st);
}

static void
embed_progress (guint    done,
                guint    total,
                gpointer user_data)
{
  ImportRun *run = user_data;

  g_mutex_lock (&run->lock);
  run->chunks_to_embed = total;
  run->chunks_embedded = done;
  g_mutex_unlock (&run->lock);
}

static void
run_free (ImportRun *run)
{
  g_clear_object (&run->importer);
  g_clear_object (&run->extra);
  for (guint e = 0; e < run->n_inline; e++)
    g_clear_object (&run->inline_embedders[e]);
  g_clear_object (&run->cancellable);
  g_clear_pointer (&run->context, g_main_context_unref);
  g_clear_pointer (&run->writer_ops, g_async_queue_unref);
  g_clear_pointer (&run->files, g_async_queue_unref);
  g_clear_pointer (&run->claimed_paths, g_hash_table_unref);
  g_clear_pointer (&run->claimed_hashes, g_hash_table_unref);
  g_clear_pointer (&run->results, g_ptr_array_unref);
  g_clear_error (&run->fatal);
  g_mutex_clear (&run->lock);
  g_free (run->library_path);
  g_free (run->password);
  g_free (run->current);
  g_free (run);
}

typedef struct {
  ImportRun *run;
  char     **paths;
  GSource   *progress_source;
} TaskData;

static void
task_data_free (TaskData *td)
{
  if (td->progress_source != NULL)
    {
      g_source_destroy (td->progress_source);
      g_source_unref (td->progress_source);
    }
  g_strfreev (td->paths);
  run_free (td->run);
  g_free (td);
}

static void
import_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  TaskData *td = task_data;
  ImportRun *run = td->run;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) resume = NULL;
  g_autoptr(GPtrArray) workers = g_ptr_array_new ();
  GThread *writer;
  Walker w = { run };

  /* Open (creating, migrating) once here, so a library that cannot be
   * opened fails the whole import with one clear error. */
  {
    g_autoptr(DocentStore) store = docent_store_open (run->library_path, &error);
    if (store == NULL)
      {
        g_task_return_error (task, g_steal_pointer (&error));
        return;
      }
    /* Files a killed process left unfinished are imported again. */
    resume = _docent_store_queue_list (store, NULL);
    /* New documents are cut like the library's others. */
    if (!run->chunking_set &&
        !docent_chunking_get (store, &run->chunk_size, &run->chunk_overlap, &error))
      {
        g_task_return_error (task, g_steal_pointer (&error));
        return;
      }
    /* Embedding on the workers: the chosen model's vectors, and the
     * built-in embedder's while its statistics stay valid (frozen per id;
     * otherwise they are counted over all passages after the run). */
    if (run->embed)
      {
        DocentEmbedder *builtin = docent_vector_store_dup_builtin_frozen (docent_store_get_db (store),
                                                                          BUILTIN_DIM, &error);
        if (error != NULL)
          {
            g_task_return_error (task, g_steal_pointer (&error));
            return;
          }
        if (builtin != NULL)
          run->inline_embedders[run->n_inline++] = builtin;
      }
    if (run->extra != NULL)
      run->inline_embedders[run->n_inline++] = g_object_ref (run->extra);
    run->batch_size = 32;
    for (guint e = 0; e < run->n_inline; e++)
      if (docent_embedder_get_batch_size (run->inline_embedders[e]) > 0)
        run->batch_size = MIN (run->batch_size, docent_embedder_get_batch_size (run->inline_embedders[e]));
  }

  writer = g_thread_new ("docent-writer", writer_thread, run);
  run->files = g_async_queue_new ();
  for (guint i = 0; i < run->n_workers; i++)
    g_ptr_array_add (workers, g_thread_new ("docent-import", worker_thread, run));
  w.visited_dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  w.batch = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; td->paths[i] != NULL && !g_cancellable_is_cancelled (cancellable); i++)
    walker_add (&w, td->paths[i], TRUE);
  for (guint i = 0; resume != NULL && i < resume->len; i++)
    walker_add (&w, resume->pdata[i], FALSE);
  walker_flush (&w);

  /* Each worker takes one marker after the last file. */
  for (guint i = 0; i < workers->len; i++)
    g_async_queue_push (run->files, &stop_marker);
  for (guint i = 0; i < workers->len; i++)
    g_thread_join (workers->pdata[i]);
  push_op (run, OP_QUIT, NULL);
  g_thread_join (writer);
  g_hash_table_unref (w.visited_dirs);
  g_ptr_array_unref (w.batch);

  /* The vectors' catch-up, on a pool of the same size: the first import
   * into a library (statistics counted over all its passages), statistics
   * re-counted after the library grew or shrank by half (all vectors anew
   * under a new id, the old ones dropped after), a model just chosen, or
   * passages an earlier import left without vectors. */
  if (run->fatal == NULL && !g_cancellable_is_cancelled (cancellable) &&
      (run->embed || run->extra != NULL))
    {
      g_autoptr(DocentStore) store = docent_store_open (run->library_path, &error);
      guint n = 0;

      g_mutex_lock (&run->lock);
      run->phase = DOCENT_IMPORT_PHASE_EMBED;
      g_clear_pointer (&run->current, g_free);
      g_mutex_unlock (&run->lock);
      /* The workers' embedder when it still holds: no second load of its
       * 7 MB of statistics. */
      DocentEmbedder *frozen = run->embed && run->n_inline > 0 && run->inline_embedders[0] != run->extra
                                 ? run->inline_embedders[0] : NULL;
      if (store == NULL ||
          (frozen != NULL && docent_vector_store_builtin_is_current (docent_store_get_db (store), frozen, NULL)
             ? !docent_vector_store_embed_missing_full (docent_store_get_db (store), frozen, run->n_workers,
                                                        cancellable, embed_progress, run, &n, &error)
             : (run->embed &&
                !docent_vector_store_update_builtin (docent_store_get_db (store), BUILTIN_DIM,
                                                     run->n_workers, cancellable, embed_progress,
                                                     run, &n, &error))) ||
          (run->extra != NULL &&
           !docent_vector_store_embed_missing_full (docent_store_get_db (store), run->extra,
                                                    run->n_workers, cancellable, embed_progress,
                                                    run, &n, &error)))
        {
          /* The documents are in; only their vectors wait for the next run. */
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            g_message ("Could not embed the new passages of %s: %s", run->library_path, error->message);
          g_clear_error (&error);
        }
    }

  if (run->fatal != NULL && run->results->len == 0)
    {
      g_task_return_error (task, g_error_copy (run->fatal));
      return;
    }
  g_task_return_pointer (task, g_ptr_array_ref (run->results), (GDestroyNotify) g_ptr_array_unref);
}

void
docent_importer_import_async (DocentImporter      *self,
                              const char * const  *paths,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  TaskData *td;
  ImportRun *run;

  g_return_if_fail (DOCENT_IS_IMPORTER (self));

  run = g_new0 (ImportRun, 1);
  run->importer = g_object_ref (self);
  run->library_path = g_strdup (self->library_path);
  run->password = g_strdup (self->password);
  run->n_workers = self->n_workers;
  run->background = self->background;
  run->chunk_size = self->chunk_size;
  run->chunk_overlap = self->chunk_overlap;
  run->chunking_set = self->chunking_set;
  run->embed = self->embed;
  run->extra = self->embedder ? g_object_ref (self->embedder) : NULL;
  run->cancellable = cancellable ? g_object_ref (cancellable) : g_cancellable_new ();
  run->context = g_main_context_ref_thread_default ();
  run->writer_ops = g_async_queue_new ();
  g_mutex_init (&run->lock);
  run->claimed_paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  run->claimed_hashes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  run->results = g_ptr_array_new_with_free_func ((GDestroyNotify) docent_import_file_result_free);
  run->start_us = g_get_monotonic_time ();

  td = g_new0 (TaskData, 1);
  td->run = run;
  td->paths = g_strdupv ((char **) paths);
  /* Progress is sampled, not pushed: at most ten updates a second. */
  td->progress_source = g_timeout_source_new (100);
  g_source_set_callback (td->progress_source, emit_progress, run, NULL);
  g_source_attach (td->progress_source, run->context);

  task = g_task_new (self, run->cancellable, callback, user_data);
  g_task_set_source_tag (task, docent_importer_import_async);
  g_task_set_task_data (task, td, (GDestroyNotify) task_data_free);
  g_task_run_in_thread (task, import_thread);
}

GPtrArray *
docent_importer_import_finish (DocentImporter *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct {
  GAsyncResult *result;
} SyncData;

static void
sync_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  SyncData *sd = user_data;
  sd->result = g_object_ref (result);
}

GPtrArray *
docent_importer_import_sync (DocentImporter      *self,
                             const char * const  *paths,
                             GCancellable        *cancellable,
                             GError             **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  SyncData sd = { NULL };
  GPtrArray *results;

  g_main_context_push_thread_default (context);
  docent_importer_import_async (self, paths, cancellable, sync_done, &sd);
  while (sd.result == NULL)
    g_main_context_iteration (context, TRUE);
  /* Deliver the last file-done events before returning. */
  while (g_main_context_pending (context))
    g_main_context_iteration (context, FALSE);
  results = docent_importer_import_finish (self, sd.result, error);
  g_object_unref (sd.result);
  g_main_context_pop_thread_default (context);
  return results;
}

/* ---- the object ---- */

static void
docent_importer_finalize (GObject *object)
{
  DocentImporter *self = DOCENT_IMPORTER (object);

  g_free (self->library_path);
  g_free (self->password);
  g_clear_object (&self->embedder);
  G_OBJECT_CLASS (docent_importer_parent_class)->finalize (object);
}

static void
docent_importer_class_init (DocentImporterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = docent_importer_finalize;

  signals[SIGNAL_PROGRESS] =
    g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_FILE_DONE] =
    g_signal_new ("file-done", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
docent_importer_init (DocentImporter *self)
{
  self->n_workers = MAX (1, g_get_num_processors ());
  self->chunk_size = DOCENT_CHUNK_SIZE_DEFAULT;
  self->chunk_overlap = DOCENT_CHUNK_OVERLAP_DEFAULT;
  self->embed = TRUE;
}

DocentImporter *
docent_importer_new (const char *library_path)
{
  DocentImporter *self = g_object_new (DOCENT_TYPE_IMPORTER, NULL);

  self->library_path = g_strdup (library_path);
  return self;
}

void
docent_importer_set_password (DocentImporter *self,
                              const char     *password)
{
  g_return_if_fail (DOCENT_IS_IMPORTER (self));
  g_free (self->password);
  self->password = g_strdup (password);
}

void
docent_importer_set_n_workers (DocentImporter *self,
                               guint           n_workers)
{
  g_return_if_fail (DOCENT_IS_IMPORTER (self));
  self->n_workers = MAX (1, n_workers);
}

void
docent_importer_set_background (DocentImporter *self,
                                gboolean        background)
{
  g_return_if_fail (DOCENT_IS_IMPORTER (self));
  self->background = background;
}

void
docent_importer_set_chunking (DocentImporter *self,
                              guint           size,
                              guint           overlap)
{
  g_return_if_fail (DOCENT_IS_IMPORTER (self));
  self->chunk_size = size;
  self->chunk_overlap = overlap;
  self->chunking_set = TRUE;
}

void
docent_importer_set_embed (DocentImporter *self,
                           gboolean        embed)
{
  g_return_if_fail (DOCENT_IS_IMPORTER (self));
  self->embed = embed;
}

void
docent_importer_set_embedder (DocentImporter *self,
                              DocentEmbedder *embedder)
{
  g_return_if_fail (DOCENT_IS_IMPORTER (self));
  g_return_if_fail (embedder == NULL || DOCENT_IS_EMBEDDER (embedder));
  g_set_object (&self->embedder, embedder);
}
