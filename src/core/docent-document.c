/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-document"
#include "config.h"

#include "docent-document.h"

G_DEFINE_BOXED_TYPE (DocentDocument, docent_document, docent_document_copy, docent_document_free)

static const char *status_names[] = {
  [DOCENT_DOC_STATUS_IMPORTING] = "importing",
  [DOCENT_DOC_STATUS_READY] = "ready",
  [DOCENT_DOC_STATUS_FAILED] = "failed",
  [DOCENT_DOC_STATUS_NO_TEXT_LAYER] = "no-text-layer",
};

const char *
docent_doc_status_to_string (DocentDocStatus status)
{
  g_return_val_if_fail (status < G_N_ELEMENTS (status_names), "failed");
  return status_names[status];
}

DocentDocStatus
docent_doc_status_from_string (const char *str)
{
  for (guint i = 0; i < G_N_ELEMENTS (status_names); i++)
    if (g_strcmp0 (str, status_names[i]) == 0)
      return i;
  return DOCENT_DOC_STATUS_FAILED;
}

DocentDocument *
docent_document_new (void)
{
  return g_new0 (DocentDocument, 1);
}

DocentDocument *
docent_document_copy (const DocentDocument *doc)
{
  DocentDocument *copy = g_memdup2 (doc, sizeof *doc);

  copy->path = g_strdup (doc->path);
  copy->name = g_strdup (doc->name);
  copy->title = g_strdup (doc->title);
  copy->author = g_strdup (doc->author);
  copy->sha256 = g_strdup (doc->sha256);
  copy->encoding = g_strdup (doc->encoding);
  copy->error = g_strdup (doc->error);
  return copy;
}

void
docent_document_free (DocentDocument *doc)
{
  if (doc == NULL)
    return;
  g_free (doc->path);
  g_free (doc->name);
  g_free (doc->title);
  g_free (doc->author);
  g_free (doc->sha256);
  g_free (doc->encoding);
  g_free (doc->error);
  g_free (doc);
}
