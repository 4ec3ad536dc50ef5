/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-window"
#include "config.h"

#include <glib/gi18n.h>

#include "docent-document-row.h"
#include "docent-error.h"
#include "docent-rechunker.h"
#include "docent-window-private.h"

/* Everything that brings documents in or takes them out: drops, file
 * choosers, import progress, passwords, and the sidebar rows' menus. */

static void
import_paths (DocentWindow       *self,
              const char * const *paths,
              const char         *password)
{
  if (paths == NULL || paths[0] == NULL)
    return;
  docent_library_import (self->library, paths, password);
}

void
docent_window_import_files (DocentWindow  *self,
                            GFile        **files,
                            guint          n_files)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) paths = NULL;

  g_return_if_fail (DOCENT_IS_WINDOW (self));

  for (guint i = 0; i < n_files; i++)
    {
      g_autofree char *path = g_file_get_path (files[i]);

      /* Only local files: the importer reads paths. */
      if (path != NULL)
        g_strv_builder_add (builder, path);
    }
  paths = g_strv_builder_end (builder);
  if (paths[0] == NULL)
    {
      _docent_window_toast (self, _("Only files on this computer can be added"));
      return;
    }
  import_paths (self, (const char * const *) paths, NULL);
}

gboolean
_docent_window_drop_cb (GtkDropTarget *target,
                        const GValue  *value,
                        double         x,
                        double         y,
                        DocentWindow  *self)
{
  GdkFileList *list;
  g_autoptr(GPtrArray) files = g_ptr_array_new ();
  GSList *l;

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  list = g_value_get_boxed (value);
  l = gdk_file_list_get_files (list);
  for (GSList *it = l; it != NULL; it = it->next)
    g_ptr_array_add (files, it->data);
  g_slist_free (l);

  if (files->len == 0)
    return FALSE;
  docent_window_import_files (self, (GFile **) files->pdata, files->len);
  return TRUE;
}

/* --- file choosers -------------------------------------------------------- */

static void
chooser_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     DocentWindow    *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (dialog));
      g_autoptr(GPtrArray) array = g_ptr_array_new_with_free_func (g_object_unref);
      guint n = g_list_model_get_n_items (files);

      for (guint i = 0; i < n; i++)
        g_ptr_array_add (array, g_list_model_get_item (files, i));
      docent_window_import_files (self, (GFile **) array->pdata, array->len);
    }
  g_clear_object (&self->chooser);
}

void
_docent_window_add_files (DocentWindow *self,
                          gboolean      folders)
{
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);

  /* GTK 4.8's chooser picks files or folders, not both. */
  self->chooser = gtk_file_chooser_native_new (folders ? _("Add Folder") : _("Add Files"),
                                               GTK_WINDOW (self),
                                               folders ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER
                                                       : GTK_FILE_CHOOSER_ACTION_OPEN,
                                               _("_Add"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (self->chooser), TRUE);
  if (!folders)
    {
      g_autoptr(GtkFileFilter) docs = gtk_file_filter_new ();
      g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();

      gtk_file_filter_set_name (docs, _("PDF and Text Files"));
      gtk_file_filter_add_mime_type (docs, "application/pdf");
      gtk_file_filter_add_mime_type (docs, "text/plain");
      gtk_file_filter_add_mime_type (docs, "text/markdown");
      gtk_file_filter_add_suffix (docs, "pdf");
      gtk_file_filter_add_suffix (docs, "txt");
      gtk_file_filter_add_suffix (docs, "md");
      gtk_file_filter_add_suffix (docs, "markdown");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), docs);
      gtk_file_filter_set_name (all, _("All Files"));
      gtk_file_filter_add_pattern (all, "*");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), all);
    }
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* --- progress ------------------------------------------------------------- */

static char *
format_eta (double seconds)
{
  if (seconds < 0)
    return NULL;
  if (seconds < 60)
    return g_strdup (_("less than a minute left"));
  if (seconds < 3600)
    {
      guint m = (guint) (seconds / 60 + 0.5);
      return g_strdup_printf (ngettext ("about %u minute left", "about %u minutes left", m), m);
    }
  {
    guint h = (guint) (seconds / 3600 + 0.5);
    return g_strdup_printf (ngettext ("about %u hour left", "about %u hours left", h), h);
  }
}

