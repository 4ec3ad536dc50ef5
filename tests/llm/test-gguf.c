/* SPDX-License-Identifier: GPL-3.0-or-later */
/* GGUF reader and writer: round trips, the real model files, and a corpus of
 * crafted bad files that must each be rejected with their own error. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "llm-gguf.h"
#include "gguf-craft.h"

static char *
shared_path (const char *rel)
{
  const char *dir = g_getenv ("DOCENT_SHARED_DIR");
  return g_build_filename (dir ? dir : "../shared", rel, NULL);
}

static void
test_writer_round_trip (void)
{
  g_autofree char *dir = g_dir_make_tmp ("docent-gguf-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "t.gguf", NULL);
  llm_gguf_writer *w = llm_gguf_writer_new ();
  llm_gguf_error err;
  const char *strs[] = { "<s>", "héllo", "" };
  const int32_t ints[] = { -1, 2, 3 };
  float f32[64];
  uint8_t q8[2 * 34];
  int64_t ne_a[] = { 64 }, ne_b[] = { 32, 2 };
  llm_gguf *g;
  const llm_gguf_kv *kv;
  const llm_gguf_tensor *t;
  uint64_t u;
  int64_t i64;
  double f;
  bool b;
  const char *s;
  uint64_t len;
  g_autofree char *name = NULL;
  uint64_t expect_size;

  for (int i = 0; i < 64; i++)
    f32[i] = (float) i * 0.5f - 3.f;
  for (size_t i = 0; i < sizeof q8; i++)
    q8[i] = (uint8_t) (i * 7);
  g_assert_true (llm_gguf_writer_set_string (w, "general.architecture", "llama"));
  g_assert_true (llm_gguf_writer_set_string (w, "general.name", "test"));
  g_assert_true (llm_gguf_writer_set_u32 (w, "llama.context_length", 256));
  g_assert_true (llm_gguf_writer_set_i32 (w, "x.i32", -5));
  g_assert_true (llm_gguf_writer_set_u64 (w, "x.u64", G_GUINT64_CONSTANT (1) << 40));
  g_assert_true (llm_gguf_writer_set_f32 (w, "x.f32", 1e-5f));
  g_assert_true (llm_gguf_writer_set_bool (w, "x.bool", true));
  g_assert_true (llm_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens", strs, 3));
  g_assert_true (llm_gguf_writer_set_array (w, "x.ints", LLM_GGUF_TYPE_INT32, ints, 3));
  g_assert_true (llm_gguf_writer_set_u32 (w, "general.alignment", 64));
  /* replacing keeps one key */
  g_assert_true (llm_gguf_writer_set_string (w, "general.name", "test2"));
  /* a nested array of strings, serialized by hand: [["ab"], []] */
  {
    craft_buf raw = { 0 };
    craft_u32 (&raw, LLM_GGUF_TYPE_ARRAY);
    craft_u32 (&raw, LLM_GGUF_TYPE_ARRAY);
    craft_u64 (&raw, 2);
    craft_u32 (&raw, LLM_GGUF_TYPE_STRING);
    craft_u64 (&raw, 1);
    craft_str (&raw, "ab");
    craft_u32 (&raw, LLM_GGUF_TYPE_STRING);
    craft_u64 (&raw, 0);
    g_assert_true (llm_gguf_writer_set_raw (w, "x.nested", raw.p, raw.len));
    free (raw.p);
  }
  g_assert_true (llm_gguf_writer_add_tensor (w, "a", LLM_TYPE_F32, 1, ne_a, f32));
  g_assert_true (llm_gguf_writer_add_tensor (w, "b", LLM_TYPE_Q8_0, 2, ne_b, q8));
  g_assert_false (llm_gguf_writer_add_tensor (w, "b", LLM_TYPE_Q8_0, 2, ne_b, q8));
  expect_size = llm_gguf_writer_file_size (w);
  g_assert_true (llm_gguf_writer_write_file (w, path, &err));
  llm_gguf_writer_free (w);

  g = llm_gguf_open (path, &err);
  g_assert_nonnull (g);
  g_assert_cmpuint (llm_gguf_version (g), ==, 3);
  g_assert_cmpuint (llm_gguf_file_size (g), ==, expect_size);
  g_assert_cmpuint (llm_gguf_alignment (g), ==, 64);
  g_assert_cmpuint (llm_gguf_data_offset (g) % 64, ==, 0);
  g_assert_cmpuint (llm_gguf_n_kv (g), ==, 11);
  name = llm_gguf_dup_string (g, "general.name");
  g_assert_cmpstr (name, ==, "test2");
  g_assert_true (llm_gguf_get_uint (g, "llama.context_length", &u));
  g_assert_cmpuint (u, ==, 256);
  g_assert_true (llm_gguf_get_int (g, "x.i32", &i64));
  g_assert_cmpint (i64, ==, -5);
  g_assert_false (llm_gguf_get_uint (g, "x.i32", &u));
  g_assert_true (llm_gguf_get_uint (g, "x.u64", &u));
  g_assert_cmpuint (u, ==, G_GUINT64_CONSTANT (1) << 40);
  g_assert_true (llm_gguf_get_float (g, "x.f32", &f));
  g_assert_cmpfloat (f, ==, (double) 1e-5f);
  g_assert_true (llm_gguf_get_bool (g, "x.bool", &b));
  g_assert_true (b);
  g_assert_false (llm_gguf_get_bool (g, "x.missing", &b));
  kv = llm_gguf_find_kv (g, "tokenizer.ggml.tokens");
  g_assert_nonnull (kv);
  g_assert_cmpuint (kv->value.arr_n, ==, 3);
  g_assert_true (llm_gguf_value_array_string (&kv->value, 1, &s, &len));
  g_assert_cmpuint (len, ==, strlen ("héllo"));
  g_assert_cmpmem (s, len, "héllo", len);
  g_assert_false (llm_gguf_value_array_string (&kv->value, 3, &s, &len));
  kv = llm_gguf_find_kv (g, "x.ints");
  g_assert_true (llm_gguf_value_array_int (&kv->value, 0, &i64));
  g_assert_cmpint (i64, ==, -1);
  kv = llm_gguf_find_kv (g, "x.nested");
  g_assert_nonnull (kv);
  g_assert_cmpuint (kv->value.arr_n, ==, 2);
  g_assert_true (llm_gguf_value_array_string (&kv->value.arr_elems[0], 0, &s, &len));
  g_assert_cmpmem (s, len, "ab", 2);
  g_assert_cmpuint (kv->value.arr_elems[1].arr_n, ==, 0);

  g_assert_cmpuint (llm_gguf_n_tensors (g), ==, 2);
  t = llm_gguf_find_tensor (g, "a");
  g_assert_nonnull (t);
  g_assert_cmpint (t->type, ==, LLM_TYPE_F32);
  g_assert_cmpint (t->ne[0], ==, 64);
  g_assert_cmpmem (t->data, t->size, f32, sizeof f32);
  t = llm_gguf_find_tensor (g, "b");
  g_assert_nonnull (t);
  g_assert_cmpint (t->n_elements, ==, 64);
  g_assert_cmpuint (t->size, ==, sizeof q8);
  g_assert_cmpuint (t->offset % 64, ==, 0);
  g_assert_cmpmem (t->data, t->size, q8, sizeof q8);
  g_assert_null (llm_gguf_find_tensor (g, "c"));

  /* Copying every key to a new file keeps them byte for byte. */
  {
    g_autofree char *path2 = g_build_filename (dir, "copy.gguf", NULL);
    llm_gguf_writer *w2 = llm_gguf_writer_new ();
    llm_gguf *g2;
    g_assert_true (llm_gguf_writer_copy_kv (w2, g));
    g_assert_true (llm_gguf_writer_begin (w2, path2, &err));
    g_assert_true (llm_gguf_writer_finish (w2, &err));
    llm_gguf_writer_free (w2);
    g2 = llm_gguf_open (path2, &err);
    g_assert_nonnull (g2);
    g_assert_cmpuint (llm_gguf_n_kv (g2), ==, llm_gguf_n_kv (g));
    for (size_t i = 0; i < llm_gguf_n_kv (g); i++)
      {
        const llm_gguf_kv *a = llm_gguf_get_kv (g, i);
        const llm_gguf_kv *c = llm_gguf_find_kv (g2, a->key);
        g_assert_nonnull (c);
        g_assert_cmpmem (a->raw, a->raw_len, c->raw, c->raw_len);
      }
    llm_gguf_close (g2);
    g_unlink (path2);
  }
  llm_gguf_close (g);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_streaming_writer (void)
{
  g_autofree char *dir = g_dir_make_tmp ("docent-gguf-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "s.gguf", NULL);
  llm_gguf_writer *w = llm_gguf_writer_new ();
  llm_gguf_error err;
  int64_t ne[] = { 10, 3 };
  float data[30];
  llm_gguf *g;
  uint64_t expect;

  for (int i = 0; i < 30; i++)
    data[i] = (float) i;
  g_assert_true (llm_gguf_writer_add_tensor (w, "x", LLM_TYPE_F32, 2, ne, NULL));
  g_assert_true (llm_gguf_writer_add_tensor (w, "y", LLM_TYPE_F32, 2, ne, NULL));
  expect = llm_gguf_writer_file_size (w);
  g_assert_true (llm_gguf_writer_begin (w, path, &err));
  /* in uneven chunks that straddle the two tensors */
  g_assert_true (llm_gguf_writer_write_data (w, data, 50, &err));
  g_assert_true (llm_gguf_writer_write_data (w, (char *) data + 50, 70, &err));
  g_assert_true (llm_gguf_writer_write_data (w, data, 120, &err));
  g_assert_false (llm_gguf_writer_write_data (w, data, 4, &err));
  g_assert_true (llm_gguf_writer_finish (w, &err));
  llm_gguf_writer_free (w);
  g = llm_gguf_open (path, &err);
  g_assert_nonnull (g);
  g_assert_cmpuint (llm_gguf_file_size (g), ==, expect);
  g_assert_cmpmem (llm_gguf_find_tensor (g, "y")->data, 120, data, 120);
  llm_gguf_close (g);

  /* finishing early is an error */
  w = llm_gguf_writer_new ();
  g_assert_true (llm_gguf_writer_add_tensor (w, "x", LLM_TYPE_F32, 2, ne, NULL));
  g_assert_true (llm_gguf_writer_begin (w, path, &err));
  g_assert_false (llm_gguf_writer_finish (w, &err));
  g_assert_cmpint (err.code, ==, LLM_GGUF_E_INVALID);
  llm_gguf_writer_free (w);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_real_models (void)
{
  const char *files[] = { "models/rman-llama-12m-f16.gguf", "models/rman-llama-12m-q8_0.gguf" };

  for (size_t f = 0; f < G_N_ELEMENTS (files); f++)
    {
      g_autofree char *path = shared_path (files[f]);
      g_autofree char *arch = NULL;
      llm_gguf_error err;
      llm_gguf *g;
      int64_t params = 0;
      uint64_t ctx, n_tokens;
      llm_gguf_type et;

      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_test_skip ("shared models not found");
          return;
        }
      g = llm_gguf_open (path, &err);
      if (g == NULL)
        g_error ("%s: %s", path, err.message);
      arch = llm_gguf_dup_string (g, "general.architecture");
      g_assert_cmpstr (arch, ==, "llama");
      g_assert_true (llm_gguf_get_uint (g, "llama.context_length", &ctx));
      g_assert_cmpuint (ctx, ==, 256);
      g_assert_true (llm_gguf_get_array (g, "tokenizer.ggml.tokens", &et, &n_tokens));
      g_assert_cmpint (et, ==, LLM_GGUF_TYPE_STRING);
      g_assert_cmpuint (n_tokens, ==, 32000);
      for (size_t i = 0; i < llm_gguf_n_tensors (g); i++)
        params += llm_gguf_get_tensor (g, i)->n_elements;
      g_assert_cmpint (params, ==, 11340032);
      g_assert_nonnull (llm_gguf_find_tensor (g, "token_embd.weight"));
      g_assert_null (llm_gguf_find_tensor (g, "output.weight"));
      llm_gguf_close (g);
    }
}

static void
test_tokenizer_files (void)
{
  g_autofree char *dir = shared_path ("tokenizers");
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  int n = 0;

  if (d == NULL)
    {
      g_test_skip ("shared tokenizers not found");
      return;
    }
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = NULL;
      llm_gguf_error err;
      llm_gguf *g;
      if (!g_str_has_suffix (name, ".gguf"))
        continue;
      path = g_build_filename (dir, name, NULL);
      g = llm_gguf_open (path, &err);
      if (g == NULL)
        g_error ("%s: %s", name, err.message);
      g_assert_nonnull (llm_gguf_find_kv (g, "tokenizer.ggml.model"));
      llm_gguf_close (g);
      n++;
    }
  g_assert_cmpint (n, >=, 5);
}

