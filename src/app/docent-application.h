/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define DOCENT_TYPE_APPLICATION (docent_application_get_type ())
G_DECLARE_FINAL_TYPE (DocentApplication, docent_application, DOCENT, APPLICATION, AdwApplication)

int  docent_application_run     (int argc, char **argv);
/* Registers the templates, CSS and icons (idempotent); for class_init and tests. */
void docent_ensure_resources    (void);
GtkWidget *docent_about_window_new (GtkWindow *parent);

G_END_DECLS
