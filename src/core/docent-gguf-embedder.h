/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "docent-embedder.h"
#include "docent-store.h"

G_BEGIN_DECLS

/* An embedder backed by a GGUF encoder model (architecture `bert`: bge, e5,
 * all-MiniLM, multilingual-e5, bge-m3) run by Docent's own engine
 * (src/llm/llm-bert.h).
 *
 * The model id is "gguf-<name>-d<dim>-<pooling>-<fingerprint>", where the
 * fingerprint hashes the file's size, metadata, tensor table, samples of
 * every tensor's bytes and the query/passage prefixes: the same weights under
 * another file name keep their vectors, other weights never mix with them.
 *
 * embed() may run on several threads at once (the import pipeline's worker
 * pool): each call runs the model on its own thread, except that one call at
 * a time may use the embedder's thread pool (set_n_threads), which is what a
 * lone query or the command line gets. */
#define DOCENT_TYPE_GGUF_EMBEDDER (docent_gguf_embedder_get_type ())
G_DECLARE_FINAL_TYPE (DocentGgufEmbedder, docent_gguf_embedder, DOCENT, GGUF_EMBEDDER, GObject)

/* Loads and checks @path; errors say what is wrong with the file
 * (DOCENT_ERROR_NOT_FOUND, _UNREADABLE, _UNSUPPORTED for another kind of
 * model, _CORRUPT for a damaged one). */
DocentGgufEmbedder *docent_gguf_embedder_new (const char   *path,
                                              GError      **error);

const char *docent_gguf_embedder_get_path  (DocentGgufEmbedder *self);
/* general.name of the file, or its base name. */
const char *docent_gguf_embedder_get_name  (DocentGgufEmbedder *self);
/* Tokens a passage may have; longer ones are truncated. */
guint       docent_gguf_embedder_get_max_tokens (DocentGgufEmbedder *self);

/* Threads for a call that finds the pool free (default 1). */
void        docent_gguf_embedder_set_n_threads (DocentGgufEmbedder *self,
                                                guint               n_threads);

/* Text put before queries and passages. The defaults follow the model's
 * name: e5 models want "query: " / "passage: ", English bge models an
 * instruction before queries; others nothing. Changes the model id. */
void        docent_gguf_embedder_set_prefixes (DocentGgufEmbedder *self,
                                               const char         *query_prefix,
                                               const char         *passage_prefix);
const char *docent_gguf_embedder_get_query_prefix   (DocentGgufEmbedder *self);
const char *docent_gguf_embedder_get_passage_prefix (DocentGgufEmbedder *self);

/* After an import: embeds every passage of @store that has no vector of
 * this model yet, on @n_workers threads (0: one per CPU). */
gboolean    docent_gguf_embedder_update_library (DocentGgufEmbedder *self,
                                                 DocentStore        *store,
                                                 guint               n_workers,
                                                 GCancellable       *cancellable,
                                                 guint              *n_embedded,
                                                 GError            **error);

G_END_DECLS