static void
import_started_cb (DocentWindow *self)
{
  if (!gtk_revealer_get_reveal_child (self->import_revealer))
    {
      self->import_failed = 0;
      self->import_imported = 0;
      self->import_skipped = 0;
      gtk_progress_bar_set_fraction (self->import_progress, 0);
      gtk_label_set_label (self->import_title, _("Importing…"));
      gtk_label_set_label (self->import_detail, "");
    }
  gtk_revealer_set_reveal_child (self->import_revealer, TRUE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-import", TRUE);
  _docent_window_update_state (self);
}

static void
import_progress_cb (DocentWindow               *self,
                    const DocentImportProgress *progress,
                    guint                       waiting)
{
  g_autofree char *title = NULL;
  g_autofree char *pages = NULL;
  g_autofree char *eta = NULL;
  g_autofree char *detail = NULL;
  double fraction = 0;

  if (progress->bytes_total > 0)
    fraction = (double) progress->bytes_done / progress->bytes_total;
  else if (progress->files_total > 0)
    fraction = (double) progress->files_done / progress->files_total;
  gtk_progress_bar_set_fraction (self->import_progress, CLAMP (fraction, 0, 1));

  /* Translators: "3 of 10 files done" */
  title = g_strdup_printf (ngettext ("Importing: %u of %u file done", "Importing: %u of %u files done", progress->files_total),
                           progress->files_done, progress->files_total);
  gtk_label_set_label (self->import_title, title);

  pages = g_strdup_printf (ngettext ("%u page", "%u pages", progress->pages_done), progress->pages_done);
  eta = format_eta (progress->eta_s);
  if (eta != NULL)
    detail = g_strdup_printf ("%s · %s", pages, eta);
  else
    detail = g_strdup (pages);
  if (waiting > 0)
    {
      g_autofree char *more = g_strdup_printf (ngettext ("%u more batch waiting", "%u more batches waiting", waiting), waiting);
      g_autofree char *tmp = g_strdup_printf ("%s · %s", detail, more);
      g_free (detail);
      detail = g_steal_pointer (&tmp);
    }
  gtk_label_set_label (self->import_detail, detail);
  if (progress->current != NULL)
    {
      g_autofree char *base = g_path_get_basename (progress->current);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->import_detail), base);
    }
}

static gboolean
pulse_cb (gpointer user_data)
{
  DocentWindow *self = user_data;

  gtk_progress_bar_pulse (self->import_progress);
  return G_SOURCE_CONTINUE;
}

static void
import_indexing_cb (DocentWindow *self)
{
  gtk_label_set_label (self->import_title, _("Indexing passages…"));
  gtk_label_set_label (self->import_detail, _("So that searches also find related wording"));
  gtk_progress_bar_set_pulse_step (self->import_progress, 0.1);
  if (self->pulse_source == 0)
    self->pulse_source = g_timeout_add (100, pulse_cb, self);
}

static void
rechunk_started_cb (DocentWindow *self)
{
  self->rechunking = TRUE;
  gtk_label_set_label (self->import_title, _("Re-cutting passages…"));
  gtk_label_set_label (self->import_detail, "");
}

static void
reembed_started_cb (DocentWindow *self)
{
  const char *model = docent_library_get_embedding_model (self->library);
  g_autofree char *name = model ? g_path_get_basename (model) : NULL;

  self->reembedding = TRUE;
  gtk_label_set_label (self->import_title, _("Indexing passages…"));
  gtk_label_set_label (self->import_detail, name ? name : _("Built-in embedder"));
  gtk_progress_bar_set_pulse_step (self->import_progress, 0.1);
  if (self->pulse_source == 0)
    self->pulse_source = g_timeout_add (100, pulse_cb, self);
}

