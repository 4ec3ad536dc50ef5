/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-fts"
#include "config.h"

#include <glib/gi18n-lib.h>

#include <libstemmer.h>
#include <math.h>
#include <string.h>

#include "docent-error.h"
#include "docent-fts-tokenizer.h"

/* sqlite3.h carries the FTS5 API too (fts5_api, Fts5Tokenizer…). */

struct _DocentTokenizer
{
  struct sb_stemmer *stemmer;   /* one per tokenizer: libstemmer is not thread-safe */
  GString           *word;
};

DocentTokenizer *
docent_tokenizer_new (void)
{
  DocentTokenizer *self = g_new0 (DocentTokenizer, 1);

  self->stemmer = sb_stemmer_new ("english", "UTF_8");
  self->word = g_string_sized_new (64);
  return self;
}

void
docent_tokenizer_free (DocentTokenizer *self)
{
  if (self == NULL)
    return;
  if (self->stemmer != NULL)
    sb_stemmer_delete (self->stemmer);
  g_string_free (self->word, TRUE);
  g_free (self);
}

/* Scripts written in syllables or ideographs, indexed as bigrams. */
static inline gboolean
is_cjk (gunichar c)
{
  return (c >= 0xAC00 && c <= 0xD7AF) ||   /* Hangul syllables */
         (c >= 0x1100 && c <= 0x11FF) ||   /* Hangul jamo */
         (c >= 0x3130 && c <= 0x318F) ||   /* Hangul compatibility jamo */
         (c >= 0xA960 && c <= 0xA97F) || (c >= 0xD7B0 && c <= 0xD7FF) ||
         (c >= 0x3040 && c <= 0x30FF) ||   /* Hiragana, Katakana */
         (c >= 0x31F0 && c <= 0x31FF) ||
         (c >= 0x3400 && c <= 0x4DBF) ||   /* CJK extension A */
         (c >= 0x4E00 && c <= 0x9FFF) ||   /* CJK unified ideographs */
         (c >= 0xF900 && c <= 0xFAFF) ||   /* compatibility ideographs */
         (c >= 0x20000 && c <= 0x3FFFF);   /* extensions B and later */
}

static inline gboolean
is_word_char (gunichar c)
{
  if (c < 0x80)
    return g_ascii_isalnum (c) || c == '_';
  return g_unichar_isalnum (c) || g_unichar_ismark (c);
}

/* Casefolds the word in @self->word and stems it when it is plain English
 * letters. Returns the term to emit (borrowed). */
static const char *
normalize_word (DocentTokenizer *self,
                const char      *start,
                gsize            len,
                gsize           *term_len)
{
  gboolean ascii_alpha = TRUE;
  gboolean ascii = TRUE;

  g_string_truncate (self->word, 0);
  for (gsize i = 0; i < len; i++)
    {
      guchar b = start[i];
      if (b >= 0x80)
        ascii = FALSE;
      if (!g_ascii_isalpha (b))
        ascii_alpha = FALSE;
    }

  if (ascii)
    {
      for (gsize i = 0; i < len; i++)
        g_string_append_c (self->word, g_ascii_tolower (start[i]));
    }
  else
    {
      g_autofree char *folded = g_utf8_casefold (start, len);
      g_autofree char *nfc = g_utf8_normalize (folded, -1, G_NORMALIZE_NFKC);
      g_string_append (self->word, nfc ? nfc : folded);
    }

  /* Stem only real words: identifiers with digits or underscores stay exact. */
  if (ascii_alpha && self->stemmer != NULL && len > 2 && len < 64)
    {
      const sb_symbol *stem = sb_stemmer_stem (self->stemmer,
                                               (const sb_symbol *) self->word->str,
                                               self->word->len);
      if (stem != NULL)
        {
          int n = sb_stemmer_length (self->stemmer);
          g_string_truncate (self->word, 0);
          g_string_append_len (self->word, (const char *) stem, n);
        }
    }
  *term_len = self->word->len;
  return self->word->str;
}

