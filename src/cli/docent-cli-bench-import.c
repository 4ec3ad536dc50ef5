/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-cli"
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docent-cli.h"

/* `docent bench import`: pages per second importing the seven R manuals into
 * a fresh library, and peak memory importing fullrefman.pdf, each next to
 * serial pdftotext on the same files measured in the same run; and adding
 * one manual to a library that holds the six others (where the workers
 * embed with the frozen statistics). Each import is measured with its
 * vectors (what `docent import` does) and without (`--no-embed`, keyword
 * search only). Every import runs as a child `docent import`, so its time
 * and peak RSS are its own. */

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      g_remove (child);
    }
  g_rmdir (path);
}

static const char *manuals[] = { "R-FAQ", "R-admin", "R-data", "R-exts", "R-intro", "R-ints", "R-lang" };

typedef struct {
  double wall_s;
  double max_rss_mib;
  int    status;
} ChildRun;

static gboolean
run_child (char **argv, ChildRun *out, GError **error)
{
  struct rusage ru = { 0 };
  GPid pid;
  gint64 start = g_get_monotonic_time ();
  int status = 0;

  if (!g_spawn_async (NULL, argv, NULL,
                      G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL |
                      G_SPAWN_SEARCH_PATH, NULL, NULL, &pid, error))
    return FALSE;
  if (wait4 (pid, &status, 0, &ru) != pid)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "wait4 failed");
      return FALSE;
    }
  out->wall_s = (g_get_monotonic_time () - start) / 1e6;
  out->max_rss_mib = ru.ru_maxrss / 1024.0;
  out->status = status;
  return TRUE;
}

static double
time_pdftotext (GPtrArray *files, GError **error)
{
  double total = 0;

  for (guint i = 0; i < files->len; i++)
    {
      char *argv[] = { "pdftotext", files->pdata[i], "/dev/null", NULL };
      ChildRun run;
      if (!run_child (argv, &run, error))
        return -1;
      total += run.wall_s;
    }
  return total;
}

static int
count_pages (GPtrArray *files)
{
  /* Asked of the library afterwards would need a store here; pdfinfo keeps
   * this file independent of core. */
  int total = 0;

  for (guint i = 0; i < files->len; i++)
    {
      const char *argv[] = { "pdfinfo", files->pdata[i], NULL };
      g_autofree char *out = NULL;
      const char *p;
      if (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                        NULL, NULL, &out, NULL, NULL, NULL) &&
          (p = strstr (out, "\nPages:")) != NULL)
        total += atoi (p + 7);
    }
  return total;
}

static gboolean import_child (const char *self_exe, const char *library, GPtrArray *files,
                              int workers, gboolean no_embed, ChildRun *out, GError **error);

/* Imports @files into fresh libraries in @dir, with vectors and without
 * (--no-embed), or, with @base, into copies of that library; keeps the best
 * of @repeats of each. */
static gboolean
copy_file (const char *from, const char *to, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;

  return g_file_get_contents (from, &data, &len, error) &&
         g_file_set_contents (to, data, len, error);
}

static gboolean
bench_import (const char *self_exe, const char *dir, const char *tag, const char *base,
              GPtrArray *files, int workers, int repeats, ChildRun *best, ChildRun *best_plain,
              GError **error)
{
  best->wall_s = G_MAXDOUBLE;
  best_plain->wall_s = G_MAXDOUBLE;
  for (int r = 0; r < repeats; r++)
    for (int plain = 0; plain <= 1; plain++)
      {
        g_autofree char *library = g_strdup_printf ("%s/%s-%d-%d.db", dir, tag, r, plain);
        ChildRun run;

        if (base != NULL && !copy_file (base, library, error))
          return FALSE;
        if (!import_child (self_exe, library, files, workers, plain, &run, error))
          return FALSE;
        if (plain && run.wall_s < best_plain->wall_s)
          *best_plain = run;
        if (!plain && run.wall_s < best->wall_s)
          *best = run;
      }
  return TRUE;
}

static gboolean
import_child (const char *self_exe, const char *library, GPtrArray *files, int workers,
              gboolean no_embed, ChildRun *out, GError **error)
{
    {
      g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
      ChildRun run;

      g_ptr_array_add (argv, g_strdup (self_exe));
      g_ptr_array_add (argv, g_strdup ("--library"));
      g_ptr_array_add (argv, g_strdup (library));
      g_ptr_array_add (argv, g_strdup ("import"));
      if (no_embed)
        g_ptr_array_add (argv, g_strdup ("--no-embed"));
      if (workers > 0)
        g_ptr_array_add (argv, g_strdup_printf ("--workers=%d", workers));
      for (guint i = 0; i < files->len; i++)
        g_ptr_array_add (argv, g_strdup (files->pdata[i]));
      g_ptr_array_add (argv, NULL);
      if (!run_child ((char **) argv->pdata, &run, error))
        return FALSE;
      if (!WIFEXITED (run.status) || WEXITSTATUS (run.status) != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "docent import failed (status %d)", run.status);
          return FALSE;
        }
      *out = run;
    }
  return TRUE;
}