static void
rechunk_progress_cb (DocentWindow                *self,
                     const DocentRechunkProgress *progress)
{
  g_autofree char *title = NULL;
  g_autofree char *eta = format_eta (progress->eta_s);
  double fraction = 0;

  /* Nothing to count yet (or nothing to re-cut): the bar keeps pulsing. */
  if ((progress->phase == DOCENT_RECHUNK_PHASE_SPLIT && progress->docs_total == 0) ||
      (progress->phase == DOCENT_RECHUNK_PHASE_EMBED && progress->chunks_total == 0))
    return;
  if (progress->phase == DOCENT_RECHUNK_PHASE_SPLIT)
    {
      /* Translators: documents cut again with the new passage settings */
      title = g_strdup_printf (ngettext ("Re-cutting passages: %u of %u document done",
                                         "Re-cutting passages: %u of %u documents done", progress->docs_total),
                               progress->docs_done, progress->docs_total);
      if (progress->docs_total > 0)
        fraction = (double) progress->docs_done / progress->docs_total;
    }
  else
    {
      title = g_strdup_printf (ngettext ("Indexing passages: %u of %u done",
                                         "Indexing passages: %u of %u done", progress->chunks_total),
                               progress->chunks_done, progress->chunks_total);
      if (progress->chunks_total > 0)
        fraction = (double) progress->chunks_done / progress->chunks_total;
    }
  gtk_label_set_label (self->import_title, title);
  if (self->reembedding)
    {
      /* Which model, and how long it will take once that is known. */
      const char *model = docent_library_get_embedding_model (self->library);
      g_autofree char *name = model ? g_path_get_basename (model) : g_strdup (_("Built-in embedder"));
      g_autofree char *detail = eta ? g_strdup_printf ("%s · %s", name, eta) : g_strdup (name);

      gtk_label_set_label (self->import_detail, detail);
    }
  else
    gtk_label_set_label (self->import_detail, eta ? eta : "");
  /* Vectors are written a round (thousands of passages) at a time: until
   * the first round is in, the bar pulses rather than sit at zero. */
  if (fraction <= 0)
    {
      if (self->pulse_source == 0)
        self->pulse_source = g_timeout_add (100, pulse_cb, self);
      return;
    }
  g_clear_handle_id (&self->pulse_source, g_source_remove);
  gtk_progress_bar_set_fraction (self->import_progress, CLAMP (fraction, 0, 1));
}

static void
import_file_done_cb (DocentWindow                 *self,
                     const DocentImportFileResult *result)
{
  if (result->outcome == DOCENT_IMPORT_FAILED && result->error_code != DOCENT_ERROR_ENCRYPTED)
    self->import_failed++;
  else if (result->outcome == DOCENT_IMPORT_IMPORTED)
    self->import_imported++;
  else if (result->outcome == DOCENT_IMPORT_SKIPPED)
    self->import_skipped++;
}

static gboolean
is_stopped (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
         g_error_matches (error, DOCENT_ERROR, DOCENT_ERROR_CANCELLED);
}

static void
import_finished_cb (DocentWindow *self,
                    GPtrArray    *results,
                    const GError *error)
{
  g_autofree char *message = NULL;

  g_clear_handle_id (&self->pulse_source, g_source_remove);
  if (docent_library_get_importing (self->library))
    return;

  gtk_revealer_set_reveal_child (self->import_revealer, FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-import", FALSE);

  if (self->reembedding)
    {
      self->reembedding = FALSE;
      if (error != NULL && is_stopped (error))
        message = g_strdup (_("Indexing stopped; it goes on the next time the library opens"));
      else if (error != NULL)
        message = g_strdup_printf (_("Indexing failed: %s"), error->message);
      else
        message = g_strdup (_("Passages indexed for the embedding model"));
      _docent_window_toast (self, message);
      _docent_window_update_state (self);
      if (error == NULL)
        _docent_window_rerun_query (self);
      return;
    }

  if (self->rechunking)
    {
      self->rechunking = FALSE;
      if (error != NULL && is_stopped (error))
        message = g_strdup (_("Re-cutting stopped; the rest keeps its old passages until you apply again"));
      else if (error != NULL)
        message = g_strdup_printf (_("Re-cutting failed: %s"), error->message);
      else
        message = g_strdup (_("Passages re-cut"));
      _docent_window_toast (self, message);
      _docent_window_update_state (self);
      return;
    }

  if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
      !g_error_matches (error, DOCENT_ERROR, DOCENT_ERROR_CANCELLED))
    message = g_strdup_printf (_("Import failed: %s"), error->message);
  else if (error != NULL)
    message = g_strdup (_("Import stopped"));
  else if (self->import_failed > 0)
    message = g_strdup_printf (ngettext ("%u file could not be imported",
                                         "%u files could not be imported",
                                         self->import_failed), self->import_failed);
  else if (self->import_imported > 0)
    message = g_strdup_printf (ngettext ("Imported %u file", "Imported %u files",
                                         self->import_imported), self->import_imported);
  else if (self->import_skipped > 0)
    message = g_strdup (_("Nothing new: these files are already in the library, or are not PDF or text files"));
  if (message != NULL)
    _docent_window_toast (self, message);
  _docent_window_update_state (self);
}

