/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "docent-retriever.h"

G_BEGIN_DECLS

/* One cited sentence: where it is, to the character. */
typedef struct {
  guint          n;            /* 1-based citation number */
  gint64         chunk_id;
  gint64         doc_id;
  char          *doc;
  DocentDocType  type;
  guint          page;         /* PDF: 1-based physical pages; 0 for text */
  guint          page_end;
  char          *page_label;
  guint          line;         /* text: 1-based lines; 0 for PDF */
  guint          line_end;
  gint64         char_start;   /* code points into the document text */
  gint64         char_end;
  char          *text;         /* the sentence */
  double         score;
} DocentCitation;

typedef enum {
  DOCENT_ANSWER_EXTRACTIVE,
  DOCENT_ANSWER_NOT_FOUND,
} DocentAnswerMode;

typedef struct {
  DocentAnswerMode mode;
  char            *answer;     /* sentences in document order, each followed by [n] */
  GPtrArray       *citations;  /* of DocentCitation */
  double           score;      /* the best sentence's score, 0..1 */
} DocentAnswer;

const char   *docent_answer_mode_to_string (DocentAnswerMode mode);  /* "extractive" "not-found" */
void          docent_answer_free           (DocentAnswer *answer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DocentAnswer, docent_answer_free)

/* Below this best-sentence score Docent says it found nothing. */
#define DOCENT_ANSWER_THRESHOLD 0.3

/* An answer with no language model: from the top passages (retrieved in
 * @mode with @options and @filter), the sentences that best cover the
 * question — query terms weighted by their rarity in the library, plus the
 * embedding similarity of sentence and question — returned in document
 * order with numbered citations. NOT_FOUND when the best sentence scores
 * below DOCENT_ANSWER_THRESHOLD. */
DocentAnswer *docent_answer_extractive (DocentRetriever           *retriever,
                                        const char                *question,
                                        DocentSearchMode           mode,
                                        const DocentSearchOptions *options,
                                        const DocentSearchFilter  *filter,
                                        GError                   **error);

G_END_DECLS
