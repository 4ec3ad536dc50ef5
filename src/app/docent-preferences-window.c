/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-preferences-window"
#include "config.h"

#include <glib/gi18n.h>

#include "docent-application.h"
#include "docent-model-manager.h"
#include "docent-preferences-window.h"
#include "docent-store.h"

struct _DocentPreferencesWindow
{
  AdwPreferencesWindow parent_instance;

  GSettings         *settings;
  GtkFileChooserNative *chooser;

  AdwActionRow      *model_row;
  GtkWidget         *model_clear_button;
  AdwComboRow       *quantization_row;
  AdwPreferencesGroup *discovered_group;
  GtkWidget         *discovered_placeholder;
  AdwActionRow      *embedding_row;
  GtkWidget         *embedding_clear_button;
  GtkSpinButton     *threads_spin;
  GtkSpinButton     *context_spin;
  GtkSpinButton     *temperature_spin;
  GtkSpinButton     *top_p_spin;
  GtkSpinButton     *sources_spin;
  GtkSpinButton     *results_spin;
  AdwActionRow      *library_row;
  GtkWidget         *library_reset_button;
  GtkWidget         *backup_button;
  GCancellable      *cancellable;
};

G_DEFINE_FINAL_TYPE (DocentPreferencesWindow, docent_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

enum {
  PROP_0,
  PROP_SETTINGS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char * const quantization_nicks[] = { "keep", "q8_0", "q6_k", "q4_k_m", "q4_0" };

static gboolean
quantization_get_mapping (GValue   *value,
                          GVariant *variant,
                          gpointer  user_data)
{
  const char *nick = g_variant_get_string (variant, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (quantization_nicks); i++)
    if (g_str_equal (nick, quantization_nicks[i]))
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  return FALSE;
}

static GVariant *
quantization_set_mapping (const GValue       *value,
                          const GVariantType *expected_type,
                          gpointer            user_data)
{
  guint i = g_value_get_uint (value);

  if (i >= G_N_ELEMENTS (quantization_nicks))
    return NULL;
  return g_variant_new_string (quantization_nicks[i]);
}

static char *
dup_default_library_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "docent", "library.db", NULL);
}

/* The library the window has open: `docent --library PATH` wins. */
static char *
dup_library_path (DocentPreferencesWindow *self)
{
  g_autofree char *path = g_settings_get_string (self->settings, "library-path");
  const char *env = g_getenv ("DOCENT_LIBRARY");

  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  if (path[0] != '\0')
    return g_steal_pointer (&path);
  return dup_default_library_path ();
}

static void
update_rows (DocentPreferencesWindow *self)
{
  g_autofree char *model = g_settings_get_string (self->settings, "model-path");
  g_autofree char *embedding = g_settings_get_string (self->settings, "embedding-model-path");
  g_autofree char *library = g_settings_get_string (self->settings, "library-path");

  adw_action_row_set_subtitle (self->model_row,
                               model[0] ? model : _("None: answers quote the best passages"));
  gtk_widget_set_visible (self->model_clear_button, model[0] != '\0');
  /* Quantizing needs a model to start from. */
  gtk_widget_set_sensitive (GTK_WIDGET (self->quantization_row), model[0] != '\0');

  adw_action_row_set_subtitle (self->embedding_row,
                               embedding[0] ? embedding : _("Built-in"));
  gtk_widget_set_visible (self->embedding_clear_button, embedding[0] != '\0');

  {
    g_autofree char *open_path = dup_library_path (self);
    adw_action_row_set_subtitle (self->library_row, open_path);
  }
  gtk_widget_set_visible (self->library_reset_button, library[0] != '\0');
}

typedef struct {
  DocentPreferencesWindow *self;
  const char              *key;
  gboolean                 folder;
} ChooseData;

static void
chooser_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     gpointer         user_data)
{
  ChooseData *data = user_data;
  DocentPreferencesWindow *self = data->self;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;

      if (path != NULL && data->folder)
        {
          g_autofree char *library = g_build_filename (path, "library.db", NULL);
          g_settings_set_string (self->settings, data->key, library);
        }
      else if (path != NULL)
        g_settings_set_string (self->settings, data->key, path);
    }
  g_clear_object (&self->chooser);
  g_free (data);
}

