/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <poppler.h>

#include "docent-error.h"
#include "docent-extract.h"
#include "docent-test-pdf.h"
#include "docent-test-util.h"

static char *tmpdir;

#define GAP '\x01'

/* ---- running an extraction ------------------------------------------------ */

typedef struct {
  GString      *text;      /* the document text rebuilt from the chunks */
  gint64        covered;   /* code points of it so far */
  guint         n_chunks;
  gboolean      keep_text; /* FALSE for huge files: only count */
  guint         stop_after; /* return FALSE from the callback after this many, 0 = never */
  GCancellable *cancel_after_first;
} Collect;

static gboolean
collect_chunk (DocentChunk *chunk,
               gpointer     user_data)
{
  Collect *c = user_data;

  g_assert_cmpint (chunk->char_end, >, chunk->char_start);
  g_assert_true (g_utf8_validate (chunk->text, -1, NULL));
  g_assert_cmpint (g_utf8_strlen (chunk->text, -1), ==, chunk->char_end - chunk->char_start);
  /* The chunker may leave out blank space between chunks (at the start and
   * end of a document); GAP marks it in the rebuilt text. */
  for (; c->covered < chunk->char_start; c->covered++)
    if (c->keep_text)
      g_string_append_c (c->text, GAP);
  if (chunk->char_end > c->covered)
    {
      if (c->keep_text)
        {
          const char *from = g_utf8_offset_to_pointer (chunk->text, c->covered - chunk->char_start);
          g_string_append (c->text, from);
        }
      c->covered = chunk->char_end;
    }
  c->n_chunks++;
  docent_chunk_free (chunk);

  if (c->cancel_after_first)
    g_cancellable_cancel (c->cancel_after_first);
  return c->stop_after == 0 || c->n_chunks < c->stop_after;
}

typedef struct {
  gboolean      ok;
  GError       *error;
  DocentDocInfo info;
  char         *text;
  GArray       *pages;   /* DocentPage copies; labels owned */
  guint         n_chunks;
  gint64        n_chars;
} Result;

static void
result_free (Result *r)
{
  g_clear_error (&r->error);
  docent_doc_info_clear (&r->info);
  g_free (r->text);
  if (r->pages)
    {
      for (guint i = 0; i < r->pages->len; i++)
        g_free (g_array_index (r->pages, DocentPage, i).label);
      g_array_unref (r->pages);
    }
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Result, result_free)

static Result *
extract_full (const char   *path,
              const char   *password,
              gboolean      keep_text,
              GCancellable *cancellable,
              Collect      *c)
{
  Result *r = g_new0 (Result, 1);
  DocentChunker *chunker;
  GArray *pages;

  c->text = g_string_new (NULL);
  c->keep_text = keep_text;
  chunker = docent_chunker_new (DOCENT_CHUNK_SIZE_DEFAULT, DOCENT_CHUNK_OVERLAP_DEFAULT,
                                collect_chunk, c);
  r->ok = docent_extract_file (path, password, chunker, &r->info, cancellable, &r->error);
  g_assert_true (r->ok == (r->error == NULL));
  if (r->ok)
    g_assert_true (docent_chunker_finish (chunker));

  pages = docent_chunker_get_pages (chunker);
  r->pages = g_array_new (FALSE, TRUE, sizeof (DocentPage));
  for (guint i = 0; i < pages->len; i++)
    {
      DocentPage p = g_array_index (pages, DocentPage, i);
      p.label = g_strdup (p.label);
      g_array_append_val (r->pages, p);
    }
  r->n_chunks = c->n_chunks;
  r->n_chars = docent_chunker_get_n_chars (chunker);
  g_assert_cmpint (c->covered, <=, r->n_chars);
  for (; keep_text && c->covered < r->n_chars; c->covered++)
    g_string_append_c (c->text, GAP);
  r->text = g_string_free (c->text, FALSE);
  docent_chunker_free (chunker);
  return r;
}

static Result *
extract (const char *path,
         const char *password)
{
  Collect c = { 0 };
  return extract_full (path, password, TRUE, NULL, &c);
}

/* The text of one page, cut from the rebuilt document text. */
static char *
page_text (Result *r,
           guint   index)
{
  DocentPage *p;
  const char *a, *b;

  g_assert_cmpuint (index, <, r->pages->len);
  p = &g_array_index (r->pages, DocentPage, index);
  a = g_utf8_offset_to_pointer (r->text, p->char_start);
  b = g_utf8_offset_to_pointer (r->text, p->char_end);
  return g_strndup (a, (gsize) (b - a));
}

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static void
write_file (const char *path,
            const char *data,
            gssize      len)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, data, len, &error);
  g_assert_no_error (error);
}

/* Every error names the file and says what to do. */
static void
assert_error (Result     *r,
              int         code,
              const char *path,
              const char *must_contain)
{
  g_autofree char *base = g_path_get_basename (path);

  g_assert_false (r->ok);
  g_assert_error (r->error, DOCENT_ERROR, code);
  g_test_message ("error: %s", r->error->message);
  g_assert_nonnull (strstr (r->error->message, base));
  if (must_contain)
    g_assert_nonnull (strstr (r->error->message, must_contain));
  /* "what to do" */
  g_assert_true (strstr (r->error->message, "again") != NULL ||
                 strstr (r->error->message, "instead") != NULL ||
                 strstr (r->error->message, "Check") != NULL ||
                 strstr (r->error->message, "Convert") != NULL ||
                 strstr (r->error->message, "Fix") != NULL);
}

static const char *ko_page1 = "양자화는 모델의 가중치를 더 적은 비트로 표현하는 방법이다.\n"
                              "Quantization stores weights with fewer bits.";
static const char *ko_page2 = "Second page: retrieval fuses BM25 and dense rankings.\n"
                              "검색은 두 순위를 합친다.";
static const char *ko_page3 = "Third page mentions the keyword zebracorn exactly once.";

static char *
make_basic_pdf (const char *name,
                const char *title,
                const char *author)
{
  const char *pages[] = { ko_page1, ko_page2, ko_page3, NULL };
  g_autoptr(GError) error = NULL;
  char *path = tmp_path (name);

  docent_test_pdf_write (path, pages, NULL, title, author, &error);
  g_assert_no_error (error);
  return path;
}