int
docent_cli_bench_import (DocentCliGlobal *global, int argc, char **argv)
{
  g_autofree char *dir_opt = NULL;
  gboolean json = FALSE;
  gboolean skip_full = FALSE;
  int workers = 0;
  int repeats = 3;
  const GOptionEntry entries[] = {
    { "manuals-dir", 0, 0, G_OPTION_ARG_FILENAME, &dir_opt, N_("Where the R manuals are (default /usr/share/R/doc/manual)"), N_("DIR") },
    { "workers", 0, 0, G_OPTION_ARG_INT, &workers, N_("Import workers (default: one per core)"), N_("N") },
    { "repeats", 0, 0, G_OPTION_ARG_INT, &repeats, N_("Runs of each measurement; the best counts"), N_("N") },
    { "skip-fullrefman", 0, 0, G_OPTION_ARG_NONE, &skip_full, N_("Only the seven manuals"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the figures as JSON"), NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) full = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *self_exe = NULL;
  g_autofree char *tmp = NULL;
  const char *dir;
  ChildRun manuals_run = { 0 }, full_run = { 0 }, add_run = { 0 };
  ChildRun manuals_plain = { 0 }, full_plain = { 0 }, add_plain = { 0 };
  double pdftotext_s = 0, full_pdftotext_s = 0, add_pdftotext_s = 0;
  int pages, full_pages = 0, add_pages;
  g_autoptr(GPtrArray) others = g_ptr_array_new ();
  g_autoptr(GPtrArray) added = g_ptr_array_new ();
  g_autofree char *base = NULL;

  if (!docent_cli_parse (global, "bench import", "", entries, &argc, &argv))
    return DOCENT_EXIT_USAGE;
  repeats = CLAMP (repeats, 1, 20);
  dir = dir_opt ? dir_opt : "/usr/share/R/doc/manual";
  for (guint i = 0; i < G_N_ELEMENTS (manuals); i++)
    {
      char *path = g_strdup_printf ("%s/%s.pdf", dir, manuals[i]);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_printerr (_("docent bench import: %s is missing (install r-doc-pdf)\n"), path);
          g_free (path);
          return DOCENT_EXIT_PARTIAL;
        }
      g_ptr_array_add (files, path);
    }
  g_ptr_array_add (full, g_build_filename (dir, "fullrefman.pdf", NULL));
  if (!g_file_test (full->pdata[0], G_FILE_TEST_EXISTS))
    skip_full = TRUE;

  self_exe = g_file_read_link ("/proc/self/exe", NULL);
  tmp = g_dir_make_tmp ("docent-bench-XXXXXX", &error);
  if (tmp == NULL)
    {
      g_printerr ("docent bench import: %s\n", error->message);
      return DOCENT_EXIT_PARTIAL;
    }

  pages = count_pages (files);
  /* Warm the page cache for both contenders. */
  time_pdftotext (files, NULL);
  pdftotext_s = G_MAXDOUBLE;
  for (int r = 0; r < repeats; r++)
    {
      /* One run per round: MIN () would evaluate the call twice. */
      double s = time_pdftotext (files, &error);
      pdftotext_s = MIN (pdftotext_s, s);
    }
  if (pdftotext_s < 0 ||
      !bench_import (self_exe, tmp, "manuals", NULL, files, workers, repeats, &manuals_run, &manuals_plain, &error))
    goto fail;

  /* R-intro added to a library of the six others, vectors and all. */
  for (guint i = 0; i < files->len; i++)
    g_ptr_array_add (g_str_has_suffix (files->pdata[i], "/R-intro.pdf") ? added : others, files->pdata[i]);
  add_pages = count_pages (added);
  base = g_build_filename (tmp, "base.db", NULL);
  add_pdftotext_s = G_MAXDOUBLE;
  for (int r = 0; r < repeats; r++)
    {
      double s = time_pdftotext (added, &error);
      add_pdftotext_s = MIN (add_pdftotext_s, s);
    }
  if (add_pdftotext_s < 0 ||
      !import_child (self_exe, base, others, workers, FALSE, &add_run, &error) ||
      !bench_import (self_exe, tmp, "added", base, added, workers, repeats, &add_run, &add_plain, &error))
    goto fail;

  if (!skip_full)
    {
      full_pages = count_pages (full);
      full_pdftotext_s = time_pdftotext (full, &error);
      if (full_pdftotext_s < 0 ||
          !bench_import (self_exe, tmp, "fullrefman", NULL, full, workers, 1, &full_run, &full_plain, &error))
        goto fail;
    }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "cores"); json_builder_add_int_value (b, g_get_num_processors ());
      json_builder_set_member_name (b, "manuals");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "pages"); json_builder_add_int_value (b, pages);
      json_builder_set_member_name (b, "import_s"); json_builder_add_double_value (b, manuals_run.wall_s);
      json_builder_set_member_name (b, "pages_per_s"); json_builder_add_double_value (b, pages / manuals_run.wall_s);
      json_builder_set_member_name (b, "pdftotext_serial_s"); json_builder_add_double_value (b, pdftotext_s);
      json_builder_set_member_name (b, "ratio_to_pdftotext"); json_builder_add_double_value (b, manuals_run.wall_s / pdftotext_s);
      json_builder_set_member_name (b, "peak_rss_mib"); json_builder_add_double_value (b, manuals_run.max_rss_mib);
      json_builder_set_member_name (b, "no_embed_s"); json_builder_add_double_value (b, manuals_plain.wall_s);
      json_builder_set_member_name (b, "no_embed_ratio_to_pdftotext"); json_builder_add_double_value (b, manuals_plain.wall_s / pdftotext_s);
      json_builder_set_member_name (b, "no_embed_peak_rss_mib"); json_builder_add_double_value (b, manuals_plain.max_rss_mib);
      json_builder_end_object (b);
      json_builder_set_member_name (b, "added");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "pages"); json_builder_add_int_value (b, add_pages);
      json_builder_set_member_name (b, "import_s"); json_builder_add_double_value (b, add_run.wall_s);
      json_builder_set_member_name (b, "pdftotext_serial_s"); json_builder_add_double_value (b, add_pdftotext_s);
      json_builder_set_member_name (b, "ratio_to_pdftotext"); json_builder_add_double_value (b, add_run.wall_s / add_pdftotext_s);
      json_builder_set_member_name (b, "no_embed_s"); json_builder_add_double_value (b, add_plain.wall_s);
      json_builder_set_member_name (b, "no_embed_ratio_to_pdftotext"); json_builder_add_double_value (b, add_plain.wall_s / add_pdftotext_s);
      json_builder_end_object (b);
      if (!skip_full)
        {
          json_builder_set_member_name (b, "fullrefman");
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "pages"); json_builder_add_int_value (b, full_pages);
          json_builder_set_member_name (b, "import_s"); json_builder_add_double_value (b, full_run.wall_s);
          json_builder_set_member_name (b, "pages_per_s"); json_builder_add_double_value (b, full_pages / full_run.wall_s);
          json_builder_set_member_name (b, "pdftotext_serial_s"); json_builder_add_double_value (b, full_pdftotext_s);
          json_builder_set_member_name (b, "ratio_to_pdftotext"); json_builder_add_double_value (b, full_run.wall_s / full_pdftotext_s);
          json_builder_set_member_name (b, "peak_rss_mib"); json_builder_add_double_value (b, full_run.max_rss_mib);
          json_builder_set_member_name (b, "no_embed_s"); json_builder_add_double_value (b, full_plain.wall_s);
          json_builder_set_member_name (b, "no_embed_ratio_to_pdftotext"); json_builder_add_double_value (b, full_plain.wall_s / full_pdftotext_s);
          json_builder_set_member_name (b, "no_embed_peak_rss_mib"); json_builder_add_double_value (b, full_plain.max_rss_mib);
          json_builder_end_object (b);
        }
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      docent_cli_print_json (root);
    }
  else
    {
      g_print (_("Import benchmark (%u cores, best of %d)\n"), g_get_num_processors (), repeats);
      g_print (_("  seven R manuals: %d pages in %.2f s = %.0f pages/s with vectors; serial pdftotext %.2f s; ratio %.2f×; peak RSS %.0f MiB\n"),
               pages, manuals_run.wall_s, pages / manuals_run.wall_s, pdftotext_s,
               manuals_run.wall_s / pdftotext_s, manuals_run.max_rss_mib);
      g_print (_("                   keyword search only (--no-embed) %.2f s, ratio %.2f×, peak RSS %.0f MiB\n"),
               manuals_plain.wall_s, manuals_plain.wall_s / pdftotext_s, manuals_plain.max_rss_mib);
      g_print (_("  R-intro added to the six others: %d pages in %.2f s with vectors; serial pdftotext %.2f s; ratio %.2f× (--no-embed %.2f×)\n"),
               add_pages, add_run.wall_s, add_pdftotext_s, add_run.wall_s / add_pdftotext_s,
               add_plain.wall_s / add_pdftotext_s);
      if (!skip_full)
        {
          g_print (_("  fullrefman.pdf:  %d pages in %.2f s = %.0f pages/s with vectors; serial pdftotext %.2f s; ratio %.2f×; peak RSS %.0f MiB\n"),
                   full_pages, full_run.wall_s, full_pages / full_run.wall_s, full_pdftotext_s,
                   full_run.wall_s / full_pdftotext_s, full_run.max_rss_mib);
          g_print (_("                   keyword search only (--no-embed) %.2f s, ratio %.2f×, peak RSS %.0f MiB\n"),
                   full_plain.wall_s, full_plain.wall_s / full_pdftotext_s, full_plain.max_rss_mib);
        }
    }
  remove_tree (tmp);
  return DOCENT_EXIT_OK;

fail:
  g_printerr ("docent bench import: %s\n", error ? error->message : "failed");
  remove_tree (tmp);
  return DOCENT_EXIT_PARTIAL;
}
