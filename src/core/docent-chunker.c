/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-chunker"
#include "config.h"

#include <string.h>

#include "docent-chunker.h"

/* The chunker keeps only the not-yet-emitted tail of the document as UCS-4,
 * so offsets are plain indices and a large text file streams through it in
 * bounded memory. Cuts are chosen in a window around the target size, best
 * boundary first: paragraph, sentence, line, clause, word, and only for long
 * runs without spaces (CJK) a boundary between two whole characters. */

typedef enum {
  CUT_CHAR = 1,
  CUT_WORD,
  CUT_CLAUSE,
  CUT_LINE,
  CUT_SENTENCE,
  CUT_PARAGRAPH,
} CutKind;

struct _DocentChunker
{
  guint           target;
  guint           overlap;
  DocentChunkFunc func;
  gpointer        user_data;

  gunichar       *buf;
  gsize           len;
  gsize           cap;
  gint64          base;        /* absolute offset of buf[0] */
  guint           base_line;   /* 1-based line number at buf[0] */
  gint64          pos;         /* absolute start of the next chunk */
  guint           pos_line;    /* 1-based line number at pos */
  gboolean        prev_cr;     /* buf[-1] was '\r' (for CRLF line counting) */

  GArray         *pages;       /* DocentPage */
  gint64          n_visible;
  guint           n_chunks;
  gboolean        stopped;
  char            partial[4];  /* an incomplete UTF-8 sequence between feeds */
  gsize           n_partial;
};

static void
page_clear (gpointer data)
{
  DocentPage *page = data;
  g_clear_pointer (&page->label, g_free);
}

DocentChunker *
docent_chunker_new (guint           target_chars,
                    guint           overlap_chars,
                    DocentChunkFunc func,
                    gpointer        user_data)
{
  DocentChunker *self = g_new0 (DocentChunker, 1);

  g_return_val_if_fail (func != NULL, NULL);

  self->target = MAX (target_chars, 50);
  /* Overlap beyond half a chunk would make progress too slow to be useful. */
  self->overlap = MIN (overlap_chars, self->target / 2);
  self->func = func;
  self->user_data = user_data;
  self->base_line = 1;
  self->pos_line = 1;
  self->pages = g_array_new (FALSE, TRUE, sizeof (DocentPage));
  g_array_set_clear_func (self->pages, page_clear);
  return self;
}

void
docent_chunker_free (DocentChunker *self)
{
  if (self == NULL)
    return;
  g_free (self->buf);
  g_array_unref (self->pages);
  g_free (self);
}

void
docent_chunk_free (DocentChunk *chunk)
{
  if (chunk == NULL)
    return;
  g_free (chunk->text);
  g_free (chunk);
}

GArray *
docent_chunker_get_pages (DocentChunker *self)
{
  return self->pages;
}

gint64
docent_chunker_get_n_chars (DocentChunker *self)
{
  return self->base + (gint64) self->len;
}

gint64
docent_chunker_get_n_visible (DocentChunker *self)
{
  return self->n_visible;
}

guint
docent_chunker_get_n_chunks (DocentChunker *self)
{
  return self->n_chunks;
}

static void
append_char (DocentChunker *self,
             gunichar       c)
{
  if (self->len == self->cap)
    {
      self->cap = MAX (self->cap * 2, 4096);
      self->buf = g_renew (gunichar, self->buf, self->cap);
    }
  self->buf[self->len++] = c;
  if (!g_unichar_isspace (c))
    {
      self->n_visible++;
      if (self->pages->len > 0)
        g_array_index (self->pages, DocentPage, self->pages->len - 1).n_chars++;
    }
}

static inline gunichar
char_at (DocentChunker *self,
         gint64         abs)
{
  gint64 i = abs - self->base;

  if (i < 0 || i >= (gint64) self->len)
    return 0;
  return self->buf[i];
}

static gboolean
is_space (gunichar c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         g_unichar_isspace (c);
}

