/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The model manager: discovery in folders shaped like other apps' (with
 * junk, truncated files, a FIFO and an Ollama-style blob), quantization
 * with progress and cancel, and `docent models --json`. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docent-error.h"
#include "docent-model-manager.h"
#include "llm-gguf.h"

static char *root;

/* A small decoder (or encoder) with @n_layer layers of @ne0 x @ne1 weights. */
static void
write_model (const char *path, const char *arch, const char *name, llm_type type,
             int n_layer, int64_t ne0, int64_t ne1)
{
  llm_gguf_writer *w = llm_gguf_writer_new ();
  GPtrArray *bufs = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  size_t esize = type == LLM_TYPE_F16 ? 2 : 4;
  llm_gguf_error err;
  char key[128];
  const char *toks[] = { "a", "b", "c", "d" };

  g_autofree char *dir = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  llm_gguf_writer_set_string (w, "general.architecture", arch);
  if (name)
    llm_gguf_writer_set_string (w, "general.name", name);
  g_snprintf (key, sizeof key, "%s.block_count", arch);
  llm_gguf_writer_set_u32 (w, key, n_layer);
  g_snprintf (key, sizeof key, "%s.context_length", arch);
  llm_gguf_writer_set_u32 (w, key, 128);
  g_snprintf (key, sizeof key, "%s.embedding_length", arch);
  llm_gguf_writer_set_u32 (w, key, ne0);
  g_snprintf (key, sizeof key, "%s.attention.head_count", arch);
  llm_gguf_writer_set_u32 (w, key, 2);
  llm_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens", toks, 4);

  for (int i = -1; i < n_layer; i++)
    {
      char *tname = i < 0 ? g_strdup ("token_embd.weight")
                          : g_strdup_printf ("blk.%d.ffn_down.weight", i);
      int64_t ne[2] = { ne0, ne1 };
      size_t n = (size_t) (ne0 * ne1);
      guint8 *data = g_malloc0 (n * esize);
      if (type == LLM_TYPE_F32)
        for (size_t k = 0; k < n; k++)
          ((float *) data)[k] = (float) g_test_rand_double_range (-1, 1);
      g_ptr_array_add (bufs, data);
      g_ptr_array_add (names, tname);
      g_assert_true (llm_gguf_writer_add_tensor (w, tname, type, 2, ne, data));
    }
  {
    int64_t ne[1] = { ne0 };
    float *norm = g_new0 (float, ne0);
    g_ptr_array_add (bufs, norm);
    g_assert_true (llm_gguf_writer_add_tensor (w, "output_norm.weight", LLM_TYPE_F32, 1, ne, norm));
  }
  g_assert_true (llm_gguf_writer_write_file (w, path, &err));
  llm_gguf_writer_free (w);
  g_ptr_array_unref (bufs);
  g_ptr_array_unref (names);
}

static char *
at (const char *rel)
{
  return g_build_filename (root, rel, NULL);
}

static void
write_bytes (const char *rel, const void *data, gsize len)
{
  g_autofree char *path = at (rel);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;
  g_mkdir_with_parents (dir, 0755);
  g_assert_true (g_file_set_contents (path, data, len, &error));
}

