/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-library"
#include "config.h"

#include <glib/gi18n.h>

#include "docent-collection.h"
#include "docent-error.h"
#include "docent-library.h"
#include "docent-gguf-embedder.h"
#include "docent-rechunker.h"
#include "docent-retriever.h"

typedef enum {
  JOB_IMPORT,     /* files (none: resume an unfinished import) */
  JOB_VECTORS,    /* bring the vectors up to date (an interrupted re-embed) */
  JOB_RECHUNK,    /* save the passage settings, re-cut */
  JOB_REEMBED,    /* record the embedding model, embed the library with it */
} JobKind;

typedef struct {
  JobKind   kind;
  char    **paths;
  char     *password;
  guint     chunk_size, chunk_overlap;
  char     *model;        /* REEMBED: the model's path, "" for the built-in one */
} ImportJob;

struct _DocentLibrary
{
  GObject         parent_instance;

  char           *path;
  GListStore     *documents;
  /* Failures of files that never reached the store, and files the importer
   * is reading now, by path: shown after the stored documents. */
  GHashTable     *failures;
  GHashTable     *pending;

  /* The reader connection: opened and used only inside worker threads,
   * one at a time (the lock), reused between tasks. */
  GMutex          reader_lock;
  DocentStore    *reader;
  DocentRetriever *retriever;        /* on the reader; NULL until a search */

  /* The library's embedding model (NULL: built-in) as the main thread
   * knows it: recorded in the library file, or being switched to. */
  char           *embedding_path;
  gboolean        model_chosen;      /* set_embedding_model was called */
  /* Under config_lock, for workers: the model a library that never chose
   * one gets (GSettings' default for new libraries), and the loaded GGUF
   * model, shared by searches, imports and re-embedding. */
  GMutex          config_lock;
  char           *default_embedding;
  DocentGgufEmbedder *gguf;
  char           *retriever_model;   /* what the retriever was built with */

  GCancellable   *cancellable;       /* everything, cancelled on dispose */
  guint           refreshing : 1;
  guint           applying : 1;
  guint           refresh_again : 1;
  guint           loaded : 1;
  guint           refresh_source;
  GError         *error;             /* the library could not be read */
  GStrv           collections;
  GHashTable     *doc_collections;   /* gint64* id → "A, B" */

  DocentImporter *importer;
  DocentRechunker *rechunker;
  JobKind         batch_kind;        /* what the rechunker runs for */
  GPtrArray      *batch_results;     /* an import's, until its vectors are in */
  GCancellable   *import_cancellable;  /* set while a job runs */
  GQueue          import_queue;      /* of ImportJob */
  char           *busy_path;
};

G_DEFINE_FINAL_TYPE (DocentLibrary, docent_library, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PATH,
  PROP_IMPORTING,
  PROP_LOADED,
  PROP_EMBEDDING_MODEL,
  N_PROPS
};

