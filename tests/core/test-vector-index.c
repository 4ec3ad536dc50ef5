/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "docent-vector-index.h"

/* A reference the index must agree with: every vector kept in a hash table,
 * scored one by one in double precision. */
typedef struct {
  guint       dim;
  GHashTable *rows;   /* gint64* → float[dim] */
} Reference;

static void
random_unit (GRand *rand,
             float *v,
             guint  dim)
{
  double sum = 0.0;

  for (guint i = 0; i < dim; i++)
    {
      /* Box–Muller: uniform directions on the sphere */
      double u1 = g_rand_double_range (rand, 1e-12, 1.0);
      double u2 = g_rand_double (rand);
      v[i] = (float) (sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2));
      sum += (double) v[i] * v[i];
    }
  for (guint i = 0; i < dim; i++)
    v[i] = (float) (v[i] / sqrt (sum));
}

static Reference *
reference_new (guint dim)
{
  Reference *ref = g_new0 (Reference, 1);
  ref->dim = dim;
  ref->rows = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  return ref;
}

static void
reference_free (Reference *ref)
{
  g_hash_table_unref (ref->rows);
  g_free (ref);
}

static void
reference_add (Reference   *ref,
               gint64       id,
               const float *v)
{
  g_hash_table_replace (ref->rows, g_memdup2 (&id, sizeof id),
                        g_memdup2 (v, sizeof (float) * ref->dim));
}

static int
compare_hits (gconstpointer a,
              gconstpointer b)
{
  const DocentVectorHit *x = a, *y = b;
  if (x->score != y->score)
    return x->score < y->score ? 1 : -1;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* All rows scored against @q (only those in @allow when given), best first.
 * @index, when given, supplies the stored (dequantized) rows instead of the
 * originals: that is what an int8 index must agree with. */
static GArray *
reference_rank (Reference         *ref,
                DocentVectorIndex *index,
                const float       *q,
                GHashTable        *allow)
{
  GArray *all = g_array_new (FALSE, FALSE, sizeof (DocentVectorHit));
  g_autofree float *row = g_new (float, ref->dim);
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, ref->rows);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      gint64 id = *(gint64 *) key;
      const float *v = value;
      DocentVectorHit hit = { id, 0.0f };
      double s = 0.0;

      if (allow != NULL && !g_hash_table_contains (allow, &id))
        continue;
      if (index != NULL)
        {
          g_assert_true (docent_vector_index_get_vector (index, id, row));
          v = row;
        }
      for (guint i = 0; i < ref->dim; i++)
        s += (double) v[i] * q[i];
      hit.score = (float) s;
      g_array_append_val (all, hit);
    }
  g_array_sort (all, compare_hits);
  return all;
}

static float
reference_score_of (GArray *ranked,
                    gint64  id)
{
  for (guint i = 0; i < ranked->len; i++)
    if (g_array_index (ranked, DocentVectorHit, i).id == id)
      return g_array_index (ranked, DocentVectorHit, i).score;
  g_assert_not_reached ();
  return 0.0f;
}

/* The index's top-k agrees with the reference up to @eps: every returned
 * score is right, scores come best first, and nothing the reference ranks
 * clearly higher was left out. */
static void
check_against_reference (const DocentVectorHit *hits,
                         guint                  n_hits,
                         GArray                *ranked,
                         guint                  k,
                         float                  eps)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);

  g_assert_cmpuint (n_hits, ==, MIN (k, ranked->len));
  for (guint i = 0; i < n_hits; i++)
    {
      float ref = reference_score_of (ranked, hits[i].id);
      g_assert_cmpfloat_with_epsilon (hits[i].score, ref, eps);
      if (i > 0)
        g_assert_cmpfloat (hits[i].score, <=, hits[i - 1].score);
      g_assert_false (g_hash_table_contains (seen, &hits[i].id));
      g_hash_table_add (seen, (gpointer) &hits[i].id);
    }
  if (n_hits > 0)
    for (guint i = 0; i < ranked->len; i++)
      {
        const DocentVectorHit *r = &g_array_index (ranked, DocentVectorHit, i);
        if (!g_hash_table_contains (seen, &r->id))
          g_assert_cmpfloat (r->score, <=, hits[n_hits - 1].score + eps);
      }
}

static DocentVectorIndex *
build_random (DocentVectorFormat format,
              guint              dim,
              guint              n,
              GRand             *rand,
              Reference         *ref)
{
  DocentVectorIndex *index = docent_vector_index_new (dim, format);
  g_autofree float *v = g_new (float, dim);

  for (guint i = 0; i < n; i++)
    {
      gint64 id = 1000 + 7 * (gint64) i;   /* ids are not row numbers */
      random_unit (rand, v, dim);
      docent_vector_index_add (index, id, v);
      reference_add (ref, id, v);
    }
  return index;
}

