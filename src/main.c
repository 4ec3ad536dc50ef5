/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "docent-application.h"
#include "docent-cli.h"

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

  return docent_application_run (argc, argv);
}