void
_docent_window_cancel_import (DocentWindow *self)
{
  docent_library_cancel_import (self->library);
}

/* --- passwords ------------------------------------------------------------ */

static void show_next_password_dialog (DocentWindow *self);

static void
password_response_cb (AdwMessageDialog *dialog,
                      const char       *response,
                      DocentWindow     *self)
{
  g_autofree char *path = g_queue_pop_head (&self->password_queue);
  GtkEditable *entry = g_object_get_data (G_OBJECT (dialog), "entry");

  if (g_strcmp0 (response, "import") == 0 && path != NULL)
    {
      const char *paths[] = { path, NULL };
      g_hash_table_add (self->password_tried, g_strdup (path));
      import_paths (self, paths, gtk_editable_get_text (entry));
    }
  gtk_editable_set_text (entry, "");
  self->password_dialog = NULL;
  show_next_password_dialog (self);
}

static void
password_entry_activate_cb (GtkEntry         *entry,
                            AdwMessageDialog *dialog)
{
  adw_message_dialog_response (dialog, "import");
}

static void
show_next_password_dialog (DocentWindow *self)
{
  const char *path = g_queue_peek_head (&self->password_queue);
  g_autofree char *name = NULL;
  g_autofree char *body = NULL;
  GtkWidget *dialog, *entry;

  if (path == NULL || self->password_dialog != NULL)
    return;

  name = g_path_get_basename (path);
  if (g_hash_table_contains (self->password_tried, path))
    body = g_strdup_printf (_("That password does not open “%s”. Try again."), name);
  else
    body = g_strdup_printf (_("“%s” is protected by a password. Enter it to import the document."), name);
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Password Required"), body);
  /* A plain entry: GtkPasswordEntry trips over its own teardown in GTK 4.8
   * when the dialog closes inside a response handler. */
  entry = gtk_entry_new ();
  gtk_entry_set_visibility (GTK_ENTRY (entry), FALSE);
  gtk_entry_set_input_purpose (GTK_ENTRY (entry), GTK_INPUT_PURPOSE_PASSWORD);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Password"), -1);
  g_signal_connect (entry, "activate", G_CALLBACK (password_entry_activate_cb), dialog);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Skip"),
                                    "import", _("_Import"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "import",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "import");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data (G_OBJECT (dialog), "entry", entry);
  g_signal_connect_object (dialog, "response", G_CALLBACK (password_response_cb), self, 0);

  self->password_dialog = ADW_MESSAGE_DIALOG (dialog);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (entry);
}

static void
password_needed_cb (DocentWindow *self,
                    const char   *path,
                    const char   *reason)
{
  for (GList *l = self->password_queue.head; l != NULL; l = l->next)
    if (g_strcmp0 (l->data, path) == 0)
      return;
  g_queue_push_tail (&self->password_queue, g_strdup (path));
  show_next_password_dialog (self);
}

/* --- sidebar rows --------------------------------------------------------- */

static void
show_in_folder_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GFile) file = user_data;
  g_autoptr(GVariant) ret = NULL;
  g_autoptr(GError) error = NULL;

  ret = g_dbus_connection_call_finish (G_DBUS_CONNECTION (object), result, &error);
  if (ret == NULL)
    {
      /* No file manager on the bus: open the folder instead. */
      g_autoptr(GFile) parent = g_file_get_parent (file);
      g_autofree char *uri = g_file_get_uri (parent);

      g_app_info_launch_default_for_uri_async (uri, NULL, NULL, NULL, NULL);
    }
}

static void
row_show_in_folder_cb (DocentDocumentRow *row,
                       DocentWindow      *self)
{
  DocentDocumentItem *item = docent_document_row_get_item (row);
  GFile *file = g_file_new_for_path (docent_document_item_get_path (item));
  g_autofree char *uri = g_file_get_uri (file);
  const char *uris[] = { uri, NULL };
  GApplication *app = g_application_get_default ();
  GDBusConnection *bus = app != NULL ? g_application_get_dbus_connection (app) : NULL;

  if (bus == NULL)
    {
      g_autoptr(GFile) parent = g_file_get_parent (file);
      g_autofree char *parent_uri = g_file_get_uri (parent);

      g_app_info_launch_default_for_uri_async (parent_uri, NULL, NULL, NULL, NULL);
      g_object_unref (file);
      return;
    }
  g_dbus_connection_call (bus,
                          "org.freedesktop.FileManager1",
                          "/org/freedesktop/FileManager1",
                          "org.freedesktop.FileManager1",
                          "ShowItems",
                          g_variant_new ("(^ass)", uris, ""),
                          NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                          show_in_folder_cb, file);
}

