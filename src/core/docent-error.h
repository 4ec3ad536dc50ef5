/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DOCENT_ERROR (docent_error_quark ())

/* Errors a person can cause; every message says what happened and what to do. */
typedef enum {
  DOCENT_ERROR_FAILED,          /* anything else */
  DOCENT_ERROR_NOT_FOUND,       /* path or document does not exist */
  DOCENT_ERROR_UNREADABLE,      /* permission denied, I/O error */
  DOCENT_ERROR_UNSUPPORTED,     /* not a PDF/text/markdown file */
  DOCENT_ERROR_CORRUPT,         /* damaged or truncated PDF */
  DOCENT_ERROR_ENCRYPTED,       /* PDF needs a password (or the given one is wrong) */
  DOCENT_ERROR_EMPTY,           /* file has no content */
  DOCENT_ERROR_BINARY,          /* binary data where text was expected */
  DOCENT_ERROR_ENCODING,        /* text in no encoding we can detect */
  DOCENT_ERROR_NO_TEXT_LAYER,   /* scanned PDF: pages are images */
  DOCENT_ERROR_AMBIGUOUS,       /* a name matches several documents */
  DOCENT_ERROR_STORE,           /* SQLite failure */
  DOCENT_ERROR_DISK_FULL,       /* no space left for the library */
  DOCENT_ERROR_READ_ONLY,       /* the library file cannot be written */
  DOCENT_ERROR_CANCELLED,
  DOCENT_ERROR_USAGE,
} DocentError;

GQuark docent_error_quark (void);

G_END_DECLS