enum {
  IMPORT_STARTED,
  IMPORT_PROGRESS,
  IMPORT_FILE_DONE,
  IMPORT_INDEXING,
  IMPORT_FINISHED,
  RECHUNK_STARTED,
  RECHUNK_PROGRESS,
  REEMBED_STARTED,
  PASSWORD_NEEDED,
  DOCUMENTS_LOADED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void start_next_import (DocentLibrary *self);
static void check_unfinished (DocentLibrary *self);
static void queue_import (DocentLibrary *self, const char * const *paths, const char *password);
static void queue_job (DocentLibrary *self, ImportJob *job);
static void set_embedding_path (DocentLibrary *self, const char *path);

static void
import_job_free (ImportJob *job)
{
  g_strfreev (job->paths);
  if (job->password != NULL)
    memset (job->password, 0, strlen (job->password));
  g_free (job->password);
  g_free (job->model);
  g_free (job);
}

/* Runs @func with the reader store; called on a worker thread. */
static DocentStore *
lock_reader (DocentLibrary *self,
             GError       **error)
{
  g_mutex_lock (&self->reader_lock);
  if (self->reader == NULL)
    {
      g_autofree char *dir = g_path_get_dirname (self->path);

      g_mkdir_with_parents (dir, 0700);
      self->reader = docent_store_open (self->path, error);
      if (self->reader == NULL)
        {
          g_mutex_unlock (&self->reader_lock);
          return NULL;
        }
    }
  return self->reader;
}

static void
unlock_reader (DocentLibrary *self)
{
  g_mutex_unlock (&self->reader_lock);
}

/* The library's embedding model as its file records it, "" for the
 * built-in one; a library that never chose gets the default. Called on a
 * worker thread. */
static char *
dup_model_choice (DocentLibrary *self,
                  DocentStore   *store)
{
  g_autoptr(GError) error = NULL;
  char *path = NULL;

  if (!docent_embedding_model_get (store, &path, &error))
    g_message ("Could not read the library's embedding model: %s", error->message);
  if (path == NULL)
    {
      g_mutex_lock (&self->config_lock);
      path = g_strdup (self->default_embedding ? self->default_embedding : "");
      g_mutex_unlock (&self->config_lock);
    }
  return path;
}

/* The GGUF model at @path, loaded once and shared (it may embed on several
 * threads at once). Called on a worker thread. */
static DocentGgufEmbedder *
dup_gguf (DocentLibrary *self,
          const char    *path,
          GError       **error)
{
  DocentGgufEmbedder *gguf = NULL;
  DocentEmbedder *loaded = NULL;

  g_return_val_if_fail (path != NULL && path[0] != '\0', NULL);

  g_mutex_lock (&self->config_lock);
  if (self->gguf != NULL && g_strcmp0 (docent_gguf_embedder_get_path (self->gguf), path) == 0)
    gguf = g_object_ref (self->gguf);
  g_mutex_unlock (&self->config_lock);
  if (gguf != NULL)
    return gguf;

  /* The rule the command line follows too (a path is a GGUF model). */
  if (!docent_embedding_model_load (path, &loaded, error))
    return NULL;
  gguf = DOCENT_GGUF_EMBEDDER (loaded);
  g_mutex_lock (&self->config_lock);
  g_set_object (&self->gguf, gguf);
  g_mutex_unlock (&self->config_lock);
  return gguf;
}

/* --- documents ---------------------------------------------------------- */

static void
list_documents_thread (GTask        *task,
                       gpointer      source_object,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  DocentLibrary *self = source_object;
  g_autoptr(GError) error = NULL;
  DocentStore *store;
  GPtrArray *docs;

  if ((store = lock_reader (self, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  docs = docent_store_list_documents (store, &error);
  if (docs != NULL)
    {
      /* Collection names ride along as the task data's result. */
      g_autoptr(GPtrArray) cols = docent_collection_list (store, NULL);
      g_autoptr(GStrvBuilder) names = g_strv_builder_new ();

      /* Names first, then one "id\tname" line per membership. */
      for (guint i = 0; cols != NULL && i < cols->len; i++)
        g_strv_builder_add (names, ((DocentCollection *) cols->pdata[i])->name);
      for (guint i = 0; cols != NULL && i < cols->len; i++)
        {
          DocentCollection *c = cols->pdata[i];
          for (guint j = 0; j < c->doc_ids->len; j++)
            {
              g_autofree char *line = g_strdup_printf ("\t%" G_GINT64_FORMAT "\t%s",
                                                       g_array_index (c->doc_ids, gint64, j), c->name);
              g_strv_builder_add (names, line);
            }
        }
      g_task_set_task_data (task, g_strv_builder_end (names), (GDestroyNotify) g_strfreev);
    }
  unlock_reader (self);

  if (docs == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, docs, (GDestroyNotify) g_ptr_array_unref);
}

/* Each document keeps its item (and so its sidebar row) across refreshes:
 * items are matched by path, so a file in flight that gets its id, or a
 * failure that imports, is updated in place; only the range that really
 * changed is spliced. A refresh that replaced every item made the list
 * view build all its rows again, a few times a second while importing. */
static void
apply_documents (DocentLibrary *self,
                 GPtrArray     *docs)
{
  g_autoptr(GPtrArray) all = g_ptr_array_new ();
  g_autoptr(GHashTable) stored = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) by_path = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) old = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  GListModel *model = G_LIST_MODEL (self->documents);
  guint n_old = g_list_model_get_n_items (model);
  guint prefix = 0, suffix = 0;
  GHashTableIter iter;
  gpointer value;

  for (guint i = 0; i < docs->len; i++)
    {
      DocentDocument *doc = g_ptr_array_index (docs, i);

      /* A file that imports after failing is no longer a failure. */
      g_hash_table_remove (self->failures, doc->path);
      g_hash_table_add (stored, doc->path);
      g_ptr_array_add (all, doc);
    }
  /* Then what the store does not hold (yet): failures, files in flight. */
  g_hash_table_iter_init (&iter, self->failures);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (all, value);
  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (!g_hash_table_contains (stored, ((DocentDocument *) value)->path))
      g_ptr_array_add (all, value);

  for (guint i = 0; i < n_old; i++)
    {
      DocentDocumentItem *item = g_list_model_get_item (model, i);

      g_ptr_array_add (old, item);
      if (docent_document_item_get_path (item) != NULL)
        g_hash_table_insert (by_path, (gpointer) docent_document_item_get_path (item), item);
    }
  for (guint i = 0; i < all->len; i++)
    {
      DocentDocument *doc = g_ptr_array_index (all, i);
      DocentDocumentItem *item = doc->path ? g_hash_table_lookup (by_path, doc->path) : NULL;

      if (item != NULL)
        {
          /* Taken once: a path listed twice gets a second item. */
          g_hash_table_remove (by_path, doc->path);
          docent_document_item_update (item, doc);
          g_ptr_array_add (items, g_object_ref (item));
        }
      else
        g_ptr_array_add (items, docent_document_item_new (doc));
      docent_document_item_set_busy (items->pdata[i], g_strcmp0 (doc->path, self->busy_path) == 0);
    }

  while (prefix < n_old && prefix < items->len && old->pdata[prefix] == items->pdata[prefix])
    prefix++;
  while (suffix < n_old - prefix && suffix < items->len - prefix &&
         old->pdata[n_old - 1 - suffix] == items->pdata[items->len - 1 - suffix])
    suffix++;
  if (prefix == n_old && prefix == items->len)
    return;

  self->applying = TRUE;
  g_list_store_splice (self->documents, prefix, n_old - prefix - suffix,
                       items->pdata + prefix, items->len - prefix - suffix);
  self->applying = FALSE;
}

/* What a library needs finishing when it opens: an import killed last time
 * (the app was closed mid-import; an import without paths resumes it), a
 * re-cut that was interrupted (documents cut otherwise than the library's
 * settings say), a re-embedding that was (passages lacking a vector of
 * the library's model). */
typedef struct {
  gint64  unfinished;
  guint   rechunk, size, overlap;
  gint64  unembedded;
  char   *model;        /* the library's embedding model, "" built-in */
} OpenCheck;

static void
open_check_free (OpenCheck *check)
{
  g_free (check->model);
  g_free (check);
}

static void
count_unfinished_thread (GTask        *task,
                         gpointer      source_object,
                         gpointer      task_data,
                         GCancellable *cancellable)
{
  DocentLibrary *self = source_object;
  OpenCheck *check = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentGgufEmbedder) gguf = NULL;
  g_autofree char *recorded = NULL;
  DocentStore *store;
  gint64 pending;

  if ((store = lock_reader (self, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  check->unfinished = docent_store_count_unfinished_imports (store, &error);
  if (check->unfinished < 0)
    {
      unlock_reader (self);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  pending = docent_rechunker_count_pending (store, NULL);
  if (pending > 0 && docent_chunking_get (store, &check->size, &check->overlap, NULL))
    check->rechunk = (guint) MIN (pending, G_MAXUINT);
  /* A library opened for the first time keeps the default it gets (the
   * model chosen last for another library), so later choices elsewhere
   * leave it alone. */
  if (docent_embedding_model_get (store, &recorded, NULL) && recorded == NULL)
    {
      check->model = dup_model_choice (self, store);
      if (!docent_embedding_model_set (store, check->model, &error))
        {
          g_debug ("Could not record the embedding model: %s", error->message);
          g_clear_error (&error);
        }
    }
  else
    check->model = recorded ? g_steal_pointer (&recorded) : g_strdup ("");
  unlock_reader (self);

  /* The model is loaded without holding up searches. */
  if (check->model[0] != '\0')
    {
      if ((gguf = dup_gguf (self, check->model, &error)) == NULL)
        {
          g_message ("Embedding model %s unusable: %s", check->model, error->message);
          g_clear_error (&error);
        }
      else if ((store = lock_reader (self, NULL)) != NULL)
        {
          check->unembedded = docent_rechunker_count_unembedded (store, DOCENT_EMBEDDER (gguf), NULL);
          unlock_reader (self);
        }
    }
  g_task_return_boolean (task, TRUE);
}

static void
count_unfinished_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  DocentLibrary *self = DOCENT_LIBRARY (object);
  OpenCheck *check = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("Could not look for unfinished imports: %s", error->message);
      return;
    }
  /* Unless a choice was made meanwhile (its job records it). */
  if (!self->model_chosen)
    set_embedding_path (self, check->model);
  if (check->unfinished > 0 && !docent_library_get_importing (self))
    {
      const char *none[] = { NULL };

      g_debug ("Resuming %" G_GINT64_FORMAT " unfinished imports", check->unfinished);
      queue_import (self, none, NULL);
    }
  if (check->rechunk > 0)
    {
      g_debug ("Finishing the re-cut of %u documents", check->rechunk);
      docent_library_set_chunking (self, check->size, check->overlap, NULL);
    }
  /* An import or re-cut brings the vectors up to date anyway. */
  if (check->unembedded > 0 && !docent_library_get_importing (self))
    {
      ImportJob *job = g_new0 (ImportJob, 1);

      g_debug ("Finishing the embedding of %" G_GINT64_FORMAT " passages", check->unembedded);
      job->kind = JOB_VECTORS;
      queue_job (self, job);
    }
}

static void
check_unfinished (DocentLibrary *self)
{
  g_autoptr(GTask) task = g_task_new (self, self->cancellable, count_unfinished_cb, NULL);

  g_task_set_source_tag (task, check_unfinished);
  g_task_set_task_data (task, g_new0 (OpenCheck, 1), (GDestroyNotify) open_check_free);
  g_task_run_in_thread (task, count_unfinished_thread);
}

static void
list_documents_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  DocentLibrary *self = DOCENT_LIBRARY (object);
  g_autoptr(GPtrArray) docs = NULL;
  g_autoptr(GError) error = NULL;

  docs = g_task_propagate_pointer (G_TASK (result), &error);
  self->refreshing = FALSE;
  if (g_task_get_task_data (G_TASK (result)) != NULL)
    {
      char **lines = g_task_get_task_data (G_TASK (result));
      g_autoptr(GStrvBuilder) names = g_strv_builder_new ();

      g_hash_table_remove_all (self->doc_collections);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          if (lines[i][0] != '\t')
            {
              g_strv_builder_add (names, lines[i]);
              continue;
            }
          {
            char *name = strchr (lines[i] + 1, '\t');
            gint64 id = g_ascii_strtoll (lines[i] + 1, NULL, 10);
            const char *before = g_hash_table_lookup (self->doc_collections, &id);
            gint64 *key = g_memdup2 (&id, sizeof id);

            if (name == NULL)
              {
                g_free (key);
                continue;
              }
            g_hash_table_replace (self->doc_collections, key,
                                  before ? g_strconcat (before, ", ", name + 1, NULL) : g_strdup (name + 1));
          }
        }
      g_strfreev (self->collections);
      self->collections = g_strv_builder_end (names);
    }

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  /* A library that cannot be opened is a state to show, not a crash. */
  g_clear_error (&self->error);
  if (docs == NULL)
    {
      g_message ("Could not list the documents of %s: %s", self->path, error->message);
      self->error = g_steal_pointer (&error);
      docs = g_ptr_array_new ();
    }
  apply_documents (self, docs);
  {
    GListModel *model = G_LIST_MODEL (self->documents);

    for (guint i = 0; i < g_list_model_get_n_items (model); i++)
      {
        g_autoptr(DocentDocumentItem) item = g_list_model_get_item (model, i);
        gint64 id = docent_document_item_get_id (item);

        docent_document_item_set_collections (item, g_hash_table_lookup (self->doc_collections, &id));
      }
  }

  if (!self->loaded)
    {
      self->loaded = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
      check_unfinished (self);
    }
  g_signal_emit (self, signals[DOCUMENTS_LOADED], 0);

  if (self->refresh_again)
    {
      self->refresh_again = FALSE;
      docent_library_refresh (self);
    }
}

void
docent_library_refresh (DocentLibrary *self)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (DOCENT_IS_LIBRARY (self));