static gboolean
is_sentence_end (gunichar c)
{
  switch (c)
    {
    case '.': case '!': case '?':
    case 0x2026: /* … */
    case 0x3002: /* 。 */
    case 0xFF01: /* ！ */
    case 0xFF0E: /* ． */
    case 0xFF1F: /* ？ */
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
is_closing (gunichar c)
{
  switch (c)
    {
    case '"': case '\'': case ')': case ']': case '}':
    case 0x2019: case 0x201D: /* ’ ” */
    case 0x300D: case 0x300F: case 0x3011: case 0xFF09: /* 」 』 】 ） */
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
is_clause_end (gunichar c)
{
  return c == ',' || c == ';' || c == ':' || c == 0x3001 /* 、 */ ||
         c == 0xFF0C /* ， */ || c == 0xFF1B /* ； */ || c == 0xFF1A /* ： */;
}

/* Characters that must not be separated from the one before them: combining
 * marks, conjoining Hangul jamo (vowels and final consonants), variation
 * selectors and zero-width joiners. */
static gboolean
is_continuation (gunichar c)
{
  if (c >= 0x1160 && c <= 0x11FF)   /* Hangul jungseong/jongseong */
    return TRUE;
  if (c >= 0xD7B0 && c <= 0xD7FF)   /* Hangul jamo extended-B */
    return TRUE;
  if (c == 0x200D || (c >= 0xFE00 && c <= 0xFE0F))
    return TRUE;
  switch (g_unichar_type (c))
    {
    case G_UNICODE_SPACING_MARK:
    case G_UNICODE_ENCLOSING_MARK:
    case G_UNICODE_NON_SPACING_MARK:
      return TRUE;
    default:
      return FALSE;
    }
}

/* Scripts written without spaces between words: a cut between two of their
 * characters is a word boundary. Hangul uses spaces, so it is not listed. */
static gboolean
is_unspaced_script (gunichar c)
{
  return (c >= 0x3040 && c <= 0x30FF) ||   /* Kana */
         (c >= 0x3400 && c <= 0x9FFF) ||   /* CJK ideographs */
         (c >= 0xF900 && c <= 0xFAFF);
}

/* How good is a cut right before absolute offset @at? 0 = not allowed. */
static CutKind
cut_kind_at (DocentChunker *self,
             gint64         at)
{
  gunichar prev = char_at (self, at - 1);
  gunichar next = char_at (self, at);

  if (prev == 0 || next == 0)
    return 0;
  if (is_continuation (next))
    return 0;

  if (is_space (next) && !is_space (prev))
    {
      /* A cut at the start of a whitespace run; look at the run. */
      guint newlines = 0;
      gboolean form_feed = FALSE;
      gint64 i;
      gunichar before = prev;

      for (i = at; i < self->base + (gint64) self->len && is_space (char_at (self, i)); i++)
        {
          gunichar c = char_at (self, i);
          if (c == '\n')
            newlines++;
          else if (c == '\f')
            form_feed = TRUE;
        }
      if (newlines >= 2 || form_feed)
        return CUT_PARAGRAPH;
      /* Step back over closing quotes to find the sentence mark. */
      for (i = at - 1; i > self->base && is_closing (before); i--)
        before = char_at (self, i - 1);
      if (is_sentence_end (before))
        return CUT_SENTENCE;
      if (newlines == 1)
        return CUT_LINE;
      if (is_clause_end (prev))
        return CUT_CLAUSE;
      return CUT_WORD;
    }

  if (is_space (prev) || is_space (next))
    return 0;   /* inside a whitespace run: cuts go to its start */

  /* CJK full stops need no following space. */
  if (prev == 0x3002 || prev == 0xFF01 || prev == 0xFF1F)
    return CUT_SENTENCE;
  if (prev == 0x3001 || prev == 0xFF0C)
    return CUT_CLAUSE;
  if (is_unspaced_script (prev) || is_unspaced_script (next))
    return CUT_WORD;
  return CUT_CHAR;
}

static guint
count_lines (DocentChunker *self,
             gint64         from,
             gint64         to)
{
  guint n = 0;

  for (gint64 i = from; i < to; i++)
    {
      gunichar c = char_at (self, i);
      /* "\r\n" counts once, at its '\n'; a lone '\r' counts as a break. */
      if (c == '\n' || (c == '\r' && char_at (self, i + 1) != '\n'))
        n++;
    }
  return n;
}

static guint
page_at (DocentChunker *self,
         gint64         offset)
{
  guint lo = 0, hi = self->pages->len;

  if (hi == 0)
    return 0;
  /* Last page whose start is <= offset. */
  while (hi - lo > 1)
    {
      guint mid = (lo + hi) / 2;
      if (g_array_index (self->pages, DocentPage, mid).char_start <= offset)
        lo = mid;
      else
        hi = mid;
    }
  return g_array_index (self->pages, DocentPage, lo).number;
}

static char *
dup_utf8 (DocentChunker *self,
          gint64         start,
          gint64         end)
{
  return g_ucs4_to_utf8 (self->buf + (start - self->base), end - start, NULL, NULL, NULL);
}

/* Emits [start, end) trimmed of surrounding whitespace. */
static gboolean
emit (DocentChunker *self,
      gint64         start,
      gint64         end)
{
  DocentChunk *chunk;

  while (start < end && is_space (char_at (self, start)))
    start++;
  while (end > start && is_space (char_at (self, end - 1)))
    end--;
  if (start >= end)
    return TRUE;

  chunk = g_new0 (DocentChunk, 1);
  chunk->ordinal = self->n_chunks++;
  chunk->char_start = start;
  chunk->char_end = end;
  chunk->page_first = page_at (self, start);
  chunk->page_last = page_at (self, end - 1);
  /* Lines are counted from pos, which only moves forward: counting from the
   * buffer's start would make a large text file quadratic. */
  chunk->line_first = self->pos_line + count_lines (self, self->pos, start);
  chunk->line_last = chunk->line_first + count_lines (self, start, end - 1);
  chunk->text = dup_utf8 (self, start, end);
  if (chunk->text == NULL)
    chunk->text = g_strdup ("");

  if (!self->func (chunk, self->user_data))
    self->stopped = TRUE;
  return !self->stopped;
}

/* Where should the next chunk start, given a cut at @cut? Step back by the
 * overlap, then forward to the best boundary there (a sentence start before
 * a line start before a word start), keeping as much overlap as it allows. */
static gint64
next_start (DocentChunker *self,
            gint64         chunk_start,
            gint64         cut)
{
  gint64 from = MAX (cut - (gint64) self->overlap, chunk_start + 1);
  gint64 best = cut;
  CutKind best_kind = 0;

  if (self->overlap == 0)
    return cut;
  for (gint64 i = from; i < cut; i++)
    {
      CutKind kind = cut_kind_at (self, i);
      if (kind > best_kind && kind >= CUT_WORD)
        {
          best = i;
          best_kind = kind;
        }
    }
  return best;
}

/* Moves the next chunk's start forward, keeping its line number. */
static void
advance_pos (DocentChunker *self,
             gint64         to)
{
  if (to <= self->pos)
    return;
  self->pos_line += count_lines (self, self->pos, to);
  self->pos = to;
}

/* Drops characters before the next chunk's start. */
static void
compact (DocentChunker *self)
{
  gint64 drop = self->pos - self->base;

  if (drop <= 0 || drop < (gint64) self->len / 2)
    return;
  self->base_line = self->pos_line;
  memmove (self->buf, self->buf + drop, (self->len - drop) * sizeof (gunichar));
  self->len -= drop;
  self->base += drop;
}

/* Emits one chunk from self->pos. With @final, the end of the buffer is the
 * end of the document. Returns FALSE when there is not enough text yet. */
static gboolean
emit_one (DocentChunker *self,
          gboolean       final)
{
  gint64 end_abs = self->base + (gint64) self->len;
  gint64 start = self->pos;
  gint64 lo = start + (gint64) self->target * 6 / 10;
  gint64 hi = start + (gint64) self->target * 115 / 100;
  gint64 best = -1;
  CutKind best_kind = 0;
  gint64 best_dist = G_MAXINT64;

  /* Skip leading whitespace so chunks and overlaps start on text. */
  while (start < end_abs && is_space (char_at (self, start)))
    start++;
  advance_pos (self, start);
  if (start >= end_abs)
    return FALSE;

  if (end_abs <= hi)
    {
      if (!final)
        return FALSE;
      emit (self, start, end_abs);
      advance_pos (self, end_abs);
      return FALSE;
    }

  for (gint64 at = lo; at <= hi; at++)
    {
      CutKind kind = cut_kind_at (self, at);
      gint64 dist = ABS (at - (start + (gint64) self->target));

      if (kind == 0)
        continue;
      if (kind > best_kind || (kind == best_kind && dist < best_dist))
        {
          best = at;
          best_kind = kind;
          best_dist = dist;
        }
    }

  if (best < 0)
    {
      /* One enormous token: cut at the first character boundary past hi. */
      best = hi;
      while (best < end_abs - 1 && is_continuation (char_at (self, best)))
        best++;
    }

  if (!emit (self, start, best))
    return FALSE;
  advance_pos (self, next_start (self, start, best));
  compact (self);
  return TRUE;
}

static gboolean
drain (DocentChunker *self)
{
  /* Keep one full window of lookahead past the cut range. */
  while (!self->stopped &&
         self->base + (gint64) self->len > self->pos + (gint64) self->target * 2)
    {
      if (!emit_one (self, FALSE))
        break;
    }
  return !self->stopped;
}

void
docent_chunker_begin_page (DocentChunker *self,
                           guint          number,
                           const char    *label)
{
  DocentPage page = { 0 };
  gint64 here = self->base + (gint64) self->len;

  if (self->pages->len > 0)
    {
      g_array_index (self->pages, DocentPage, self->pages->len - 1).char_end = here;
      append_char (self, '\f');
      here++;
    }
  page.number = number;
  page.label = g_strdup (label);
  page.char_start = here;
  page.char_end = here;
  g_array_append_val (self->pages, page);
}

gboolean
docent_chunker_feed (DocentChunker *self,
                     const char    *utf8,
                     gssize         len)
{
  const char *p, *end;

  g_return_val_if_fail (self != NULL, FALSE);

  if (self->stopped)
    return FALSE;
  if (len < 0)
    len = strlen (utf8);
  p = utf8;
  end = utf8 + len;

  /* Finish a character split across two feeds. */
  while (self->n_partial > 0 && p < end)
    {
      gunichar c;
      self->partial[self->n_partial++] = *p++;
      c = g_utf8_get_char_validated (self->partial, self->n_partial);
      if (c == (gunichar) -2 && self->n_partial < 4)
        continue;
      append_char (self, c < 0x110000 ? c : 0xFFFD);
      self->n_partial = 0;
    }

  while (p < end)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);

      if (c == (gunichar) -2)
        {
          self->n_partial = end - p;
          memcpy (self->partial, p, self->n_partial);
          break;
        }
      if (c == (gunichar) -1)
        {
          append_char (self, 0xFFFD);
          p++;
          continue;
        }
      if (c != 0)
        append_char (self, c);
      p = g_utf8_next_char (p);
    }

  if (self->pages->len > 0)
    g_array_index (self->pages, DocentPage, self->pages->len - 1).char_end =
      self->base + (gint64) self->len;

  return drain (self);
}

gboolean
docent_chunker_finish (DocentChunker *self)
{
  if (self->n_partial > 0)
    {
      append_char (self, 0xFFFD);
      self->n_partial = 0;
    }
  if (self->pages->len > 0)
    g_array_index (self->pages, DocentPage, self->pages->len - 1).char_end =
      self->base + (gint64) self->len;
  while (!self->stopped && emit_one (self, TRUE))
    ;
  return !self->stopped;
}
