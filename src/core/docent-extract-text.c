/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-extract"

#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "docent-error.h"
#include "docent-extract-private.h"

/* Text is read and fed to the chunker in blocks, so that memory stays
 * bounded however large the file is. */
#define BLOCK_SIZE   (256 * 1024)
/* Bytes kept back from one block for the next: an incomplete character, or
 * the start of non-ASCII text too short to tell its encoding from. */
#define MAX_CARRY    64

typedef enum {
  ENC_UNDECIDED,    /* only ASCII so far: valid in every encoding we accept */
  ENC_UTF8,
  ENC_UTF16LE,
  ENC_UTF16BE,
  ENC_KOREAN,       /* CP949, of which EUC-KR is a subset */
} Encoding;

typedef struct {
  const char    *path;
  char          *name;
  DocentChunker *chunker;
  GCancellable  *cancellable;
  Encoding       enc;
  gboolean       bom;
  gboolean       cp949_only;  /* saw a byte pair outside EUC-KR */
  GIConv         cd;
  guint64        offset;      /* file offset of the data being processed */
  gint64         n_visible;
  char          *out;
  gsize          out_size;
} Reader;

static const char replacement[] = "\xef\xbf\xbd";  /* U+FFFD */

static void
set_encoding_error (Reader  *r,
                    guint64  offset,
                    guint8   byte,
                    GError **error)
{
  g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_ENCODING,
               _("“%s” is not text in an encoding Docent can read (UTF-8, UTF-16 with a byte order mark, "
                 "or Korean CP949/EUC-KR): invalid byte 0x%02X at offset %llu. "
                 "Convert it to UTF-8 (for example: iconv -f ENCODING -t UTF-8 FILE > NEW.txt) and import it again."),
               r->name, byte, (unsigned long long) offset);
}

static gboolean
is_control (guint8 b)
{
  /* Tab, line feed, vertical tab, form feed, carriage return, escape (terminal
   * colours) and Ctrl-Z (old DOS end of file) all turn up in real text. */
  if (b == 0x7f)
    return TRUE;
  if (b >= 0x20)
    return FALSE;
  return !(b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r' ||
           b == 0x1b || b == 0x1a);
}

/* Binary data shows itself by NUL bytes or by many control characters. For
 * UTF-8 and CP949 this runs on the raw bytes (a byte below 0x80 is always
 * ASCII there), for UTF-16 on the decoded text. */
static gboolean
check_binary (Reader        *r,
              const guint8  *p,
              gsize          len,
              guint64        offset,
              GError       **error)
{
  const guint8 *nul;
  gsize n_ctrl = 0;

  nul = memchr (p, 0, len);
  if (nul != NULL)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_BINARY,
                   _("“%s” contains binary data (a NUL byte near offset %llu), not text. "
                     "It is probably another kind of file with a text file's name; import the original document instead."),
                   r->name, (unsigned long long) (offset + (guint64) (nul - p)));
      return FALSE;
    }

  for (gsize i = 0; i < len; i++)
    n_ctrl += is_control (p[i]);

  if (n_ctrl > 0 && n_ctrl * 20 > len)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_BINARY,
                   _("“%s” contains binary data (%zu control characters in %zu bytes near offset %llu), not text. "
                     "It is probably another kind of file with a text file's name; import the original document instead."),
                   r->name, n_ctrl, len, (unsigned long long) offset);
      return FALSE;
    }

  return TRUE;
}

/* Hands valid UTF-8 to the chunker. */
static gboolean
emit (Reader      *r,
      const char  *utf8,
      gsize        len,
      GError     **error)
{
  if (len == 0)
    return TRUE;

  /* Visible characters: not ASCII whitespace, counted once per character
   * (continuation bytes 10xxxxxx are skipped). */
  for (gsize i = 0; i < len; i++)
    {
      guint8 b = (guint8) utf8[i];
      if ((b & 0xc0) == 0x80)
        continue;
      if (b == ' ' || (b >= '\t' && b <= '\r'))
        continue;
      r->n_visible++;
    }

  if (!docent_chunker_feed (r->chunker, utf8, (gssize) len))
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_CANCELLED,
                   _("Reading “%s” was cancelled. Import it again to finish."), r->name);
      return FALSE;
    }
  return TRUE;
}

