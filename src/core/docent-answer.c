/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-answer"
#include "config.h"

#include <math.h>
#include <string.h>

#include "docent-answer.h"
#include "docent-error.h"
#include "docent-fts-tokenizer.h"

#define N_PASSAGES_DEFAULT 5
#define MAX_SENTENCES      3
#define MIN_SENTENCE_CHARS 12
/* Weights of term coverage and embedding similarity in a sentence's score. */
#define W_TERMS 0.6
#define W_EMBED 0.4

const char *
docent_answer_mode_to_string (DocentAnswerMode mode)
{
  return mode == DOCENT_ANSWER_EXTRACTIVE ? "extractive" : "not-found";
}

static void
citation_free (DocentCitation *c)
{
  if (c == NULL)
    return;
  g_free (c->doc);
  g_free (c->page_label);
  g_free (c->text);
  g_free (c);
}

void
docent_answer_free (DocentAnswer *answer)
{
  if (answer == NULL)
    return;
  g_free (answer->answer);
  g_clear_pointer (&answer->citations, g_ptr_array_unref);
  g_free (answer);
}

/* ---- query terms and their weights ------------------------------------- */

typedef struct {
  GHashTable *terms;   /* term → weight (double*) */
} Terms;

static gboolean
add_term (const char *term, gsize len, gsize bs, gsize be, gpointer data)
{
  GHashTable *set = data;
  g_hash_table_add (set, g_strndup (term, len));
  return TRUE;
}

static GHashTable *
terms_of (DocentTokenizer *tok,
          const char      *text,
          gssize           len)
{
  GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  docent_tokenizer_tokenize (tok, text, len, add_term, set);
  return set;
}

/* IDF of each query term from the full-text index's own statistics (so a
 * word in every passage counts for little, a rare one for much). */
static GHashTable *
weigh_terms (sqlite3    *db,
             GHashTable *terms)
{
  GHashTable *weights = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  sqlite3_stmt *n_stmt = NULL, *df_stmt = NULL;
  double n = 1.0;
  GHashTableIter iter;
  gpointer key;

  sqlite3_exec (db, "CREATE VIRTUAL TABLE IF NOT EXISTS temp.docent_vocab"
                    " USING fts5vocab ('main', 'chunks_fts', 'row')", NULL, NULL, NULL);
  if (sqlite3_prepare_v2 (db, "SELECT count(*) FROM chunks", -1, &n_stmt, NULL) == SQLITE_OK &&
      sqlite3_step (n_stmt) == SQLITE_ROW)
    n = MAX (1.0, (double) sqlite3_column_int64 (n_stmt, 0));
  sqlite3_finalize (n_stmt);
  sqlite3_prepare_v2 (db, "SELECT doc FROM temp.docent_vocab WHERE term = ?1", -1, &df_stmt, NULL);

  g_hash_table_iter_init (&iter, terms);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      double df = 0.0, *w = g_new (double, 1);
      if (df_stmt != NULL)
        {
          sqlite3_reset (df_stmt);
          sqlite3_bind_text (df_stmt, 1, key, -1, SQLITE_TRANSIENT);
          if (sqlite3_step (df_stmt) == SQLITE_ROW)
            df = (double) sqlite3_column_int64 (df_stmt, 0);
        }
      /* A term found nowhere (often a CJK bigram across a particle, or a
       * misspelling) cannot be matched: it counts, but for half. */
      *w = log (1.0 + n / (df + 1.0)) * (df > 0 ? 1.0 : 0.5);
      g_hash_table_insert (weights, g_strdup (key), w);
    }
  sqlite3_finalize (df_stmt);
  return weights;
}

/* ---- sentences --------------------------------------------------------- */

typedef struct {
  const DocentSearchResult *passage;
  guint     rank;             /* of the passage, 1-based */
  gsize     byte_start;       /* within passage->text */
  gsize     byte_end;
  GHashTable *terms;          /* set */
  double    coverage;         /* Σ weight of query terms present / Σ all */
  double    similarity;
  double    score;
  gboolean  chosen;
} Sentence;

