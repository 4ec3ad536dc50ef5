/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "docent-chunker.h"

static gboolean
collect (DocentChunk *chunk, gpointer user_data)
{
  g_ptr_array_add (user_data, chunk);
  return TRUE;
}

/* Feeds @text in pieces of @step bytes (never splitting a character is not
 * required: the chunker must cope). */
static GPtrArray *
chunk_text (const char *text, guint size, guint overlap, gsize step, DocentChunker **out)
{
  GPtrArray *chunks = g_ptr_array_new_with_free_func ((GDestroyNotify) docent_chunk_free);
  DocentChunker *chunker = docent_chunker_new (size, overlap, collect, chunks);
  gsize len = strlen (text);

  for (gsize i = 0; i < len; i += step)
    docent_chunker_feed (chunker, text + i, MIN (step, len - i));
  docent_chunker_finish (chunker);
  if (out)
    *out = chunker;
  else
    docent_chunker_free (chunker);
  return chunks;
}

static char *
substring_cp (const char *text, gint64 start, gint64 end)
{
  const char *s = g_utf8_offset_to_pointer (text, start);
  const char *e = g_utf8_offset_to_pointer (text, end);
  return g_strndup (s, e - s);
}

static void
check_offsets (const char *text, GPtrArray *chunks)
{
  for (guint i = 0; i < chunks->len; i++)
    {
      DocentChunk *c = g_ptr_array_index (chunks, i);
      g_autofree char *sub = substring_cp (text, c->char_start, c->char_end);
      g_assert_cmpstr (sub, ==, c->text);
      g_assert_cmpuint (c->ordinal, ==, i);
      if (i > 0)
        {
          DocentChunk *p = g_ptr_array_index (chunks, i - 1);
          g_assert_cmpint (c->char_start, >, p->char_start);
          /* No gap: every character is covered by some chunk. */
          g_assert_cmpint (c->char_start, <=, p->char_end + 2);
        }
    }
}

static void
test_english_sentences (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(GPtrArray) chunks = NULL;

  for (int i = 0; i < 200; i++)
    g_string_append_printf (s, "Sentence number %d talks about regression models. ", i);
  chunks = chunk_text (s->str, 1000, 150, 37, NULL);
  g_assert_cmpuint (chunks->len, >, 8);
  check_offsets (s->str, chunks);
  for (guint i = 0; i + 1 < chunks->len; i++)
    {
      DocentChunk *c = g_ptr_array_index (chunks, i);
      glong n = g_utf8_strlen (c->text, -1);
      g_assert_cmpint (n, >=, 600);
      g_assert_cmpint (n, <=, 1150);
      /* Every chunk but the last ends at a sentence end. */
      g_assert_true (g_str_has_suffix (c->text, "."));
      /* And every one after the first starts at a sentence start. */
      if (i > 0)
        g_assert_true (g_str_has_prefix (c->text, "Sentence"));
    }
  /* Overlap: consecutive chunks share text. */
  {
    DocentChunk *a = g_ptr_array_index (chunks, 0);
    DocentChunk *b = g_ptr_array_index (chunks, 1);
    g_assert_cmpint (b->char_start, <, a->char_end);
    g_assert_cmpint (a->char_end - b->char_start, <=, 160);
  }
}

static void
test_korean_sentences (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(GPtrArray) chunks = NULL;

  for (int i = 0; i < 120; i++)
    g_string_append_printf (s, "양자화는 모델의 크기를 줄이는 방법입니다. 정말 그런가요? 그렇다%d. ", i);
  chunks = chunk_text (s->str, 300, 45, 5, NULL);
  check_offsets (s->str, chunks);
  for (guint i = 0; i + 1 < chunks->len; i++)
    {
      DocentChunk *c = g_ptr_array_index (chunks, i);
      g_assert_true (g_str_has_suffix (c->text, ".") || g_str_has_suffix (c->text, "?"));
    }
}

