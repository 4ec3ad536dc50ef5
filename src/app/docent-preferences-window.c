/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-preferences-window"
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gi18n.h>

#include "docent-application.h"
#include "docent-model-manager.h"
#include "docent-preferences-window.h"
#include "docent-rechunker.h"
#include "docent-store.h"
#include "docent-window-private.h"
#include "llm-gguf.h"
#include "llm-quant.h"
#include "llm-quantize.h"

struct _DocentPreferencesWindow
{
  AdwPreferencesWindow parent_instance;

  GSettings         *settings;
  GtkFileChooserNative *chooser;

  AdwActionRow      *model_row;
  GtkWidget         *model_clear_button;
  AdwComboRow       *quantization_row;
  AdwActionRow      *quantize_row;
  GtkWidget         *quantize_button;
  GtkWidget         *quantize_cancel_button;
  GtkProgressBar    *quantize_progress;
  AdwPreferencesGroup *discovered_group;
  GtkWidget         *discovered_placeholder;
  GPtrArray         *discovered_rows;    /* the rows added, to refresh them */
  GPtrArray         *discovered_paths;   /* their models' paths */
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
  GtkWidget         *passages_group;
  GtkSpinButton     *chunk_size_spin;
  GtkSpinButton     *chunk_overlap_spin;
  GtkWidget         *chunking_apply_button;
  DocentLibrary     *library;          /* the parent window's, or NULL */
  guint              chunk_size, chunk_overlap;   /* as stored */
  GCancellable      *cancellable;
  GCancellable      *estimate_cancellable;
  GCancellable      *quantize_cancellable;   /* non-NULL while a copy is made */
  char              *quantize_out;
  gboolean           disposed;
};

G_DEFINE_FINAL_TYPE (DocentPreferencesWindow, docent_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

enum {
  PROP_0,
  PROP_SETTINGS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char * const quantization_nicks[] = { "keep", "q8_0", "q6_k", "q4_k_m", "q4_0" };
static const char * const quantization_types[] = { NULL, "Q8_0", "Q6_K", "Q4_K_M", "Q4_0" };

static void update_quantize_row (DocentPreferencesWindow *self);
static void discover_models (DocentPreferencesWindow *self);

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

/* The embedding model is the library's (kept in its file); without a
 * library window, the default new libraries get. */
static void
update_embedding_row (DocentPreferencesWindow *self)
{
  g_autofree char *fallback = g_settings_get_string (self->settings, "embedding-model-path");
  const char *embedding = fallback;
  g_autofree char *markup = NULL;

  if (self->library != NULL)
    embedding = docent_library_get_embedding_model (self->library);
  if (embedding == NULL)
    embedding = "";
  markup = g_markup_escape_text (embedding[0] ? embedding : _("Built-in"), -1);
  adw_action_row_set_subtitle (self->embedding_row, markup);
  gtk_widget_set_visible (self->embedding_clear_button, embedding[0] != '\0');
}

/* A choice for the window's library (embedded again in the background,
 * progress and Stop in the main window), and the default for new ones. */
static void
set_embedding_model (DocentPreferencesWindow *self,
                     const char              *path)
{
  const char *before = self->library ? docent_library_get_embedding_model (self->library) : NULL;

  g_settings_set_string (self->settings, "embedding-model-path", path ? path : "");
  if (self->library == NULL)
    return;
  if (g_strcmp0 (before, path && path[0] ? path : NULL) == 0)
    return;
  docent_library_set_embedding_model (self->library, path);
  if (path != NULL && path[0] != '\0')
    adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                      adw_toast_new (_("Indexing the library with this model in the background")));
}

static void
update_rows (DocentPreferencesWindow *self)
{
  g_autofree char *model = g_settings_get_string (self->settings, "model-path");
  g_autofree char *library = g_settings_get_string (self->settings, "library-path");

  adw_action_row_set_subtitle (self->model_row,
                               model[0] ? model : _("None: answers quote the best passages"));
  gtk_widget_set_visible (self->model_clear_button, model[0] != '\0');
  /* Quantizing needs a model to start from. */
  gtk_widget_set_sensitive (GTK_WIDGET (self->quantization_row),
                            model[0] != '\0' && self->quantize_cancellable == NULL);
  update_quantize_row (self);

  update_embedding_row (self);

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
      else if (path != NULL && g_str_equal (data->key, "embedding-model-path"))
        set_embedding_model (self, path);
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
  set_embedding_model (self, NULL);
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

/* ---- passages (per library, stored in the library file) ----------------- */

static void
chunking_changed_cb (DocentPreferencesWindow *self)
{
  guint size = gtk_spin_button_get_value_as_int (self->chunk_size_spin);
  guint overlap = gtk_spin_button_get_value_as_int (self->chunk_overlap_spin);

  /* The overlap runs up to half the size. */
  gtk_spin_button_set_range (self->chunk_overlap_spin, 0, size / 2);
  overlap = gtk_spin_button_get_value_as_int (self->chunk_overlap_spin);
  gtk_widget_set_sensitive (self->chunking_apply_button,
                            self->library != NULL && self->chunk_size > 0 &&
                            (size != self->chunk_size || overlap != self->chunk_overlap));
}

static void
chunking_apply_cb (DocentPreferencesWindow *self)
{
  guint size = gtk_spin_button_get_value_as_int (self->chunk_size_spin);
  guint overlap = gtk_spin_button_get_value_as_int (self->chunk_overlap_spin);
  g_autoptr(GError) error = NULL;

  if (self->library == NULL)
    return;
  if (!docent_library_set_chunking (self->library, size, overlap, &error))
    {
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (error->message));
      return;
    }
  self->chunk_size = size;
  self->chunk_overlap = overlap;
  chunking_changed_cb (self);
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                    adw_toast_new (_("Re-cutting the library in the background")));
}

