/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Tokenizers: the real vocabularies in ../shared/tokenizers with their
 * expected ids, and crafted vocabularies for each algorithm. */

#include <glib.h>
#include <glib/gstdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string.h>

#include "llm-gguf.h"
#include "llm-tokenizer.h"
#include "llm-tokenizer-private.h"

#define SEPARATOR "\n__ggml_vocab_test__\n"

/* ---- shared vocabularies ---- */

static char *
shared_dir (void)
{
  const char *dir = g_getenv ("DOCENT_SHARED_DIR");
  return g_build_filename (dir ? dir : "../shared", "tokenizers", NULL);
}

static char *
ids_to_string (const LlmToken *ids, size_t n)
{
  GString *s = g_string_new (NULL);
  for (size_t i = 0; i < n; i++)
    g_string_append_printf (s, i ? " %d" : "%d", ids[i]);
  return g_string_free (s, FALSE);
}

static void
test_shared_vocab (gconstpointer data)
{
  const char *name = data;
  g_autofree char *dir = shared_dir ();
  g_autofree char *gguf = g_build_filename (dir, name, NULL);
  g_autofree char *inp_path = g_strconcat (gguf, ".inp", NULL);
  g_autofree char *out_path = g_strconcat (gguf, ".out", NULL);
  g_autofree char *inp = NULL, *out = NULL;
  g_auto(GStrv) cases = NULL, expected = NULL;
  g_autoptr(GError) error = NULL;
  char err[512] = "";
  LlmVocab *vocab;
  guint n_cases, n_failed = 0;

  if (!g_file_get_contents (inp_path, &inp, NULL, &error)
      || !g_file_get_contents (out_path, &out, NULL, &error))
    {
      /* under meson the shared directory is given and must be complete */
      if (g_getenv ("DOCENT_SHARED_DIR") != NULL)
        g_error ("%s", error->message);
      g_test_skip (error->message);
      return;
    }
  vocab = llm_vocab_load_gguf (gguf, err, sizeof err);
  g_assert_nonnull (vocab);

  cases = g_strsplit (inp, SEPARATOR, -1);
  expected = g_strsplit (out, "\n", -1);
  n_cases = g_strv_length (cases);
  /* both files end with a separator / newline */
  if (n_cases > 0 && cases[n_cases - 1][0] == '\0')
    n_cases--;
  g_assert_cmpuint (g_strv_length (expected), >=, n_cases);

  for (guint i = 0; i < n_cases; i++)
    {
      size_t n = 0;
      LlmToken *ids = llm_tokenize (vocab, cases[i], strlen (cases[i]), 0, &n);
      g_autofree char *got = ids_to_string (ids, n);
      g_autofree char *want = g_strstrip (g_strdup (expected[i]));

      if (g_strcmp0 (got, want) != 0)
        {
          g_test_message ("%s case %u “%s”:\n  want %s\n  got  %s", name, i, cases[i], want, got);
          n_failed++;
        }

      /* byte-level BPE and byte-fallback SentencePiece decode exactly */
      if (llm_vocab_get_type (vocab) == LLM_VOCAB_BPE
          || llm_vocab_get_type (vocab) == LLM_VOCAB_SPM)
        {
          size_t len = 0;
          g_autofree char *text = llm_detokenize (vocab, ids, n, FALSE, &len);
          if (g_strcmp0 (text, cases[i]) != 0)
            {
              g_test_message ("%s case %u does not round-trip: “%s”", name, i, text);
              n_failed++;
            }
        }
      free (ids);
    }
  g_test_message ("%s: %u of %u cases pass", name, n_cases - n_failed, n_cases);
  g_assert_cmpuint (n_failed, ==, 0);
  llm_vocab_free (vocab);
}

/* gpt-neox has no expected ids; it must at least load (no tokenizer.ggml.pre
 * means "default") and round-trip. */
static void
test_neox_round_trip (void)
{
  g_autofree char *dir = shared_dir ();
  g_autofree char *gguf = g_build_filename (dir, "ggml-vocab-gpt-neox.gguf", NULL);
  const char *texts[] = { "Hello world", "양자화는 모델을 작게 만든다.", "  \t\n tabs\tand  spaces  ",
                          "🦙 emoji ✅ and 3333 digits", "" };
  char err[512] = "";
  LlmVocab *vocab;

  if (!g_file_test (gguf, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no gpt-neox vocabulary");
      return;
    }
  vocab = llm_vocab_load_gguf (gguf, err, sizeof err);
  g_assert_nonnull (vocab);
  g_assert_cmpstr (llm_vocab_get_pre (vocab), ==, "default");
  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      size_t n, len;
      LlmToken *ids = llm_tokenize (vocab, texts[i], strlen (texts[i]), 0, &n);
      g_autofree char *back = llm_detokenize (vocab, ids, n, FALSE, &len);
      g_assert_cmpstr (back, ==, texts[i]);
      free (ids);
    }
  llm_vocab_free (vocab);
}

/* The models README counts R-lang.txt as 40,009 tokens with the BOS, as
 * measured by another runtime: a long real text through the Llama-2 vocabulary. */
