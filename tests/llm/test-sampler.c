/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The sampler (llm-decoder.h) by its distributions: with a seeded generator
 * the frequencies of many draws are the softmax of the logits over the kept
 * set, for temperature, top-k, top-p and min-p; the repetition penalty
 * divides positive logits and multiplies negative ones over the last N
 * tokens only; seeds repeat. Bounds are 5 standard deviations of a binomial,
 * so a correct sampler fails with a chance far below one in a million. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "llm-decoder.h"

#define N_VOCAB 8
static const float logits0[N_VOCAB] = { 0.1f, 2.0f, 0.3f, 1.9f, -1.0f, 0.0f, 1.5f, 0.2f };

static void
params_plain (llm_sampling *p, float temperature)
{
  llm_sampling_defaults (p);
  p->temperature = temperature;
  p->top_k = 0;
  p->top_p = 1.0f;
  p->min_p = 0.0f;
  p->repeat_penalty = 1.0f;
  p->seed = 1234;
}

/* Draws @n tokens; counts[i] of each. */
static void
draw (const llm_sampling *p, int n, int *counts)
{
  llm_sampler *s = llm_sampler_new (p);
  memset (counts, 0, N_VOCAB * sizeof (int));
  for (int i = 0; i < n; i++)
    {
      float l[N_VOCAB];
      memcpy (l, logits0, sizeof l);
      LlmToken t = llm_sampler_sample (s, l, N_VOCAB, NULL, 0);
      g_assert_cmpint (t, >=, 0);
      g_assert_cmpint (t, <, N_VOCAB);
      counts[t]++;
    }
  llm_sampler_free (s);
}

/* The frequencies match softmax(logits / T) restricted to @keep. */
static void
check (const char *what, const int *counts, int n, float temperature, const bool *keep)
{
  double p[N_VOCAB], sum = 0;

  for (int i = 0; i < N_VOCAB; i++)
    sum += p[i] = keep[i] ? exp (logits0[i] / temperature) : 0;
  for (int i = 0; i < N_VOCAB; i++)
    {
      double want = n * p[i] / sum, sd = sqrt (n * (p[i] / sum) * (1 - p[i] / sum));
      g_test_message ("%s: token %d drawn %d times, expected %.0f ± %.0f", what, i, counts[i], want, sd);
      if (!keep[i])
        g_assert_cmpint (counts[i], ==, 0);
      else
        g_assert_cmpfloat (fabs (counts[i] - want), <=, 5 * sd + 1);
    }
}

/* Indices of logits0 by value: 1 (2.0), 3 (1.9), 6 (1.5), 2 (0.3), 7 (0.2),
 * 0 (0.1), 5 (0.0), 4 (-1.0). */

static void
test_temperature (void)
{
  const bool all[N_VOCAB] = { 1, 1, 1, 1, 1, 1, 1, 1 };
  int counts[N_VOCAB];
  llm_sampling p;

  for (gsize i = 0; i < 3; i++)
    {
      const float t[] = { 1.0f, 0.5f, 2.0f };
      params_plain (&p, t[i]);
      draw (&p, 100000, counts);
      check ("temperature", counts, 100000, t[i], all);
    }
}

static void
test_greedy (void)
{
  int counts[N_VOCAB];
  llm_sampling p;

  params_plain (&p, 0.0f);
  draw (&p, 100, counts);
  g_assert_cmpint (counts[1], ==, 100);
}

static void
test_top_k (void)
{
  const bool top3[N_VOCAB] = { 0, 1, 0, 1, 0, 0, 1, 0 };
  int counts[N_VOCAB];
  llm_sampling p;

  params_plain (&p, 1.0f);
  p.top_k = 3;
  draw (&p, 50000, counts);
  check ("top-k 3", counts, 50000, 1.0f, top3);
}

static void
test_top_p (void)
{
  /* softmax at T=1: 1 → 0.309, 3 → 0.280, 6 → 0.187, the rest 0.224 in
   * all. top-p 0.5 keeps {1, 3} (0.589 ≥ 0.5); 0.7 keeps {1, 3, 6}. */
  const bool two[N_VOCAB] = { 0, 1, 0, 1, 0, 0, 0, 0 };
  const bool three[N_VOCAB] = { 0, 1, 0, 1, 0, 0, 1, 0 };
  int counts[N_VOCAB];
  llm_sampling p;

  params_plain (&p, 1.0f);
  p.top_p = 0.5f;
  draw (&p, 50000, counts);
  check ("top-p 0.5", counts, 50000, 1.0f, two);
  p.top_p = 0.7f;
  draw (&p, 50000, counts);
  check ("top-p 0.7", counts, 50000, 1.0f, three);
}