/* ---- types ------------------------------------------------------------------ */

static void
test_types (void)
{
  DocentDocType t;

  g_assert_true (docent_doc_type_from_path ("/a/b/Report.PDF", &t));
  g_assert_cmpint (t, ==, DOCENT_DOC_TYPE_PDF);
  g_assert_true (docent_doc_type_from_path ("notes.txt", &t));
  g_assert_cmpint (t, ==, DOCENT_DOC_TYPE_TEXT);
  g_assert_true (docent_doc_type_from_path ("README.md", &t));
  g_assert_cmpint (t, ==, DOCENT_DOC_TYPE_TEXT);
  g_assert_true (docent_doc_type_from_path ("x.markdown", &t));
  g_assert_true (docent_doc_type_from_path ("x.Text", &t));
  g_assert_false (docent_doc_type_from_path ("x.docx", &t));
  g_assert_false (docent_doc_type_from_path ("pdf", &t));
  g_assert_false (docent_doc_type_from_path (".txt", &t));
  g_assert_false (docent_doc_type_from_path ("dir.txt/file", &t));
  g_assert_cmpstr (docent_doc_type_to_string (DOCENT_DOC_TYPE_PDF), ==, "pdf");
  g_assert_cmpstr (docent_doc_type_to_string (DOCENT_DOC_TYPE_TEXT), ==, "text");
}

/* ---- PDF -------------------------------------------------------------------- */

