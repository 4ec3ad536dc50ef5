/* SPDX-License-Identifier: GPL-3.0-or-later */
/* BERT encoders against a plain double-precision reference forward pass
 * (tests/llm/bert-craft.h) on small generated GGUF models: F32 tight, F16
 * and Q8_0 looser; pooling from metadata, fused QKV, batches and threads,
 * truncation, and clear errors for broken files. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "llm-bert.h"
#include "bert-craft.h"

static const char *const texts[] = {
  "the quick brown fox jumps over the lazy dog",
  "hello world",
  "docent search model quantization",
  "",
  "안녕하세요 양자화!",
  "r manual data frame vector function embed passage query .",
};

typedef struct {
  char   *dir;
  char   *path;
  BertRef ref;
  LlmBert *bert;
} Fixture;

static void
fixture_open (Fixture *f, const BertSpec *spec)
{
  char err[256] = "";
  f->dir = g_dir_make_tmp ("docent-bert-XXXXXX", NULL);
  f->path = g_build_filename (f->dir, "m.gguf", NULL);
  g_assert_true (bert_craft_write (f->path, spec, &f->ref));
  f->bert = llm_bert_load (f->path, err, sizeof err);
  if (f->bert == NULL)
    g_error ("load: %s", err);
}

static void
fixture_close (Fixture *f)
{
  llm_bert_free (f->bert);
  bert_ref_free (&f->ref);
  g_unlink (f->path);
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

/* Embeds every text in one batch (and with @pool) and compares with the
 * reference: largest absolute difference and smallest cosine. */
static void
compare (Fixture *f, llm_pool *pool, double *max_diff, double *min_cos)
{
  const LlmBertParams *hp = llm_bert_get_params (f->bert);
  const size_t n = G_N_ELEMENTS (texts);
  g_autofree float *out = g_new (float, n * hp->n_embd);
  g_autofree double *want = g_new (double, hp->n_embd);
  char err[256] = "";

  g_assert_true (llm_bert_embed_texts (f->bert, pool, (const char *const *) texts, n, out, err, sizeof err));
  *max_diff = 0;
  *min_cos = 1;
  for (size_t i = 0; i < n; i++)
    {
      size_t nt;
      LlmToken *ids = llm_bert_tokenize (f->bert, texts[i], strlen (texts[i]), &nt);
      double dot = 0;
      g_assert_cmpuint (nt, >=, 2);
      g_assert_cmpint (ids[0], ==, 2);        /* [CLS] */
      g_assert_cmpint (ids[nt - 1], ==, 3);   /* [SEP] */
      bert_ref_embed (&f->ref, ids, (int) nt, want);
      for (int c = 0; c < hp->n_embd; c++)
        {
          float v = out[i * hp->n_embd + c];
          *max_diff = MAX (*max_diff, fabs (v - want[c]));
          dot += v * want[c];
        }
      *min_cos = MIN (*min_cos, dot);
      free (ids);
    }
}

static void
test_params_and_tokens (void)
{
  BertSpec spec = bert_spec_default ();
  Fixture f = { 0 };
  fixture_open (&f, &spec);
  const LlmBertParams *hp = llm_bert_get_params (f.bert);
  g_assert_cmpint (hp->n_vocab, ==, BERT_CRAFT_N_VOCAB);
  g_assert_cmpint (hp->n_embd, ==, 64);
  g_assert_cmpint (hp->n_layer, ==, 2);
  g_assert_cmpint (hp->n_head, ==, 4);
  g_assert_cmpint (hp->n_ff, ==, 128);
  g_assert_cmpint (hp->n_ctx, ==, 32);
  g_assert_cmpint (hp->n_token_types, ==, 2);
  g_assert_cmpint (hp->pooling, ==, LLM_BERT_POOL_MEAN);
  g_assert_cmpint (hp->weight_type, ==, LLM_TYPE_F32);
  g_assert_cmpstr (llm_bert_get_name (f.bert), ==, "crafted bert");
  size_t n;
  LlmToken *ids = llm_bert_tokenize (f.bert, "hello world", 11, &n);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpint (ids[0], ==, 2);
  g_assert_cmpint (ids[1], ==, 13);
  g_assert_cmpint (ids[2], ==, 14);
  g_assert_cmpint (ids[3], ==, 3);
  free (ids);
  fixture_close (&f);
}

