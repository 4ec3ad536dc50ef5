/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-window"
#include "config.h"

#include <glib/gi18n.h>

#include "docent-window.h"

struct _DocentWindow
{
  AdwApplicationWindow parent_instance;
};

G_DEFINE_FINAL_TYPE (DocentWindow, docent_window, ADW_TYPE_APPLICATION_WINDOW)

static void
docent_window_class_init (DocentWindowClass *klass)
{
}

static void
docent_window_init (DocentWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *status = adw_status_page_new ();

  adw_status_page_set_title (ADW_STATUS_PAGE (status), _("Drop Files Here"));
  adw_status_page_set_description (ADW_STATUS_PAGE (status),
                                   _("Add PDFs and text files to ask questions about them"));
  gtk_widget_set_vexpand (status, TRUE);
  gtk_box_append (GTK_BOX (box), adw_header_bar_new ());
  gtk_box_append (GTK_BOX (box), status);
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (self), box);
  gtk_window_set_default_size (GTK_WINDOW (self), 1000, 700);
  gtk_window_set_title (GTK_WINDOW (self), "Docent");
}

DocentWindow *
docent_window_new (DocentApplication *app)
{
  return g_object_new (DOCENT_TYPE_WINDOW, "application", app, NULL);
}
