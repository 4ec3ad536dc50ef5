/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-fts"
#include "config.h"

#include <libstemmer.h>
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

gboolean
docent_fts_tokenizer_register (sqlite3  *db,
                               GError  **error)
{
  fts5_api *api = get_fts5_api (db);
  fts5_tokenizer tokenizer = { fts5_create, fts5_delete, fts5_tokenize };

  if (api == NULL)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_STORE,
                   "This SQLite has no FTS5 full-text search; install a build with FTS5 enabled");
      return FALSE;
    }
  if (api->xCreateTokenizer (api, DOCENT_FTS_TOKENIZER_NAME, NULL, &tokenizer, NULL) != SQLITE_OK)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_STORE,
                   "Could not register the full-text tokenizer: %s", sqlite3_errmsg (db));
      return FALSE;
    }
  return TRUE;
}