static void
test_pdf_basic (void)
{
  g_autofree char *path = make_basic_pdf ("basic.pdf", "Quantization Notes", "Kim Docent");
  g_autoptr(Result) r = extract (path, NULL);
  g_autofree char *p1 = NULL, *p2 = NULL, *p3 = NULL;

  g_assert_no_error (r->error);
  g_assert_cmpint (r->info.type, ==, DOCENT_DOC_TYPE_PDF);
  g_assert_cmpuint (r->info.page_count, ==, 3);
  g_assert_cmpstr (r->info.title, ==, "Quantization Notes");
  g_assert_cmpstr (r->info.author, ==, "Kim Docent");
  g_assert_null (r->info.encoding);
  g_assert_false (r->info.no_text_layer);

  g_assert_cmpuint (r->pages->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (g_array_index (r->pages, DocentPage, i).number, ==, i + 1);

  g_test_message ("text: %s", r->text);
  p1 = page_text (r, 0);
  p2 = page_text (r, 1);
  p3 = page_text (r, 2);
  g_assert_nonnull (strstr (p1, "양자화는 모델의 가중치를"));
  g_assert_nonnull (strstr (p1, "Quantization stores weights"));
  g_assert_null (strstr (p1, "retrieval"));
  g_assert_nonnull (strstr (p2, "retrieval fuses BM25"));
  g_assert_nonnull (strstr (p2, "검색은 두 순위를 합친다."));
  g_assert_nonnull (strstr (p3, "zebracorn"));
  g_assert_null (strstr (p2, "zebracorn"));

  /* Pages are joined by exactly one form feed. */
  g_assert_cmpint (g_array_index (r->pages, DocentPage, 1).char_start, ==,
                   g_array_index (r->pages, DocentPage, 0).char_end + 1);
  g_assert_cmpint (g_utf8_get_char (g_utf8_offset_to_pointer (r->text,
                     g_array_index (r->pages, DocentPage, 0).char_end)), ==, '\f');
  g_assert_cmpint (r->n_chars, ==, g_utf8_strlen (r->text, -1));
}

static void
test_pdf_title_fallback (void)
{
  g_autofree char *path = make_basic_pdf ("no-metadata.pdf", NULL, NULL);
  g_autoptr(Result) r = extract (path, NULL);

  g_assert_no_error (r->error);
  g_assert_cmpstr (r->info.title, ==, "no-metadata.pdf");
  g_assert_null (r->info.author);
}

static void
test_pdf_many_pages (void)
{
  g_autoptr(GPtrArray) pages = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = tmp_path ("many.pdf");
  g_autoptr(Result) r = NULL;

  for (guint i = 1; i <= 40; i++)
    g_ptr_array_add (pages, g_strdup_printf ("This is page marker%03u of the long document.\n"
                                             "It has a second line about topic%03u.", i, i * 7));
  g_ptr_array_add (pages, NULL);
  docent_test_pdf_write (path, (const char * const *) pages->pdata, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  r = extract (path, NULL);
  g_assert_no_error (r->error);
  g_assert_cmpuint (r->info.page_count, ==, 40);
  g_assert_cmpuint (r->pages->len, ==, 40);
  for (guint i = 0; i < 40; i++)
    {
      g_autofree char *t = page_text (r, i);
      g_autofree char *want = g_strdup_printf ("marker%03u", i + 1);
      g_autofree char *want2 = g_strdup_printf ("topic%03u", (i + 1) * 7);
      g_assert_nonnull (strstr (t, want));
      g_assert_nonnull (strstr (t, want2));
    }
  g_assert_cmpuint (r->n_chunks, >=, 2);
}

static void
test_pdf_labels (void)
{
  const char *pages[] = { "Front matter title page text.", "Preface text here.",
                          "Chapter one starts here.", "Chapter one goes on.", NULL };
  const char *labels[] = { "i", "ii", "1", "2", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *path = tmp_path ("labels.pdf");
  g_autoptr(Result) r = NULL;

  docent_test_pdf_write (path, pages, labels, NULL, NULL, &error);
  g_assert_no_error (error);
  r = extract (path, NULL);
  g_assert_no_error (r->error);
  g_assert_cmpuint (r->pages->len, ==, 4);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpstr (g_array_index (r->pages, DocentPage, i).label, ==, labels[i]);
}

static void
test_pdf_r_manual (void)
{
  const char *path = "/usr/share/R/doc/manual/R-intro.pdf";
  g_autoptr(Result) r = NULL;
  DocentPage *p;
  gboolean roman = FALSE;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("R-intro.pdf not installed (Debian package r-doc-pdf)");
      return;
    }
  r = extract (path, NULL);
  g_assert_no_error (r->error);
  g_assert_cmpuint (r->info.page_count, >, 50);
  g_assert_cmpuint (r->pages->len, ==, r->info.page_count);
  g_assert_false (r->info.no_text_layer);
  g_assert_nonnull (r->info.title);
  g_test_message ("title %s, author %s, %u pages", r->info.title, r->info.author, r->info.page_count);

  /* Front matter has roman numbers; arabic page "1" comes later. */
  for (guint i = 0; i < 10; i++)
    {
      p = &g_array_index (r->pages, DocentPage, i);
      if (p->label && strspn (p->label, "ivxlc") == strlen (p->label))
        roman = TRUE;
    }
  g_assert_true (roman);
  for (guint i = 0; i < r->pages->len; i++)
    {
      p = &g_array_index (r->pages, DocentPage, i);
      if (g_strcmp0 (p->label, "1") == 0)
        {
          g_assert_cmpuint (p->number, >, 1);
          break;
        }
    }
  g_assert_nonnull (strstr (r->text, "R is an integrated suite of software facilities"));
}

static void
test_pdf_no_text_layer (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = tmp_path ("scanned.pdf");
  g_autoptr(Result) r = NULL;

  docent_test_pdf_write_image_only (path, 3, &error);
  g_assert_no_error (error);
  r = extract (path, NULL);
  g_assert_no_error (r->error);
  g_assert_true (r->ok);
  g_assert_true (r->info.no_text_layer);
  g_assert_cmpuint (r->info.page_count, ==, 3);
  g_assert_cmpuint (r->pages->len, ==, 3);
}

static void
test_pdf_corrupt (void)
{
  g_autofree char *good = make_basic_pdf ("good-for-corrupt.pdf", NULL, NULL);
  g_autofree char *bad = tmp_path ("corrupt.pdf");
  g_autoptr(GError) error = NULL;
  g_autoptr(Result) r = NULL;

  docent_test_pdf_corrupt_copy (good, bad, &error);
  g_assert_no_error (error);
  r = extract (bad, NULL);
  assert_error (r, DOCENT_ERROR_CORRUPT, bad, "damaged");
}

static void
test_pdf_truncated (void)
{
  g_autofree char *good = make_basic_pdf ("good-for-truncate.pdf", NULL, NULL);
  const double fractions[] = { 0.2, 0.5, 0.9, 0.99 };

  for (guint i = 0; i < G_N_ELEMENTS (fractions); i++)
    {
      g_autofree char *bad = g_strdup_printf ("%s/truncated-%u.pdf", tmpdir, i);
      g_autoptr(GError) error = NULL;
      g_autoptr(Result) r = NULL;

      docent_test_file_truncate_copy (good, bad, fractions[i], &error);
      g_assert_no_error (error);
      r = extract (bad, NULL);
      assert_error (r, DOCENT_ERROR_CORRUPT, bad, "truncated");
    }
}

/* Random damage to a PDF: extraction succeeds (Poppler repaired it) or
 * fails as corrupt, and never crashes. */
static void
test_pdf_mutations (void)
{
  g_autofree char *good = make_basic_pdf ("for-mutation.pdf", NULL, NULL);
  g_autofree char *path = tmp_path ("mutated.pdf");
  g_autofree char *orig = NULL;
  gsize orig_len;
  GRand *rand = g_rand_new_with_seed (11);
  guint n_ok = 0, n_err = 0;

  g_assert_true (g_file_get_contents (good, &orig, &orig_len, NULL));
  for (guint iter = 0; iter < 150; iter++)
    {
      g_autofree char *data = g_memdup2 (orig, orig_len);
      g_autoptr(Result) r = NULL;
      guint n_mut = g_rand_int_range (rand, 1, 20);

      for (guint m = 0; m < n_mut; m++)
        data[g_rand_int_range (rand, 0, (gint32) orig_len)] = (char) g_rand_int_range (rand, 0, 256);
      write_file (path, data, (gssize) orig_len);
      r = extract (path, NULL);
      if (r->ok)
        n_ok++;
      else
        {
          n_err++;
          g_assert_error (r->error, DOCENT_ERROR, DOCENT_ERROR_CORRUPT);
        }
    }
  g_test_message ("%u read, %u refused", n_ok, n_err);
  g_assert_cmpuint (n_ok, >, 0);
  g_rand_free (rand);
}

static void
test_pdf_not_a_pdf (void)
{
  g_autofree char *path = tmp_path ("really-text.pdf");
  g_autoptr(Result) r = NULL;

  write_file (path, "Just some words, not a PDF at all.\n", -1);
  r = extract (path, NULL);
  assert_error (r, DOCENT_ERROR_CORRUPT, path, "not a PDF");
}

static void
test_pdf_encrypted (void)
{
  g_autofree char *plain = make_basic_pdf ("plain-for-encrypt.pdf", NULL, NULL);
  g_autofree char *enc = tmp_path ("encrypted.pdf");
  g_autoptr(GError) error = NULL;
  g_autofree char *qpdf = g_find_program_in_path ("qpdf");

  if (qpdf == NULL)
    {
      g_test_skip ("qpdf is not installed");
      return;
    }
  docent_test_pdf_encrypt (plain, enc, "user-secret", "owner-secret", &error);
  g_assert_no_error (error);

  {
    g_autoptr(Result) r = extract (enc, NULL);
    assert_error (r, DOCENT_ERROR_ENCRYPTED, enc, "needs a password");
    g_assert_nonnull (strstr (r->error->message, "--password"));
  }
  {
    g_autoptr(Result) r = extract (enc, "");
    assert_error (r, DOCENT_ERROR_ENCRYPTED, enc, "needs a password");
  }
  {
    g_autoptr(Result) r = extract (enc, "not-it");
    assert_error (r, DOCENT_ERROR_ENCRYPTED, enc, "wrong");
    g_assert_nonnull (strstr (r->error->message, "--password"));
  }
  {
    g_autoptr(Result) r = extract (enc, "user-secret");
    g_assert_no_error (r->error);
    g_assert_cmpuint (r->info.page_count, ==, 3);
    g_assert_nonnull (strstr (r->text, "zebracorn"));
    g_assert_nonnull (strstr (r->text, "양자화는"));
  }
  {
    g_autoptr(Result) r = extract (enc, "owner-secret");
    g_assert_no_error (r->error);
    g_assert_nonnull (strstr (r->text, "zebracorn"));
  }
  /* A password that is not ASCII (AES-256 takes UTF-8). */
  {
    g_autofree char *ko = tmp_path ("encrypted-ko.pdf");
    docent_test_pdf_encrypt (plain, ko, "비밀번호", "주인", &error);
    g_assert_no_error (error);
    {
      g_autoptr(Result) r = extract (ko, "비밀번호");
      g_assert_no_error (r->error);
      g_assert_nonnull (strstr (r->text, "양자화는"));
    }
    {
      g_autoptr(Result) r = extract (ko, "비밀");
      assert_error (r, DOCENT_ERROR_ENCRYPTED, ko, "wrong");
    }
  }
}

static void
test_pdf_cancel (void)
{
  g_autoptr(GPtrArray) pages = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *path = tmp_path ("cancel.pdf");
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) para = g_string_new (NULL);

  for (guint i = 0; i < 40; i++)
    g_string_append_printf (para, "Sentence number %u keeps the page busy. ", i);
  for (guint i = 0; i < 30; i++)
    g_ptr_array_add (pages, g_strdup (para->str));
  g_ptr_array_add (pages, NULL);
  docent_test_pdf_write (path, (const char * const *) pages->pdata, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  /* Cancelled before it starts. */
  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();
    Collect c = { 0 };
    g_autoptr(Result) r = NULL;

    g_cancellable_cancel (cancellable);
    r = extract_full (path, NULL, TRUE, cancellable, &c);
    assert_error (r, DOCENT_ERROR_CANCELLED, path, NULL);
    g_assert_cmpuint (r->pages->len, ==, 0);
  }
  /* Cancelled while it runs: stops between pages. */
  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();
    Collect c = { .cancel_after_first = cancellable };
    g_autoptr(Result) r = NULL;

    r = extract_full (path, NULL, TRUE, cancellable, &c);
    assert_error (r, DOCENT_ERROR_CANCELLED, path, NULL);
    g_assert_cmpuint (r->pages->len, <, 30);
  }
  /* The chunk callback says stop. */
  {
    Collect c = { .stop_after = 1 };
    g_autoptr(Result) r = NULL;

    r = extract_full (path, NULL, TRUE, NULL, &c);
    assert_error (r, DOCENT_ERROR_CANCELLED, path, NULL);
    g_assert_cmpuint (r->pages->len, <, 30);
  }
}

