/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "docent-answer.h"
#include "docent-collection.h"
#include "docent-error.h"
#include "docent-eval.h"
#include "docent-importer.h"
#include "docent-retriever.h"
#include "docent-store.h"
#include "docent-test-pdf.h"
#include "docent-test-util.h"
#include "docent-vector-store.h"

/* Retrieval over a real (small) library: vectors stored per passage and
 * embedder, the matrix following imports and removals, filters in every
 * mode, and reciprocal rank fusion computed as documented. */

static char *tmpdir;

static const char *topics[][2] = {
  { "matrix.txt",
    "Linear algebra in R. The function solve(A, b) solves the linear system A x = b.\n"
    "Inverting a matrix first and multiplying is slower and less accurate.\n\n"
    "The determinant of a matrix is computed by det, and crossprod forms t(X) %*% X.\n"
    "Eigenvalues and eigenvectors come from eigen; the singular value decomposition from svd.\n" },
  { "packages.txt",
    "Installing packages. install.packages downloads a package from a repository and\n"
    "installs it into the first library on the library path.\n\n"
    "A private library is a folder named by R_LIBS_USER; library() loads an installed package.\n"
    "Packages can be updated with update.packages and removed with remove.packages.\n" },
  { "quant.txt",
    "모델 양자화는 가중치를 적은 비트로 저장하여 메모리를 줄인다.\n"
    "Q4_K 형식은 블록마다 스케일을 둔다.\n\n"
    "연속 배치는 여러 요청을 한 번에 처리하여 처리량을 높인다.\n"
    "키-값 캐시는 이전 토큰의 계산을 다시 하지 않게 한다.\n" },
  { "frames.txt",
    "Data frames hold variables of a data set as columns of equal length.\n"
    "read.csv reads a comma separated file into a data frame.\n\n"
    "Missing values are written NA; is.na tests for them, and na.omit drops rows that have them.\n"
    "Factors represent categorical variables with a fixed set of levels.\n" },
};

static char *
write_topic (guint i)
{
  char *path = g_build_filename (tmpdir, topics[i][0], NULL);
  g_assert_true (g_file_set_contents (path, topics[i][1], -1, NULL));
  return path;
}

static void
import_files (const char *library,
              const char *const *paths)
{
  g_autoptr(DocentImporter) importer = docent_importer_new (library);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  /* small passages so each file gives several */
  docent_importer_set_chunking (importer, 120, 20);
  /* vectors by docent_retriever_update_builtin, which these tests check */
  docent_importer_set_embed (importer, FALSE);
  results = docent_importer_import_sync (importer, paths, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < results->len; i++)
    g_assert_cmpint (((DocentImportFileResult *) results->pdata[i])->outcome, ==, DOCENT_IMPORT_IMPORTED);
}

