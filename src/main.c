/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <string.h>

#include "docent-application.h"
#include "docent-cli.h"

/* Run from the build tree, the GSettings schema is not installed yet: use
 * the one compiled next to the build. (Decided before any GSettings call:
 * the default schema source reads GSETTINGS_SCHEMA_DIR only once.) */
static void
use_build_schema_if_uninstalled (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *compiled = g_build_filename (BUILD_SCHEMA_DIR, "gschemas.compiled", NULL);
  g_autofree char *build_root = g_path_get_dirname (BUILD_SCHEMA_DIR);

  if (exe != NULL && g_str_has_prefix (exe, build_root) &&
      g_file_test (compiled, G_FILE_TEST_EXISTS) && g_getenv ("GSETTINGS_SCHEMA_DIR") == NULL)
    g_setenv ("GSETTINGS_SCHEMA_DIR", BUILD_SCHEMA_DIR, TRUE);
}

/* The window takes --library PATH like every subcommand; GApplication does
 * not know it, so it is taken out here and handed over as DOCENT_LIBRARY. */
static void
take_library_option (int *argc, char **argv)
{
  int out = 1;

  for (int i = 1; i < *argc; i++)
    {
      if (g_str_equal (argv[i], "--library") && i + 1 < *argc)
        g_setenv ("DOCENT_LIBRARY", argv[++i], TRUE);
      else if (g_str_has_prefix (argv[i], "--library="))
        g_setenv ("DOCENT_LIBRARY", argv[i] + strlen ("--library="), TRUE);
      else
        argv[out++] = argv[i];
    }
  argv[out] = NULL;
  *argc = out;
}

/* Only dispatches: a subcommand runs in the terminal, none opens the window. */
int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (docent_cli_wants_cli (argc, argv))
    return docent_cli_run (argc, argv);

  use_build_schema_if_uninstalled ();
  take_library_option (&argc, argv);
  return docent_application_run (argc, argv);
}
