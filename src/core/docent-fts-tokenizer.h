/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

/* The FTS5 tokenizer "docent": character bigrams for runs of Hangul, Han and
 * Kana (a one-character run is indexed as itself), and casefolded words for
 * every other script, English words reduced to their Snowball stem. The same
 * tokenizer runs over documents and queries. */
#define DOCENT_FTS_TOKENIZER_NAME "docent"
/* The FTS5 auxiliary function registered with it:
 * docent_rank (table, k1, b, w_prox, w_cov) → a score, higher is better. */
#define DOCENT_FTS_RANK_NAME "docent_rank"

gboolean docent_fts_tokenizer_register (sqlite3  *db,
                                        GError  **error);

/* Called for each token: the term as indexed, and its byte range in the text. */
typedef gboolean (*DocentTokenFunc) (const char *term,
                                     gsize       term_len,
                                     gsize       byte_start,
                                     gsize       byte_end,
                                     gpointer    user_data);

typedef struct _DocentTokenizer DocentTokenizer;

DocentTokenizer *docent_tokenizer_new      (void);
void             docent_tokenizer_free     (DocentTokenizer *self);
/* Runs the FTS tokenizer outside SQLite (for highlights and tests). */
void             docent_tokenizer_tokenize (DocentTokenizer *self,
                                            const char      *text,
                                            gssize           len,
                                            DocentTokenFunc  func,
                                            gpointer         user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DocentTokenizer, docent_tokenizer_free)

G_END_DECLS
