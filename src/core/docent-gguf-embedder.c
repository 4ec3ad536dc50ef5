/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-gguf-embedder"
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>

#include "docent-error.h"
#include "docent-gguf-embedder.h"
#include "docent-vector-store.h"
#include "llm-bert.h"

/* Texts per forward pass inside one embed() call: cancellation is checked
 * between groups, and a group's tokens (at most 512 each) keep the scratch
 * memory of the engine bounded. */
#define GROUP_TEXTS 16

struct _DocentGgufEmbedder
{
  GObject   parent_instance;
  char     *path;
  char     *name;
  LlmBert  *bert;
  char     *fingerprint;       /* of the weights, without prefixes */
  char     *query_prefix;
  char     *passage_prefix;
  char     *model_id;
  GMutex    pool_lock;          /* one call at a time uses the pool */
  llm_pool *pool;
  guint     n_threads;
};

static void docent_gguf_embedder_iface_init (DocentEmbedderInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DocentGgufEmbedder, docent_gguf_embedder, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (DOCENT_TYPE_EMBEDDER,
                                                      docent_gguf_embedder_iface_init))

/* ---- model id ------------------------------------------------------------ */

#define SAMPLE_BYTES 4096

/* Hashing every byte of a 500 MB model would take a second at each start;
 * the metadata, the tensor table and both ends of every tensor name the
 * weights just as well in practice. */
static char *
fingerprint_gguf (const llm_gguf *g)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  guint64 size = llm_gguf_file_size (g);

  g_checksum_update (sum, (const guchar *) &size, sizeof size);
  for (size_t i = 0; i < llm_gguf_n_kv (g); i++)
    {
      const llm_gguf_kv *kv = llm_gguf_get_kv (g, i);
      g_checksum_update (sum, (const guchar *) kv->key, strlen (kv->key) + 1);
      g_checksum_update (sum, kv->raw, kv->raw_len);
    }
  for (size_t i = 0; i < llm_gguf_n_tensors (g); i++)
    {
      const llm_gguf_tensor *t = llm_gguf_get_tensor (g, i);
      const guchar *d = t->data;
      guint32 type = t->type;
      g_checksum_update (sum, (const guchar *) t->name, strlen (t->name) + 1);
      g_checksum_update (sum, (const guchar *) &type, sizeof type);
      g_checksum_update (sum, (const guchar *) t->ne, sizeof t->ne);
      if (t->size <= 2 * SAMPLE_BYTES)
        g_checksum_update (sum, d, t->size);
      else
        {
          g_checksum_update (sum, d, SAMPLE_BYTES);
          g_checksum_update (sum, d + t->size / 2, SAMPLE_BYTES);
          g_checksum_update (sum, d + t->size - SAMPLE_BYTES, SAMPLE_BYTES);
        }
    }
  return g_strdup (g_checksum_get_string (sum));
}

static const char *
pooling_name (LlmBertPooling p)
{
  switch (p)
    {
    case LLM_BERT_POOL_CLS:  return "cls";
    case LLM_BERT_POOL_LAST: return "last";
    default:                 return "mean";
    }
}

static void
update_model_id (DocentGgufEmbedder *self)
{
  const LlmBertParams *hp = llm_bert_get_params (self->bert);
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GString) slug = g_string_new (NULL);

  g_checksum_update (sum, (const guchar *) self->fingerprint, -1);
  g_checksum_update (sum, (const guchar *) "\x01", 1);
  g_checksum_update (sum, (const guchar *) self->query_prefix, -1);
  g_checksum_update (sum, (const guchar *) "\x01", 1);
  g_checksum_update (sum, (const guchar *) self->passage_prefix, -1);
  /* a readable name: letters, digits, dots, dashes */
  for (const char *p = self->name; *p && slug->len < 40; p++)
    g_string_append_c (slug, g_ascii_isalnum (*p) || *p == '.' || *p == '-' ? g_ascii_tolower (*p) : '-');
  g_free (self->model_id);
  self->model_id = g_strdup_printf ("gguf-%s-d%d-%s-%.12s", slug->str, hp->n_embd,
                                    pooling_name (hp->pooling), g_checksum_get_string (sum));
}

/* ---- prefixes ------------------------------------------------------------ */

