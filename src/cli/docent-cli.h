/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "docent-retriever.h"

G_BEGIN_DECLS

/* Exit statuses shared by every subcommand. */
#define DOCENT_EXIT_OK      0
#define DOCENT_EXIT_PARTIAL 1   /* some inputs failed, the rest were done */
#define DOCENT_EXIT_USAGE   2

/* Options every subcommand sees. */
typedef struct {
  char *library_path;   /* --library, or NULL for the default */
} DocentCliGlobal;

typedef int (*DocentCliFunc) (DocentCliGlobal *global, int argc, char **argv);

typedef struct {
  const char   *name;
  DocentCliFunc func;
  const char   *summary;
} DocentCliCommand;

/* TRUE when argv names a subcommand (after any --library PATH). */
gboolean docent_cli_wants_cli (int argc, char **argv);
int      docent_cli_run       (int argc, char **argv);

/* Helpers for subcommands. */
char    *docent_cli_dup_library_path (DocentCliGlobal *global);
/* Parses @entries from argv (after the subcommand name). Prints the error and
 * returns FALSE on a usage error. Also accepts --library anywhere. */
gboolean docent_cli_parse (DocentCliGlobal *global, const char *command,
                           const char *parameter_string, const GOptionEntry *entries,
                           int *argc, char ***argv);
/* The library's embedding model (docent_embedding_model_dup_embedder):
 * *embedder NULL for the built-in one. A model file that cannot be loaded
 * is printed as “docent @command: …” with how to choose another, and
 * FALSE returned: nothing is embedded or searched with a different model.
 * @for_queries: one query at a time, so it may use every core. */
gboolean docent_cli_dup_library_embedder (DocentStore     *store,
                                          const char      *command,
                                          gboolean         for_queries,
                                          DocentEmbedder **embedder);
/* Prints a JSON node to stdout as exactly one line. */
void     docent_cli_print_json (gpointer json_node);
/* Adds the members that place a passage, as search and ask print them:
 * doc, doc_id, page/page_end/page_label (null for text files),
 * line/line_end (null for PDFs), char_start, char_end. */
void     docent_cli_json_add_location (gpointer json_builder, const char *doc, gint64 doc_id,
                                       DocentDocType type, guint page, guint page_end,
                                       const char *page_label, guint line, guint line_end,
                                       gint64 char_start, gint64 char_end);

/* Subcommands, one file each group. */
int docent_cli_import (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_list   (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_search (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_remove (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_backup (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_tokenize (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_bench  (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_bench_query (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_bench_import (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_generate (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_perplexity (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_eval   (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_collection (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_ask (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_library (DocentCliGlobal *global, int argc, char **argv);

/* Filter flags shared by search and ask: add DOCENT_CLI_FILTER_ENTRIES (args)
 * to the GOptionEntry list, then resolve. */
typedef struct {
  char     **collections;
  char      *type;
  char      *added_after;
  char      *added_before;
  char      *pages;
  GPtrArray *collection_names;   /* private */
} DocentCliFilterArgs;

#define DOCENT_CLI_FILTER_ENTRIES(a) \
  { "collection", 0, 0, G_OPTION_ARG_STRING_ARRAY, &(a).collections, N_("Only documents in this collection (repeatable)"), N_("NAME") }, \
  { "type", 0, 0, G_OPTION_ARG_STRING, &(a).type, N_("Only pdf or text documents"), N_("TYPE") }, \
  { "added-after", 0, 0, G_OPTION_ARG_STRING, &(a).added_after, N_("Only documents added on or after this day"), N_("YYYY-MM-DD") }, \
  { "added-before", 0, 0, G_OPTION_ARG_STRING, &(a).added_before, N_("Only documents added before this day"), N_("YYYY-MM-DD") }, \
  { "pages", 0, 0, G_OPTION_ARG_STRING, &(a).pages, N_("Only passages on these PDF pages"), N_("A-B") }

gboolean docent_cli_filter_resolve    (DocentCliFilterArgs *args,
                                       DocentSearchFilter  *filter,
                                       GError             **error);
void     docent_cli_filter_args_clear (DocentCliFilterArgs *args);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DocentCliFilterArgs, docent_cli_filter_args_clear)
int docent_cli_bench_kernels (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_bench_generate (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_bench_make_model (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_info     (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_quantize (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_embed    (DocentCliGlobal *global, int argc, char **argv);
int docent_cli_models   (DocentCliGlobal *global, int argc, char **argv);

G_END_DECLS