static const char *
iconv_name (Encoding enc)
{
  switch (enc)
    {
    case ENC_UTF16LE:
      return "UTF-16LE";
    case ENC_UTF16BE:
      return "UTF-16BE";
    case ENC_KOREAN:
      return "CP949";
    case ENC_UNDECIDED:
    case ENC_UTF8:
    default:
      g_assert_not_reached ();
    }
}

static gboolean
open_converter (Reader  *r,
                GError **error)
{
  const char *from = iconv_name (r->enc);

  r->cd = g_iconv_open ("UTF-8", from);
  if (r->cd == (GIConv) -1)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_ENCODING,
                   _("“%s” is %s text, but this system cannot convert %s. "
                     "Install the iconv conversion modules (glibc's gconv) or convert the file to UTF-8 and import it again."),
                   r->name, from, from);
      return FALSE;
    }
  /* CP949 and UTF-16 take at most 3 bytes of UTF-8 per 2 bytes of input. */
  r->out_size = BLOCK_SIZE * 2 + MAX_CARRY;
  r->out = g_malloc (r->out_size);
  return TRUE;
}

/* Notes whether the CP949 bytes in @p stay inside EUC-KR (both bytes of a
 * pair in 0xA1..0xFE); @p starts on a character boundary. */
static void
scan_korean (Reader       *r,
             const guint8 *p,
             gsize         len)
{
  gsize i = 0;

  while (i < len && !r->cp949_only)
    {
      if (p[i] < 0x80)
        {
          i++;
          continue;
        }
      if (i + 1 < len && (p[i] < 0xa1 || p[i + 1] < 0xa1))
        r->cp949_only = TRUE;
      i += 2;
    }
}

/* Converts with iconv and emits. Returns the number of bytes consumed; at
 * the end of the file an incomplete last character becomes U+FFFD. */
static gboolean
convert_block (Reader       *r,
               const guint8 *data,
               gsize         len,
               gboolean      eof,
               gsize        *consumed,
               GError      **error)
{
  char *inbuf = (char *) data;
  gsize inleft = len;

  while (inleft > 0)
    {
      char *outbuf = r->out;
      gsize outleft = r->out_size;
      gsize res;
      int errsv;
      gsize produced;

      res = g_iconv (r->cd, &inbuf, &inleft, &outbuf, &outleft);
      errsv = errno;
      produced = (gsize) (outbuf - r->out);

      if (r->enc != ENC_KOREAN &&
          !check_binary (r, (const guint8 *) r->out, produced,
                         r->offset + (guint64) ((const guint8 *) inbuf - data), error))
        return FALSE;
      if (!emit (r, r->out, produced, error))
        return FALSE;

      if (res != (gsize) -1)
        continue;
      if (errsv == E2BIG)
        continue;
      if (errsv == EINVAL)
        {
          /* An incomplete character at the end of the data. */
          if (!eof)
            break;
          if (!emit (r, replacement, strlen (replacement), error))
            return FALSE;
          inleft = 0;
          break;
        }
      set_encoding_error (r, r->offset + (guint64) ((const guint8 *) inbuf - data),
                          *(const guint8 *) inbuf, error);
      return FALSE;
    }

  if (r->enc == ENC_KOREAN)
    scan_korean (r, data, len - inleft);

  *consumed = len - inleft;
  return TRUE;
}

static gboolean
is_hangul (gunichar c)
{
  return (c >= 0xac00 && c <= 0xd7a3) ||   /* syllables */
         (c >= 0x1100 && c <= 0x11ff) ||   /* jamo */
         (c >= 0x3130 && c <= 0x318f);     /* compatibility jamo */
}

/* Would @p (starting at the first non-ASCII byte) read as Korean? It must
 * convert from CP949 without errors and its letters be mostly Hangul, so
 * that Latin-1 text that happens to form valid CP949 pairs is not taken for
 * Korean. */
