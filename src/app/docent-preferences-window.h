/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define DOCENT_TYPE_PREFERENCES_WINDOW (docent_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (DocentPreferencesWindow, docent_preferences_window, DOCENT, PREFERENCES_WINDOW, AdwPreferencesWindow)

/* Per-user choices, every row bound to GSettings. The models page has room
 * for the model manager (discovered models, quantization jobs). */
GtkWidget *docent_preferences_window_new (GtkWindow *parent,
                                          GSettings *settings);
/* What the Back Up… button does once a file is chosen (tests call it). */
void       _docent_preferences_window_backup (DocentPreferencesWindow *self,
                                              const char              *dest);

G_END_DECLS
