/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-models"
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "docent-error.h"
#include "docent-model-manager.h"
#include "llm-gguf.h"
#include "llm-quantize.h"

#define MAX_DEPTH 6

void
docent_model_info_free (DocentModelInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->path);
  g_free (info->source);
  g_free (info->name);
  g_free (info->architecture);
  g_free (info->quantization);
  g_free (info);
}

static guint64
arch_uint (const llm_gguf *g, const char *arch, const char *suffix, guint64 fallback)
{
  g_autofree char *key = g_strdup_printf ("%s.%s", arch ? arch : "", suffix);
  uint64_t v;
  return llm_gguf_get_uint (g, key, &v) ? v : fallback;
}

static gboolean
is_encoder_arch (const char *arch)
{
  return arch != NULL && (strstr (arch, "bert") != NULL || g_str_equal (arch, "t5encoder"));
}

guint64
docent_model_estimate_ram (const llm_gguf *g, const char *arch, guint64 weights)
{
  guint64 n_layer = MIN (arch_uint (g, arch, "block_count", 0), 1u << 16);
  guint64 n_ctx = MIN (arch_uint (g, arch, "context_length", 0), 1u << 24);
  guint64 n_embd = MIN (arch_uint (g, arch, "embedding_length", 0), 1u << 20);
  guint64 n_ff = MIN (arch_uint (g, arch, "feed_forward_length", 0), 1u << 22);
  guint64 n_head = MIN (arch_uint (g, arch, "attention.head_count", 1), 1u << 12);
  guint64 n_head_kv = MIN (arch_uint (g, arch, "attention.head_count_kv", n_head), 1u << 12);
  guint64 head_k = MIN (arch_uint (g, arch, "attention.key_length", n_head ? n_embd / n_head : 0), 1u << 16);
  guint64 head_v = MIN (arch_uint (g, arch, "attention.value_length", head_k), 1u << 16);
  guint64 n_vocab = 0;
  llm_gguf_type et;
  guint64 kv, scratch;

  /* Nothing runs without weights: a vocabulary-only file (the tokenizer
   * test files) holds its vocabulary, about the file's size, and no cache
   * or work buffers, whatever its metadata says of the model it came from. */
  if (llm_gguf_n_tensors (g) == 0 || weights == 0)
    return llm_gguf_file_size (g);
  if (!llm_gguf_get_array (g, "tokenizer.ggml.tokens", &et, &n_vocab))
    n_vocab = 0;
  n_vocab = MIN (n_vocab, (guint64) 1 << 24);
  /* Only a decoder keeps a KV cache; an encoder attends within its batch. */
  kv = is_encoder_arch (arch) ? 0 : n_layer * n_ctx * n_head_kv * (head_k + head_v) * 2;
  scratch = 512 * 4 * (n_vocab + 4 * n_embd + 2 * n_ff);
  return weights + kv + scratch + 16 * 1024 * 1024;
}

DocentModelInfo *
docent_model_manager_describe (const char *path, const char *source, GError **error)
{
  llm_gguf_error err;
  llm_gguf *g;
  DocentModelInfo *info;
  guint64 bytes[LLM_TYPE_COUNT] = { 0 }, weights = 0;
  int best = -1;

  g = llm_gguf_open (path, &err);
  if (g == NULL)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_CORRUPT,
                   _("“%s” is not a usable GGUF model: %s"), path, err.message);
      return NULL;
    }
  info = g_new0 (DocentModelInfo, 1);
  info->path = g_strdup (path);
  info->source = g_strdup (source ? source : "other");
  info->architecture = llm_gguf_dup_string (g, "general.architecture");
  info->name = llm_gguf_dup_string (g, "general.name");
  if (info->name == NULL || info->name[0] == '\0' || !g_utf8_validate (info->name, -1, NULL))
    {
      g_free (info->name);
      info->name = g_filename_display_basename (path);
    }
  if (info->architecture && !g_utf8_validate (info->architecture, -1, NULL))
    g_clear_pointer (&info->architecture, g_free);
  for (size_t i = 0; i < llm_gguf_n_tensors (g); i++)
    {
      const llm_gguf_tensor *t = llm_gguf_get_tensor (g, i);
      info->parameters += (guint64) t->n_elements;
      weights += t->size;
      if ((unsigned) t->type < LLM_TYPE_COUNT && t->n_dims >= 2)
        bytes[t->type] += t->size;
    }
  for (int t = 0; t < LLM_TYPE_COUNT; t++)
    if (bytes[t] > 0 && (best < 0 || bytes[t] > bytes[best]))
      best = t;
  if (best < 0)  /* no matrices: the type of the biggest tensor */
    for (size_t i = 0; i < llm_gguf_n_tensors (g); i++)
      {
        const llm_gguf_tensor *t = llm_gguf_get_tensor (g, i);
        if (best < 0 || t->size > bytes[0])
          {
            best = t->type;
            bytes[0] = t->size;
          }
      }
  if (best >= 0 && llm_type_name (best) != NULL)
    info->quantization = g_strdup (llm_type_name (best));
  info->file_size = llm_gguf_file_size (g);
  info->ram_estimate = docent_model_estimate_ram (g, info->architecture, weights);
  /* Without weights (a vocabulary) it is neither: nothing to run. */
  info->is_embedding = weights > 0 && is_encoder_arch (info->architecture);
  info->is_chat = weights > 0 && info->architecture != NULL && !is_encoder_arch (info->architecture);
  llm_gguf_close (g);
  return info;
}

