/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "docent-retriever.h"

G_BEGIN_DECLS

/* One question of an evaluation set (../shared/eval/README.md). */
typedef struct {
  char   *id;
  char   *lang;         /* "en", "ko", … */
  char   *question;
  char   *doc;          /* base name of the gold document */
  GArray *pages;        /* guint, 1-based physical pages (PDF) */
  guint   line_first;   /* 1-based inclusive lines (text); 0 when none */
  guint   line_last;
} DocentEvalItem;

void       docent_eval_item_free (DocentEvalItem *item);
/* Reads a JSON-lines set; every line must be an object with at least id,
 * lang, question, doc and pages or lines. */
GPtrArray *docent_eval_load      (const char     *path,    /* of DocentEvalItem */
                                  GError        **error);

/* A retrieved passage is a hit when it comes from the gold document and its
 * pages overlap the gold pages (PDF), or its lines overlap the gold lines
 * (text). */
gboolean   docent_eval_is_hit    (const DocentEvalItem     *item,
                                  const DocentSearchResult *result);

typedef struct {
  guint  n;
  double hit1;
  double hit5;
  double hit10;
  double mrr;
} DocentEvalScores;

typedef struct {
  DocentSearchMode mode;
  DocentEvalScores all;
  GHashTable      *by_lang;     /* lang → DocentEvalScores* */
  GPtrArray       *langs;       /* sorted lang names */
  double           ms_p50;      /* search latency */
  double           ms_p95;
  GArray          *first_hit;   /* guint per item: rank of the first hit, 0 = none */
} DocentEvalReport;

void              docent_eval_report_free (DocentEvalReport *report);
/* Runs every question through @retriever in @mode, scoring the top @k
 * passages (hit@N for N > k counts only those k). */
DocentEvalReport *docent_eval_run         (DocentRetriever  *retriever,
                                           GPtrArray        *items,
                                           DocentSearchMode  mode,
                                           guint             k,
                                           GError          **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DocentEvalItem, docent_eval_item_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DocentEvalReport, docent_eval_report_free)

G_END_DECLS