static void
test_valid_craft (void)
{
  craft_buf b = { 0 };
  llm_gguf_error err;
  llm_gguf *g;

  craft_valid (&b);
  g = llm_gguf_open_memory (b.p, b.len, &err);
  if (g == NULL)
    g_error ("%s", err.message);
  g_assert_cmpuint (llm_gguf_n_tensors (g), ==, 2);
  llm_gguf_close (g);

  /* Version 2 has the same layout and is read too. */
  {
    uint32_t v2 = 2;
    memcpy (b.p + 4, &v2, 4);
    g = llm_gguf_open_memory (b.p, b.len, &err);
    g_assert_nonnull (g);
    g_assert_cmpuint (llm_gguf_version (g), ==, 2);
    llm_gguf_close (g);
    v2 = 3;
    memcpy (b.p + 4, &v2, 4);
  }

  /* Every proper prefix is rejected, and never read past its end. */
  for (size_t n = 0; n < b.len; n++)
    {
      uint8_t *copy = g_memdup2 (b.p, n ? n : 1);
      g = llm_gguf_open_memory (copy, n, &err);
      g_assert_null (g);
      g_assert_cmpint (err.code, !=, LLM_GGUF_OK);
      g_free (copy);
    }
  free (b.p);
}

static void
test_bad_corpus (void)
{
  g_autofree char *dir = g_dir_make_tmp ("docent-gguf-XXXXXX", NULL);
  GHashTable *messages = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_assert_cmpuint (CRAFT_N_CASES, >=, 20);
  for (size_t i = 0; i < CRAFT_N_CASES; i++)
    {
      craft_buf b = { 0 };
      g_autofree char *path = g_strdup_printf ("%s/%s.gguf", dir, craft_cases[i].name);
      llm_gguf_error err;
      llm_gguf *g;

      craft_build (i, &b);
      /* From memory (exact-size heap copy, so ASan sees overreads)… */
      {
        uint8_t *copy = g_memdup2 (b.p, b.len ? b.len : 1);
        g = llm_gguf_open_memory (copy, b.len, &err);
        g_free (copy);
      }
      if (g != NULL || err.code != craft_cases[i].expect)
        g_error ("%s: expected \"%s\", got \"%s\" (%s)", craft_cases[i].name,
                 llm_gguf_status_name (craft_cases[i].expect), llm_gguf_status_name (err.code),
                 g != NULL ? "accepted" : err.message);
      g_test_message ("%s: %s", craft_cases[i].name, err.message);
      g_assert_cmpstr (err.message, !=, "");
      /* each message is its own */
      g_assert_false (g_hash_table_contains (messages, err.message));
      g_hash_table_add (messages, g_strdup (err.message));
      /* …and from a file. */
      g_assert_true (g_file_set_contents (path, (char *) b.p, (gssize) b.len, NULL));
      g = llm_gguf_open (path, &err);
      g_assert_null (g);
      g_assert_cmpint (err.code, ==, craft_cases[i].expect);
      g_unlink (path);
      free (b.p);
    }
  g_hash_table_unref (messages);
  g_rmdir (dir);
}