static void
chunking_read_thread (GTask        *task,
                      gpointer      source_object,
                      gpointer      task_data,
                      GCancellable *cancellable)
{
  g_autoptr(DocentStore) store = NULL;
  GError *error = NULL;
  guint *values = g_new0 (guint, 2);

  store = docent_store_open (task_data, &error);
  if (store == NULL || !docent_chunking_get (store, &values[0], &values[1], &error))
    {
      g_free (values);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, values, g_free);
}

static void
chunking_read_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  DocentPreferencesWindow *self = DOCENT_PREFERENCES_WINDOW (object);
  g_autofree guint *values = g_task_propagate_pointer (G_TASK (result), NULL);

  if (values == NULL || self->disposed)
    return;
  self->chunk_size = values[0];
  self->chunk_overlap = values[1];
  gtk_spin_button_set_range (self->chunk_overlap_spin, 0, values[0] / 2);
  gtk_spin_button_set_value (self->chunk_size_spin, values[0]);
  gtk_spin_button_set_value (self->chunk_overlap_spin, values[1]);
  gtk_widget_set_sensitive (self->passages_group, TRUE);
  chunking_changed_cb (self);
}

/* The passage settings of @library's file, read on a worker. */
static void
set_library (DocentPreferencesWindow *self,
             DocentLibrary           *library)
{
  g_autoptr(GTask) task = NULL;

  if (self->library != NULL)
    g_signal_handlers_disconnect_by_data (self->library, self);
  g_set_object (&self->library, library);
  gtk_widget_set_sensitive (self->passages_group, FALSE);
  update_embedding_row (self);
  if (library == NULL)
    return;
  g_signal_connect_object (library, "notify::embedding-model",
                           G_CALLBACK (update_embedding_row), self, G_CONNECT_SWAPPED);
  task = g_task_new (self, self->cancellable, chunking_read_cb, NULL);
  g_task_set_source_tag (task, set_library);
  g_task_set_task_data (task, g_strdup (docent_library_get_path (library)), g_free);
  g_task_run_in_thread (task, chunking_read_thread);
}

/* ---- quantized copy of the chat model ------------------------------------ */

/* Docent's own models folder, where copies go (discovery lists it). */
static char *
dup_models_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "docent", "models", NULL);
}

/* NAME-Q4_K_M.gguf in the models folder, numbered when taken. */
static char *
dup_copy_path (const char *model,
               const char *type)
{
  g_autofree char *dir = dup_models_dir ();
  g_autofree char *base = g_path_get_basename (model);
  g_autofree char *lower = g_ascii_strdown (base, -1);
  char *path = NULL;

  if (g_str_has_suffix (lower, ".gguf"))
    base[strlen (base) - 5] = '\0';
  for (guint n = 1; n < 1000; n++)
    {
      g_autofree char *name = n == 1 ? g_strdup_printf ("%s-%s.gguf", base, type)
                                     : g_strdup_printf ("%s-%s-%u.gguf", base, type, n);
      g_free (path);
      path = g_build_filename (dir, name, NULL);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        break;
    }
  return path;
}