static void
sentence_free (Sentence *s)
{
  g_clear_pointer (&s->terms, g_hash_table_unref);
  g_free (s);
}

static gboolean
is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Splits at . ! ? followed by a space, at 。, and at blank lines and page
 * breaks (every line end in text files). */
static void
split_sentences (const DocentSearchResult *passage,
                 guint                     rank,
                 GPtrArray                *out)
{
  const char *t = passage->text;
  gsize len = strlen (t), start = 0, i = 0;
  /* In text and Markdown a line is a unit (list items, headings); in a PDF
   * a single newline is only where the line was wrapped. */
  gboolean text_file = passage->type == DOCENT_DOC_TYPE_TEXT;

  while (i <= len)
    {
      gboolean end = FALSE;
      gsize next = i + 1;

      if (i == len)
        end = TRUE;
      else if ((t[i] == '.' || t[i] == '!' || t[i] == '?') && (i + 1 == len || is_space (t[i + 1])))
        end = TRUE, i++;
      else if (t[i] == '\f' || (t[i] == '\n' && (text_file || (i + 1 < len && t[i + 1] == '\n'))))
        end = TRUE;
      else if ((guchar) t[i] == 0xE3 && i + 2 < len && (guchar) t[i + 1] == 0x80 && (guchar) t[i + 2] == 0x82)
        end = TRUE, i += 3, next = i;   /* 。 */

      if (end)
        {
          gsize s = start, e = i;
          while (s < e && is_space (t[s]))
            s++;
          while (e > s && is_space (t[e - 1]))
            e--;
          if (g_utf8_strlen (t + s, e - s) >= MIN_SENTENCE_CHARS)
            {
              Sentence *sen = g_new0 (Sentence, 1);
              sen->passage = passage;
              sen->rank = rank;
              sen->byte_start = s;
              sen->byte_end = e;
              g_ptr_array_add (out, sen);
            }
          start = i;
          next = MAX (next, i + 1);
        }
      i = next;
    }
}

static double
coverage (GHashTable *sentence_terms,
          GHashTable *weights,
          GHashTable *covered,   /* terms already covered, or NULL */
          double      total)
{
  GHashTableIter iter;
  gpointer key, value;
  double sum = 0.0;

  if (total <= 0.0)
    return 0.0;
  g_hash_table_iter_init (&iter, weights);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_hash_table_contains (sentence_terms, key) && (covered == NULL || !g_hash_table_contains (covered, key)))
      sum += *(double *) value;
  return sum / total;
}

static int
compare_document_order (gconstpointer a, gconstpointer b)
{
  const Sentence *x = *(Sentence * const *) a, *y = *(Sentence * const *) b;

  if (x->passage->doc_id != y->passage->doc_id)
    return x->passage->doc_id < y->passage->doc_id ? -1 : 1;
  if (x->passage->char_start != y->passage->char_start)
    return x->passage->char_start < y->passage->char_start ? -1 : 1;
  return x->byte_start < y->byte_start ? -1 : x->byte_start > y->byte_start;
}

/* Fills the citation's place: code points, pages (from the document's page
 * table) or lines (counting newlines inside the passage). */
