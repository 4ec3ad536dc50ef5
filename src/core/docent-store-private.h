/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "docent-store.h"

G_BEGIN_DECLS

/* Write side of the store, used by the importer's writer thread. Each
 * document is written between _begin and _commit, so a crash never leaves
 * half of one. */
gboolean _docent_store_begin     (DocentStore *self, GError **error);
gboolean _docent_store_commit    (DocentStore *self, GError **error);
void     _docent_store_rollback  (DocentStore *self);

/* Looks a document up by canonical path: returns its id (0 if none) and,
 * when found, its hash and status. */
gint64   _docent_store_find_path   (DocentStore *self, const char *path,
                                    char **sha256, DocentDocStatus *status,
                                    GError **error);
/* Another ready document with these bytes: its id (0 if none) and path. */
gint64   _docent_store_find_sha256 (DocentStore *self, const char *sha256,
                                    const char *except_path, char **path,
                                    GError **error);
/* Inserts or replaces (by path) the document row, dropping old passages and
 * pages; sets doc->id. */
gboolean _docent_store_put_document (DocentStore *self, DocentDocument *doc,
                                     GError **error);
gboolean _docent_store_finish_document (DocentStore *self, const DocentDocument *doc,
                                        GError **error);
gboolean _docent_store_add_chunk   (DocentStore *self, gint64 doc_id,
                                    const DocentChunk *chunk, GError **error);
gboolean _docent_store_add_pages   (DocentStore *self, gint64 doc_id,
                                    GArray *pages, GError **error);

/* The import queue: paths accepted for import and not yet finished. A
 * killed process leaves them here; the next import resumes them. */
gboolean _docent_store_queue_add    (DocentStore *self, const char *path, GError **error);
gboolean _docent_store_queue_remove (DocentStore *self, const char *path, GError **error);
GPtrArray *_docent_store_queue_list (DocentStore *self, GError **error);

/* Per-library settings (the settings table); *value is NULL when unset. */
gboolean _docent_store_get_setting (DocentStore *self, const char *key, char **value,
                                    GError **error);
gboolean _docent_store_set_setting (DocentStore *self, const char *key, const char *value,
                                    GError **error);
/* Records the passage size and overlap a document was cut with. */
gboolean _docent_store_set_document_chunking (DocentStore *self, gint64 doc_id, guint size,
                                              guint overlap, GError **error);

/* The FTS5 MATCH expression for a person's query (NULL if it has no term);
 * adds the normalized terms to @terms for highlighting. */
char    *_docent_store_build_match (DocentStore *self, const char *query,
                                    GHashTable *terms);

/* The lexical ranking's parameters (docent_rank, docent-fts-tokenizer.h):
 * the defaults measured on the dev set (docs/BENCHMARKS.md); eval sets
 * others for tuning. */
#define DOCENT_RANK_K1     2.0
#define DOCENT_RANK_B      0.3
#define DOCENT_RANK_W_PROX 0.0
#define DOCENT_RANK_W_COV  0.0

typedef struct {
  double k1;
  double b;
  double w_prox;
  double w_cov;
} DocentRankParams;

void     _docent_store_get_rank_params (DocentStore *self, DocentRankParams *params);
void     _docent_store_set_rank_params (DocentStore *self, const DocentRankParams *params);

/* Maps a failed SQLite call to a DocentError a person can act on. */
void     _docent_store_set_error (DocentStore *self, int rc, GError **error,
                                  const char *what);

G_END_DECLS