static void
row_remove_cb (DocentDocumentRow *row,
               DocentWindow      *self)
{
  DocentDocumentItem *item = docent_document_row_get_item (row);
  g_autofree char *message = g_strdup_printf (_("Removed “%s” from the library"),
                                              docent_document_item_get_title (item));

  if (docent_document_item_get_id (item) > 0)
    docent_library_remove (self->library, docent_document_item_get_id (item));
  else
    docent_library_dismiss_failure (self->library, docent_document_item_get_path (item));
  _docent_window_toast (self, message);
}

static void
collection_response_cb (AdwMessageDialog *dialog,
                        const char       *response,
                        DocentWindow     *self)
{
  GtkEditable *entry = g_object_get_data (G_OBJECT (dialog), "entry");
  gint64 id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (dialog), "doc-id"));
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (entry)));

  if (g_strcmp0 (response, "add") == 0 && name[0] != '\0' && self->library != NULL)
    docent_library_add_to_collection (self->library, id, name);
}

static void
collection_entry_activate_cb (GtkEntry         *entry,
                              AdwMessageDialog *dialog)
{
  adw_message_dialog_response (dialog, "add");
}

static void
row_add_to_collection_cb (DocentDocumentRow *row,
                          DocentWindow      *self)
{
  DocentDocumentItem *item = docent_document_row_get_item (row);
  const char * const *names = docent_library_get_collections (self->library);
  g_autofree char *body = g_strdup_printf (_("Collections group documents, so that a search can look in one group only. Add “%s” to:"),
                                           docent_document_item_get_title (item));
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Add to Collection"), body);
  GtkWidget *entry = gtk_entry_new ();

  /* The existing names, most likely the one wanted, are offered first. */
  if (names[0] != NULL)
    gtk_editable_set_text (GTK_EDITABLE (entry), names[0]);
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), _("Collection name"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Collection name"), -1);
  g_signal_connect (entry, "activate", G_CALLBACK (collection_entry_activate_cb), dialog);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "add", _("_Add"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "add", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "add");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data (G_OBJECT (dialog), "entry", entry);
  g_object_set_data (G_OBJECT (dialog), "doc-id", GSIZE_TO_POINTER ((gsize) docent_document_item_get_id (item)));
  g_signal_connect_object (dialog, "response", G_CALLBACK (collection_response_cb), self, 0);
  self->collection_dialog = ADW_MESSAGE_DIALOG (dialog);
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &self->collection_dialog);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
row_retry_cb (DocentDocumentRow *row,
              DocentWindow      *self)
{
  DocentDocumentItem *item = docent_document_row_get_item (row);
  const DocentDocument *doc = docent_document_item_get_document (item);
  const char *paths[] = { doc->path, NULL };

  import_paths (self, paths, NULL);
}

static void
setup_document_row (GtkSignalListItemFactory *factory,
                    GtkListItem              *list_item,
                    DocentWindow             *self)
{
  GtkWidget *row = docent_document_row_new ();

  g_signal_connect_object (row, "add-to-collection", G_CALLBACK (row_add_to_collection_cb), self, 0);
  g_signal_connect_object (row, "show-in-folder", G_CALLBACK (row_show_in_folder_cb), self, 0);
  g_signal_connect_object (row, "remove", G_CALLBACK (row_remove_cb), self, 0);
  g_signal_connect_object (row, "retry", G_CALLBACK (row_retry_cb), self, 0);
  gtk_list_item_set_child (list_item, row);
}

/* ---- grouping by collection ---------------------------------------------- */

/* The sidebar lists a document under each collection it belongs to, as
 * GNOME Music lists an album under each of its artists: every entry is the
 * document itself (the same DocentDocumentItem), so selecting any entry
 * filters by that document and remove or show in file manager act on it.
 * GTK 4.8's GtkListView has no section headers: the entries are kept in
 * group order in a list store of our own, with each position's group
 * beside it, and the first row of a group shows the group's name. A list
 * view takes an object once only, so each entry is a plain GObject that
 * holds the document's item ("item"). */

