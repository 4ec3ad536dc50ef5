/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-cli"
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "docent-cli.h"
#include "docent-error.h"
#include "docent-gguf-embedder.h"
#include "docent-importer.h"
#include "docent-rechunker.h"
#include "docent-retriever.h"
#include "docent-store-private.h"

/* The library subcommands: import, list, search, remove, backup. */

static DocentStore *
open_library (DocentCliGlobal *global)
{
  g_autofree char *path = docent_cli_dup_library_path (global);
  g_autoptr(GError) error = NULL;
  DocentStore *store = docent_store_open (path, &error);

  if (store == NULL)
    g_printerr ("docent: %s\n", error->message);
  return store;
}

static char *
format_time_iso (gint64 seconds)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (seconds);
  return dt ? g_date_time_format_iso8601 (dt) : g_strdup ("");
}

static char *
format_duration (double seconds)
{
  if (seconds < 0)
    return g_strdup ("–");
  if (seconds < 60)
    return g_strdup_printf ("%.0f s", seconds);
  if (seconds < 3600)
    return g_strdup_printf ("%d min %02d s", (int) seconds / 60, (int) seconds % 60);
  return g_strdup_printf ("%d h %02d min", (int) seconds / 3600, ((int) seconds % 3600) / 60);
}

/* ---- import ---- */

typedef struct {
  gboolean tty;
  gboolean json;
  gboolean line_shown;
} ImportUi;

static void
clear_progress_line (ImportUi *ui)
{
  if (ui->line_shown)
    {
      fputs ("\r\033[K", stderr);
      ui->line_shown = FALSE;
    }
}

static void
on_progress (DocentImporter             *importer,
             const DocentImportProgress *p,
             ImportUi                   *ui)
{
  g_autofree char *eta = NULL;
  g_autofree char *name = NULL;

  if (!ui->tty)
    return;
  if (p->phase == DOCENT_IMPORT_PHASE_EMBED)
    {
      fprintf (stderr, "\r\033[K");
      fprintf (stderr, _("%u files · embedding %u/%u passages"),
               p->files_done, p->chunks_embedded, p->chunks_to_embed);
      ui->line_shown = TRUE;
      return;
    }
  eta = format_duration (p->eta_s);
  name = p->current ? g_path_get_basename (p->current) : g_strdup ("");
  fprintf (stderr, "\r\033[K%s",
           /* files done/total, pages, MB/s, time left, current file */
           "");
  fprintf (stderr, _("%u/%u files · %u pages · %.1f MB/s · %s left · %s"),
           p->files_done, p->files_total, p->pages_done, p->bytes_per_s / 1e6, eta, name);
  ui->line_shown = TRUE;
}

static void
on_file_done (DocentImporter               *importer,
              const DocentImportFileResult *r,
              ImportUi                     *ui)
{
  if (ui->json)
    return;
  clear_progress_line (ui);
  switch (r->outcome)
    {
    case DOCENT_IMPORT_IMPORTED:
      if (r->reason != NULL)   /* no text layer */
        g_printerr (_("imported %s: no text layer (scanned pages cannot be searched until they are OCRed)\n"),
                    r->path);
      else
        g_printerr (_("imported %s (%u pages, %u passages)\n"), r->path, r->pages, r->chunks);
      break;
    case DOCENT_IMPORT_SKIPPED:
      g_printerr (_("skipped %s: %s\n"), r->path, r->reason);
      break;
    case DOCENT_IMPORT_FAILED:
      g_printerr (_("failed %s: %s\n"), r->path, r->reason);
      break;
    }
}