static void
test_shared_rlang_count (void)
{
  const char *shared = g_getenv ("DOCENT_SHARED_DIR");
  g_autofree char *model = g_build_filename (shared ? shared : "../shared", "models",
                                             "rman-llama-12m-f16.gguf", NULL);
  g_autofree char *text_path = g_build_filename (shared ? shared : "../shared", "models",
                                                 "R-lang.txt", NULL);
  g_autofree char *text = NULL;
  char err[512] = "";
  gsize len;
  size_t n, back_len;
  LlmVocab *vocab;
  LlmToken *ids;
  g_autofree char *back = NULL;

  if (!g_file_get_contents (text_path, &text, &len, NULL) || !g_file_test (model, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no rman model");
      return;
    }
  vocab = llm_vocab_load_gguf (model, err, sizeof err);
  g_assert_nonnull (vocab);
  ids = llm_tokenize (vocab, text, len, LLM_TOKENIZE_ADD_SPECIAL, &n);
  g_assert_cmpuint (n, ==, 40009);
  g_assert_cmpint (ids[0], ==, 1);
  back = llm_detokenize (vocab, ids, n, FALSE, &back_len);
  g_assert_cmpuint (back_len, ==, len);
  g_assert_true (memcmp (back, text, len) == 0);
  free (ids);
  llm_vocab_free (vocab);
}

/* A finished vocabulary is shared by threads: the same ids from each. */
typedef struct {
  const LlmVocab *vocab;
  const char     *text;
  char           *result;
} ThreadJob;

static gpointer
tokenize_thread (gpointer data)
{
  ThreadJob *job = data;
  g_autoptr(GString) all = g_string_new (NULL);

  for (int round = 0; round < 20; round++)
    {
      size_t n;
      LlmToken *ids = llm_tokenize (job->vocab, job->text, strlen (job->text),
                                    LLM_TOKENIZE_ADD_SPECIAL | LLM_TOKENIZE_PARSE_SPECIAL, &n);
      g_autofree char *s = ids_to_string (ids, n);
      g_string_append (all, s);
      g_string_append_c (all, '\n');
      free (ids);
    }
  job->result = g_string_free (g_steal_pointer (&all), FALSE);
  return NULL;
}

static void
test_shared_threads (void)
{
  static const char *const names[] = {
    "ggml-vocab-deepseek-llm.gguf", "ggml-vocab-llama-spm.gguf", "ggml-vocab-bert-bge.gguf",
  };
  const char *text = "양자화는 모델을 작게 만든다. Hello, y'all! 3333 🦙 <s> 天～\n\n  x";
  g_autofree char *dir = shared_dir ();

  for (gsize f = 0; f < G_N_ELEMENTS (names); f++)
    {
      g_autofree char *gguf = g_build_filename (dir, names[f], NULL);
      char err[512] = "";
      LlmVocab *vocab;
      ThreadJob jobs[4];
      GThread *threads[4];

      if (!g_file_test (gguf, G_FILE_TEST_EXISTS))
        continue;
      vocab = llm_vocab_load_gguf (gguf, err, sizeof err);
      g_assert_nonnull (vocab);
      for (int t = 0; t < 4; t++)
        {
          jobs[t] = (ThreadJob) { vocab, text, NULL };
          threads[t] = g_thread_new ("tokenize", tokenize_thread, &jobs[t]);
        }
      for (int t = 0; t < 4; t++)
        g_thread_join (threads[t]);
      for (int t = 1; t < 4; t++)
        g_assert_cmpstr (jobs[t].result, ==, jobs[0].result);
      for (int t = 0; t < 4; t++)
        g_free (jobs[t].result);
      llm_vocab_free (vocab);
    }
}

/* Any bytes at all, valid UTF-8 or not, decode back exactly with byte-level
 * BPE and with byte-fallback SentencePiece; the other tokenizers must at
 * least survive them. */
static void
test_shared_random_bytes (void)
{
  static const char *const names[] = {
    "ggml-vocab-gpt-2.gguf", "ggml-vocab-llama-spm.gguf", "ggml-vocab-deepseek-llm.gguf",
    "ggml-vocab-bert-bge.gguf", "ggml-vocab-phi-3.gguf",
  };
  static const char alphabet[] = "ab \t\n'3.!\xc3\xa9\xea\xb0\x80\xf0\x9f\xa6\x99\xff\x80\xe2\x96\x81<s>";
  g_autofree char *dir = shared_dir ();
  GRand *rand = g_rand_new_with_seed (42);

  for (gsize f = 0; f < G_N_ELEMENTS (names); f++)
    {
      g_autofree char *gguf = g_build_filename (dir, names[f], NULL);
      char err[512] = "";
      LlmVocab *vocab;
      gboolean exact;

      if (!g_file_test (gguf, G_FILE_TEST_EXISTS))
        continue;
      vocab = llm_vocab_load_gguf (gguf, err, sizeof err);
      g_assert_nonnull (vocab);
      exact = llm_vocab_get_type (vocab) == LLM_VOCAB_BPE
              || (llm_vocab_get_type (vocab) == LLM_VOCAB_SPM && f == 1);
      for (int round = 0; round < 300; round++)
        {
          exact = llm_vocab_get_type (vocab) == LLM_VOCAB_BPE
                  || (llm_vocab_get_type (vocab) == LLM_VOCAB_SPM && f == 1);
          char buf[64];
          int len = g_rand_int_range (rand, 0, sizeof buf);
          size_t n, back_len;
          LlmToken *ids;
          g_autofree char *back = NULL;

          for (int i = 0; i < len; i++)
            buf[i] = g_rand_boolean (rand) ? alphabet[g_rand_int_range (rand, 0, sizeof alphabet - 1)]
                                           : (char) g_rand_int_range (rand, 1, 256);
          ids = llm_tokenize (vocab, buf, len, 0, &n);
          g_assert_nonnull (ids);
          for (size_t i = 0; i < n; i++)
            g_assert_true (ids[i] >= 0 && ids[i] < llm_vocab_n_tokens (vocab));
          back = llm_detokenize (vocab, ids, n, FALSE, &back_len);
          /* DeepSeek's added tokens "þ", "ÿ"… are both the characters and
           * the byte spelling of bytes that never occur in UTF-8 */
          if (f == 2)
            exact = g_utf8_validate (buf, len, NULL);
          if (exact && (back_len != (gsize) len || memcmp (back, buf, len) != 0))
            {
              g_autofree char *hex_in = g_strescape (g_strndup (buf, len), NULL);
              g_autofree char *hex_out = g_strescape (back, NULL);
              g_test_message ("%s: “%s” came back as “%s”", names[f], hex_in, hex_out);
            }
          if (exact)
            {
              g_assert_cmpuint (back_len, ==, (gsize) len);
              g_assert_true (memcmp (back, buf, len) == 0);
            }
          free (ids);
        }
      llm_vocab_free (vocab);
    }
  g_rand_free (rand);
}

static void
test_shared_special (void)
{
  g_autofree char *dir = shared_dir ();
  g_autofree char *gguf = g_build_filename (dir, "ggml-vocab-llama-spm.gguf", NULL);
  g_autofree char *bert = g_build_filename (dir, "ggml-vocab-bert-bge.gguf", NULL);
  char err[512] = "";
  LlmVocab *vocab;
  LlmToken *ids;
  size_t n;

  if (!g_file_test (gguf, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no shared vocabularies");
      return;
    }
  vocab = llm_vocab_load_gguf (gguf, err, sizeof err);
  g_assert_nonnull (vocab);
  /* BOS added; "</s>" parsed as EOS only when asked */
  ids = llm_tokenize (vocab, "Hello</s>", 9, LLM_TOKENIZE_ADD_SPECIAL | LLM_TOKENIZE_PARSE_SPECIAL, &n);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpint (ids[0], ==, 1);
  g_assert_cmpint (ids[2], ==, 2);
  g_assert_true (llm_vocab_is_eog (vocab, ids[2]));
  free (ids);
  ids = llm_tokenize (vocab, "Hello</s>", 9, LLM_TOKENIZE_ADD_SPECIAL, &n);
  g_assert_cmpuint (n, >, 3);
  g_assert_cmpint (ids[0], ==, 1);
  for (size_t i = 1; i < n; i++)
    g_assert_cmpint (ids[i], !=, 2);
  free (ids);
  llm_vocab_free (vocab);

  vocab = llm_vocab_load_gguf (bert, err, sizeof err);
  g_assert_nonnull (vocab);
  ids = llm_tokenize (vocab, "Hello world", 11, LLM_TOKENIZE_ADD_SPECIAL, &n);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpint (ids[0], ==, 101);
  g_assert_cmpint (ids[1], ==, 7592);
  g_assert_cmpint (ids[3], ==, 102);
  free (ids);
  {
    /* WordPiece decodes to the normalised words, spaced as BERT does */
    const char *text = "Hello, World! Isn't it unaffable?";
    g_autofree char *back = NULL;
    ids = llm_tokenize (vocab, text, strlen (text), LLM_TOKENIZE_ADD_SPECIAL, &n);
    back = llm_detokenize (vocab, ids, n, FALSE, NULL);
    g_assert_cmpstr (back, ==, "hello, world! isn't it unaffable?");
    free (ids);
  }
  llm_vocab_free (vocab);
}

/* ---- crafted vocabularies ---- */

static const char *const spm_pieces[] = {
  "▁", "▁a", "ab", "▁ab", "▁abc", "c", "a", "b", "▁양", "자", "화", "▁양자", "양자화",
};

static LlmVocab *
crafted_spm (void)
{
  LlmVocab *v = llm_vocab_new (LLM_VOCAB_SPM);
  char err[256] = "";

  llm_vocab_add_token (v, "<unk>", 5, 0, LLM_TOKEN_TYPE_UNKNOWN);
  llm_vocab_add_token (v, "<s>", 3, 0, LLM_TOKEN_TYPE_CONTROL);
  llm_vocab_add_token (v, "</s>", 4, 0, LLM_TOKEN_TYPE_CONTROL);
  for (int b = 0; b < 256; b++)
    {
      char buf[8];
      g_snprintf (buf, sizeof buf, "<0x%02X>", b);
      llm_vocab_add_token (v, buf, 6, 0, LLM_TOKEN_TYPE_BYTE);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (spm_pieces); i++)
    llm_vocab_add_token (v, spm_pieces[i], strlen (spm_pieces[i]), -(float) i - 1, LLM_TOKEN_TYPE_NORMAL);
  g_assert_true (llm_vocab_finish (v, err, sizeof err));
  return v;
}

static char *
pieces_of (const LlmVocab *v, const char *text, unsigned flags)
{
  size_t n;
  LlmToken *ids = llm_tokenize (v, text, strlen (text), flags, &n);
  GString *s = g_string_new (NULL);

  for (size_t i = 0; i < n; i++)
    {
      if (i)
        g_string_append_c (s, '|');
      g_string_append (s, llm_vocab_get_text (v, ids[i], NULL));
    }
  free (ids);
  return g_string_free (s, FALSE);
}

static void
assert_round_trip (const LlmVocab *v, const char *text)
{
  size_t n, len;
  LlmToken *ids = llm_tokenize (v, text, strlen (text), LLM_TOKENIZE_ADD_SPECIAL, &n);
  g_autofree char *back = llm_detokenize (v, ids, n, FALSE, &len);

  g_assert_cmpstr (back, ==, text);
  g_assert_cmpuint (len, ==, strlen (text));
  free (ids);
}

static void
test_spm_crafted (void)
{
  LlmVocab *v = crafted_spm ();
  g_autofree char *p1 = pieces_of (v, "abc", 0);
  g_autofree char *p2 = pieces_of (v, "ab ab", 0);
  g_autofree char *p3 = pieces_of (v, "양자화", 0);
  g_autofree char *p4 = pieces_of (v, "x", LLM_TOKENIZE_ADD_SPECIAL);
  g_autofree char *p5 = pieces_of (v, "</s>a", LLM_TOKENIZE_PARSE_SPECIAL);

  /* "▁a"+"b" vs "▁"+"ab": the better-scoring pair merges first */
  g_assert_cmpstr (p1, ==, "▁abc");
  g_assert_cmpstr (p2, ==, "▁ab|▁ab");
  /* Korean pieces, then the whole word is not a piece: "▁양자" + "화" */
  g_assert_cmpstr (p3, ==, "▁양자|화");
  /* byte fallback for a character outside the vocabulary */
  g_assert_cmpstr (p4, ==, "<s>|▁|<0x78>");
  /* a space prefix after a special token too */
  g_assert_cmpstr (p5, ==, "</s>|▁a");

  /* without the space prefix (Gemma-style files say so) */
  {
    LlmVocab *w = llm_vocab_new (LLM_VOCAB_SPM);
    char err[256] = "";
    g_autofree char *p6 = NULL;
    llm_vocab_add_token (w, "<unk>", 5, 0, LLM_TOKEN_TYPE_UNKNOWN);
    llm_vocab_add_token (w, "<s>", 3, 0, LLM_TOKEN_TYPE_CONTROL);
    llm_vocab_add_token (w, "</s>", 4, 0, LLM_TOKEN_TYPE_CONTROL);
    for (gsize i = 0; i < G_N_ELEMENTS (spm_pieces); i++)
      llm_vocab_add_token (w, spm_pieces[i], strlen (spm_pieces[i]), -(float) i - 1, LLM_TOKEN_TYPE_NORMAL);
    llm_vocab_set_flag (w, LLM_VOCAB_FLAG_ADD_SPACE_PREFIX, FALSE);
    g_assert_true (llm_vocab_finish (w, err, sizeof err));
    p6 = pieces_of (w, "ab ab", 0);
    g_assert_cmpstr (p6, ==, "ab|▁ab");
    assert_round_trip (w, "ab ab");
    llm_vocab_free (w);
  }

  assert_round_trip (v, "abc ab");
  assert_round_trip (v, "양자화는 모델을 작게 만든다 🦙");
  assert_round_trip (v, "tabs\tand\nnewlines");
  llm_vocab_free (v);
}

/* A byte-level BPE with every byte character and a few merges. */
static LlmVocab *
crafted_bpe (const char *pre)
{
  static const char *const merges[] = {
    "Ġ t", "h e", "Ġt he", "ì ĸ", "ìĸ ĳ", "Ġ ìĸĳ", "3 3",
  };
  LlmVocab *v = llm_vocab_new (LLM_VOCAB_BPE);
  char err[256] = "";

  for (int b = 0; b < 256; b++)
    {
      /* the GPT-2 byte characters, written by hand for the test */
      gunichar cp;
      char buf[8];
      int n;
      if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE))
        cp = b;
      else
        {
          static int next = 0;
          static gunichar moved[256];
          if (moved[b] == 0)
            moved[b] = 256 + next++;
          cp = moved[b];
        }
      n = g_unichar_to_utf8 (cp, buf);
      llm_vocab_add_token (v, buf, n, 0, LLM_TOKEN_TYPE_NORMAL);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (merges); i++)
    {
      const char *sp = strchr (merges[i], ' ');
      g_autofree char *joined = g_strconcat ("", NULL);
      g_free (joined);
      joined = g_strdup_printf ("%.*s%s", (int) (sp - merges[i]), merges[i], sp + 1);
      llm_vocab_add_token (v, joined, strlen (joined), 0, LLM_TOKEN_TYPE_NORMAL);
      g_assert_true (llm_vocab_add_merge (v, merges[i], strlen (merges[i])));
    }
  llm_vocab_add_token (v, "<|endoftext|>", 13, 0, LLM_TOKEN_TYPE_CONTROL);
  if (!llm_vocab_set_pre (v, pre, err, sizeof err) || !llm_vocab_finish (v, err, sizeof err))
    g_error ("%s: %s", pre, err);
  return v;
}