/* ---- discovery --------------------------------------------------------- */

/* Which app a file belongs to, from where it lies. */
static const char *
source_for_path (const char *path)
{
  if (strstr (path, "/docent/models/"))
    return "docent";
  if (strstr (path, "/nomic.ai/GPT4All/"))
    return "gpt4all";
  if (strstr (path, "/lm-studio/models/") || strstr (path, "/.lmstudio/models/"))
    return "lm-studio";
  if (strstr (path, "/jan/models/"))
    return "jan";
  if (strstr (path, "/.ollama/models/blobs/"))
    return "ollama";
  return "other";
}

/* Regular file starting with "GGUF"; never blocks on FIFOs or devices. */
static gboolean
has_gguf_magic (const char *path)
{
  char magic[4];
  gboolean ok;
  int fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return FALSE;
  ok = read (fd, magic, 4) == 4 && memcmp (magic, "GGUF", 4) == 0;
  close (fd);
  return ok;
}

/* @seen holds the canonical paths of files and the device:inode of folders
 * already visited, so symlink loops end and each file is listed once. */
static void
scan_dir (const char *dir, int depth, GHashTable *seen, GPtrArray *out)
{
  g_autoptr(GDir) d = NULL;
  const char *entry;

  if (depth > MAX_DEPTH)
    return;
  d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    return;
  while ((entry = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, entry, NULL);
      struct stat st;
      gboolean candidate;

      if (entry[0] == '.' && depth > 0)
        continue;
      if (stat (path, &st) != 0)
        continue;
      if (S_ISDIR (st.st_mode))
        {
          char *id = g_strdup_printf ("dir:%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT,
                                      (guint64) st.st_dev, (guint64) st.st_ino);
          if (!g_hash_table_add (seen, id))
            continue;
          scan_dir (path, depth + 1, seen, out);
          continue;
        }
      if (!S_ISREG (st.st_mode))
        continue;
      {
        g_autofree char *lower = g_ascii_strdown (entry, -1);
        /* .gguf files, or extension-less blobs (Ollama) that start like one */
        candidate = g_str_has_suffix (lower, ".gguf")
                    || (strchr (entry, '.') == NULL && has_gguf_magic (path));
      }
      if (!candidate)
        continue;
      {
        g_autofree char *canon = realpath (path, NULL);
        DocentModelInfo *info;
        const char *key = canon ? canon : path;
        if (g_hash_table_contains (seen, key))
          continue;
        g_hash_table_add (seen, g_strdup (key));
        info = docent_model_manager_describe (path, source_for_path (path), NULL);
        if (info)
          g_ptr_array_add (out, info);
      }
    }
}

static int
compare_info (gconstpointer a, gconstpointer b)
{
  const DocentModelInfo *x = *(DocentModelInfo * const *) a;
  const DocentModelInfo *y = *(DocentModelInfo * const *) b;
  return strcmp (x->path, y->path);
}

GPtrArray *
docent_model_manager_discover (const char * const *extra_dirs, GError **error)
{
  g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) docent_model_info_free);
  const char *env = g_getenv ("DOCENT_MODEL_DIRS");

  if (env != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (env, ":", -1);
      for (int i = 0; parts[i]; i++)
        if (parts[i][0])
          g_ptr_array_add (dirs, g_strdup (parts[i]));
    }
  else
    {
      const char *home = g_get_home_dir ();
      g_ptr_array_add (dirs, g_build_filename (g_get_user_data_dir (), "docent", "models", NULL));
      g_ptr_array_add (dirs, g_build_filename (home, ".local", "share", "nomic.ai", "GPT4All", NULL));
      g_ptr_array_add (dirs, g_build_filename (home, ".cache", "lm-studio", "models", NULL));
      g_ptr_array_add (dirs, g_build_filename (home, ".lmstudio", "models", NULL));
      g_ptr_array_add (dirs, g_build_filename (home, "jan", "models", NULL));
      g_ptr_array_add (dirs, g_build_filename (home, ".ollama", "models", "blobs", NULL));
    }
  for (int i = 0; extra_dirs && extra_dirs[i]; i++)
    g_ptr_array_add (dirs, g_strdup (extra_dirs[i]));
  for (guint i = 0; i < dirs->len; i++)
    scan_dir (dirs->pdata[i], 0, seen, out);
  g_ptr_array_sort (out, compare_info);
  return out;
}

