/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The GGUF embedder on a generated BERT model: the embedder contract (unit
 * rows, zero vector for empty text, a model id that follows the weights and
 * prefixes, not the file name), vectors equal to the engine's reference,
 * concurrent calls, errors a person can cause, and a library embedded on the
 * worker pool and searched densely. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include "docent-error.h"
#include "docent-gguf-embedder.h"
#include "docent-importer.h"
#include "docent-retriever.h"
#include "docent-store.h"
#include "bert-craft.h"
#include "llm-bert.h"

static char *tmpdir;

static char *
write_model (const char *name, BertSpec spec, BertRef *ref)
{
  char *path = g_build_filename (tmpdir, name, NULL);
  g_assert_true (bert_craft_write (path, &spec, ref));
  return path;
}

static void
test_contract (void)
{
  BertRef ref;
  g_autofree char *path = write_model ("crafted.gguf", bert_spec_default (), &ref);
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentGgufEmbedder) e = docent_gguf_embedder_new (path, &error);
  const char *texts[] = { "hello world", "", "  \n", "the lazy dog jumps over the fox", "안녕하세요" };
  float out[5 * 64];

  g_assert_no_error (error);
  DocentEmbedder *emb = DOCENT_EMBEDDER (e);
  g_assert_cmpuint (docent_embedder_get_dim (emb), ==, 64);
  g_assert_cmpuint (docent_gguf_embedder_get_max_tokens (e), ==, 32);
  g_assert_cmpstr (docent_gguf_embedder_get_name (e), ==, "crafted bert");
  g_assert_true (g_str_has_prefix (docent_embedder_get_model_id (emb), "gguf-crafted-bert-d64-mean-"));
  /* no e5/bge in the name: no prefixes */
  g_assert_cmpstr (docent_gguf_embedder_get_query_prefix (e), ==, "");

  g_assert_true (docent_embedder_embed (emb, DOCENT_EMBED_PASSAGE, texts, 5, out, NULL, &error));
  g_assert_no_error (error);
  for (int i = 0; i < 5; i++)
    {
      double norm = 0;
      for (int c = 0; c < 64; c++)
        norm += out[i * 64 + c] * out[i * 64 + c];
      g_assert_cmpfloat (fabs (norm - ((i == 1 || i == 2) ? 0 : 1)), <, 1e-5);
    }
  /* the same numbers as the reference forward pass */
  {
    const LlmBertParams *hp;
    char err[256];
    LlmBert *bert = llm_bert_load (path, err, sizeof err);
    double want[64];
    size_t nt;
    LlmToken *ids;
    hp = llm_bert_get_params (bert);
    g_assert_cmpint (hp->n_embd, ==, 64);
    ids = llm_bert_tokenize (bert, texts[3], strlen (texts[3]), &nt);
    bert_ref_embed (&ref, ids, (int) nt, want);
    for (int c = 0; c < 64; c++)
      g_assert_cmpfloat (fabs (want[c] - out[3 * 64 + c]), <, 2e-5);
    free (ids);
    llm_bert_free (bert);
  }
  bert_ref_free (&ref);
}

static void
test_model_id (void)
{
  g_autofree char *a = write_model ("a.gguf", bert_spec_default (), NULL);
  g_autofree char *b = write_model ("b-copy.gguf", bert_spec_default (), NULL);
  BertSpec other = bert_spec_default ();
  other.seed = 99;
  g_autofree char *c = write_model ("c.gguf", other, NULL);
  BertSpec cls = bert_spec_default ();
  cls.pooling = 2;
  g_autofree char *d = write_model ("d.gguf", cls, NULL);
  g_autoptr(DocentGgufEmbedder) ea = docent_gguf_embedder_new (a, NULL);
  g_autoptr(DocentGgufEmbedder) eb = docent_gguf_embedder_new (b, NULL);
  g_autoptr(DocentGgufEmbedder) ec = docent_gguf_embedder_new (c, NULL);
  g_autoptr(DocentGgufEmbedder) ed = docent_gguf_embedder_new (d, NULL);
  g_autofree char *id_a = g_strdup (docent_embedder_get_model_id (DOCENT_EMBEDDER (ea)));

  /* same weights under another name: same id; other weights or pooling: not */
  g_assert_cmpstr (id_a, ==, docent_embedder_get_model_id (DOCENT_EMBEDDER (eb)));
  g_assert_cmpstr (id_a, !=, docent_embedder_get_model_id (DOCENT_EMBEDDER (ec)));
  g_assert_true (strstr (docent_embedder_get_model_id (DOCENT_EMBEDDER (ed)), "-cls-") != NULL);
  /* prefixes change the vectors, so the id */
  docent_gguf_embedder_set_prefixes (ea, "query: ", "passage: ");
  g_assert_cmpstr (id_a, !=, docent_embedder_get_model_id (DOCENT_EMBEDDER (ea)));
  docent_gguf_embedder_set_prefixes (ea, "", "");
  g_assert_cmpstr (id_a, ==, docent_embedder_get_model_id (DOCENT_EMBEDDER (ea)));
}