static gboolean
looks_korean (Reader       *r,
              const guint8 *p,
              gsize         len,
              gboolean      eof)
{
  g_autofree char *out = NULL;
  GIConv cd;
  char *inbuf = (char *) p;
  gsize inleft = len;
  char *outbuf;
  gsize outleft;
  gsize res;
  int errsv;
  gsize n_other = 0, n_hangul = 0;

  cd = g_iconv_open ("UTF-8", "CP949");
  if (cd == (GIConv) -1)
    return FALSE;

  outleft = len * 2 + 4;
  out = g_malloc (outleft);
  outbuf = out;
  res = g_iconv (cd, &inbuf, &inleft, &outbuf, &outleft);
  errsv = errno;
  g_iconv_close (cd);

  if (res == (gsize) -1 && !(errsv == EINVAL && !eof))
    return FALSE;

  for (const char *s = out; s < outbuf; s = g_utf8_next_char (s))
    {
      gunichar c = g_utf8_get_char (s);
      /* Only letters count: Korean text also uses CP949's many symbols
       * (box drawing, circled numbers) and those say nothing. */
      if (c < 0x80 || !g_unichar_isalpha (c))
        continue;
      if (is_hangul (c))
        n_hangul++;
      else
        n_other++;
    }
  if (n_hangul == 0 || n_hangul < n_other)
    return FALSE;

  /* Real Korean text is mostly made of the 2,350 common syllables of
   * KS X 1001 (both bytes >= 0xA1). Latin-1 such as "Ärger" also converts,
   * to rare UHC syllables whose second byte is an ASCII letter. */
  {
    gsize n_common = 0, n_rare = 0;

    for (gsize i = 0; i + 1 < len;)
      {
        if (p[i] < 0x80)
          {
            i++;
            continue;
          }
        if (p[i + 1] >= 0xa1)
          n_common++;
        else
          n_rare++;
        i += 2;
      }
    return n_common >= n_rare;
  }
}

/* Is everything from @p valid UTF-8, apart from an incomplete character at
 * the very end of data that goes on in the next block? */
static gboolean
valid_utf8_prefix (const guint8 *p,
                   gsize         len,
                   gboolean      eof,
                   gsize        *valid_len)
{
  const char *end;

  if (g_utf8_validate_len ((const char *) p, len, &end))
    {
      *valid_len = len;
      return TRUE;
    }

  *valid_len = (gsize) ((const guint8 *) end - p);
  return !eof && len - *valid_len < 4 &&
         g_utf8_get_char_validated (end, (gssize) (len - *valid_len)) == (gunichar) -2;
}

/* Processes one block; *consumed tells how much of it was used (the rest is
 * carried to the next block). At eof everything must be consumed. */
static gboolean
process_block (Reader       *r,
               const guint8 *data,
               gsize         len,
               gboolean      eof,
               gsize        *consumed,
               GError      **error)
{
  gsize valid_len;

  if (r->enc != ENC_UTF16LE && r->enc != ENC_UTF16BE &&
      !check_binary (r, data, len, r->offset, error))
    return FALSE;

  if (r->enc == ENC_UNDECIDED)
    {
      gsize first_hi = 0;

      while (first_hi < len && data[first_hi] < 0x80)
        first_hi++;

      if (first_hi == len)
        {
          *consumed = len;
          return emit (r, (const char *) data, len, error);
        }

      /* Too little non-ASCII text to judge: send the ASCII on, and judge
       * with the next block. */
      if (!eof && len - first_hi < MAX_CARRY)
        {
          *consumed = first_hi;
          return emit (r, (const char *) data, first_hi, error);
        }

      if (valid_utf8_prefix (data + first_hi, len - first_hi, eof, &valid_len))
        r->enc = ENC_UTF8;
      else if (looks_korean (r, data + first_hi, len - first_hi, eof))
        {
          r->enc = ENC_KOREAN;
          if (!open_converter (r, error))
            return FALSE;
        }
      else
        {
          set_encoding_error (r, r->offset + first_hi + valid_len,
                              data[first_hi + valid_len], error);
          return FALSE;
        }
    }

  if (r->enc == ENC_UTF8)
    {
      if (!valid_utf8_prefix (data, len, FALSE, &valid_len))
        {
          set_encoding_error (r, r->offset + valid_len, data[valid_len], error);
          return FALSE;
        }
      if (!emit (r, (const char *) data, valid_len, error))
        return FALSE;
      *consumed = valid_len;
      if (eof && valid_len < len)
        {
          /* The file ends inside a character (cut short): keep a marker. */
          *consumed = len;
          return emit (r, replacement, strlen (replacement), error);
        }
      return TRUE;
    }

  return convert_block (r, data, len, eof, consumed, error);
}