/* The citation view highlights a passage with the rectangles Poppler gives
 * per character of poppler_page_get_text(): page offsets must match them. */
static void
check_layout_matches (const char *path)
{
  g_autoptr(Result) r = extract (path, NULL);
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  g_autofree char *uri = g_filename_to_uri (abs, NULL, NULL);
  PopplerDocument *doc = poppler_document_new_from_file (uri, NULL, NULL);

  g_assert_no_error (r->error);
  g_assert_nonnull (doc);
  g_assert_cmpint (poppler_document_get_n_pages (doc), ==, r->pages->len);
  for (guint i = 0; i < r->pages->len; i++)
    {
      DocentPage *p = &g_array_index (r->pages, DocentPage, i);
      PopplerPage *page = poppler_document_get_page (doc, (int) i);
      PopplerRectangle *rects = NULL;
      guint n_rects = 0;

      poppler_page_get_text_layout (page, &rects, &n_rects);
      g_assert_cmpint (p->char_end - p->char_start, ==, n_rects);
      g_free (rects);
      g_object_unref (page);
    }
  g_object_unref (doc);
}

static void
test_pdf_layout (void)
{
  g_autofree char *basic = make_basic_pdf ("layout.pdf", NULL, NULL);
  const char *manual = "/usr/share/R/doc/manual/R-intro.pdf";

  check_layout_matches (basic);
  if (g_file_test (manual, G_FILE_TEST_EXISTS))
    check_layout_matches (manual);
}

/* Workers extract in parallel, each with its own Poppler document. */
typedef struct {
  const char *path;
  char       *text;
  guint       pages;
} ParallelJob;

static gpointer
parallel_worker (gpointer data)
{
  ParallelJob *job = data;
  g_autoptr(Result) r = extract (job->path, NULL);

  g_assert_no_error (r->error);
  job->text = g_strdup (r->text);
  job->pages = r->info.page_count;
  return NULL;
}

