/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-cli"
#include "config.h"

#include "docent-cli.h"

/* Placeholders until the library commands land (this session). */
int docent_cli_import (DocentCliGlobal *g, int argc, char **argv) { return DOCENT_EXIT_USAGE; }
int docent_cli_list   (DocentCliGlobal *g, int argc, char **argv) { return DOCENT_EXIT_USAGE; }
int docent_cli_search (DocentCliGlobal *g, int argc, char **argv) { return DOCENT_EXIT_USAGE; }
int docent_cli_remove (DocentCliGlobal *g, int argc, char **argv) { return DOCENT_EXIT_USAGE; }
int docent_cli_backup (DocentCliGlobal *g, int argc, char **argv) { return DOCENT_EXIT_USAGE; }
