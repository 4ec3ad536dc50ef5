/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Anything that turns passages into vectors: the built-in hashed n-gram
 * embedder, GGUF encoder models (bge, e5, MiniLM) later. Callers assume
 * nothing but this interface.
 *
 * Contract for implementations:
 *  - embed() writes n_texts rows of get_dim() floats, each L2-normalised
 *    (an empty or featureless text gives the zero vector);
 *  - the model id names everything that changes the vectors (weights,
 *    dimension, pooling, IDF statistics), so vectors stored under one id are
 *    always comparable and always of one dimension;
 *  - embed() may be called from several threads at once. */
#define DOCENT_TYPE_EMBEDDER (docent_embedder_get_type ())
G_DECLARE_INTERFACE (DocentEmbedder, docent_embedder, DOCENT, EMBEDDER, GObject)

typedef enum {
  DOCENT_EMBED_PASSAGE,   /* a stored passage */
  DOCENT_EMBED_QUERY,     /* a question (e5/bge want a different prefix) */
} DocentEmbedKind;

struct _DocentEmbedderInterface
{
  GTypeInterface parent_iface;

  const char *(*get_model_id) (DocentEmbedder     *self);
  guint       (*get_dim)      (DocentEmbedder     *self);
  /* Preferred batch size for embed(); 0 = any. */
  guint       (*get_batch_size) (DocentEmbedder   *self);
  gboolean    (*embed)        (DocentEmbedder     *self,
                               DocentEmbedKind     kind,
                               const char * const *texts,
                               guint               n_texts,
                               float              *out,
                               GCancellable       *cancellable,
                               GError            **error);
};

const char *docent_embedder_get_model_id   (DocentEmbedder     *self);
guint       docent_embedder_get_dim        (DocentEmbedder     *self);
guint       docent_embedder_get_batch_size (DocentEmbedder     *self);
/* Embeds @n_texts texts into @out (n_texts × dim floats, row-major), each row
 * L2-normalised (re-normalised here, whatever the implementation did). */
gboolean    docent_embedder_embed          (DocentEmbedder     *self,
                                            DocentEmbedKind     kind,
                                            const char * const *texts,
                                            guint               n_texts,
                                            float              *out,
                                            GCancellable       *cancellable,
                                            GError            **error);
/* Convenience: one text, returns a newly allocated vector of get_dim() floats. */
float      *docent_embedder_embed_one      (DocentEmbedder     *self,
                                            DocentEmbedKind     kind,
                                            const char         *text,
                                            GError            **error);

/* Scales @v to unit length; leaves a zero vector alone. Returns the old norm. */
float       docent_vector_normalize        (float              *v,
                                            guint               dim);

G_END_DECLS
