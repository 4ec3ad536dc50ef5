/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The decoder on the real model in shared/models (trained for this project
 * on the R manuals): perplexities against the values an independent GGUF
 * runtime measured, greedy output word for word, KV-cache decoding against
 * batch prefill, our own quantizations against the reference table, and
 * clear errors for files that are not decoder models. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "llm-decoder.h"
#include "llm-quantize.h"

static char *
shared_path (const char *rel)
{
  const char *dir = g_getenv ("DOCENT_SHARED_DIR");
  return dir ? g_build_filename (dir, rel, NULL) : NULL;
}

static llm_decoder *
load (const char *rel, int n_ctx)
{
  g_autofree char *path = shared_path (rel);
  char err[256] = "";
  llm_decoder *d;

  if (path == NULL || !g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;
  d = llm_decoder_load (path, n_ctx, 0, err, sizeof err);
  if (d == NULL)
    g_error ("%s: %s", path, err);
  return d;
}

static double
perplexity_of (llm_decoder *d)
{
  g_autofree char *text_path = shared_path ("models/R-lang.txt");
  g_autofree char *text = NULL;
  gsize len;
  size_t n_tokens, scored, windows;
  LlmToken *tokens;
  double ppl;

  g_assert_true (g_file_get_contents (text_path, &text, &len, NULL));
  tokens = llm_tokenize (llm_decoder_vocab (d), text, len, LLM_TOKENIZE_ADD_SPECIAL, &n_tokens);
  g_assert_cmpuint (n_tokens, ==, 40009);
  ppl = llm_decoder_perplexity (d, tokens, n_tokens, &scored, &windows);
  g_assert_cmpuint (windows, ==, 156);
  g_assert_cmpuint (scored, ==, 19812);
  free (tokens);
  return ppl;
}

static void
check_ppl (const char *what, double got, double want, double rel_tol, gboolean or_better)
{
  g_test_message ("%s: perplexity %.4f (reference %.4f, %+.4f%%)", what, got, want, 100 * (got - want) / want);
  /* "no worse than the table": no allowance for summation order */
  if (or_better)
    g_assert_cmpfloat (got, <=, want);
  else
    g_assert_cmpfloat (fabs (got - want) / want, <=, rel_tol);
}

static void
test_perplexity_f16 (void)
{
  llm_decoder *d = load ("models/rman-llama-12m-f16.gguf", 256);
  if (d == NULL)
    {
      g_test_skip ("shared/models is not there");
      return;
    }
  check_ppl ("F16", perplexity_of (d), 38.8802, 0.0005, FALSE);
  llm_decoder_free (d);
}

static void
test_perplexity_q8_0 (void)
{
  llm_decoder *d = load ("models/rman-llama-12m-q8_0.gguf", 256);
  if (d == NULL)
    {
      g_test_skip ("shared/models is not there");
      return;
    }
  check_ppl ("Q8_0", perplexity_of (d), 38.8992, 0.0005, FALSE);
  llm_decoder_free (d);
}

/* Docent's own quantizer on the F16 file, measured by the engine: Q8_0
 * (fully determined by its input) within summation order of the table,
 * Q4_0 no worse than it (Q6_K and Q4_K_M: test-model.c). */
static void
test_own_quantizations (void)
{
  g_autofree char *f16 = shared_path ("models/rman-llama-12m-f16.gguf");
  g_autofree char *dir = g_dir_make_tmp ("docent-decoder-XXXXXX", NULL);
  struct { int ftype; const char *name; double want; gboolean or_better; } cases[] = {
    { LLM_FTYPE_Q8_0, "Q8_0", 38.8922, FALSE },
    { LLM_FTYPE_Q4_0, "Q4_0", 39.0139, TRUE },
  };

  if (f16 == NULL || !g_file_test (f16, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("shared/models is not there");
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = g_strdup_printf ("%s/%s.gguf", dir, cases[i].name);
      llm_quantize_params params = { cases[i].ftype, 0, NULL, NULL, NULL };
      llm_quantize_result result;
      char err[256] = "";
      llm_decoder *d;

      g_assert_true (llm_quantize_file (f16, out, &params, &result, err, sizeof err));
      d = llm_decoder_load (out, 256, 0, err, sizeof err);
      g_assert_nonnull (d);
      /* Summation order differs from the reference runtime by ~0.03%. */
      check_ppl (cases[i].name, perplexity_of (d), cases[i].want, 0.0005, cases[i].or_better);
      llm_decoder_free (d);
      g_remove (out);
    }
  g_rmdir (dir);
}

static void
test_greedy (void)
{
  llm_decoder *d = load ("models/rman-llama-12m-f16.gguf", 256);
  const char *prompt = "To fit a linear model in R, use the function";
  const char *want = " to specify the\n    function, the function is called with the function and the function.\n"
                     "    The function is a generic function, but the generic function is the generic function.\n"
                     "    The function";
  llm_sampling params;
  LlmToken out[40];
  LlmToken *ids;
  size_t n_ids;
  int n;
  char *text;

  if (d == NULL)
    {
      g_test_skip ("shared/models is not there");
      return;
    }
  llm_sampling_defaults (&params);
  params.temperature = 0;
  params.repeat_penalty = 1.0f;
  ids = llm_tokenize (llm_decoder_vocab (d), prompt, strlen (prompt), LLM_TOKENIZE_ADD_SPECIAL, &n_ids);
  n = llm_generate (d, ids, n_ids, &params, 40, NULL, NULL, NULL, out, NULL, NULL);
  g_assert_cmpint (n, ==, 40);
  /* A continuation: each token's own text, the leading space kept (a
   * whole-sequence detokenize would drop it). */
  {
    GString *s = g_string_new (NULL);
    for (int i = 0; i < n; i++)
      {
        char piece[64];
        size_t len = llm_token_to_piece (llm_decoder_vocab (d), out[i], false, piece, sizeof piece);
        g_string_append_len (s, piece, MIN (len, sizeof piece));
      }
    text = g_string_free (s, FALSE);
  }
  g_assert_cmpstr (text, ==, want);
  g_free (text);
  free (ids);
  llm_decoder_free (d);
}

/* Decoding token by token through the KV cache gives the logits that one
 * batch over the same tokens gives, to within the cache's F16 rounding. */
static void
test_kv_cache_matches_prefill (void)
{
  llm_decoder *d = load ("models/rman-llama-12m-q8_0.gguf", 64);
  const char *text = "The apply family of functions in R applies a function over the margins of an array.";
  LlmToken *ids;
  size_t n;
  float *batch, *step;
  int V;

  if (d == NULL)
    {
      g_test_skip ("shared/models is not there");
      return;
    }
  V = llm_decoder_n_vocab (d);
  ids = llm_tokenize (llm_decoder_vocab (d), text, strlen (text), LLM_TOKENIZE_ADD_SPECIAL, &n);
  batch = g_new (float, n * V);
  step = g_new (float, V);
  g_assert_true (llm_decoder_eval (d, ids, (int) n, TRUE, batch));
  llm_decoder_reset (d);
  for (size_t t = 0; t < n; t++)
    {
      double max_diff = 0, ss = 0;
      g_assert_true (llm_decoder_eval (d, &ids[t], 1, FALSE, step));
      for (int j = 0; j < V; j++)
        {
          max_diff = MAX (max_diff, fabs (step[j] - batch[t * V + j]));
          ss += (double) batch[t * V + j] * batch[t * V + j];
        }
      g_test_message ("token %zu: largest difference %.3g, logits' RMS %.3g", t, max_diff, sqrt (ss / V));
      /* The two paths' float sums differ in the last bits, and a key or
       * value on the edge between two F16 values can be cached as either
       * (measured: 2e-6 for most tokens, at most 0.9% of the RMS). */
      g_assert_cmpfloat (max_diff, <, 0.02 * sqrt (ss / V));
    }
  /* A full context refuses more tokens instead of writing past the cache. */
  llm_decoder_reset (d);
  {
    LlmToken many[65] = { 0 };
    for (int i = 0; i < 65; i++)
      many[i] = ids[i % n];
    g_assert_false (llm_decoder_eval (d, many, 65, FALSE, step));
  }
  g_free (batch);
  g_free (step);
  free (ids);
  llm_decoder_free (d);
}

/* Seeded sampling repeats itself; top-k 1 is greedy. */
static void
test_sampler (void)
{
  float logits[8] = { 0.1f, 2.0f, 0.3f, 1.9f, -1.0f, 0.0f, 1.5f, 0.2f };
  llm_sampling p;
  llm_sampler *a, *b;
  int counts[8] = { 0 };

  llm_sampling_defaults (&p);
  p.seed = 42;
  p.repeat_penalty = 1.0f;
  p.top_k = 0; p.top_p = 1.0f; p.min_p = 0.0f; p.temperature = 1.0f;
  a = llm_sampler_new (&p);
  b = llm_sampler_new (&p);
  for (int i = 0; i < 2000; i++)
    {
      float la[8], lb[8];
      memcpy (la, logits, sizeof la);
      memcpy (lb, logits, sizeof lb);
      LlmToken x = llm_sampler_sample (a, la, 8, NULL, 0);
      g_assert_cmpint (x, ==, llm_sampler_sample (b, lb, 8, NULL, 0));
      counts[x]++;
    }
  /* Roughly softmax: token 1 (2.0) is drawn more than token 4 (-1.0). */
  g_assert_cmpint (counts[1], >, counts[4] * 5);
  llm_sampler_free (a);
  llm_sampler_free (b);

  p.top_k = 1;
  a = llm_sampler_new (&p);
  for (int i = 0; i < 50; i++)
    {
      float l[8];
      memcpy (l, logits, sizeof l);
      g_assert_cmpint (llm_sampler_sample (a, l, 8, NULL, 0), ==, 1);
    }
  llm_sampler_free (a);

  /* A repeated token is penalised below its rival. */
  p.temperature = 0; p.repeat_penalty = 1.2f; p.repeat_last_n = 4;
  a = llm_sampler_new (&p);
  {
    float l[8];
    LlmToken hist[] = { 1 };
    memcpy (l, logits, sizeof l);
    g_assert_cmpint (llm_sampler_sample (a, l, 8, hist, 1), ==, 3);
  }
  llm_sampler_free (a);
}

static void
test_bad_files (void)
{
  g_autofree char *bert = shared_path ("tokenizers/ggml-vocab-bert-bge.gguf");
  g_autofree char *spm = shared_path ("tokenizers/ggml-vocab-llama-spm.gguf");
  g_autofree char *junk = g_build_filename (g_get_tmp_dir (), "docent-not-a-model.gguf", NULL);
  char err[256];

  if (bert == NULL || !g_file_test (bert, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("shared/tokenizers is not there");
      return;
    }
  err[0] = '\0';
  g_assert_null (llm_decoder_load (bert, 0, 1, err, sizeof err));
  g_test_message ("bert vocab: %s", err);
  g_assert_nonnull (strstr (err, "not supported"));
  /* A llama vocabulary without weights. */
  err[0] = '\0';
  g_assert_null (llm_decoder_load (spm, 0, 1, err, sizeof err));
  g_test_message ("vocab only: %s", err);
  g_assert_true (strstr (err, "lacks") != NULL);
  g_assert_true (g_file_set_contents (junk, "GGUF but not really", -1, NULL));
  err[0] = '\0';
  g_assert_null (llm_decoder_load (junk, 0, 1, err, sizeof err));
  g_assert_cmpstr (err, !=, "");
  g_remove (junk);
}

/* The same through the command line: JSON shapes and the greedy text. */
static void
test_cli (void)
{
  g_autofree char *model = shared_path ("models/rman-llama-12m-f16.gguf");
  g_autofree char *lang = shared_path ("models/R-lang.txt");
  g_autofree char *small = g_build_filename (g_get_tmp_dir (), "docent-ppl-small.txt", NULL);
  g_autofree char *text = NULL;
  const char *bin = g_getenv ("DOCENT_BIN");
  g_autofree char *out = NULL;
  int status;

  if (bin == NULL || model == NULL || !g_file_test (model, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("needs DOCENT_BIN and shared/models");
      return;
    }
  {
    const char *argv[] = { bin, "generate", "--json", "--temp", "0", "--n", "40", "--model", model,
                           "To fit a linear model in R, use the function", NULL };
    g_autoptr(GError) error = NULL;
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                                 &out, NULL, &status, &error));
    g_assert_no_error (error);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (out, "\"text\":\" to specify the\\n    function, the function"));
    g_assert_nonnull (strstr (out, "\"prompt_ids\":[1,"));
    g_assert_nonnull (strstr (out, "\"ids\":["));
    g_assert_nonnull (strstr (out, "\"prefill_tok_s\":"));
    g_assert_nonnull (strstr (out, "\"decode_tok_s\":"));
    g_clear_pointer (&out, g_free);
  }
  /* A short text: the first 3,000 bytes of R-lang.txt, a few windows. */
  g_assert_true (g_file_get_contents (lang, &text, NULL, NULL));
  g_assert_true (g_file_set_contents (small, text, 3000, NULL));
  {
    const char *argv[] = { bin, "perplexity", "--json", "--model", model, "--file", small, "--ctx", "128", NULL };
    g_autoptr(GError) error = NULL;
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                                 &out, NULL, &status, &error));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (out, "\"perplexity\":"));
    g_assert_nonnull (strstr (out, "\"tokens_scored\":"));
    g_assert_nonnull (strstr (out, "\"windows\":"));
  }
  g_remove (small);
  {
    const char *argv[] = { bin, "generate", "--model", "/nonexistent/model.gguf", "hello", NULL };
    g_autofree char *err = NULL;
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                 NULL, &err, &status, NULL));
    g_assert_false (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (err, "/nonexistent/model.gguf"));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/decoder/sampler", test_sampler);
  g_test_add_func ("/decoder/bad-files", test_bad_files);
  g_test_add_func ("/decoder/greedy", test_greedy);
  g_test_add_func ("/decoder/cli", test_cli);
  g_test_add_func ("/decoder/kv-cache-matches-prefill", test_kv_cache_matches_prefill);
  g_test_add_func ("/decoder/perplexity-f16", test_perplexity_f16);
  g_test_add_func ("/decoder/perplexity-q8_0", test_perplexity_q8_0);
  g_test_add_func ("/decoder/own-quantizations", test_own_quantizations);
  return g_test_run ();
}