static void
test_pdf_parallel (void)
{
  g_autofree char *basic = make_basic_pdf ("parallel.pdf", NULL, NULL);
  const char *manual = "/usr/share/R/doc/manual/R-data.pdf";
  const char *paths[2] = { basic, g_file_test (manual, G_FILE_TEST_EXISTS) ? manual : basic };
  ParallelJob jobs[8] = { 0 };
  GThread *threads[8];
  g_autoptr(Result) want0 = extract (paths[0], NULL);
  g_autoptr(Result) want1 = extract (paths[1], NULL);

  for (guint i = 0; i < G_N_ELEMENTS (jobs); i++)
    {
      jobs[i].path = paths[i % 2];
      threads[i] = g_thread_new ("extract", parallel_worker, &jobs[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (jobs); i++)
    {
      Result *want = i % 2 ? want1 : want0;
      g_thread_join (threads[i]);
      g_assert_cmpuint (jobs[i].pages, ==, want->info.page_count);
      g_assert_cmpstr (jobs[i].text, ==, want->text);
      g_free (jobs[i].text);
    }
}

/* ---- text ------------------------------------------------------------------- */

static const char *ko_text =
  "# 양자화 노트\r\n"
  "\r\n"
  "양자화는 모델의 가중치를 더 적은 비트로 표현한다. 메모리가 줄어요.\r\n"
  "English line with plain ASCII words.\n"
  "마지막 줄입니다.\n";

static char *
write_encoded (const char *name,
               const char *utf8,
               const char *charset,
               const char *bom,
               gsize       bom_len)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *conv = NULL;
  g_autofree char *data = NULL;
  gsize conv_len;
  char *path = tmp_path (name);

  conv = g_convert (utf8, -1, charset, "UTF-8", NULL, &conv_len, &error);
  g_assert_no_error (error);
  data = g_malloc (bom_len + conv_len);
  memcpy (data, bom, bom_len);
  memcpy (data + bom_len, conv, conv_len);
  write_file (path, data, (gssize) (bom_len + conv_len));
  return path;
}

/* @got is @want, except that GAP may stand for blank space. */
static void
assert_same_text (const char *got,
                  const char *want)
{
  const char *g = got, *w = want;

  for (; *g && *w; g = g_utf8_next_char (g), w = g_utf8_next_char (w))
    {
      gunichar gc = g_utf8_get_char (g), wc = g_utf8_get_char (w);
      if (gc == GAP && g_unichar_isspace (wc))
        continue;
      if (gc != wc)
        {
          g_test_message ("texts differ at byte %" G_GSIZE_FORMAT ": got U+%04X, want U+%04X",
                          (gsize) (w - want), gc, wc);
          g_assert_cmpstr (g, ==, w);
        }
    }
  g_assert_cmpint (*g, ==, *w);
}

static void
check_text (const char *path,
            const char *want_text,
            const char *want_encoding)
{
  g_autoptr(Result) r = extract (path, NULL);
  g_autofree char *base = g_path_get_basename (path);

  g_assert_no_error (r->error);
  g_assert_cmpint (r->info.type, ==, DOCENT_DOC_TYPE_TEXT);
  g_assert_cmpstr (r->info.encoding, ==, want_encoding);
  g_assert_cmpstr (r->info.title, ==, base);
  g_assert_null (r->info.author);
  g_assert_cmpuint (r->info.page_count, ==, 0);
  g_assert_false (r->info.no_text_layer);
  g_assert_cmpuint (r->pages->len, ==, 0);
  g_assert_true (r->n_chars == g_utf8_strlen (want_text, -1));
  assert_same_text (r->text, want_text);
}

static void
test_text_encodings (void)
{
  g_autofree char *utf8 = write_encoded ("utf8.txt", ko_text, "UTF-8", "", 0);
  g_autofree char *bom = write_encoded ("utf8-bom.md", ko_text, "UTF-8", "\xef\xbb\xbf", 3);
  g_autofree char *le = write_encoded ("utf16le.txt", ko_text, "UTF-16LE", "\xff\xfe", 2);
  g_autofree char *be = write_encoded ("utf16be.txt", ko_text, "UTF-16BE", "\xfe\xff", 2);
  g_autofree char *euckr = write_encoded ("euckr.txt", ko_text, "EUC-KR", "", 0);
  /* 똠 and 뷁 are in CP949 (Unified Hangul Code) but not in EUC-KR. */
  g_autofree char *cp949_text = g_strconcat (ko_text, "똠방각하 뷁\n", NULL);
  g_autofree char *cp949 = write_encoded ("cp949.txt", cp949_text, "CP949", "", 0);
  g_autofree char *ascii = write_encoded ("ascii.txt", "plain old ASCII\n", "UTF-8", "", 0);

  check_text (utf8, ko_text, "UTF-8");
  check_text (bom, ko_text, "UTF-8 (BOM)");
  check_text (le, ko_text, "UTF-16LE");
  check_text (be, ko_text, "UTF-16BE");
  check_text (euckr, ko_text, "EUC-KR");
  check_text (cp949, cp949_text, "CP949");
  check_text (ascii, "plain old ASCII\n", "UTF-8");

  /* Korean full of CP949 symbols is still Korean. */
  {
    const char *symbols = "━━━━━━━━━━━━━━━━━━━━\n※ ① ② ③ ④ ⑤ ★ ☆ ○ ● ◎ ◇ ◆ □ ■ △ ▲ ▽ ▼ → ←\n"
                          "┏━━━┓ 목차 ┗━━━┛\n";
    g_autofree char *path = write_encoded ("symbols.txt", symbols, "EUC-KR", "", 0);
    check_text (path, symbols, "EUC-KR");
  }
  /* Latin-1 in capitals forms valid CP949 pairs ("ÄR" is a Hangul syllable
   * there); it must not pass for Korean. */
  {
    g_autofree char *path = write_encoded ("latin1-caps.txt", "ÄRGER, ÅBEN ÆBLE ÂGE ÃO.\n",
                                           "ISO-8859-1", "", 0);
    g_autoptr(Result) r = extract (path, NULL);
    assert_error (r, DOCENT_ERROR_ENCODING, path, "UTF-8");
  }
}

/* Multi-byte characters cut by the reader's blocks (256 KiB), in every
 * encoding, and Korean that first shows up only after the first block. */
static void
test_text_block_boundaries (void)
{
  const gsize block = 256 * 1024;
  struct { const char *charset; const char *bom; gsize bom_len; const char *enc; } cases[] = {
    { "UTF-8", "", 0, "UTF-8" },
    { "UTF-8", "\xef\xbb\xbf", 3, "UTF-8 (BOM)" },
    { "UTF-16LE", "\xff\xfe", 2, "UTF-16LE" },
    { "UTF-16BE", "\xfe\xff", 2, "UTF-16BE" },
    { "CP949", "", 0, "CP949" },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    for (gsize shift = 0; shift < 4; shift++)
      {
        g_autoptr(GString) s = g_string_new (NULL);
        g_autofree char *name = g_strdup_printf ("boundary-%u-%" G_GSIZE_FORMAT ".txt", c, shift);
        g_autofree char *path = NULL;

        /* ASCII up to just before the block end (in bytes of the target
         * encoding), then Korean across it and across the next one. */
        if (g_str_has_prefix (cases[c].charset, "UTF-16"))
          {
            gsize units = (block - cases[c].bom_len) / 2 - 1 - shift % 2;
            for (gsize i = 0; i < units; i++)
              g_string_append_c (s, i % 61 == 60 ? '\n' : 'a' + i % 26);
            /* 𝄞 is a surrogate pair in UTF-16. */
            for (guint i = 0; i < 40000; i++)
              g_string_append (s, i % 3 ? "한글 " : "𝄞");
          }
        else
          {
            gsize n = block - cases[c].bom_len - 1 - shift;
            for (gsize i = 0; i < n; i++)
              g_string_append_c (s, i % 61 == 60 ? '\n' : 'a' + i % 26);
            for (guint i = 0; i < 100000; i++)
              g_string_append (s, i % 7 ? "한" : (c == 4 ? "뷁 " : "\r\n"));
          }
        path = write_encoded (name, s->str, cases[c].charset, cases[c].bom, cases[c].bom_len);
        check_text (path, s->str, cases[c].enc);
      }
}

/* Random damage to text in every encoding: never a crash, never invalid
 * UTF-8 to the chunker, only the errors a person can act on. */
static void
test_text_mutations (void)
{
  const char *charsets[] = { "UTF-8", "UTF-16LE", "UTF-16BE", "CP949" };
  const char *boms[] = { "", "\xff\xfe", "\xfe\xff", "" };
  g_autofree char *path = tmp_path ("mutated.txt");
  GRand *rand = g_rand_new_with_seed (7);
  guint n_ok = 0, n_err = 0;

  for (guint iter = 0; iter < 400; iter++)
    {
      guint c = iter % G_N_ELEMENTS (charsets);
      g_autofree char *conv = NULL;
      gsize conv_len;
      g_autoptr(GByteArray) bytes = g_byte_array_new ();
      g_autoptr(Result) r = NULL;
      guint n_mut = g_rand_int_range (rand, 0, 4);

      conv = g_convert (ko_text, -1, charsets[c], "UTF-8", NULL, &conv_len, NULL);
      g_assert_nonnull (conv);
      g_byte_array_append (bytes, (const guint8 *) boms[c], (guint) strlen (boms[c]));
      g_byte_array_append (bytes, (const guint8 *) conv, (guint) conv_len);
      for (guint m = 0; m < n_mut; m++)
        {
          guint at = g_rand_int_range (rand, 0, (gint32) bytes->len);
          switch (g_rand_int_range (rand, 0, 3))
            {
            case 0:
              bytes->data[at] = (guint8) g_rand_int_range (rand, 0, 256);
              break;
            case 1:
              g_byte_array_set_size (bytes, at + 1);
              break;
            default:
              g_byte_array_remove_index (bytes, at);
              break;
            }
        }
      write_file (path, (const char *) bytes->data, bytes->len);
      r = extract (path, NULL);
      if (r->ok)
        {
          n_ok++;
          g_assert_nonnull (r->info.encoding);
        }
      else
        {
          n_err++;
          g_assert_true (g_error_matches (r->error, DOCENT_ERROR, DOCENT_ERROR_BINARY) ||
                         g_error_matches (r->error, DOCENT_ERROR, DOCENT_ERROR_ENCODING) ||
                         g_error_matches (r->error, DOCENT_ERROR, DOCENT_ERROR_EMPTY));
        }
    }
  g_test_message ("%u decoded, %u refused", n_ok, n_err);
  g_assert_cmpuint (n_ok, >, 0);
  g_assert_cmpuint (n_err, >, 0);
  g_rand_free (rand);
}

static void
test_text_empty (void)
{
  g_autofree char *empty = tmp_path ("empty.txt");
  g_autofree char *bom = tmp_path ("bom-only.txt");
  g_autofree char *blank = tmp_path ("blank.md");
  g_autofree char *empty_pdf = tmp_path ("empty.pdf");

  write_file (empty, "", 0);
  write_file (bom, "\xef\xbb\xbf", 3);
  write_file (blank, "  \n\n\t \r\n", -1);
  write_file (empty_pdf, "", 0);
  {
    g_autoptr(Result) r = extract (empty, NULL);
    assert_error (r, DOCENT_ERROR_EMPTY, empty, "empty");
  }
  {
    g_autoptr(Result) r = extract (bom, NULL);
    assert_error (r, DOCENT_ERROR_EMPTY, bom, "byte order mark");
  }
  {
    g_autoptr(Result) r = extract (blank, NULL);
    assert_error (r, DOCENT_ERROR_EMPTY, blank, "blank");
  }
  {
    g_autoptr(Result) r = extract (empty_pdf, NULL);
    assert_error (r, DOCENT_ERROR_EMPTY, empty_pdf, "empty");
  }
}

static void
test_text_binary (void)
{
  g_autofree char *nul = tmp_path ("binary.txt");
  g_autofree char *ctrl = tmp_path ("controls.txt");
  g_autofree char *late = tmp_path ("late-binary.txt");
  g_autofree char *pdf_as_txt = tmp_path ("pdf-named.txt");
  g_autofree char *gen = NULL;
  guint8 data[4096];
  GRand *rand = g_rand_new_with_seed (42);

  for (gsize i = 0; i < sizeof data; i++)
    data[i] = (guint8) g_rand_int_range (rand, 0, 256);
  write_file (nul, (const char *) data, sizeof data);

  /* No NUL bytes, but control characters everywhere. */
  for (gsize i = 0; i < sizeof data; i++)
    data[i] = (guint8) g_rand_int_range (rand, 1, 128);
  write_file (ctrl, (const char *) data, sizeof data);
  g_rand_free (rand);

  /* Text for a while, then binary. */
  {
    g_autoptr(GString) s = g_string_new (NULL);
    while (s->len < 600 * 1024)
      g_string_append (s, "A line of honest text.\n");
    g_string_append_len (s, "\0\0\0\x01\x02", 5);
    write_file (late, s->str, (gssize) s->len);
  }

  gen = make_basic_pdf ("for-binary.pdf", NULL, NULL);
  {
    g_autofree char *bytes = NULL;
    gsize len;
    g_file_get_contents (gen, &bytes, &len, NULL);
    write_file (pdf_as_txt, bytes, (gssize) len);
  }

  {
    g_autoptr(Result) r = extract (nul, NULL);
    assert_error (r, DOCENT_ERROR_BINARY, nul, "binary");
  }
  {
    g_autoptr(Result) r = extract (ctrl, NULL);
    assert_error (r, DOCENT_ERROR_BINARY, ctrl, "binary");
  }
  {
    g_autoptr(Result) r = extract (late, NULL);
    assert_error (r, DOCENT_ERROR_BINARY, late, "binary");
  }
  {
    g_autoptr(Result) r = extract (pdf_as_txt, NULL);
    assert_error (r, DOCENT_ERROR_BINARY, pdf_as_txt, "binary");
  }
}

static void
test_text_invalid (void)
{
  g_autofree char *latin1 = tmp_path ("latin1.txt");
  g_autofree char *junk = tmp_path ("bad-utf8.md");
  g_autofree char *late = tmp_path ("late-bad.txt");

  write_file (latin1, "Caf\xe9 cr\xe8me br\xfbl\xe9" "e, na\xefve r\xe9sum\xe9.\n", -1);
  write_file (junk, "valid start \xc3\x28 then \x80\x80\x80 junk \xf8\x88\x80\x80\x80 end\n", -1);
  {
    g_autoptr(GString) s = g_string_new (NULL);
    while (s->len < 300 * 1024)
      g_string_append (s, "좋은 UTF-8 텍스트입니다.\n");
    g_string_append (s, "then \xff\xfe\xfd broken\n");
    write_file (late, s->str, (gssize) s->len);
  }
  {
    g_autoptr(Result) r = extract (latin1, NULL);
    assert_error (r, DOCENT_ERROR_ENCODING, latin1, "UTF-8");
  }
  {
    g_autoptr(Result) r = extract (junk, NULL);
    assert_error (r, DOCENT_ERROR_ENCODING, junk, "UTF-8");
  }
  {
    g_autoptr(Result) r = extract (late, NULL);
    assert_error (r, DOCENT_ERROR_ENCODING, late, "offset");
  }
}

static gsize
peak_rss_kb (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  line = strstr (status, "VmHWM:");
  return line ? (gsize) g_ascii_strtoull (line + 6, NULL, 10) : 0;
}

static gboolean
reset_peak_rss (void)
{
  return g_file_set_contents ("/proc/self/clear_refs", "5", 1, NULL);
}

static void
test_text_large (void)
{
  const gsize target = 50 * 1024 * 1024;
  g_autofree char *path = tmp_path ("large.txt");
  static const char line[] = "대용량 텍스트 파일의 한 줄입니다. A large file streams in bounded memory.\n";
  gsize n_lines = target / strlen (line) + 1;
  gint64 want_chars = (gint64) n_lines * g_utf8_strlen (line, -1);
  gsize before, after;
  gboolean can_measure;

  {
    FILE *f = fopen (path, "w");
    g_assert_nonnull (f);
    for (gsize i = 0; i < n_lines; i++)
      fputs (line, f);
    g_assert_cmpint (fclose (f), ==, 0);
  }

  can_measure = reset_peak_rss ();
  before = peak_rss_kb ();
  {
    Collect c = { 0 };
    g_autoptr(Result) r = extract_full (path, NULL, FALSE, NULL, &c);

    after = peak_rss_kb ();
    g_assert_no_error (r->error);
    g_assert_cmpstr (r->info.encoding, ==, "UTF-8");
    g_assert_cmpint (r->n_chars, ==, want_chars);
    g_assert_cmpint (c.covered, >=, want_chars - 1);
    /* Chunks came out as the file was read: tens of thousands of them. */
    g_assert_cmpuint (r->n_chunks, >, want_chars / DOCENT_CHUNK_SIZE_DEFAULT);
  }
  g_test_message ("peak RSS before %" G_GSIZE_FORMAT " kB, after %" G_GSIZE_FORMAT " kB", before, after);
  if (can_measure)
    g_assert_cmpuint (after - before, <, 24 * 1024);  /* the file is 50 MB */
  g_unlink (path);
}

static void
test_path_errors (void)
{
  g_autofree char *missing = tmp_path ("does-not-exist.txt");
  g_autofree char *dir = tmp_path ("a-folder.txt");
  g_autofree char *loop = tmp_path ("loop.txt");
  g_autofree char *dangling = tmp_path ("dangling.pdf");
  g_autofree char *docx = tmp_path ("letter.docx");

  g_mkdir (dir, 0755);
  g_assert_cmpint (symlink ("loop.txt", loop), ==, 0);
  g_assert_cmpint (symlink ("nowhere.pdf", dangling), ==, 0);
  write_file (docx, "PK\3\4", 4);
  {
    g_autoptr(Result) r = extract (missing, NULL);
    assert_error (r, DOCENT_ERROR_NOT_FOUND, missing, "does not exist");
  }
  {
    g_autoptr(Result) r = extract (dir, NULL);
    assert_error (r, DOCENT_ERROR_UNSUPPORTED, dir, "folder");
  }
  {
    g_autoptr(Result) r = extract (loop, NULL);
    assert_error (r, DOCENT_ERROR_NOT_FOUND, loop, "loop");
  }
  {
    g_autoptr(Result) r = extract (dangling, NULL);
    assert_error (r, DOCENT_ERROR_NOT_FOUND, dangling, "does not exist");
  }
  {
    g_autoptr(Result) r = extract (docx, NULL);
    assert_error (r, DOCENT_ERROR_UNSUPPORTED, docx, "Convert");
  }
}

/* ---- permissions and mounts, as root too (docent-test-util) ---------------- */

static void
test_unreadable (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *locked = NULL;
  g_autoptr(GError) error = NULL;

  if (g_test_subprocess ())
    {
      const char *tree = g_getenv ("DOCENT_TEST_TREE");
      g_autofree char *ok = g_build_filename (tree, "ok.txt", NULL);
      g_autofree char *secret = g_build_filename (tree, "secret.txt", NULL);
      g_autofree char *inside = g_build_filename (tree, "locked", "inside.txt", NULL);

      docent_test_drop_privileges (&error);
      g_assert_no_error (error);
      g_assert_cmpint (geteuid (), !=, 0);
      {
        g_autoptr(Result) r = extract (ok, NULL);
        g_assert_no_error (r->error);
        g_assert_nonnull (strstr (r->text, "kumquat"));
      }
      {
        g_autoptr(Result) r = extract (secret, NULL);
        assert_error (r, DOCENT_ERROR_UNREADABLE, secret, "permission denied");
      }
      {
        g_autoptr(Result) r = extract (inside, NULL);
        assert_error (r, DOCENT_ERROR_UNREADABLE, inside, "permission denied");
      }
      return;
    }

  dir = docent_test_make_shared_tmpdir ("docent-test-unreadable");
  docent_test_make_unreadable_tree (dir, &error);
  g_assert_no_error (error);
  g_setenv ("DOCENT_TEST_TREE", dir, TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();

  locked = g_build_filename (dir, "locked", NULL);
  g_chmod (locked, 0755);
  docent_test_rm_rf (dir);
}

static void
test_read_only_mount (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *file = NULL;
  g_autoptr(GError) error = NULL;

  if (g_test_subprocess ())
    {
      const char *ro = g_getenv ("DOCENT_TEST_RO");
      g_autofree char *existing = g_build_filename (ro, "library.db", NULL);
      g_autofree char *fresh = g_build_filename (ro, "new.txt", NULL);
      g_autofree char *contents = NULL;
      int fd;

      docent_test_make_read_only (ro, &error);
      g_assert_no_error (error);
      g_assert_true (g_file_get_contents (existing, &contents, NULL, NULL));
      g_assert_cmpstr (contents, ==, "not really a database");
      fd = g_open (existing, O_WRONLY, 0);
      g_assert_cmpint (fd, ==, -1);
      g_assert_cmpint (errno, ==, EROFS);
      g_assert_false (g_file_set_contents (fresh, "x", 1, &error));
      g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_ROFS);
      return;
    }

  if (!docent_test_can_mount ())
    {
      g_test_skip ("mounting needs root with CAP_SYS_ADMIN");
      return;
    }
  dir = docent_test_make_shared_tmpdir ("docent-test-ro");
  file = g_build_filename (dir, "library.db", NULL);
  write_file (file, "not really a database", -1);
  g_setenv ("DOCENT_TEST_RO", dir, TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  /* The mount died with the subprocess: writable again here. */
  write_file (file, "still writable outside", -1);
  docent_test_rm_rf (dir);
}

static void
test_full_disk (void)
{
  g_autofree char *dir = NULL;

  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      const char *full = g_getenv ("DOCENT_TEST_FULL");
      g_autofree char *big = g_build_filename (full, "big.bin", NULL);
      g_autofree char *data = g_malloc0 (1024 * 1024);

      docent_test_mount_small_tmpfs (full, 64 * 1024, &error);
      g_assert_no_error (error);
      g_assert_false (g_file_set_contents (big, data, 1024 * 1024, &error));
      g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOSPC);
      return;
    }

  if (!docent_test_can_mount ())
    {
      g_test_skip ("mounting needs root with CAP_SYS_ADMIN");
      return;
    }
  dir = docent_test_make_shared_tmpdir ("docent-test-full");
  g_setenv ("DOCENT_TEST_FULL", dir, TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  docent_test_rm_rf (dir);
}

static void
test_file_size_limit (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *data = g_malloc0 (64 * 1024);
      g_autofree char *path = g_build_filename (g_getenv ("DOCENT_TEST_LIMIT"), "big.bin", NULL);
      FILE *f;

      docent_test_limit_file_size (4096, &error);
      g_assert_no_error (error);
      f = fopen (path, "w");
      g_assert_nonnull (f);
      g_assert_cmpuint (fwrite (data, 1, 64 * 1024, f), <, 64 * 1024);
      g_assert_cmpint (errno, ==, EFBIG);
      fclose (f);
      return;
    }
  {
    g_autofree char *dir = docent_test_make_shared_tmpdir ("docent-test-limit");
    g_setenv ("DOCENT_TEST_LIMIT", dir, TRUE);
    g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed ();
    docent_test_rm_rf (dir);
  }
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  /* A subprocess (g_test_trap_subprocess) gets its paths from the
   * environment and must not make or remove a directory of its own. */
  if (!g_test_subprocess ())
    tmpdir = docent_test_make_tmpdir ("docent-test-extract");

  /* First, so that the peak memory it measures is its own. */
  g_test_add_func ("/extract/large-text", test_text_large);
  g_test_add_func ("/extract/types", test_types);
  g_test_add_func ("/extract/pdf/basic", test_pdf_basic);
  g_test_add_func ("/extract/pdf/title-fallback", test_pdf_title_fallback);
  g_test_add_func ("/extract/pdf/many-pages", test_pdf_many_pages);
  g_test_add_func ("/extract/pdf/labels", test_pdf_labels);
  g_test_add_func ("/extract/pdf/r-manual", test_pdf_r_manual);
  g_test_add_func ("/extract/pdf/no-text-layer", test_pdf_no_text_layer);
  g_test_add_func ("/extract/pdf/corrupt", test_pdf_corrupt);
  g_test_add_func ("/extract/pdf/truncated", test_pdf_truncated);
  g_test_add_func ("/extract/pdf/not-a-pdf", test_pdf_not_a_pdf);
  g_test_add_func ("/extract/pdf/mutations", test_pdf_mutations);
  g_test_add_func ("/extract/pdf/encrypted", test_pdf_encrypted);
  g_test_add_func ("/extract/pdf/cancel", test_pdf_cancel);
  g_test_add_func ("/extract/pdf/parallel", test_pdf_parallel);
  g_test_add_func ("/extract/pdf/layout", test_pdf_layout);
  g_test_add_func ("/extract/text/encodings", test_text_encodings);
  g_test_add_func ("/extract/text/block-boundaries", test_text_block_boundaries);
  g_test_add_func ("/extract/text/empty", test_text_empty);
  g_test_add_func ("/extract/text/mutations", test_text_mutations);
  g_test_add_func ("/extract/text/binary", test_text_binary);
  g_test_add_func ("/extract/text/invalid", test_text_invalid);
  g_test_add_func ("/extract/path-errors", test_path_errors);
  g_test_add_func ("/extract/unreadable", test_unreadable);
  g_test_add_func ("/extract/test-util/read-only-mount", test_read_only_mount);
  g_test_add_func ("/extract/test-util/full-disk", test_full_disk);
  g_test_add_func ("/extract/test-util/file-size-limit", test_file_size_limit);

  ret = g_test_run ();
  docent_test_rm_rf (tmpdir);
  g_free (tmpdir);
  return ret;
}
