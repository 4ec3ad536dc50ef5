/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-application"
#include "config.h"

#include "docent-application.h"
#include "docent-window.h"

struct _DocentApplication
{
  AdwApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (DocentApplication, docent_application, ADW_TYPE_APPLICATION)

static void
docent_application_activate (GApplication *app)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (window == NULL)
    window = GTK_WINDOW (docent_window_new (DOCENT_APPLICATION (app)));
  gtk_window_present (window);
}

static void
docent_application_class_init (DocentApplicationClass *klass)
{
  G_APPLICATION_CLASS (klass)->activate = docent_application_activate;
}

static void
docent_application_init (DocentApplication *self)
{
}

int
docent_application_run (int argc, char **argv)
{
  g_autoptr(DocentApplication) app = g_object_new (DOCENT_TYPE_APPLICATION,
                                                   "application-id", APP_ID,
                                                   "flags", G_APPLICATION_HANDLES_OPEN,
                                                   NULL);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
