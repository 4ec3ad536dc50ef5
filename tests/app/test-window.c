/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The window under Xvfb, driven the way a person would: files dropped on it,
 * a question typed, a source clicked, the settings opened. Screenshots of
 * every state go to $G_TEST_BUILDDIR/screenshots/. */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <signal.h>
#include <sys/wait.h>
#include <sqlite3.h>

#include "docent-application.h"
#include "docent-citation-view.h"
#include "docent-document-row.h"
#include "docent-gguf-embedder.h"
#include "docent-model-manager.h"
#include "docent-preferences-window.h"
#include "docent-rechunker.h"
#include "docent-result-row.h"
#include "docent-test-pdf.h"
#include "docent-window-private.h"

static char *tmpdir;
static GSettings *settings;

/* --- helpers ------------------------------------------------------------- */

typedef gboolean (*Condition) (gpointer data);

/* How long to wait for work that only a very loaded machine makes slow (the
 * password dialog waits for the importer's first look at the file): the
 * tests wait on the condition itself; this bound only stops a hang. */
#define PATIENCE_MS (240 * 1000)
#define STOP_PATIENCE_MS (900 * 1000)

/* Runs the main loop until @cond holds; FALSE on timeout. */
static gboolean
wait_for (Condition cond,
          gpointer  data,
          guint     timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!cond (data))
    {
      if (g_get_monotonic_time () > end)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  return TRUE;
}

static gboolean
never (gpointer data)
{
  return FALSE;
}

/* Lets the window lay out and paint. */
static void
settle (guint ms)
{
  wait_for (never, NULL, ms);
}

static void
save_screenshot (GtkWidget  *widget,
                 const char *name)
{
  g_autofree char *dir = g_build_filename (g_test_get_dir (G_TEST_BUILT), "screenshots", NULL);
  const char *lang = g_getenv ("LANGUAGE");
  g_autofree char *file = g_strconcat (lang && *lang ? lang : "", lang && *lang ? "-" : "", name, ".png", NULL);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GskRenderer *renderer;
  int w, h;

  /* A loaded machine may not have mapped and painted it yet. */
  for (guint tries = 0; tries < 50; tries++)
    {
      w = gtk_widget_get_width (widget);
      h = gtk_widget_get_height (widget);
      if (gtk_widget_get_mapped (widget) && w > 0 && h > 0)
        {
          g_clear_object (&snapshot);
          snapshot = gtk_snapshot_new ();
          gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), w, h);
          node = gtk_snapshot_to_node (snapshot);
          if (node != NULL)
            break;
        }
      settle (100);
    }
  /* A screenshot is a record for people to look at, not a check: a machine
   * too loaded to paint in 5 s skips it rather than failing the story. */
  if (node == NULL)
    {
      g_test_message ("screenshot %s skipped: nothing painted yet", path);
      return;
    }
  renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, w, h));
  g_mkdir_with_parents (dir, 0755);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);
}

static char *
make_pdf (const char         *name,
          const char * const *pages)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (tmpdir, name, NULL);

  g_assert_true (docent_test_pdf_write (path, pages, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  return path;
}

/* Delivers @paths exactly as a drop from a file manager arrives. */
static void
drop_files (DocentWindow       *window,
            const char * const *paths)
{
  GtkDropTarget *target = _docent_window_get_drop_target (window);
  GSList *files = NULL;
  GdkFileList *list;
  GValue value = G_VALUE_INIT;
  gboolean handled = FALSE;

  for (guint i = 0; paths[i] != NULL; i++)
    files = g_slist_append (files, g_file_new_for_path (paths[i]));
  list = gdk_file_list_new_from_list (files);
  g_slist_free_full (files, g_object_unref);

  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, list);
  g_signal_emit_by_name (target, "drop", &value, 200.0, 200.0, &handled);
  g_value_unset (&value);
  g_assert_true (handled);
}

typedef struct {
  DocentWindow *window;
  guint         n_ready;
} ReadyCheck;

static gboolean
documents_ready (gpointer data)
{
  ReadyCheck *check = data;
  DocentLibrary *library = _docent_window_get_library (check->window);
  GListModel *docs = docent_library_get_documents (library);
  guint n = g_list_model_get_n_items (docs);
  guint ready = 0;

  if (docent_library_get_importing (library))
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(DocentDocumentItem) item = g_list_model_get_item (docs, i);
      if (docent_document_item_get_status (item) == DOCENT_DOC_STATUS_READY)
        ready++;
    }
  return ready >= check->n_ready;
}

static gboolean
library_loaded (gpointer data)
{
  return docent_library_get_loaded (_docent_window_get_library (data));
}

static gboolean
results_shown (gpointer data)
{
  DocentWindow *window = data;
  const char *page = _docent_window_get_page_name (window);

  return !_docent_window_get_searching (window) &&
         (g_strcmp0 (page, "results") == 0 || g_strcmp0 (page, "no-results") == 0);
}

static gboolean
citation_loaded (gpointer data)
{
  return docent_citation_view_get_loaded (data);
}

static void
run_query (DocentWindow *window,
           const char   *mode,
           const char   *text)
{
  GtkEntry *entry = _docent_window_get_query_entry (window);

  g_settings_set_string (settings, "query-mode", mode);
  gtk_editable_set_text (GTK_EDITABLE (entry), text);
  g_signal_emit_by_name (entry, "activate");
  g_assert_true (wait_for (results_shown, window, 20000));
  g_assert_cmpstr (_docent_window_get_page_name (window), ==, "results");
}

static void
read_text_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  char **out = user_data;

  *out = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (object), result, NULL);
  if (*out == NULL)
    *out = g_strdup ("");
}

static gboolean
string_set (gpointer data)
{
  return *(char **) data != NULL;
}

static gboolean
file_exists (gpointer data)
{
  return g_file_test (data, G_FILE_TEST_EXISTS);
}

static gboolean
backup_button_sensitive (gpointer data)
{
  GtkWidget *button = GTK_WIDGET (gtk_widget_get_template_child (data, DOCENT_TYPE_PREFERENCES_WINDOW, "backup_button"));
  return gtk_widget_get_sensitive (button);
}

/* Where the document whose path ends in @suffix is in the sidebar. */
static guint
document_position (DocentWindow *window,
                   const char   *suffix)
{
  GListModel *docs = G_LIST_MODEL (_docent_window_get_documents_selection (window));

  for (guint i = 0; i < g_list_model_get_n_items (docs); i++)
    {
      DocentDocumentItem *item = _docent_window_get_document_item (window, i);
      if (g_str_has_suffix (docent_document_item_get_path (item), suffix))
        return i;
    }
  g_assert_not_reached ();
}

/* Its row widget (the sidebar shows every row of these small libraries). */
static GtkWidget *
document_row (DocentWindow *window,
              const char   *suffix)
{
  GtkWidget *row = _docent_window_get_document_row (window, document_position (window, suffix));

  g_assert_nonnull (row);
  return row;
}

static gboolean
has_collection (gpointer data)
{
  const char * const *names = docent_library_get_collections (_docent_window_get_library (data));
  return g_strv_contains (names, "Harbour");
}

static gboolean
leaflet_folded (gpointer data)
{
  return adw_leaflet_get_folded (((DocentWindow *) data)->leaflet);
}

static gboolean
leaflet_unfolded (gpointer data)
{
  return !leaflet_folded (data);
}

static gboolean
notes_listed_twice (gpointer data)
{
  GListModel *entries = G_LIST_MODEL (_docent_window_get_documents_selection (data));
  guint n = 0;

  for (guint i = 0; i < g_list_model_get_n_items (entries); i++)
    {
      DocentDocumentItem *item = _docent_window_get_document_item (data, i);
      n += g_str_has_suffix (docent_document_item_get_path (item), "notes.md");
    }
  return n == 2;
}

static gboolean importing (gpointer data);

static gboolean
passages_loaded (gpointer data)
{
  return gtk_widget_get_sensitive (GTK_WIDGET (gtk_widget_get_template_child (data, DOCENT_TYPE_PREFERENCES_WINDOW, "passages_group")));
}
static gboolean not_importing (gpointer data);

static gboolean
typed_search_done (gpointer data)
{
  DocentWindow *window = data;
  return window->typing_source == 0 && g_strcmp0 (window->query, "zebrafish") == 0;
}

static GtkListBoxRow *
first_result_row (DocentWindow *window)
{
  GtkListBox *list = _docent_window_get_results_list (window);
  GtkListBoxRow *row = gtk_list_box_get_row_at_index (list, 0);

  g_assert_nonnull (row);
  g_assert_true (DOCENT_IS_RESULT_ROW (row));
  return row;
}

/* --- tests --------------------------------------------------------------- */

