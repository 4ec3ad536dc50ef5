/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "docent-error.h"

G_DEFINE_QUARK (docent-error-quark, docent_error)