void
docent_tokenizer_tokenize (DocentTokenizer *self,
                           const char      *text,
                           gssize           len,
                           DocentTokenFunc  func,
                           gpointer         user_data)
{
  const char *p, *end;
  /* The previous CJK character of the current run, for bigrams. */
  const char *run_prev = NULL;
  gboolean run_emitted = FALSE;

  if (len < 0)
    len = strlen (text);
  p = text;
  end = text + len;

  while (p < end)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);
      const char *next;

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          /* Invalid bytes end any run and are skipped. */
          if (run_prev != NULL && !run_emitted &&
              !func (run_prev, p - run_prev, run_prev - text, p - text, user_data))
            return;
          run_prev = NULL;
          p++;
          continue;
        }
      next = g_utf8_next_char (p);

      if (is_cjk (c))
        {
          if (run_prev != NULL)
            {
              if (!func (run_prev, next - run_prev, run_prev - text, next - text, user_data))
                return;
              run_emitted = TRUE;
            }
          else
            run_emitted = FALSE;
          run_prev = p;
          p = next;
          continue;
        }

      if (run_prev != NULL)
        {
          /* A one-character run is indexed as itself. */
          if (!run_emitted &&
              !func (run_prev, p - run_prev, run_prev - text, p - text, user_data))
            return;
          run_prev = NULL;
        }

      if (is_word_char (c))
        {
          const char *start = p;
          const char *term;
          gsize term_len;

          while (p < end)
            {
              gunichar w = g_utf8_get_char_validated (p, end - p);
              if (w == (gunichar) -1 || w == (gunichar) -2 || !is_word_char (w) || is_cjk (w))
                break;
              p = g_utf8_next_char (p);
            }
          term = normalize_word (self, start, p - start, &term_len);
          if (term_len > 0 &&
              !func (term, term_len, start - text, p - text, user_data))
            return;
          continue;
        }
      p = next;
    }

  if (run_prev != NULL && !run_emitted)
    func (run_prev, end - run_prev, run_prev - text, end - text, user_data);
}

/* ---- FTS5 glue ---- */

typedef struct {
  void *ctx;
  int (*x_token) (void *, int, const char *, int, int, int);
  int rc;
} Fts5Call;

static gboolean
fts5_emit (const char *term,
           gsize       term_len,
           gsize       byte_start,
           gsize       byte_end,
           gpointer    user_data)
{
  Fts5Call *call = user_data;

  call->rc = call->x_token (call->ctx, 0, term, (int) term_len,
                            (int) byte_start, (int) byte_end);
  return call->rc == SQLITE_OK;
}

static int
fts5_create (void            *user_data,
             const char     **args,
             int              n_args,
             Fts5Tokenizer  **out)
{
  *out = (Fts5Tokenizer *) docent_tokenizer_new ();
  return SQLITE_OK;
}

static void
fts5_delete (Fts5Tokenizer *tokenizer)
{
  docent_tokenizer_free ((DocentTokenizer *) tokenizer);
}

static int
fts5_tokenize (Fts5Tokenizer *tokenizer,
               void          *ctx,
               int            flags,
               const char    *text,
               int            n_text,
               int          (*x_token) (void *, int, const char *, int, int, int))
{
  Fts5Call call = { ctx, x_token, SQLITE_OK };

  docent_tokenizer_tokenize ((DocentTokenizer *) tokenizer, text, n_text, fts5_emit, &call);
  return call.rc;
}

static fts5_api *
get_fts5_api (sqlite3 *db)
{
  fts5_api *api = NULL;
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT fts5(?1)", -1, &stmt, NULL) != SQLITE_OK)
    return NULL;
  sqlite3_bind_pointer (stmt, 1, (void *) &api, "fts5_api_ptr", NULL);
  sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  return api;
}

/* ---- ranking: docent_rank (chunks_fts, k1, b, w_prox, w_cov) ----
 *
 * BM25 with k1 and b as arguments (FTS5's bm25() fixes 1.2 / 0.75), an
 * IDF that stays positive for common terms, plus two features from the
 * same position lists: proximity (how close the query's distinct terms
 * come to each other in the passage) and coverage (the IDF share of the
 * query's terms the passage holds). Parameters: docs/RETRIEVAL.md. */

typedef struct {
  int     n_phrase;
  double  avgdl;
  double *idf;        /* per phrase (a repeated query word counts each time) */
  double  idf_sum;
  int    *tf;         /* scratch, per phrase */
  int    *last;       /* scratch: last position seen per phrase */
  int    *min_dist;   /* scratch: per pair (i < j) */
} RankData;

static void
rank_data_free (void *p)
{
  RankData *d = p;

  g_free (d->idf);
  g_free (d->tf);
  g_free (d->last);
  g_free (d->min_dist);
  g_free (d);
}

static int
count_row (const Fts5ExtensionApi *api,
           Fts5Context            *fts,
           void                   *user_data)
{
  (*(sqlite3_int64 *) user_data)++;
  return SQLITE_OK;
}

static RankData *
rank_data_get (const Fts5ExtensionApi *api,
               Fts5Context            *fts,
               int                    *rc)
{
  RankData *d = api->xGetAuxdata (fts, 0);
  sqlite3_int64 n_row = 0, n_tokens = 0;

  if (d != NULL)
    return d;
  d = g_new0 (RankData, 1);
  d->n_phrase = api->xPhraseCount (fts);
  d->idf = g_new0 (double, d->n_phrase);
  d->tf = g_new0 (int, d->n_phrase);
  d->last = g_new0 (int, d->n_phrase);
  d->min_dist = g_new0 (int, (gsize) d->n_phrase * d->n_phrase);
  if ((*rc = api->xRowCount (fts, &n_row)) != SQLITE_OK ||
      (*rc = api->xColumnTotalSize (fts, -1, &n_tokens)) != SQLITE_OK)
    {
      rank_data_free (d);
      return NULL;
    }
  d->avgdl = n_row > 0 ? (double) n_tokens / n_row : 1.0;
  if (d->avgdl <= 0)
    d->avgdl = 1.0;
  for (int i = 0; i < d->n_phrase; i++)
    {
      sqlite3_int64 n_hit = 0;

      if ((*rc = api->xQueryPhrase (fts, i, &n_hit, count_row)) != SQLITE_OK)
        {
          rank_data_free (d);
          return NULL;
        }
      /* Lucene's form: never negative, so a term in most passages still
       * counts a little instead of subtracting. */
      d->idf[i] = log (1.0 + (n_row - n_hit + 0.5) / (n_hit + 0.5));
      d->idf_sum += d->idf[i];
    }
  if ((*rc = api->xSetAuxdata (fts, d, rank_data_free)) != SQLITE_OK)
    return NULL;
  return d;
}