static void
test_prefixes (void)
{
  g_autofree char *e5 = write_model ("multilingual-e5-small-q8_0.gguf", bert_spec_default (), NULL);
  g_autofree char *bge = write_model ("bge-small-en-v1.5-f16.gguf", bert_spec_default (), NULL);
  g_autofree char *m3 = write_model ("bge-m3-q8_0.gguf", bert_spec_default (), NULL);
  g_autoptr(DocentGgufEmbedder) a = docent_gguf_embedder_new (e5, NULL);
  g_autoptr(DocentGgufEmbedder) b = docent_gguf_embedder_new (bge, NULL);
  g_autoptr(DocentGgufEmbedder) c = docent_gguf_embedder_new (m3, NULL);
  float q[64], p[64];

  g_assert_cmpstr (docent_gguf_embedder_get_query_prefix (a), ==, "query: ");
  g_assert_cmpstr (docent_gguf_embedder_get_passage_prefix (a), ==, "passage: ");
  g_assert_cmpstr (docent_gguf_embedder_get_query_prefix (b), ==,
                   "Represent this sentence for searching relevant passages: ");
  g_assert_cmpstr (docent_gguf_embedder_get_passage_prefix (b), ==, "");
  g_assert_cmpstr (docent_gguf_embedder_get_query_prefix (c), ==, "");

  /* a query and a passage of the same text differ by their prefix */
  const char *t[] = { "data frame" };
  g_assert_true (docent_embedder_embed (DOCENT_EMBEDDER (a), DOCENT_EMBED_QUERY, t, 1, q, NULL, NULL));
  g_assert_true (docent_embedder_embed (DOCENT_EMBEDDER (a), DOCENT_EMBED_PASSAGE, t, 1, p, NULL, NULL));
  g_assert_cmpfloat (fabs (q[0] - p[0]) + fabs (q[1] - p[1]), >, 0);
}

static void
test_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *missing = g_build_filename (tmpdir, "nope.gguf", NULL);
  g_autofree char *junk = g_build_filename (tmpdir, "junk.gguf", NULL);
  BertSpec llama = bert_spec_default ();
  llama.arch = "llama";
  g_autofree char *dec = write_model ("decoder.gguf", llama, NULL);

  g_assert_null (docent_gguf_embedder_new (missing, &error));
  g_assert_error (error, DOCENT_ERROR, DOCENT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (junk, "GGUF but not really", -1, NULL));
  g_assert_null (docent_gguf_embedder_new (junk, &error));
  g_assert_error (error, DOCENT_ERROR, DOCENT_ERROR_CORRUPT);
  g_clear_error (&error);
  g_assert_null (docent_gguf_embedder_new (dec, &error));
  g_assert_error (error, DOCENT_ERROR, DOCENT_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "not an encoder"));
}

typedef struct {
  DocentEmbedder *emb;
  const char    **texts;
  guint           n;
  float          *out;
  gboolean        ok;
} ThreadJob;

static gpointer
embed_thread (gpointer data)
{
  ThreadJob *j = data;
  j->ok = docent_embedder_embed (j->emb, DOCENT_EMBED_PASSAGE, j->texts, j->n, j->out, NULL, NULL);
  return NULL;
}

/* Several threads at once (one of them gets the pool) give what one gives. */
static void
test_concurrent (void)
{
  BertSpec spec = bert_spec_default ();
  spec.wtype = LLM_TYPE_Q8_0;
  g_autofree char *path = write_model ("q8.gguf", spec, NULL);
  g_autoptr(DocentGgufEmbedder) e = docent_gguf_embedder_new (path, NULL);
  const char *texts[] = { "hello world", "docent search model", "the quick brown fox", "r manual",
                          "data frame vector", "양자화", "embed passage query", "lazy dog" };
  enum { N_THREADS = 4, N = G_N_ELEMENTS (texts) };
  float alone[N * 64];
  float got[N_THREADS][N * 64];
  ThreadJob jobs[N_THREADS];
  GThread *threads[N_THREADS];

  g_assert_true (docent_embedder_embed (DOCENT_EMBEDDER (e), DOCENT_EMBED_PASSAGE, texts, N, alone, NULL, NULL));
  docent_gguf_embedder_set_n_threads (e, 2);
  for (int t = 0; t < N_THREADS; t++)
    {
      jobs[t] = (ThreadJob) { DOCENT_EMBEDDER (e), texts, N, got[t], FALSE };
      threads[t] = g_thread_new ("embed", embed_thread, &jobs[t]);
    }
  for (int t = 0; t < N_THREADS; t++)
    {
      g_thread_join (threads[t]);
      g_assert_true (jobs[t].ok);
      for (int i = 0; i < N * 64; i++)
        g_assert_cmpfloat (fabs (got[t][i] - alone[i]), <, 1e-5);
    }
}

