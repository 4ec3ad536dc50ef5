/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `docent info`, `docent quantize`, `docent bench kernels` and `docent generate`
 * options end to end. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

static char *
shared_model (const char *name)
{
  const char *dir = g_getenv ("DOCENT_SHARED_DIR");
  char *path = g_build_filename (dir ? dir : "../shared", "models", name, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    g_clear_pointer (&path, g_free);
  return path;
}

/* Runs docent with @args; returns the exit status, stdout and stderr. */
static int
run (const char *const *args, char **out, char **err)
{
  const char *bin = g_getenv ("DOCENT_BIN");
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  int status = -1;

  g_assert_nonnull (bin);
  g_ptr_array_add (argv, (char *) bin);
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err,
                     &status, &error))
    g_error ("%s", error->message);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static JsonObject *
parse_one_object (const char *text, JsonParser **parser)
{
  g_autoptr(GError) error = NULL;
  *parser = json_parser_new ();
  /* exactly one line, one object */
  g_assert_nonnull (strchr (text, '\n'));
  g_assert_cmpstr (strchr (text, '\n') + 1, ==, "");
  if (!json_parser_load_from_data (*parser, text, -1, &error))
    g_error ("%s: %s", error->message, text);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (*parser)));
  return json_node_get_object (json_parser_get_root (*parser));
}

static void
test_info (void)
{
  g_autofree char *f16 = shared_model ("rman-llama-12m-f16.gguf");
  g_autofree char *phi3 = shared_model ("../tokenizers/ggml-vocab-phi-3.gguf");
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *o, *types;

  if (f16 == NULL)
    {
      g_test_skip ("shared model not found");
      return;
    }
  g_assert_cmpint (run ((const char *[]) { "info", "--json", f16, NULL }, &out, &err), ==, 0);
  o = parse_one_object (out, &parser);
  g_assert_cmpstr (json_object_get_string_member (o, "architecture"), ==, "llama");
  g_assert_cmpstr (json_object_get_string_member (o, "name"), ==, "rman-llama-12m");
  g_assert_cmpint (json_object_get_int_member (o, "parameters"), ==, 11340032);
  g_assert_cmpint (json_object_get_int_member (o, "context_length"), ==, 256);
  g_assert_cmpstr (json_object_get_string_member (o, "tokenizer"), ==, "llama");
  g_assert_false (json_object_get_boolean_member (o, "chat_template"));
  types = json_object_get_object_member (o, "tensor_types");
  g_assert_cmpint (json_object_get_int_member (types, "F16"), ==, 29);
  g_assert_cmpint (json_object_get_int_member (types, "F32"), ==, 9);
  g_assert_cmpint (json_object_get_int_member (o, "file_size"), >, 20000000);
  /* weights (22 MB) + KV cache + work buffers, well under a gigabyte */
  g_assert_cmpint (json_object_get_int_member (o, "ram_estimate"), >, json_object_get_int_member (o, "file_size"));
  g_assert_cmpint (json_object_get_int_member (o, "ram_estimate"), <, 1 << 30);

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run ((const char *[]) { "info", f16, NULL }, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "llama"));

  /* a vocabulary-only file with a chat template */
  if (phi3 != NULL)
    {
      g_clear_pointer (&out, g_free);
      g_clear_pointer (&err, g_free);
      g_clear_object (&parser);
      g_assert_cmpint (run ((const char *[]) { "info", "--json", phi3, NULL }, &out, &err), ==, 0);
      o = parse_one_object (out, &parser);
      g_assert_cmpstr (json_object_get_string_member (o, "architecture"), ==, "phi3");
      g_assert_cmpint (json_object_get_int_member (o, "parameters"), ==, 0);
      g_assert_cmpstr (json_object_get_string_member (o, "tokenizer"), ==, "llama");
      g_assert_true (json_object_get_boolean_member (o, "chat_template"));
    }
}