/* Random byte changes to the valid file: must never crash or hang. */
static void
test_mutations (void)
{
  craft_buf b = { 0 };
  GRand *rand = g_rand_new_with_seed (1234);
  int accepted = 0;

  craft_valid (&b);
  for (int iter = 0; iter < 20000; iter++)
    {
      uint8_t *copy = g_memdup2 (b.p, b.len);
      int n = g_rand_int_range (rand, 1, 4);
      size_t len = b.len;
      llm_gguf_error err;
      llm_gguf *g;

      for (int k = 0; k < n; k++)
        {
          size_t at = (size_t) g_rand_int_range (rand, 0, (gint32) b.len);
          switch (g_rand_int_range (rand, 0, 3))
            {
            case 0: copy[at] = (uint8_t) g_rand_int (rand); break;
            case 1: copy[at] ^= (uint8_t) (1u << g_rand_int_range (rand, 0, 8)); break;
            default: copy[at] = (uint8_t) (g_rand_boolean (rand) ? 0xFF : 0); break;
            }
        }
      if (g_rand_int_range (rand, 0, 4) == 0)
        len = (size_t) g_rand_int_range (rand, 0, (gint32) b.len);
      g = llm_gguf_open_memory (copy, len, &err);
      if (g != NULL)
        {
          /* touch every byte the reader vouches for */
          volatile uint8_t sink = 0;
          for (size_t t = 0; t < llm_gguf_n_tensors (g); t++)
            {
              const llm_gguf_tensor *tt = llm_gguf_get_tensor (g, t);
              for (uint64_t j = 0; j < tt->size; j++)
                sink ^= ((const uint8_t *) tt->data)[j];
            }
          (void) sink;
          accepted++;
          llm_gguf_close (g);
        }
      else
        g_assert_cmpint (err.code, !=, LLM_GGUF_OK);
      g_free (copy);
    }
  g_test_message ("%d of 20000 mutants accepted", accepted);
  g_rand_free (rand);
  free (b.p);
}