static void
choose_file (DocentPreferencesWindow *self,
             const char              *title,
             const char              *key,
             gboolean                 folder)
{
  ChooseData *data = g_new0 (ChooseData, 1);

  data->self = self;
  data->key = key;
  data->folder = folder;

  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (title, GTK_WINDOW (self),
                                               folder ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER
                                                      : GTK_FILE_CHOOSER_ACTION_OPEN,
                                               _("_Select"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  if (!folder)
    {
      g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

      gtk_file_filter_set_name (filter, _("GGUF Models"));
      gtk_file_filter_add_pattern (filter, "*.gguf");
      gtk_file_filter_add_pattern (filter, "*.GGUF");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
    }
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response_cb), data);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
model_choose_cb (DocentPreferencesWindow *self)
{
  choose_file (self, _("Choose a Chat Model"), "model-path", FALSE);
}

static void
model_clear_cb (DocentPreferencesWindow *self)
{
  g_settings_set_string (self->settings, "model-path", "");
}

static void
embedding_choose_cb (DocentPreferencesWindow *self)
{
  choose_file (self, _("Choose an Embedding Model"), "embedding-model-path", FALSE);
}

static void
embedding_clear_cb (DocentPreferencesWindow *self)
{
  g_settings_set_string (self->settings, "embedding-model-path", "");
}

static void
library_choose_cb (DocentPreferencesWindow *self)
{
  choose_file (self, _("Choose a Folder for the Library"), "library-path", TRUE);
}

static void
library_reset_cb (DocentPreferencesWindow *self)
{
  g_settings_reset (self->settings, "library-path");
}

/* --- backup: VACUUM INTO on a connection of its own, off the main loop --- */

static void
backup_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  char **paths = task_data;   /* library, destination */
  g_autoptr(DocentStore) store = NULL;
  g_autoptr(GError) error = NULL;

  store = docent_store_open (paths[0], &error);
  if (store == NULL || !docent_store_backup (store, paths[1], &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
backup_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  DocentPreferencesWindow *self = DOCENT_PREFERENCES_WINDOW (object);
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      message = g_strdup_printf (_("Backup failed: %s"), error->message);
    }
  else
    message = g_strdup (_("Library backed up"));
  gtk_widget_set_sensitive (self->backup_button, TRUE);
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (message));
}

void
_docent_preferences_window_backup (DocentPreferencesWindow *self,
                                   const char              *dest)
{
  g_autoptr(GTask) task = NULL;
  char **paths = g_new0 (char *, 3);

  paths[0] = dup_library_path (self);
  paths[1] = g_strdup (dest);
  gtk_widget_set_sensitive (self->backup_button, FALSE);
  task = g_task_new (self, self->cancellable, backup_done_cb, NULL);
  g_task_set_source_tag (task, _docent_preferences_window_backup);
  g_task_set_task_data (task, paths, (GDestroyNotify) g_strfreev);
  g_task_run_in_thread (task, backup_thread);
}

static void
backup_response_cb (GtkNativeDialog         *dialog,
                    int                      response,
                    DocentPreferencesWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;

      if (path != NULL)
        _docent_preferences_window_backup (self, path);
    }
  g_clear_object (&self->chooser);
}