static const char *alpha_pages[] = {
  "Alpha field guide\nChapter one introduces the marsh and its birds.",
  "Chapter two\nThe zebrafish calibration protocol measures tank temperature every hour.\n"
  "Operators record the zebrafish counts in the logbook before feeding.",
  "Chapter three\nNotes on the heron colony and the reed beds.",
  NULL
};

static const char *beta_pages[] = {
  "Beta handbook\nThe lighthouse keeper trims the lamp wick at dusk.",
  "Appendix\nTide tables for the northern harbour and the ferry timetable.",
  NULL
};

/* A random bge-small-shaped GGUF embedding model (`docent embed
 * --make-model`) in Docent's models folder, where Preferences lists it. */
static char *
make_embedding_model (void)
{
  const char *bin = g_getenv ("DOCENT_BIN");
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "docent", "models", NULL);
  char *model = g_build_filename (dir, "bge-random.gguf", NULL);
  int status = -1;

  if (g_file_test (model, G_FILE_TEST_IS_REGULAR))
    return model;
  /* tests/app/meson.build gives both runs (English, Korean) the binary */
  g_assert_nonnull (bin);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  {
    const char *argv[] = { bin, "embed", "--make-model", model, NULL };

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL,
                                 G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                 NULL, NULL, NULL, NULL, &status, NULL));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }
  return model;
}

typedef struct {
  DocentWindow *window;
  guint embed_total;      /* passages to embed, once counted */
  guint reembed_started;
  gboolean box_shown;     /* the import box was revealed while embedding */
} ReembedMeter;

static void
count_reembed_progress (DocentLibrary               *library,
                        const DocentRechunkProgress *progress,
                        ReembedMeter                *meter)
{
  if (progress->phase == DOCENT_RECHUNK_PHASE_EMBED && progress->chunks_total > 0)
    meter->embed_total = progress->chunks_total;
  /* Checked here, not after the wait: on a quiet machine the whole
   * re-embedding can end before the test looks. */
  if (meter->window != NULL && gtk_revealer_get_reveal_child (meter->window->import_revealer))
    meter->box_shown = TRUE;
}

static void
count_reembed_started (DocentLibrary *library,
                       ReembedMeter  *meter)
{
  meter->reembed_started++;
}

static gboolean
embedding_counted (gpointer data)
{
  return ((ReembedMeter *) data)->embed_total > 0;
}

/* Passages of @library lacking a vector of @model. */
static gint64
count_unembedded (const char *library,
                  const char *model)
{
  g_autoptr(DocentStore) store = docent_store_open (library, NULL);
  g_autoptr(DocentGgufEmbedder) gguf = docent_gguf_embedder_new (model, NULL);

  g_assert_nonnull (store);
  g_assert_nonnull (gguf);
  return docent_rechunker_count_unembedded (store, DOCENT_EMBEDDER (gguf), NULL);
}

static char *
dup_recorded_model (const char *library)
{
  g_autoptr(DocentStore) store = docent_store_open (library, NULL);
  char *recorded = NULL;

  g_assert_nonnull (store);
  g_assert_true (docent_embedding_model_get (store, &recorded, NULL));
  return recorded;
}

typedef struct {
  GtkWidget  *prefs;
  const char *path;
} ListedModel;

static gboolean
model_listed (gpointer data)
{
  ListedModel *l = data;
  return _docent_preferences_window_get_use_button (DOCENT_PREFERENCES_WINDOW (l->prefs), l->path) != NULL;
}