static void
fts5_rank (const Fts5ExtensionApi *api,
           Fts5Context            *fts,
           sqlite3_context        *ctx,
           int                     n_val,
           sqlite3_value         **val)
{
  double k1 = n_val > 0 ? sqlite3_value_double (val[0]) : 1.2;
  double b = n_val > 1 ? sqlite3_value_double (val[1]) : 0.75;
  double w_prox = n_val > 2 ? sqlite3_value_double (val[2]) : 0.0;
  double w_cov = n_val > 3 ? sqlite3_value_double (val[3]) : 0.0;
  int rc = SQLITE_OK, n_inst = 0, dl = 0, n = 0;
  double score = 0.0, covered = 0.0, prox = 0.0, norm;
  RankData *d = rank_data_get (api, fts, &rc);

  if (d == NULL || (rc = api->xInstCount (fts, &n_inst)) != SQLITE_OK ||
      (rc = api->xColumnSize (fts, -1, &dl)) != SQLITE_OK)
    {
      sqlite3_result_error_code (ctx, rc != SQLITE_OK ? rc : SQLITE_ERROR);
      return;
    }
  n = d->n_phrase;
  memset (d->tf, 0, n * sizeof (int));
  for (int i = 0; i < n; i++)
    d->last[i] = -1;
  if (w_prox != 0.0)
    for (int i = 0; i < n * n; i++)
      d->min_dist[i] = G_MAXINT;

  /* Instances come in position order: each new one closes the distance to
   * the last seen instance of every other phrase. */
  for (int i = 0; i < n_inst; i++)
    {
      int phrase, col, off;

      if ((rc = api->xInst (fts, i, &phrase, &col, &off)) != SQLITE_OK)
        {
          sqlite3_result_error_code (ctx, rc);
          return;
        }
      d->tf[phrase]++;
      if (w_prox != 0.0)
        for (int j = 0; j < n; j++)
          if (j != phrase && d->last[j] >= 0)
            {
              int lo = MIN (j, phrase), hi = MAX (j, phrase);
              int dist = ABS (off - d->last[j]);
              if (dist < d->min_dist[lo * n + hi])
                d->min_dist[lo * n + hi] = dist;
            }
      d->last[phrase] = off;
    }

  norm = k1 * (1.0 - b + b * dl / d->avgdl);
  for (int i = 0; i < n; i++)
    if (d->tf[i] > 0)
      {
        score += d->idf[i] * d->tf[i] * (k1 + 1.0) / (d->tf[i] + norm);
        covered += d->idf[i];
      }
  if (w_prox != 0.0)
    for (int i = 0; i < n; i++)
      for (int j = i + 1; j < n; j++)
        if (d->min_dist[i * n + j] < G_MAXINT)
          prox += MIN (d->idf[i], d->idf[j]) / MAX (1, d->min_dist[i * n + j]);
  score += w_prox * prox;
  if (w_cov != 0.0 && d->idf_sum > 0)
    score *= pow (covered / d->idf_sum, w_cov);
  sqlite3_result_double (ctx, score);
}

gboolean
docent_fts_tokenizer_register (sqlite3  *db,
                               GError  **error)
{
  fts5_api *api = get_fts5_api (db);
  fts5_tokenizer tokenizer = { fts5_create, fts5_delete, fts5_tokenize };

  if (api == NULL)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_STORE,
                   _("This SQLite has no FTS5 full-text search; install a build with FTS5 enabled"));
      return FALSE;
    }
  if (api->xCreateTokenizer (api, DOCENT_FTS_TOKENIZER_NAME, NULL, &tokenizer, NULL) != SQLITE_OK)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_STORE,
                   _("Could not register the full-text tokenizer: %s"), sqlite3_errmsg (db));
      return FALSE;
    }
  if (api->xCreateFunction (api, DOCENT_FTS_RANK_NAME, NULL, fts5_rank, NULL) != SQLITE_OK)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_STORE,
                   _("Could not register the full-text ranking function: %s"), sqlite3_errmsg (db));
      return FALSE;
    }
  return TRUE;
}