static void
test_cancel (void)
{
  g_autofree char *path = write_model ("cancel.gguf", bert_spec_default (), NULL);
  g_autoptr(DocentGgufEmbedder) e = docent_gguf_embedder_new (path, NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  const char *texts[] = { "hello" };
  float out[64];

  g_cancellable_cancel (cancellable);
  g_assert_false (docent_embedder_embed (DOCENT_EMBEDDER (e), DOCENT_EMBED_PASSAGE, texts, 1, out,
                                         cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* The import pipeline's worker pool embeds a library with the model, and
 * dense search ranks a passage first for its own text. */
static void
test_library (void)
{
  static const char *const docs[][2] = {
    { "fox.txt", "the quick brown fox jumps over the lazy dog. the fox jumps." },
    { "hello.txt", "hello world. hello docent. world hello." },
    { "data.txt", "r manual: data frame, vector, function. data frame vector." },
    { "ko.txt", "안녕하세요. 양자화 양자화 모델." },
  };
  g_autofree char *model = write_model ("library.gguf", bert_spec_default (), NULL);
  g_autofree char *library = g_build_filename (tmpdir, "lib.db", NULL);
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentImporter) importer = docent_importer_new (library);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(DocentGgufEmbedder) e = docent_gguf_embedder_new (model, &error);
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(DocentRetriever) retriever = NULL;
  guint n = 0;

  for (guint i = 0; i < G_N_ELEMENTS (docs); i++)
    {
      char *p = g_build_filename (tmpdir, docs[i][0], NULL);
      g_assert_true (g_file_set_contents (p, docs[i][1], -1, NULL));
      g_ptr_array_add (paths, p);
    }
  g_ptr_array_add (paths, NULL);
  results = docent_importer_import_sync (importer, (const char * const *) paths->pdata, NULL, &error);
  g_assert_no_error (error);
  store = docent_store_open (library, &error);
  g_assert_no_error (error);

  g_assert_true (docent_gguf_embedder_update_library (e, store, 3, NULL, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, >=, G_N_ELEMENTS (docs));
  /* idempotent */
  g_assert_true (docent_gguf_embedder_update_library (e, store, 3, NULL, &n, &error));
  g_assert_cmpuint (n, ==, 0);

  retriever = docent_retriever_new (store, DOCENT_EMBEDDER (e), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (docent_retriever_get_n_vectors (retriever), >=, G_N_ELEMENTS (docs));
  for (guint i = 0; i < G_N_ELEMENTS (docs); i++)
    {
      DocentSearchOptions options = { 3, NULL };
      g_autoptr(GPtrArray) hits = docent_retriever_search (retriever, docs[i][1], DOCENT_SEARCH_MODE_DENSE,
                                                           &options, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (hits->len, >, 0);
      g_assert_cmpstr (((DocentSearchResult *) hits->pdata[0])->doc, ==, docs[i][0]);
    }
}

/* `docent embed --json` prints the embedder's vectors; usage and model
 * errors have their exit statuses. */
static void
test_cli (void)
{
  const char *bin = g_getenv ("DOCENT_BIN");
  BertSpec spec = bert_spec_default ();
  spec.seed = 5;  /* not the weights test_library embedded with */
  g_autofree char *model = write_model ("cli.gguf", spec, NULL);
  g_autoptr(DocentGgufEmbedder) e = docent_gguf_embedder_new (model, NULL);
  const char *texts[] = { "hello world", "-the lazy dog" };
  float want[2 * 64];
  g_autofree char *out = NULL, *err = NULL;
  int status;

  if (bin == NULL)
    {
      g_test_skip ("DOCENT_BIN not set");
      return;
    }
  g_assert_true (docent_embedder_embed (DOCENT_EMBEDDER (e), DOCENT_EMBED_PASSAGE, texts, 2, want, NULL, NULL));
  {
    const char *argv[] = { bin, "embed", "--model", model, "--json", "--threads", "2", "--",
                           texts[0], texts[1], NULL };
    g_autoptr(JsonParser) parser = json_parser_new ();
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, &out, &err, &status, NULL));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
    JsonObject *o = json_node_get_object (json_parser_get_root (parser));
    g_assert_cmpstr (json_object_get_string_member (o, "model"), ==,
                     docent_embedder_get_model_id (DOCENT_EMBEDDER (e)));
    g_assert_cmpint (json_object_get_int_member (o, "dim"), ==, 64);
    JsonArray *vectors = json_object_get_array_member (o, "vectors");
    g_assert_cmpuint (json_array_get_length (vectors), ==, 2);
    for (guint i = 0; i < 2; i++)
      {
        JsonArray *v = json_array_get_array_element (vectors, i);
        g_assert_cmpuint (json_array_get_length (v), ==, 64);
        for (guint c = 0; c < 64; c++)
          g_assert_cmpfloat (fabs (json_array_get_double_element (v, c) - want[i * 64 + c]), <, 1e-6);
      }
  }
  {
    const char *argv[] = { bin, "embed", "--model", model, NULL };
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, &out, &err, &status, NULL));
    g_assert_cmpint (WEXITSTATUS (status), ==, 2);
  }
  {
    g_autofree char *missing = g_build_filename (tmpdir, "missing.gguf", NULL);
    const char *argv[] = { bin, "embed", "--model", missing, "x", NULL };
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, &out, &err, &status, NULL));
    g_assert_cmpint (WEXITSTATUS (status), ==, 1);
    g_assert_nonnull (strstr (err, "does not exist"));
  }
  {
    /* the library of test_library, embedded again with this model */
    g_autofree char *library = g_build_filename (tmpdir, "lib.db", NULL);
    const char *argv[] = { bin, "--library", library, "embed", "--model", model, "--update-library",
                           "--threads", "2", "--json", NULL };
    g_autoptr(JsonParser) parser = json_parser_new ();
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, &out, &err, &status, NULL));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
    JsonObject *o = json_node_get_object (json_parser_get_root (parser));
    g_assert_cmpint (json_object_get_int_member (o, "embedded"), >=, 4);
    g_assert_cmpint (json_object_get_int_member (o, "dim"), ==, 64);
  }
  {
    /* the throughput measurement, as JSON */
    const char *argv[] = { bin, "embed", "--bench", "--model", model, "--passages", "4", "--tokens", "16",
                           "--threads", "2", "--json", NULL };
    g_autoptr(JsonParser) parser = json_parser_new ();
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, &out, &err, &status, NULL));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
    JsonObject *o = json_node_get_object (json_parser_get_root (parser));
    g_assert_cmpint (json_object_get_int_member (o, "passages"), ==, 4);
    g_assert_cmpint (json_object_get_int_member (o, "tokens_per_passage"), ==, 16);
    g_assert_cmpfloat (json_object_get_double_member (o, "pool_tok_s"), >, 0);
    g_assert_cmpfloat (json_object_get_double_member (o, "workers_tok_s"), >, 0);
    g_assert_cmpfloat (json_object_get_double_member (o, "sgemm_gflops"), >, 0);
    g_assert_cmpstr (json_object_get_string_member (o, "type"), ==, "F32");
  }
  {
    /* plain output: one line of 64 numbers per text */
    const char *argv[] = { bin, "embed", "--model", model, "hello", "world", NULL };
    g_auto(GStrv) lines = NULL;
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, &out, &err, &status, NULL));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    lines = g_strsplit (g_strchomp (out), "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, 2);
    g_auto(GStrv) numbers = g_strsplit (lines[0], " ", -1);
    g_assert_cmpuint (g_strv_length (numbers), ==, 64);
  }
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("docent-gguf-embedder-XXXXXX", NULL);
  g_test_add_func ("/core/gguf-embedder/contract", test_contract);
  g_test_add_func ("/core/gguf-embedder/model-id", test_model_id);
  g_test_add_func ("/core/gguf-embedder/prefixes", test_prefixes);
  g_test_add_func ("/core/gguf-embedder/errors", test_errors);
  g_test_add_func ("/core/gguf-embedder/concurrent", test_concurrent);
  g_test_add_func ("/core/gguf-embedder/cancel", test_cancel);
  g_test_add_func ("/core/gguf-embedder/library", test_library);
  g_test_add_func ("/core/gguf-embedder/cli", test_cli);
  rc = g_test_run ();
  {
    g_autoptr(GDir) d = g_dir_open (tmpdir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name (d)) != NULL)
      {
        g_autofree char *p = g_build_filename (tmpdir, name, NULL);
        g_unlink (p);
      }
    g_rmdir (tmpdir);
  }
  return rc;
}