  if (self->refreshing)
    {
      self->refresh_again = TRUE;
      return;
    }
  self->refreshing = TRUE;
  task = g_task_new (self, self->cancellable, list_documents_cb, NULL);
  g_task_set_source_tag (task, docent_library_refresh);
  g_task_run_in_thread (task, list_documents_thread);
}

static gboolean
refresh_timeout_cb (gpointer user_data)
{
  DocentLibrary *self = user_data;

  self->refresh_source = 0;
  docent_library_refresh (self);
  return G_SOURCE_REMOVE;
}

/* Imports finish files quickly; at most a few refreshes a second. */
static void
queue_refresh (DocentLibrary *self)
{
  if (self->refresh_source == 0)
    self->refresh_source = g_timeout_add (250, refresh_timeout_cb, self);
}

DocentDocumentItem *
docent_library_find_document (DocentLibrary *self,
                              gint64         id)
{
  GListModel *model;
  guint n;

  g_return_val_if_fail (DOCENT_IS_LIBRARY (self), NULL);

  model = G_LIST_MODEL (self->documents);
  n = g_list_model_get_n_items (model);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(DocentDocumentItem) item = g_list_model_get_item (model, i);

      if (docent_document_item_get_id (item) == id)
        return item;   /* the list store keeps it alive */
    }
  return NULL;
}

/* --- remove -------------------------------------------------------------- */