typedef struct {
  char    *model;
  char    *type;
  guint64  size;    /* expected file size of the copy */
  guint64  ram;     /* and the memory it needs */
} Estimate;

static void
estimate_free (Estimate *e)
{
  g_free (e->model);
  g_free (e->type);
  g_free (e);
}

/* The quantizer's own plan gives every tensor's output type: the copy's
 * weights are exact, the rest of the file (metadata, padding) is kept. */
static void
estimate_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  Estimate *e = task_data;
  g_autoptr(DocentModelInfo) info = NULL;
  g_autofree llm_type *types = NULL;
  GError *error = NULL;
  llm_gguf_error gerr;
  llm_gguf *g;
  guint64 weights_in = 0, weights_out = 0;
  char err[256] = "";

  info = docent_model_manager_describe (e->model, NULL, &error);
  if (info == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g = llm_gguf_open (e->model, &gerr);
  if (g == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s", gerr.message);
      return;
    }
  types = g_new0 (llm_type, MAX (llm_gguf_n_tensors (g), 1));
  if (!llm_quantize_plan (g, llm_ftype_from_name (e->type), types, err, sizeof err))
    {
      llm_gguf_close (g);
      /* Translators: %s says why, e.g. a tensor is already quantized */
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("This model cannot be quantized: %s"), err);
      return;
    }
  for (size_t i = 0; i < llm_gguf_n_tensors (g); i++)
    {
      const llm_gguf_tensor *t = llm_gguf_get_tensor (g, i);
      guint64 rows = t->ne[0] > 0 ? (guint64) t->n_elements / (guint64) t->ne[0] : 0;

      weights_in += t->size;
      weights_out += types[i] == t->type ? t->size : rows * llm_row_size (types[i], t->ne[0]);
    }
  llm_gguf_close (g);
  e->size = info->file_size - MIN (weights_in, info->file_size) + weights_out;
  e->ram = info->ram_estimate - MIN (weights_in, info->ram_estimate) + weights_out;
  g_task_return_boolean (task, TRUE);
}

static void
estimate_done_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  DocentPreferencesWindow *self = DOCENT_PREFERENCES_WINDOW (object);
  Estimate *e = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL, *markup = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->disposed)
        return;
      text = g_strdup (error->message);
      gtk_widget_set_sensitive (self->quantize_button, FALSE);
    }
  else
    {
      g_autofree char *size = g_format_size_full (e->size, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *ram = g_format_size_full (e->ram, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *dir = dup_models_dir ();
      g_autofree char *display = g_filename_display_name (dir);

      /* Translators: expected file size and memory of the copy; the folder */
      text = g_strdup_printf (_("About %s on disk and %s of memory; saved in %s"), size, ram, display);
      gtk_widget_set_sensitive (self->quantize_button, TRUE);
    }
  markup = g_markup_escape_text (text, -1);
  adw_action_row_set_subtitle (self->quantize_row, markup);
}

/* The row under the choice: what the copy will cost, then Make Copy. */
static void
update_quantize_row (DocentPreferencesWindow *self)
{
  g_autofree char *model = g_settings_get_string (self->settings, "model-path");
  guint choice = adw_combo_row_get_selected (self->quantization_row);
  const char *type = choice < G_N_ELEMENTS (quantization_types) ? quantization_types[choice] : NULL;
  g_autoptr(GTask) task = NULL;
  g_autofree char *title = NULL;
  Estimate *e;

  if (self->quantize_cancellable != NULL)   /* a copy is being made */
    return;
  g_cancellable_cancel (self->estimate_cancellable);
  g_clear_object (&self->estimate_cancellable);
  gtk_widget_set_visible (GTK_WIDGET (self->quantize_row), model[0] != '\0' && type != NULL);
  gtk_widget_set_sensitive (self->quantize_button, FALSE);
  if (model[0] == '\0' || type == NULL)
    return;

  /* Translators: title of the row making a copy; %s is e.g. Q4_K_M */
  title = g_strdup_printf (_("%s Copy"), type);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->quantize_row), title);
  adw_action_row_set_subtitle (self->quantize_row, _("Estimating size…"));

  e = g_new0 (Estimate, 1);
  e->model = g_steal_pointer (&model);
  e->type = g_strdup (type);
  self->estimate_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->estimate_cancellable, estimate_done_cb, NULL);
  g_task_set_source_tag (task, update_quantize_row);
  g_task_set_task_data (task, e, (GDestroyNotify) estimate_free);
  g_task_run_in_thread (task, estimate_thread);
}

