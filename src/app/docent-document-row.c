/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-document-row"
#include "config.h"

#include <glib/gi18n.h>

#include "docent-document-row.h"

struct _DocentDocumentRow
{
  GtkWidget           parent_instance;

  DocentDocumentItem *item;
  gulong              notify_id;
  GtkWidget          *outer;     /* the group header above the row proper */
  GtkLabel           *header;
  GtkWidget          *box;
  GtkImage           *icon;
  GtkLabel           *title;
  GtkLabel           *status;
  GtkSpinner         *spinner;
  GtkImage           *warning;
  GtkWidget          *retry_button;
  GtkMenuButton      *menu_button;
};

G_DEFINE_FINAL_TYPE (DocentDocumentRow, docent_document_row, GTK_TYPE_WIDGET)

enum {
  ADD_TO_COLLECTION,
  SHOW_IN_FOLDER,
  REMOVE,
  RETRY,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
update (DocentDocumentRow *self)
{
  const DocentDocument *doc;

  if (self->item == NULL)
    return;
  doc = docent_document_item_get_document (self->item);
  gboolean busy = docent_document_item_get_busy (self->item) ||
                  doc->status == DOCENT_DOC_STATUS_IMPORTING;
  g_autofree char *status = NULL;
  g_autofree char *tooltip = NULL;
  gboolean failed = doc->status == DOCENT_DOC_STATUS_FAILED;

  gtk_image_set_from_icon_name (self->icon, doc->type == DOCENT_DOC_TYPE_PDF
                                            ? "x-office-document-symbolic"
                                            : "text-x-generic-symbolic");
  gtk_label_set_label (self->title, docent_document_item_get_title (self->item));

  gtk_widget_remove_css_class (GTK_WIDGET (self->status), "error");
  gtk_widget_remove_css_class (GTK_WIDGET (self->status), "warning");

  switch (doc->status)
    {
    case DOCENT_DOC_STATUS_IMPORTING:
      if (doc->pages > 0)
        status = g_strdup_printf (ngettext ("Importing… %u page", "Importing… %u pages", doc->pages), doc->pages);
      else
        status = g_strdup (_("Importing…"));
      break;
    case DOCENT_DOC_STATUS_READY:
      if (doc->type == DOCENT_DOC_TYPE_PDF)
        status = g_strdup_printf (ngettext ("%u page", "%u pages", doc->pages), doc->pages);
      else
        status = g_strdup (_("Text"));
      break;
    case DOCENT_DOC_STATUS_NO_TEXT_LAYER:
      status = g_strdup (_("No text layer: scanned pages cannot be searched"));
      gtk_widget_add_css_class (GTK_WIDGET (self->status), "warning");
      break;
    case DOCENT_DOC_STATUS_FAILED:
    default:
      {
        /* The row already names the file; the reason need not repeat its path. */
        g_autoptr(GString) reason = g_string_new (doc->error ? doc->error : _("unknown error"));
        if (doc->path != NULL && doc->name != NULL)
          g_string_replace (reason, doc->path, doc->name, 0);
        status = g_strdup_printf (_("Failed: %s"), reason->str);
      }
      gtk_widget_add_css_class (GTK_WIDGET (self->status), "error");
      break;
    }
  if (doc->status == DOCENT_DOC_STATUS_READY && docent_document_item_get_collections (self->item)[0] != '\0')
    {
      /* Translators: a document's status, then the collections it is in */
      char *with = g_strdup_printf (_("%s · %s"), status, docent_document_item_get_collections (self->item));
      g_free (status);
      status = with;
    }
  gtk_label_set_label (self->status, status);
  /* A failure reason says what to do; let it wrap instead of cutting it. */
  gtk_label_set_wrap (self->status, failed || doc->status == DOCENT_DOC_STATUS_NO_TEXT_LAYER);
  gtk_label_set_lines (self->status, 4);

  tooltip = g_strdup_printf ("%s\n%s", doc->path ? doc->path : "", status);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self), tooltip);

  gtk_spinner_set_spinning (self->spinner, busy);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), busy);
  gtk_widget_set_visible (GTK_WIDGET (self->warning),
                          !busy && doc->status == DOCENT_DOC_STATUS_NO_TEXT_LAYER);
  gtk_widget_set_visible (self->retry_button, !busy && failed);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "row.retry", failed && !busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "row.remove", doc->id > 0 || failed);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "row.add-to-collection", doc->id > 0);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, docent_document_item_get_title (self->item),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, status,
                                  -1);
}

static void
row_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *param)
{
  DocentDocumentRow *self = DOCENT_DOCUMENT_ROW (widget);

  if (g_str_equal (action_name, "row.add-to-collection"))
    g_signal_emit (self, signals[ADD_TO_COLLECTION], 0);
  else if (g_str_equal (action_name, "row.show-in-folder"))
    g_signal_emit (self, signals[SHOW_IN_FOLDER], 0);
  else if (g_str_equal (action_name, "row.remove"))
    g_signal_emit (self, signals[REMOVE], 0);
  else if (g_str_equal (action_name, "row.retry"))
    g_signal_emit (self, signals[RETRY], 0);
}

static void
docent_document_row_dispose (GObject *object)
{
  DocentDocumentRow *self = DOCENT_DOCUMENT_ROW (object);

  docent_document_row_set_item (self, NULL);
  g_clear_pointer (&self->outer, gtk_widget_unparent);
  G_OBJECT_CLASS (docent_document_row_parent_class)->dispose (object);
}

