/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Test files for extraction and import tests: PDFs drawn with cairo's PDF
 * surface (text in Noto Sans CJK, so Korean works), and damaged, truncated
 * and encrypted variants of them. */

/* Writes a PDF with one page per element of @pages (NULL-terminated). Each
 * page's text is drawn line by line ('\n' starts a new line; long lines are
 * wrapped at spaces), so Poppler gives the same words back in order.
 * @labels, when not NULL, holds a printed page label per page (NULL entries
 * allowed); @title and @author go into the metadata when not NULL. */
gboolean docent_test_pdf_write            (const char         *path,
                                           const char * const *pages,
                                           const char * const *labels,
                                           const char         *title,
                                           const char         *author,
                                           GError            **error);

/* A "scanned" PDF: @n_pages pages of shapes and an image, no text at all. */
gboolean docent_test_pdf_write_image_only (const char         *path,
                                           guint               n_pages,
                                           GError            **error);

/* Runs qpdf --encrypt USER OWNER 256 -- @in @out. */
gboolean docent_test_pdf_encrypt          (const char         *in,
                                           const char         *out,
                                           const char         *user_password,
                                           const char         *owner_password,
                                           GError            **error);

/* Copies @in to @out keeping only the first @fraction (0..1) of its bytes:
 * a download cut short. */
gboolean docent_test_file_truncate_copy   (const char         *in,
                                           const char         *out,
                                           double              fraction,
                                           GError            **error);

/* Copies the PDF @in to @out with everything between the header line and the
 * final %%EOF overwritten by junk: a damaged PDF that no repair can read. */
gboolean docent_test_pdf_corrupt_copy     (const char         *in,
                                           const char         *out,
                                           GError            **error);

/* A fresh directory under $TMPDIR, and its recursive removal. */
char    *docent_test_make_tmpdir          (const char         *prefix);
void     docent_test_rm_rf                (const char         *path);

G_END_DECLS