static void
quantize_progress_cb (double      fraction,
                      const char *tensor_name,
                      gpointer    user_data)
{
  DocentPreferencesWindow *self = user_data;

  if (self->disposed)
    return;
  gtk_progress_bar_set_fraction (self->quantize_progress, fraction);
}

static void
set_quantizing (DocentPreferencesWindow *self,
                gboolean                 running)
{
  gtk_widget_set_visible (self->quantize_button, !running);
  gtk_widget_set_visible (self->quantize_cancel_button, running);
  gtk_widget_set_visible (GTK_WIDGET (self->quantize_progress), running);
  gtk_widget_set_sensitive (GTK_WIDGET (self->quantization_row), !running);
  gtk_widget_set_sensitive (GTK_WIDGET (self->model_row), !running);
}

static void
quantize_done_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(DocentPreferencesWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = g_steal_pointer (&self->quantize_out);
  gboolean ok = docent_model_manager_quantize_finish (result, &error);

  g_clear_object (&self->quantize_cancellable);
  if (self->disposed)
    return;
  set_quantizing (self, FALSE);
  if (ok)
    {
      /* The copy is what the choice was for: answer with it from now on.
       * The original stays listed below to go back to. */
      g_settings_set_string (self->settings, "model-path", out);
      g_settings_set_string (self->settings, "quantization", "keep");
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                        adw_toast_new (_("Copy made; answers now use it")));
      discover_models (self);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                        adw_toast_new (_("Copy stopped")));
      update_quantize_row (self);
    }
  else
    {
      g_autofree char *markup = g_markup_escape_text (error->message, -1);
      /* The reason stays on the row; Make Copy tries again. */
      adw_action_row_set_subtitle (self->quantize_row, markup);
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                        adw_toast_new (_("Could not make the copy")));
      gtk_widget_set_sensitive (self->quantize_button, TRUE);
    }
}

static void
quantize_start_cb (DocentPreferencesWindow *self)
{
  g_autofree char *model = g_settings_get_string (self->settings, "model-path");
  guint choice = adw_combo_row_get_selected (self->quantization_row);
  g_autofree char *dir = dup_models_dir ();
  const char *type;

  if (self->quantize_cancellable != NULL || model[0] == '\0' ||
      choice == 0 || choice >= G_N_ELEMENTS (quantization_types))
    return;
  type = quantization_types[choice];
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;
      g_autofree char *text = g_strdup_printf (_("Cannot create the folder %s: %s"), dir, g_strerror (saved));
      g_autofree char *markup = g_markup_escape_text (text, -1);
      adw_action_row_set_subtitle (self->quantize_row, markup);
      return;
    }
  g_free (self->quantize_out);
  self->quantize_out = dup_copy_path (model, type);
  self->quantize_cancellable = g_cancellable_new ();
  gtk_progress_bar_set_fraction (self->quantize_progress, 0);
  set_quantizing (self, TRUE);
  {
    g_autofree char *display = g_filename_display_name (self->quantize_out);
    /* Translators: %s is the file being written */
    g_autofree char *text = g_strdup_printf (_("Writing %s"), display);
    g_autofree char *markup = g_markup_escape_text (text, -1);
    adw_action_row_set_subtitle (self->quantize_row, markup);
  }
  docent_model_manager_quantize_async (model, self->quantize_out, type, self->quantize_cancellable,
                                       quantize_progress_cb, self,
                                       quantize_done_cb, g_object_ref (self));
}

static void
quantize_cancel_cb (DocentPreferencesWindow *self)
{
  if (self->quantize_cancellable != NULL)
    g_cancellable_cancel (self->quantize_cancellable);
}

gboolean
_docent_preferences_window_get_quantizing (DocentPreferencesWindow *self)
{
  return self->quantize_cancellable != NULL;
}