static DocentStore *
make_library (const char *name,
              guint       n_topics)
{
  g_autofree char *library = g_build_filename (tmpdir, name, NULL);
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  DocentStore *store;
  guint n = 0;

  for (guint i = 0; i < n_topics; i++)
    g_ptr_array_add (paths, write_topic (i));
  g_ptr_array_add (paths, NULL);
  import_files (library, (const char * const *) paths->pdata);

  store = docent_store_open (library, &error);
  g_assert_no_error (error);
  g_assert_true (docent_retriever_update_builtin (store, 2, NULL, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, docent_test_query_int (store, "SELECT count(*) FROM chunks"));
  return store;
}

static void
test_vectors_stored (void)
{
  g_autoptr(DocentStore) store = make_library ("stored.db", 4);
  g_autoptr(DocentRetriever) retriever = NULL;
  g_autoptr(GError) error = NULL;
  guint n = 99;

  /* one vector per passage, of the active embedder only */
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM chunk_vectors"), ==,
                   docent_test_query_int (store, "SELECT count(*) FROM chunks"));
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(DISTINCT embedder) FROM chunk_vectors"), ==, 1);
  /* nothing left to do: idempotent */
  g_assert_true (docent_retriever_update_builtin (store, 1, NULL, &n, &error));
  g_assert_cmpuint (n, ==, 0);

  /* a wrong-sized vector cannot get in */
  {
    char *err = NULL;
    int rc = sqlite3_exec (docent_store_get_db (store),
                           "INSERT INTO chunk_vectors (embedder, chunk_id, vec)"
                           " SELECT embedder, chunk_id, x'00000000' FROM chunk_vectors LIMIT 1"
                           " ON CONFLICT DO NOTHING", NULL, NULL, &err);
    g_assert_cmpint (rc, !=, SQLITE_OK);
    g_assert_nonnull (strstr (err, "dimension"));
    sqlite3_free (err);
  }

  retriever = docent_retriever_new (store, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (docent_retriever_get_n_vectors (retriever), ==,
                    docent_test_query_int (store, "SELECT count(*) FROM chunks"));
  /* The built-in embedder does not join the ranking by default (measured). */
  g_assert_cmpint (docent_retriever_get_default_mode (retriever), ==, DOCENT_SEARCH_MODE_BM25);
}

static const char *
top_doc (DocentRetriever *retriever, const char *query, DocentSearchMode mode)
{
  static char name[64];
  DocentSearchOptions options = { 5, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = docent_retriever_search (retriever, query, mode, &options, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (results->len, >, 0);
  g_strlcpy (name, ((DocentSearchResult *) results->pdata[0])->doc, sizeof name);
  return name;
}

static void
test_modes (void)
{
  g_autoptr(DocentStore) store = make_library ("modes.db", 4);
  g_autoptr(DocentRetriever) retriever = docent_retriever_new (store, NULL, NULL);

  for (int m = DOCENT_SEARCH_MODE_BM25; m <= DOCENT_SEARCH_MODE_HYBRID; m++)
    {
      g_assert_cmpstr (top_doc (retriever, "solve a linear system", m), ==, "matrix.txt");
      g_assert_cmpstr (top_doc (retriever, "install a package into a private library", m), ==, "packages.txt");
      g_assert_cmpstr (top_doc (retriever, "양자화", m), ==, "quant.txt");
    }
  /* dense finds a passage by word pieces BM25 cannot match */
  g_assert_cmpstr (top_doc (retriever, "installation", DOCENT_SEARCH_MODE_DENSE), ==, "packages.txt");

  /* results carry the passage, where it is, and highlights of the query */
  {
    DocentSearchOptions options = { 3, NULL };
    g_autoptr(GPtrArray) results = docent_retriever_search (retriever, "determinant of a matrix",
                                                            DOCENT_SEARCH_MODE_HYBRID, &options, NULL);
    DocentSearchResult *r = results->pdata[0];
    g_assert_cmpuint (results->len, <=, 3);
    g_assert_cmpuint (r->rank, ==, 1);
    g_assert_cmpuint (r->line, >=, 1);
    g_assert_cmpint (r->char_end, >, r->char_start);
    g_assert_nonnull (strstr (r->text, "determinant"));
    g_assert_cmpuint (r->highlights->len, >=, 2);
  }

  {
    DocentSearchMode mode;
    g_assert_true (docent_search_mode_from_string ("dense", &mode));
    g_assert_cmpint (mode, ==, DOCENT_SEARCH_MODE_DENSE);
    g_assert_false (docent_search_mode_from_string ("fuzzy", &mode));
  }
}

static void
test_filters (void)
{
  g_autoptr(DocentStore) store = make_library ("filters.db", 4);
  g_autoptr(DocentRetriever) retriever = docent_retriever_new (store, NULL, NULL);
  const char *queries[] = { "solve a linear system", "data frame", "양자화", "package", "matrix NA" };
  gint64 keep;

  g_assert_true (docent_store_resolve_document (store, "frames.txt", &keep, NULL));
  for (int m = DOCENT_SEARCH_MODE_BM25; m <= DOCENT_SEARCH_MODE_HYBRID; m++)
    for (guint q = 0; q < G_N_ELEMENTS (queries); q++)
      {
        g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
        DocentSearchOptions options = { 50, ids };
        g_autoptr(GPtrArray) results = NULL;
        g_autoptr(GError) error = NULL;

        g_array_append_val (ids, keep);
        results = docent_retriever_search (retriever, queries[q], m, &options, &error);
        g_assert_no_error (error);
        /* a filtered-out document never appears, whatever the mode */
        for (guint i = 0; i < results->len; i++)
          g_assert_cmpint (((DocentSearchResult *) results->pdata[i])->doc_id, ==, keep);
        /* and the filter applies before ranking: dense always fills k from
         * the allowed document */
        if (m == DOCENT_SEARCH_MODE_DENSE)
          g_assert_cmpint (results->len, ==, docent_test_query_int (store, "SELECT count(*) FROM chunks c JOIN documents d"
                                                               " ON d.id = c.doc_id WHERE d.name = 'frames.txt'"));
      }
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* The documents (by name) of a filtered search in @mode, as "a,b,…" */
static char *
docs_of (DocentRetriever *retriever, const char *query, DocentSearchMode mode,
         const DocentSearchFilter *filter, GArray *doc_ids)
{
  DocentSearchOptions options = { 50, doc_ids };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = docent_retriever_search_filtered (retriever, query, mode, &options,
                                                                   filter, &error);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  g_assert_no_error (error);
  for (guint i = 0; i < results->len; i++)
    {
      const char *name = ((DocentSearchResult *) results->pdata[i])->doc;
      gboolean seen = FALSE;
      for (guint j = 0; j < names->len; j++)
        seen |= g_str_equal (names->pdata[j], name);
      if (!seen)
        g_ptr_array_add (names, g_strdup (name));
    }
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (",", (char **) names->pdata);
}

static void
test_more_filters (void)
{
  g_autofree char *library = g_build_filename (tmpdir, "more-filters.db", NULL);
  g_autofree char *pdf = g_build_filename (tmpdir, "atlas.pdf", NULL);
  g_autofree char *t0 = write_topic (0);
  g_autofree char *t1 = write_topic (1);
  const char *pages[] = {
    "Volcanoes of the world. A matrix of lava flows.",
    "Glaciers carve valleys. The matrix of ice and rock.",
    "Deserts receive little rain. A matrix of sand dunes.",
    NULL };
  const char *paths[] = { pdf, t0, t1, NULL };
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(DocentRetriever) retriever = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) colls = g_ptr_array_new ();
  g_autoptr(GPtrArray) list = NULL;
  DocentSearchFilter filter;
  gint64 atlas, matrix, packages, ids[2];

  g_assert_true (docent_test_pdf_write (pdf, pages, NULL, "Atlas", NULL, &error));
  import_files (library, paths);
  store = docent_store_open (library, &error);
  g_assert_no_error (error);
  g_assert_true (docent_retriever_update_builtin (store, 1, NULL, NULL, &error));
  retriever = docent_retriever_new (store, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (docent_store_resolve_document (store, "atlas.pdf", &atlas, NULL));
  g_assert_true (docent_store_resolve_document (store, "matrix.txt", &matrix, NULL));
  g_assert_true (docent_store_resolve_document (store, "packages.txt", &packages, NULL));

  /* collections: add, list, remove (the last document takes it away) */
  ids[0] = atlas; ids[1] = matrix;
  g_assert_true (docent_collection_add (store, "maps", ids, 2, &error));
  g_assert_true (docent_collection_add (store, "maps", ids, 1, &error));   /* again: no duplicate */
  g_assert_true (docent_collection_add (store, "code", &packages, 1, &error));
  g_assert_no_error (error);
  list = docent_collection_list (store, &error);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpstr (((DocentCollection *) list->pdata[0])->name, ==, "code");
  g_assert_cmpuint (((DocentCollection *) list->pdata[1])->doc_ids->len, ==, 2);
  g_assert_false (docent_collection_remove (store, "nope", ids, 1, &error));
  g_assert_error (error, DOCENT_ERROR, DOCENT_ERROR_NOT_FOUND);
  g_clear_error (&error);

  for (int m = DOCENT_SEARCH_MODE_BM25; m <= DOCENT_SEARCH_MODE_HYBRID; m++)
    {
      g_autofree char *all = NULL, *maps = NULL, *pdfs = NULL, *texts = NULL, *p2 = NULL;
      g_autofree char *future = NULL, *past = NULL, *maps_code = NULL, *maps_text = NULL;
      gint64 now = g_get_real_time () / G_USEC_PER_SEC;

      all = docs_of (retriever, "matrix", m, NULL, NULL);
      /* (dense ranks every passage; hybrid adds close dense-only ones) */
      g_assert_true (g_str_has_prefix (all, "atlas.pdf,matrix.txt"));
      if (m == DOCENT_SEARCH_MODE_DENSE)
        g_assert_cmpstr (all, ==, "atlas.pdf,matrix.txt,packages.txt");

      docent_search_filter_init (&filter);
      g_ptr_array_set_size (colls, 0);
      g_ptr_array_add (colls, (gpointer) "maps");
      filter.collections = colls;
      maps = docs_of (retriever, "matrix", m, &filter, NULL);
      g_assert_cmpstr (maps, ==, "atlas.pdf,matrix.txt");
      g_ptr_array_add (colls, (gpointer) "code");        /* either collection */
      maps_code = docs_of (retriever, "matrix package", m, &filter, NULL);
      g_assert_true (g_str_has_suffix (maps_code, "packages.txt"));
      filter.type = DOCENT_DOC_TYPE_TEXT;                /* and a type */
      maps_text = docs_of (retriever, "matrix", m, &filter, NULL);
      g_assert_false (strstr (maps_text, "atlas.pdf"));

      docent_search_filter_init (&filter);
      filter.type = DOCENT_DOC_TYPE_PDF;
      pdfs = docs_of (retriever, "matrix", m, &filter, NULL);
      g_assert_cmpstr (pdfs, ==, "atlas.pdf");
      filter.type = DOCENT_DOC_TYPE_TEXT;
      texts = docs_of (retriever, "matrix", m, &filter, NULL);
      g_assert_false (strstr (texts, "atlas.pdf"));

      docent_search_filter_init (&filter);
      filter.added_after = now + 86400;
      future = docs_of (retriever, "matrix", m, &filter, NULL);
      g_assert_cmpstr (future, ==, "");
      docent_search_filter_init (&filter);
      filter.added_before = now + 86400;
      past = docs_of (retriever, "matrix", m, &filter, NULL);
      g_assert_cmpstr (past, ==, all);

      /* pages 2-2 of the atlas: only passages overlapping page 2 */
      {
        g_autoptr(GArray) doc = g_array_new (FALSE, FALSE, sizeof (gint64));
        DocentSearchOptions options = { 50, doc };
        g_autoptr(GPtrArray) results = NULL;
        g_array_append_val (doc, atlas);
        docent_search_filter_init (&filter);
        filter.page_first = filter.page_last = 2;
        results = docent_retriever_search_filtered (retriever, "glaciers volcanoes deserts", m,
                                                    &options, &filter, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (results->len, >, 0);
        for (guint i = 0; i < results->len; i++)
          {
            DocentSearchResult *r = results->pdata[i];
            g_assert_cmpint (r->doc_id, ==, atlas);
            g_assert_cmpuint (r->page, <=, 2);
            g_assert_cmpuint (r->page_end, >=, 2);
          }
        p2 = docs_of (retriever, "matrix", m, &filter, NULL);   /* text files have no pages */
        g_assert_cmpstr (p2, ==, "atlas.pdf");
      }
    }

  ids[0] = atlas; ids[1] = matrix;
  g_assert_true (docent_collection_remove (store, "maps", ids, 2, &error));
  g_clear_pointer (&list, g_ptr_array_unref);
  list = docent_collection_list (store, &error);
  g_assert_cmpuint (list->len, ==, 1);
  /* removing a document takes it out of its collections */
  g_assert_true (docent_store_remove_document (store, packages, &error));
  g_clear_pointer (&list, g_ptr_array_unref);
  list = docent_collection_list (store, &error);
  g_assert_cmpuint (((DocentCollection *) list->pdata[0])->doc_ids->len, ==, 0);
}

static void
test_extractive (void)
{
  g_autofree char *library = g_build_filename (tmpdir, "answers.db", NULL);
  g_autofree char *pdf = g_build_filename (tmpdir, "earth.pdf", NULL);
  g_autofree char *t0 = write_topic (0);
  const char *pages[] = {
    "Volcanoes form where magma reaches the surface. Most of them lie along plate boundaries.",
    "Glaciers carve deep valleys as they move. A glacier advances when more snow falls than melts.",
    "Deserts receive less than 250 millimetres of rain a year. Dunes move with the wind.",
    NULL };
  const char *labels[] = { "i", "ii", "1", NULL };
  const char *paths[] = { pdf, t0, NULL };
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(DocentRetriever) retriever = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (docent_test_pdf_write (pdf, pages, labels, "Earth", NULL, &error));
  import_files (library, paths);
  store = docent_store_open (library, &error);
  g_assert_true (docent_retriever_update_builtin (store, 1, NULL, NULL, &error));
  retriever = docent_retriever_new (store, NULL, &error);
  g_assert_no_error (error);

  for (int m = DOCENT_SEARCH_MODE_BM25; m <= DOCENT_SEARCH_MODE_HYBRID; m++)
    {
      g_autoptr(DocentAnswer) a = docent_answer_extractive (retriever, "How do glaciers carve valleys?", m,
                                                            NULL, NULL, &error);
      DocentCitation *c;
      g_assert_no_error (error);
      g_assert_cmpint (a->mode, ==, DOCENT_ANSWER_EXTRACTIVE);
      g_assert_cmpuint (a->citations->len, >=, 1);
      c = a->citations->pdata[0];
      g_assert_cmpuint (c->n, ==, 1);
      g_assert_cmpstr (c->doc, ==, "earth.pdf");
      g_assert_cmpuint (c->page, ==, 2);
      g_assert_cmpuint (c->page_end, ==, 2);
      g_assert_cmpstr (c->page_label, ==, "ii");
      g_assert_true (g_str_has_prefix (c->text, "Glaciers carve deep valleys"));
      g_assert_cmpint (c->char_end - c->char_start, ==, g_utf8_strlen (c->text, -1));
      g_assert_nonnull (strstr (a->answer, "Glaciers carve deep valleys as they move. [1]"));
    }

  /* the sentence's exact place in the document */
  {
    g_autoptr(DocentAnswer) a = docent_answer_extractive (retriever, "How much rain do deserts receive?",
                                                          DOCENT_SEARCH_MODE_HYBRID, NULL, NULL, &error);
    g_autoptr(GPtrArray) pg = docent_store_dup_pages (store, ((DocentCitation *) a->citations->pdata[0])->doc_id, NULL);
    DocentCitation *c = a->citations->pdata[0];
    DocentPage *p3 = pg->pdata[2];
    g_assert_cmpuint (c->page, ==, 3);
    g_assert_cmpstr (c->page_label, ==, "1");
    g_assert_cmpint (c->char_start, ==, p3->char_start);   /* first sentence of page 3 */
  }

  /* text files cite lines */
  {
    g_autoptr(DocentAnswer) a = docent_answer_extractive (retriever, "How is the determinant of a matrix computed?",
                                                          DOCENT_SEARCH_MODE_HYBRID, NULL, NULL, &error);
    DocentCitation *c = a->citations->pdata[0];
    g_assert_cmpstr (c->doc, ==, "matrix.txt");
    g_assert_cmpuint (c->line, ==, 4);
    g_assert_cmpuint (c->line_end, ==, 4);
    g_assert_true (g_str_has_prefix (c->text, "The determinant of a matrix"));
  }

  /* nothing relevant: said plainly, no citations */
  {
    g_autoptr(DocentAnswer) a = docent_answer_extractive (retriever, "chocolate cake recipe with strawberries",
                                                          DOCENT_SEARCH_MODE_HYBRID, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (a->mode, ==, DOCENT_ANSWER_NOT_FOUND);
    g_assert_cmpuint (a->citations->len, ==, 0);
    g_assert_cmpstr (docent_answer_mode_to_string (a->mode), ==, "not-found");
  }

  /* filters hold for answers too */
  {
    g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
    DocentSearchOptions options = { 5, ids };
    gint64 matrix;
    g_autoptr(DocentAnswer) a = NULL;
    g_assert_true (docent_store_resolve_document (store, "matrix.txt", &matrix, NULL));
    g_array_append_val (ids, matrix);
    a = docent_answer_extractive (retriever, "How do glaciers carve valleys?", DOCENT_SEARCH_MODE_HYBRID,
                                  &options, NULL, &error);
    for (guint i = 0; i < a->citations->len; i++)
      g_assert_cmpint (((DocentCitation *) a->citations->pdata[i])->doc_id, ==, matrix);
  }
}

static void
test_snippet (void)
{
  DocentSearchResult r = { 0 };
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GArray) hl = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) sh = NULL;
  g_autofree char *snip = NULL;
  g_autofree gunichar *u = NULL;
  glong n;

  for (guint i = 0; i < 40; i++)
    g_string_append (text, "filler words here,\n  ");
  {
    gint64 at = g_utf8_strlen (text->str, -1);
    gint64 pair[2] = { at, at + 9 };
    g_string_append (text, "Volcanoes erupt and 화산 rumble.");
    g_array_append_vals (hl, pair, 2);
    pair[0] = at + 20; pair[1] = at + 22;   /* 화산 */
    g_array_append_vals (hl, pair, 2);
  }
  for (guint i = 0; i < 40; i++)
    g_string_append (text, " more filler text");
  r.text = text->str;
  r.highlights = hl;

  snip = docent_search_result_dup_snippet (&r, 80, &sh);
  g_assert_true (g_str_has_prefix (snip, "…"));
  g_assert_true (g_str_has_suffix (snip, "…"));
  g_assert_null (strchr (snip, '\n'));
  g_assert_cmpint (g_utf8_strlen (snip, -1), <=, 80 + 2 + 30);
  g_assert_cmpuint (sh->len, ==, 4);
  u = g_utf8_to_ucs4_fast (snip, -1, &n);
  {
    g_autofree char *w1 = g_ucs4_to_utf8 (u + g_array_index (sh, gint64, 0),
                                          g_array_index (sh, gint64, 1) - g_array_index (sh, gint64, 0), NULL, NULL, NULL);
    g_autofree char *w2 = g_ucs4_to_utf8 (u + g_array_index (sh, gint64, 2),
                                          g_array_index (sh, gint64, 3) - g_array_index (sh, gint64, 2), NULL, NULL, NULL);
    g_assert_cmpstr (w1, ==, "Volcanoes");
    g_assert_cmpstr (w2, ==, "화산");
  }

  /* short passages come whole, without ellipses */
  {
    DocentSearchResult s2 = { .text = (char *) "A short  passage.", .highlights = NULL };
    g_autofree char *whole = docent_search_result_dup_snippet (&s2, 80, NULL);
    g_assert_cmpstr (whole, ==, "A short passage.");
  }
}

static void
test_rrf (void)
{
  g_autoptr(DocentStore) store = make_library ("rrf.db", 4);
  g_autoptr(DocentRetriever) retriever = docent_retriever_new (store, NULL, NULL);
  const char *queries[] = { "matrix package data", "linear system solve", "양자화 메모리 캐시" };
  const double w_b = 1.0, w_d = 0.6;
  const guint rrf_k = 60, depth = 100;

  g_assert_cmpfloat (docent_retriever_get_dense_floor (retriever), ==, DOCENT_DENSE_FLOOR_BUILTIN);
  /* the arithmetic first, every dense candidate admitted */
  docent_retriever_set_dense_floor (retriever, DOCENT_DENSE_FLOOR_NONE);
  docent_retriever_set_fusion (retriever, w_b, w_d, rrf_k, depth);
  for (guint q = 0; q < G_N_ELEMENTS (queries); q++)
    {
      DocentSearchOptions all = { depth, NULL };
      DocentSearchOptions top = { 8, NULL };
      g_autoptr(GPtrArray) bm25 = docent_retriever_search (retriever, queries[q], DOCENT_SEARCH_MODE_BM25, &all, NULL);
      g_autoptr(GPtrArray) dense = docent_retriever_search (retriever, queries[q], DOCENT_SEARCH_MODE_DENSE, &all, NULL);
      g_autoptr(GPtrArray) hybrid = docent_retriever_search (retriever, queries[q], DOCENT_SEARCH_MODE_HYBRID, &top, NULL);
      g_autoptr(GHashTable) expected = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);

      /* score = Σ w / (k + rank) over the rankings a passage is in */
      for (guint i = 0; i < bm25->len; i++)
        {
          DocentSearchResult *r = bm25->pdata[i];
          double *s = g_new (double, 1);
          *s = w_b / (rrf_k + i + 1);
          g_hash_table_insert (expected, g_memdup2 (&r->chunk_id, sizeof (gint64)), s);
        }
      for (guint i = 0; i < dense->len; i++)
        {
          DocentSearchResult *r = dense->pdata[i];
          double *s = g_hash_table_lookup (expected, &r->chunk_id);
          if (s == NULL)
            {
              s = g_new0 (double, 1);
              g_hash_table_insert (expected, g_memdup2 (&r->chunk_id, sizeof (gint64)), s);
            }
          *s += w_d / (rrf_k + i + 1);
        }

      g_assert_cmpuint (hybrid->len, ==, MIN (8, g_hash_table_size (expected)));
      for (guint i = 0; i < hybrid->len; i++)
        {
          DocentSearchResult *r = hybrid->pdata[i];
          double *s = g_hash_table_lookup (expected, &r->chunk_id);
          g_assert_nonnull (s);
          g_assert_cmpfloat_with_epsilon (r->score, *s, 1e-9);
          g_assert_cmpuint (r->rank, ==, i + 1);
          if (i > 0)
            g_assert_cmpfloat (r->score, <=, ((DocentSearchResult *) hybrid->pdata[i - 1])->score);
        }
      /* nothing better was left out */
      {
        GHashTableIter iter;
        gpointer key, value;
        double last = ((DocentSearchResult *) hybrid->pdata[hybrid->len - 1])->score;
        guint better = 0;
        g_hash_table_iter_init (&iter, expected);
        while (g_hash_table_iter_next (&iter, &key, &value))
          better += *(double *) value > last + 1e-12;
        g_assert_cmpuint (better, <, hybrid->len);
      }
    }

  /* above any cosine: passages only the dense side found stay out, so a
   * word that is nowhere finds nothing */
  docent_retriever_set_dense_floor (retriever, 1.01f);
  {
    DocentSearchOptions top = { 20, NULL };
    g_autoptr(GPtrArray) bm25 = docent_retriever_search (retriever, "volcano", DOCENT_SEARCH_MODE_BM25, &top, NULL);
    g_autoptr(GPtrArray) hybrid = docent_retriever_search (retriever, "volcano", DOCENT_SEARCH_MODE_HYBRID, &top, NULL);
    g_autoptr(GPtrArray) hybrid2 = docent_retriever_search (retriever, "matrix", DOCENT_SEARCH_MODE_HYBRID, &top, NULL);
    g_autoptr(GPtrArray) bm25_2 = docent_retriever_search (retriever, "matrix", DOCENT_SEARCH_MODE_BM25, &top, NULL);
    g_assert_cmpuint (bm25->len, ==, 0);
    g_assert_cmpuint (hybrid->len, ==, 0);
    g_assert_cmpuint (hybrid2->len, ==, bm25_2->len);
  }
  docent_retriever_set_dense_floor (retriever, DOCENT_DENSE_FLOOR_NONE);

  /* a weight of zero leaves the other ranking alone */
  docent_retriever_set_fusion (retriever, 1.0, 0.0, rrf_k, depth);
  {
    DocentSearchOptions top = { 5, NULL };
    g_autoptr(GPtrArray) bm25 = docent_retriever_search (retriever, "matrix package", DOCENT_SEARCH_MODE_BM25, &top, NULL);
    g_autoptr(GPtrArray) hybrid = docent_retriever_search (retriever, "matrix package", DOCENT_SEARCH_MODE_HYBRID, &top, NULL);
    for (guint i = 0; i < MIN (bm25->len, hybrid->len); i++)
      g_assert_cmpint (((DocentSearchResult *) bm25->pdata[i])->chunk_id, ==,
                       ((DocentSearchResult *) hybrid->pdata[i])->chunk_id);
  }
}

static void
test_sync (void)
{
  g_autoptr(DocentStore) store = make_library ("sync.db", 3);
  g_autoptr(DocentRetriever) retriever = docent_retriever_new (store, NULL, NULL);
  g_autofree char *library = g_strdup (docent_store_get_path (store));
  g_autoptr(GError) error = NULL;
  gint64 matrix_id;
  guint before = docent_retriever_get_n_vectors (retriever);

  g_assert_cmpstr (top_doc (retriever, "solve linear system", DOCENT_SEARCH_MODE_DENSE), ==, "matrix.txt");

  /* another connection removes a document: its rows leave the matrix */
  {
    g_autoptr(DocentStore) other = docent_store_open (library, &error);
    g_assert_no_error (error);
    g_assert_true (docent_store_resolve_document (other, "matrix.txt", &matrix_id, NULL));
    g_assert_true (docent_store_remove_document (other, matrix_id, &error));
    g_assert_no_error (error);
  }
  for (int m = DOCENT_SEARCH_MODE_BM25; m <= DOCENT_SEARCH_MODE_HYBRID; m++)
    {
      DocentSearchOptions options = { 50, NULL };
      g_autoptr(GPtrArray) results = docent_retriever_search (retriever, "solve linear system matrix", m, &options, NULL);
      for (guint i = 0; i < results->len; i++)
        g_assert_cmpint (((DocentSearchResult *) results->pdata[i])->doc_id, !=, matrix_id);
    }
  g_assert_cmpuint (docent_retriever_get_n_vectors (retriever), <, before);
  g_assert_cmpuint (docent_retriever_get_n_vectors (retriever), ==,
                    docent_test_query_int (store, "SELECT count(*) FROM chunks"));

  /* another import adds one (the library grows by more than half: the
   * statistics are re-counted, a new embedder replaces the old one) */
  {
    g_autofree char *path = write_topic (3);
    const char *paths[] = { path, NULL };
    g_autoptr(DocentStore) other = NULL;
    import_files (library, paths);
    other = docent_store_open (library, &error);
    g_assert_true (docent_retriever_update_builtin (other, 1, NULL, NULL, &error));
    g_assert_no_error (error);
  }
  g_assert_cmpstr (top_doc (retriever, "data frame columns read.csv", DOCENT_SEARCH_MODE_DENSE), ==, "frames.txt");
  g_assert_cmpuint (docent_retriever_get_n_vectors (retriever), ==,
                    docent_test_query_int (store, "SELECT count(*) FROM chunks"));
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM embedders"), ==, 1);
}

static void
test_eval_hits (void)
{
  g_autofree char *path = g_build_filename (tmpdir, "set.jsonl", NULL);
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GError) error = NULL;
  DocentSearchResult pdf = { .doc = (char *) "R-intro.pdf", .type = DOCENT_DOC_TYPE_PDF, .page = 30, .page_end = 31 };
  DocentSearchResult txt = { .doc = (char *) "a.txt", .type = DOCENT_DOC_TYPE_TEXT, .line = 10, .line_end = 14 };

  g_assert_true (g_file_set_contents (path,
    "{\"id\":\"1\",\"lang\":\"en\",\"question\":\"q\",\"doc\":\"R-intro.pdf\",\"pages\":[31]}\n"
    "\n"
    "{\"id\":\"2\",\"lang\":\"ko\",\"question\":\"q\",\"doc\":\"a.txt\",\"pages\":[],\"lines\":[14,16]}\n"
    "{\"id\":\"3\",\"lang\":\"ko\",\"question\":\"q\",\"doc\":\"a.txt\",\"pages\":[],\"lines\":[15,15]}\n", -1, NULL));
  items = docent_eval_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (items->len, ==, 3);
  g_assert_true (docent_eval_is_hit (items->pdata[0], &pdf));
  pdf.page = 32; pdf.page_end = 33;
  g_assert_false (docent_eval_is_hit (items->pdata[0], &pdf));
  pdf.doc = (char *) "R-data.pdf"; pdf.page = 31; pdf.page_end = 31;
  g_assert_false (docent_eval_is_hit (items->pdata[0], &pdf));
  g_assert_true (docent_eval_is_hit (items->pdata[1], &txt));     /* line 14 shared */
  g_assert_false (docent_eval_is_hit (items->pdata[2], &txt));    /* 15 is past 14 */

  g_assert_true (g_file_set_contents (path, "{\"id\":\"1\",\"question\":\"q\"}\n", -1, NULL));
  g_clear_pointer (&items, g_ptr_array_unref);
  items = docent_eval_load (path, &error);
  g_assert_null (items);
  g_assert_error (error, DOCENT_ERROR, DOCENT_ERROR_USAGE);
}

/* The lexical ranking (docent_rank): k1 and b reach it on both paths (the
 * store's search and the retriever's filtered one), a term in most
 * passages still scores above zero, and Korean query words lose their
 * particles so "계산을" finds "계산했던". */
static const char *
top_lexical (DocentRetriever *retriever, const char *query, gboolean filtered, double *score)
{
  static char name[64];
  DocentSearchOptions options = { 5, NULL };
  DocentSearchFilter filter;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;

  docent_search_filter_init (&filter);
  filter.type = DOCENT_DOC_TYPE_TEXT;
  results = docent_retriever_search_filtered (retriever, query, DOCENT_SEARCH_MODE_BM25, &options,
                                              filtered ? &filter : NULL, &error);
  g_assert_no_error (error);
  if (results->len == 0)
    return NULL;
  g_strlcpy (name, ((DocentSearchResult *) results->pdata[0])->doc, sizeof name);
  if (score != NULL)
    *score = ((DocentSearchResult *) results->pdata[0])->score;
  return name;
}

static void
test_lexical (void)
{
  g_autofree char *library = g_build_filename (tmpdir, "lexical.db", NULL);
  g_autofree char *dir = g_build_filename (tmpdir, "lexical", NULL);
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) filler = g_string_new ("narwhal");
  g_autoptr(DocentImporter) importer = docent_importer_new (library);
  g_autoptr(GPtrArray) imported = NULL;
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(DocentRetriever) retriever = NULL;
  g_autoptr(GError) error = NULL;
  const char *words[] = { "ocean", "whale", "arctic", "tusk", "swim", "cold", "deep", "pod" };
  double score = 0;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  for (guint i = 0; i < 60; i++)
    g_string_append_printf (filler, " %s%u", words[i % G_N_ELEMENTS (words)], i);
  g_string_append (filler, " narwhal.\n");
  {
    const char *files[][2] = {
      { "short.txt", "The narwhal swims.\n" },
      { "long.txt", filler->str },
      { "ko.txt", "이전 토큰의 계산했던 결과를 메모리에 저장한다.\n" },
    };
    for (guint i = 0; i < G_N_ELEMENTS (files); i++)
      {
        char *path = g_build_filename (dir, files[i][0], NULL);
        g_assert_true (g_file_set_contents (path, files[i][1], -1, NULL));
        g_ptr_array_add (paths, path);
      }
  }
  g_ptr_array_add (paths, NULL);
  docent_importer_set_embed (importer, FALSE);
  imported = docent_importer_import_sync (importer, (const char * const *) paths->pdata, NULL, &error);
  g_assert_no_error (error);
  store = docent_store_open (library, &error);
  g_assert_no_error (error);
  g_assert_cmpint (docent_test_query_int (store, "SELECT count(*) FROM chunks"), ==, 3);
  retriever = docent_retriever_new (store, NULL, &error);
  g_assert_no_error (error);

  for (int filtered = 0; filtered <= 1; filtered++)
    {
      /* no length normalisation: two occurrences beat one */
      docent_retriever_set_lexical (retriever, 1.2, 0.0, 0.0, 0.0);
      g_assert_cmpstr (top_lexical (retriever, "narwhal", filtered, &score), ==, "long.txt");
      /* in two of three passages: FTS5's bm25() would give ~0 here */
      g_assert_cmpfloat (score, >, 0.1);
      /* full normalisation: the short passage wins */
      docent_retriever_set_lexical (retriever, 1.2, 1.0, 0.0, 0.0);
      g_assert_cmpstr (top_lexical (retriever, "narwhal", filtered, NULL), ==, "short.txt");
      /* particles leave the Korean query words */
      g_assert_cmpstr (top_lexical (retriever, "계산을 어떻게 줄이나요", filtered, NULL), ==, "ko.txt");
      g_assert_cmpstr (top_lexical (retriever, "메모리에는", filtered, NULL), ==, "ko.txt");
    }
  /* a verb ending is no particle: the whole word must match, and does not */
  g_assert_null (top_lexical (retriever, "계산하는", FALSE, NULL));
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("docent-retriever-XXXXXX", NULL);
  g_test_add_func ("/retriever/vectors-stored", test_vectors_stored);
  g_test_add_func ("/retriever/modes", test_modes);
  g_test_add_func ("/retriever/filters", test_filters);
  g_test_add_func ("/retriever/more-filters", test_more_filters);
  g_test_add_func ("/retriever/rrf", test_rrf);
  g_test_add_func ("/retriever/snippet", test_snippet);
  g_test_add_func ("/retriever/extractive", test_extractive);
  g_test_add_func ("/retriever/sync", test_sync);
  g_test_add_func ("/retriever/eval-hits", test_eval_hits);
  g_test_add_func ("/retriever/lexical", test_lexical);
  rc = g_test_run ();
  {
    g_autoptr(GDir) d = g_dir_open (tmpdir, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name (d)) != NULL)
      {
        g_autofree char *p = g_build_filename (tmpdir, name, NULL);
        g_unlink (p);
      }
    g_rmdir (tmpdir);
  }
  return rc;
}