static void
test_window_story (void)
{
  g_autofree char *alpha = make_pdf ("alpha.pdf", alpha_pages);
  g_autofree char *beta = make_pdf ("beta.pdf", beta_pages);
  g_autofree char *notes = g_build_filename (tmpdir, "notes.md", NULL);
  g_autofree char *korean = g_build_filename (tmpdir, "경량화.md", NULL);
  g_autofree char *legacy = g_build_filename (tmpdir, "cp949.txt", NULL);
  const char *paths[] = { alpha, beta, notes, korean, legacy, NULL };
  DocentWindow *window;
  DocentCitationView *view;
  GtkListBoxRow *row;
  const DocentSearchResult *result;
  ReadyCheck check;
  GtkWidget *prefs;
  g_autofree char *embedding_model = NULL;

  g_assert_true (g_file_set_contents (notes,
                                      "# Lighthouse notes\n\nThe lamp wick is trimmed at dusk.\n\n"
                                      "The ferry leaves the harbour at noon.\n", -1, NULL));
  g_assert_true (g_file_set_contents (korean,
                                      "# 모델 경량화\n\n프루닝은 중요하지 않은 가중치를 제거합니다.\n\n"
                                      "양자화는 모델의 파라미터를 더 적은 비트로 표현하는 기법입니다.\n", -1, NULL));
  {
    /* An old Windows notepad file: Korean in CP949, CRLF line ends. */
    const char *utf8 = "증류 노트\r\n\r\n지식 증류는 큰 교사 모델의 출력을 작은 학생 모델이 따라 배우게 합니다.\r\n";
    gsize len = 0;
    g_autofree char *cp949 = g_convert (utf8, -1, "CP949", "UTF-8", NULL, &len, NULL);

    g_assert_nonnull (cp949);
    g_assert_true (g_file_set_contents (legacy, cp949, len, NULL));
  }

  window = docent_window_new (NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 740);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (wait_for (library_loaded, window, 20000));
  settle (300);
  g_assert_cmpstr (_docent_window_get_page_name (window), ==, "empty");
  save_screenshot (GTK_WIDGET (window), "01-empty");

  /* A drop of two PDFs and a Markdown file. */
  drop_files (window, paths);
  /* Progress shows at once, the window keeps going. */
  g_assert_true (gtk_revealer_get_reveal_child (window->import_revealer));
  check.window = window;
  check.n_ready = 5;
  g_assert_true (wait_for (documents_ready, &check, 60000));
  settle (300);
  g_assert_cmpint (g_list_model_get_n_items (docent_library_get_documents (_docent_window_get_library (window))), ==, 5);
  g_assert_nonnull (_docent_window_get_document_row (window, 4));
  save_screenshot (GTK_WIDGET (window), "02-library");
  g_assert_false (gtk_revealer_get_reveal_child (window->import_revealer));

  /* A damaged PDF is listed with its reason; retry and remove work. */
  {
    g_autofree char *broken = g_build_filename (tmpdir, "broken.pdf", NULL);
    const char *broken_paths[] = { broken, NULL };
    g_autoptr(GError) error = NULL;
    GtkWidget *failed;
    DocentDocumentItem *item;

    g_assert_true (docent_test_pdf_corrupt_copy (alpha, broken, &error));
    g_assert_no_error (error);
    drop_files (window, broken_paths);
    g_assert_true (wait_for (documents_ready, &check, 60000));
    settle (400);
    failed = document_row (window, "broken.pdf");
    g_assert_nonnull (failed);
    item = docent_document_row_get_item (DOCENT_DOCUMENT_ROW (failed));
    g_assert_cmpint (docent_document_item_get_status (item), ==, DOCENT_DOC_STATUS_FAILED);
    g_assert_nonnull (docent_document_item_get_document (item)->error);
    save_screenshot (GTK_WIDGET (window), "02b-failed");

    gtk_widget_activate_action (failed, "row.retry", NULL);
    g_assert_true (wait_for (documents_ready, &check, 60000));
    settle (300);
    failed = document_row (window, "broken.pdf");
    g_assert_nonnull (failed);
    gtk_widget_activate_action (failed, "row.remove", NULL);
    settle (300);

    /* A scanned PDF is listed as having no text layer, not as a success. */
    {
      g_autofree char *scan = g_build_filename (tmpdir, "scan.pdf", NULL);
      const char *scan_paths[] = { scan, NULL };
      GtkWidget *scan_row;

      g_assert_true (docent_test_pdf_write_image_only (scan, 2, NULL));
      drop_files (window, scan_paths);
      g_assert_true (wait_for (documents_ready, &check, 60000));
      settle (300);
      scan_row = document_row (window, "scan.pdf");
      g_assert_cmpint (docent_document_item_get_status (docent_document_row_get_item (DOCENT_DOCUMENT_ROW (scan_row))),
                       ==, DOCENT_DOC_STATUS_NO_TEXT_LAYER);
      save_screenshot (GTK_WIDGET (window), "02c-no-text-layer");
      gtk_widget_activate_action (scan_row, "row.remove", NULL);
    }
    settle (500);
    g_assert_cmpint (g_list_model_get_n_items (docent_library_get_documents (_docent_window_get_library (window))), ==, 5);
  }

  /* Ask: the answer quotes the passage and cites it. */
  run_query (window, "ask", "zebrafish calibration");
  row = first_result_row (window);
  result = docent_result_row_get_result (DOCENT_RESULT_ROW (row));
  g_assert_true (g_str_has_suffix (result->path, "alpha.pdf"));
  g_assert_cmpuint (result->page, <=, 2);
  g_assert_cmpuint (MAX (result->page_end, result->page), >=, 2);
  settle (200);
  save_screenshot (GTK_WIDGET (window), "03-answer");

  /* Copy puts the answer and its numbered sources on the clipboard. */
  {
    g_autofree char *text = NULL;

    gtk_widget_activate_action (GTK_WIDGET (window), "win.copy-answer", NULL);
    gdk_clipboard_read_text_async (gtk_widget_get_clipboard (GTK_WIDGET (window)), NULL, read_text_cb, &text);
    g_assert_true (wait_for (string_set, &text, 5000));
    g_assert_nonnull (strstr (text, "zebrafish calibration protocol"));
    g_assert_nonnull (strstr (text, "[1] alpha.pdf"));
  }

  /* The inline [1] in the answer opens the same source. */
  view = _docent_window_get_citation_view (window);
  {
    gboolean handled = FALSE;

    g_signal_emit_by_name (window->answer_label, "activate-link", "cite:1", &handled);
    g_assert_true (handled);
    g_assert_true (wait_for (citation_loaded, view, 20000));
    g_assert_cmpint (docent_citation_view_get_doc_id (view), ==, result->doc_id);
    gtk_widget_activate_action (GTK_WIDGET (window), "win.back", NULL);
  }

  /* The first source opens its page with the passage highlighted. */
  g_signal_emit_by_name (_docent_window_get_results_list (window), "row-activated", row);
  g_assert_true (wait_for (citation_loaded, view, 20000));
  g_assert_cmpstr (_docent_window_get_page_name (window), ==, "citation");
  g_assert_cmpint (docent_citation_view_get_doc_id (view), ==, result->doc_id);
  g_assert_cmpuint (docent_citation_view_get_page (view), ==, 2);
  g_assert_cmpuint (docent_citation_view_get_n_highlights (view), >, 0);
  g_assert_false (docent_citation_view_get_source_missing (view));
  settle (300);
  save_screenshot (GTK_WIDGET (window), "04-citation");

  /* Pages turn; zoom steps. */
  gtk_widget_activate_action (GTK_WIDGET (view), "citation.next-page", NULL);
  g_assert_cmpuint (docent_citation_view_get_page (view), ==, 3);
  gtk_widget_activate_action (GTK_WIDGET (view), "citation.previous-page", NULL);
  g_assert_cmpuint (docent_citation_view_get_page (view), ==, 2);
  g_assert_cmpuint (docent_citation_view_get_n_highlights (view), >, 0);
  {
    double zoom = docent_citation_view_get_zoom (view);
    gtk_widget_activate_action (GTK_WIDGET (view), "citation.zoom-in", NULL);
    g_assert_cmpfloat (docent_citation_view_get_zoom (view), >, zoom);
  }

  /* Back returns to the answer. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.back", NULL);
  g_assert_cmpstr (_docent_window_get_page_name (window), ==, "results");

  /* Search mode, a text file: the view scrolls to the passage. */
  run_query (window, "search", "ferry harbour");
  settle (200);
  save_screenshot (GTK_WIDGET (window), "05-search");
  {
    GtkListBox *list = _docent_window_get_results_list (window);
    GtkListBoxRow *text_row = NULL;

    for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
      if (g_str_has_suffix (docent_result_row_get_result (DOCENT_RESULT_ROW (row))->path, "notes.md"))
        {
          text_row = row;
          break;
        }
    g_assert_nonnull (text_row);
    g_signal_emit_by_name (list, "row-activated", text_row);
    g_assert_true (wait_for (citation_loaded, view, 20000));
    g_assert_cmpuint (docent_citation_view_get_page (view), ==, 0);
    g_assert_cmpuint (docent_citation_view_get_n_highlights (view), >, 0);
    settle (200);
    save_screenshot (GTK_WIDGET (window), "06-citation-text");
    gtk_widget_activate_action (GTK_WIDGET (window), "win.back", NULL);
  }

  /* Search mode searches as you type. */
  g_settings_set_string (settings, "query-mode", "search");
  gtk_editable_set_text (GTK_EDITABLE (_docent_window_get_query_entry (window)), "zebrafish");
  g_assert_true (wait_for (typed_search_done, window, 20000));
  g_assert_true (wait_for (results_shown, window, 20000));
  g_assert_true (g_str_has_suffix (docent_result_row_get_result (DOCENT_RESULT_ROW (first_result_row (window)))->path, "alpha.pdf"));

  /* Korean: a word inside a longer eojeol (양자화는) is found and highlighted. */
  run_query (window, "search", "양자화");
  row = first_result_row (window);
  g_assert_true (g_str_has_suffix (docent_result_row_get_result (DOCENT_RESULT_ROW (row))->path, "경량화.md"));
  g_signal_emit_by_name (_docent_window_get_results_list (window), "row-activated", row);
  g_assert_true (wait_for (citation_loaded, view, 20000));
  g_assert_cmpuint (docent_citation_view_get_n_highlights (view), >, 0);
  settle (200);
  save_screenshot (GTK_WIDGET (window), "06b-citation-korean");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.back", NULL);

  /* A CP949 file with CRLF line ends: the passage lands where it was found. */
  run_query (window, "search", "학생 모델");
  row = first_result_row (window);
  g_assert_true (g_str_has_suffix (docent_result_row_get_result (DOCENT_RESULT_ROW (row))->path, "cp949.txt"));
  g_signal_emit_by_name (_docent_window_get_results_list (window), "row-activated", row);
  g_assert_true (wait_for (citation_loaded, view, 20000));
  g_assert_false (docent_citation_view_get_source_missing (view));
  g_assert_cmpuint (docent_citation_view_get_n_highlights (view), ==,
                    g_utf8_strlen (docent_result_row_get_result (DOCENT_RESULT_ROW (row))->text, -1));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.back", NULL);

  /* A moved source still shows the stored passage, and says so. */
  {
    g_autofree char *moved = g_build_filename (tmpdir, "beta-moved.pdf", NULL);

    run_query (window, "search", "lighthouse keeper");
    row = first_result_row (window);
    g_assert_true (g_str_has_suffix (docent_result_row_get_result (DOCENT_RESULT_ROW (row))->path, "beta.pdf"));
    g_assert_cmpint (g_rename (beta, moved), ==, 0);
    g_signal_emit_by_name (_docent_window_get_results_list (window), "row-activated", row);
    g_assert_true (wait_for (citation_loaded, view, 20000));
    g_assert_true (docent_citation_view_get_source_missing (view));
    g_assert_cmpuint (docent_citation_view_get_n_highlights (view), >, 0);
    settle (200);
    save_screenshot (GTK_WIDGET (window), "07-citation-moved");
    g_assert_cmpint (g_rename (moved, beta), ==, 0);
    gtk_widget_activate_action (GTK_WIDGET (window), "win.back", NULL);
  }

  /* Selecting a document in the sidebar filters the search to it. */
  {
    GtkListBox *list = _docent_window_get_results_list (window);

    gtk_selection_model_select_item (_docent_window_get_documents_selection (window),
                                     document_position (window, "notes.md"), TRUE);
    g_assert_true (wait_for (results_shown, window, 20000));
    for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
      g_assert_true (g_str_has_suffix (docent_result_row_get_result (DOCENT_RESULT_ROW (row))->path, "notes.md"));
    gtk_widget_activate_action (GTK_WIDGET (window), "win.clear-filter", NULL);
    g_assert_true (wait_for (results_shown, window, 20000));

    /* The file type filter narrows the same way, through the same ids. */
    g_action_group_change_action_state (G_ACTION_GROUP (window), "filter-type", g_variant_new_string ("pdf"));
    g_assert_true (wait_for (results_shown, window, 20000));
    g_assert_nonnull (gtk_list_box_get_row_at_index (list, 0));
    for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
      g_assert_cmpint (docent_result_row_get_result (DOCENT_RESULT_ROW (row))->type, ==, DOCENT_DOC_TYPE_PDF);
    settle (200);
    save_screenshot (GTK_WIDGET (window), "05b-filtered");
    g_action_group_change_action_state (G_ACTION_GROUP (window), "filter-added", g_variant_new_string ("day"));
    g_assert_true (wait_for (results_shown, window, 20000));
    g_assert_nonnull (gtk_list_box_get_row_at_index (list, 0));
    gtk_widget_activate_action (GTK_WIDGET (window), "win.clear-filter", NULL);
    g_assert_true (wait_for (results_shown, window, 20000));
    g_assert_false (gtk_revealer_get_reveal_child (window->filter_revealer));

    /* A page range keeps PDF passages on those pages (text files have none). */
    gtk_spin_button_set_value (window->page_first_spin, 2);
    gtk_spin_button_set_value (window->page_last_spin, 2);
    run_query (window, "search", "zebrafish");
    g_assert_nonnull (gtk_list_box_get_row_at_index (list, 0));
    for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
      {
        const DocentSearchResult *r = docent_result_row_get_result (DOCENT_RESULT_ROW (row));
        g_assert_cmpint (r->type, ==, DOCENT_DOC_TYPE_PDF);
        g_assert_cmpuint (r->page, <=, 2);
        g_assert_cmpuint (MAX (r->page_end, r->page), >=, 2);
      }
    g_assert_true (gtk_revealer_get_reveal_child (window->filter_revealer));
    gtk_menu_button_popup (window->filter_button);
    settle (400);
    save_screenshot (GTK_WIDGET (gtk_menu_button_get_popover (window->filter_button)), "05d-filter-menu");
    gtk_menu_button_popdown (window->filter_button);
    gtk_widget_activate_action (GTK_WIDGET (window), "win.clear-filter", NULL);
    g_assert_true (wait_for (results_shown, window, 20000));
    g_assert_cmpint (gtk_spin_button_get_value_as_int (window->page_first_spin), ==, 0);

    /* A collection made from the row menu filters searches to its documents. */
    {
      GtkEditable *entry;

      gtk_widget_activate_action (document_row (window, "notes.md"), "row.add-to-collection", NULL);
      g_assert_nonnull (window->collection_dialog);
      entry = g_object_get_data (G_OBJECT (window->collection_dialog), "entry");
      gtk_editable_set_text (entry, "Harbour");
      settle (200);
      save_screenshot (GTK_WIDGET (window->collection_dialog), "05c-collection");
      adw_message_dialog_response (window->collection_dialog, "add");
      g_assert_true (wait_for (has_collection, window, 20000));
      settle (200);
      g_assert_cmpstr (docent_document_item_get_collections (docent_document_row_get_item (DOCENT_DOCUMENT_ROW (document_row (window, "notes.md")))),
                       ==, "Harbour");
      /* The sidebar groups by collection: Harbour first, then the rest. */
      g_assert_cmpuint (document_position (window, "notes.md"), ==, 0);
      g_assert_cmpstr (docent_document_row_get_header (DOCENT_DOCUMENT_ROW (document_row (window, "notes.md"))),
                       ==, "Harbour");
      {
        GtkWidget *second = _docent_window_get_document_row (window, 1);
        GtkWidget *third = _docent_window_get_document_row (window, 2);

        g_assert_nonnull (second);
        g_assert_cmpstr (docent_document_row_get_header (DOCENT_DOCUMENT_ROW (second)), ==, _("Other Documents"));
        g_assert_null (docent_document_row_get_header (DOCENT_DOCUMENT_ROW (third)));
      }
      save_screenshot (GTK_WIDGET (window), "05e-collection-row");
      g_action_group_change_action_state (G_ACTION_GROUP (window), "filter-collection", g_variant_new_string ("Harbour"));
      run_query (window, "search", "lamp wick");
      for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
        g_assert_true (g_str_has_suffix (docent_result_row_get_result (DOCENT_RESULT_ROW (row))->path, "notes.md"));
      g_assert_true (gtk_revealer_get_reveal_child (window->filter_revealer));
      gtk_widget_activate_action (GTK_WIDGET (window), "win.clear-filter", NULL);
      g_assert_true (wait_for (results_shown, window, 20000));

      /* In a second collection it is listed under each (as GNOME Music
       * lists an album under each artist); either entry is the document:
       * selecting the second filters by it. */
      {
        GtkSelectionModel *entries = _docent_window_get_documents_selection (window);
        DocentDocumentItem *notes_item = docent_document_row_get_item (DOCENT_DOCUMENT_ROW (document_row (window, "notes.md")));

        docent_library_add_to_collection (_docent_window_get_library (window),
                                          docent_document_item_get_id (notes_item), "Lamps");
        g_assert_true (wait_for (notes_listed_twice, window, 20000));
        settle (200);
        g_assert_true (g_str_has_suffix (docent_document_item_get_path (_docent_window_get_document_item (window, 0)), "notes.md"));
        g_assert_true (_docent_window_get_document_item (window, 1) == _docent_window_get_document_item (window, 0));
        g_assert_cmpstr (docent_document_row_get_header (DOCENT_DOCUMENT_ROW (_docent_window_get_document_row (window, 0))), ==, "Harbour");
        g_assert_cmpstr (docent_document_row_get_header (DOCENT_DOCUMENT_ROW (_docent_window_get_document_row (window, 1))), ==, "Lamps");
        g_assert_cmpstr (docent_document_row_get_header (DOCENT_DOCUMENT_ROW (_docent_window_get_document_row (window, 2))), ==, _("Other Documents"));
        gtk_selection_model_select_item (entries, 1, TRUE);
        g_assert_true (wait_for (results_shown, window, 20000));
        g_assert_nonnull (gtk_list_box_get_row_at_index (list, 0));
        for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
          g_assert_true (g_str_has_suffix (docent_result_row_get_result (DOCENT_RESULT_ROW (row))->path, "notes.md"));
        save_screenshot (GTK_WIDGET (window), "05f-two-collections");
        gtk_widget_activate_action (GTK_WIDGET (window), "win.clear-filter", NULL);
        g_assert_true (wait_for (results_shown, window, 20000));
        g_assert_false (gtk_selection_model_is_selected (entries, 1));
      }
    }
  }

  /* Dark style and a narrow window (the sidebar folds away). */
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_DARK);
  run_query (window, "ask", "zebrafish calibration");
  settle (300);
  save_screenshot (GTK_WIDGET (window), "11-dark");
  gtk_window_set_default_size (GTK_WINDOW (window), 420, 700);
  /* On the resize's condition, not a time: a loaded machine is slow. */
  g_assert_true (wait_for (leaflet_folded, window, PATIENCE_MS));
  settle (300);
  save_screenshot (GTK_WIDGET (window), "12-narrow");
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_DEFAULT);
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 740);
  g_assert_true (wait_for (leaflet_unfolded, window, PATIENCE_MS));

  /* The shortcuts window loads and lists the window's shortcuts. */
  {
    g_autoptr(GtkBuilder) builder = gtk_builder_new_from_resource ("/io/github/docent/Docent/gtk/help-overlay.ui");
    GtkWindow *help = GTK_WINDOW (gtk_builder_get_object (builder, "help_overlay"));

    g_assert_nonnull (help);
    gtk_window_set_transient_for (help, GTK_WINDOW (window));
    gtk_window_present (help);
    settle (400);
    save_screenshot (GTK_WIDGET (help), "13-shortcuts");
    gtk_window_destroy (help);
  }

  /* Ctrl+F and Ctrl+L switch the entry's mode. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.focus-search", NULL);
  {
    g_autofree char *mode = g_settings_get_string (settings, "query-mode");
    g_assert_cmpstr (mode, ==, "search");
  }
  gtk_widget_activate_action (GTK_WIDGET (window), "win.focus-ask", NULL);
  {
    g_autofree char *mode = g_settings_get_string (settings, "query-mode");
    g_assert_cmpstr (mode, ==, "ask");
  }

  /* Removing a document takes its passages out of the results. */
  {
    GtkListBox *list = _docent_window_get_results_list (window);

    gtk_widget_activate_action (document_row (window, "beta.pdf"), "row.remove", NULL);
    check.n_ready = 4;
    settle (500);
    g_assert_cmpint (g_list_model_get_n_items (docent_library_get_documents (_docent_window_get_library (window))), ==, 4);
    run_query (window, "search", "lighthouse");
    for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
      g_assert_false (g_str_has_suffix (docent_result_row_get_result (DOCENT_RESULT_ROW (row))->path, "beta.pdf"));
  }

  /* About, with the app icon. */
  {
    GtkWidget *about = docent_about_window_new (GTK_WINDOW (window));

    gtk_window_present (GTK_WINDOW (about));
    settle (400);
    save_screenshot (about, "14-about");
    gtk_window_destroy (GTK_WINDOW (about));
  }

  /* Settings: rows follow GSettings. */
  embedding_model = make_embedding_model ();
  g_settings_set_uint (settings, "sources", 7);
  prefs = docent_preferences_window_new (GTK_WINDOW (window), settings);
  gtk_window_present (GTK_WINDOW (prefs));
  settle (400);
  save_screenshot (prefs, "08-preferences");
  {
    GtkSpinButton *sources = GTK_SPIN_BUTTON (gtk_widget_get_template_child (prefs, DOCENT_TYPE_PREFERENCES_WINDOW, "sources_spin"));
    GtkSpinButton *temperature = GTK_SPIN_BUTTON (gtk_widget_get_template_child (prefs, DOCENT_TYPE_PREFERENCES_WINDOW, "temperature_spin"));
    AdwComboRow *quantization = ADW_COMBO_ROW (gtk_widget_get_template_child (prefs, DOCENT_TYPE_PREFERENCES_WINDOW, "quantization_row"));

    g_assert_cmpfloat (gtk_spin_button_get_value (sources), ==, 7);
    gtk_spin_button_set_value (temperature, 0.7);
    g_assert_cmpfloat_with_epsilon (g_settings_get_double (settings, "temperature"), 0.7, 1e-9);
    adw_combo_row_set_selected (quantization, 3);
    {
      g_autofree char *q = g_settings_get_string (settings, "quantization");
      g_assert_cmpstr (q, ==, "q4_k_m");
    }
    g_settings_reset (settings, "quantization");
    g_assert_cmpuint (adw_combo_row_get_selected (quantization), ==, 0);

    adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (prefs), "answers");
    settle (300);
    save_screenshot (prefs, "08b-preferences-answers");
    adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (prefs), "library");
    settle (300);
    save_screenshot (prefs, "08c-preferences-library");

    /* Back Up… makes a copy that opens as a library with the same documents. */
    {
      g_autofree char *copy = g_build_filename (tmpdir, "backup.db", NULL);
      g_autoptr(DocentStore) store = NULL;
      g_autoptr(GPtrArray) docs = NULL;

      _docent_preferences_window_backup (DOCENT_PREFERENCES_WINDOW (prefs), copy);
      g_assert_true (wait_for (file_exists, copy, 20000));
      g_assert_true (wait_for (backup_button_sensitive, prefs, 20000));
      store = docent_store_open (copy, NULL);
      g_assert_nonnull (store);
      docs = docent_store_list_documents (store, NULL);
      g_assert_nonnull (docs);
      g_assert_cmpuint (docs->len, ==, 4);
    }

    /* Passage size and overlap: read from the library file, applied by
     * re-cutting it in the background (progress in the window). */
    {
      GtkSpinButton *size = GTK_SPIN_BUTTON (gtk_widget_get_template_child (prefs, DOCENT_TYPE_PREFERENCES_WINDOW, "chunk_size_spin"));
      GtkSpinButton *overlap = GTK_SPIN_BUTTON (gtk_widget_get_template_child (prefs, DOCENT_TYPE_PREFERENCES_WINDOW, "chunk_overlap_spin"));
      GtkWidget *apply = GTK_WIDGET (gtk_widget_get_template_child (prefs, DOCENT_TYPE_PREFERENCES_WINDOW, "chunking_apply_button"));
      g_autoptr(DocentStore) store = NULL;
      guint stored_size = 0, stored_overlap = 0;

      g_assert_true (wait_for (passages_loaded, prefs, PATIENCE_MS));
      g_assert_cmpint (gtk_spin_button_get_value_as_int (size), ==, 1000);
      g_assert_cmpint (gtk_spin_button_get_value_as_int (overlap), ==, 150);
      g_assert_false (gtk_widget_get_sensitive (apply));
      gtk_spin_button_set_value (size, 400);
      gtk_spin_button_set_value (overlap, 50);
      g_assert_true (gtk_widget_get_sensitive (apply));
      settle (200);
      save_screenshot (prefs, "08g-preferences-passages");
      g_signal_emit_by_name (apply, "clicked");
      g_assert_true (importing (window));
      g_assert_true (wait_for (not_importing, window, PATIENCE_MS));
      store = docent_store_open (docent_library_get_path (_docent_window_get_library (window)), NULL);
      g_assert_nonnull (store);
      g_assert_true (docent_chunking_get (store, &stored_size, &stored_overlap, NULL));
      g_assert_cmpuint (stored_size, ==, 400);
      g_assert_cmpuint (stored_overlap, ==, 50);
      g_assert_cmpint (docent_rechunker_count_pending (store, NULL), ==, 0);
      g_assert_false (gtk_widget_get_sensitive (apply));
    }

    /* The embedding model is the library's own: Use for Search on a model
     * found on this computer records it in the library file and embeds the
     * library in the background, with progress in the window; it becomes
     * the default for libraries opened the first time. */
    {
      DocentLibrary *library = _docent_window_get_library (window);
      const char *path = docent_library_get_path (library);
      AdwActionRow *row = ADW_ACTION_ROW (gtk_widget_get_template_child (prefs, DOCENT_TYPE_PREFERENCES_WINDOW, "embedding_row"));
      GtkWidget *clear = GTK_WIDGET (gtk_widget_get_template_child (prefs, DOCENT_TYPE_PREFERENCES_WINDOW, "embedding_clear_button"));
      ListedModel listed = { prefs, embedding_model };
      ReembedMeter meter = { window };
      g_autofree char *recorded = NULL;
      g_autofree char *fallback = NULL;
      gulong progress_id, started_id;

      g_assert_null (docent_library_get_embedding_model (library));
      g_assert_false (gtk_widget_get_visible (clear));
      adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (prefs), "models");
      g_assert_true (wait_for (model_listed, &listed, PATIENCE_MS));
      progress_id = g_signal_connect (library, "rechunk-progress", G_CALLBACK (count_reembed_progress), &meter);
      started_id = g_signal_connect (library, "reembed-started", G_CALLBACK (count_reembed_started), &meter);
      g_signal_emit_by_name (_docent_preferences_window_get_use_button (DOCENT_PREFERENCES_WINDOW (prefs), embedding_model),
                             "clicked");
      g_assert_true (importing (window));
      g_assert_cmpstr (docent_library_get_embedding_model (library), ==, embedding_model);
      g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, embedding_model);
      g_assert_true (gtk_widget_get_visible (clear));
      fallback = g_settings_get_string (settings, "embedding-model-path");
      g_assert_cmpstr (fallback, ==, embedding_model);
      settle (300);
      save_screenshot (prefs, "08h-preferences-embedding");
      g_assert_true (wait_for (embedding_counted, &meter, PATIENCE_MS));
      g_assert_true (meter.box_shown);
      save_screenshot (GTK_WIDGET (window), "08i-reembedding");
      g_assert_true (wait_for (not_importing, window, PATIENCE_MS));
      g_assert_cmpuint (meter.reembed_started, ==, 1);
      recorded = dup_recorded_model (path);
      g_assert_cmpstr (recorded, ==, embedding_model);
      g_assert_cmpint (count_unembedded (path, embedding_model), ==, 0);
      g_signal_handler_disconnect (library, progress_id);
      g_signal_handler_disconnect (library, started_id);
      /* Searches use it (hybrid ranking keeps BM25's hits). */
      run_query (window, "search", "zebrafish calibration");
      g_assert_true (g_str_has_suffix (docent_result_row_get_result (DOCENT_RESULT_ROW (first_result_row (window)))->path, "alpha.pdf"));

      /* Back to the built-in embedder: recorded as "", the row says so. */
      g_signal_emit_by_name (clear, "clicked");
      g_assert_null (docent_library_get_embedding_model (library));
      g_assert_false (gtk_widget_get_visible (clear));
      g_assert_true (wait_for (not_importing, window, PATIENCE_MS));
      g_clear_pointer (&recorded, g_free);
      recorded = dup_recorded_model (path);
      g_assert_cmpstr (recorded, ==, "");
    }
  }
  gtk_window_destroy (GTK_WINDOW (prefs));
  /* Searches find the re-cut passages. */
  run_query (window, "search", "zebrafish calibration");
  g_assert_true (g_str_has_suffix (docent_result_row_get_result (DOCENT_RESULT_ROW (first_result_row (window)))->path, "alpha.pdf"));

  /* Another library location opens that library (empty here). */
  {
    g_autofree char *other = g_build_filename (tmpdir, "other", "library.db", NULL);
    g_autofree char *first = g_settings_get_string (settings, "library-path");

    g_settings_set_string (settings, "library-path", other);
    g_assert_true (wait_for (library_loaded, window, 20000));
    settle (200);
    g_assert_cmpstr (docent_library_get_path (_docent_window_get_library (window)), ==, other);
    g_assert_cmpstr (_docent_window_get_page_name (window), ==, "empty");

    /* A location that cannot hold a library says so and offers another. */
    g_settings_set_string (settings, "library-path", tmpdir);
    g_assert_true (wait_for (library_loaded, window, 20000));
    settle (200);
    g_assert_nonnull (docent_library_get_error (_docent_window_get_library (window)));
    g_assert_cmpstr (_docent_window_get_page_name (window), ==, "error");
    save_screenshot (GTK_WIDGET (window), "16-library-error");

    g_settings_set_string (settings, "library-path", first);
  }

  /* Closing remembers the size. */
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
  settle (200);
  gtk_window_close (GTK_WINDOW (window));
  settle (100);
  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, 1000);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), ==, 700);
}