static void
remove_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  DocentLibrary *self = source_object;
  gint64 id = *(gint64 *) task_data;
  g_autoptr(GError) error = NULL;
  DocentStore *store;
  gboolean ok;

  if ((store = lock_reader (self, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  ok = docent_store_remove_document (store, id, &error);
  /* The retriever notices other connections' writes, not its own. */
  if (ok && self->retriever != NULL && !docent_retriever_reload (self->retriever, &error))
    {
      g_warning ("Could not reload the vectors: %s", error->message);
      g_clear_error (&error);
      g_clear_object (&self->retriever);
    }
  unlock_reader (self);

  if (!ok)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
remove_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  DocentLibrary *self = DOCENT_LIBRARY (object);
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_warning ("Could not remove a document: %s", error->message);
    }
  docent_library_refresh (self);
}

void
docent_library_remove (DocentLibrary *self,
                       gint64         id)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (DOCENT_IS_LIBRARY (self));
  g_return_if_fail (id > 0);

  task = g_task_new (self, self->cancellable, remove_cb, NULL);
  g_task_set_source_tag (task, docent_library_remove);
  g_task_set_task_data (task, g_memdup2 (&id, sizeof id), g_free);
  g_task_run_in_thread (task, remove_thread);
}

void
docent_library_dismiss_failure (DocentLibrary *self,
                                const char    *path)
{
  g_return_if_fail (DOCENT_IS_LIBRARY (self));

  if (g_hash_table_remove (self->failures, path))
    docent_library_refresh (self);
}

/* --- search ------------------------------------------------------------- */

typedef struct {
  char               *query;
  guint               k;
  GArray             *doc_ids;
  DocentSearchFilter  filter;
} SearchData;

static void
search_data_free (SearchData *data)
{
  g_free (data->query);
  g_clear_pointer (&data->doc_ids, g_array_unref);
  g_clear_pointer (&data->filter.collections, g_ptr_array_unref);
  g_free (data);
}

/* Builds (or rebuilds, after the library's embedding model changed) the
 * retriever on the reader store. Called with the reader locked. Hybrid (or
 * whatever measured best) goes through it; plain BM25 from the store if it
 * cannot start. */
static void
ensure_retriever (DocentLibrary *self,
                  DocentStore   *store)
{
  g_autofree char *model = dup_model_choice (self, store);
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentGgufEmbedder) gguf = NULL;

  if (self->retriever != NULL && g_strcmp0 (self->retriever_model, model) == 0)
    return;
  g_clear_object (&self->retriever);
  if (model[0] != '\0' && (gguf = dup_gguf (self, model, &error)) == NULL)
    {
      g_message ("Embedding model %s unusable, using the built-in one: %s", model, error->message);
      g_clear_error (&error);
    }
  self->retriever = docent_retriever_new (store, gguf ? DOCENT_EMBEDDER (gguf) : NULL, &error);
  g_free (self->retriever_model);
  self->retriever_model = g_steal_pointer (&model);
  if (self->retriever == NULL)
    g_debug ("No retriever, searching with BM25 only: %s", error->message);
}

static SearchData *
search_data_new (const char               *query,
                 guint                     k,
                 GArray                   *doc_ids,
                 const DocentSearchFilter *filter)
{
  SearchData *data = g_new0 (SearchData, 1);

  data->query = g_strdup (query);
  data->k = k > 0 ? k : 10;
  docent_search_filter_init (&data->filter);
  if (filter != NULL)
    {
      data->filter = *filter;
      data->filter.collections = NULL;
      if (filter->collections != NULL && filter->collections->len > 0)
        {
          data->filter.collections = g_ptr_array_new_with_free_func (g_free);
          for (guint i = 0; i < filter->collections->len; i++)
            g_ptr_array_add (data->filter.collections, g_strdup (filter->collections->pdata[i]));
        }
    }
  if (doc_ids != NULL && doc_ids->len > 0)
    {
      data->doc_ids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), doc_ids->len);
      g_array_append_vals (data->doc_ids, doc_ids->data, doc_ids->len);
    }

  return data;
}

static void
search_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  DocentLibrary *self = source_object;
  SearchData *data = task_data;
  DocentSearchOptions options = { .k = data->k, .doc_ids = data->doc_ids };
  g_autoptr(GError) error = NULL;
  DocentStore *store;
  GPtrArray *results;

  if (g_task_return_error_if_cancelled (task))
    return;
  if ((store = lock_reader (self, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  ensure_retriever (self, store);
  if (self->retriever != NULL)
    results = docent_retriever_search_filtered (self->retriever, data->query,
                                                docent_retriever_get_default_mode (self->retriever),
                                                &options, &data->filter, &error);
  else
    results = docent_store_search (store, data->query, &options, &error);
  unlock_reader (self);

  if (results == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, results, (GDestroyNotify) g_ptr_array_unref);
}

void
docent_library_search_async (DocentLibrary       *self,
                             const char          *query,
                             guint                k,
                             GArray              *doc_ids,
                             const DocentSearchFilter *filter,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  SearchData *data;

  g_return_if_fail (DOCENT_IS_LIBRARY (self));
  g_return_if_fail (query != NULL);

  data = search_data_new (query, k, doc_ids, filter);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, docent_library_search_async);
  g_task_set_task_data (task, data, (GDestroyNotify) search_data_free);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, search_thread);
}