static DocentCitation *
cite (DocentStore *store,
      GHashTable  *page_cache,
      Sentence    *s)
{
  const DocentSearchResult *p = s->passage;
  DocentCitation *c = g_new0 (DocentCitation, 1);
  const char *t = p->text;

  c->chunk_id = p->chunk_id;
  c->doc_id = p->doc_id;
  c->doc = g_strdup (p->doc);
  c->type = p->type;
  c->char_start = p->char_start + g_utf8_strlen (t, s->byte_start);
  c->char_end = c->char_start + g_utf8_strlen (t + s->byte_start, s->byte_end - s->byte_start);
  c->text = g_strndup (t + s->byte_start, s->byte_end - s->byte_start);
  c->score = s->score;

  if (p->type == DOCENT_DOC_TYPE_PDF)
    {
      GPtrArray *pages = g_hash_table_lookup (page_cache, &p->doc_id);
      if (pages == NULL)
        {
          pages = docent_store_dup_pages (store, p->doc_id, NULL);
          if (pages == NULL)
            pages = g_ptr_array_new ();
          g_hash_table_insert (page_cache, g_memdup2 (&p->doc_id, sizeof (gint64)), pages);
        }
      c->page = p->page;
      c->page_end = p->page_end;
      for (guint i = 0; i < pages->len; i++)
        {
          DocentPage *pg = pages->pdata[i];
          if (pg->char_start <= c->char_start && c->char_start < pg->char_end + 1)
            {
              c->page = pg->number;
              g_free (c->page_label);
              c->page_label = g_strdup (pg->label);
            }
          if (pg->char_start < c->char_end)
            c->page_end = pg->number;
        }
      c->page_end = MAX (c->page_end, c->page);
    }
  else
    {
      guint before = 0, inside = 0;
      for (gsize i = 0; i < s->byte_start; i++)
        before += t[i] == '\n';
      for (gsize i = s->byte_start; i < s->byte_end; i++)
        inside += t[i] == '\n';
      c->line = p->line + before;
      c->line_end = c->line + inside;
    }
  return c;
}

static char *
collapse_spaces (const char *text)
{
  GString *out = g_string_new (NULL);
  gboolean space = FALSE;

  for (const char *p = text; *p; p++)
    {
      if (is_space (*p))
        space = TRUE;
      else
        {
          if (space && out->len > 0)
            g_string_append_c (out, ' ');
          space = FALSE;
          g_string_append_c (out, *p);
        }
    }
  return g_string_free (out, FALSE);
}