static DocentDocumentItem *
entry_item (gpointer entry)
{
  return entry ? g_object_get_data (entry, "item") : NULL;
}

DocentDocumentItem *
_docent_window_get_document_item (DocentWindow *self,
                                  guint         position)
{
  g_autoptr(GObject) entry = g_list_model_get_item (G_LIST_MODEL (self->documents_entries), position);

  return entry_item (entry);   /* the list store keeps both alive */
}

typedef struct {
  DocentDocumentItem *item;
  char               *group;       /* "" for none */
  char               *group_key;   /* collation keys */
  char               *title_key;
} Entry;

static void
entry_clear (gpointer data)
{
  Entry *e = data;

  g_free (e->group);
  g_free (e->group_key);
  g_free (e->title_key);
}

static int
compare_entries (gconstpointer a,
                 gconstpointer b)
{
  const Entry *x = a, *y = b;
  int c;

  /* Collections by name, then the documents in none. */
  if ((x->group[0] == '\0') != (y->group[0] == '\0'))
    return x->group[0] == '\0' ? 1 : -1;
  if ((c = strcmp (x->group_key, y->group_key)) != 0 || (c = strcmp (x->group, y->group)) != 0)
    return c;
  /* Titles as a file manager sorts names (file2 before file10). */
  if ((c = strcmp (x->title_key, y->title_key)) != 0)
    return c;
  return (docent_document_item_get_id (x->item) > docent_document_item_get_id (y->item)) -
         (docent_document_item_get_id (x->item) < docent_document_item_get_id (y->item));
}

static void
add_entry (GArray             *entries,
           DocentDocumentItem *item,
           const char         *group,
           gsize               len)
{
  Entry e = { item, g_strndup (group, len), NULL, NULL };

  e.group_key = g_utf8_collate_key (e.group, -1);
  e.title_key = g_utf8_collate_key_for_filename (docent_document_item_get_title (item), -1);
  g_array_append_val (entries, e);
}

/* "position\tgroup" keys of the selected entries, to select them again. */
static GHashTable *
dup_selected_keys (DocentWindow *self)
{
  GHashTable *keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GtkBitset) selected = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->documents_selection));
  GtkBitsetIter iter;
  guint position;

  for (gboolean ok = gtk_bitset_iter_init_first (&iter, selected, &position);
       ok;
       ok = gtk_bitset_iter_next (&iter, &position))
    {
      DocentDocumentItem *item = _docent_window_get_document_item (self, position);

      if (item != NULL && position < self->entry_groups->len)
        g_hash_table_add (keys, g_strdup_printf ("%" G_GINT64_FORMAT "\t%s", docent_document_item_get_id (item),
                                                 (const char *) self->entry_groups->pdata[position]));
    }
  return keys;
}

static gboolean
id_in_filter (DocentWindow *self,
              gint64        id)
{
  for (guint j = 0; j < self->filter_ids->len; j++)
    if (g_array_index (self->filter_ids, gint64, j) == id)
      return TRUE;
  return FALSE;
}

/* Rebuilds the entries from the library's documents when they or their
 * collections changed; otherwise leaves the rows (and selection) alone.
 * The entries selected before stay selected, and a selected document that
 * moved to another group is selected there. */