static void
docent_document_row_class_init (DocentDocumentRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = docent_document_row_dispose;

  signals[ADD_TO_COLLECTION] =
    g_signal_new ("add-to-collection", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SHOW_IN_FOLDER] =
    g_signal_new ("show-in-folder", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[REMOVE] =
    g_signal_new ("remove", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[RETRY] =
    g_signal_new ("retry", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_install_action (widget_class, "row.add-to-collection", NULL, row_action);
  gtk_widget_class_install_action (widget_class, "row.show-in-folder", NULL, row_action);
  gtk_widget_class_install_action (widget_class, "row.remove", NULL, row_action);
  gtk_widget_class_install_action (widget_class, "row.retry", NULL, row_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, 0, "row.remove", NULL);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
docent_document_row_init (DocentDocumentRow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 10);
  GtkWidget *labels = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  g_autoptr(GMenu) menu = g_menu_new ();

  gtk_widget_add_css_class (GTK_WIDGET (self), "document-row");

  self->icon = GTK_IMAGE (gtk_image_new ());
  gtk_widget_set_valign (GTK_WIDGET (self->icon), GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->icon));

  self->title = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->title, 0);
  gtk_label_set_ellipsize (self->title, PANGO_ELLIPSIZE_MIDDLE);
  self->status = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->status, 0);
  gtk_label_set_ellipsize (self->status, PANGO_ELLIPSIZE_END);
  gtk_label_set_wrap_mode (self->status, PANGO_WRAP_WORD_CHAR);
  gtk_widget_add_css_class (GTK_WIDGET (self->status), "status");
  gtk_widget_add_css_class (GTK_WIDGET (self->status), "dim-label");
  gtk_box_append (GTK_BOX (labels), GTK_WIDGET (self->title));
  gtk_box_append (GTK_BOX (labels), GTK_WIDGET (self->status));
  gtk_widget_set_hexpand (labels, TRUE);
  gtk_widget_set_valign (labels, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (box), labels);

  self->spinner = GTK_SPINNER (gtk_spinner_new ());
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->spinner));
  self->warning = GTK_IMAGE (gtk_image_new_from_icon_name ("dialog-warning-symbolic"));
  gtk_widget_add_css_class (GTK_WIDGET (self->warning), "warning");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->warning));

  self->retry_button = gtk_button_new_from_icon_name ("view-refresh-symbolic");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->retry_button), "row.retry");
  gtk_widget_set_valign (self->retry_button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (self->retry_button, "flat");
  gtk_widget_set_tooltip_text (self->retry_button, _("Retry Import"));
  gtk_box_append (GTK_BOX (box), self->retry_button);

  g_menu_append (menu, _("Add to _Collection…"), "row.add-to-collection");
  g_menu_append (menu, _("_Show in File Manager"), "row.show-in-folder");
  g_menu_append (menu, _("_Retry Import"), "row.retry");
  g_menu_append (menu, _("_Remove from Library"), "row.remove");
  self->menu_button = GTK_MENU_BUTTON (gtk_menu_button_new ());
  gtk_menu_button_set_icon_name (self->menu_button, "view-more-symbolic");
  gtk_menu_button_set_menu_model (self->menu_button, G_MENU_MODEL (menu));
  gtk_widget_set_valign (GTK_WIDGET (self->menu_button), GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (GTK_WIDGET (self->menu_button), "flat");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->menu_button), _("Document Menu"));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->menu_button));

  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  self->box = box;

  /* GTK 4.8's list view has no section headers: the first row of each
   * collection carries its group's name. */
  self->outer = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  self->header = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->header, 0);
  gtk_label_set_ellipsize (self->header, PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (GTK_WIDGET (self->header), "heading");
  gtk_widget_add_css_class (GTK_WIDGET (self->header), "group-header");
  gtk_widget_set_visible (GTK_WIDGET (self->header), FALSE);
  gtk_box_append (GTK_BOX (self->outer), GTK_WIDGET (self->header));
  gtk_box_append (GTK_BOX (self->outer), box);
  gtk_widget_set_parent (self->outer, GTK_WIDGET (self));
}

GtkWidget *
docent_document_row_new (void)
{
  return g_object_new (DOCENT_TYPE_DOCUMENT_ROW, NULL);
}

void
docent_document_row_set_item (DocentDocumentRow  *self,
                              DocentDocumentItem *item)
{
  g_return_if_fail (DOCENT_IS_DOCUMENT_ROW (self));
  g_return_if_fail (item == NULL || DOCENT_IS_DOCUMENT_ITEM (item));

  if (self->item == item)
    return;
  if (self->item != NULL)
    g_clear_signal_handler (&self->notify_id, self->item);
  g_set_object (&self->item, item);
  if (item != NULL)
    {
      self->notify_id = g_signal_connect_swapped (item, "notify", G_CALLBACK (update), self);
      update (self);
    }
}

DocentDocumentItem *
docent_document_row_get_item (DocentDocumentRow *self)
{
  g_return_val_if_fail (DOCENT_IS_DOCUMENT_ROW (self), NULL);
  return self->item;
}

void
docent_document_row_set_header (DocentDocumentRow *self,
                                const char        *header)
{
  g_return_if_fail (DOCENT_IS_DOCUMENT_ROW (self));

  gtk_label_set_label (self->header, header ? header : "");
  gtk_widget_set_visible (GTK_WIDGET (self->header), header != NULL);
}

const char *
docent_document_row_get_header (DocentDocumentRow *self)
{
  g_return_val_if_fail (DOCENT_IS_DOCUMENT_ROW (self), NULL);
  return gtk_widget_get_visible (GTK_WIDGET (self->header)) ? gtk_label_get_label (self->header) : NULL;
}