static void
build_tree (void)
{
  g_autofree char *a = at ("docent/models/alpha.gguf");
  g_autofree char *b = at ("nomic.ai/GPT4All/beta-f16.gguf");
  g_autofree char *c = at ("lm-studio/models/org/repo/MiniLM.GGUF");
  g_autofree char *d = at (".lmstudio/models/org/repo/delta.gguf");
  g_autofree char *e = at ("jan/models/eps/eps.gguf");
  g_autofree char *blob = at (".ollama/models/blobs/sha256-0123abcd");
  g_autofree char *fifo = at ("other/fifo.gguf");
  g_autofree char *contents = NULL;
  gsize len;
  char junk[300];

  write_model (a, "llama", "Alpha", LLM_TYPE_F32, 2, 64, 32);
  write_model (b, "llama", NULL, LLM_TYPE_F16, 2, 64, 32);
  write_model (c, "bert", "MiniLM", LLM_TYPE_F32, 1, 32, 32);
  write_model (d, "qwen2", "Delta", LLM_TYPE_F32, 1, 32, 32);
  write_model (e, "llama", "Eps", LLM_TYPE_F32, 1, 32, 32);
  write_model (blob, "llama", "Blob", LLM_TYPE_F32, 1, 32, 32);

  /* junk: an Ollama manifest-like blob, random bytes named .gguf, a GGUF cut short */
  write_bytes (".ollama/models/blobs/sha256-notamodel", "{\"x\":1}", 7);
  for (gsize i = 0; i < sizeof junk; i++)
    junk[i] = (char) g_test_rand_int_range (0, 256);
  write_bytes ("other/junk.gguf", junk, sizeof junk);
  write_bytes ("other/GGUFjunk", "GGUF\3\0\0\0garbage", 15);
  g_assert_true (g_file_get_contents (a, &contents, &len, NULL));
  write_bytes ("other/truncated.gguf", contents, len / 2);
  write_bytes ("other/empty.gguf", "", 0);
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
  /* a symlink loop and a link back to a folder already listed */
  {
    g_autofree char *loop = at ("other/loop");
    g_autofree char *back = at ("jan/models/eps/again");
    g_autofree char *target = at ("jan/models");
    g_assert_cmpint (symlink ("..", loop), ==, 0);
    g_assert_cmpint (symlink (target, back), ==, 0);
  }
}

static void
set_dirs (void)
{
  const char *rels[] = { "docent/models", "nomic.ai/GPT4All", "lm-studio/models",
                         ".lmstudio/models", "jan/models", ".ollama/models/blobs", "other" };
  g_autoptr(GString) s = g_string_new (NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (rels); i++)
    {
      g_autofree char *p = at (rels[i]);
      g_string_append_printf (s, "%s%s", i ? ":" : "", p);
    }
  g_setenv ("DOCENT_MODEL_DIRS", s->str, TRUE);
}

static const DocentModelInfo *
find (GPtrArray *models, const char *suffix)
{
  for (guint i = 0; i < models->len; i++)
    {
      const DocentModelInfo *m = models->pdata[i];
      if (g_str_has_suffix (m->path, suffix))
        return m;
    }
  return NULL;
}