GPtrArray *
docent_library_search_finish (DocentLibrary  *self,
                              GAsyncResult   *result,
                              GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
docent_library_answer_free (DocentLibraryAnswer *answer)
{
  g_clear_pointer (&answer->answer, docent_answer_free);
  g_clear_pointer (&answer->sources, g_ptr_array_unref);
  g_free (answer);
}

static void
ask_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  DocentLibrary *self = source_object;
  SearchData *data = task_data;
  DocentSearchOptions options = { .k = data->k, .doc_ids = data->doc_ids };
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentLibraryAnswer) out = g_new0 (DocentLibraryAnswer, 1);
  DocentStore *store;

  if (g_task_return_error_if_cancelled (task))
    return;
  if ((store = lock_reader (self, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  ensure_retriever (self, store);
  if (self->retriever != NULL)
    {
      DocentSearchMode mode = docent_retriever_get_default_mode (self->retriever);
      g_autoptr(GError) a_error = NULL;

      out->answer = docent_answer_extractive (self->retriever, data->query, mode, &options,
                                              &data->filter, &a_error);
      if (out->answer == NULL)
        g_message ("No extractive answer: %s", a_error->message);
      out->sources = docent_retriever_search_filtered (self->retriever, data->query, mode,
                                                       &options, &data->filter, &error);
    }
  else
    out->sources = docent_store_search (store, data->query, &options, &error);
  unlock_reader (self);

  if (out->sources == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, g_steal_pointer (&out), (GDestroyNotify) docent_library_answer_free);
}

void
docent_library_ask_async (DocentLibrary            *self,
                          const char               *question,
                          guint                     k,
                          GArray                   *doc_ids,
                          const DocentSearchFilter *filter,
                          GCancellable             *cancellable,
                          GAsyncReadyCallback       callback,
                          gpointer                  user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (DOCENT_IS_LIBRARY (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, docent_library_ask_async);
  g_task_set_task_data (task, search_data_new (question, k, doc_ids, filter), (GDestroyNotify) search_data_free);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, ask_thread);
}

DocentLibraryAnswer *
docent_library_ask_finish (DocentLibrary  *self,
                           GAsyncResult   *result,
                           GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
dup_pages_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  DocentLibrary *self = source_object;
  gint64 id = *(gint64 *) task_data;
  g_autoptr(GError) error = NULL;
  DocentStore *store;
  GPtrArray *pages;

  if ((store = lock_reader (self, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  pages = docent_store_dup_pages (store, id, &error);
  unlock_reader (self);

  if (pages == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, pages, (GDestroyNotify) g_ptr_array_unref);
}

void
docent_library_dup_pages_async (DocentLibrary       *self,
                                gint64               doc_id,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (DOCENT_IS_LIBRARY (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, docent_library_dup_pages_async);
  g_task_set_task_data (task, g_memdup2 (&doc_id, sizeof doc_id), g_free);
  g_task_run_in_thread (task, dup_pages_thread);
}

GPtrArray *
docent_library_dup_pages_finish (DocentLibrary  *self,
                                 GAsyncResult   *result,
                                 GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* --- import -------------------------------------------------------------- */

static void
set_busy_path (DocentLibrary *self,
               const char    *path)
{
  GListModel *model = G_LIST_MODEL (self->documents);
  guint n = g_list_model_get_n_items (model);

  if (g_strcmp0 (self->busy_path, path) == 0)
    return;
  g_free (self->busy_path);
  self->busy_path = g_strdup (path);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(DocentDocumentItem) item = g_list_model_get_item (model, i);

      docent_document_item_set_busy (item,
                                     g_strcmp0 (docent_document_item_get_path (item), path) == 0);
    }
}

static DocentDocument *
new_unstored_document (const char      *path,
                       DocentDocStatus  status,
                       const char      *error)
{
  DocentDocument *doc = docent_document_new ();

  doc->path = g_strdup (path);
  doc->name = g_path_get_basename (path);
  doc->title = g_strdup (doc->name);
  doc->status = status;
  doc->error = g_strdup (error);
  if (!docent_doc_type_from_path (path, &doc->type))
    doc->type = DOCENT_DOC_TYPE_TEXT;
  return doc;
}

static void
importer_progress_cb (DocentImporter             *importer,
                      const DocentImportProgress *progress,
                      DocentLibrary              *self)
{
  if (progress->current != NULL && !g_hash_table_contains (self->pending, progress->current))
    g_hash_table_insert (self->pending, g_strdup (progress->current),
                         new_unstored_document (progress->current, DOCENT_DOC_STATUS_IMPORTING, NULL));
  set_busy_path (self, progress->current);
  g_signal_emit (self, signals[IMPORT_PROGRESS], 0, progress,
                 g_queue_get_length (&self->import_queue));
  /* A file that starts importing shows up in the library at once. */
  queue_refresh (self);
}

static void
importer_file_done_cb (DocentImporter               *importer,
                       const DocentImportFileResult *result,
                       DocentLibrary                *self)
{
  g_hash_table_remove (self->pending, result->path);
  if (result->outcome == DOCENT_IMPORT_FAILED && result->doc_id == 0)
    g_hash_table_replace (self->failures, g_strdup (result->path),
                          new_unstored_document (result->path, DOCENT_DOC_STATUS_FAILED, result->reason));

  g_signal_emit (self, signals[IMPORT_FILE_DONE], 0, result);

  if (result->outcome == DOCENT_IMPORT_FAILED &&
      result->error_code == DOCENT_ERROR_ENCRYPTED)
    g_signal_emit (self, signals[PASSWORD_NEEDED], 0, result->path, result->reason);

  queue_refresh (self);
}

static void
finish_batch (DocentLibrary *self,
              GPtrArray     *results,
              const GError  *error)
{
  if (self->importer != NULL)
    g_signal_handlers_disconnect_by_data (self->importer, self);
  g_clear_object (&self->importer);
  if (self->rechunker != NULL)
    g_signal_handlers_disconnect_by_data (self->rechunker, self);
  g_clear_object (&self->rechunker);
  g_clear_object (&self->import_cancellable);
  set_busy_path (self, NULL);
  g_hash_table_remove_all (self->pending);

  g_signal_emit (self, signals[IMPORT_FINISHED], 0, results, error);
  docent_library_refresh (self);

  start_next_import (self);
  if (self->import_cancellable == NULL)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IMPORTING]);
}

static void
set_embedding_path (DocentLibrary *self,
                    const char    *path)
{
  if (path != NULL && path[0] == '\0')
    path = NULL;
  if (g_strcmp0 (path, self->embedding_path) == 0)
    return;
  g_free (self->embedding_path);
  self->embedding_path = g_strdup (path);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EMBEDDING_MODEL]);
}

/* --- vectors: after an import, re-cutting, re-embedding ------------------ */

/* Everything that brings the vectors up to date runs a DocentRechunker
 * (with nothing to re-cut it only embeds), so each shows its progress in
 * the import box and stops between rounds, keeping what was written: the
 * vectors still missing are counted and made when the library opens. */
typedef struct {
  JobKind             kind;       /* IMPORT: after the files */
  guint               chunk_size, chunk_overlap;   /* RECHUNK */
  char               *model;      /* REEMBED: to record; out: the library's */
  GPtrArray          *results;    /* IMPORT: the import's */
  DocentGgufEmbedder *gguf;       /* out: the library's model, loaded */
} VectorsData;

static void
vectors_data_free (VectorsData *data)
{
  g_free (data->model);
  g_clear_pointer (&data->results, g_ptr_array_unref);
  g_clear_object (&data->gguf);
  g_free (data);
}

/* Settings are written and the model loaded off the main loop (a model
 * file is tens of megabytes); a connection of its own, it writes. */
static void
vectors_prepare_thread (GTask        *task,
                        gpointer      source_object,
                        gpointer      task_data,
                        GCancellable *cancellable)
{
  DocentLibrary *self = source_object;
  VectorsData *data = task_data;
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(GError) error = NULL;

  store = docent_store_open (self->path, &error);
  if (store == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (data->kind == JOB_RECHUNK &&
      !docent_chunking_set (store, data->chunk_size, data->chunk_overlap, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (data->kind == JOB_REEMBED)
    {
      DocentStore *reader = NULL;
      gboolean ok;

      /* A file that cannot be used is not recorded: the library keeps the
       * model it has (passed back to show it again). Recorded through the
       * reader, under its lock, so it cannot cross the default that a
       * library opened for the first time records. */
      ok = (data->model[0] == '\0' || (data->gguf = dup_gguf (self, data->model, &error)) != NULL) &&
           (reader = lock_reader (self, &error)) != NULL;
      if (reader != NULL)
        {
          ok = docent_embedding_model_set (reader, data->model, &error);
          unlock_reader (self);
        }
      if (!ok)
        {
          g_free (data->model);
          data->model = dup_model_choice (self, store);
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      g_task_return_boolean (task, TRUE);
      return;
    }
  data->model = dup_model_choice (self, store);
  if (data->model[0] != '\0' && (data->gguf = dup_gguf (self, data->model, &error)) == NULL)
    {
      /* The built-in vectors still come; searches say so in the log too. */
      g_message ("Embedding model %s unusable: %s", data->model, error->message);
      g_clear_error (&error);
    }
  g_task_return_boolean (task, TRUE);
}

static gboolean
is_cancelled (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
         g_error_matches (error, DOCENT_ERROR, DOCENT_ERROR_CANCELLED);
}

static void
rechunk_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(DocentLibrary) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  gboolean ok;

  ok = docent_rechunker_run_finish (DOCENT_RECHUNKER (object), result, NULL, NULL, &error);
  if (DOCENT_RECHUNKER (object) != self->rechunker)
    return;
  results = g_steal_pointer (&self->batch_results);
  /* After an import the files are in whatever happened to their vectors:
   * searches still find them (BM25), and the next open catches up. */
  if (!ok && self->batch_kind == JOB_IMPORT)
    {
      if (!is_cancelled (error))
        g_warning ("Could not embed the new passages of %s: %s", self->path, error->message);
      g_clear_error (&error);
    }
  finish_batch (self, results, error);
}

static void
rechunker_progress_cb (DocentRechunker             *rechunker,
                       const DocentRechunkProgress *progress,
                       DocentLibrary               *self)
{
  g_signal_emit (self, signals[RECHUNK_PROGRESS], 0, progress);
}

static void
vectors_prepared_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  DocentLibrary *self = DOCENT_LIBRARY (object);
  VectorsData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      /* Stale (disposed, or stopped and something else started) */
      if (g_task_get_cancellable (G_TASK (result)) != self->import_cancellable)
        return;
      if (data->kind == JOB_REEMBED && data->model != NULL)
        set_embedding_path (self, data->model);
      if (data->kind == JOB_IMPORT)
        {
          if (!is_cancelled (error))
            g_warning ("Could not embed the new passages of %s: %s", self->path, error->message);
          g_clear_error (&error);
        }
      finish_batch (self, data->results, error);
      return;
    }
  if (g_task_get_cancellable (G_TASK (result)) != self->import_cancellable)
    return;

  if (data->kind == JOB_REEMBED || data->kind == JOB_VECTORS)
    set_embedding_path (self, data->model);
  self->batch_kind = data->kind;
  self->batch_results = g_steal_pointer (&data->results);
  self->rechunker = docent_rechunker_new (self->path);
  if (data->gguf != NULL)
    docent_rechunker_set_embedder (self->rechunker, DOCENT_EMBEDDER (data->gguf));
  g_signal_connect (self->rechunker, "progress", G_CALLBACK (rechunker_progress_cb), self);
  docent_rechunker_run_async (self->rechunker, self->import_cancellable, rechunk_cb, g_object_ref (self));
}

/* @job: NULL after an import's files (@results: theirs). */
static void
start_vectors (DocentLibrary *self,
               ImportJob     *job,
               GPtrArray     *results)
{
  g_autoptr(GTask) task = NULL;
  VectorsData *data = g_new0 (VectorsData, 1);

  data->kind = job ? job->kind : JOB_IMPORT;
  data->results = results;
  if (job != NULL)
    {
      data->chunk_size = job->chunk_size;
      data->chunk_overlap = job->chunk_overlap;
      data->model = g_strdup (job->model);
    }
  set_busy_path (self, NULL);
  switch (data->kind)
    {
    case JOB_IMPORT:
      g_signal_emit (self, signals[IMPORT_INDEXING], 0);
      break;
    case JOB_RECHUNK:
      g_signal_emit (self, signals[IMPORT_STARTED], 0);
      g_signal_emit (self, signals[RECHUNK_STARTED], 0);
      break;
    case JOB_REEMBED:
    case JOB_VECTORS:
      g_signal_emit (self, signals[IMPORT_STARTED], 0);
      g_signal_emit (self, signals[REEMBED_STARTED], 0);
      break;
    }
  task = g_task_new (self, self->import_cancellable, vectors_prepared_cb, NULL);
  g_task_set_source_tag (task, start_vectors);
  g_task_set_task_data (task, data, (GDestroyNotify) vectors_data_free);
  g_task_run_in_thread (task, vectors_prepare_thread);
}

static void
import_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(DocentLibrary) self = user_data;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  results = docent_importer_import_finish (DOCENT_IMPORTER (object), result, &error);
  if (DOCENT_IMPORTER (object) != self->importer)
    return;

  if (results == NULL || g_cancellable_is_cancelled (self->import_cancellable))
    {
      finish_batch (self, results, error);
      return;
    }

  if (self->importer != NULL)
    g_signal_handlers_disconnect_by_data (self->importer, self);
  g_clear_object (&self->importer);
  start_vectors (self, NULL, g_steal_pointer (&results));
}

static void
start_next_import (DocentLibrary *self)
{
  ImportJob *job;

  if (self->import_cancellable != NULL)
    return;
  if ((job = g_queue_pop_head (&self->import_queue)) == NULL)
    return;

  self->import_cancellable = g_cancellable_new ();
  if (job->kind != JOB_IMPORT)
    {
      start_vectors (self, job, NULL);
      import_job_free (job);
      return;
    }

  self->importer = docent_importer_new (self->path);
  /* The window's main loop comes first: its frames and input are not
   * kept waiting behind the extraction. */
  docent_importer_set_background (self->importer, TRUE);
  if (job->password != NULL)
    docent_importer_set_password (self->importer, job->password);
  /* The library's model, once loaded, embeds on the import's workers. */
  g_mutex_lock (&self->config_lock);
  if (self->gguf != NULL &&
      g_strcmp0 (docent_gguf_embedder_get_path (self->gguf), self->embedding_path) == 0)
    docent_importer_set_embedder (self->importer, DOCENT_EMBEDDER (self->gguf));
  g_mutex_unlock (&self->config_lock);
  g_signal_connect (self->importer, "progress", G_CALLBACK (importer_progress_cb), self);
  g_signal_connect (self->importer, "file-done", G_CALLBACK (importer_file_done_cb), self);

  g_signal_emit (self, signals[IMPORT_STARTED], 0);
  docent_importer_import_async (self->importer,
                                (const char * const *) job->paths,
                                self->import_cancellable,
                                import_cb,
                                g_object_ref (self));
  import_job_free (job);
}

static void
queue_job (DocentLibrary *self,
           ImportJob     *job)
{
  gboolean was_importing = docent_library_get_importing (self);

  g_queue_push_tail (&self->import_queue, job);
  start_next_import (self);
  if (!was_importing)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IMPORTING]);
}