static void
backup_cb (DocentPreferencesWindow *self)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *date = g_date_time_format (now, "%Y-%m-%d");
  /* Translators: file name of a library backup; %s is the date */
  g_autofree char *name = g_strdup_printf (_("Docent library %s.db"), date);

  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (_("Back Up the Library"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SAVE,
                                               _("_Back Up"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), name);
  g_signal_connect (self->chooser, "response", G_CALLBACK (backup_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* ---- models on this computer ------------------------------------------- */

static void
discover_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  /* reads every candidate file's header: off the main thread */
  g_task_return_pointer (task, docent_model_manager_discover (NULL, NULL),
                         (GDestroyNotify) g_ptr_array_unref);
}

static void
use_model_cb (GtkButton               *button,
              DocentPreferencesWindow *self)
{
  const char *key = g_object_get_data (G_OBJECT (button), "settings-key");
  const char *path = g_object_get_data (G_OBJECT (button), "model-path");

  g_settings_set_string (self->settings, key, path);
}

static GtkWidget *
discovered_row_new (DocentPreferencesWindow *self,
                    const DocentModelInfo   *m)
{
  g_autofree char *title = g_markup_escape_text (m->name, -1);
  g_autofree char *size = g_format_size_full (m->file_size, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *ram = g_format_size_full (m->ram_estimate, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *display = g_filename_display_name (m->path);
  g_autofree char *details = NULL, *subtitle = NULL;
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *button;

  /* Translators: architecture, parameters in millions, quantization, file
   * size, RAM needed, the app the file belongs to; then the path */
  details = g_strdup_printf (_("%s · %.1f M parameters · %s · %s · %s RAM · %s\n%s"),
                             m->architecture ? m->architecture : "?",
                             m->parameters / 1e6,
                             m->quantization ? m->quantization : "?",
                             size, ram, m->source, display);
  subtitle = g_markup_escape_text (details, -1);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 3);

  if (m->is_chat || m->is_embedding)
    {
      button = gtk_button_new_with_label (m->is_embedding ? _("Use for Search") : _("Use for Chat"));
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      g_object_set_data_full (G_OBJECT (button), "model-path", g_strdup (m->path), g_free);
      g_object_set_data (G_OBJECT (button), "settings-key",
                         (gpointer) (m->is_embedding ? "embedding-model-path" : "model-path"));
      g_signal_connect (button, "clicked", G_CALLBACK (use_model_cb), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
    }
  return row;
}

static void
discover_done_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  DocentPreferencesWindow *self = DOCENT_PREFERENCES_WINDOW (object);
  g_autoptr(GPtrArray) models = g_task_propagate_pointer (G_TASK (result), NULL);

  if (models == NULL)   /* cancelled: the window is going away */
    return;
  for (guint i = 0; i < models->len; i++)
    adw_preferences_group_add (self->discovered_group,
                               discovered_row_new (self, models->pdata[i]));
  gtk_widget_set_visible (self->discovered_placeholder, models->len == 0);
}

static void
discover_models (DocentPreferencesWindow *self)
{
  g_autoptr(GTask) task = g_task_new (self, self->cancellable, discover_done_cb, NULL);

  g_task_set_source_tag (task, discover_models);
  g_task_run_in_thread (task, discover_thread);
}

static void
docent_preferences_window_constructed (GObject *object)
{
  DocentPreferencesWindow *self = DOCENT_PREFERENCES_WINDOW (object);

  G_OBJECT_CLASS (docent_preferences_window_parent_class)->constructed (object);

  g_assert (self->settings != NULL);

  g_settings_bind (self->settings, "threads", self->threads_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "context-length", self->context_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "temperature", self->temperature_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "top-p", self->top_p_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "sources", self->sources_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "results", self->results_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind_with_mapping (self->settings, "quantization",
                                self->quantization_row, "selected",
                                G_SETTINGS_BIND_DEFAULT,
                                quantization_get_mapping, quantization_set_mapping,
                                NULL, NULL);

  g_signal_connect_object (self->settings, "changed::model-path",
                           G_CALLBACK (update_rows), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::embedding-model-path",
                           G_CALLBACK (update_rows), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::library-path",
                           G_CALLBACK (update_rows), self, G_CONNECT_SWAPPED);
  update_rows (self);
  discover_models (self);
}

static void
docent_preferences_window_dispose (GObject *object)
{
  DocentPreferencesWindow *self = DOCENT_PREFERENCES_WINDOW (object);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (docent_preferences_window_parent_class)->dispose (object);
}

static void
docent_preferences_window_set_property (GObject      *object,
                                        guint         prop_id,
                                        const GValue *value,
                                        GParamSpec   *pspec)
{
  DocentPreferencesWindow *self = DOCENT_PREFERENCES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
docent_preferences_window_class_init (DocentPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = docent_preferences_window_constructed;
  object_class->dispose = docent_preferences_window_dispose;
  object_class->set_property = docent_preferences_window_set_property;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, G_TYPE_SETTINGS,
                         G_PARAM_WRITABLE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  docent_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/docent/Docent/docent-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, model_row);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, model_clear_button);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, quantization_row);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, discovered_group);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, discovered_placeholder);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, embedding_row);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, embedding_clear_button);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, threads_spin);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, context_spin);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, temperature_spin);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, top_p_spin);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, sources_spin);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, results_spin);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, library_row);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, library_reset_button);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, backup_button);
  gtk_widget_class_bind_template_callback (widget_class, backup_cb);
  gtk_widget_class_bind_template_callback (widget_class, model_choose_cb);
  gtk_widget_class_bind_template_callback (widget_class, model_clear_cb);
  gtk_widget_class_bind_template_callback (widget_class, embedding_choose_cb);
  gtk_widget_class_bind_template_callback (widget_class, embedding_clear_cb);
  gtk_widget_class_bind_template_callback (widget_class, library_choose_cb);
  gtk_widget_class_bind_template_callback (widget_class, library_reset_cb);
}

static void
docent_preferences_window_init (DocentPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

GtkWidget *
docent_preferences_window_new (GtkWindow *parent,
                               GSettings *settings)
{
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  return g_object_new (DOCENT_TYPE_PREFERENCES_WINDOW,
                       "settings", settings,
                       "transient-for", parent,
                       "modal", parent != NULL,
                       NULL);
}