/* test-gguf --write-corpus DIR: writes the crafted files (fuzzer seeds). */
static int
write_corpus (const char *dir)
{
  craft_buf b = { 0 };
  g_autofree char *valid = g_build_filename (dir, "valid.gguf", NULL);

  g_mkdir_with_parents (dir, 0755);
  craft_valid (&b);
  g_file_set_contents (valid, (char *) b.p, (gssize) b.len, NULL);
  free (b.p);
  for (size_t i = 0; i < CRAFT_N_CASES; i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/%s.gguf", dir, craft_cases[i].name);
      craft_buf c = { 0 };
      craft_build (i, &c);
      if (!g_file_set_contents (path, c.p ? (char *) c.p : "", (gssize) c.len, NULL))
        return 1;
      free (c.p);
    }
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 3 && strcmp (argv[1], "--write-corpus") == 0)
    return write_corpus (argv[2]);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/llm/gguf/writer-round-trip", test_writer_round_trip);
  g_test_add_func ("/llm/gguf/streaming-writer", test_streaming_writer);
  g_test_add_func ("/llm/gguf/real-models", test_real_models);
  g_test_add_func ("/llm/gguf/tokenizer-files", test_tokenizer_files);
  g_test_add_func ("/llm/gguf/valid-and-truncations", test_valid_craft);
  g_test_add_func ("/llm/gguf/bad-corpus", test_bad_corpus);
  g_test_add_func ("/llm/gguf/mutations", test_mutations);
  return g_test_run ();
}