static void
test_info_bad (void)
{
  g_autofree char *dir = g_dir_make_tmp ("docent-info-XXXXXX", NULL);
  g_autofree char *bad = g_build_filename (dir, "bad.gguf", NULL);
  g_autofree char *out = NULL, *err = NULL;

  /* GGUF v3 header claiming 2^60 tensors */
  g_assert_true (g_file_set_contents (bad, "GGUF\3\0\0\0\0\0\0\0\0\0\0\20\0\0\0\0\0\0\0\0", 24, NULL));
  g_assert_cmpint (run ((const char *[]) { "info", "--json", bad, NULL }, &out, &err), ==, 1);
  g_assert_cmpstr (out, ==, "");
  g_assert_nonnull (strstr (err, "tensors"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run ((const char *[]) { "info", "/nonexistent.gguf", NULL }, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "nonexistent"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run ((const char *[]) { "info", NULL }, &out, &err), ==, 2);
  g_unlink (bad);
  g_rmdir (dir);
}

static void
test_quantize (void)
{
  g_autofree char *f16 = shared_model ("rman-llama-12m-f16.gguf");
  g_autofree char *q8 = shared_model ("rman-llama-12m-q8_0.gguf");
  g_autofree char *dir = g_dir_make_tmp ("docent-quantize-XXXXXX", NULL);
  g_autofree char *dst = g_build_filename (dir, "q4_k_m.gguf", NULL);
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *o, *types;

  if (f16 == NULL || q8 == NULL)
    {
      g_test_skip ("shared models not found");
      return;
    }
  g_assert_cmpint (run ((const char *[]) { "quantize", "--json", f16, dst, "q4_k_m", NULL }, &out, &err), ==, 0);
  o = parse_one_object (out, &parser);
  g_assert_cmpstr (json_object_get_string_member (o, "type"), ==, "Q4_K_M");
  g_assert_cmpint (json_object_get_int_member (o, "size_out"), <, json_object_get_int_member (o, "size_in") / 2);
  g_assert_cmpint (json_object_get_int_member (o, "tensors"), ==, 38);
  g_assert_cmpint (json_object_get_int_member (o, "quantized"), ==, 29);
  types = json_object_get_object_member (o, "tensor_types");
  g_assert_cmpint (json_object_get_int_member (types, "Q6_K"), ==, 5);  /* embedding + 2 attn_v + 2 ffn_down */
  g_assert_cmpint (json_object_get_int_member (types, "Q4_K"), ==, 24);
  g_assert_true (g_file_test (dst, G_FILE_TEST_EXISTS));

  /* the result reads back */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_clear_object (&parser);
  g_assert_cmpint (run ((const char *[]) { "info", "--json", dst, NULL }, &out, &err), ==, 0);
  o = parse_one_object (out, &parser);
  g_assert_cmpstr (json_object_get_string_member (o, "file_type"), ==, "Q4_K_M");
  g_assert_cmpint (json_object_get_int_member (o, "parameters"), ==, 11340032);

  /* plain output names sizes before and after */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run ((const char *[]) { "quantize", f16, dst, "Q8_0", NULL }, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "MiB"));

  /* usage and input errors */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run ((const char *[]) { "quantize", f16, dst, "Q3_K", NULL }, &out, &err), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run ((const char *[]) { "quantize", q8, dst, "Q4_0", NULL }, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "already Q8_0"));
  g_unlink (dst);
  g_rmdir (dir);
}