static void
test_f32_matches_reference (void)
{
  BertSpec spec = bert_spec_default ();
  Fixture f = { 0 };
  double diff, cos;
  fixture_open (&f, &spec);
  compare (&f, NULL, &diff, &cos);
  g_test_message ("F32: max |diff| %.3g, min cosine %.9f", diff, cos);
  g_assert_cmpfloat (diff, <, 2e-5);

  /* per-token hidden states too, not only the pooled vector */
  size_t nt;
  LlmToken *ids = llm_bert_tokenize (f.bert, texts[0], strlen (texts[0]), &nt);
  g_autofree float *h = g_new (float, nt * 64);
  g_autofree double *want = g_new (double, nt * 64);
  const LlmToken *const seqs[] = { ids };
  char err[256];
  g_assert_true (llm_bert_forward (f.bert, NULL, seqs, &nt, 1, h, err, sizeof err));
  bert_ref_forward (&f.ref, ids, (int) nt, want);
  double hd = 0;
  for (size_t i = 0; i < nt * 64; i++)
    hd = MAX (hd, fabs (h[i] - want[i]));
  g_test_message ("F32 hidden states: max |diff| %.3g", hd);
  g_assert_cmpfloat (hd, <, 1e-4);
  free (ids);
  fixture_close (&f);
}