static void
regroup (DocentWindow *self)
{
  GListModel *docs = docent_library_get_documents (self->library);
  guint n_docs = g_list_model_get_n_items (docs);
  g_autoptr(GArray) entries = g_array_sized_new (FALSE, FALSE, sizeof (Entry), n_docs);
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) old_entries = NULL;
  g_autoptr(GHashTable) keys = NULL;
  g_autoptr(GHashTable) reselected = NULL;
  guint n_old = g_list_model_get_n_items (G_LIST_MODEL (self->documents_entries));
  gboolean same;

  g_array_set_clear_func (entries, entry_clear);
  for (guint i = 0; i < n_docs; i++)
    {
      g_autoptr(DocentDocumentItem) item = g_list_model_get_item (docs, i);
      const char *all = docent_document_item_get_collections (item);
      const char *p = all;

      /* The library joins a document's collections with ", ". */
      do
        {
          const char *comma = strstr (p, ", ");
          gsize len = comma ? (gsize) (comma - p) : strlen (p);

          add_entry (entries, item, p, len);   /* the list store keeps it alive */
          p = comma ? comma + 2 : NULL;
        }
      while (p != NULL);
    }
  g_array_sort (entries, compare_entries);

  same = entries->len == n_old;
  for (guint i = 0; same && i < entries->len; i++)
    {
      Entry *e = &g_array_index (entries, Entry, i);

      same = _docent_window_get_document_item (self, i) == e->item &&
             g_str_equal (self->entry_groups->pdata[i], e->group);
    }
  if (same)
    return;

  keys = dup_selected_keys (self);
  /* Entries that stay are the same objects, so their rows stay too. */
  old_entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  for (guint i = 0; i < n_old; i++)
    g_hash_table_insert (old_entries,
                         g_strdup_printf ("%p\t%s", (void *) _docent_window_get_document_item (self, i),
                                          (const char *) self->entry_groups->pdata[i]),
                         g_list_model_get_item (G_LIST_MODEL (self->documents_entries), i));
  for (guint i = 0; i < entries->len; i++)
    {
      Entry *e = &g_array_index (entries, Entry, i);
      g_autofree char *key = g_strdup_printf ("%p\t%s", (void *) e->item, e->group);
      GObject *entry = g_hash_table_lookup (old_entries, key);

      if (entry != NULL)
        g_object_ref (entry);
      else
        {
          entry = g_object_new (G_TYPE_OBJECT, NULL);
          g_object_set_data_full (entry, "item", g_object_ref (e->item), g_object_unref);
        }
      g_ptr_array_add (items, entry);
      g_ptr_array_add (groups, g_strdup (e->group));
    }
  self->regrouping = TRUE;
  g_ptr_array_unref (self->entry_groups);
  self->entry_groups = g_steal_pointer (&groups);
  g_list_store_splice (self->documents_entries, 0, n_old, items->pdata, items->len);

  /* The selection goes back where it was; a selected document that no
   * longer has that entry (another group now) gets its first one. */
  reselected = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  for (guint i = 0; i < entries->len; i++)
    {
      Entry *e = &g_array_index (entries, Entry, i);
      g_autofree char *key = g_strdup_printf ("%" G_GINT64_FORMAT "\t%s", docent_document_item_get_id (e->item), e->group);
      gint64 *id = g_new (gint64, 1);

      *id = docent_document_item_get_id (e->item);
      if (g_hash_table_contains (keys, key) && id_in_filter (self, *id))
        {
          gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->documents_selection), i, FALSE);
          g_hash_table_add (reselected, id);
        }
      else
        g_free (id);
    }
  for (guint i = 0; i < entries->len; i++)
    {
      Entry *e = &g_array_index (entries, Entry, i);
      gint64 id = docent_document_item_get_id (e->item);

      if (id > 0 && id_in_filter (self, id) && !g_hash_table_contains (reselected, &id))
        {
          gint64 *copy = g_memdup2 (&id, sizeof id);

          gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->documents_selection), i, FALSE);
          g_hash_table_add (reselected, copy);
        }
    }
  self->regrouping = FALSE;
}

/* The header the row at @position starts, or NULL: the first row of each
 * group names it; a library without collections has no headers. */
static char *
dup_header_at (DocentWindow *self,
               guint         position)
{
  const char * const *collections = docent_library_get_collections (self->library);
  const char *group;

  if (collections == NULL || collections[0] == NULL || position >= self->entry_groups->len)
    return NULL;
  group = self->entry_groups->pdata[position];
  if (position > 0 && g_str_equal (self->entry_groups->pdata[position - 1], group))
    return NULL;
  return group[0] ? g_strdup (group) : g_strdup (_("Other Documents"));
}

static void
update_row_header (DocentWindow *self,
                   GtkListItem  *list_item)
{
  g_autofree char *header = dup_header_at (self, gtk_list_item_get_position (list_item));

  docent_document_row_set_header (DOCENT_DOCUMENT_ROW (gtk_list_item_get_child (list_item)), header);
}

/* Rows are bound once; a row whose neighbour changed needs its header
 * looked at again. */