static void
test_bench_kernels_json (void)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *o, *types;

  /* tiny and quick: this checks the shape of the output, not the speed */
  g_assert_cmpint (run ((const char *[]) { "bench", "kernels", "--json", "--matrices", "2", "--rows", "64",
                                           "--cols", "512", "--repeat", "1", "--types", "Q4_0,Q8_0,Q4_K,F16",
                                           "--no-matmul", NULL }, &out, &err), ==, 0);
  o = parse_one_object (out, &parser);
  g_assert_cmpfloat (json_object_get_double_member (json_object_get_object_member (o, "read_gbs"), "t1"), >, 0);
  g_assert_cmpfloat (json_object_get_double_member (json_object_get_object_member (o, "read_gbs"), "t2"), >, 0);
  types = json_object_get_object_member (o, "types");
  for (const char *const *t = (const char *const[]) { "Q4_0", "Q8_0", "Q4_K", "F16", NULL }; *t; t++)
    {
      JsonObject *ty = json_object_get_object_member (types, *t);
      g_assert_nonnull (ty);
      g_assert_cmpfloat (json_object_get_double_member (ty, "t1_gbs"), >, 0);
      g_assert_cmpfloat (json_object_get_double_member (ty, "t2_gbs"), >, 0);
    }
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run ((const char *[]) { "bench", "kernels", "--types", "Q2_K", NULL }, &out, &err), ==, 2);
}

/* Compact text of a JSON array member, for comparing id lists. */
static char *
ids_of (JsonObject *o, const char *member)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  JsonNode *node = json_object_get_member (o, member);
  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

/* `docent generate`'s options through the command line: --chat wraps the
 * prompt in ChatML when the model has no template, a seeded sampled run
 * repeats on another thread count, and --ctx bounds the prompt. */
static void
test_generate_options (void)
{
  g_autofree char *f16 = shared_model ("rman-llama-12m-f16.gguf");
  g_autofree char *out = NULL, *err = NULL, *want = NULL, *got = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(JsonParser) parser2 = NULL;
  JsonObject *o;

  if (f16 == NULL)
    {
      g_test_skip ("shared model not found");
      return;
    }
  g_assert_cmpint (run ((const char *[]) { "tokenize", "--json", "--model", f16,
                                           "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n",
                                           NULL }, &out, &err), ==, 0);
  want = ids_of (parse_one_object (out, &parser), "ids");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_clear_object (&parser);
  g_assert_cmpint (run ((const char *[]) { "generate", "--json", "--chat", "--temp", "0", "--n", "2",
                                           "--model", f16, "hello", NULL }, &out, &err), ==, 0);
  o = parse_one_object (out, &parser);
  got = ids_of (o, "prompt_ids");
  g_assert_cmpstr (got, ==, want);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "ids")), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_clear_object (&parser);
  g_clear_pointer (&want, g_free);
  g_clear_pointer (&got, g_free);

  /* sampled with a seed: the same tokens on one thread and on two */
  g_assert_cmpint (run ((const char *[]) { "generate", "--json", "--temp", "0.8", "--top-p", "0.9",
                                           "--seed", "7", "--threads", "1", "--ctx", "64", "--n", "8",
                                           "--model", f16, "hello", NULL }, &out, &err), ==, 0);
  want = ids_of (parse_one_object (out, &parser), "ids");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run ((const char *[]) { "generate", "--json", "--temp", "0.8", "--top-p", "0.9",
                                           "--seed", "7", "--threads", "2", "--ctx", "64", "--n", "8",
                                           "--model", f16, "hello", NULL }, &out, &err), ==, 0);
  got = ids_of (parse_one_object (out, &parser2), "ids");
  g_assert_cmpstr (got, ==, want);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* a prompt longer than --ctx is a usage error naming the context */
  g_assert_cmpint (run ((const char *[]) { "generate", "--ctx", "4", "--n", "2", "--model", f16,
                                           "hello world and more words", NULL }, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "context of 4"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/llm/cli/info", test_info);
  g_test_add_func ("/llm/cli/info-bad", test_info_bad);
  g_test_add_func ("/llm/cli/quantize", test_quantize);
  g_test_add_func ("/llm/cli/bench-kernels-json", test_bench_kernels_json);
  g_test_add_func ("/llm/cli/generate-options", test_generate_options);
  return g_test_run ();
}