static void
test_bpe_crafted (void)
{
  LlmVocab *v = crafted_bpe ("gpt-2");
  g_autofree char *p1 = pieces_of (v, "the the", 0);
  g_autofree char *p2 = pieces_of (v, " 양", 0);
  g_autofree char *p3 = pieces_of (v, "<|endoftext|>", LLM_TOKENIZE_PARSE_SPECIAL);
  g_autofree char *p4 = pieces_of (v, "<|endoftext|>", 0);
  char err[256] = "";
  LlmVocab *bad = llm_vocab_new (LLM_VOCAB_BPE);

  g_assert_cmpstr (p1, ==, "t|he|Ġthe");
  /* 양 is EC 96 91: "ìĸĳ" after the byte mapping, one merge chain */
  g_assert_cmpstr (p2, ==, "Ġìĸĳ");
  g_assert_cmpstr (p3, ==, "<|endoftext|>");
  g_assert_cmpstr (p4, ==, "<|||e|n|d|o|f|t|e|x|t|||>");

  assert_round_trip (v, "양자화는 모델을 작게 만든다.");
  assert_round_trip (v, "  \t\n\n mixed   spaces\r\n");
  assert_round_trip (v, "🦙 ✅ 3333 ½ Führer");
  llm_vocab_free (v);

  /* every supported pre-tokenizer compiles and round-trips */
  {
    const char *pres[] = { "default", "gpt-2", "llama-bpe", "qwen2", "smollm", "deepseek-llm",
                           "deepseek-coder", "falcon", "starcoder", "mpt", "refact",
                           "command-r", "tekken", "bloom", "viking", "chameleon", "deepseek-v3",
                           "gpt-4o" };
    for (gsize i = 0; i < G_N_ELEMENTS (pres); i++)
      {
        LlmVocab *w = crafted_bpe (pres[i]);
        assert_round_trip (w, "Hello, y'all! 양자화 3333 🦙\n\n  x");
        llm_vocab_free (w);
      }
  }

  /* an unknown pre-tokenizer is an error, not a silent fallback */
  g_assert_false (llm_vocab_set_pre (bad, "no-such-pre", err, sizeof err));
  g_assert_nonnull (strstr (err, "no-such-pre"));
  llm_vocab_free (bad);
}