static void
test_discover (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = docent_model_manager_discover (NULL, &error);
  const DocentModelInfo *m;

  g_assert_no_error (error);
  g_assert_nonnull (models);
  for (guint i = 0; i < models->len; i++)
    g_test_message ("%s %s", ((DocentModelInfo *) models->pdata[i])->source,
                    ((DocentModelInfo *) models->pdata[i])->path);
  g_assert_cmpuint (models->len, ==, 6);

  m = find (models, "alpha.gguf");
  g_assert_nonnull (m);
  g_assert_cmpstr (m->source, ==, "docent");
  g_assert_cmpstr (m->name, ==, "Alpha");
  g_assert_cmpstr (m->architecture, ==, "llama");
  g_assert_cmpuint (m->parameters, ==, 3 * 64 * 32 + 64);
  g_assert_cmpstr (m->quantization, ==, "F32");
  g_assert_cmpuint (m->ram_estimate, >, m->file_size);
  g_assert_cmpuint (m->file_size, >, 3 * 64 * 32 * 4);
  g_assert_true (m->is_chat);
  g_assert_false (m->is_embedding);

  m = find (models, "beta-f16.gguf");
  g_assert_nonnull (m);
  g_assert_cmpstr (m->source, ==, "gpt4all");
  g_assert_cmpstr (m->name, ==, "beta-f16.gguf");
  g_assert_cmpstr (m->quantization, ==, "F16");

  m = find (models, "MiniLM.GGUF");
  g_assert_nonnull (m);
  g_assert_cmpstr (m->source, ==, "lm-studio");
  g_assert_true (m->is_embedding);
  g_assert_false (m->is_chat);

  m = find (models, "delta.gguf");
  g_assert_nonnull (m);
  g_assert_cmpstr (m->source, ==, "lm-studio");
  g_assert_cmpstr (m->architecture, ==, "qwen2");

  m = find (models, "eps.gguf");
  g_assert_nonnull (m);
  g_assert_cmpstr (m->source, ==, "jan");

  m = find (models, "sha256-0123abcd");
  g_assert_nonnull (m);
  g_assert_cmpstr (m->source, ==, "ollama");
  g_assert_cmpstr (m->name, ==, "Blob");

  /* extra dirs add to the list; duplicates are listed once */
  {
    g_autofree char *docent_dir = at ("docent/models");
    const char *extra[] = { docent_dir, "/nonexistent/docent-models", NULL };
    g_autoptr(GPtrArray) more = docent_model_manager_discover (extra, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (more->len, ==, 6);
  }
}

static void
test_describe_error (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = at ("other/truncated.gguf");
  DocentModelInfo *info = docent_model_manager_describe (path, NULL, &error);
  g_assert_null (info);
  g_assert_error (error, DOCENT_ERROR, DOCENT_ERROR_CORRUPT);
}

typedef struct {
  GMainLoop *loop;
  GCancellable *cancel_on_progress;
  GAsyncResult *result;
  int n_progress;
  double last;
  gboolean monotonic;
} QuantizeRun;

static void
on_progress (double fraction, const char *name, gpointer data)
{
  QuantizeRun *run = data;
  if (fraction < run->last)
    run->monotonic = FALSE;
  run->last = fraction;
  run->n_progress++;
  if (run->cancel_on_progress)
    g_cancellable_cancel (run->cancel_on_progress);
}

static void
on_done (GObject *source, GAsyncResult *result, gpointer data)
{
  QuantizeRun *run = data;
  run->result = g_object_ref (result);
  g_main_loop_quit (run->loop);
}

static gboolean
run_quantize (const char *in, const char *out, const char *type, GCancellable *cancellable,
              gboolean cancel_on_progress, QuantizeRun *run, GError **error)
{
  gboolean ok;
  memset (run, 0, sizeof *run);
  run->monotonic = TRUE;
  run->loop = g_main_loop_new (NULL, FALSE);
  run->cancel_on_progress = cancel_on_progress ? cancellable : NULL;
  docent_model_manager_quantize_async (in, out, type, cancellable, on_progress, run, on_done, run);
  g_main_loop_run (run->loop);
  ok = docent_model_manager_quantize_finish (run->result, error);
  /* let any progress still queued arrive, then check nothing is left */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_object_unref (run->result);
  g_main_loop_unref (run->loop);
  return ok;
}

static void
test_quantize (void)
{
  g_autofree char *in = at ("docent/models/alpha.gguf");
  g_autofree char *out = at ("quant/alpha-q8_0.gguf");
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentModelInfo) info = NULL;
  QuantizeRun run;

  {
    g_autofree char *dir = g_path_get_dirname (out);
    g_mkdir_with_parents (dir, 0755);
  }
  g_assert_true (run_quantize (in, out, "Q8_0", NULL, FALSE, &run, &error));
  g_assert_no_error (error);
  g_assert_cmpint (run.n_progress, >=, 4);   /* 4 tensors, then done */
  g_assert_true (run.monotonic);
  g_assert_cmpfloat (run.last, ==, 1.0);
  info = docent_model_manager_describe (out, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->quantization, ==, "Q8_0");
  g_assert_cmpstr (info->name, ==, "Alpha");
  g_assert_cmpuint (info->parameters, ==, 3 * 64 * 32 + 64);

  /* unknown type */
  g_assert_false (run_quantize (in, out, "Q3_XYZ", NULL, FALSE, &run, &error));
  g_assert_error (error, DOCENT_ERROR, DOCENT_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  /* a bad input */
  {
    g_autofree char *bad = at ("other/truncated.gguf");
    g_autofree char *bad_out = at ("quant/bad.gguf");
    g_assert_false (run_quantize (bad, bad_out, "Q8_0", NULL, FALSE, &run, &error));
    g_assert_error (error, DOCENT_ERROR, DOCENT_ERROR_FAILED);
    g_clear_error (&error);
    g_assert_false (g_file_test (bad_out, G_FILE_TEST_EXISTS));
  }
}

static void
test_quantize_cancel (void)
{
  g_autofree char *big = at ("quant/big.gguf");
  g_autofree char *out = at ("quant/big-q8_0.gguf");
  g_autoptr(GError) error = NULL;
  QuantizeRun run;

  /* cancelled before it starts */
  {
    g_autoptr(GCancellable) c = g_cancellable_new ();
    g_autofree char *in = at ("docent/models/alpha.gguf");
    g_autofree char *o = at ("quant/pre-cancelled.gguf");
    g_cancellable_cancel (c);
    g_assert_false (run_quantize (in, o, "Q8_0", c, FALSE, &run, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);
    g_assert_false (g_file_test (o, G_FILE_TEST_EXISTS));
  }

  /* cancelled from the first progress report, midway through 200 tensors */
  {
    g_autoptr(GCancellable) c = g_cancellable_new ();
    g_autoptr(GDir) d = NULL;
    g_autofree char *qdir = at ("quant");
    const char *entry;
    write_model (big, "llama", "Big", LLM_TYPE_F32, 200, 256, 256);
    g_assert_false (run_quantize (big, out, "Q8_0", c, TRUE, &run, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_assert_cmpint (run.n_progress, >=, 1);
    g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
    /* no temporary left behind */
    d = g_dir_open (qdir, 0, NULL);
    while ((entry = g_dir_read_name (d)) != NULL)
      g_assert_true (g_str_equal (entry, "alpha-q8_0.gguf") || g_str_equal (entry, "big.gguf"));
  }
}

static void
test_cli (void)
{
  const char *bin = g_getenv ("DOCENT_BIN");
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *models;
  int status;
  gboolean found_blob = FALSE;

  if (bin == NULL)
    {
      g_test_skip ("DOCENT_BIN not set");
      return;
    }
  {
    const char *argv[] = { bin, "models", "--json", NULL };
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                 &out, &err, &status, &error));
  }
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  models = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "models");
  g_assert_nonnull (models);
  g_assert_cmpuint (json_array_get_length (models), >=, 6);
  for (guint i = 0; i < json_array_get_length (models); i++)
    {
      JsonObject *o = json_array_get_object_element (models, i);
      g_assert_true (json_object_has_member (o, "path"));
      g_assert_true (json_object_has_member (o, "quantization"));
      g_assert_true (json_object_has_member (o, "ram_estimate"));
      g_assert_cmpint (json_object_get_int_member (o, "file_size"), >, 0);
      if (g_str_has_suffix (json_object_get_string_member (o, "path"), "sha256-0123abcd"))
        {
          found_blob = TRUE;
          g_assert_cmpstr (json_object_get_string_member (o, "source"), ==, "ollama");
          g_assert_cmpstr (json_object_get_string_member (o, "kind"), ==, "chat");
          g_assert_cmpint (json_object_get_int_member (o, "parameters"), ==, 2 * 32 * 32 + 32);
        }
      if (g_str_has_suffix (json_object_get_string_member (o, "path"), "MiniLM.GGUF"))
        g_assert_cmpstr (json_object_get_string_member (o, "kind"), ==, "embedding");
    }
  g_assert_true (found_blob);

  /* the plain listing names every model */
  {
    const char *argv[] = { bin, "models", NULL };
    g_clear_pointer (&out, g_free);
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                 &out, NULL, &status, &error));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (out, "Alpha"));
    g_assert_nonnull (strstr (out, "MiniLM"));
  }
}