static void
queue_import (DocentLibrary      *self,
              const char * const *paths,
              const char         *password)
{
  ImportJob *job = g_new0 (ImportJob, 1);

  job->kind = JOB_IMPORT;
  job->paths = g_strdupv ((char **) paths);
  job->password = g_strdup (password);
  /* Retrying a failed file: it leaves the failure list once it succeeds. */
  queue_job (self, job);
}

void
docent_library_import (DocentLibrary      *self,
                       const char * const *paths,
                       const char         *password)
{
  g_return_if_fail (DOCENT_IS_LIBRARY (self));

  if (paths == NULL || paths[0] == NULL)
    return;
  queue_import (self, paths, password);
}

void
docent_library_cancel_import (DocentLibrary *self)
{
  g_return_if_fail (DOCENT_IS_LIBRARY (self));

  g_queue_clear_full (&self->import_queue, (GDestroyNotify) import_job_free);
  if (self->import_cancellable != NULL)
    g_cancellable_cancel (self->import_cancellable);
}

void
docent_library_set_default_embedding_model (DocentLibrary *self,
                                            const char    *path)
{
  g_return_if_fail (DOCENT_IS_LIBRARY (self));

  g_mutex_lock (&self->config_lock);
  g_free (self->default_embedding);
  self->default_embedding = g_strdup (path);
  g_mutex_unlock (&self->config_lock);
}