/* The split patterns alone, on inputs whose split is well known. */
static char *
split_with (const char *pre, const char *text)
{
  size_t n_pats, n_spans;
  bool ignore;
  const char *const *pats = llm_pre_patterns (pre, &n_pats, &ignore);
  char err[256] = "";
  LlmRegexSplit *split;
  LlmSpan *spans;
  GString *out = g_string_new (NULL);

  g_assert_nonnull (pats);
  split = llm_regex_split_new (pats, n_pats, err, sizeof err);
  g_assert_nonnull (split);
  spans = llm_regex_split_run (split, text, strlen (text), &n_spans);
  for (size_t i = 0; i < n_spans; i++)
    g_string_append_printf (out, "%s%.*s", i ? "|" : "", (int) spans[i].len, text + spans[i].start);
  free (spans);
  llm_regex_split_free (split);
  return g_string_free (out, FALSE);
}

static void
test_pre_split (void)
{
  static const struct { const char *pre, *text, *want; } cases[] = {
    { "gpt-2", "Hello world's 123  x", "Hello| world|'s| 123| | x" },
    { "gpt-2", "a\n\nb", "a|\n|\n|b" },
    { "llama-bpe", "Hello 1234567 y'all", "Hello| |123|456|7| y|'all" },
    { "llama-bpe", "x.\n\n  y", "x|.\n\n| | y" },
    { "qwen2", "ab 123", "ab| |1|2|3" },
    { "smollm", "ab 123", "ab| |1|2|3" },
    { "gpt-4o", "HelloWorld I'M here", "Hello|World| I'M| here" },
    { "deepseek-llm", "Hello 양자화123", "Hello| |양자화|123" },
    { "default", "a+b 1234", "a|+|b| |123|4" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = split_with (cases[i].pre, cases[i].text);
      if (g_strcmp0 (got, cases[i].want) != 0)
        g_error ("%s: “%s” split as “%s”, want “%s”", cases[i].pre, cases[i].text, got, cases[i].want);
    }
}

static LlmVocab *
crafted_wpm (gboolean hashes, gboolean lower)
{
  static const char *const words[] = { "hello", "world", "un", "aff", "able", "양자", "화", "는",
                                       "fu", "hrer", ",", "!", "天", "工", "作" };
  LlmVocab *v = llm_vocab_new (LLM_VOCAB_WPM);
  char err[256] = "";

  llm_vocab_add_token (v, "[PAD]", 5, 0, LLM_TOKEN_TYPE_CONTROL);
  llm_vocab_add_token (v, "[UNK]", 5, 0, LLM_TOKEN_TYPE_UNKNOWN);
  llm_vocab_add_token (v, "[CLS]", 5, 0, LLM_TOKEN_TYPE_CONTROL);
  llm_vocab_add_token (v, "[SEP]", 5, 0, LLM_TOKEN_TYPE_CONTROL);
  for (gsize i = 0; i < G_N_ELEMENTS (words); i++)
    {
      /* every word both as a start and as a continuation */
      g_autofree char *start = hashes ? g_strdup (words[i]) : g_strconcat ("▁", words[i], NULL);
      g_autofree char *cont = hashes ? g_strconcat ("##", words[i], NULL) : g_strdup (words[i]);
      llm_vocab_add_token (v, start, strlen (start), 0, LLM_TOKEN_TYPE_NORMAL);
      llm_vocab_add_token (v, cont, strlen (cont), 0, LLM_TOKEN_TYPE_NORMAL);
    }
  llm_vocab_set_special (v, LLM_SPECIAL_PAD, 0);
  llm_vocab_set_special (v, LLM_SPECIAL_UNK, 1);
  llm_vocab_set_special (v, LLM_SPECIAL_CLS, 2);
  llm_vocab_set_special (v, LLM_SPECIAL_SEP, 3);
  llm_vocab_set_special (v, LLM_SPECIAL_MASK, LLM_TOKEN_NULL);
  llm_vocab_set_flag (v, LLM_VOCAB_FLAG_LOWERCASE, lower);
  g_assert_true (llm_vocab_finish (v, err, sizeof err));
  return v;
}

static void
test_wpm_crafted (void)
{
  for (int hashes = 0; hashes < 2; hashes++)
    {
      LlmVocab *v = crafted_wpm (hashes, TRUE);
      LlmVocab *cased = crafted_wpm (hashes, FALSE);
      g_autofree char *p1 = pieces_of (v, "Hello, WORLD!", LLM_TOKENIZE_ADD_SPECIAL);
      g_autofree char *p2 = pieces_of (v, "unaffable Führer", 0);
      /* uncased BERT decomposes Hangul into jamo (NFD), as the reference
       * tokenizer does; a cased vocabulary keeps syllables */
      g_autofree char *p3 = pieces_of (cased, "양자화는 xyz", 0);
      g_autofree char *p4 = pieces_of (v, "天工作", 0);
      g_autofree char *p5 = pieces_of (cased, "Hello", 0);
      g_autofree char *want1 = hashes ? g_strdup ("[CLS]|hello|,|world|!|[SEP]")
                                      : g_strdup ("[CLS]|▁hello|▁,|▁world|▁!|[SEP]");
      g_autofree char *want2 = hashes ? g_strdup ("un|##aff|##able|fu|##hrer")
                                      : g_strdup ("▁un|aff|able|▁fu|hrer");
      g_autofree char *want3 = hashes ? g_strdup ("양자|##화|##는|[UNK]")
                                      : g_strdup ("▁양자|화|는|[UNK]");
      g_autofree char *want4 = hashes ? g_strdup ("天|工|作") : g_strdup ("▁天|▁工|▁作");

      g_assert_cmpstr (p1, ==, want1);
      g_assert_cmpstr (p2, ==, want2);
      g_assert_cmpstr (p3, ==, want3);
      g_assert_cmpstr (p4, ==, want4);
      g_assert_cmpstr (p5, ==, "[UNK]");
      llm_vocab_free (v);
      llm_vocab_free (cased);
    }
}

static void
test_ugm_crafted (void)
{
  static const struct { const char *text; float score; } pieces[] = {
    { "▁", -2.0f }, { "▁양자", -3.0f }, { "화", -2.5f }, { "▁양", -4.0f }, { "자화", -4.0f },
    { "는", -2.0f }, { "▁a", -1.0f }, { "b", -1.0f }, { "▁ab", -1.5f },
  };
  LlmVocab *v = llm_vocab_new (LLM_VOCAB_UGM);
  char err[256] = "";
  g_autofree char *p1 = NULL, *p2 = NULL, *p3 = NULL, *p4 = NULL;

  llm_vocab_add_token (v, "<pad>", 5, 0, LLM_TOKEN_TYPE_CONTROL);
  llm_vocab_add_token (v, "</s>", 4, 0, LLM_TOKEN_TYPE_CONTROL);
  llm_vocab_add_token (v, "<unk>", 5, 0, LLM_TOKEN_TYPE_UNKNOWN);
  for (gsize i = 0; i < G_N_ELEMENTS (pieces); i++)
    llm_vocab_add_token (v, pieces[i].text, strlen (pieces[i].text), pieces[i].score,
                         LLM_TOKEN_TYPE_NORMAL);
  llm_vocab_set_flag (v, LLM_VOCAB_FLAG_ADD_SPACE_PREFIX, TRUE);
  llm_vocab_set_flag (v, LLM_VOCAB_FLAG_REMOVE_EXTRA_WHITESPACES, TRUE);
  g_assert_true (llm_vocab_finish (v, err, sizeof err));

  p1 = pieces_of (v, "양자화는", LLM_TOKENIZE_ADD_SPECIAL);
  p2 = pieces_of (v, "ab", 0);
  p3 = pieces_of (v, "  ab   양자화  ", 0);
  p4 = pieces_of (v, "xyz", 0);
  /* -3 -2.5 -2 beats -4 -4 -2 */
  g_assert_cmpstr (p1, ==, "▁양자|화|는|</s>");
  /* -1.5 beats -1 -1 */
  g_assert_cmpstr (p2, ==, "▁ab");
  g_assert_cmpstr (p3, ==, "▁ab|▁양자|화");
  /* unknown characters merge into one unknown token */
  g_assert_cmpstr (p4, ==, "▁|<unk>");
  llm_vocab_free (v);
}

/* A SentencePiece precompiled character map built by hand: an XOR-compressed
 * double-array trie over the UTF-8 bytes of the keys, then the NUL-terminated
 * replacements. A node at index i with offset o (BASE = i ^ o) keeps its
 * child labelled c at o ^ c and, when a key ends there (LEAF), the value
 * unit at o itself. */
typedef struct {
  guint32 units[4096];
  gboolean used[4096];
  gboolean offset_used[4096];   /* label checks are only sound if no two nodes share an offset */
} Xcda;

static void
xcda_place (Xcda *x, guint index, const char *const *keys, const char *const *values, guint n_keys,
            guint depth, const char *prefix, GString *strings, const guint *offsets)
{
  guchar labels[256];
  guint n_labels = 0;
  gint terminal = -1;
  guint o;

  for (guint k = 0; k < n_keys; k++)
    {
      if (strncmp (keys[k], prefix, depth) != 0)
        continue;
      if (strlen (keys[k]) == depth)
        terminal = k;
      else
        {
          guchar c = keys[k][depth];
          gboolean seen = FALSE;
          for (guint l = 0; l < n_labels; l++)
            seen |= labels[l] == c;
          if (!seen)
            labels[n_labels++] = c;
        }
    }
  /* the first offset whose slots are all free (and whose BASE fits) */
  for (o = 1;; o++)
    {
      gboolean ok = (index ^ o) < (1u << 9) * 64 && !x->offset_used[o]
                    && !(terminal >= 0 && x->used[o]);
      for (guint l = 0; l < n_labels && ok; l++)
        ok = (o ^ labels[l]) < G_N_ELEMENTS (x->units) && !x->used[o ^ labels[l]];
      if (ok)
        break;
    }
  x->offset_used[o] = TRUE;
  x->units[index] |= (index ^ o) << 10;
  if (terminal >= 0)
    {
      x->units[index] |= 1u << 8;
      x->used[o] = TRUE;
      x->units[o] = (1u << 31) | offsets[terminal];
    }
  for (guint l = 0; l < n_labels; l++)
    {
      x->used[o ^ labels[l]] = TRUE;
      x->units[o ^ labels[l]] = labels[l];
    }
  for (guint l = 0; l < n_labels; l++)
    {
      g_autofree char *child = g_strdup_printf ("%.*s%c", (int) depth, prefix, labels[l]);
      xcda_place (x, o ^ labels[l], keys, values, n_keys, depth + 1, child, strings, offsets);
    }
}

static GBytes *
build_charsmap (const char *const *keys, const char *const *values, guint n)
{
  Xcda *x = g_new0 (Xcda, 1);
  GString *strings = g_string_new (NULL);
  GByteArray *blob = g_byte_array_new ();
  guint offsets[16];
  guint32 size = sizeof x->units;

  g_assert_cmpuint (n, <=, G_N_ELEMENTS (offsets));
  for (guint k = 0; k < n; k++)
    {
      offsets[k] = strings->len;
      g_string_append_len (strings, values[k], strlen (values[k]) + 1);
    }
  x->used[0] = TRUE;
  xcda_place (x, 0, keys, values, n, 0, "", strings, offsets);
  g_byte_array_append (blob, (const guint8 *) &size, 4);
  g_byte_array_append (blob, (const guint8 *) x->units, sizeof x->units);
  g_byte_array_append (blob, (const guint8 *) strings->str, strings->len);
  g_string_free (strings, TRUE);
  g_free (x);
  return g_byte_array_free_to_bytes (blob);
}

static void
test_ugm_charsmap (void)
{
  /* NFKC-like rewrites: fullwidth letters, a ligature, the ideographic space */
  static const char *const keys[] = { "Ａ", "Ｂ", "ﬁ", "\u3000", "ＡＢ" };
  static const char *const values[] = { "A", "B", "fi", " ", "ab" };
  static const struct { const char *text; float score; } pieces[] = {
    { "▁", -5.0f }, { "▁A", -2.0f }, { "B", -2.0f }, { "▁ab", -1.0f }, { "fi", -1.0f }, { "ne", -1.0f },
    { "▁fi", -3.0f }, { "A", -3.0f },
  };
  g_autoptr(GBytes) map = build_charsmap (keys, values, G_N_ELEMENTS (keys));
  LlmVocab *v = llm_vocab_new (LLM_VOCAB_UGM);
  char err[256] = "";
  g_autofree char *p1 = NULL, *p2 = NULL, *p3 = NULL;
  gsize size;
  const void *data = g_bytes_get_data (map, &size);

  llm_vocab_add_token (v, "<pad>", 5, 0, LLM_TOKEN_TYPE_CONTROL);
  llm_vocab_add_token (v, "</s>", 4, 0, LLM_TOKEN_TYPE_CONTROL);
  llm_vocab_add_token (v, "<unk>", 5, 0, LLM_TOKEN_TYPE_UNKNOWN);
  for (gsize i = 0; i < G_N_ELEMENTS (pieces); i++)
    llm_vocab_add_token (v, pieces[i].text, strlen (pieces[i].text), pieces[i].score,
                         LLM_TOKEN_TYPE_NORMAL);
  llm_vocab_set_flag (v, LLM_VOCAB_FLAG_ADD_SPACE_PREFIX, TRUE);
  llm_vocab_set_flag (v, LLM_VOCAB_FLAG_REMOVE_EXTRA_WHITESPACES, TRUE);
  g_assert_true (llm_vocab_set_charsmap (v, data, size, err, sizeof err));
  g_assert_true (llm_vocab_finish (v, err, sizeof err));

  /* the longest key wins: "ＡＢ" is "ab", not "A" + "B" */
  p1 = pieces_of (v, "ＡＢ\u3000ﬁne", 0);
  g_assert_cmpstr (p1, ==, "▁ab|▁fi|ne");
  p2 = pieces_of (v, "ＡＢＡ", 0);
  g_assert_cmpstr (p2, ==, "▁ab|A");
  p3 = pieces_of (v, "ＢＡ", 0);
  g_assert_cmpstr (p3, ==, "▁|B|A");

  /* a truncated map is refused */
  g_assert_false (llm_vocab_set_charsmap (v, data, 8, err, sizeof err));
  llm_vocab_free (v);
}

/* ---- GGUF metadata: small files written with our own writer ---- */

typedef enum {
  CRAFT_OK,
  CRAFT_NO_TOKENS,
  CRAFT_SHORT_SCORES,
  CRAFT_BAD_BOS,
  CRAFT_UNKNOWN_MODEL,
  CRAFT_UNKNOWN_PRE,
  CRAFT_NO_MERGES,
  CRAFT_NO_MODEL,
  CRAFT_BPE_NO_PRE,
  CRAFT_T5,
  CRAFT_BAD_PAD,
} Craft;

static char *
write_vocab_gguf (Craft craft)
{
  static const char *const spm_tokens[] = { "<unk>", "<s>", "</s>", "▁", "▁a", "b", "▁ab", "a" };
  static const float spm_scores[] = { 0, 0, 0, -1, -2, -3, -1, -4 };
  static const int32_t spm_types[] = { 2, 3, 3, 1, 1, 1, 1, 1 };
  static const char *const bpe_tokens[] = { "a", "b", "c", "Ġ", "ab", "Ġab", "<|endoftext|>" };
  static const int32_t bpe_types[] = { 1, 1, 1, 1, 1, 1, 3 };
  static const char *const bpe_merges[] = { "a b", "Ġ ab" };
  llm_gguf_writer *w = llm_gguf_writer_new ();
  llm_gguf_error error = { 0 };
  char *path = NULL;
  int fd = g_file_open_tmp ("docent-vocab-XXXXXX.gguf", &path, NULL);
  gboolean bpe = craft == CRAFT_UNKNOWN_PRE || craft == CRAFT_NO_MERGES || craft == CRAFT_BPE_NO_PRE;

  g_assert_cmpint (fd, >=, 0);
  close (fd);
  /* an architecture the engine does not run: vocabularies of any kind load */
  llm_gguf_writer_set_string (w, "general.architecture", "rwkv6");
  if (craft == CRAFT_UNKNOWN_MODEL)
    llm_gguf_writer_set_string (w, "tokenizer.ggml.model", "rwkv");
  else if (craft == CRAFT_T5)
    llm_gguf_writer_set_string (w, "tokenizer.ggml.model", "t5");
  else if (craft != CRAFT_NO_MODEL)
    llm_gguf_writer_set_string (w, "tokenizer.ggml.model", bpe ? "gpt2" : "llama");
  if (bpe)
    {
      llm_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens", bpe_tokens, G_N_ELEMENTS (bpe_tokens));
      llm_gguf_writer_set_array (w, "tokenizer.ggml.token_type", LLM_GGUF_TYPE_INT32, bpe_types,
                                 G_N_ELEMENTS (bpe_types));
      if (craft != CRAFT_NO_MERGES)
        llm_gguf_writer_set_string_array (w, "tokenizer.ggml.merges", bpe_merges, G_N_ELEMENTS (bpe_merges));
      if (craft == CRAFT_UNKNOWN_PRE)
        llm_gguf_writer_set_string (w, "tokenizer.ggml.pre", "not-a-real-pre");
    }
  else
    {
      if (craft != CRAFT_NO_TOKENS)
        llm_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens", spm_tokens, G_N_ELEMENTS (spm_tokens));
      llm_gguf_writer_set_array (w, "tokenizer.ggml.scores", LLM_GGUF_TYPE_FLOAT32, spm_scores,
                                 G_N_ELEMENTS (spm_scores) - (craft == CRAFT_SHORT_SCORES));
      llm_gguf_writer_set_array (w, "tokenizer.ggml.token_type", LLM_GGUF_TYPE_INT32, spm_types,
                                 G_N_ELEMENTS (spm_types));
      llm_gguf_writer_set_u32 (w, "tokenizer.ggml.bos_token_id", craft == CRAFT_BAD_BOS ? 99 : 1);
      llm_gguf_writer_set_u32 (w, "tokenizer.ggml.eos_token_id", 2);
      llm_gguf_writer_set_u32 (w, "tokenizer.ggml.unknown_token_id", 0);
      if (craft == CRAFT_BAD_PAD)
        llm_gguf_writer_set_i32 (w, "tokenizer.ggml.padding_token_id", -1);
      if (craft == CRAFT_T5)
        {
          llm_gguf_writer_set_bool (w, "tokenizer.ggml.add_space_prefix", TRUE);
          llm_gguf_writer_set_bool (w, "tokenizer.ggml.add_bos_token", TRUE);
        }
    }
  g_assert_true (llm_gguf_writer_write_file (w, path, &error));
  llm_gguf_writer_free (w);
  return path;
}

static void
test_gguf_metadata (void)
{
  static const struct {
    Craft craft;
    const char *message;   /* part of the error, NULL when it loads */
  } cases[] = {
    { CRAFT_OK, NULL },
    { CRAFT_BPE_NO_PRE, NULL },
    { CRAFT_T5, NULL },
    { CRAFT_BAD_PAD, NULL },   /* a padding id of -1 is ignored, as published files have it */
    { CRAFT_NO_TOKENS, "tokenizer.ggml.tokens" },
    { CRAFT_SHORT_SCORES, "tokenizer.ggml.scores" },
    { CRAFT_BAD_BOS, "bos_token_id" },
    { CRAFT_UNKNOWN_MODEL, "rwkv" },
    { CRAFT_UNKNOWN_PRE, "not-a-real-pre" },
    { CRAFT_NO_MERGES, "tokenizer.ggml.merges" },
    { CRAFT_NO_MODEL, "tokenizer.ggml.model" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = write_vocab_gguf (cases[i].craft);
      char err[512] = "";
      LlmVocab *v = llm_vocab_load_gguf (path, err, sizeof err);

      if (cases[i].message == NULL)
        {
          g_autofree char *pieces = NULL;
          if (v == NULL)
            g_error ("case %zu: %s", i, err);
          pieces = pieces_of (v, "ab ab", LLM_TOKENIZE_ADD_SPECIAL);
          if (cases[i].craft == CRAFT_OK || cases[i].craft == CRAFT_BAD_PAD)
            {
              /* also from an already open file */
              llm_gguf *g = llm_gguf_open (path, NULL);
              LlmVocab *again = llm_vocab_from_gguf (g, err, sizeof err);
              g_autofree char *pieces2 = NULL;
              llm_gguf_close (g);
              g_assert_nonnull (again);
              pieces2 = pieces_of (again, "ab ab", LLM_TOKENIZE_ADD_SPECIAL);
              g_assert_cmpstr (pieces2, ==, "<s>|▁ab|▁ab");
              llm_vocab_free (again);
              g_assert_cmpstr (pieces, ==, "<s>|▁ab|▁ab");
            }
          else if (cases[i].craft == CRAFT_T5)
            g_assert_cmpstr (pieces, ==, "<s>|▁ab|▁ab|</s>");
          else
            {
              g_assert_cmpstr (pieces, ==, "ab|Ġab");
              g_assert_cmpstr (llm_vocab_get_pre (v), ==, "default");
            }
          llm_vocab_free (v);
        }
      else
        {
          g_assert_null (v);
          if (strstr (err, cases[i].message) == NULL)
            g_error ("case %zu: “%s” does not mention %s", i, err, cases[i].message);
        }
      g_unlink (path);
    }
}

/* `docent tokenize`, when the test knows where the binary is. */
static int
run_docent (const char *const *args, char **out)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  int status = -1;

  g_ptr_array_add (argv, (gpointer) g_getenv ("DOCENT_BIN"));
  for (; *args; args++)
    g_ptr_array_add (argv, (gpointer) *args);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               out, &err, &status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static void
test_cli (void)
{
  g_autofree char *dir = shared_dir ();
  g_autofree char *gpt2 = g_build_filename (dir, "ggml-vocab-gpt-2.gguf", NULL);
  g_autofree char *spm = g_build_filename (dir, "ggml-vocab-llama-spm.gguf", NULL);
  g_autofree char *tmp = NULL;
  g_autoptr(GError) error = NULL;
  char *out = NULL;
  int fd;

  if (g_getenv ("DOCENT_BIN") == NULL || !g_file_test (gpt2, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no docent binary or no shared vocabularies");
      return;
    }

  {
    const char *args[] = { "tokenize", "--model", gpt2, "--json", "--no-special", "Hello world", NULL };
    g_assert_cmpint (run_docent (args, &out), ==, 0);
    g_assert_cmpstr (out, ==, "{\"ids\":[15496,995],\"pieces\":[\"Hello\",\"Ġworld\"]}\n");
    g_clear_pointer (&out, g_free);
  }
  {
    /* "--" lets a text start with a dash */
    const char *args[] = { "tokenize", "--model", gpt2, "--json", "--no-special", "--", "-5", NULL };
    g_assert_cmpint (run_docent (args, &out), ==, 0);
    g_assert_cmpstr (out, ==, "{\"ids\":[12,20],\"pieces\":[\"-\",\"5\"]}\n");
    g_clear_pointer (&out, g_free);
  }
  {
    /* BOS as the model says, then id<TAB>piece lines */
    const char *args[] = { "tokenize", "--model", spm, "Hello", NULL };
    g_assert_cmpint (run_docent (args, &out), ==, 0);
    g_assert_cmpstr (out, ==, "1\t<s>\n15043\t▁Hello\n");
    g_clear_pointer (&out, g_free);
  }
  {
    /* the exact bytes of a file: a trailing newline is a token */
    const char *args[] = { "tokenize", "--model", gpt2, "--json", "--file", NULL, NULL };
    fd = g_file_open_tmp ("docent-tok-XXXXXX", &tmp, &error);
    g_assert_no_error (error);
    g_assert_cmpint (write (fd, "Hello\n", 6), ==, 6);
    close (fd);
    args[5] = tmp;
    g_assert_cmpint (run_docent (args, &out), ==, 0);
    g_assert_cmpstr (out, ==, "{\"ids\":[15496,198],\"pieces\":[\"Hello\",\"Ċ\"]}\n");
    g_clear_pointer (&out, g_free);
    g_unlink (tmp);
  }
  {
    const char *no_model[] = { "tokenize", "Hello", NULL };
    const char *both[] = { "tokenize", "--model", gpt2, "--file", gpt2, "Hello", NULL };
    const char *bad_model[] = { "tokenize", "--model", "/nonexistent.gguf", "Hello", NULL };
    const char *not_gguf[] = { "tokenize", "--model", "/etc/hostname", "Hello", NULL };
    g_assert_cmpint (run_docent (no_model, &out), ==, 2);
    g_clear_pointer (&out, g_free);
    g_assert_cmpint (run_docent (both, &out), ==, 2);
    g_clear_pointer (&out, g_free);
    g_assert_cmpint (run_docent (bad_model, &out), ==, 1);
    g_clear_pointer (&out, g_free);
    g_assert_cmpint (run_docent (not_gguf, &out), ==, 1);
    g_clear_pointer (&out, g_free);
  }
}

static void
test_utf8_stream (void)
{
  /* 양 is EC 96 91 */
  g_assert_cmpuint (llm_utf8_complete_prefix ("ab", 2), ==, 2);
  g_assert_cmpuint (llm_utf8_complete_prefix ("a\xec", 2), ==, 1);
  g_assert_cmpuint (llm_utf8_complete_prefix ("a\xec\x96", 3), ==, 1);
  g_assert_cmpuint (llm_utf8_complete_prefix ("a\xec\x96\x91", 4), ==, 4);
  g_assert_cmpuint (llm_utf8_complete_prefix ("\xf0\x9f\xa6", 3), ==, 0);
  g_assert_cmpuint (llm_utf8_complete_prefix ("\xff", 1), ==, 1);
  g_assert_cmpuint (llm_utf8_complete_prefix ("", 0), ==, 0);
}

static void
test_errors (void)
{
  char err[512] = "";
  LlmVocab *v = llm_vocab_load_gguf ("/nonexistent/file.gguf", err, sizeof err);

  g_assert_null (v);
  g_assert_cmpstr (err, !=, "");

  v = llm_vocab_new (LLM_VOCAB_SPM);
  g_assert_false (llm_vocab_finish (v, err, sizeof err));
  llm_vocab_free (v);

  v = llm_vocab_new (LLM_VOCAB_SPM);
  llm_vocab_add_token (v, "a", 1, 0, LLM_TOKEN_TYPE_NORMAL);
  llm_vocab_set_special (v, LLM_SPECIAL_BOS, 7);
  g_assert_false (llm_vocab_finish (v, err, sizeof err));
  g_assert_nonnull (strstr (err, "bos"));
  llm_vocab_free (v);
}

int
main (int argc, char **argv)
{
  static const char *const shared[] = {
    "ggml-vocab-llama-spm.gguf", "ggml-vocab-phi-3.gguf", "ggml-vocab-bert-bge.gguf",
    "ggml-vocab-gpt-2.gguf", "ggml-vocab-deepseek-llm.gguf",
  };

  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (shared); i++)
    {
      g_autofree char *path = g_strdup_printf ("/llm/tokenizer/shared/%s", shared[i]);
      g_test_add_data_func (path, shared[i], test_shared_vocab);
    }
  g_test_add_func ("/llm/tokenizer/shared/gpt-neox-round-trip", test_neox_round_trip);
  g_test_add_func ("/llm/tokenizer/shared/special", test_shared_special);
  g_test_add_func ("/llm/tokenizer/shared/threads", test_shared_threads);
  g_test_add_func ("/llm/tokenizer/shared/r-lang-count", test_shared_rlang_count);
  g_test_add_func ("/llm/tokenizer/shared/random-bytes", test_shared_random_bytes);
  g_test_add_func ("/llm/tokenizer/spm", test_spm_crafted);
  g_test_add_func ("/llm/tokenizer/bpe", test_bpe_crafted);
  g_test_add_func ("/llm/tokenizer/pre-split", test_pre_split);
  g_test_add_func ("/llm/tokenizer/wpm", test_wpm_crafted);
  g_test_add_func ("/llm/tokenizer/ugm", test_ugm_crafted);
  g_test_add_func ("/llm/tokenizer/ugm-charsmap", test_ugm_charsmap);
  g_test_add_func ("/llm/tokenizer/errors", test_errors);
  g_test_add_func ("/llm/tokenizer/utf8-stream", test_utf8_stream);
  g_test_add_func ("/llm/tokenizer/cli", test_cli);
  g_test_add_func ("/llm/tokenizer/gguf-metadata", test_gguf_metadata);
  return g_test_run ();
}
