/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <sqlite3.h>

#include "docent-chunker.h"
#include "docent-document.h"

G_BEGIN_DECLS

/* One search hit: a whole passage plus where it came from. */
typedef struct {
  guint    rank;          /* 1-based */
  gint64   chunk_id;
  gint64   doc_id;
  char    *doc;           /* the file's base name */
  char    *path;
  DocentDocType type;
  guint    page;          /* 1-based physical page; 0 for text files */
  guint    page_end;
  char    *page_label;    /* printed label of @page or NULL */
  guint    line;          /* 1-based; 0 for PDFs */
  guint    line_end;
  gint64   char_start;    /* code points into the document text */
  gint64   char_end;
  double   score;         /* higher is better */
  char    *text;          /* the whole passage */
  GArray  *highlights;    /* pairs of gint64 [start, end) code points within text */
} DocentSearchResult;

void docent_search_result_free (DocentSearchResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DocentSearchResult, docent_search_result_free)

typedef struct {
  guint   k;              /* results wanted (default 10) */
  GArray *doc_ids;        /* gint64; NULL or empty = all documents */
} DocentSearchOptions;

#define DOCENT_TYPE_STORE (docent_store_get_type ())
G_DECLARE_FINAL_TYPE (DocentStore, docent_store, DOCENT, STORE, GObject)

/* Opens (creating if needed, migrating forward) the library at @path.
 * A DocentStore holds one SQLite connection and belongs to one thread at a
 * time; other threads open their own store on the same file (WAL). */
DocentStore *docent_store_open            (const char   *path,
                                           GError      **error);
const char  *docent_store_get_path        (DocentStore  *self);
sqlite3     *docent_store_get_db          (DocentStore  *self);

GPtrArray   *docent_store_list_documents  (DocentStore  *self,   /* of DocentDocument */
                                           GError      **error);
DocentDocument *docent_store_dup_document (DocentStore  *self,
                                           gint64        id,
                                           GError      **error);
/* Resolves a name (base name, path or title) or a numeric id to one
 * document id; several matches are DOCENT_ERROR_AMBIGUOUS listing their ids. */
gboolean     docent_store_resolve_document (DocentStore *self,
                                            const char  *name_or_id,
                                            gint64      *id,
                                            GError     **error);
gboolean     docent_store_remove_document (DocentStore  *self,
                                           gint64        id,
                                           GError      **error);

GPtrArray   *docent_store_search          (DocentStore  *self,   /* of DocentSearchResult */
                                           const char   *query,
                                           const DocentSearchOptions *options,
                                           GError      **error);
/* The passage text, pages of a document (citation view). */
GPtrArray   *docent_store_dup_pages       (DocentStore  *self,   /* of DocentPage* */
                                           gint64        doc_id,
                                           GError      **error);

/* Files an earlier import accepted and did not finish (it was killed): an
 * import with no paths resumes them. Returns how many, or -1 on error. */
gint64       docent_store_count_unfinished_imports (DocentStore *self,
                                                    GError     **error);

/* A consistent copy while the library is in use (VACUUM INTO). */
gboolean     docent_store_backup          (DocentStore  *self,
                                           const char   *dest_path,
                                           GError      **error);

G_END_DECLS
