/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-application"
#include "config.h"

#include <glib/gi18n.h>

#include "docent-application.h"
#include "docent-preferences-window.h"
#include "docent-resources.h"
#include "docent-window.h"

struct _DocentApplication
{
  AdwApplication parent_instance;
  char          *search;     /* --search TEXT: start with this search */
  char          *ask;        /* --ask TEXT: start with this question */
};

G_DEFINE_FINAL_TYPE (DocentApplication, docent_application, ADW_TYPE_APPLICATION)

void
docent_ensure_resources (void)
{
  static gsize once;

  if (g_once_init_enter (&once))
    {
      docent_register_resource ();
      g_once_init_leave (&once, 1);
    }
}

static DocentWindow *
get_window (DocentApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (DOCENT_IS_WINDOW (window))
    return DOCENT_WINDOW (window);
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l; l = l->next)
    if (DOCENT_IS_WINDOW (l->data))
      return l->data;
  return docent_window_new (self);
}

static void
docent_application_activate (GApplication *app)
{
  DocentApplication *self = DOCENT_APPLICATION (app);
  DocentWindow *window;

  if (g_getenv ("DOCENT_TIMING") != NULL)
    g_printerr ("docent-timing: activate %" G_GINT64_FORMAT "\n", g_get_real_time ());
  window = get_window (self);
  gtk_window_present (GTK_WINDOW (window));

  if (self->ask != NULL)
    docent_window_query (window, TRUE, self->ask);
  else if (self->search != NULL)
    docent_window_query (window, FALSE, self->search);
  g_clear_pointer (&self->ask, g_free);
  g_clear_pointer (&self->search, g_free);
}

static int
docent_application_handle_local_options (GApplication *app,
                                         GVariantDict *options)
{
  DocentApplication *self = DOCENT_APPLICATION (app);

  g_variant_dict_lookup (options, "search", "s", &self->search);
  g_variant_dict_lookup (options, "ask", "s", &self->ask);
  return -1;
}

/* `docent FILE…` and "Open With Docent" import the files. */
static void
docent_application_open (GApplication  *app,
                         GFile        **files,
                         int            n_files,
                         const char    *hint)
{
  DocentWindow *window = get_window (DOCENT_APPLICATION (app));

  gtk_window_present (GTK_WINDOW (window));
  docent_window_import_files (window, files, n_files);
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *param,
                    gpointer       user_data)
{
  DocentApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  GtkWidget *prefs = docent_preferences_window_new (parent, settings);

  gtk_window_present (GTK_WINDOW (prefs));
}

GtkWidget *
docent_about_window_new (GtkWindow *parent)
{
  const char *developers[] = { "The Docent developers", NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", parent,
                        "application-name", "Docent",
                        "application-icon", APP_ID,
                        "developer-name", "The Docent developers",
                        "version", PACKAGE_VERSION,
                        "comments", _("Ask your documents questions and see where every answer came from. Works offline."),
                        "website", "https://github.com/docent/docent",
                        "issue-url", "https://github.com/docent/docent/issues",
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "developers", developers,
                        /* Translators: put your names here, one per line */
                        "translator-credits", _("translator-credits"),
                        NULL);
  return about;
}

static void
about_action (GSimpleAction *action,
              GVariant      *param,
              gpointer       user_data)
{
  DocentApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));

  gtk_window_present (GTK_WINDOW (docent_about_window_new (parent)));
}

static void
quit_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  GApplication *app = user_data;

  /* Closing the windows first lets them save their size. */
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (app)); l; )
    {
      GList *next = l->next;
      gtk_window_close (l->data);
      l = next;
    }
  g_application_quit (app);
}

static const GActionEntry app_actions[] = {
  { "preferences", preferences_action },
  { "about", about_action },
  { "quit", quit_action },
};

static void
docent_application_startup (GApplication *app)
{
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *prefs_accels[] = { "<Control>comma", NULL };

  docent_ensure_resources ();
  G_APPLICATION_CLASS (docent_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions), app);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.preferences", prefs_accels);
}

static void
docent_application_finalize (GObject *object)
{
  DocentApplication *self = DOCENT_APPLICATION (object);

  g_free (self->search);
  g_free (self->ask);
  G_OBJECT_CLASS (docent_application_parent_class)->finalize (object);
}

static void
docent_application_class_init (DocentApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  app_class->activate = docent_application_activate;
  app_class->open = docent_application_open;
  app_class->startup = docent_application_startup;
  app_class->handle_local_options = docent_application_handle_local_options;
  G_OBJECT_CLASS (klass)->finalize = docent_application_finalize;
}

static void
docent_application_init (DocentApplication *self)
{
  static const GOptionEntry entries[] = {
    { "search", 0, 0, G_OPTION_ARG_STRING, NULL, N_("Open the window searching for TEXT"), N_("TEXT") },
    { "ask", 0, 0, G_OPTION_ARG_STRING, NULL, N_("Open the window asking QUESTION"), N_("QUESTION") },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
}

/* Run from the build tree (as main.c detects for the schema), the
 * translations are the catalogs just built there, not the installed ones. */
static void
use_build_translations_if_uninstalled (void)
{
#ifdef BUILD_SCHEMA_DIR
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *build_root = g_path_get_dirname (BUILD_SCHEMA_DIR);
  g_autofree char *po = g_build_filename (build_root, "po", NULL);

  if (exe != NULL && g_str_has_prefix (exe, build_root) && g_file_test (po, G_FILE_TEST_IS_DIR))
    bindtextdomain (GETTEXT_PACKAGE, po);
#endif
}

int
docent_application_run (int argc, char **argv)
{
  g_autoptr(DocentApplication) app = NULL;

  use_build_translations_if_uninstalled ();
  if (g_getenv ("DOCENT_TIMING") != NULL)
    g_printerr ("docent-timing: main %" G_GINT64_FORMAT "\n", g_get_real_time ());
  docent_ensure_resources ();
  app = g_object_new (DOCENT_TYPE_APPLICATION,
                      "application-id", APP_ID,
                      "resource-base-path", "/io/github/docent/Docent",
                      "flags", G_APPLICATION_HANDLES_OPEN,
                      NULL);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
