/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "docent-application.h"

G_BEGIN_DECLS

#define DOCENT_TYPE_WINDOW (docent_window_get_type ())
G_DECLARE_FINAL_TYPE (DocentWindow, docent_window, DOCENT, WINDOW, AdwApplicationWindow)

DocentWindow *docent_window_new          (DocentApplication *app);
/* Imports files and folders into the window's library, as a drop does. */
void          docent_window_import_files (DocentWindow      *self,
                                          GFile            **files,
                                          guint              n_files);

/* Types @text into the entry in ask or search mode and runs it. */
void          docent_window_query        (DocentWindow      *self,
                                          gboolean           ask,
                                          const char        *text);

G_END_DECLS