static void
test_min_p (void)
{
  /* Relative to the best: 3 → e^-0.1 = 0.90, 6 → e^-0.5 = 0.61,
   * 2 → e^-1.7 = 0.18, 7 → 0.165, 0 → 0.15, 5 → 0.135, 4 → 0.05. */
  const bool half[N_VOCAB] = { 0, 1, 0, 1, 0, 0, 1, 0 };
  const bool tenth[N_VOCAB] = { 1, 1, 1, 1, 0, 1, 1, 1 };
  int counts[N_VOCAB];
  llm_sampling p;

  params_plain (&p, 1.0f);
  p.min_p = 0.5f;
  draw (&p, 50000, counts);
  check ("min-p 0.5", counts, 50000, 1.0f, half);
  p.min_p = 0.1f;
  draw (&p, 50000, counts);
  check ("min-p 0.1", counts, 50000, 1.0f, tenth);
}

static void
test_seed (void)
{
  llm_sampling p;
  llm_sampler *a, *b, *c;
  int same = 0;

  params_plain (&p, 1.0f);
  a = llm_sampler_new (&p);
  b = llm_sampler_new (&p);
  p.seed = 99;
  c = llm_sampler_new (&p);
  for (int i = 0; i < 200; i++)
    {
      float la[N_VOCAB], lb[N_VOCAB], lc[N_VOCAB];
      memcpy (la, logits0, sizeof la);
      memcpy (lb, logits0, sizeof lb);
      memcpy (lc, logits0, sizeof lc);
      LlmToken x = llm_sampler_sample (a, la, N_VOCAB, NULL, 0);
      g_assert_cmpint (x, ==, llm_sampler_sample (b, lb, N_VOCAB, NULL, 0));
      same += x == llm_sampler_sample (c, lc, N_VOCAB, NULL, 0);
    }
  g_assert_cmpint (same, <, 150);   /* another seed, another sequence */
  llm_sampler_free (a);
  llm_sampler_free (b);
  llm_sampler_free (c);
}

static void
test_repeat_penalty (void)
{
  llm_sampling p;
  llm_sampler *s;
  float l[N_VOCAB];
  /* 1 (2.0) and 4 (-1.0) were seen, but 4 is older than the window. */
  const LlmToken hist[] = { 4, 0, 1, 5 };

  params_plain (&p, 0.0f);
  p.repeat_penalty = 2.0f;
  p.repeat_last_n = 3;
  s = llm_sampler_new (&p);
  memcpy (l, logits0, sizeof l);
  g_assert_cmpint (llm_sampler_sample (s, l, N_VOCAB, hist, G_N_ELEMENTS (hist)), ==, 3);
  g_assert_cmpfloat_with_epsilon (l[1], 1.0f, 1e-6);    /* 2.0 / 2 */
  g_assert_cmpfloat_with_epsilon (l[0], 0.05f, 1e-6);   /* 0.1 / 2 */
  g_assert_cmpfloat_with_epsilon (l[5], 0.0f, 1e-6);    /* 0 stays 0 */
  g_assert_cmpfloat_with_epsilon (l[4], -1.0f, 1e-6);   /* outside the window */
  llm_sampler_free (s);

  /* A negative logit in the window is multiplied (pushed further down). */
  {
    const LlmToken h2[] = { 4 };
    s = llm_sampler_new (&p);
    memcpy (l, logits0, sizeof l);
    llm_sampler_sample (s, l, N_VOCAB, h2, 1);
    g_assert_cmpfloat_with_epsilon (l[4], -2.0f, 1e-6);
    llm_sampler_free (s);
  }
}

/* A vocabulary of 150,000 with many equal logits: top-k draws only from
 * the k best (ties broken by id), min-p only above its floor, and the
 * whole-vocabulary path (top-p alone) still follows the softmax. */