static void
test_quantized_match_reference (void)
{
  const struct { llm_type type; double diff, cos; } cases[] = {
    { LLM_TYPE_F16, 5e-4, 0.99999 },
    { LLM_TYPE_Q8_0, 1.5e-2, 0.9995 },
    { LLM_TYPE_Q4_0, 2e-2, 0.9995 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      BertSpec spec = bert_spec_default ();
      Fixture f = { 0 };
      double diff, cos;
      spec.wtype = cases[i].type;
      spec.seed = 3 + i;
      fixture_open (&f, &spec);
      g_assert_cmpint (llm_bert_get_params (f.bert)->weight_type, ==, cases[i].type);
      compare (&f, NULL, &diff, &cos);
      g_test_message ("%s: max |diff| %.3g, min cosine %.6f", llm_type_name (cases[i].type), diff, cos);
      g_assert_cmpfloat (diff, <, cases[i].diff);
      g_assert_cmpfloat (cos, >, cases[i].cos);
      fixture_close (&f);
    }
}

static void
test_pooling_and_fused (void)
{
  const struct { int pooling; bool fused; int n_types; LlmBertPooling want; } cases[] = {
    { 2, false, 2, LLM_BERT_POOL_CLS },
    { 3, false, 1, LLM_BERT_POOL_LAST },
    { 0, true, 0, LLM_BERT_POOL_MEAN },     /* none: mean; no token-type table (XLM-R style) */
    { -1, true, 1, LLM_BERT_POOL_MEAN },    /* key missing: mean */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      BertSpec spec = bert_spec_default ();
      Fixture f = { 0 };
      double diff, cos;
      spec.pooling = cases[i].pooling;
      spec.fused_qkv = cases[i].fused;
      spec.n_types = cases[i].n_types;
      spec.n_layer = 3;
      spec.seed = 10 + i;
      fixture_open (&f, &spec);
      g_assert_cmpint (llm_bert_get_params (f.bert)->pooling, ==, cases[i].want);
      g_assert_cmpint (llm_bert_get_params (f.bert)->n_token_types, ==, cases[i].n_types);
      compare (&f, NULL, &diff, &cos);
      g_test_message ("pooling %d fused %d: max |diff| %.3g", cases[i].pooling, cases[i].fused, diff);
      g_assert_cmpfloat (diff, <, 2e-5);
      fixture_close (&f);
    }
}

/* A batch large enough for the sgemm path, on two threads, gives what each
 * passage gives alone on one. */
static void
test_batches_and_threads (void)
{
  BertSpec spec = bert_spec_default ();
  Fixture f = { 0 };
  enum { N = 24 };
  const char *many[N];
  char err[256];
  spec.wtype = LLM_TYPE_Q8_0;
  fixture_open (&f, &spec);
  for (int i = 0; i < N; i++)
    many[i] = texts[i % G_N_ELEMENTS (texts)];
  g_autofree float *batch = g_new (float, N * 64);
  g_autofree float *one = g_new (float, 64);
  llm_pool *pool = llm_pool_new (2);
  g_assert_true (llm_bert_embed_texts (f.bert, pool, many, N, batch, err, sizeof err));
  double diff = 0;
  for (int i = 0; i < N; i++)
    {
      g_assert_true (llm_bert_embed_texts (f.bert, NULL, &many[i], 1, one, err, sizeof err));
      for (int c = 0; c < 64; c++)
        diff = MAX (diff, fabs (one[c] - batch[i * 64 + c]));
    }
  g_test_message ("batch of %d (sgemm) vs one by one (int8 dot): max |diff| %.3g", N, diff);
  g_assert_cmpfloat (diff, <, 1.5e-2);
  /* and the big batch itself against the reference */
  double bd = 0;
  g_autofree double *want = g_new (double, 64);
  for (int i = 0; i < N; i++)
    {
      size_t nt;
      LlmToken *ids = llm_bert_tokenize (f.bert, many[i], strlen (many[i]), &nt);
      bert_ref_embed (&f.ref, ids, (int) nt, want);
      for (int c = 0; c < 64; c++)
        bd = MAX (bd, fabs (want[c] - batch[i * 64 + c]));
      free (ids);
    }
  g_test_message ("batch vs reference: max |diff| %.3g", bd);
  g_assert_cmpfloat (bd, <, 1e-4);
  /* rows are unit length */
  for (int i = 0; i < N; i++)
    {
      double norm = 0;
      for (int c = 0; c < 64; c++)
        norm += batch[i * 64 + c] * batch[i * 64 + c];
      g_assert_cmpfloat (fabs (norm - 1), <, 1e-5);
    }
  llm_pool_free (pool);
  fixture_close (&f);
}

static void
test_truncation (void)
{
  BertSpec spec = bert_spec_default ();
  Fixture f = { 0 };
  g_autoptr (GString) s = g_string_new ("");
  char err[256];
  fixture_open (&f, &spec);
  for (int i = 0; i < 50; i++)
    g_string_append (s, "fox dog ");
  size_t n;
  LlmToken *ids = llm_bert_tokenize (f.bert, s->str, s->len, &n);
  g_assert_cmpuint (n, ==, 32);
  g_assert_cmpint (ids[0], ==, 2);
  g_assert_cmpint (ids[30], ==, 12);  /* "dog" */
  g_assert_cmpint (ids[31], ==, 3);   /* [SEP] kept */
  float v[64];
  const char *one[] = { s->str };
  g_assert_true (llm_bert_embed_texts (f.bert, NULL, one, 1, v, err, sizeof err));
  /* the engine refuses what it was not given truncated */
  LlmToken *too_long = g_new0 (LlmToken, 33);
  size_t n33 = 33;
  const LlmToken *const seqs[] = { too_long };
  g_assert_false (llm_bert_embed_tokens (f.bert, NULL, seqs, &n33, 1, v, err, sizeof err));
  g_assert_nonnull (strstr (err, "at most 32"));
  too_long[0] = 5000;
  n33 = 3;
  g_assert_false (llm_bert_embed_tokens (f.bert, NULL, seqs, &n33, 1, v, err, sizeof err));
  g_assert_nonnull (strstr (err, "out of range"));
  g_free (too_long);
  free (ids);
  fixture_close (&f);
}

static void
expect_error (BertSpec spec, const char *want)
{
  g_autofree char *dir = g_dir_make_tmp ("docent-bert-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "bad.gguf", NULL);
  char err[256] = "";
  g_assert_true (bert_craft_write (path, &spec, NULL));
  LlmBert *b = llm_bert_load (path, err, sizeof err);
  g_test_message ("%s", err);
  g_assert_null (b);
  if (strstr (err, want) == NULL)
    g_error ("error \"%s\" does not say \"%s\"", err, want);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_errors (void)
{
  BertSpec s;
  char err[256] = "";

  s = bert_spec_default (), s.arch = "llama";
  expect_error (s, "architecture \"llama\" is not an encoder");
  s = bert_spec_default (), s.omit_key = "bert.embedding_length";
  expect_error (s, "bert.embedding_length is missing");
  s = bert_spec_default (), s.omit_key = "bert.attention.head_count";
  expect_error (s, "bert.attention.head_count is missing");
  s = bert_spec_default (), s.n_head = 5;
  s.n_embd = 64;
  expect_error (s, "not a multiple of head_count");
  s = bert_spec_default (), s.pooling = 4;
  expect_error (s, "reranker");
  s = bert_spec_default (), s.omit_tensor = "blk.1.ffn_up.weight";
  expect_error (s, "tensor blk.1.ffn_up.weight is missing");
  s = bert_spec_default (), s.omit_tensor = "token_embd_norm.bias";
  expect_error (s, "tensor token_embd_norm.bias is missing");
  s = bert_spec_default (), s.misshape_tensor = "blk.0.attn_k.weight";
  expect_error (s, "tensor blk.0.attn_k.weight has shape [65, 64], expected [64, 64]");
  s = bert_spec_default (), s.misshape_tensor = "token_embd.weight";
  expect_error (s, "tensor token_embd.weight has shape");

  g_assert_null (llm_bert_load ("/nonexistent/model.gguf", err, sizeof err));
  g_assert_cmpstr (err, !=, "");
}

/* Sequences longer than one block of attention rows (256). */
static void
test_long_sequence (void)
{
  BertSpec spec = bert_spec_default ();
  Fixture f = { 0 };
  enum { L = 600 };
  char err[256];
  spec.n_ctx = L;
  spec.n_layer = 1;
  fixture_open (&f, &spec);
  g_autofree LlmToken *ids = g_new (LlmToken, L);
  g_autofree float *h = g_new (float, L * 64);
  g_autofree double *want = g_new (double, L * 64);
  for (int i = 0; i < L; i++)
    ids[i] = 5 + (i * 7919) % 295;
  size_t n = L;
  const LlmToken *const seqs[] = { ids };
  g_assert_true (llm_bert_forward (f.bert, NULL, seqs, &n, 1, h, err, sizeof err));
  bert_ref_forward (&f.ref, ids, L, want);
  double d = 0;
  for (int i = 0; i < L * 64; i++)
    d = MAX (d, fabs (h[i] - want[i]));
  g_test_message ("600 tokens: max |diff| of hidden states %.3g", d);
  g_assert_cmpfloat (d, <, 1e-4);
  fixture_close (&f);
}

/* The metadata of a published file: llama.cpp's bge vocabulary file (all
 * of bge-small's keys and its WordPiece vocabulary, no tensors) with random
 * tensors of the shape it declares (one block, to stay small). The keys,
 * pooling and tokenizer are read as published; "hello world" gets BERT's
 * own ids. */
static void
test_published_metadata (void)
{
  const char *shared = g_getenv ("DOCENT_SHARED_DIR");
  g_autofree char *vocab_path = g_build_filename (shared ? shared : "../shared", "tokenizers",
                                                  "ggml-vocab-bert-bge.gguf", NULL);
  g_autofree char *dir = NULL, *rnd_path = NULL, *out_path = NULL;
  llm_gguf_error gerr;
  llm_gguf *vocab, *rnd;
  LlmBertParams hp = { 0 };
  uint64_t u;
  llm_gguf_type et;
  char err[256] = "";

  vocab = llm_gguf_open (vocab_path, &gerr);
  if (vocab == NULL)
    {
      g_test_skip ("shared bge vocabulary not found");
      return;
    }
  dir = g_dir_make_tmp ("docent-bert-XXXXXX", NULL);
  rnd_path = g_build_filename (dir, "random.gguf", NULL);
  out_path = g_build_filename (dir, "bge-shaped.gguf", NULL);
  g_assert_true (llm_gguf_get_array (vocab, "tokenizer.ggml.tokens", &et, &u));
  hp.n_vocab = (int32_t) u;
  g_assert_true (llm_gguf_get_uint (vocab, "bert.embedding_length", &u));
  hp.n_embd = (int32_t) u;
  g_assert_true (llm_gguf_get_uint (vocab, "bert.feed_forward_length", &u));
  hp.n_ff = (int32_t) u;
  g_assert_true (llm_gguf_get_uint (vocab, "bert.attention.head_count", &u));
  hp.n_head = (int32_t) u;
  g_assert_true (llm_gguf_get_uint (vocab, "bert.context_length", &u));
  hp.n_ctx = (int32_t) u;
  hp.n_token_types = llm_gguf_get_uint (vocab, "tokenizer.ggml.token_type_count", &u) ? (int32_t) u : 2;
  hp.pooling = llm_gguf_get_uint (vocab, "bert.pooling_type", &u) ? (LlmBertPooling) u : LLM_BERT_POOL_MEAN;
  hp.n_layer = 1;
  g_test_message ("bge vocabulary file: vocab %d, E %d, F %d, heads %d, ctx %d, types %d, pooling %d",
                  hp.n_vocab, hp.n_embd, hp.n_ff, hp.n_head, hp.n_ctx, hp.n_token_types, hp.pooling);
  g_assert_true (llm_bert_write_random (rnd_path, &hp, LLM_TYPE_Q8_0, 11, err, sizeof err));
  rnd = llm_gguf_open (rnd_path, &gerr);
  g_assert_nonnull (rnd);

  llm_gguf_writer *w = llm_gguf_writer_new ();
  g_assert_true (llm_gguf_writer_copy_kv (w, vocab));
  g_assert_true (llm_gguf_writer_set_u32 (w, "bert.block_count", 1));
  for (size_t i = 0; i < llm_gguf_n_tensors (rnd); i++)
    {
      const llm_gguf_tensor *t = llm_gguf_get_tensor (rnd, i);
      g_assert_true (llm_gguf_writer_add_tensor (w, t->name, t->type, t->n_dims, t->ne, t->data));
    }
  g_assert_true (llm_gguf_writer_write_file (w, out_path, &gerr));
  llm_gguf_writer_free (w);
  llm_gguf_close (rnd);
  llm_gguf_close (vocab);

  LlmBert *b = llm_bert_load (out_path, err, sizeof err);
  if (b == NULL)
    g_error ("%s", err);
  const LlmBertParams *got = llm_bert_get_params (b);
  g_assert_cmpint (got->n_embd, ==, hp.n_embd);
  g_assert_cmpint (got->n_vocab, ==, hp.n_vocab);
  g_assert_cmpint (got->n_ctx, ==, hp.n_ctx);
  g_assert_cmpfloat (got->eps, >, 0);
  g_assert_cmpfloat (got->eps, <, 1e-5);
  size_t n;
  LlmToken *ids = llm_bert_tokenize (b, "hello world", 11, &n);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpint (ids[0], ==, 101);
  g_assert_cmpint (ids[1], ==, 7592);
  g_assert_cmpint (ids[2], ==, 2088);
  g_assert_cmpint (ids[3], ==, 102);
  free (ids);
  const char *texts[] = { "hello world", "양자화는 모델을 작게 만든다." };
  g_autofree float *v = g_new (float, 2 * got->n_embd);
  g_assert_true (llm_bert_embed_texts (b, NULL, texts, 2, v, err, sizeof err));
  for (int i = 0; i < 2; i++)
    {
      double norm = 0;
      for (int c = 0; c < got->n_embd; c++)
        norm += v[i * got->n_embd + c] * v[i * got->n_embd + c];
      g_assert_cmpfloat (fabs (norm - 1), <, 1e-5);
    }
  llm_bert_free (b);
  g_unlink (rnd_path);
  g_unlink (out_path);
  g_rmdir (dir);
}

/* An XLM-RoBERTa-style file (multilingual-e5, bge-m3): architecture bert,
 * a Unigram ("t5") vocabulary with <s> … </s> added around each text, one
 * token type, mean pooling. The crafted model's tensors under that
 * metadata must give the reference's vectors for the ids the Unigram
 * tokenizer picks, Korean included. */
static void
test_xlmr_style (void)
{
  BertSpec spec = bert_spec_default ();
  g_autofree char *dir = g_dir_make_tmp ("docent-bert-XXXXXX", NULL);
  g_autofree char *src_path = g_build_filename (dir, "wpm.gguf", NULL);
  g_autofree char *path = g_build_filename (dir, "xlmr.gguf", NULL);
  const char *tokens[BERT_CRAFT_N_VOCAB];
  char fill[BERT_CRAFT_N_VOCAB][16];
  float scores[BERT_CRAFT_N_VOCAB];
  int32_t types[BERT_CRAFT_N_VOCAB];
  static const char *const pieces[] = {
    "<s>", "<pad>", "</s>", "<unk>", "\u2581hello", "\u2581world", "\u2581", "\u2581양자", "화",
    "는", "\u2581모델", "을", ".",
  };
  llm_gguf_error gerr;
  BertRef ref;
  char err[256] = "";

  spec.n_types = 1;
  spec.pooling = LLM_BERT_POOL_MEAN;
  g_assert_true (bert_craft_write (src_path, &spec, &ref));
  llm_gguf *g = llm_gguf_open (src_path, &gerr);
  g_assert_nonnull (g);
  llm_gguf_writer *w = llm_gguf_writer_new ();
  for (size_t i = 0; i < llm_gguf_n_kv (g); i++)
    {
      const llm_gguf_kv *kv = llm_gguf_get_kv (g, i);
      if (!g_str_has_prefix (kv->key, "tokenizer."))
        g_assert_true (llm_gguf_writer_set_raw (w, kv->key, kv->raw, kv->raw_len));
    }
  for (int i = 0; i < BERT_CRAFT_N_VOCAB; i++)
    {
      if ((size_t) i < G_N_ELEMENTS (pieces))
        tokens[i] = pieces[i];
      else
        {
          g_snprintf (fill[i], sizeof fill[i], "\u2581f%03d", i);
          tokens[i] = fill[i];
        }
      scores[i] = i < 4 ? 0.0f : i < (int) G_N_ELEMENTS (pieces) ? -1.0f - 0.1f * i : -20.0f;
      types[i] = i < 4 ? (i == 3 ? 2 : 3) : 1;
    }
  llm_gguf_writer_set_string (w, "tokenizer.ggml.model", "t5");
  llm_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens", tokens, BERT_CRAFT_N_VOCAB);
  llm_gguf_writer_set_array (w, "tokenizer.ggml.scores", LLM_GGUF_TYPE_FLOAT32, scores, BERT_CRAFT_N_VOCAB);
  llm_gguf_writer_set_array (w, "tokenizer.ggml.token_type", LLM_GGUF_TYPE_INT32, types, BERT_CRAFT_N_VOCAB);
  llm_gguf_writer_set_u32 (w, "tokenizer.ggml.bos_token_id", 0);
  llm_gguf_writer_set_u32 (w, "tokenizer.ggml.padding_token_id", 1);
  llm_gguf_writer_set_u32 (w, "tokenizer.ggml.eos_token_id", 2);
  llm_gguf_writer_set_u32 (w, "tokenizer.ggml.unknown_token_id", 3);
  llm_gguf_writer_set_bool (w, "tokenizer.ggml.add_bos_token", TRUE);
  llm_gguf_writer_set_bool (w, "tokenizer.ggml.add_eos_token", TRUE);
  llm_gguf_writer_set_bool (w, "tokenizer.ggml.add_space_prefix", TRUE);
  llm_gguf_writer_set_u32 (w, "tokenizer.ggml.token_type_count", 1);
  for (size_t i = 0; i < llm_gguf_n_tensors (g); i++)
    {
      const llm_gguf_tensor *t = llm_gguf_get_tensor (g, i);
      g_assert_true (llm_gguf_writer_add_tensor (w, t->name, t->type, t->n_dims, t->ne, t->data));
    }
  g_assert_true (llm_gguf_writer_write_file (w, path, &gerr));
  llm_gguf_writer_free (w);
  llm_gguf_close (g);

  LlmBert *b = llm_bert_load (path, err, sizeof err);
  if (b == NULL)
    g_error ("%s", err);
  g_assert_cmpint (llm_vocab_get_type (llm_bert_get_vocab (b)), ==, LLM_VOCAB_UGM);
  g_assert_cmpint (llm_bert_get_params (b)->n_token_types, ==, 1);
  const char *texts[] = { "hello world", "양자화는 모델을." };
  const LlmToken want_ids[][8] = { { 0, 4, 5, 2 }, { 0, 7, 8, 9, 10, 11, 12, 2 } };
  const size_t want_n[] = { 4, 8 };
  float v[2 * 64];
  g_assert_true (llm_bert_embed_texts (b, NULL, texts, 2, v, err, sizeof err));
  for (int i = 0; i < 2; i++)
    {
      size_t n;
      LlmToken *ids = llm_bert_tokenize (b, texts[i], strlen (texts[i]), &n);
      g_assert_cmpuint (n, ==, want_n[i]);
      for (size_t k = 0; k < n; k++)
        g_assert_cmpint (ids[k], ==, want_ids[i][k]);
      double want[64], d = 0;
      bert_ref_embed (&ref, ids, (int) n, want);
      for (int c = 0; c < 64; c++)
        d = MAX (d, fabs (want[c] - v[i * 64 + c]));
      g_assert_cmpfloat (d, <, 2e-5);
      free (ids);
    }
  llm_bert_free (b);
  bert_ref_free (&ref);
  g_unlink (src_path);
  g_unlink (path);
  g_rmdir (dir);
}

/* The benchmark's random models load and run, at any weight type. */
static void
test_write_random (void)
{
  g_autofree char *dir = g_dir_make_tmp ("docent-bert-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "random.gguf", NULL);
  LlmBertParams hp = { 0 };
  char err[256] = "";
  const llm_type types[] = { LLM_TYPE_F32, LLM_TYPE_F16, LLM_TYPE_Q8_0, LLM_TYPE_Q4_K };

  hp.n_vocab = 500, hp.n_embd = 256, hp.n_layer = 2, hp.n_head = 4, hp.n_ff = 512;
  hp.n_ctx = 64, hp.n_token_types = 2, hp.pooling = LLM_BERT_POOL_CLS;
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_assert_true (llm_bert_write_random (path, &hp, types[i], 7, err, sizeof err));
      LlmBert *b = llm_bert_load (path, err, sizeof err);
      if (b == NULL)
        g_error ("%s", err);
      const LlmBertParams *got = llm_bert_get_params (b);
      g_assert_cmpint (got->n_vocab, ==, 500);
      g_assert_cmpint (got->n_embd, ==, 256);
      g_assert_cmpint (got->pooling, ==, LLM_BERT_POOL_CLS);
      g_assert_cmpint (got->weight_type, ==, types[i]);
      size_t n;
      LlmToken *ids = llm_bert_tokenize (b, "w10 w499", 8, &n);
      g_assert_cmpuint (n, ==, 4);
      g_assert_cmpint (ids[1], ==, 10);
      g_assert_cmpint (ids[2], ==, 499);
      float v[256];
      const LlmToken *const seqs[] = { ids };
      g_assert_true (llm_bert_embed_tokens (b, NULL, seqs, &n, 1, v, err, sizeof err));
      double norm = 0;
      for (int c = 0; c < 256; c++)
        norm += v[c] * v[c];
      g_assert_cmpfloat (fabs (norm - 1), <, 1e-5);
      free (ids);
      llm_bert_free (b);
    }
  hp.n_embd = 100;  /* not whole Q8_0 blocks */
  g_assert_false (llm_bert_write_random (path, &hp, LLM_TYPE_Q8_0, 7, err, sizeof err));
  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/llm/bert/params-and-tokens", test_params_and_tokens);
  g_test_add_func ("/llm/bert/f32-reference", test_f32_matches_reference);
  g_test_add_func ("/llm/bert/quantized-reference", test_quantized_match_reference);
  g_test_add_func ("/llm/bert/pooling-and-fused-qkv", test_pooling_and_fused);
  g_test_add_func ("/llm/bert/batches-and-threads", test_batches_and_threads);
  g_test_add_func ("/llm/bert/truncation", test_truncation);
  g_test_add_func ("/llm/bert/long-sequence", test_long_sequence);
  g_test_add_func ("/llm/bert/errors", test_errors);
  g_test_add_func ("/llm/bert/write-random", test_write_random);
  g_test_add_func ("/llm/bert/published-metadata", test_published_metadata);
  g_test_add_func ("/llm/bert/xlm-roberta-style", test_xlmr_style);
  return g_test_run ();
}