static void
default_prefixes (DocentGgufEmbedder *self, const char **query, const char **passage)
{
  g_autofree char *base = g_path_get_basename (self->path);
  g_autofree char *both = g_strconcat (self->name, " ", base, NULL);
  g_autofree char *l = g_ascii_strdown (both, -1);

  *query = *passage = "";
  /* e5 and multilingual-e5 were trained with these prefixes */
  if (g_str_has_prefix (l, "e5") || strstr (l, "-e5") != NULL || strstr (l, " e5") != NULL
      || strstr (l, "e5-") != NULL)
    {
      *query = "query: ";
      *passage = "passage: ";
    }
  /* English bge v1/v1.5: an instruction before short queries (bge-m3 and
   * the Chinese ones differ) */
  else if (strstr (l, "bge") != NULL && strstr (l, "m3") == NULL && strstr (l, "zh") == NULL
           && strstr (l, "rerank") == NULL)
    *query = "Represent this sentence for searching relevant passages: ";
}

/* ---- the embedder -------------------------------------------------------- */

static const char *
docent_gguf_embedder_get_model_id (DocentEmbedder *embedder)
{
  return DOCENT_GGUF_EMBEDDER (embedder)->model_id;
}

static guint
docent_gguf_embedder_get_dim (DocentEmbedder *embedder)
{
  return (guint) llm_bert_get_params (DOCENT_GGUF_EMBEDDER (embedder)->bert)->n_embd;
}

static guint
docent_gguf_embedder_get_batch_size (DocentEmbedder *embedder)
{
  return GROUP_TEXTS;
}

static gboolean
has_content (const char *text)
{
  for (const char *p = text; p && *p; p = g_utf8_next_char (p))
    if (!g_unichar_isspace (g_utf8_get_char (p)))
      return TRUE;
  return FALSE;
}

static gboolean
docent_gguf_embedder_embed (DocentEmbedder     *embedder,
                            DocentEmbedKind     kind,
                            const char * const *texts,
                            guint               n_texts,
                            float              *out,
                            GCancellable       *cancellable,
                            GError            **error)
{
  DocentGgufEmbedder *self = DOCENT_GGUF_EMBEDDER (embedder);
  const guint dim = docent_gguf_embedder_get_dim (embedder);
  const char *prefix = kind == DOCENT_EMBED_QUERY ? self->query_prefix : self->passage_prefix;
  gboolean have_pool = self->pool != NULL && g_mutex_trylock (&self->pool_lock);
  gboolean ok = TRUE;

  for (guint g0 = 0; g0 < n_texts && ok; g0 += GROUP_TEXTS)
    {
      guint g1 = MIN (n_texts, g0 + GROUP_TEXTS), n = 0;
      char *batch[GROUP_TEXTS];
      guint rows[GROUP_TEXTS];
      g_autofree float *vecs = NULL;
      char err[256] = "";

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }
      for (guint i = g0; i < g1; i++)
        {
          memset (out + (gsize) i * dim, 0, dim * sizeof (float));
          if (has_content (texts[i]))
            {
              rows[n] = i;
              batch[n++] = g_strconcat (prefix, texts[i], NULL);
            }
        }
      if (n == 0)
        continue;
      vecs = g_new (float, (gsize) n * dim);
      if (!llm_bert_embed_texts (self->bert, have_pool ? self->pool : NULL,
                                 (const char * const *) batch, n, vecs, err, sizeof err))
        {
          g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_FAILED,
                       _("The embedding model %s failed: %s"), self->name, err);
          ok = FALSE;
        }
      for (guint j = 0; j < n; j++)
        {
          if (ok)
            memcpy (out + (gsize) rows[j] * dim, vecs + (gsize) j * dim, dim * sizeof (float));
          g_free (batch[j]);
        }
    }
  if (have_pool)
    g_mutex_unlock (&self->pool_lock);
  return ok;
}

static void
docent_gguf_embedder_iface_init (DocentEmbedderInterface *iface)
{
  iface->get_model_id = docent_gguf_embedder_get_model_id;
  iface->get_dim = docent_gguf_embedder_get_dim;
  iface->get_batch_size = docent_gguf_embedder_get_batch_size;
  iface->embed = docent_gguf_embedder_embed;
}

static void
docent_gguf_embedder_finalize (GObject *object)
{
  DocentGgufEmbedder *self = DOCENT_GGUF_EMBEDDER (object);

  g_clear_pointer (&self->pool, llm_pool_free);
  g_clear_pointer (&self->bert, llm_bert_free);
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->fingerprint, g_free);
  g_clear_pointer (&self->query_prefix, g_free);
  g_clear_pointer (&self->passage_prefix, g_free);
  g_clear_pointer (&self->model_id, g_free);
  g_mutex_clear (&self->pool_lock);
  G_OBJECT_CLASS (docent_gguf_embedder_parent_class)->finalize (object);
}

static void
docent_gguf_embedder_class_init (DocentGgufEmbedderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = docent_gguf_embedder_finalize;
}