static void
test_large_vocabulary (void)
{
  const int n = 150000;
  float *base = g_new (float, n), *l = g_new (float, n);
  llm_sampling p;
  llm_sampler *s;
  int seen_top[5] = { 0 };
  GRand *rand = g_rand_new_with_seed (3);

  for (int i = 0; i < n; i++)   /* values on a grid of 0.25: many ties */
    base[i] = (float) g_rand_int_range (rand, 0, 40) * 0.25f;
  base[777] = 12.0f;
  base[5] = base[90000] = base[123] = 11.0f;   /* 5 < 123 < 90000 */
  base[4242] = 10.9f;
  g_rand_free (rand);

  params_plain (&p, 1.0f);
  p.top_k = 5;
  s = llm_sampler_new (&p);
  for (int i = 0; i < 300; i++)
    {
      const int top[5] = { 777, 5, 123, 90000, 4242 };
      LlmToken t;
      int j;
      memcpy (l, base, n * sizeof (float));
      t = llm_sampler_sample (s, l, n, NULL, 0);
      for (j = 0; j < 5 && top[j] != t; j++)
        ;
      g_assert_cmpint (j, <, 5);
      seen_top[j]++;
    }
  for (int j = 0; j < 5; j++)
    g_assert_cmpint (seen_top[j], >, 0);
  llm_sampler_free (s);

  /* min-p 0.3 of e^12: 777, the 11.0s (e^-1 = 0.37) and 4242 (e^-1.1 = 0.33). */
  params_plain (&p, 1.0f);
  p.min_p = 0.3f;
  s = llm_sampler_new (&p);
  for (int i = 0; i < 200; i++)
    {
      LlmToken t;
      memcpy (l, base, n * sizeof (float));
      t = llm_sampler_sample (s, l, n, NULL, 0);
      g_assert_true (t == 777 || t == 5 || t == 123 || t == 90000 || t == 4242);
    }
  llm_sampler_free (s);

  /* top-p alone sorts everything: the best token's share is its softmax
   * (777 raised to 20 for this part, about 0.6). */
  {
    double z = 0, p777;
    int hits = 0;
    base[777] = 20.0f;
    for (int i = 0; i < n; i++)
      z += exp (base[i]);
    p777 = exp (20.0) / z;
    params_plain (&p, 1.0f);
    p.top_p = 0.999f;
    s = llm_sampler_new (&p);
    for (int i = 0; i < 100; i++)
      {
        memcpy (l, base, n * sizeof (float));
        hits += llm_sampler_sample (s, l, n, NULL, 0) == 777;
      }
    g_test_message ("token 777 drawn %d of 100 times, expected %.1f", hits, 100 * p777);
    g_assert_cmpfloat (fabs (hits - 100 * p777), <=, 5 * sqrt (100 * p777 * (1 - p777)) + 1);
    llm_sampler_free (s);
  }
  g_free (base);
  g_free (l);
}

/* The plain loop llm_argmax must agree with: the first index of the
 * largest value. */
static int
argmax_plain (const float *v, int n)
{
  int best = 0;
  for (int i = 1; i < n; i++)
    if (v[i] > v[best])
      best = i;
  return best;
}

/* Lengths around the sixteen lanes and a vocabulary's, the maximum at every
 * place (first, last, in the tail after the last whole group), ties (the
 * first wins), all equal, all negative, and NaNs (never chosen). */
static void
test_argmax (void)
{
  static const int lengths[] = { 1, 2, 15, 16, 17, 31, 32, 33, 100, 32000, 32001 };
  GRand *rng = g_rand_new_with_seed (7);
  float *v = g_new (float, 32001);

  for (size_t li = 0; li < G_N_ELEMENTS (lengths); li++)
    {
      int n = lengths[li];
      for (int trial = 0; trial < 40; trial++)
        {
          for (int i = 0; i < n; i++)
            v[i] = (float) g_rand_double_range (rng, -8.0, trial % 2 ? 8.0 : -1.0);
          if (trial % 5 == 1)
            v[n - 1] = 100.0f;                             /* last, maybe in the tail */
          if (trial % 5 == 2)
            v[0] = 100.0f;
          if (trial % 5 == 3)                               /* ties: the first wins */
            v[g_rand_int_range (rng, 0, n)] = v[g_rand_int_range (rng, 0, n)] = 50.0f;
          if (trial % 5 == 4 && n > 2)
            v[g_rand_int_range (rng, 1, n)] = NAN;
          if (trial == 39)
            for (int i = 0; i < n; i++)
              v[i] = -3.0f;
          g_assert_cmpint (llm_argmax (v, n), ==, argmax_plain (v, n));
        }
    }
  v[0] = NAN;
  v[1] = 5.0f;
  g_assert_cmpint (llm_argmax (v, 2), ==, argmax_plain (v, 2));
  g_assert_cmpint (llm_argmax (v, 0), ==, 0);
  g_free (v);
  g_rand_free (rng);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sampler/greedy", test_greedy);
  g_test_add_func ("/sampler/temperature", test_temperature);
  g_test_add_func ("/sampler/top-k", test_top_k);
  g_test_add_func ("/sampler/top-p", test_top_p);
  g_test_add_func ("/sampler/min-p", test_min_p);
  g_test_add_func ("/sampler/seed", test_seed);
  g_test_add_func ("/sampler/repeat-penalty", test_repeat_penalty);
  g_test_add_func ("/sampler/large-vocabulary", test_large_vocabulary);
  g_test_add_func ("/sampler/argmax", test_argmax);
  return g_test_run ();
}