static void
log_file_done (DocentLibrary                *library,
               const DocentImportFileResult *result,
               gpointer                      data)
{
  g_test_message ("file done: %s outcome %d code %d: %s", result->path, result->outcome,
                  result->error_code, result->reason ? result->reason : "");
}

static gboolean
dialog_shown (gpointer data)
{
  DocentWindow *window = data;
  return window->password_dialog != NULL;
}

static void
test_window_password (void)
{
  const char *pages[] = { "Sealed ledger\nThe vault combination changes every quarter.", NULL };
  g_autofree char *plain = make_pdf ("plain-ledger.pdf", pages);
  g_autofree char *sealed = g_build_filename (tmpdir, "sealed.pdf", NULL);
  const char *paths[] = { sealed, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *library = g_build_filename (tmpdir, "password-library.db", NULL);
  DocentWindow *window;
  GtkWidget *entry;
  ReadyCheck check;

  if (!g_find_program_in_path ("qpdf"))
    {
      g_test_skip ("qpdf is needed to make an encrypted PDF");
      return;
    }
  g_assert_true (docent_test_pdf_encrypt (plain, sealed, "opensesame", "owner", &error));
  g_assert_no_error (error);

  g_settings_set_string (settings, "library-path", library);
  window = docent_window_new (NULL);
  gtk_window_present (GTK_WINDOW (window));
  settle (200);

  g_signal_connect (_docent_window_get_library (window), "import-file-done", G_CALLBACK (log_file_done), NULL);
  drop_files (window, paths);
  g_assert_true (wait_for (dialog_shown, window, PATIENCE_MS));
  settle (200);
  save_screenshot (GTK_WIDGET (window->password_dialog), "09-password");
  /* A wrong password asks again. */
  entry = g_object_get_data (G_OBJECT (window->password_dialog), "entry");
  gtk_editable_set_text (GTK_EDITABLE (entry), "wrong");
  adw_message_dialog_response (window->password_dialog, "import");
  g_assert_null (window->password_dialog);
  g_assert_true (wait_for (dialog_shown, window, PATIENCE_MS));
  if (g_getenv ("LANGUAGE") == NULL)
    g_assert_nonnull (strstr (adw_message_dialog_get_body (window->password_dialog), "Try again"));
  entry = g_object_get_data (G_OBJECT (window->password_dialog), "entry");
  gtk_editable_set_text (GTK_EDITABLE (entry), "opensesame");
  adw_message_dialog_response (window->password_dialog, "import");

  check.window = window;
  check.n_ready = 1;
  g_assert_true (wait_for (documents_ready, &check, PATIENCE_MS));

  gtk_window_destroy (GTK_WINDOW (window));
  settle (100);
}

typedef struct {
  gint64 last;
  gint64 longest;
  guint  over_goal;         /* gaps over 50 ms */
  guint  progress_events;
  gboolean finished;
} StallMeter;

static gboolean
stall_tick (gpointer data)
{
  StallMeter *m = data;
  gint64 now = g_get_monotonic_time ();

  if (m->last > 0)
    {
      m->longest = MAX (m->longest, now - m->last);
      m->over_goal += now - m->last > 50 * 1000;
    }
  m->last = now;
  return G_SOURCE_CONTINUE;
}

static void
count_progress (DocentLibrary *library, gpointer progress, guint waiting, StallMeter *m)
{
  m->progress_events++;
}

static void
import_finished (DocentLibrary *library, GPtrArray *results, GError *error, StallMeter *m)
{
  m->finished = TRUE;
}

static gboolean
some_pages_done (gpointer data)
{
  DocentWindow *window = data;
  const char *text = gtk_label_get_label (window->import_detail);
  return text != NULL && g_ascii_isdigit (text[0]) && text[0] != '0';
}

static gboolean
meter_finished (gpointer data)
{
  return ((StallMeter *) data)->finished;
}

/* path → the library's item for it (a reference held). */
static GHashTable *
dup_items_by_path (DocentWindow *window)
{
  GListModel *docs = docent_library_get_documents (_docent_window_get_library (window));
  GHashTable *items = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);

  for (guint i = 0; i < g_list_model_get_n_items (docs); i++)
    {
      DocentDocumentItem *item = g_list_model_get_item (docs, i);

      g_hash_table_replace (items, g_strdup (docent_document_item_get_path (item)), item);
    }
  return items;
}