static void
test_no_spaces (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(GPtrArray) chunks = NULL;

  /* A long run of Hangul with no spaces: cuts fall between syllables, and
   * conjoining jamo sequences (ᄒ+ᅡ+ᆫ) are never split. */
  for (int i = 0; i < 500; i++)
    g_string_append (s, "한\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab");
  chunks = chunk_text (s->str, 200, 20, 7, NULL);
  check_offsets (s->str, chunks);
  for (guint i = 0; i < chunks->len; i++)
    {
      DocentChunk *c = g_ptr_array_index (chunks, i);
      gunichar first = g_utf8_get_char (c->text);
      g_assert_true (first == 0xD55C || first == 0x1112);
    }
}

static void
test_pages_and_lines (void)
{
  g_autoptr(GPtrArray) chunks = g_ptr_array_new_with_free_func ((GDestroyNotify) docent_chunk_free);
  g_autoptr(DocentChunker) chunker = docent_chunker_new (100, 0, collect, chunks);
  GArray *pages;

  docent_chunker_begin_page (chunker, 1, "i");
  docent_chunker_feed (chunker, "First page line one.\nLine two.", -1);
  docent_chunker_begin_page (chunker, 2, "1");
  docent_chunker_feed (chunker, "Second page.", -1);
  docent_chunker_finish (chunker);

  pages = docent_chunker_get_pages (chunker);
  g_assert_cmpuint (pages->len, ==, 2);
  g_assert_cmpstr (g_array_index (pages, DocentPage, 0).label, ==, "i");
  g_assert_cmpint (g_array_index (pages, DocentPage, 0).char_start, ==, 0);
  g_assert_cmpint (g_array_index (pages, DocentPage, 0).char_end, ==, 30);
  g_assert_cmpint (g_array_index (pages, DocentPage, 1).char_start, ==, 31);
  g_assert_cmpint (docent_chunker_get_n_chars (chunker), ==, 43);
  g_assert_cmpuint (chunks->len, ==, 1);
  {
    DocentChunk *c = g_ptr_array_index (chunks, 0);
    g_assert_cmpuint (c->page_first, ==, 1);
    g_assert_cmpuint (c->page_last, ==, 2);
    g_assert_cmpuint (c->line_first, ==, 1);
    g_assert_cmpuint (c->line_last, ==, 2);
    g_assert_nonnull (strchr (c->text, '\f'));
  }
}

static void
test_text_lines (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(GPtrArray) chunks = NULL;

  for (int i = 1; i <= 300; i++)
    g_string_append_printf (s, "line %d of the file\r\n", i);
  chunks = chunk_text (s->str, 200, 30, 64, NULL);
  check_offsets (s->str, chunks);
  for (guint i = 0; i < chunks->len; i++)
    {
      DocentChunk *c = g_ptr_array_index (chunks, i);
      int first = 0, last = 0;
      const char *tail = g_strrstr (c->text, "line ");
      g_assert_cmpint (sscanf (c->text, "line %d", &first), ==, 1);
      g_assert_cmpint (sscanf (tail, "line %d", &last), ==, 1);
      g_assert_cmpuint (c->line_first, ==, first);
      g_assert_cmpuint (c->line_last, ==, last);
    }
}

static void
test_invalid_utf8_and_tiny (void)
{
  g_autoptr(GPtrArray) chunks = chunk_text ("ok \xff\xfe bytes", 100, 10, 1, NULL);
  g_assert_cmpuint (chunks->len, ==, 1);
  g_assert_nonnull (strstr (((DocentChunk *) chunks->pdata[0])->text, "\xef\xbf\xbd"));
  g_clear_pointer (&chunks, g_ptr_array_unref);
  chunks = chunk_text ("   \n\n  ", 100, 10, 3, NULL);
  g_assert_cmpuint (chunks->len, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/chunker/english-sentences", test_english_sentences);
  g_test_add_func ("/chunker/korean-sentences", test_korean_sentences);
  g_test_add_func ("/chunker/no-spaces", test_no_spaces);
  g_test_add_func ("/chunker/pages-and-lines", test_pages_and_lines);
  g_test_add_func ("/chunker/text-lines", test_text_lines);
  g_test_add_func ("/chunker/invalid-utf8-and-tiny", test_invalid_utf8_and_tiny);
  return g_test_run ();
}