gboolean
_docent_preferences_window_lists_model (DocentPreferencesWindow *self,
                                        const char              *path)
{
  for (guint i = 0; self->discovered_paths && i < self->discovered_paths->len; i++)
    if (g_strcmp0 (self->discovered_paths->pdata[i], path) == 0)
      return TRUE;
  return FALSE;
}

GtkWidget *
_docent_preferences_window_get_use_button (DocentPreferencesWindow *self,
                                           const char              *path)
{
  for (guint i = 0; self->discovered_paths && i < self->discovered_paths->len; i++)
    if (g_strcmp0 (self->discovered_paths->pdata[i], path) == 0)
      return g_object_get_data (self->discovered_rows->pdata[i], "use-button");
  return NULL;
}

/* ---- models on this computer ------------------------------------------- */

static void
discover_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  g_autofree char *own = dup_models_dir ();
  const char *extra[] = { own, NULL };   /* where copies go, whatever DOCENT_MODEL_DIRS says */

  /* reads every candidate file's header: off the main thread */
  g_task_return_pointer (task, docent_model_manager_discover (extra, NULL),
                         (GDestroyNotify) g_ptr_array_unref);
}

static void
use_model_cb (GtkButton               *button,
              DocentPreferencesWindow *self)
{
  const char *key = g_object_get_data (G_OBJECT (button), "settings-key");
  const char *path = g_object_get_data (G_OBJECT (button), "model-path");

  if (g_str_equal (key, "embedding-model-path"))
    set_embedding_model (self, path);
  else
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
      g_object_set_data (G_OBJECT (row), "use-button", button);
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

  if (models == NULL || self->disposed)   /* cancelled: the window is going away */
    return;
  for (guint i = 0; i < self->discovered_rows->len; i++)
    adw_preferences_group_remove (self->discovered_group, self->discovered_rows->pdata[i]);
  g_ptr_array_set_size (self->discovered_rows, 0);
  g_ptr_array_set_size (self->discovered_paths, 0);
  for (guint i = 0; i < models->len; i++)
    {
      const DocentModelInfo *m = models->pdata[i];
      GtkWidget *row = discovered_row_new (self, m);

      adw_preferences_group_add (self->discovered_group, row);
      g_ptr_array_add (self->discovered_rows, row);
      g_ptr_array_add (self->discovered_paths, g_strdup (m->path));
    }
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

  g_signal_connect_object (self->quantization_row, "notify::selected",
                           G_CALLBACK (update_quantize_row), self, G_CONNECT_SWAPPED);
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
  self->disposed = TRUE;
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_cancellable_cancel (self->estimate_cancellable);
  g_clear_object (&self->estimate_cancellable);
  /* The job holds a reference and clears its own cancellable when done. */
  if (self->quantize_cancellable != NULL)
    g_cancellable_cancel (self->quantize_cancellable);
  g_clear_pointer (&self->discovered_rows, g_ptr_array_unref);
  g_clear_pointer (&self->discovered_paths, g_ptr_array_unref);
  g_clear_object (&self->settings);
  g_clear_object (&self->library);

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
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, quantize_row);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, quantize_button);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, quantize_cancel_button);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, quantize_progress);
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
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, passages_group);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, chunk_size_spin);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, chunk_overlap_spin);
  gtk_widget_class_bind_template_child (widget_class, DocentPreferencesWindow, chunking_apply_button);
  gtk_widget_class_bind_template_callback (widget_class, chunking_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, chunking_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, backup_cb);
  gtk_widget_class_bind_template_callback (widget_class, quantize_start_cb);
  gtk_widget_class_bind_template_callback (widget_class, quantize_cancel_cb);
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
  self->discovered_rows = g_ptr_array_new ();
  self->discovered_paths = g_ptr_array_new_with_free_func (g_free);
}

GtkWidget *
docent_preferences_window_new (GtkWindow *parent,
                               GSettings *settings)
{
  GtkWidget *self;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (DOCENT_TYPE_PREFERENCES_WINDOW,
                       "settings", settings,
                       "transient-for", parent,
                       "modal", parent != NULL,
                       NULL);
  /* Per-library settings are those of the window's library. */
  if (DOCENT_IS_WINDOW (parent))
    set_library (DOCENT_PREFERENCES_WINDOW (self), _docent_window_get_library (DOCENT_WINDOW (parent)));
  return self;
}