static void
run_brute_force (DocentVectorFormat format,
                 float              eps)
{
  const guint dims[] = { 384, 67, 8 };

  for (guint d = 0; d < G_N_ELEMENTS (dims); d++)
    {
      guint dim = dims[d];
      g_autoptr(GRand) rand = g_rand_new_with_seed (42 + dim);
      Reference *ref = reference_new (dim);
      g_autoptr(DocentVectorIndex) index = build_random (format, dim, 3000, rand, ref);
      g_autofree float *q = g_new (float, dim);
      DocentVectorHit hits[25];

      g_assert_cmpuint (docent_vector_index_get_n_rows (index), ==, 3000);
      for (guint t = 0; t < 10; t++)
        {
          g_autoptr(GArray) ranked = NULL;
          guint k = t == 0 ? 1 : (t == 1 ? 25 : 10);
          guint n;

          random_unit (rand, q, dim);
          ranked = reference_rank (ref, format == DOCENT_VECTOR_I8 ? index : NULL, q, NULL);
          n = docent_vector_index_search (index, q, k, NULL, 0, hits);
          check_against_reference (hits, n, ranked, k, eps);
        }
      reference_free (ref);
    }
}

static void
test_f32_brute_force (void)
{
  run_brute_force (DOCENT_VECTOR_F32, 1e-5f);
}

static void
test_i8_brute_force (void)
{
  /* Against the stored int8 rows the only error left is the query's int16
   * rounding. */
  run_brute_force (DOCENT_VECTOR_I8, 2e-4f);
}

static void
test_i8_recall (void)
{
  /* int8 against the exact float32 ranking: the quantization error must be
   * small enough to keep nearly all true neighbours. Clustered data, like
   * real passages, where near neighbours are well separated. */
  const guint dim = 384, n = 4000, k = 10;
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autoptr(DocentVectorIndex) f32 = docent_vector_index_new (dim, DOCENT_VECTOR_F32);
  g_autoptr(DocentVectorIndex) i8 = docent_vector_index_new (dim, DOCENT_VECTOR_I8);
  g_autofree float *centres = g_new (float, 50 * dim);
  g_autofree float *v = g_new (float, dim);
  g_autofree float *noise = g_new (float, dim);
  guint found = 0, total = 0;
  double max_err = 0.0;

  for (guint c = 0; c < 50; c++)
    random_unit (rand, centres + c * dim, dim);
  for (guint i = 0; i < n; i++)
    {
      const float *c = centres + (i % 50) * dim;
      double sum = 0.0;
      random_unit (rand, noise, dim);
      for (guint j = 0; j < dim; j++)
        {
          v[j] = c[j] + 0.8f * noise[j];
          sum += (double) v[j] * v[j];
        }
      for (guint j = 0; j < dim; j++)
        v[j] = (float) (v[j] / sqrt (sum));
      docent_vector_index_add (f32, i, v);
      docent_vector_index_add (i8, i, v);
    }
  for (guint t = 0; t < 20; t++)
    {
      DocentVectorHit a[10], b[10];
      guint na, nb;

      docent_vector_index_get_vector (f32, g_rand_int_range (rand, 0, n), v);
      na = docent_vector_index_search (f32, v, k, NULL, 0, a);
      nb = docent_vector_index_search (i8, v, k, NULL, 0, b);
      g_assert_cmpuint (na, ==, k);
      g_assert_cmpuint (nb, ==, k);
      for (guint i = 0; i < k; i++)
        for (guint j = 0; j < k; j++)
          if (a[i].id == b[j].id)
            {
              found++;
              max_err = MAX (max_err, fabs (a[i].score - b[j].score));
            }
      total += k;
    }
  g_test_message ("int8 recall@10 %.3f, max score error %.4f", (double) found / total, max_err);
  g_assert_cmpfloat ((double) found / total, >=, 0.9);
  g_assert_cmpfloat (max_err, <, 0.02);
}

