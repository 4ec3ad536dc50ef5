/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "docent-citation-view.h"
#include "docent-library.h"
#include "docent-window.h"

G_BEGIN_DECLS

struct _DocentWindow
{
  AdwApplicationWindow parent_instance;

  GSettings          *settings;
  DocentLibrary      *library;
  GtkDropTarget      *drop_target;
  GtkFileChooserNative *chooser;

  /* the query on screen */
  GCancellable       *search_cancellable;
  char               *query;
  gboolean            query_is_question;
  GPtrArray          *results;          /* DocentSearchResult*, rows borrow them */
  char               *answer_text;      /* plain text with [n] markers */
  DocentAnswer       *answer;           /* the core's extractive answer, or NULL */
  GArray             *filter_ids;       /* gint64: selected documents */
  GSimpleAction      *filter_type;      /* "all" "pdf" "text" */
  GSimpleAction      *filter_added;     /* "any" "day" "week" "month" */
  GSimpleAction      *filter_collection; /* name, or "" for any */
  GMenu              *filter_menu;
  GtkSpinButton      *page_first_spin;  /* 0: open */
  GtkSpinButton      *page_last_spin;
  int                 collections_section_index;
  char               *collections_shown;

  /* import */
  GQueue              password_queue;   /* char* paths waiting for a password */
  AdwMessageDialog   *password_dialog;
  AdwMessageDialog   *collection_dialog;  /* weak */
  GHashTable         *password_tried;   /* paths a password was given for */
  guint               import_failed;
  gboolean            rechunking;     /* the import box shows a re-cut */
  gboolean            reembedding;    /* or the library embedded for a model */
  guint               import_imported;
  guint               import_skipped;
  gboolean            first_frame_seen;
  guint               pulse_source;
  guint               typing_source;

  /* template */
  AdwToastOverlay    *toast_overlay;
  AdwLeaflet         *leaflet;
  GtkWidget          *sidebar;
  GtkWidget          *content;
  GtkStack           *sidebar_stack;
  GtkListView        *documents_list;
  GtkMultiSelection  *documents_selection;
  GListStore         *documents_entries;  /* a document under each of its groups */
  GPtrArray          *entry_groups;       /* each entry's group ("" for none) */
  gboolean            regrouping;         /* rebuilding entries: keep filter_ids */
  GtkRevealer        *filter_revealer;
  GtkLabel           *filter_label;
  GtkRevealer        *import_revealer;
  GtkLabel           *import_title;
  GtkProgressBar     *import_progress;
  GtkLabel           *import_detail;
  GtkWidget          *back_button;
  AdwWindowTitle     *window_title;
  GtkStack           *main_stack;
  GtkStack           *results_stack;
  GtkSpinner         *busy_spinner;
  GtkEntry           *query_entry;
  GtkWidget          *answer_box;
  GtkLabel           *answer_label;
  GtkLabel           *answer_note;
  GtkLabel           *results_heading;
  GtkMenuButton      *filter_button;
  AdwStatusPage      *error_page;
  GtkListBox         *results_list;
  GtkScrolledWindow  *results_scroller;
  DocentCitationView *citation_view;
};

/* docent-window-import.c */
void _docent_window_init_import   (DocentWindow *self);
void _docent_window_bind_library  (DocentWindow *self);
void _docent_window_dispose_import (DocentWindow *self);
void _docent_window_add_files     (DocentWindow *self,
                                   gboolean      folders);
gboolean _docent_window_drop_cb   (GtkDropTarget *target,
                                   const GValue  *value,
                                   double         x,
                                   double         y,
                                   DocentWindow  *self);
void _docent_window_cancel_import (DocentWindow *self);

/* docent-window.c */
void _docent_window_update_state  (DocentWindow *self);
void _docent_window_rerun_query   (DocentWindow *self);
void _docent_window_documents_selection_changed (DocentWindow *self);
void _docent_window_toast         (DocentWindow *self,
                                   const char   *message);

/* For tests: the pieces a person would click on. */
GtkDropTarget      *_docent_window_get_drop_target   (DocentWindow *self);
DocentLibrary      *_docent_window_get_library       (DocentWindow *self);
DocentCitationView *_docent_window_get_citation_view (DocentWindow *self);
GtkListBox         *_docent_window_get_results_list  (DocentWindow *self);
GtkSelectionModel  *_docent_window_get_documents_selection (DocentWindow *self);
/* The document of the sidebar's entry at @position (one per collection it
 * is in), or NULL. */
DocentDocumentItem *_docent_window_get_document_item (DocentWindow *self,
                                                      guint         position);
/* The sidebar row widget showing @position, if it is realized (on screen). */
GtkWidget          *_docent_window_get_document_row  (DocentWindow *self,
                                                      guint         position);
GtkEntry           *_docent_window_get_query_entry   (DocentWindow *self);
const char         *_docent_window_get_page_name     (DocentWindow *self);
gboolean            _docent_window_get_searching     (DocentWindow *self);
/* The documents a search may use, or NULL for all of them. */
GArray             *_docent_window_dup_search_ids    (DocentWindow *self);

G_END_DECLS