DocentAnswer *
docent_answer_extractive (DocentRetriever           *retriever,
                          const char                *question,
                          DocentSearchMode           mode,
                          const DocentSearchOptions *options,
                          const DocentSearchFilter  *filter,
                          GError                   **error)
{
  g_autoptr(DocentAnswer) answer = g_new0 (DocentAnswer, 1);
  g_autoptr(GPtrArray) passages = NULL;
  g_autoptr(GPtrArray) sentences = g_ptr_array_new_with_free_func ((GDestroyNotify) sentence_free);
  g_autoptr(GPtrArray) chosen = g_ptr_array_new ();
  g_autoptr(GHashTable) qterms = NULL;
  g_autoptr(GHashTable) weights = NULL;
  g_autoptr(GHashTable) covered = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) page_cache = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                            (GDestroyNotify) g_ptr_array_unref);
  g_autoptr(DocentTokenizer) tok = docent_tokenizer_new ();
  g_autofree float *qvec = NULL;
  g_autofree float *svecs = NULL;
  DocentSearchOptions o = { N_PASSAGES_DEFAULT, NULL };
  DocentStore *store;
  DocentEmbedder *embedder;
  GString *text;
  double total = 0.0;
  guint dim;

  g_return_val_if_fail (DOCENT_IS_RETRIEVER (retriever), NULL);
  g_return_val_if_fail (question != NULL, NULL);

  store = docent_retriever_get_store (retriever);
  embedder = docent_retriever_get_embedder (retriever);
  dim = docent_embedder_get_dim (embedder);
  answer->citations = g_ptr_array_new_with_free_func ((GDestroyNotify) citation_free);
  answer->mode = DOCENT_ANSWER_NOT_FOUND;

  if (options != NULL)
    {
      o.doc_ids = options->doc_ids;
      if (options->k > 0)
        o.k = options->k;
    }
  passages = docent_retriever_search_filtered (retriever, question, mode, &o, filter, error);
  if (passages == NULL)
    return NULL;

  qterms = terms_of (tok, question, -1);
  weights = weigh_terms (docent_store_get_db (store), qterms);
  {
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init (&iter, weights);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      total += *(double *) value;
  }

  for (guint i = 0; i < passages->len; i++)
    split_sentences (passages->pdata[i], i + 1, sentences);

  if (sentences->len > 0)
    {
      g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);

      qvec = docent_embedder_embed_one (embedder, DOCENT_EMBED_QUERY, question, error);
      if (qvec == NULL)
        return NULL;
      for (guint i = 0; i < sentences->len; i++)
        {
          Sentence *s = sentences->pdata[i];
          g_ptr_array_add (texts, g_strndup (s->passage->text + s->byte_start, s->byte_end - s->byte_start));
        }
      svecs = g_new (float, (gsize) sentences->len * dim);
      if (!docent_embedder_embed (embedder, DOCENT_EMBED_PASSAGE, (const char * const *) texts->pdata,
                                  texts->len, svecs, NULL, error))
        return NULL;
      for (guint i = 0; i < sentences->len; i++)
        {
          Sentence *s = sentences->pdata[i];
          double sim = 0.0;
          for (guint d = 0; d < dim; d++)
            sim += (double) qvec[d] * svecs[(gsize) i * dim + d];
          s->terms = terms_of (tok, texts->pdata[i], -1);
          s->coverage = coverage (s->terms, weights, NULL, total);
          s->similarity = MAX (0.0, sim);
          s->score = W_TERMS * s->coverage + W_EMBED * s->similarity;
        }
    }

  /* Greedy: the best sentence, then those that still add enough — terms
   * already covered count no more, so the answer does not repeat itself. */
  while (chosen->len < MAX_SENTENCES)
    {
      Sentence *best = NULL;
      double best_gain = 0.0;

      for (guint i = 0; i < sentences->len; i++)
        {
          Sentence *s = sentences->pdata[i];
          double gain;
          if (s->chosen)
            continue;
          gain = W_TERMS * coverage (s->terms, weights, covered, total) + W_EMBED * s->similarity;
          /* a preference for better-ranked passages (measured: more citations
           * on the gold page of the dev set) */
          gain -= 0.04 * (s->rank - 1);
          if (best == NULL || gain > best_gain)
            best = s, best_gain = gain;
        }
      if (best == NULL)
        break;
      if (chosen->len == 0)
        {
          g_debug ("best sentence: coverage %.3f, similarity %.3f, score %.3f",
                   best->coverage, best->similarity, best->score);
          answer->score = best->score;
          if (best->score < DOCENT_ANSWER_THRESHOLD)
            break;
        }
      else if (best_gain < 0.75 * answer->score)
        break;
      best->chosen = TRUE;
      g_ptr_array_add (chosen, best);
      {
        GHashTableIter iter;
        gpointer key;
        g_hash_table_iter_init (&iter, best->terms);
        while (g_hash_table_iter_next (&iter, &key, NULL))
          g_hash_table_add (covered, key);
      }
    }

  if (chosen->len == 0)
    {
      answer->answer = g_strdup ("Nothing in the library answers this question.");
      return g_steal_pointer (&answer);
    }

  answer->mode = DOCENT_ANSWER_EXTRACTIVE;
  g_ptr_array_sort (chosen, compare_document_order);
  text = g_string_new (NULL);
  for (guint i = 0; i < chosen->len; i++)
    {
      DocentCitation *c = cite (store, page_cache, chosen->pdata[i]);
      g_autofree char *flat = collapse_spaces (c->text);
      c->n = i + 1;
      g_string_append_printf (text, "%s%s [%u]", i ? " " : "", flat, c->n);
      g_ptr_array_add (answer->citations, c);
    }
  answer->answer = g_string_free (text, FALSE);
  return g_steal_pointer (&answer);
}