int
docent_cli_import (DocentCliGlobal *global,
                   int              argc,
                   char           **argv)
{
  g_autofree char *password = NULL;
  g_autofree char *library = NULL;
  gboolean json = FALSE;
  gboolean no_embed = FALSE;
  int workers = 0;
  int chunk_size = 0;
  int chunk_overlap = -1;
  g_autofree char *model = NULL;
  const GOptionEntry entries[] = {
    { "password", 0, 0, G_OPTION_ARG_STRING, &password, N_("Password for encrypted PDFs"), N_("PW") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the outcome as JSON"), NULL },
    { "no-embed", 0, 0, G_OPTION_ARG_NONE, &no_embed,
      N_("Only index for keyword search; vectors are computed by the next import"), NULL },
    { "embedder-model", 0, 0, G_OPTION_ARG_FILENAME, &model,
      N_("Embed with this GGUF embedding model instead of the library's (any passage lacking its vector)"), N_("FILE") },
    { "workers", 0, 0, G_OPTION_ARG_INT, &workers, N_("Worker threads (default: one per core)"), N_("N") },
    { "chunk-size", 0, 0, G_OPTION_ARG_INT, &chunk_size,
      N_("Passage size in characters for these files (default: the library's)"), N_("N") },
    { "chunk-overlap", 0, 0, G_OPTION_ARG_INT, &chunk_overlap,
      N_("Passage overlap in characters for these files (default: the library's)"), N_("N") },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(DocentImporter) importer = NULL;
  g_autoptr(DocentEmbedder) embedder = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  ImportUi ui = { isatty (STDERR_FILENO), FALSE, FALSE };
  guint n_failed = 0;

  if (!docent_cli_parse (global, "import", _("PATH…"), entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  library = docent_cli_dup_library_path (global);
  if (chunk_size != 0 || chunk_overlap >= 0)
    {
      /* One of them alone keeps the library's other one. */
      guint size = DOCENT_CHUNK_SIZE_DEFAULT, overlap = DOCENT_CHUNK_OVERLAP_DEFAULT;
      g_autoptr(DocentStore) store = open_library (global);

      if (store == NULL || !docent_chunking_get (store, &size, &overlap, &error))
        {
          if (error != NULL)
            g_printerr ("docent import: %s\n", error->message);
          return DOCENT_EXIT_PARTIAL;
        }
      if (chunk_size < 0 || (chunk_size != 0 && chunk_size < DOCENT_CHUNK_SIZE_MIN) ||
          !docent_chunking_validate (chunk_size != 0 ? (guint) chunk_size : size,
                                     chunk_overlap >= 0 ? (guint) chunk_overlap : overlap, &error))
        {
          g_printerr ("docent import: %s\n", error != NULL ? error->message : _("--chunk-size is out of range"));
          return DOCENT_EXIT_USAGE;
        }
      chunk_size = chunk_size != 0 ? chunk_size : (int) size;
      chunk_overlap = chunk_overlap >= 0 ? chunk_overlap : (int) overlap;
    }

  if (argc < 2)
    {
      /* With no paths, only an interrupted import can be resumed. */
      g_autoptr(DocentStore) store = open_library (global);
      g_autoptr(GPtrArray) queued = store ? _docent_store_queue_list (store, NULL) : NULL;
      if (store == NULL)
        return DOCENT_EXIT_PARTIAL;
      if (queued == NULL || queued->len == 0)
        {
          g_printerr (_("Usage: docent import [--password PW] [--json] PATH…\n"));
          return DOCENT_EXIT_USAGE;
        }
    }

  /* The library's model embeds the new passages, unless another was
   * named or vectors were not wanted. */
  if (model == NULL && !no_embed)
    {
      g_autoptr(DocentStore) store = open_library (global);

      if (store == NULL || !docent_cli_dup_library_embedder (store, "import", FALSE, &embedder))
        return DOCENT_EXIT_PARTIAL;
    }

  ui.json = json;
  importer = docent_importer_new (library);
  if (password != NULL)
    docent_importer_set_password (importer, password);
  if (workers > 0)
    docent_importer_set_n_workers (importer, workers);
  if (chunk_size != 0)
    docent_importer_set_chunking (importer, chunk_size, chunk_overlap);
  /* Vectors on the import's workers, written with their passages. */
  docent_importer_set_embed (importer, !no_embed);
  if (model != NULL)
    {
      g_autoptr(DocentGgufEmbedder) gguf = docent_gguf_embedder_new (model, &error);
      if (gguf == NULL)
        {
          g_printerr ("docent import: %s\n", error->message);
          return DOCENT_EXIT_USAGE;
        }
      docent_importer_set_embedder (importer, DOCENT_EMBEDDER (gguf));
    }
  else if (embedder != NULL)
    docent_importer_set_embedder (importer, embedder);
  g_signal_connect (importer, "progress", G_CALLBACK (on_progress), &ui);
  g_signal_connect (importer, "file-done", G_CALLBACK (on_file_done), &ui);

  results = docent_importer_import_sync (importer, (const char * const *) argv + 1, NULL, &error);
  clear_progress_line (&ui);
  if (results == NULL)
    {
      g_printerr ("docent import: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }

  for (guint i = 0; i < results->len; i++)
    if (((DocentImportFileResult *) results->pdata[i])->outcome == DOCENT_IMPORT_FAILED)
      n_failed++;

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      const char *sections[] = { "imported", "skipped", "failed" };
      const DocentImportOutcome outcomes[] = { DOCENT_IMPORT_IMPORTED, DOCENT_IMPORT_SKIPPED, DOCENT_IMPORT_FAILED };

      json_builder_begin_object (b);
      for (guint s = 0; s < G_N_ELEMENTS (sections); s++)
        {
          json_builder_set_member_name (b, sections[s]);
          json_builder_begin_array (b);
          for (guint i = 0; i < results->len; i++)
            {
              DocentImportFileResult *r = results->pdata[i];
              if (r->outcome != outcomes[s])
                continue;
              json_builder_begin_object (b);
              if (r->outcome == DOCENT_IMPORT_IMPORTED)
                {
                  json_builder_set_member_name (b, "doc");
                  json_builder_add_string_value (b, r->name);
                  json_builder_set_member_name (b, "doc_id");
                  json_builder_add_int_value (b, r->doc_id);
                  json_builder_set_member_name (b, "path");
                  json_builder_add_string_value (b, r->path);
                  json_builder_set_member_name (b, "pages");
                  json_builder_add_int_value (b, r->pages);
                  json_builder_set_member_name (b, "chunks");
                  json_builder_add_int_value (b, r->chunks);
                  json_builder_set_member_name (b, "status");
                  json_builder_add_string_value (b, r->reason ? "no-text-layer" : "ready");
                }
              else
                {
                  json_builder_set_member_name (b, "path");
                  json_builder_add_string_value (b, r->path);
                  json_builder_set_member_name (b, r->outcome == DOCENT_IMPORT_SKIPPED ? "reason" : "error");
                  json_builder_add_string_value (b, r->reason);
                  if (r->doc_id > 0)
                    {
                      json_builder_set_member_name (b, "doc_id");
                      json_builder_add_int_value (b, r->doc_id);
                    }
                }
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
        }
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      docent_cli_print_json (root);
    }

  return n_failed > 0 ? DOCENT_EXIT_PARTIAL : DOCENT_EXIT_OK;
}

/* ---- list ---- */

int
docent_cli_list (DocentCliGlobal *global,
                 int              argc,
                 char           **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the documents as JSON"), NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(GPtrArray) docs = NULL;
  g_autoptr(GError) error = NULL;

  if (!docent_cli_parse (global, "list", "", entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  if (argc > 1)
    {
      g_printerr (_("docent list: unexpected argument “%s”\n"), argv[1]);
      return DOCENT_EXIT_USAGE;
    }
  store = open_library (global);
  if (store == NULL)
    return DOCENT_EXIT_PARTIAL;
  docs = docent_store_list_documents (store, &error);
  if (docs == NULL)
    {
      g_printerr ("docent list: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "documents");
      json_builder_begin_array (b);
      for (guint i = 0; i < docs->len; i++)
        {
          DocentDocument *d = docs->pdata[i];
          g_autofree char *added = format_time_iso (d->added);

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "doc_id");
          json_builder_add_int_value (b, d->id);
          json_builder_set_member_name (b, "doc");
          json_builder_add_string_value (b, d->name);
          json_builder_set_member_name (b, "path");
          json_builder_add_string_value (b, d->path);
          json_builder_set_member_name (b, "title");
          json_builder_add_string_value (b, d->title);
          json_builder_set_member_name (b, "author");
          json_builder_add_string_value (b, d->author);
          json_builder_set_member_name (b, "type");
          json_builder_add_string_value (b, d->type == DOCENT_DOC_TYPE_PDF ? "pdf" : "text");
          json_builder_set_member_name (b, "pages");
          json_builder_add_int_value (b, d->pages);
          json_builder_set_member_name (b, "chunks");
          json_builder_add_int_value (b, d->chunks);
          json_builder_set_member_name (b, "status");
          json_builder_add_string_value (b, docent_doc_status_to_string (d->status));
          json_builder_set_member_name (b, "error");
          json_builder_add_string_value (b, d->error);
          json_builder_set_member_name (b, "encoding");
          json_builder_add_string_value (b, d->encoding);
          json_builder_set_member_name (b, "size");
          json_builder_add_int_value (b, d->size);
          json_builder_set_member_name (b, "sha256");
          json_builder_add_string_value (b, d->sha256);
          json_builder_set_member_name (b, "added");
          json_builder_add_string_value (b, added);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      docent_cli_print_json (root);
      return DOCENT_EXIT_OK;
    }

  if (docs->len == 0)
    {
      g_print (_("The library is empty. Add documents with “docent import PATH…”.\n"));
      return DOCENT_EXIT_OK;
    }
  g_print ("%5s  %-13s %6s %8s  %s\n", _("ID"), _("STATUS"), _("PAGES"), _("PASSAGES"), _("DOCUMENT"));
  for (guint i = 0; i < docs->len; i++)
    {
      DocentDocument *d = docs->pdata[i];
      g_print ("%5" G_GINT64_FORMAT "  %-13s %6u %8u  %s",
               d->id, docent_doc_status_to_string (d->status), d->pages, d->chunks, d->name);
      if (d->title != NULL && g_strcmp0 (d->title, d->name) != 0)
        g_print (" — %s", d->title);
      g_print ("\n");
      if (d->error != NULL)
        g_print ("       %s\n", d->error);
    }
  return DOCENT_EXIT_OK;
}

/* ---- search ---- */

/* A snippet of about @width characters around the first highlight, with the
 * matched words marked. */
static char *
format_snippet (const DocentSearchResult *r,
                guint                     width,
                gboolean                  tty)
{
  g_autoptr(GString) out = g_string_new (NULL);
  glong n = g_utf8_strlen (r->text, -1);
  gint64 first = r->highlights->len ? g_array_index (r->highlights, gint64, 0) : 0;
  gint64 from = MAX (0, first - (gint64) width / 3);
  gint64 to = MIN (n, from + (gint64) width);
  const char *open_mark = tty ? "\033[1m" : "[";
  const char *close_mark = tty ? "\033[0m" : "]";
  guint h = 0;

  if (from > 0)
    g_string_append (out, "…");
  for (gint64 i = from; i < to; i++)
    {
      const char *p = g_utf8_offset_to_pointer (r->text, i);
      gunichar c = g_utf8_get_char (p);

      while (h + 1 < r->highlights->len && g_array_index (r->highlights, gint64, h + 1) <= i)
        h += 2;
      if (h + 1 < r->highlights->len && g_array_index (r->highlights, gint64, h) == i)
        g_string_append (out, open_mark);
      g_string_append_unichar (out, g_unichar_isspace (c) ? ' ' : c);
      if (h + 1 < r->highlights->len && g_array_index (r->highlights, gint64, h + 1) == i + 1)
        g_string_append (out, close_mark);
    }
  if (to < n)
    g_string_append (out, "…");
  return g_string_free (g_steal_pointer (&out), FALSE);
}

int
docent_cli_search (DocentCliGlobal *global,
                   int              argc,
                   char           **argv)
{
  gboolean json = FALSE;
  int k = 10;
  g_auto(GStrv) doc_names = NULL;
  g_autofree char *mode_name = NULL;
  g_auto(DocentCliFilterArgs) fargs = { 0 };
  DocentSearchFilter filter;
  DocentSearchMode mode = DOCENT_SEARCH_MODE_HYBRID;
  g_autoptr(DocentEmbedder) embedder = NULL;
  g_autoptr(DocentRetriever) retriever = NULL;
  const GOptionEntry entries[] = {
    { "k", 'k', 0, G_OPTION_ARG_INT, &k, N_("Number of results (default 10)"), N_("N") },
    { "doc", 0, 0, G_OPTION_ARG_STRING_ARRAY, &doc_names, N_("Only search this document (repeatable)"), N_("NAME|ID") },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode_name, N_("bm25, dense or hybrid (default: the best measured)"), N_("MODE") },
    DOCENT_CLI_FILTER_ENTRIES (fargs),
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the results as JSON"), NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree char *query = NULL;
  DocentSearchOptions options = { 0 };
  gint64 start;

  if (!docent_cli_parse (global, "search", _("QUERY"), entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  if (argc < 2 || k <= 0 || k > 1000 ||
      (mode_name != NULL && !docent_search_mode_from_string (mode_name, &mode)))
    {
      g_printerr (_("Usage: docent search [--k N] [--doc NAME|ID]… [--mode bm25|dense|hybrid] [--json] QUERY\n"));
      return DOCENT_EXIT_USAGE;
    }
  if (!docent_cli_filter_resolve (&fargs, &filter, &error))
    {
      g_printerr ("docent search: %s\n", error->message);
      return DOCENT_EXIT_USAGE;
    }
  query = g_strjoinv (" ", argv + 1);
  store = open_library (global);
  if (store == NULL)
    return DOCENT_EXIT_PARTIAL;

  for (guint i = 0; doc_names != NULL && doc_names[i] != NULL; i++)
    {
      gint64 id;
      if (!docent_store_resolve_document (store, doc_names[i], &id, &error))
        {
          g_printerr ("docent search: %s\n", error->message);
          return DOCENT_EXIT_USAGE;
        }
      g_array_append_val (ids, id);
    }

  options.k = k;
  options.doc_ids = ids;
  start = g_get_monotonic_time ();
  /* Queries are embedded with the library's model, as its passages were. */
  if (!docent_cli_dup_library_embedder (store, "search", TRUE, &embedder))
    return DOCENT_EXIT_PARTIAL;
  retriever = docent_retriever_new (store, embedder, &error);
  if (retriever != NULL)
    {
      if (mode_name == NULL)
        mode = docent_retriever_get_default_mode (retriever);
      results = docent_retriever_search_filtered (retriever, query, mode, &options, &filter, &error);
    }
  if (results == NULL)
    {
      g_printerr ("docent search: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "mode");
      json_builder_add_string_value (b, docent_search_mode_to_string (mode));
      json_builder_set_member_name (b, "embedder");
      json_builder_add_string_value (b, docent_embedder_get_model_id (docent_retriever_get_embedder (retriever)));
      json_builder_set_member_name (b, "results");
      json_builder_begin_array (b);
      for (guint i = 0; i < results->len; i++)
        {
          DocentSearchResult *r = results->pdata[i];

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "rank");
          json_builder_add_int_value (b, r->rank);
          docent_cli_json_add_location (b, r->doc, r->doc_id, r->type, r->page,
                                        r->page_end, r->page_label, r->line,
                                        r->line_end, r->char_start, r->char_end);
          json_builder_set_member_name (b, "score");
          json_builder_add_double_value (b, r->score);
          json_builder_set_member_name (b, "text");
          json_builder_add_string_value (b, r->text);
          json_builder_set_member_name (b, "highlights");
          json_builder_begin_array (b);
          for (guint h = 0; h + 1 < r->highlights->len; h += 2)
            {
              json_builder_begin_array (b);
              json_builder_add_int_value (b, g_array_index (r->highlights, gint64, h));
              json_builder_add_int_value (b, g_array_index (r->highlights, gint64, h + 1));
              json_builder_end_array (b);
            }
          json_builder_end_array (b);
          {
            /* a short excerpt for result lists, its own highlight offsets */
            g_autoptr(GArray) sh = NULL;
            g_autofree char *snippet = docent_search_result_dup_snippet (r, 200, &sh);
            json_builder_set_member_name (b, "snippet");
            json_builder_add_string_value (b, snippet);
            json_builder_set_member_name (b, "snippet_highlights");
            json_builder_begin_array (b);
            for (guint h = 0; h + 1 < sh->len; h += 2)
              {
                json_builder_begin_array (b);
                json_builder_add_int_value (b, g_array_index (sh, gint64, h));
                json_builder_add_int_value (b, g_array_index (sh, gint64, h + 1));
                json_builder_end_array (b);
              }
            json_builder_end_array (b);
          }
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "elapsed_ms");
      json_builder_add_double_value (b, (g_get_monotonic_time () - start) / 1000.0);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      docent_cli_print_json (root);
      return DOCENT_EXIT_OK;
    }

  if (results->len == 0)
    {
      g_print (_("No passage matches “%s”.\n"), query);
      return DOCENT_EXIT_OK;
    }
  for (guint i = 0; i < results->len; i++)
    {
      DocentSearchResult *r = results->pdata[i];
      g_autofree char *where = NULL;
      g_autofree char *snippet = format_snippet (r, 240, isatty (STDOUT_FILENO));

      if (r->type == DOCENT_DOC_TYPE_PDF)
        {
          if (r->page_label != NULL && g_strcmp0 (r->page_label, "") != 0)
            where = r->page == r->page_end
                      ? g_strdup_printf (_("page %u (printed %s)"), r->page, r->page_label)
                      : g_strdup_printf (_("pages %u–%u (printed %s)"), r->page, r->page_end, r->page_label);
          else
            where = r->page == r->page_end ? g_strdup_printf (_("page %u"), r->page)
                                           : g_strdup_printf (_("pages %u–%u"), r->page, r->page_end);
        }
      else
        where = r->line == r->line_end ? g_strdup_printf (_("line %u"), r->line)
                                       : g_strdup_printf (_("lines %u–%u"), r->line, r->line_end);
      g_print ("%u. %s, %s  (%.2f)\n   %s\n\n", r->rank, r->doc, where, r->score, snippet);
    }
  return DOCENT_EXIT_OK;
}

/* ---- remove ---- */

int
docent_cli_remove (DocentCliGlobal *global,
                   int              argc,
                   char           **argv)
{
  g_autoptr(DocentStore) store = NULL;
  int rc = DOCENT_EXIT_OK;

  if (!docent_cli_parse (global, "remove", _("NAME|ID…"), NULL, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  if (argc < 2)
    {
      g_printerr (_("Usage: docent remove NAME|ID…\n"));
      return DOCENT_EXIT_USAGE;
    }
  store = open_library (global);
  if (store == NULL)
    return DOCENT_EXIT_PARTIAL;

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DocentDocument) doc = NULL;
      gint64 id;

      if (!docent_store_resolve_document (store, argv[i], &id, &error) ||
          (doc = docent_store_dup_document (store, id, &error)) == NULL ||
          !docent_store_remove_document (store, id, &error))
        {
          g_printerr ("docent remove: %s\n", error->message);
          rc = DOCENT_EXIT_PARTIAL;
          continue;
        }
      /* %lld, not G_GINT64_FORMAT: xgettext cannot see through the macro. */
      g_printerr (_("removed %s (id %lld)\n"), doc->path, (long long) id);
    }
  return rc;
}

/* ---- backup ---- */

int
docent_cli_backup (DocentCliGlobal *global,
                   int              argc,
                   char           **argv)
{
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(GError) error = NULL;

  if (!docent_cli_parse (global, "backup", _("PATH"), NULL, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  if (argc != 2)
    {
      g_printerr (_("Usage: docent backup PATH\n"));
      return DOCENT_EXIT_USAGE;
    }
  store = open_library (global);
  if (store == NULL)
    return DOCENT_EXIT_PARTIAL;
  if (!docent_store_backup (store, argv[1], &error))
    {
      g_printerr ("docent backup: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }
  g_printerr (_("Backed up %s to %s\n"), docent_store_get_path (store), argv[1]);
  return DOCENT_EXIT_OK;
}