static void
run_allow_list (DocentVectorFormat format)
{
  const guint dim = 48;
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  Reference *ref = reference_new (dim);
  g_autoptr(DocentVectorIndex) index = build_random (format, dim, 2000, rand, ref);
  g_autofree float *q = g_new (float, dim);
  /* sizes on both sides of the gather/mask switch, with an unknown id and a
   * duplicate thrown in */
  const guint sizes[] = { 1, 5, 100, 1500 };

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      g_autoptr(GArray) allow = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_autoptr(GHashTable) allowed = g_hash_table_new (g_int64_hash, g_int64_equal);
      g_autoptr(GArray) ranked = NULL;
      DocentVectorHit hits[10];
      gint64 unknown = -5;
      guint n;

      for (guint i = 0; i < sizes[s]; i++)
        {
          gint64 id = 1000 + 7 * (gint64) g_rand_int_range (rand, 0, 2000);
          g_array_append_val (allow, id);
        }
      g_array_append_val (allow, unknown);
      {
        gint64 dup = g_array_index (allow, gint64, 0);   /* not a pointer into allow */
        g_array_append_val (allow, dup);
      }
      for (guint i = 0; i < allow->len; i++)
        if (g_array_index (allow, gint64, i) != unknown)
          g_hash_table_add (allowed, &g_array_index (allow, gint64, i));

      random_unit (rand, q, dim);
      ranked = reference_rank (ref, format == DOCENT_VECTOR_I8 ? index : NULL, q, allowed);
      n = docent_vector_index_search (index, q, 10, (const gint64 *) allow->data, allow->len, hits);
      check_against_reference (hits, n, ranked, 10, 2e-4f);
      for (guint i = 0; i < n; i++)
        g_assert_true (g_hash_table_contains (allowed, &hits[i].id));
    }

  /* An empty allow-list allows nothing (NULL allows everything). */
  {
    DocentVectorHit hits[10];
    gint64 none = 0;
    g_assert_cmpuint (docent_vector_index_search (index, q, 10, &none, 0, hits), ==, 0);
    g_assert_cmpuint (docent_vector_index_search (index, q, 10, NULL, 0, hits), ==, 10);
  }
  reference_free (ref);
}

static void
test_allow_list_f32 (void)
{
  run_allow_list (DOCENT_VECTOR_F32);
}

static void
test_allow_list_i8 (void)
{
  run_allow_list (DOCENT_VECTOR_I8);
}

static void
run_add_remove (DocentVectorFormat format)
{
  const guint dim = 32;
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  Reference *ref = reference_new (dim);
  g_autoptr(DocentVectorIndex) index = docent_vector_index_new (dim, format);
  g_autofree float *v = g_new (float, dim);
  g_autofree float *got = g_new (float, dim);
  gint64 next_id = 1;

  /* Random interleaving of adds, replacements and removals, checked against
   * the reference after every round. */
  for (guint round = 0; round < 30; round++)
    {
      for (guint i = 0; i < 60; i++)
        {
          guint op = g_rand_int_range (rand, 0, 10);
          guint n_ref = g_hash_table_size (ref->rows);

          if (op < 5 || n_ref == 0)
            {
              random_unit (rand, v, dim);
              docent_vector_index_add (index, next_id, v);
              reference_add (ref, next_id, v);
              next_id++;
            }
          else
            {
              gint64 id = g_rand_int_range (rand, 1, (gint32) next_id);
              gboolean present = g_hash_table_contains (ref->rows, &id);
              if (op < 7)
                {
                  random_unit (rand, v, dim);
                  docent_vector_index_add (index, id, v);
                  reference_add (ref, id, v);
                }
              else
                {
                  g_assert_cmpint (docent_vector_index_remove (index, id), ==, present);
                  g_hash_table_remove (ref->rows, &id);
                }
            }
        }

      g_assert_cmpuint (docent_vector_index_get_n_rows (index), ==, g_hash_table_size (ref->rows));
      {
        GHashTableIter iter;
        gpointer key, value;
        g_hash_table_iter_init (&iter, ref->rows);
        while (g_hash_table_iter_next (&iter, &key, &value))
          {
            g_assert_true (docent_vector_index_contains (index, *(gint64 *) key));
            g_assert_true (docent_vector_index_get_vector (index, *(gint64 *) key, got));
            for (guint j = 0; j < dim; j++)
              g_assert_cmpfloat_with_epsilon (got[j], ((float *) value)[j],
                                              format == DOCENT_VECTOR_I8 ? 0.01f : 1e-7f);
          }
        for (gint64 id = 1; id < next_id; id++)
          g_assert_cmpint (docent_vector_index_contains (index, id), ==,
                           g_hash_table_contains (ref->rows, &id));
      }
      {
        g_autoptr(GArray) ranked = NULL;
        DocentVectorHit hits[10];
        guint n;
        random_unit (rand, v, dim);
        ranked = reference_rank (ref, format == DOCENT_VECTOR_I8 ? index : NULL, v, NULL);
        n = docent_vector_index_search (index, v, 10, NULL, 0, hits);
        check_against_reference (hits, n, ranked, 10, 2e-4f);
      }
    }

  docent_vector_index_clear (index);
  g_assert_cmpuint (docent_vector_index_get_n_rows (index), ==, 0);
  g_assert_false (docent_vector_index_contains (index, 1));
  reference_free (ref);
}

static void
test_add_remove_f32 (void)
{
  run_add_remove (DOCENT_VECTOR_F32);
}