const char *
docent_library_get_embedding_model (DocentLibrary *self)
{
  g_return_val_if_fail (DOCENT_IS_LIBRARY (self), NULL);
  return self->embedding_path;
}

void
docent_library_set_embedding_model (DocentLibrary *self,
                                    const char    *path)
{
  ImportJob *job;

  g_return_if_fail (DOCENT_IS_LIBRARY (self));

  if (path != NULL && path[0] == '\0')
    path = NULL;
  if (g_strcmp0 (path, self->embedding_path) == 0)
    return;
  job = g_new0 (ImportJob, 1);
  job->kind = JOB_REEMBED;
  job->model = g_strdup (path ? path : "");
  /* Shown at once; a file that cannot be loaded puts the old one back. */
  set_embedding_path (self, path);
  self->model_chosen = TRUE;
  queue_job (self, job);
}

gboolean
docent_library_set_chunking (DocentLibrary *self,
                             guint          size,
                             guint          overlap,
                             GError       **error)
{
  ImportJob *job;

  g_return_val_if_fail (DOCENT_IS_LIBRARY (self), FALSE);

  if (!docent_chunking_validate (size, overlap, error))
    return FALSE;
  job = g_new0 (ImportJob, 1);
  job->kind = JOB_RECHUNK;
  job->chunk_size = size;
  job->chunk_overlap = overlap;
  queue_job (self, job);
  return TRUE;
}

gboolean
docent_library_get_importing (DocentLibrary *self)
{
  g_return_val_if_fail (DOCENT_IS_LIBRARY (self), FALSE);
  return self->import_cancellable != NULL || !g_queue_is_empty (&self->import_queue);
}

const char * const *
docent_library_get_collections (DocentLibrary *self)
{
  static const char * const none[] = { NULL };

  g_return_val_if_fail (DOCENT_IS_LIBRARY (self), NULL);
  return self->collections ? (const char * const *) self->collections : none;
}

typedef struct {
  gint64  doc_id;
  char   *name;
} CollectionData;

static void
collection_data_free (CollectionData *data)
{
  g_free (data->name);
  g_free (data);
}