/* ---- quantization ------------------------------------------------------ */

typedef struct {
  char                   *in, *out;
  int                     ftype;
  DocentModelProgressFunc progress;
  gpointer                progress_data;
  GMainContext           *context;
  volatile int            cancel;
} QuantizeJob;

static void
quantize_job_free (QuantizeJob *job)
{
  g_free (job->in);
  g_free (job->out);
  g_main_context_unref (job->context);
  g_free (job);
}

typedef struct {
  GTask  *task;     /* keeps the job alive */
  double  fraction;
  char   *name;
} ProgressMsg;

static gboolean
deliver_progress (gpointer data)
{
  ProgressMsg *msg = data;
  QuantizeJob *job = g_task_get_task_data (msg->task);
  if (job->progress)
    job->progress (msg->fraction, msg->name, job->progress_data);
  return G_SOURCE_REMOVE;
}

static void
progress_msg_free (gpointer data)
{
  ProgressMsg *msg = data;
  g_object_unref (msg->task);
  g_free (msg->name);
  g_free (msg);
}

typedef struct {
  GTask   *task;
  GCancellable *cancellable;
} ThreadCtx;

static void
on_tensor (void *data, size_t index, size_t n_tensors, const char *name,
           llm_type from, llm_type to)
{
  ThreadCtx *ctx = data;
  QuantizeJob *job = g_task_get_task_data (ctx->task);
  ProgressMsg *msg;

  if (ctx->cancellable && g_cancellable_is_cancelled (ctx->cancellable))
    job->cancel = 1;
  if (job->progress == NULL)
    return;
  msg = g_new0 (ProgressMsg, 1);
  msg->task = g_object_ref (ctx->task);
  msg->fraction = n_tensors ? (double) index / (double) n_tensors : 0.0;
  msg->name = g_strdup (name);
  g_main_context_invoke_full (job->context, G_PRIORITY_DEFAULT, deliver_progress, msg,
                              progress_msg_free);
}

static void
on_cancelled (GCancellable *cancellable, gpointer data)
{
  QuantizeJob *job = data;
  job->cancel = 1;
}

static void
quantize_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  QuantizeJob *job = task_data;
  ThreadCtx ctx = { task, cancellable };
  llm_quantize_params params = { 0 };
  llm_quantize_result res;
  char err[256] = "";
  gulong handler = 0;
  gboolean ok;

  if (cancellable)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), job, NULL);
  params.ftype = job->ftype;
  params.progress = on_tensor;
  params.progress_data = &ctx;
  params.cancel = &job->cancel;
  ok = !job->cancel && llm_quantize_file (job->in, job->out, &params, &res, err, sizeof err);
  if (cancellable)
    g_cancellable_disconnect (cancellable, handler);
  if (job->cancel || (cancellable && g_cancellable_is_cancelled (cancellable)))
    {
      if (ok)
        g_unlink (job->out);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "Quantization was cancelled");
      return;
    }
  if (!ok)
    {
      g_task_return_new_error (task, DOCENT_ERROR, DOCENT_ERROR_FAILED,
                               "Could not quantize “%s”: %s", job->in, err);
      return;
    }
  /* progress: done */
  if (job->progress)
    {
      ProgressMsg *msg = g_new0 (ProgressMsg, 1);
      msg->task = g_object_ref (task);
      msg->fraction = 1.0;
      g_main_context_invoke_full (job->context, G_PRIORITY_DEFAULT, deliver_progress, msg,
                                  progress_msg_free);
    }
  g_task_return_boolean (task, TRUE);
}

void
docent_model_manager_quantize_async (const char             *in,
                                     const char             *out,
                                     const char             *type_name,
                                     GCancellable           *cancellable,
                                     DocentModelProgressFunc progress,
                                     gpointer                progress_data,
                                     GAsyncReadyCallback     callback,
                                     gpointer                user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  QuantizeJob *job;
  int ftype = type_name ? llm_ftype_from_name (type_name) : -1;

  g_task_set_source_tag (task, docent_model_manager_quantize_async);
  g_task_set_return_on_cancel (task, FALSE);
  if (ftype < 0)
    {
      g_task_return_new_error (task, DOCENT_ERROR, DOCENT_ERROR_UNSUPPORTED,
                               "Unknown quantization type “%s”; use Q8_0, Q6_K, Q5_K_M, Q4_K_M or Q4_0",
                               type_name ? type_name : "");
      return;
    }
  job = g_new0 (QuantizeJob, 1);
  job->in = g_strdup (in);
  job->out = g_strdup (out);
  job->ftype = ftype;
  job->progress = progress;
  job->progress_data = progress_data;
  job->context = g_main_context_ref_thread_default ();
  g_task_set_task_data (task, job, (GDestroyNotify) quantize_job_free);
  g_task_run_in_thread (task, quantize_thread);
}

gboolean
docent_model_manager_quantize_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
