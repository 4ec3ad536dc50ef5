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
rechunk_progress_cb (DocentWindow                *self,
                     const DocentRechunkProgress *progress)
{
  g_autofree char *title = NULL;
  g_autofree char *eta = format_eta (progress->eta_s);
  double fraction = 0;

  g_clear_handle_id (&self->pulse_source, g_source_remove);
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
  gtk_label_set_label (self->import_detail, eta ? eta : "");
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

  if (self->rechunking)
    {
      gboolean stopped = error != NULL && (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
                                           g_error_matches (error, DOCENT_ERROR, DOCENT_ERROR_CANCELLED));

      self->rechunking = FALSE;
      if (stopped)
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

/* A document's group: its first collection, "" for none. */
static char *
dup_group (DocentDocumentItem *item)
{
  const char *all = docent_document_item_get_collections (item);
  const char *comma = strstr (all, ", ");

  return comma ? g_strndup (all, comma - all) : g_strdup (all);
}

/* The header the row at @position starts, or NULL: the first row of each
 * group names it; a library without collections has no headers. */
static char *
dup_header_at (DocentWindow *self,
               guint         position)
{
  GListModel *model = G_LIST_MODEL (self->documents_selection);
  const char * const *collections = docent_library_get_collections (self->library);
  g_autoptr(DocentDocumentItem) item = NULL;
  g_autofree char *group = NULL;

  if (collections == NULL || collections[0] == NULL || position == GTK_INVALID_LIST_POSITION)
    return NULL;
  item = g_list_model_get_item (model, position);
  if (item == NULL)
    return NULL;
  group = dup_group (item);
  if (position > 0)
    {
      g_autoptr(DocentDocumentItem) prev = g_list_model_get_item (model, position - 1);
      g_autofree char *prev_group = prev ? dup_group (prev) : NULL;

      if (g_strcmp0 (prev_group, group) == 0)
        return NULL;
    }
  return group[0] ? g_steal_pointer (&group) : g_strdup (_("Other Documents"));
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

  docent_document_row_set_item (DOCENT_DOCUMENT_ROW (row), gtk_list_item_get_item (list_item));
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

static int
compare_documents (gconstpointer a,
                   gconstpointer b,
                   gpointer      user_data)
{
  DocentDocumentItem *x = (DocentDocumentItem *) a;
  DocentDocumentItem *y = (DocentDocumentItem *) b;
  g_autofree char *gx = dup_group (x);
  g_autofree char *gy = dup_group (y);
  g_autofree char *kx = NULL, *ky = NULL;
  int c;

  /* Collections by name, then the documents in none. */
  if ((gx[0] == '\0') != (gy[0] == '\0'))
    return gx[0] == '\0' ? 1 : -1;
  if (strcmp (gx, gy) != 0)
    {
      g_autofree char *cx = g_utf8_collate_key (gx, -1);
      g_autofree char *cy = g_utf8_collate_key (gy, -1);
      c = strcmp (cx, cy);
      if (c != 0)
        return c;
      return strcmp (gx, gy);
    }
  kx = g_utf8_collate_key_for_filename (docent_document_item_get_title (x), -1);
  ky = g_utf8_collate_key_for_filename (docent_document_item_get_title (y), -1);
  c = strcmp (kx, ky);

  if (c == 0)
    c = (docent_document_item_get_id (x) > docent_document_item_get_id (y)) -
        (docent_document_item_get_id (x) < docent_document_item_get_id (y));
  return c;
}

static void documents_changed_cb (DocentWindow *self);

/* Collections are known after a listing: when a document changed group,
 * sort again (the custom sorter cannot see it), keeping the selection. */
static void
documents_loaded_cb (DocentWindow *self)
{
  GListModel *docs = docent_library_get_documents (self->library);
  g_autoptr(GString) signature = g_string_new (NULL);

  for (guint i = 0; i < g_list_model_get_n_items (docs); i++)
    {
      g_autoptr(DocentDocumentItem) item = g_list_model_get_item (docs, i);
      g_string_append_printf (signature, "%" G_GINT64_FORMAT ":%s\n",
                              docent_document_item_get_id (item),
                              docent_document_item_get_collections (item));
    }
  if (g_strcmp0 (signature->str, self->groups_signature) != 0)
    {
      g_free (self->groups_signature);
      self->groups_signature = g_strdup (signature->str);
      self->regrouping = TRUE;
      gtk_sorter_changed (self->documents_sorter, GTK_SORTER_CHANGE_DIFFERENT);
      self->regrouping = FALSE;
      documents_changed_cb (self);
    }
  refresh_headers (self);
}

static void
documents_changed_cb (DocentWindow *self)
{
  GListModel *model = G_LIST_MODEL (self->documents_selection);
  guint n = g_list_model_get_n_items (model);

  /* Rows a refresh replaced lost their selection: give it back. */
  if (self->filter_ids->len > 0)
    for (guint i = 0; i < n; i++)
      {
        g_autoptr(DocentDocumentItem) item = g_list_model_get_item (model, i);
        gint64 id = docent_document_item_get_id (item);

        for (guint j = 0; j < self->filter_ids->len; j++)
          if (g_array_index (self->filter_ids, gint64, j) == id &&
              !gtk_selection_model_is_selected (GTK_SELECTION_MODEL (self->documents_selection), i))
            gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->documents_selection), i, FALSE);
      }
  refresh_headers (self);
  _docent_window_update_state (self);
}

void
_docent_window_bind_library (DocentWindow *self)
{
  GListModel *docs = docent_library_get_documents (self->library);

  g_clear_object (&self->documents_selection);
  g_clear_pointer (&self->groups_signature, g_free);
  {
    /* By collection, then by title as a file manager sorts names (file2
     * before file10). */
    GtkSorter *sorter = GTK_SORTER (gtk_custom_sorter_new (compare_documents, NULL, NULL));
    GtkSortListModel *sorted = gtk_sort_list_model_new (g_object_ref (docs), sorter);

    self->documents_sorter = sorter;   /* owned by the model */

    self->documents_selection = gtk_multi_selection_new (G_LIST_MODEL (sorted));
  }
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