static void
add_to_collection_thread (GTask        *task,
                          gpointer      source_object,
                          gpointer      task_data,
                          GCancellable *cancellable)
{
  DocentLibrary *self = source_object;
  CollectionData *data = task_data;
  g_autoptr(GError) error = NULL;
  DocentStore *store;
  gboolean ok;

  if ((store = lock_reader (self, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  ok = docent_collection_add (store, data->name, &data->doc_id, 1, &error);
  unlock_reader (self);

  if (!ok)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
add_to_collection_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  DocentLibrary *self = DOCENT_LIBRARY (object);
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_message ("Could not add to the collection: %s", error->message);
  docent_library_refresh (self);
}

void
docent_library_add_to_collection (DocentLibrary *self,
                                  gint64         doc_id,
                                  const char    *name)
{
  g_autoptr(GTask) task = NULL;
  CollectionData *data;

  g_return_if_fail (DOCENT_IS_LIBRARY (self));
  g_return_if_fail (name != NULL && name[0] != '\0');

  data = g_new0 (CollectionData, 1);
  data->doc_id = doc_id;
  data->name = g_strdup (name);
  task = g_task_new (self, self->cancellable, add_to_collection_cb, NULL);
  g_task_set_source_tag (task, docent_library_add_to_collection);
  g_task_set_task_data (task, data, (GDestroyNotify) collection_data_free);
  g_task_run_in_thread (task, add_to_collection_thread);
}

const GError *
docent_library_get_error (DocentLibrary *self)
{
  g_return_val_if_fail (DOCENT_IS_LIBRARY (self), NULL);
  return self->error;
}

gboolean
docent_library_get_applying (DocentLibrary *self)
{
  g_return_val_if_fail (DOCENT_IS_LIBRARY (self), FALSE);
  return self->applying;
}

gboolean
docent_library_get_loaded (DocentLibrary *self)
{
  g_return_val_if_fail (DOCENT_IS_LIBRARY (self), FALSE);
  return self->loaded;
}

/* --- object ------------------------------------------------------------- */

static void
docent_library_dispose (GObject *object)
{
  DocentLibrary *self = DOCENT_LIBRARY (object);

  g_cancellable_cancel (self->cancellable);
  docent_library_cancel_import (self);
  g_clear_handle_id (&self->refresh_source, g_source_remove);
  if (self->importer != NULL)
    g_signal_handlers_disconnect_by_data (self->importer, self);
  g_clear_object (&self->importer);
  if (self->rechunker != NULL)
    g_signal_handlers_disconnect_by_data (self->rechunker, self);
  g_clear_object (&self->rechunker);
  g_clear_pointer (&self->batch_results, g_ptr_array_unref);
  g_clear_object (&self->import_cancellable);
  if (self->documents != NULL)
    g_list_store_remove_all (self->documents);

  G_OBJECT_CLASS (docent_library_parent_class)->dispose (object);
}

static void
docent_library_finalize (GObject *object)
{
  DocentLibrary *self = DOCENT_LIBRARY (object);

  g_clear_object (&self->retriever);
  g_clear_object (&self->reader);
  g_mutex_clear (&self->reader_lock);
  g_mutex_clear (&self->config_lock);
  g_clear_pointer (&self->embedding_path, g_free);
  g_clear_pointer (&self->default_embedding, g_free);
  g_clear_pointer (&self->retriever_model, g_free);
  g_clear_object (&self->gguf);
  g_clear_object (&self->documents);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->failures, g_hash_table_unref);
  g_clear_pointer (&self->pending, g_hash_table_unref);
  g_clear_pointer (&self->busy_path, g_free);
  g_clear_error (&self->error);
  g_clear_pointer (&self->collections, g_strfreev);
  g_clear_pointer (&self->doc_collections, g_hash_table_unref);
  g_free (self->path);

  G_OBJECT_CLASS (docent_library_parent_class)->finalize (object);
}

static void
docent_library_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  DocentLibrary *self = DOCENT_LIBRARY (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_IMPORTING:
      g_value_set_boolean (value, docent_library_get_importing (self));
      break;
    case PROP_LOADED:
      g_value_set_boolean (value, self->loaded);
      break;
    case PROP_EMBEDDING_MODEL:
      g_value_set_string (value, self->embedding_path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
docent_library_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  DocentLibrary *self = DOCENT_LIBRARY (object);

  switch (prop_id)
    {
    case PROP_PATH:
      self->path = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
docent_library_class_init (DocentLibraryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = docent_library_dispose;
  object_class->finalize = docent_library_finalize;
  object_class->get_property = docent_library_get_property;
  object_class->set_property = docent_library_set_property;

  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_IMPORTING] =
    g_param_spec_boolean ("importing", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOADED] =
    g_param_spec_boolean ("loaded", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_EMBEDDING_MODEL] =
    g_param_spec_string ("embedding-model", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[IMPORT_STARTED] =
    g_signal_new ("import-started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[IMPORT_PROGRESS] =
    g_signal_new ("import-progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_UINT);
  signals[IMPORT_FILE_DONE] =
    g_signal_new ("import-file-done", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[IMPORT_INDEXING] =
    g_signal_new ("import-indexing", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[IMPORT_FINISHED] =
    g_signal_new ("import-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_PTR_ARRAY, G_TYPE_ERROR);
  signals[RECHUNK_STARTED] =
    g_signal_new ("rechunk-started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[RECHUNK_PROGRESS] =
    g_signal_new ("rechunk-progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[REEMBED_STARTED] =
    g_signal_new ("reembed-started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[PASSWORD_NEEDED] =
    g_signal_new ("password-needed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[DOCUMENTS_LOADED] =
    g_signal_new ("documents-loaded", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
docent_library_init (DocentLibrary *self)
{
  g_mutex_init (&self->reader_lock);
  g_mutex_init (&self->config_lock);
  self->documents = g_list_store_new (DOCENT_TYPE_DOCUMENT_ITEM);
  self->failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) docent_document_free);
  self->doc_collections = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) docent_document_free);
  self->cancellable = g_cancellable_new ();
  g_queue_init (&self->import_queue);
}

DocentLibrary *
docent_library_new (const char *path)
{
  g_return_val_if_fail (path != NULL, NULL);
  return g_object_new (DOCENT_TYPE_LIBRARY, "path", path, NULL);
}

const char *
docent_library_get_path (DocentLibrary *self)
{
  g_return_val_if_fail (DOCENT_IS_LIBRARY (self), NULL);
  return self->path;
}

GListModel *
docent_library_get_documents (DocentLibrary *self)
{
  g_return_val_if_fail (DOCENT_IS_LIBRARY (self), NULL);
  return G_LIST_MODEL (self->documents);
}
