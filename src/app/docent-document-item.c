/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-document-item"
#include "config.h"

#include "docent-document-item.h"

struct _DocentDocumentItem
{
  GObject         parent_instance;
  DocentDocument *doc;
  char           *collections;
  guint           busy : 1;
};

G_DEFINE_FINAL_TYPE (DocentDocumentItem, docent_document_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_DOCUMENT,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
docent_document_item_finalize (GObject *object)
{
  DocentDocumentItem *self = DOCENT_DOCUMENT_ITEM (object);

  g_clear_pointer (&self->doc, docent_document_free);
  g_clear_pointer (&self->collections, g_free);
  G_OBJECT_CLASS (docent_document_item_parent_class)->finalize (object);
}

static void
docent_document_item_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  DocentDocumentItem *self = DOCENT_DOCUMENT_ITEM (object);

  switch (prop_id)
    {
    case PROP_DOCUMENT:
      g_value_set_pointer (value, self->doc);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
docent_document_item_class_init (DocentDocumentItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = docent_document_item_finalize;
  object_class->get_property = docent_document_item_get_property;

  properties[PROP_DOCUMENT] =
    g_param_spec_pointer ("document", NULL, NULL,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
docent_document_item_init (DocentDocumentItem *self)
{
}

DocentDocumentItem *
docent_document_item_new (const DocentDocument *doc)
{
  DocentDocumentItem *self;

  g_return_val_if_fail (doc != NULL, NULL);

  self = g_object_new (DOCENT_TYPE_DOCUMENT_ITEM, NULL);
  self->doc = docent_document_copy (doc);
  return self;
}

const DocentDocument *
docent_document_item_get_document (DocentDocumentItem *self)
{
  g_return_val_if_fail (DOCENT_IS_DOCUMENT_ITEM (self), NULL);
  return self->doc;
}

gint64
docent_document_item_get_id (DocentDocumentItem *self)
{
  g_return_val_if_fail (DOCENT_IS_DOCUMENT_ITEM (self), 0);
  return self->doc->id;
}

const char *
docent_document_item_get_path (DocentDocumentItem *self)
{
  g_return_val_if_fail (DOCENT_IS_DOCUMENT_ITEM (self), NULL);
  return self->doc->path;
}

const char *
docent_document_item_get_title (DocentDocumentItem *self)
{
  g_return_val_if_fail (DOCENT_IS_DOCUMENT_ITEM (self), NULL);

  if (self->doc->title != NULL && self->doc->title[0] != '\0')
    return self->doc->title;
  if (self->doc->name != NULL)
    return self->doc->name;
  return self->doc->path;
}

DocentDocStatus
docent_document_item_get_status (DocentDocumentItem *self)
{
  g_return_val_if_fail (DOCENT_IS_DOCUMENT_ITEM (self), DOCENT_DOC_STATUS_FAILED);
  return self->doc->status;
}

gboolean
docent_document_item_get_busy (DocentDocumentItem *self)
{
  g_return_val_if_fail (DOCENT_IS_DOCUMENT_ITEM (self), FALSE);
  return self->busy;
}

const char *
docent_document_item_get_collections (DocentDocumentItem *self)
{
  g_return_val_if_fail (DOCENT_IS_DOCUMENT_ITEM (self), "");
  return self->collections ? self->collections : "";
}

void
docent_document_item_set_collections (DocentDocumentItem *self,
                                      const char         *collections)
{
  g_return_if_fail (DOCENT_IS_DOCUMENT_ITEM (self));

  if (g_strcmp0 (docent_document_item_get_collections (self), collections ? collections : "") == 0)
    return;
  g_free (self->collections);
  self->collections = g_strdup (collections);
  /* Rows redraw on "document" too; a separate property is not needed. */
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DOCUMENT]);
}

void
docent_document_item_set_busy (DocentDocumentItem *self,
                               gboolean            busy)
{
  g_return_if_fail (DOCENT_IS_DOCUMENT_ITEM (self));

  busy = !!busy;
  if (self->busy == busy)
    return;
  self->busy = busy;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static gboolean
documents_equal (const DocentDocument *a,
                 const DocentDocument *b)
{
  return a->id == b->id &&
         a->status == b->status &&
         a->pages == b->pages &&
         a->chunks == b->chunks &&
         a->mtime == b->mtime &&
         g_strcmp0 (a->path, b->path) == 0 &&
         g_strcmp0 (a->title, b->title) == 0 &&
         g_strcmp0 (a->error, b->error) == 0;
}

void
docent_document_item_update (DocentDocumentItem   *self,
                             const DocentDocument *doc)
{
  g_return_if_fail (DOCENT_IS_DOCUMENT_ITEM (self));
  g_return_if_fail (doc != NULL);

  if (documents_equal (self->doc, doc))
    return;
  docent_document_free (self->doc);
  self->doc = docent_document_copy (doc);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DOCUMENT]);
}
