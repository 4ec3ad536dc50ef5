/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

#include "docent-extract.h"

G_BEGIN_DECLS

typedef enum {
  DOCENT_DOC_STATUS_IMPORTING,      /* started, not finished (resumed on next open) */
  DOCENT_DOC_STATUS_READY,
  DOCENT_DOC_STATUS_FAILED,         /* error holds the reason */
  DOCENT_DOC_STATUS_NO_TEXT_LAYER,  /* scanned PDF */
} DocentDocStatus;

const char     *docent_doc_status_to_string   (DocentDocStatus status); /* "importing" "ready" "failed" "no-text-layer" */
DocentDocStatus docent_doc_status_from_string (const char *str);

/* A row of the documents table: plain data, safe to pass between threads. */
typedef struct {
  gint64          id;
  char           *path;        /* canonical absolute path */
  char           *name;        /* base name of path */
  char           *title;
  char           *author;
  DocentDocType   type;
  gint64          size;
  gint64          mtime;       /* seconds since the epoch */
  char           *sha256;      /* hex */
  guint           pages;
  guint           chunks;
  char           *encoding;
  DocentDocStatus status;
  char           *error;       /* failure message or NULL */
  gint64          added;       /* seconds since the epoch (UTC) */
} DocentDocument;

#define DOCENT_TYPE_DOCUMENT (docent_document_get_type ())
GType           docent_document_get_type (void) G_GNUC_CONST;
DocentDocument *docent_document_new      (void);
DocentDocument *docent_document_copy     (const DocentDocument *doc);
void            docent_document_free     (DocentDocument *doc);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DocentDocument, docent_document_free)

G_END_DECLS