/* The RAM estimate: a KV cache for decoders only, and nothing to run for a
 * file without tensors (the vocabulary-only tokenizer files), whatever its
 * metadata says of the model it came from. */
static void
test_ram_estimate (void)
{
  const char *bin = g_getenv ("DOCENT_BIN");
  const char *shared = g_getenv ("DOCENT_SHARED_DIR");
  g_autofree char *llama = at ("ram/decoder.gguf");
  g_autofree char *bert = at ("ram/encoder.gguf");
  g_autofree char *vocab = at ("ram/vocab.gguf");
  g_autofree char *tokenizers = g_build_filename (shared ? shared : "../shared", "tokenizers", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DocentModelInfo) dec = NULL, enc = NULL, voc = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;
  guint n_shared = 0;

  /* Same shapes and metadata: the decoder needs its cache on top,
   * 2 layers × 128 positions × 2 heads × (32 + 32) × 2 bytes. */
  write_model (llama, "llama", "Decoder", LLM_TYPE_F32, 2, 64, 32);
  write_model (bert, "bert", "Encoder", LLM_TYPE_F32, 2, 64, 32);
  dec = docent_model_manager_describe (llama, NULL, &error);
  g_assert_no_error (error);
  enc = docent_model_manager_describe (bert, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dec->ram_estimate - enc->ram_estimate, ==, 2 * 128 * 2 * (32 + 32) * 2);
  g_assert_cmpuint (enc->ram_estimate, >, enc->file_size);
  g_assert_true (enc->is_embedding);
  g_assert_true (dec->is_chat);

  /* A vocabulary with a big decoder's metadata: 32 layers, 4,096 positions
   * (a 2 GiB cache if it counted), no tensors. */
  {
    llm_gguf_writer *w = llm_gguf_writer_new ();
    const char *toks[] = { "a", "b", "c", "d" };
    llm_gguf_error err;
    g_autofree char *vocab_dir = g_path_get_dirname (vocab);

    g_mkdir_with_parents (vocab_dir, 0755);
    llm_gguf_writer_set_string (w, "general.architecture", "llama");
    llm_gguf_writer_set_u32 (w, "llama.block_count", 32);
    llm_gguf_writer_set_u32 (w, "llama.context_length", 4096);
    llm_gguf_writer_set_u32 (w, "llama.embedding_length", 4096);
    llm_gguf_writer_set_u32 (w, "llama.feed_forward_length", 11008);
    llm_gguf_writer_set_u32 (w, "llama.attention.head_count", 32);
    llm_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens", toks, 4);
    g_assert_true (llm_gguf_writer_write_file (w, vocab, &err));
    llm_gguf_writer_free (w);
  }
  voc = docent_model_manager_describe (vocab, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (voc->parameters, ==, 0);
  g_assert_cmpuint (voc->ram_estimate, ==, voc->file_size);
  g_assert_false (voc->is_chat);
  g_assert_false (voc->is_embedding);

  /* The real vocabulary files, as `docent info` describes them. */
  dir = g_dir_open (tokenizers, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (tokenizers, name, NULL);
      g_autoptr(DocentModelInfo) info = NULL;

      if (!g_str_has_suffix (name, ".gguf"))
        continue;
      info = docent_model_manager_describe (path, NULL, &error);
      g_assert_no_error (error);
      g_test_message ("%s: %s, %" G_GUINT64_FORMAT " bytes, estimate %" G_GUINT64_FORMAT,
                      name, info->architecture, info->file_size, info->ram_estimate);
      g_assert_cmpuint (info->parameters, ==, 0);
      g_assert_cmpuint (info->ram_estimate, ==, info->file_size);
      g_assert_false (info->is_chat);
      if (bin != NULL)
        {
          const char *argv[] = { bin, "info", "--json", path, NULL };
          g_autofree char *out = NULL;
          g_autoptr(JsonParser) parser = json_parser_new ();
          int status;

          g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                                       &out, NULL, &status, &error));
          g_assert_true (g_spawn_check_wait_status (status, NULL));
          g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
          g_assert_cmpint (json_object_get_int_member (json_node_get_object (json_parser_get_root (parser)),
                                                       "ram_estimate"), ==, (gint64) info->file_size);
        }
      n_shared++;
    }
  if (n_shared == 0)
    g_test_message ("no vocabulary files in %s: only the generated one was checked", tokenizers);
}

static void
remove_tree (const char *path)
{
  GStatBuf st;
  GDir *d = g_lstat (path, &st) == 0 && S_ISDIR (st.st_mode) ? g_dir_open (path, 0, NULL) : NULL;
  if (d)
    {
      const char *e;
      while ((e = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *p = g_build_filename (path, e, NULL);
          remove_tree (p);
        }
      g_dir_close (d);
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

int
main (int argc, char **argv)
{
  int rc;
  g_test_init (&argc, &argv, NULL);
  root = g_dir_make_tmp ("docent-models-XXXXXX", NULL);
  g_assert_nonnull (root);
  build_tree ();
  set_dirs ();
  g_test_add_func ("/model-manager/discover", test_discover);
  g_test_add_func ("/model-manager/describe-error", test_describe_error);
  g_test_add_func ("/model-manager/ram-estimate", test_ram_estimate);
  g_test_add_func ("/model-manager/quantize", test_quantize);
  g_test_add_func ("/model-manager/quantize-cancel", test_quantize_cancel);
  g_test_add_func ("/model-manager/cli", test_cli);
  rc = g_test_run ();
  remove_tree (root);
  g_free (root);
  return rc;
}
