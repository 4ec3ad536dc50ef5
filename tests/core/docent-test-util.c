/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-test"
#define _GNU_SOURCE  /* unshare() */

#include "config.h"

#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "docent-test-util.h"

#include <sqlite3.h>

static gboolean
set_errno_error (GError    **error,
                 int         errsv,
                 const char *what)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
               "%s: %s", what, g_strerror (errsv));
  return FALSE;
}

gboolean
docent_test_is_root (void)
{
  return geteuid () == 0;
}

gboolean
docent_test_drop_privileges (GError **error)
{
  if (!docent_test_is_root ())
    return TRUE;
  if (setgroups (0, NULL) != 0)
    return set_errno_error (error, errno, "setgroups");
  if (setgid (DOCENT_TEST_NOBODY) != 0)
    return set_errno_error (error, errno, "setgid(65534)");
  if (setuid (DOCENT_TEST_NOBODY) != 0)
    return set_errno_error (error, errno, "setuid(65534)");
  if (geteuid () == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "still root after setuid");
      return FALSE;
    }
  return TRUE;
}

char *
docent_test_make_shared_tmpdir (const char *prefix)
{
  g_autofree char *tmpl = g_strdup_printf ("%s-XXXXXX", prefix ? prefix : "docent-test");
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp (tmpl, &error);

  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (dir, 01777), ==, 0);
  return dir;
}

static gboolean
write_with_mode (const char *dir,
                 const char *name,
                 const char *contents,
                 int         mode,
                 GError    **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  if (!g_file_set_contents (path, contents, -1, error))
    return FALSE;
  if (g_chmod (path, mode) != 0)
    return set_errno_error (error, errno, path);
  return TRUE;
}

gboolean
docent_test_make_unreadable_tree (const char *dir,
                                  GError    **error)
{
  g_autofree char *locked = g_build_filename (dir, "locked", NULL);

  if (g_chmod (dir, 0755) != 0)
    return set_errno_error (error, errno, dir);
  if (!write_with_mode (dir, "ok.txt", "The readable file mentions kumquat.\n", 0644, error) ||
      !write_with_mode (dir, "ok.md", "# Notes\n\nA readable Markdown file about persimmons.\n", 0644, error) ||
      !write_with_mode (dir, "secret.txt", "Nobody may read this.\n", 0000, error))
    return FALSE;
  if (g_mkdir (locked, 0755) != 0 && errno != EEXIST)
    return set_errno_error (error, errno, locked);
  if (!write_with_mode (locked, "inside.txt", "Hidden behind a locked folder.\n", 0644, error))
    return FALSE;
  if (g_chmod (locked, 0000) != 0)
    return set_errno_error (error, errno, locked);
  return TRUE;
}

gboolean
docent_test_can_mount (void)
{
  int status = 0;
  pid_t pid;

  if (!docent_test_is_root ())
    return FALSE;

  pid = fork ();
  if (pid < 0)
    return FALSE;
  if (pid == 0)
    {
      /* Only system calls here: the parent may have threads. */
      if (unshare (CLONE_NEWNS) != 0 ||
          mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
          mount ("tmpfs", "/tmp", "tmpfs", 0, "size=4k") != 0)
        _exit (1);
      _exit (0);
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return FALSE;
  return WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

gboolean
docent_test_enter_mount_namespace (GError **error)
{
  static gboolean entered;

  if (entered)
    return TRUE;
  if (unshare (CLONE_NEWNS) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "cannot make a mount namespace (unshare: %s); needs root", g_strerror (errsv));
      return FALSE;
    }
  /* Without this, our mounts would propagate back to the host. */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    return set_errno_error (error, errno, "making / private");
  entered = TRUE;
  return TRUE;
}

static gboolean
mount_failed (GError    **error,
              const char *what)
{
  int errsv = errno;

  if (errsv == EPERM || errsv == EACCES)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "%s: %s (needs root)", what, g_strerror (errsv));
      return FALSE;
    }
  return set_errno_error (error, errsv, what);
}

gboolean
docent_test_make_read_only (const char *dir,
                            GError    **error)
{
  if (!docent_test_enter_mount_namespace (error))
    return FALSE;
  if (mount (dir, dir, NULL, MS_BIND, NULL) != 0)
    return mount_failed (error, "bind mount");
  if (mount (NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
    return mount_failed (error, "read-only remount");
  return TRUE;
}

gboolean
docent_test_mount_small_tmpfs (const char *dir,
                               guint64     size_bytes,
                               GError    **error)
{
  g_autofree char *opts = g_strdup_printf ("size=%" G_GUINT64_FORMAT ",mode=1777", size_bytes);

  if (!docent_test_enter_mount_namespace (error))
    return FALSE;
  if (mount ("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
    return mount_failed (error, "tmpfs mount");
  return TRUE;
}

gboolean
docent_test_limit_file_size (guint64  bytes,
                             GError **error)
{
  struct rlimit rl = { .rlim_cur = bytes, .rlim_max = bytes };

  signal (SIGXFSZ, SIG_IGN);
  if (setrlimit (RLIMIT_FSIZE, &rl) != 0)
    return set_errno_error (error, errno, "setrlimit(RLIMIT_FSIZE)");
  return TRUE;
}

gint64
docent_test_query_int (DocentStore *store,
                       const char  *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64 v;

  g_assert_cmpint (sqlite3_prepare_v2 (docent_store_get_db (store), sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  v = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return v;
}
