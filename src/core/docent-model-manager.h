/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Model manager: finds GGUF files in Docent's models folder and in the
 * folders other apps keep them in, describes them, and quantizes them. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  char    *path;
  char    *source;        /* "docent", "gpt4all", "lm-studio", "jan", "ollama", "other" */
  char    *name;          /* general.name, else the file name */
  char    *architecture;  /* general.architecture, or NULL */
  guint64  parameters;    /* sum of the tensors' elements */
  char    *quantization;  /* the type holding most weight bytes, e.g. "Q8_0" */
  guint64  file_size;
  guint64  ram_estimate;  /* weights + F16 KV cache at full context (decoders) + buffers */
  gboolean is_embedding;  /* bert-family encoder with weights */
  gboolean is_chat;       /* a decoder with weights (not an encoder, not a vocabulary) */
} DocentModelInfo;

void docent_model_info_free (DocentModelInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DocentModelInfo, docent_model_info_free)

/* Describes one GGUF file; NULL with an error if it cannot be read. */
typedef struct llm_gguf llm_gguf;
/* Bytes needed to run the model: @weights, plus (decoders only) a KV cache
 * in F16 at the full context, plus work buffers for a 512-token prompt
 * batch. A file without tensors (a vocabulary) runs nothing: its size.
 * Saturates on absurd metadata rather than wrapping. */
guint64 docent_model_estimate_ram (const llm_gguf *gguf, const char *arch, guint64 weights);
DocentModelInfo *docent_model_manager_describe (const char *path, const char *source,
                                                GError **error);

/* Every readable GGUF file in the default folders (or those of the
 * colon-separated DOCENT_MODEL_DIRS, which replaces them, source "other"),
 * plus @extra_dirs (may be NULL). Bad or unreadable files are skipped.
 * Returns an array of DocentModelInfo (free func set), sorted by path. */
GPtrArray *docent_model_manager_discover (const char * const *extra_dirs, GError **error);

/* Called on the caller's main context; @fraction in [0, 1]. */
typedef void (*DocentModelProgressFunc) (double fraction, const char *tensor_name,
                                         gpointer user_data);

/* Quantizes @in into @out (type "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0")
 * in a thread. Cancelling @cancellable stops it (G_IO_ERROR_CANCELLED). */
void     docent_model_manager_quantize_async  (const char             *in,
                                               const char             *out,
                                               const char             *type_name,
                                               GCancellable           *cancellable,
                                               DocentModelProgressFunc progress,
                                               gpointer                progress_data,
                                               GAsyncReadyCallback     callback,
                                               gpointer                user_data);
gboolean docent_model_manager_quantize_finish (GAsyncResult  *result,
                                               GError       **error);

G_END_DECLS