/* The R manuals import while the main loop keeps ticking; progress shows
 * pages and an ETA; Stop cancels. */
static void
test_window_progress (void)
{
  const char *manuals = "/usr/share/R/doc/manual";
  g_autofree char *library = g_build_filename (tmpdir, "progress-library.db", NULL);
  const char *paths[] = { manuals, NULL };
  StallMeter meter = { 0 };
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;
  GHashTableIter iter;
  gpointer key, value;
  DocentWindow *window;
  guint tick;

  if (!g_file_test (manuals, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("the R manuals (r-doc-pdf) are not installed");
      return;
    }

  g_settings_set_string (settings, "library-path", library);
  window = docent_window_new (NULL);
  gtk_window_present (GTK_WINDOW (window));
  settle (200);

  g_signal_connect (_docent_window_get_library (window), "import-progress", G_CALLBACK (count_progress), &meter);
  g_signal_connect (_docent_window_get_library (window), "import-finished", G_CALLBACK (import_finished), &meter);
  tick = g_timeout_add (5, stall_tick, &meter);
  if (g_getenv ("DOCENT_BENCH_IMPORT") != NULL)
    {
      /* The same meter on the idle window first: the reference. */
      settle (3000);
      g_test_message ("idle window: longest main-loop gap %.1f ms", meter.longest / 1000.0);
      meter.longest = meter.last = 0;
      meter.over_goal = 0;
    }

  /* A folder, dropped. */
  drop_files (window, paths);
  g_assert_true (wait_for (some_pages_done, window, 60000));
  settle (300);
  /* Measured before the screenshot, which stalls the loop itself. */
  g_test_message ("longest main-loop stall while importing: %.1f ms", meter.longest / 1000.0);
  g_assert_cmpint (meter.longest, <, 1000 * 1000);
  save_screenshot (GTK_WIDGET (window), "10-importing");
  g_assert_cmpuint (meter.progress_events, >, 0);
  before = dup_items_by_path (window);
  g_assert_cmpuint (g_hash_table_size (before), >, 0);

  if (g_getenv ("DOCENT_BENCH_IMPORT") != NULL)
    {
      /* docs/BENCHMARKS.md: the whole import, vectors included. */
      gint64 start = g_get_monotonic_time ();

      meter.longest = meter.last = 0;
      meter.over_goal = 0;
      g_assert_true (wait_for (meter_finished, &meter, 60 * 60 * 1000));
      g_test_message ("whole import: longest main-loop stall %.1f ms, %u gaps over 50 ms, %.1f s",
                      meter.longest / 1000.0, meter.over_goal, (g_get_monotonic_time () - start) / 1e6);
    }
  else
    gtk_widget_activate_action (GTK_WIDGET (window), "win.cancel-import", NULL);
  g_assert_true (wait_for (meter_finished, &meter, 60000));
  settle (200);
  g_assert_false (docent_library_get_importing (_docent_window_get_library (window)));
  g_assert_false (gtk_revealer_get_reveal_child (window->import_revealer));

  /* A document keeps its item, and so its sidebar row, while files start,
   * get their ids and finish around it: refreshes update it in place. */
  after = dup_items_by_path (window);
  g_hash_table_iter_init (&iter, before);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_hash_table_contains (after, key))
      g_assert_true (g_hash_table_lookup (after, key) == value);

  g_source_remove (tick);
  gtk_window_destroy (GTK_WINDOW (window));
  settle (100);
}

