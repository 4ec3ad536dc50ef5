/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define DOCENT_TYPE_PREFERENCES_WINDOW (docent_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (DocentPreferencesWindow, docent_preferences_window, DOCENT, PREFERENCES_WINDOW, AdwPreferencesWindow)

/* Per-user choices, every row bound to GSettings, and the model manager:
 * models found on this computer, quantized copies made in the background.
 * Per-library ones (passages, embedding model) are those of the parent
 * window's library, kept in the library file. */
GtkWidget *docent_preferences_window_new (GtkWindow *parent,
                                          GSettings *settings);
/* What the Back Up… button does once a file is chosen (tests call it). */
void       _docent_preferences_window_backup (DocentPreferencesWindow *self,
                                              const char              *dest);

/* For tests: a quantized copy is being made; @path is in the list of
 * models on this computer. */
gboolean   _docent_preferences_window_get_quantizing (DocentPreferencesWindow *self);
gboolean   _docent_preferences_window_lists_model    (DocentPreferencesWindow *self,
                                                      const char              *path);
/* The "Use for Chat" / "Use for Search" button of that model's row, or NULL. */
GtkWidget *_docent_preferences_window_get_use_button (DocentPreferencesWindow *self,
                                                      const char              *path);

G_END_DECLS
