/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-embedder"
#include "config.h"

#include <math.h>

#include "docent-embedder.h"
#include "docent-error.h"

G_DEFINE_INTERFACE (DocentEmbedder, docent_embedder, G_TYPE_OBJECT)

static guint
docent_embedder_real_get_batch_size (DocentEmbedder *self)
{
  return 0;
}

static void
docent_embedder_default_init (DocentEmbedderInterface *iface)
{
  iface->get_batch_size = docent_embedder_real_get_batch_size;
}

const char *
docent_embedder_get_model_id (DocentEmbedder *self)
{
  g_return_val_if_fail (DOCENT_IS_EMBEDDER (self), NULL);
  return DOCENT_EMBEDDER_GET_IFACE (self)->get_model_id (self);
}

guint
docent_embedder_get_dim (DocentEmbedder *self)
{
  g_return_val_if_fail (DOCENT_IS_EMBEDDER (self), 0);
  return DOCENT_EMBEDDER_GET_IFACE (self)->get_dim (self);
}

guint
docent_embedder_get_batch_size (DocentEmbedder *self)
{
  g_return_val_if_fail (DOCENT_IS_EMBEDDER (self), 0);
  return DOCENT_EMBEDDER_GET_IFACE (self)->get_batch_size (self);
}

float
docent_vector_normalize (float *v,
                         guint  dim)
{
  double sum = 0.0;
  float norm;

  for (guint i = 0; i < dim; i++)
    sum += (double) v[i] * v[i];
  norm = (float) sqrt (sum);
  if (norm > 0.0f)
    {
      float inv = 1.0f / norm;
      for (guint i = 0; i < dim; i++)
        v[i] *= inv;
    }
  return norm;
}

gboolean
docent_embedder_embed (DocentEmbedder     *self,
                       DocentEmbedKind     kind,
                       const char * const *texts,
                       guint               n_texts,
                       float              *out,
                       GCancellable       *cancellable,
                       GError            **error)
{
  DocentEmbedderInterface *iface;
  guint dim;

  g_return_val_if_fail (DOCENT_IS_EMBEDDER (self), FALSE);
  g_return_val_if_fail (n_texts == 0 || (texts != NULL && out != NULL), FALSE);

  if (n_texts == 0)
    return TRUE;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  iface = DOCENT_EMBEDDER_GET_IFACE (self);
  if (!iface->embed (self, kind, texts, n_texts, out, cancellable, error))
    return FALSE;

  /* Every consumer (the matrix, int8 quantization, RRF) relies on unit rows,
   * so do not trust each implementation to get it right. */
  dim = iface->get_dim (self);
  for (guint i = 0; i < n_texts; i++)
    docent_vector_normalize (out + (gsize) i * dim, dim);
  return TRUE;
}

float *
docent_embedder_embed_one (DocentEmbedder  *self,
                           DocentEmbedKind  kind,
                           const char      *text,
                           GError         **error)
{
  g_autofree float *v = NULL;
  const char *texts[1] = { text };

  g_return_val_if_fail (DOCENT_IS_EMBEDDER (self), NULL);
  g_return_val_if_fail (text != NULL, NULL);

  v = g_new0 (float, docent_embedder_get_dim (self));
  if (!docent_embedder_embed (self, kind, texts, 1, v, NULL, error))
    return NULL;
  return g_steal_pointer (&v);
}