static void
test_add_remove_i8 (void)
{
  run_add_remove (DOCENT_VECTOR_I8);
}

static void
run_search_many (DocentVectorFormat format)
{
  const guint dim = 100, nq = 7, k = 8;
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  Reference *ref = reference_new (dim);
  g_autoptr(DocentVectorIndex) index = build_random (format, dim, 2500, rand, ref);
  g_autofree float *qs = g_new (float, nq * dim);
  DocentVectorHit many[7 * 8], one[8];
  guint n_many[7];
  gint64 allow[300];

  for (guint q = 0; q < nq; q++)
    random_unit (rand, qs + q * dim, dim);
  for (guint i = 0; i < G_N_ELEMENTS (allow); i++)
    allow[i] = 1000 + 7 * (gint64) (i * 5);

  for (guint with_allow = 0; with_allow < 2; with_allow++)
    {
      docent_vector_index_search_many (index, qs, nq, k, with_allow ? allow : NULL,
                                       with_allow ? G_N_ELEMENTS (allow) : 0, many, n_many);
      for (guint q = 0; q < nq; q++)
        {
          guint n = docent_vector_index_search (index, qs + q * dim, k, with_allow ? allow : NULL,
                                                with_allow ? G_N_ELEMENTS (allow) : 0, one);
          g_assert_cmpuint (n, ==, n_many[q]);
          for (guint i = 0; i < n; i++)
            {
              g_assert_cmpint (one[i].id, ==, many[q * k + i].id);
              g_assert_cmpfloat_with_epsilon (one[i].score, many[q * k + i].score, 1e-5);
            }
        }
    }
  reference_free (ref);
}

static void
test_search_many_f32 (void)
{
  run_search_many (DOCENT_VECTOR_F32);
}

static void
test_search_many_i8 (void)
{
  run_search_many (DOCENT_VECTOR_I8);
}

static void
test_edge_cases (void)
{
  g_autoptr(DocentVectorIndex) index = docent_vector_index_new (4, DOCENT_VECTOR_F32);
  const float a[4] = { 1, 0, 0, 0 }, b[4] = { 0, 1, 0, 0 };
  DocentVectorHit hits[5];

  /* empty index */
  g_assert_cmpuint (docent_vector_index_search (index, a, 5, NULL, 0, hits), ==, 0);
  g_assert_false (docent_vector_index_remove (index, 1));

  /* equal scores: lower id first, whatever the insertion order */
  docent_vector_index_add (index, 30, a);
  docent_vector_index_add (index, 10, a);
  docent_vector_index_add (index, 20, a);
  docent_vector_index_add (index, 40, b);
  g_assert_cmpuint (docent_vector_index_search (index, a, 5, NULL, 0, hits), ==, 4);
  g_assert_cmpint (hits[0].id, ==, 10);
  g_assert_cmpint (hits[1].id, ==, 20);
  g_assert_cmpint (hits[2].id, ==, 30);
  g_assert_cmpint (hits[3].id, ==, 40);
  g_assert_cmpfloat_with_epsilon (hits[0].score, 1.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (hits[3].score, 0.0, 1e-6);
  g_assert_cmpuint (docent_vector_index_search (index, a, 0, NULL, 0, hits), ==, 0);

  /* int8 matrix is a quarter of the float one, plus a scale per row */
  {
    g_autoptr(DocentVectorIndex) i8 = docent_vector_index_new (384, DOCENT_VECTOR_I8);
    g_autoptr(DocentVectorIndex) f32 = docent_vector_index_new (384, DOCENT_VECTOR_F32);
    g_autofree float *v = g_new0 (float, 384);
    v[0] = 1.0f;
    docent_vector_index_add (i8, 1, v);
    docent_vector_index_add (f32, 1, v);
    g_assert_cmpuint (docent_vector_index_get_matrix_bytes (i8), ==, 384 + 4);
    g_assert_cmpuint (docent_vector_index_get_matrix_bytes (f32), ==, 384 * 4);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vector-index/f32/brute-force", test_f32_brute_force);
  g_test_add_func ("/vector-index/i8/brute-force", test_i8_brute_force);
  g_test_add_func ("/vector-index/i8/recall", test_i8_recall);
  g_test_add_func ("/vector-index/f32/allow-list", test_allow_list_f32);
  g_test_add_func ("/vector-index/i8/allow-list", test_allow_list_i8);
  g_test_add_func ("/vector-index/f32/add-remove", test_add_remove_f32);
  g_test_add_func ("/vector-index/i8/add-remove", test_add_remove_i8);
  g_test_add_func ("/vector-index/f32/search-many", test_search_many_f32);
  g_test_add_func ("/vector-index/i8/search-many", test_search_many_i8);
  g_test_add_func ("/vector-index/edge-cases", test_edge_cases);
  return g_test_run ();
}
