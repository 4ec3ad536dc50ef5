/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "docent-store.h"

G_BEGIN_DECLS

/* Making the file system fail on purpose, even as root.
 *
 * Tests run as root in CI, where chmod does not stop reads or writes. These
 * helpers change the *current process* for good, so call them only in a
 * test subprocess, first thing, before any thread starts:
 *
 *   static void
 *   test_unreadable (void)
 *   {
 *     if (g_test_subprocess ())
 *       {
 *         g_autoptr(GError) error = NULL;
 *         docent_test_drop_privileges (&error);
 *         g_assert_no_error (error);
 *         ... import tmpdir/tree; expect secret.txt and locked/ to fail ...
 *         return;
 *       }
 *     ... as root: tmpdir = docent_test_make_shared_tmpdir (...);
 *                  docent_test_make_unreadable_tree (tree, &error); ...
 *     g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
 *     g_test_trap_assert_passed ();
 *   }
 *
 * The subprocess re-runs the test binary, so pass paths to it through
 * files or environment variables (g_setenv before g_test_trap_subprocess
 * is inherited), not through globals set in the parent. */

/* The uid/gid of nobody/nogroup in Debian. */
#define DOCENT_TEST_NOBODY 65534

gboolean docent_test_is_root              (void);

/* Becomes nobody (uid/gid 65534, no supplementary groups) for the rest of
 * the process, so that file permissions apply again. Does nothing when not
 * root. */
gboolean docent_test_drop_privileges      (GError     **error);

/* A fresh directory under $TMPDIR that everyone may enter and write
 * (mode 01777, like /tmp), so that a subprocess running as nobody can put a
 * library file in it. */
char    *docent_test_make_shared_tmpdir   (const char  *prefix);

/* Fills the existing directory @dir (made everyone-readable) with:
 *   ok.txt            readable text ("The readable file mentions kumquat.")
 *   ok.md             readable Markdown
 *   secret.txt        mode 0000: unreadable by anyone but root
 *   locked/           mode 0000 directory, holding locked/inside.txt
 * Unreadability takes effect for non-root users, so run the code under test
 * after docent_test_drop_privileges(). */
gboolean docent_test_make_unreadable_tree (const char  *dir,
                                           GError     **error);

/* Mount namespace tricks (root only: need CAP_SYS_ADMIN). Each returns
 * FALSE with G_IO_ERROR_PERMISSION_DENIED where that is not allowed, so a
 * test can g_test_skip(). The mounts vanish with the subprocess. */

/* Whether the mount helpers below can work here (root with CAP_SYS_ADMIN,
 * not a locked-down container): probes in a short-lived forked child, so
 * it is safe to call in the test process itself, to g_test_skip() early. */
gboolean docent_test_can_mount             (void);

/* Gives this process its own private mount namespace. Called by the two
 * functions below; harmless to call twice. */
gboolean docent_test_enter_mount_namespace (GError    **error);

/* Makes the existing directory @dir read-only (a read-only bind mount of
 * itself): files in it, such as a library made beforehand, can be read and
 * not written, even by root. */
gboolean docent_test_make_read_only       (const char  *dir,
                                           GError     **error);

/* Mounts a tmpfs of @size_bytes at the existing directory @dir: writing past
 * that fails with ENOSPC, a full disk. */
gboolean docent_test_mount_small_tmpfs    (const char  *dir,
                                           guint64      size_bytes,
                                           GError     **error);

/* A full disk without privileges: files this process writes cannot grow
 * past @bytes (RLIMIT_FSIZE, with SIGXFSZ ignored so write() fails with
 * EFBIG instead of killing the process). */
gboolean docent_test_limit_file_size      (guint64      bytes,
                                           GError     **error);

/* The first column of the one row @sql returns, asserting the statement
 * prepares and yields a row. */
gint64   docent_test_query_int            (DocentStore *store,
                                           const char  *sql);

G_END_DECLS