static void
refresh_headers (DocentWindow *self)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->documents_list));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *row = gtk_widget_get_first_child (child);
      GtkListItem *list_item = row ? g_object_get_data (G_OBJECT (row), "list-item") : NULL;

      if (DOCENT_IS_DOCUMENT_ROW (row) && list_item != NULL &&
          docent_document_row_get_item (DOCENT_DOCUMENT_ROW (row)) != NULL)
        update_row_header (self, list_item);
    }
}

static void
bind_document_row (GtkSignalListItemFactory *factory,
                   GtkListItem              *list_item,
                   DocentWindow             *self)
{
  GtkWidget *row = gtk_list_item_get_child (list_item);

  docent_document_row_set_item (DOCENT_DOCUMENT_ROW (row), entry_item (gtk_list_item_get_item (list_item)));
  g_object_set_data (G_OBJECT (row), "list-item", list_item);
  update_row_header (self, list_item);
}

static void
unbind_document_row (GtkSignalListItemFactory *factory,
                     GtkListItem              *list_item,
                     DocentWindow             *self)
{
  docent_document_row_set_item (DOCENT_DOCUMENT_ROW (gtk_list_item_get_child (list_item)), NULL);
  g_object_set_data (G_OBJECT (gtk_list_item_get_child (list_item)), "list-item", NULL);
}

static void documents_changed_cb (DocentWindow *self);

/* Collections are known after a listing; titles change as files import. */
static void
documents_loaded_cb (DocentWindow *self)
{
  regroup (self);
  refresh_headers (self);
}

static void
documents_changed_cb (DocentWindow *self)
{
  regroup (self);
  refresh_headers (self);
  _docent_window_update_state (self);
}

void
_docent_window_bind_library (DocentWindow *self)
{
  GListModel *docs = docent_library_get_documents (self->library);

  g_clear_object (&self->documents_selection);
  g_clear_object (&self->documents_entries);
  g_clear_pointer (&self->entry_groups, g_ptr_array_unref);
  self->documents_entries = g_list_store_new (G_TYPE_OBJECT);
  self->entry_groups = g_ptr_array_new_with_free_func (g_free);
  self->documents_selection = gtk_multi_selection_new (g_object_ref (G_LIST_MODEL (self->documents_entries)));
  regroup (self);
  g_signal_connect_object (self->documents_selection, "selection-changed",
                           G_CALLBACK (_docent_window_documents_selection_changed), self, G_CONNECT_SWAPPED);
  gtk_list_view_set_model (self->documents_list, GTK_SELECTION_MODEL (self->documents_selection));
  g_signal_connect_object (docs, "items-changed", G_CALLBACK (documents_changed_cb), self,
                           G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_object (self->library, "notify::loaded", G_CALLBACK (_docent_window_update_state), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->library, "documents-loaded", G_CALLBACK (_docent_window_update_state), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->library, "documents-loaded", G_CALLBACK (documents_loaded_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->library, "import-started", G_CALLBACK (import_started_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->library, "import-progress", G_CALLBACK (import_progress_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->library, "import-file-done", G_CALLBACK (import_file_done_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->library, "import-indexing", G_CALLBACK (import_indexing_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->library, "import-finished", G_CALLBACK (import_finished_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->library, "rechunk-started", G_CALLBACK (rechunk_started_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->library, "reembed-started", G_CALLBACK (reembed_started_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->library, "rechunk-progress", G_CALLBACK (rechunk_progress_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->library, "password-needed", G_CALLBACK (password_needed_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_revealer_set_reveal_child (self->import_revealer, FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-import", FALSE);
}

void
_docent_window_init_import (DocentWindow *self)
{
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();

  g_signal_connect (factory, "setup", G_CALLBACK (setup_document_row), self);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_document_row), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_document_row), self);
  gtk_list_view_set_factory (self->documents_list, factory);

  g_queue_init (&self->password_queue);
  self->password_tried = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  /* Files and folders dropped anywhere on the window. */
  self->drop_target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (self->drop_target, "drop", G_CALLBACK (_docent_window_drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->leaflet), GTK_EVENT_CONTROLLER (self->drop_target));
}

void
_docent_window_dispose_import (DocentWindow *self)
{
  g_clear_handle_id (&self->pulse_source, g_source_remove);
  g_queue_clear_full (&self->password_queue, g_free);
  if (self->collection_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->collection_dialog));
  g_clear_pointer (&self->password_tried, g_hash_table_unref);
  if (self->password_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->password_dialog));
  self->password_dialog = NULL;
}