static gssize
read_full (int     fd,
           guint8 *buf,
           gsize   len)
{
  gsize done = 0;

  while (done < len)
    {
      gssize n = read (fd, buf + done, len - done);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      if (n == 0)
        break;
      done += (gsize) n;
    }
  return (gssize) done;
}

static const char *
encoding_name (Reader *r)
{
  switch (r->enc)
    {
    case ENC_UTF16LE:
      return "UTF-16LE";
    case ENC_UTF16BE:
      return "UTF-16BE";
    case ENC_KOREAN:
      return r->cp949_only ? "CP949" : "EUC-KR";
    case ENC_UNDECIDED:
    case ENC_UTF8:
    default:
      return r->bom ? "UTF-8 (BOM)" : "UTF-8";
    }
}

gboolean
_docent_extract_text (const char    *path,
                      int            fd,
                      goffset        size,
                      DocentChunker *chunker,
                      DocentDocInfo *info,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autofree guint8 *buf = NULL;
  gsize carry = 0;
  gboolean first = TRUE;
  gboolean ok = FALSE;
  guint64 bom_len = 0;
  Reader r = {
    .path = path,
    .chunker = chunker,
    .cancellable = cancellable,
    .enc = ENC_UNDECIDED,
    .cd = (GIConv) -1,
  };

  r.name = _docent_extract_display_name (path);
  buf = g_malloc (BLOCK_SIZE + MAX_CARRY);

  for (;;)
    {
      guint8 *p = buf;
      gssize n;
      gsize len, consumed = 0;
      gboolean eof;

      if (!_docent_extract_check_cancelled (path, cancellable, error))
        goto out;

      n = read_full (fd, buf + carry, BLOCK_SIZE);
      if (n < 0)
        {
          int errsv = errno;
          g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_UNREADABLE,
                       _("“%s” could not be read: %s. Check the disk or copy the file elsewhere and import it again."),
                       r.name, g_strerror (errsv));
          goto out;
        }
      len = carry + (gsize) n;
      eof = (gsize) n < BLOCK_SIZE;

      if (first)
        {
          first = FALSE;
          if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
            {
              r.enc = ENC_UTF8;
              r.bom = TRUE;
              p += 3;
            }
          else if (len >= 2 && p[0] == 0xff && p[1] == 0xfe)
            {
              r.enc = ENC_UTF16LE;
              p += 2;
            }
          else if (len >= 2 && p[0] == 0xfe && p[1] == 0xff)
            {
              r.enc = ENC_UTF16BE;
              p += 2;
            }
          bom_len = (guint64) (p - buf);
          len -= bom_len;
          r.offset = bom_len;
          if ((r.enc == ENC_UTF16LE || r.enc == ENC_UTF16BE) && !open_converter (&r, error))
            goto out;
        }

      if (!process_block (&r, p, len, eof, &consumed, error))
        goto out;

      g_assert (consumed <= len);
      g_assert (!eof || consumed == len);
      carry = len - consumed;
      g_assert (carry <= MAX_CARRY);
      memmove (buf, p + consumed, carry);
      r.offset += consumed;

      if (eof)
        break;
    }

  if (r.n_visible == 0)
    {
      g_set_error (error, DOCENT_ERROR, DOCENT_ERROR_EMPTY,
                   _("“%s” has no text (%s): there is nothing to import. "
                     "Check that the file was saved or copied completely."),
                   r.name, (guint64) size == bom_len ? _("only a byte order mark") : _("only blank space"));
      goto out;
    }

  g_clear_pointer (&info->encoding, g_free);
  info->encoding = g_strdup (encoding_name (&r));
  info->page_count = 0;
  info->no_text_layer = FALSE;
  ok = TRUE;

out:
  if (r.cd != (GIConv) -1)
    g_iconv_close (r.cd);
  g_free (r.out);
  g_free (r.name);
  return ok;
}
