/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "docent-embedder.h"
#include "docent-hash-embedder.h"

/* ---- a minimal embedder: the interface must not assume the built-in one --- */

#define TEST_TYPE_EMBEDDER (test_embedder_get_type ())
G_DECLARE_FINAL_TYPE (TestEmbedder, test_embedder, TEST, EMBEDDER, GObject)

struct _TestEmbedder { GObject parent_instance; };

static const char *
test_embedder_get_model_id (DocentEmbedder *e)
{
  return "test-length-v1";
}

static guint
test_embedder_get_dim (DocentEmbedder *e)
{
  return 3;
}

/* Deliberately not normalised: the interface wrapper must fix that. */
static gboolean
test_embedder_embed (DocentEmbedder *e, DocentEmbedKind kind, const char * const *texts,
                     guint n, float *out, GCancellable *cancellable, GError **error)
{
  for (guint i = 0; i < n; i++)
    {
      out[i * 3 + 0] = (float) strlen (texts[i]);
      out[i * 3 + 1] = 2.0f;
      out[i * 3 + 2] = kind == DOCENT_EMBED_QUERY ? 1.0f : 0.0f;
    }
  return TRUE;
}

static void
test_embedder_iface_init (DocentEmbedderInterface *iface)
{
  iface->get_model_id = test_embedder_get_model_id;
  iface->get_dim = test_embedder_get_dim;
  iface->embed = test_embedder_embed;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (TestEmbedder, test_embedder, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (DOCENT_TYPE_EMBEDDER, test_embedder_iface_init))
static void test_embedder_class_init (TestEmbedderClass *klass) {}
static void test_embedder_init (TestEmbedder *self) {}

static float
norm (const float *v, guint dim)
{
  double s = 0.0;
  for (guint i = 0; i < dim; i++)
    s += (double) v[i] * v[i];
  return (float) sqrt (s);
}

static float
dot (const float *a, const float *b, guint dim)
{
  double s = 0.0;
  for (guint i = 0; i < dim; i++)
    s += (double) a[i] * b[i];
  return (float) s;
}

static void
test_interface (void)
{
  g_autoptr(TestEmbedder) e = g_object_new (TEST_TYPE_EMBEDDER, NULL);
  DocentEmbedder *emb = DOCENT_EMBEDDER (e);
  const char *texts[] = { "ab", "abcd" };
  float out[6];
  g_autofree float *one = NULL;
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  g_assert_cmpstr (docent_embedder_get_model_id (emb), ==, "test-length-v1");
  g_assert_cmpuint (docent_embedder_get_dim (emb), ==, 3);
  g_assert_cmpuint (docent_embedder_get_batch_size (emb), ==, 0);   /* default */

  g_assert_true (docent_embedder_embed (emb, DOCENT_EMBED_PASSAGE, texts, 2, out, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (norm (out, 3), 1.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (norm (out + 3, 3), 1.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (out[0], 2.0 / sqrt (8.0), 1e-6);

  one = docent_embedder_embed_one (emb, DOCENT_EMBED_QUERY, "ab", &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (one[2], 1.0 / 3.0, 1e-6);

  g_cancellable_cancel (cancel);
  g_assert_false (docent_embedder_embed (emb, DOCENT_EMBED_PASSAGE, texts, 2, out, cancel, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static float *
embed (DocentEmbedder *emb,
       const char     *text)
{
  g_autoptr(GError) error = NULL;
  float *v = docent_embedder_embed_one (emb, DOCENT_EMBED_PASSAGE, text, &error);
  g_assert_no_error (error);
  return v;
}

static float
similarity (DocentEmbedder *emb,
            const char     *a,
            const char     *b)
{
  g_autofree float *va = embed (emb, a);
  g_autofree float *vb = embed (emb, b);
  return dot (va, vb, docent_embedder_get_dim (emb));
}

static void
test_hash_basics (void)
{
  g_autoptr(DocentHashEmbedder) h = docent_hash_embedder_new (384);
  DocentEmbedder *emb = DOCENT_EMBEDDER (h);
  g_autofree float *a = NULL, *b = NULL, *empty = NULL, *punct = NULL;

  g_assert_cmpuint (docent_embedder_get_dim (emb), ==, 384);
  g_assert_cmpstr (docent_embedder_get_model_id (emb), ==, "hash-ngram-v2-d384");

  a = embed (emb, "Solve the linear system with solve(A, b).");
  b = embed (emb, "Solve the linear system with solve(A, b).");
  g_assert_cmpfloat_with_epsilon (norm (a, 384), 1.0, 1e-5);
  g_assert_cmpmem (a, 384 * sizeof (float), b, 384 * sizeof (float));   /* deterministic */

  empty = embed (emb, "");
  punct = embed (emb, " ,.;()  ");
  g_assert_cmpfloat (norm (empty, 384), ==, 0.0);
  g_assert_cmpfloat (norm (punct, 384), ==, 0.0);

  /* case-insensitive */
  g_assert_cmpfloat_with_epsilon (similarity (emb, "Matrix Inverse", "matrix inverse"), 1.0, 1e-5);

  /* shared words and word pieces bring texts closer than unrelated ones */
  g_assert_cmpfloat (similarity (emb, "inverting a matrix", "the inverse of a matrix"), >,
                     similarity (emb, "inverting a matrix", "package installation on Windows") + 0.2);
  /* morphology through character n-grams */
  g_assert_cmpfloat (similarity (emb, "installing packages", "installation of a package"), >,
                     similarity (emb, "installing packages", "regression coefficients"));
}

static void
test_hash_korean (void)
{
  g_autoptr(DocentHashEmbedder) h = docent_hash_embedder_new (256);
  DocentEmbedder *emb = DOCENT_EMBEDDER (h);

  /* A particle glued to the noun (양자화는) still shares its bigrams. */
  g_assert_cmpfloat (similarity (emb, "양자화", "모델의 양자화는 메모리를 줄인다"), >,
                     similarity (emb, "양자화", "연속 배치로 처리량을 높인다") + 0.2);
  /* Mixed scripts split into separate tokens: "GGUF형식" has "gguf". */
  g_assert_cmpfloat (similarity (emb, "GGUF", "GGUF형식"), >, 0.3);
}

typedef struct {
  guint   n;
  double  total;
} FeatureCount;

static void
count_feature (guint64 hash, float tf_weight, gpointer user_data)
{
  FeatureCount *c = user_data;
  c->n++;
  c->total += tf_weight;
}

static void
test_hash_features (void)
{
  FeatureCount once = { 0 }, twice = { 0 };

  /* "abc" → the word, and of ^abc$ the 3-grams ^ab abc bc$, 4-grams ^abc
   * abc$, 5-gram ^abc$ */
  docent_hash_embedder_foreach_feature ("abc", count_feature, &once);
  g_assert_cmpuint (once.n, ==, 7);
  g_assert_cmpfloat_with_epsilon (once.total, 7.0, 1e-6);

  /* sublinear TF: a repeated word weighs 1 + ln 2, not 2 */
  docent_hash_embedder_foreach_feature ("abc abc", count_feature, &twice);
  g_assert_cmpuint (twice.n, ==, 7);
  g_assert_cmpfloat_with_epsilon (twice.total, 7.0 * (1.0 + log (2.0)), 1e-5);
}

static const char *corpus[] = {
  "The function solve computes the inverse of a matrix.",
  "The matrix is stored in column-major order.",
  "The packages are installed into the library.",
  "The R_HOME environment variable points to the installation.",
  "The vector is recycled when it is shorter.",
  "The data frame holds the variables of the data set.",
};

static void
test_hash_idf (void)
{
  g_autofree guint32 *df1 = g_new0 (guint32, DOCENT_HASH_EMBEDDER_N_BUCKETS);
  g_autofree guint32 *df2 = g_new0 (guint32, DOCENT_HASH_EMBEDDER_N_BUCKETS);
  g_autoptr(DocentHashEmbedder) plain = docent_hash_embedder_new (384);
  g_autoptr(DocentHashEmbedder) a = NULL;
  g_autoptr(DocentHashEmbedder) b = NULL;
  g_autoptr(DocentHashEmbedder) c = NULL;
  guint64 n_docs = 0;

  /* The table does not depend on the order passages are counted in. */
  for (guint i = 0; i < G_N_ELEMENTS (corpus); i++)
    docent_hash_embedder_count_df (df1, corpus[i]);
  for (guint i = G_N_ELEMENTS (corpus); i-- > 0;)
    docent_hash_embedder_count_df (df2, corpus[i]);
  g_assert_cmpmem (df1, DOCENT_HASH_EMBEDDER_N_BUCKETS * 4, df2, DOCENT_HASH_EMBEDDER_N_BUCKETS * 4);

  a = docent_hash_embedder_new_with_df (384, df1, G_N_ELEMENTS (corpus));
  b = docent_hash_embedder_new_with_df (384, df2, G_N_ELEMENTS (corpus));
  g_assert_cmpstr (docent_embedder_get_model_id (DOCENT_EMBEDDER (a)), ==,
                   docent_embedder_get_model_id (DOCENT_EMBEDDER (b)));
  g_assert_true (g_str_has_prefix (docent_embedder_get_model_id (DOCENT_EMBEDDER (a)),
                                   "hash-ngram-v2-d384-idf-"));
  g_assert_nonnull (docent_hash_embedder_get_df (a, &n_docs));
  g_assert_cmpuint (n_docs, ==, G_N_ELEMENTS (corpus));
  g_assert_null (docent_hash_embedder_get_df (plain, NULL));

  /* Other statistics, other model id: their vectors never mix. */
  docent_hash_embedder_count_df (df2, "one more passage");
  c = docent_hash_embedder_new_with_df (384, df2, G_N_ELEMENTS (corpus) + 1);
  g_assert_cmpstr (docent_embedder_get_model_id (DOCENT_EMBEDDER (a)), !=,
                   docent_embedder_get_model_id (DOCENT_EMBEDDER (c)));

  /* "the" is in every passage: with IDF it no longer makes two unrelated
   * sentences look alike. */
  g_assert_cmpfloat (similarity (DOCENT_EMBEDDER (a), "the the the matrix", "the the the vector"), <,
                     similarity (DOCENT_EMBEDDER (plain), "the the the matrix", "the the the vector"));
  g_assert_cmpfloat (similarity (DOCENT_EMBEDDER (a), "inverse matrix", corpus[0]), >,
                     similarity (DOCENT_EMBEDDER (a), "inverse matrix", corpus[2]));
}

static void
test_hash_projection (void)
{
  g_autofree guint32 *df = g_new0 (guint32, DOCENT_HASH_EMBEDDER_N_BUCKETS);
  g_autoptr(DocentHashEmbedder) base = NULL;
  g_autoptr(DocentHashEmbedder) a = NULL;
  g_autoptr(DocentHashEmbedder) b = NULL;
  g_autoptr(DocentHashEmbedder) c = NULL;
  g_autoptr(GError) error = NULL;
  const guint dim = 4, base_dim = 256;
  const float *proj;
  guint bd = 0;

  for (guint i = 0; i < G_N_ELEMENTS (corpus); i++)
    docent_hash_embedder_count_df (df, corpus[i]);
  base = docent_hash_embedder_new_with_df (base_dim, df, G_N_ELEMENTS (corpus));
  a = docent_hash_embedder_fit_projection (base, corpus, G_N_ELEMENTS (corpus), dim, NULL, &error);
  g_assert_no_error (error);
  b = docent_hash_embedder_fit_projection (base, corpus, G_N_ELEMENTS (corpus), dim, NULL, &error);
  g_assert_no_error (error);

  g_assert_cmpuint (docent_embedder_get_dim (DOCENT_EMBEDDER (a)), ==, dim);
  g_assert_true (g_str_has_prefix (docent_embedder_get_model_id (DOCENT_EMBEDDER (a)),
                                   "hash-ngram-v2-d4-lsa256-"));
  /* a fixed seed: the same passages give the same projection and id */
  g_assert_cmpstr (docent_embedder_get_model_id (DOCENT_EMBEDDER (a)), ==,
                   docent_embedder_get_model_id (DOCENT_EMBEDDER (b)));

  /* orthonormal rows */
  proj = docent_hash_embedder_get_projection (a, &bd);
  g_assert_nonnull (proj);
  g_assert_cmpuint (bd, ==, base_dim);
  for (guint i = 0; i < dim; i++)
    for (guint j = 0; j < dim; j++)
      g_assert_cmpfloat_with_epsilon (dot (proj + i * bd, proj + j * bd, bd), i == j ? 1.0 : 0.0, 1e-4);

  /* the projection keeps what the passages share: each passage is still
   * closest to itself, and unit length */
  for (guint i = 0; i < G_N_ELEMENTS (corpus); i++)
    {
      g_autofree float *v = embed (DOCENT_EMBEDDER (a), corpus[i]);
      g_assert_cmpfloat_with_epsilon (norm (v, dim), 1.0, 1e-5);
    }

  /* rebuilt from the stored matrix: the same embedder */
  c = docent_hash_embedder_new_projected (base, dim, proj);
  g_assert_cmpstr (docent_embedder_get_model_id (DOCENT_EMBEDDER (c)), ==,
                   docent_embedder_get_model_id (DOCENT_EMBEDDER (a)));
  {
    g_autofree float *va = embed (DOCENT_EMBEDDER (a), corpus[3]);
    g_autofree float *vc = embed (DOCENT_EMBEDDER (c), corpus[3]);
    g_assert_cmpmem (va, dim * sizeof (float), vc, dim * sizeof (float));
  }

  /* texts are projected in blocks (one sgemm each): a batch spanning
   * several blocks gives each text what it gets alone */
  {
    const guint n = 70;
    g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
    g_autofree float *all = g_new (float, n * dim);

    for (guint i = 0; i < n; i++)
      g_ptr_array_add (texts, g_strdup_printf ("%s %u", corpus[i % G_N_ELEMENTS (corpus)], i));
    g_assert_true (docent_embedder_embed (DOCENT_EMBEDDER (a), DOCENT_EMBED_PASSAGE,
                                          (const char * const *) texts->pdata, n, all, NULL, &error));
    for (guint i = 0; i < n; i++)
      {
        g_autofree float *alone = embed (DOCENT_EMBEDDER (a), texts->pdata[i]);
        for (guint d = 0; d < dim; d++)
          g_assert_cmpfloat_with_epsilon (all[i * dim + d], alone[d], 1e-5);
      }
  }
}

typedef struct {
  DocentEmbedder *emb;
  float          *out;
} ThreadJob;

static gpointer
embed_thread (gpointer data)
{
  ThreadJob *job = data;
  for (guint round = 0; round < 20; round++)
    g_assert_true (docent_embedder_embed (job->emb, DOCENT_EMBED_PASSAGE, corpus,
                                          G_N_ELEMENTS (corpus), job->out, NULL, NULL));
  return NULL;
}

static void
test_hash_threads (void)
{
  g_autoptr(DocentHashEmbedder) h = docent_hash_embedder_new (128);
  const gsize n = G_N_ELEMENTS (corpus) * 128;
  g_autofree float *ref = g_new (float, n);
  ThreadJob jobs[4];
  GThread *threads[4];

  g_assert_true (docent_embedder_embed (DOCENT_EMBEDDER (h), DOCENT_EMBED_PASSAGE, corpus,
                                        G_N_ELEMENTS (corpus), ref, NULL, NULL));
  for (guint i = 0; i < 4; i++)
    {
      jobs[i].emb = DOCENT_EMBEDDER (h);
      jobs[i].out = g_new (float, n);
      threads[i] = g_thread_new ("embed", embed_thread, &jobs[i]);
    }
  for (guint i = 0; i < 4; i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpmem (jobs[i].out, n * sizeof (float), ref, n * sizeof (float));
      g_free (jobs[i].out);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/embedder/interface", test_interface);
  g_test_add_func ("/embedder/hash/basics", test_hash_basics);
  g_test_add_func ("/embedder/hash/korean", test_hash_korean);
  g_test_add_func ("/embedder/hash/features", test_hash_features);
  g_test_add_func ("/embedder/hash/idf", test_hash_idf);
  g_test_add_func ("/embedder/hash/projection", test_hash_projection);
  g_test_add_func ("/embedder/hash/threads", test_hash_threads);
  return g_test_run ();
}
