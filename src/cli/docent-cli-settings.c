/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-cli"
#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "docent-cli.h"
#include "docent-error.h"
#include "docent-gguf-embedder.h"
#include "docent-rechunker.h"

/* `docent library show|set|rechunk`: the settings kept in the library file
 * (passage size and overlap, the embedding model) and re-cutting or
 * re-embedding the library after a change. */

static int
usage (void)
{
  g_printerr (_("Usage: docent library show [--json]\n"
                "       docent library set chunk-size N [chunk-overlap N] [--no-rechunk]\n"
                "       docent library set embedding-model FILE|builtin [--no-rechunk]\n"
                "       docent library rechunk [--embedder-model FILE] [--workers N] [--no-embed]\n"));
  return DOCENT_EXIT_USAGE;
}

typedef struct {
  gboolean tty;
  gboolean shown;
} RechunkUi;

static void
on_progress (DocentRechunker             *rechunker,
             const DocentRechunkProgress *p,
             RechunkUi                   *ui)
{
  if (!ui->tty)
    return;
  fputs ("\r\033[K", stderr);
  if (p->phase == DOCENT_RECHUNK_PHASE_SPLIT)
    fprintf (stderr, _("re-cutting %u/%u documents · %u passages · %s"),
             p->docs_done, p->docs_total, p->chunks_done, p->current ? p->current : "");
  else
    fprintf (stderr, _("embedding %u/%u passages"), p->chunks_done, p->chunks_total);
  ui->shown = TRUE;
}

static gboolean
on_interrupt (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_CONTINUE;
}

/* The model whose vectors a re-cut makes beside the built-in ones: @model
 * when named, else the library's own (none with --no-embed: the next
 * import or rechunk makes them). DOCENT_EXIT_OK, or the exit status. */
static int
resolve_model (DocentStore     *store,
               const char      *model,
               gboolean         embed,
               DocentEmbedder **embedder)
{
  g_autoptr(GError) error = NULL;

  *embedder = NULL;
  if (model != NULL)
    {
      DocentGgufEmbedder *gguf = docent_gguf_embedder_new (model, &error);
      if (gguf == NULL)
        {
          g_printerr ("docent library: %s\n", error->message);
          return DOCENT_EXIT_USAGE;
        }
      *embedder = DOCENT_EMBEDDER (gguf);
      return DOCENT_EXIT_OK;
    }
  if (embed && !docent_cli_dup_library_embedder (store, "library", FALSE, embedder))
    return DOCENT_EXIT_PARTIAL;
  return DOCENT_EXIT_OK;
}

static int
run_rechunk (const char     *library,
             DocentEmbedder *embedder,
             int             workers,
             gboolean        embed)
{
  g_autoptr(DocentRechunker) rechunker = docent_rechunker_new (library);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  RechunkUi ui = { isatty (STDERR_FILENO), FALSE };
  guint n_docs = 0, n_embedded = 0;
  guint sigint;
  gboolean ok;

  if (embedder != NULL)
    docent_rechunker_set_embedder (rechunker, embedder);
  if (workers > 0)
    docent_rechunker_set_n_workers (rechunker, workers);
  docent_rechunker_set_embed (rechunker, embed);
  g_signal_connect (rechunker, "progress", G_CALLBACK (on_progress), &ui);

  /* Ctrl-C stops between documents: every document stays whole, and
   * `docent library rechunk` goes on from there. */
  sigint = g_unix_signal_add (SIGINT, on_interrupt, cancellable);
  ok = docent_rechunker_run_sync (rechunker, cancellable, &n_docs, &n_embedded, &error);
  g_source_remove (sigint);
  if (ui.shown)
    fputs ("\r\033[K", stderr);
  if (!ok)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
          g_error_matches (error, DOCENT_ERROR, DOCENT_ERROR_CANCELLED))
        g_printerr (_("docent library: interrupted after %u documents; "
                      "“docent library rechunk” goes on from there\n"), n_docs);
      else
        g_printerr ("docent library: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }
  g_printerr (_("re-cut %u documents, embedded %u passages\n"), n_docs, n_embedded);
  return DOCENT_EXIT_OK;
}

static gboolean
parse_uint (const char *key,
            const char *text,
            guint      *out)
{
  guint64 v;

  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT, &v, NULL))
    {
      g_printerr (_("docent library: %s wants a number of characters, not “%s”\n"), key, text);
      return FALSE;
    }
  *out = (guint) v;
  return TRUE;
}