static void
docent_gguf_embedder_init (DocentGgufEmbedder *self)
{
  g_mutex_init (&self->pool_lock);
  self->n_threads = 1;
}

DocentGgufEmbedder *
docent_gguf_embedder_new (const char  *path,
                          GError     **error)
{
  g_autoptr(DocentGgufEmbedder) self = NULL;
  llm_gguf_error gerr = { 0 };
  llm_gguf *g;
  char err[256] = "";
  const char *query, *passage;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_NOT_FOUND,
                   _("The embedding model %s does not exist. Choose another file in Preferences."), path);
      return NULL;
    }
  g = llm_gguf_open (path, &gerr);
  if (g == NULL)
    {
      g_set_error (error, DOCENT_ERROR,
                   gerr.code == LLM_GGUF_E_IO ? DOCENT_ERROR_UNREADABLE : DOCENT_ERROR_CORRUPT,
                   _("The embedding model %s cannot be read (%s). Download it again or choose another file in Preferences."), path, gerr.message);
      return NULL;
    }
  self = g_object_new (DOCENT_TYPE_GGUF_EMBEDDER, NULL);
  self->path = g_strdup (path);
  self->fingerprint = fingerprint_gguf (g);
  self->bert = llm_bert_from_gguf (g, err, sizeof err);
  if (self->bert == NULL)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_UNSUPPORTED,
                   _("%s is not an embedding model Docent can use: %s. Choose another model file."), path, err);
      return NULL;
    }
  self->name = llm_bert_get_name (self->bert) ? g_strdup (llm_bert_get_name (self->bert))
                                              : g_path_get_basename (path);
  default_prefixes (self, &query, &passage);
  self->query_prefix = g_strdup (query);
  self->passage_prefix = g_strdup (passage);
  update_model_id (self);
  return g_steal_pointer (&self);
}

const char *
docent_gguf_embedder_get_path (DocentGgufEmbedder *self)
{
  g_return_val_if_fail (DOCENT_IS_GGUF_EMBEDDER (self), NULL);
  return self->path;
}

const char *
docent_gguf_embedder_get_name (DocentGgufEmbedder *self)
{
  g_return_val_if_fail (DOCENT_IS_GGUF_EMBEDDER (self), NULL);
  return self->name;
}

guint
docent_gguf_embedder_get_max_tokens (DocentGgufEmbedder *self)
{
  g_return_val_if_fail (DOCENT_IS_GGUF_EMBEDDER (self), 0);
  return (guint) llm_bert_get_params (self->bert)->n_ctx;
}

void
docent_gguf_embedder_set_n_threads (DocentGgufEmbedder *self,
                                    guint               n_threads)
{
  g_return_if_fail (DOCENT_IS_GGUF_EMBEDDER (self));

  g_mutex_lock (&self->pool_lock);
  g_clear_pointer (&self->pool, llm_pool_free);
  self->n_threads = MAX (n_threads, 1);
  if (self->n_threads > 1)
    self->pool = llm_pool_new ((int) self->n_threads);
  g_mutex_unlock (&self->pool_lock);
}

void
docent_gguf_embedder_set_prefixes (DocentGgufEmbedder *self,
                                   const char         *query_prefix,
                                   const char         *passage_prefix)
{
  g_return_if_fail (DOCENT_IS_GGUF_EMBEDDER (self));

  g_free (self->query_prefix);
  g_free (self->passage_prefix);
  self->query_prefix = g_strdup (query_prefix ? query_prefix : "");
  self->passage_prefix = g_strdup (passage_prefix ? passage_prefix : "");
  update_model_id (self);
}

const char *
docent_gguf_embedder_get_query_prefix (DocentGgufEmbedder *self)
{
  g_return_val_if_fail (DOCENT_IS_GGUF_EMBEDDER (self), NULL);
  return self->query_prefix;
}

const char *
docent_gguf_embedder_get_passage_prefix (DocentGgufEmbedder *self)
{
  g_return_val_if_fail (DOCENT_IS_GGUF_EMBEDDER (self), NULL);
  return self->passage_prefix;
}

gboolean
docent_gguf_embedder_update_library (DocentGgufEmbedder *self,
                                     DocentStore        *store,
                                     guint               n_workers,
                                     GCancellable       *cancellable,
                                     guint              *n_embedded,
                                     GError            **error)
{
  g_return_val_if_fail (DOCENT_IS_GGUF_EMBEDDER (self), FALSE);
  g_return_val_if_fail (DOCENT_IS_STORE (store), FALSE);

  return docent_vector_store_embed_missing (docent_store_get_db (store), DOCENT_EMBEDDER (self),
                                            n_workers, cancellable, n_embedded, error);
}