static gboolean
importing (gpointer data)
{
  return docent_library_get_importing (_docent_window_get_library (data));
}

static gboolean
not_importing (gpointer data)
{
  return !importing (data);
}

/* An import killed half-way (docent import, kill -9) is finished by the
 * window when it opens the library. */
static void
test_window_resume (void)
{
  const char *bin = g_getenv ("DOCENT_BIN");
  g_autofree char *library = g_build_filename (tmpdir, "resume-library.db", NULL);
  /* A big one keeps the importer busy long enough to be interrupted. */
  const char *manuals[] = { "/usr/share/R/doc/manual/fullrefman.pdf", "/usr/share/R/doc/manual/R-intro.pdf",
                            "/usr/share/R/doc/manual/R-lang.pdf" };
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  GPid pid;
  gint64 unfinished = 0;
  gint64 deadline;
  DocentWindow *window;
  ReadyCheck check;

  if (bin == NULL || !g_file_test (manuals[0], G_FILE_TEST_EXISTS))
    {
      g_test_skip ("needs DOCENT_BIN and the R manuals");
      return;
    }

  g_ptr_array_add (argv, (char *) bin);
  g_ptr_array_add (argv, "--library");
  g_ptr_array_add (argv, library);
  g_ptr_array_add (argv, "import");
  for (guint i = 0; i < G_N_ELEMENTS (manuals); i++)
    g_ptr_array_add (argv, (char *) manuals[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_async (NULL, (char **) argv->pdata, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                NULL, NULL, &pid, &error));
  g_assert_no_error (error);

  /* Kill it once it has queued its files. */
  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  {
    g_autoptr(DocentStore) store = NULL;

    while (unfinished <= 0 && g_get_monotonic_time () < deadline)
      {
        if (store == NULL && g_file_test (library, G_FILE_TEST_EXISTS))
          store = docent_store_open (library, NULL);
        if (store != NULL)
          unfinished = docent_store_count_unfinished_imports (store, NULL);
        if (unfinished <= 0)
          g_usleep (2000);
      }
  }
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
  g_spawn_close_pid (pid);
  if (unfinished == 0)
    {
      g_test_skip ("the import finished before it could be interrupted");
      return;
    }

  g_settings_set_string (settings, "library-path", library);
  window = docent_window_new (NULL);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (wait_for (importing, window, 20000));
  settle (200);
  save_screenshot (GTK_WIDGET (window), "15-resuming");
  g_assert_true (wait_for (not_importing, window, 120000));
  check.window = window;
  check.n_ready = G_N_ELEMENTS (manuals);
  g_assert_true (wait_for (documents_ready, &check, 20000));

  gtk_window_destroy (GTK_WINDOW (window));
  settle (100);
}

static gboolean
quantize_ready (gpointer data)
{
  GtkWidget *button = GTK_WIDGET (gtk_widget_get_template_child (data, DOCENT_TYPE_PREFERENCES_WINDOW, "quantize_button"));
  return gtk_widget_get_sensitive (button) && gtk_widget_get_visible (button);
}

static gboolean
quantize_refused (gpointer data)
{
  AdwActionRow *row = ADW_ACTION_ROW (gtk_widget_get_template_child (data, DOCENT_TYPE_PREFERENCES_WINDOW, "quantize_row"));
  const char *subtitle = adw_action_row_get_subtitle (row);
  /* the estimate came back with the quantizer's reason */
  return !quantize_ready (data) && subtitle != NULL && strstr (subtitle, "Q8_0") != NULL;
}

typedef struct {
  GtkWidget *prefs;
  char      *path;
} ListedCheck;

static gboolean
copy_listed (gpointer data)
{
  ListedCheck *c = data;
  return !_docent_preferences_window_get_quantizing (DOCENT_PREFERENCES_WINDOW (c->prefs)) &&
         _docent_preferences_window_lists_model (DOCENT_PREFERENCES_WINDOW (c->prefs), c->path);
}

/* Preferences → Quantization: the expected size shows first, Make Copy
 * writes a Q8_0 copy in the background, which is listed and used; a copy
 * of an already quantized model is refused with the reason. */
static void
test_preferences_quantize (void)
{
  const char *bin = g_getenv ("DOCENT_BIN");
  g_autofree char *model = g_build_filename (tmpdir, "tiny-llama.gguf", NULL);
  g_autofree char *expected = g_build_filename (g_get_user_data_dir (), "docent", "models",
                                                "tiny-llama-Q8_0.gguf", NULL);
  const char *argv[] = { bin, "bench", "make-model", "--vocab", "512", "--embd", "256", "--layers", "2",
                         "--heads", "4", "--kv-heads", "2", "--ff", "512", model, NULL };
  int status = -1;
  GtkWidget *prefs;
  AdwComboRow *quantization;
  GtkWidget *button;
  ListedCheck listed;

  if (bin == NULL)
    {
      g_test_skip ("needs DOCENT_BIN to make a model");
      return;
    }
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL,
                               G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_settings_set_string (settings, "model-path", model);

  prefs = docent_preferences_window_new (NULL, settings);
  gtk_window_present (GTK_WINDOW (prefs));
  quantization = ADW_COMBO_ROW (gtk_widget_get_template_child (prefs, DOCENT_TYPE_PREFERENCES_WINDOW, "quantization_row"));
  button = GTK_WIDGET (gtk_widget_get_template_child (prefs, DOCENT_TYPE_PREFERENCES_WINDOW, "quantize_button"));
  g_assert_false (quantize_ready (prefs));
  adw_combo_row_set_selected (quantization, 1);   /* Q8_0 */
  g_assert_true (wait_for (quantize_ready, prefs, 60000));
  settle (300);
  save_screenshot (prefs, "08d-preferences-quantize");

  g_signal_emit_by_name (button, "clicked");
  g_assert_true (_docent_preferences_window_get_quantizing (DOCENT_PREFERENCES_WINDOW (prefs)));
  listed.prefs = prefs;
  listed.path = expected;
  /* a generous bound: the condition is the copy listed, not a time */
  g_assert_true (wait_for (copy_listed, &listed, 240000));
  g_assert_true (g_file_test (expected, G_FILE_TEST_IS_REGULAR));
  {
    g_autofree char *chat = g_settings_get_string (settings, "model-path");
    g_autoptr(DocentModelInfo) info = docent_model_manager_describe (expected, NULL, NULL);

    g_assert_cmpstr (chat, ==, expected);
    g_assert_nonnull (info);
    g_assert_cmpstr (info->quantization, ==, "Q8_0");
  }
  settle (300);
  save_screenshot (prefs, "08e-preferences-quantized");

  /* The copy is Q8_0 already: another copy of it is refused, with why. */
  adw_combo_row_set_selected (quantization, 4);   /* Q4_0 */
  g_assert_true (wait_for (quantize_refused, prefs, 60000));
  settle (200);
  save_screenshot (prefs, "08f-preferences-quantize-refused");

  gtk_window_destroy (GTK_WINDOW (prefs));
  g_settings_reset (settings, "model-path");
  g_settings_reset (settings, "quantization");
  settle (100);
}

/* A re-cut interrupted (the settings saved, documents still cut the old
 * way) is finished by the window when it opens the library. */
static void
test_window_rechunk_resume (void)
{
  g_autofree char *library = g_build_filename (tmpdir, "library.db", NULL);
  g_autoptr(DocentStore) store = NULL;
  DocentWindow *window;

  if (!g_file_test (library, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("needs the story's library");
      return;
    }
  store = docent_store_open (library, NULL);
  g_assert_nonnull (store);
  g_assert_true (docent_chunking_set (store, 600, 100, NULL));
  g_assert_cmpint (docent_rechunker_count_pending (store, NULL), >, 0);
  g_clear_object (&store);

  g_settings_set_string (settings, "library-path", library);
  window = docent_window_new (NULL);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (wait_for (importing, window, PATIENCE_MS));
  g_assert_true (wait_for (not_importing, window, PATIENCE_MS));
  store = docent_store_open (library, NULL);
  g_assert_cmpint (docent_rechunker_count_pending (store, NULL), ==, 0);
  gtk_window_destroy (GTK_WINDOW (window));
  settle (100);
}

/* A re-embedding interrupted (the model recorded in the library file,
 * passages still without its vectors) is finished by the window when it
 * opens the library. */
static void
test_window_reembed_resume (void)
{
  g_autofree char *library = g_build_filename (tmpdir, "library.db", NULL);
  g_autofree char *model = NULL;
  g_autoptr(DocentStore) store = NULL;
  ReembedMeter meter = { 0 };
  DocentWindow *window;

  if (!g_file_test (library, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("needs the story's library");
      return;
    }
  model = make_embedding_model ();
  store = docent_store_open (library, NULL);
  g_assert_nonnull (store);
  g_assert_true (docent_embedding_model_set (store, model, NULL));
  g_assert_cmpint (sqlite3_exec (docent_store_get_db (store),
                                 "DELETE FROM chunk_vectors WHERE embedder LIKE 'gguf-%'",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  g_clear_object (&store);
  g_assert_cmpint (count_unembedded (library, model), >, 0);

  g_settings_set_string (settings, "library-path", library);
  window = docent_window_new (NULL);
  g_signal_connect (_docent_window_get_library (window), "reembed-started",
                    G_CALLBACK (count_reembed_started), &meter);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (wait_for (importing, window, PATIENCE_MS));
  g_assert_true (wait_for (not_importing, window, PATIENCE_MS));
  g_assert_cmpuint (meter.reembed_started, ==, 1);
  g_assert_cmpstr (docent_library_get_embedding_model (_docent_window_get_library (window)), ==, model);
  g_assert_cmpint (count_unembedded (library, model), ==, 0);
  gtk_window_destroy (GTK_WINDOW (window));
  settle (100);
}

/* Stop while a manual is embedded for a new model: what was written
 * stays, the choice is kept, and the window goes on when it opens the
 * library again. */
static void
test_window_reembed_stop (void)
{
  const char *manual = "/usr/share/R/doc/manual/R-intro.pdf";
  g_autofree char *library = g_build_filename (tmpdir, "reembed-library.db", NULL);
  g_autofree char *model = NULL;
  g_autofree char *recorded = NULL;
  ReembedMeter meter = { 0 };
  DocentWindow *window;
  gint64 missing;
  int status = -1;

  if (!g_file_test (manual, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the R manuals (r-doc-pdf) are not installed");
      return;
    }
  model = make_embedding_model ();
  /* Hundreds of passages: the model takes minutes over them. */
  {
    const char *argv[] = { g_getenv ("DOCENT_BIN"), "--library", library, "import", manual, NULL };

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL,
                                 G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                 NULL, NULL, NULL, NULL, &status, NULL));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }
  g_settings_set_string (settings, "library-path", library);
  window = docent_window_new (NULL);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (wait_for (library_loaded, window, PATIENCE_MS));
  g_assert_true (wait_for (not_importing, window, PATIENCE_MS));
  g_signal_connect (_docent_window_get_library (window), "rechunk-progress",
                    G_CALLBACK (count_reembed_progress), &meter);
  docent_library_set_embedding_model (_docent_window_get_library (window), model);
  g_assert_true (wait_for (embedding_counted, &meter, PATIENCE_MS));
  settle (300);
  save_screenshot (GTK_WIDGET (window), "10b-reembedding");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.cancel-import", NULL);
  /* The groups of 16 passages in flight finish first: a bound for a
   * loaded machine, not a time. */
  g_assert_true (wait_for (not_importing, window, STOP_PATIENCE_MS));
  settle (200);
  g_assert_false (gtk_revealer_get_reveal_child (window->import_revealer));
  recorded = dup_recorded_model (library);
  g_assert_cmpstr (recorded, ==, model);
  /* Stopped long before its round (up to 2,048 passages, written together) was through */
  missing = count_unembedded (library, model);
  g_assert_cmpint (missing, >, 0);
  gtk_window_destroy (GTK_WINDOW (window));
  settle (100);

  /* Opened again, the library goes on embedding (stopped again here: a
   * random model over a manual takes minutes). */
  memset (&meter, 0, sizeof meter);
  window = docent_window_new (NULL);
  g_signal_connect (_docent_window_get_library (window), "reembed-started",
                    G_CALLBACK (count_reembed_started), &meter);
  g_signal_connect (_docent_window_get_library (window), "rechunk-progress",
                    G_CALLBACK (count_reembed_progress), &meter);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (wait_for (embedding_counted, &meter, PATIENCE_MS));
  g_assert_cmpuint (meter.reembed_started, ==, 1);
  g_assert_cmpstr (docent_library_get_embedding_model (_docent_window_get_library (window)), ==, model);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.cancel-import", NULL);
  /* The groups of 16 passages in flight finish first: a bound for a
   * loaded machine, not a time. */
  g_assert_true (wait_for (not_importing, window, STOP_PATIENCE_MS));
  gtk_window_destroy (GTK_WINDOW (window));
  settle (100);
}

/* A manual check on real data: DOCENT_TEST_LIBRARY=FILE DOCENT_TEST_QUERY=TEXT
 * opens that library, searches, opens the first result and saves
 * real-search.png and real-citation.png. Skipped unless both are set. */
static void
test_window_real (void)
{
  const char *library = g_getenv ("DOCENT_TEST_LIBRARY");
  const char *query = g_getenv ("DOCENT_TEST_QUERY");
  DocentWindow *window;
  DocentCitationView *view;

  if (library == NULL || query == NULL)
    {
      g_test_skip ("set DOCENT_TEST_LIBRARY and DOCENT_TEST_QUERY to look at real data");
      return;
    }
  g_settings_set_string (settings, "library-path", library);
  window = docent_window_new (NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 860);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (wait_for (library_loaded, window, 20000));
  run_query (window, "search", query);
  settle (300);
  save_screenshot (GTK_WIDGET (window), "real-search");
  view = _docent_window_get_citation_view (window);
  g_signal_emit_by_name (_docent_window_get_results_list (window), "row-activated", first_result_row (window));
  g_assert_true (wait_for (citation_loaded, view, 20000));
  settle (500);
  save_screenshot (GTK_WIDGET (window), "real-citation");
  g_test_message ("page %u, %u highlights", docent_citation_view_get_page (view),
                  docent_citation_view_get_n_highlights (view));
  gtk_window_destroy (GTK_WINDOW (window));
  settle (100);
}

static void
test_snippet_markup (void)
{
  g_autoptr(GArray) hl = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 pairs[] = { 4, 9 };
  g_autofree char *markup = NULL;

  g_array_append_vals (hl, pairs, 2);
  markup = docent_markup_snippet ("The <data>\n\nframe & more", hl, 100);
  g_assert_cmpstr (markup, ==,
                   "The <span weight=\"bold\" background=\"#f6d32d\" bgalpha=\"45%\">&lt;data</span>&gt; frame &amp; more");
  g_assert_true (pango_parse_markup (markup, -1, 0, NULL, NULL, NULL, NULL));
}

static void
test_no_display (void)
{
  g_test_skip ("no display: the window tests run under xvfb-run (tests/run-tests)");
}

int
main (int argc, char **argv)
{
  int ret;

  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  /* Copies of models go to the data folder: a temporary one, and model
   * discovery looks nowhere else. Before anything reads the variable. */
  tmpdir = docent_test_make_tmpdir ("docent-app");
  {
    g_autofree char *data = g_build_filename (tmpdir, "data", NULL);
    g_autofree char *none = g_build_filename (tmpdir, "no-models", NULL);
    g_setenv ("XDG_DATA_HOME", data, TRUE);
    g_setenv ("DOCENT_MODEL_DIRS", none, TRUE);
  }
  g_setenv ("GSK_RENDERER", "cairo", TRUE);
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_setenv ("NO_AT_BRIDGE", "1", TRUE);
  g_test_init (&argc, &argv, NULL);

  /* LANGUAGE=ko runs the same story in Korean, with the catalog just built. */
  setlocale (LC_ALL, "");
  {
    g_autofree char *localedir = g_build_filename (g_test_get_dir (G_TEST_BUILT), "..", "..", "po", NULL);
    bindtextdomain (GETTEXT_PACKAGE, localedir);
    bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
    textdomain (GETTEXT_PACKAGE);
  }

  g_test_add_func ("/app/snippet/markup", test_snippet_markup);

  if (!gtk_init_check ())
    {
      g_test_add_func ("/app/window/story", test_no_display);
      g_printerr ("No display: the window tests need one (run under xvfb-run)\n");
      return g_test_run ();
    }
  adw_init ();
  docent_ensure_resources ();
  /* GTK 4.8 warns (fatal in tests) when a page unmaps while one of its
   * adjustments is animating a scroll; tests do not need the animations. */
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);
  {
    /* GtkApplication adds these for the real app. */
    gtk_icon_theme_add_resource_path (gtk_icon_theme_get_for_display (gdk_display_get_default ()),
                                      "/io/github/docent/Docent/icons");
    g_autoptr(GtkCssProvider) css = gtk_css_provider_new ();
    gtk_css_provider_load_from_resource (css, "/io/github/docent/Docent/style.css");
    gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                                GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  }

  {
    g_autofree char *library = g_build_filename (tmpdir, "library.db", NULL);
    settings = g_settings_new (APP_ID);
    g_settings_set_string (settings, "library-path", library);
  }

  g_test_add_func ("/app/window/story", test_window_story);
  g_test_add_func ("/app/window/rechunk-resume", test_window_rechunk_resume);
  g_test_add_func ("/app/window/password", test_window_password);
  g_test_add_func ("/app/preferences/quantize", test_preferences_quantize);
  g_test_add_func ("/app/window/progress", test_window_progress);
  g_test_add_func ("/app/window/resume", test_window_resume);
  g_test_add_func ("/app/window/reembed-resume", test_window_reembed_resume);
  g_test_add_func ("/app/window/reembed-stop", test_window_reembed_stop);
  g_test_add_func ("/app/window/real", test_window_real);
  ret = g_test_run ();

  g_clear_object (&settings);
  docent_test_rm_rf (tmpdir);
  g_free (tmpdir);
  return ret;
}