int
docent_cli_library (DocentCliGlobal *global,
                    int              argc,
                    char           **argv)
{
  gboolean json = FALSE, no_rechunk = FALSE, no_embed = FALSE;
  g_autofree char *model = NULL;
  int workers = 0;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the settings as JSON (show)"), NULL },
    { "no-rechunk", 0, 0, G_OPTION_ARG_NONE, &no_rechunk,
      N_("Only save the settings (set); “docent library rechunk” re-cuts later"), NULL },
    { "no-embed", 0, 0, G_OPTION_ARG_NONE, &no_embed,
      N_("Leave the built-in vectors for the next import (rechunk)"), NULL },
    { "embedder-model", 0, 0, G_OPTION_ARG_FILENAME, &model,
      N_("Make this GGUF embedding model's vectors instead of the library's (rechunk)"), N_("FILE") },
    { "workers", 0, 0, G_OPTION_ARG_INT, &workers, N_("Worker threads (default: one per core)"), N_("N") },
    G_OPTION_ENTRY_NULL
  };
  g_autofree char *library = NULL;
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(DocentEmbedder) embedder = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *recorded = NULL;
  const char *verb;
  guint size, overlap;
  gint64 pending;
  int rc;

  if (!docent_cli_parse (global, "library", _("show|set|rechunk [KEY VALUE…]"), entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  if (argc < 2)
    return usage ();
  verb = argv[1];
  library = docent_cli_dup_library_path (global);
  store = docent_store_open (library, &error);
  if (store == NULL)
    {
      g_printerr ("docent: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }
  if (!docent_chunking_get (store, &size, &overlap, &error) ||
      !docent_embedding_model_get (store, &recorded, &error))
    {
      g_printerr ("docent library: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }

  if (g_str_equal (verb, "show"))
    {
      if (argc != 2)
        return usage ();
      pending = docent_rechunker_count_pending (store, &error);
      if (pending < 0)
        {
          g_printerr ("docent library: %s\n", error->message);
          return DOCENT_EXIT_PARTIAL;
        }
      if (json)
        {
          g_autoptr(JsonBuilder) b = json_builder_new ();
          g_autoptr(JsonNode) root = NULL;

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "chunk_size");
          json_builder_add_int_value (b, size);
          json_builder_set_member_name (b, "chunk_overlap");
          json_builder_add_int_value (b, overlap);
          json_builder_set_member_name (b, "documents_to_rechunk");
          json_builder_add_int_value (b, pending);
          /* null: the built-in embedder alone */
          json_builder_set_member_name (b, "embedding_model");
          if (recorded != NULL && recorded[0] != '\0')
            json_builder_add_string_value (b, recorded);
          else
            json_builder_add_null_value (b);
          json_builder_end_object (b);
          root = json_builder_get_root (b);
          docent_cli_print_json (root);
        }
      else
        {
          g_print (_("chunk-size       %u\n"), size);
          g_print (_("chunk-overlap    %u\n"), overlap);
          g_print (_("embedding-model  %s\n"),
                   recorded != NULL && recorded[0] != '\0' ? recorded : "builtin");
          if (pending > 0)
            g_print (_("%lld documents are cut otherwise; “docent library rechunk” re-cuts them\n"),
                     (long long) pending);
        }
      return DOCENT_EXIT_OK;
    }

  if (g_str_equal (verb, "set"))
    {
      g_autofree char *new_model = NULL;
      gboolean chunking = FALSE;

      if (argc < 4 || argc % 2 != 0)
        return usage ();
      for (int i = 2; i + 1 < argc; i += 2)
        {
          if (g_str_equal (argv[i], "chunk-size"))
            {
              if (!parse_uint (argv[i], argv[i + 1], &size))
                return DOCENT_EXIT_USAGE;
              chunking = TRUE;
            }
          else if (g_str_equal (argv[i], "chunk-overlap"))
            {
              if (!parse_uint (argv[i], argv[i + 1], &overlap))
                return DOCENT_EXIT_USAGE;
              chunking = TRUE;
            }
          else if (g_str_equal (argv[i], "embedding-model"))
            {
              /* Recorded absolute, so the library means the same file
               * whoever opens it from wherever. */
              g_free (new_model);
              new_model = g_str_equal (argv[i + 1], "builtin") || argv[i + 1][0] == '\0'
                            ? g_strdup ("")
                            : g_canonicalize_filename (argv[i + 1], NULL);
            }
          else
            {
              g_printerr (_("docent library: no setting “%s” (chunk-size, chunk-overlap, "
                            "embedding-model)\n"), argv[i]);
              return DOCENT_EXIT_USAGE;
            }
        }
      /* Everything is checked before anything is saved. */
      if (chunking && !docent_chunking_validate (size, overlap, &error))
        {
          g_printerr ("docent library: %s\n", error->message);
          return DOCENT_EXIT_USAGE;
        }
      if (new_model != NULL)
        {
          if (model != NULL)
            {
              g_printerr (_("docent library: “set embedding-model” and --embedder-model "
                            "name two models; give one\n"));
              return DOCENT_EXIT_USAGE;
            }
          /* A file that cannot be used is not recorded. */
          if (!docent_embedding_model_load (new_model, &embedder, &error))
            {
              g_printerr ("docent library: %s\n", error->message);
              return DOCENT_EXIT_USAGE;
            }
        }
      if ((chunking && !docent_chunking_set (store, size, overlap, &error)) ||
          (new_model != NULL && !docent_embedding_model_set (store, new_model, &error)))
        {
          g_printerr ("docent library: %s\n", error->message);
          return g_error_matches (error, DOCENT_ERROR, DOCENT_ERROR_USAGE) ? DOCENT_EXIT_USAGE
                                                                           : DOCENT_EXIT_PARTIAL;
        }
      if (no_rechunk)
        return DOCENT_EXIT_OK;
      /* With a new model and nothing to re-cut, this only embeds. */
      if (new_model == NULL && (rc = resolve_model (store, model, !no_embed, &embedder)) != DOCENT_EXIT_OK)
        return rc;
      g_clear_object (&store);
      return run_rechunk (library, embedder, workers, !no_embed);
    }

  if (g_str_equal (verb, "rechunk"))
    {
      if (argc != 2)
        return usage ();
      if ((rc = resolve_model (store, model, !no_embed, &embedder)) != DOCENT_EXIT_OK)
        return rc;
      g_clear_object (&store);
      return run_rechunk (library, embedder, workers, !no_embed);
    }

  return usage ();
}
