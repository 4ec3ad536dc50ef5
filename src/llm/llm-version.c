/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Keeps the engine library non-empty until its first real file lands. */
const char *llm_version (void) { return "0.1"; }
