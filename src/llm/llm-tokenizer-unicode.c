/* SPDX-License-Identifier: GPL-3.0-or-later */
/* UTF-8, Unicode categories (libunistring) and the BPE pre-tokenizer split
 * patterns (PCRE2). */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unictype.h>
#include <unicase.h>
#include <uninorm.h>

#include "llm-tokenizer-private.h"

void
llm_set_error (char *err, size_t err_size, const char *fmt, ...)
{
  va_list ap;

  if (err == NULL || err_size == 0)
    return;
  va_start (ap, fmt);
  vsnprintf (err, err_size, fmt, ap);
  va_end (ap);
}

/* ---- UTF-8 ---- */

size_t
llm_utf8_len (unsigned char lead)
{
  static const unsigned char lookup[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
  return lookup[lead >> 4];
}

uint32_t
llm_utf8_decode (const char *str, size_t n, size_t *adv)
{
  const unsigned char *s = (const unsigned char *) str;
  size_t need;
  uint32_t cp;

  if (n == 0)
    {
      *adv = 0;
      return 0;
    }
  if (s[0] < 0x80)
    {
      *adv = 1;
      return s[0];
    }
  if (s[0] >= 0xC2 && s[0] <= 0xDF)
    need = 1, cp = s[0] & 0x1F;
  else if (s[0] >= 0xE0 && s[0] <= 0xEF)
    need = 2, cp = s[0] & 0x0F;
  else if (s[0] >= 0xF0 && s[0] <= 0xF4)
    need = 3, cp = s[0] & 0x07;
  else
    goto invalid;
  if (need >= n)
    goto invalid;
  for (size_t i = 1; i <= need; i++)
    {
      if ((s[i] & 0xC0) != 0x80)
        goto invalid;
      cp = (cp << 6) | (s[i] & 0x3F);
    }
  /* overlong forms, surrogates, beyond U+10FFFF */
  if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF))
      || (cp >= 0xD800 && cp <= 0xDFFF))
    goto invalid;
  *adv = need + 1;
  return cp;

invalid:
  *adv = 1;
  return 0xFFFD;
}

size_t
llm_utf8_encode (uint32_t cp, char out[4])
{
  if (cp < 0x80)
    {
      out[0] = (char) cp;
      return 1;
    }
  if (cp < 0x800)
    {
      out[0] = (char) (0xC0 | (cp >> 6));
      out[1] = (char) (0x80 | (cp & 0x3F));
      return 2;
    }
  if (cp < 0x10000)
    {
      out[0] = (char) (0xE0 | (cp >> 12));
      out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
      out[2] = (char) (0x80 | (cp & 0x3F));
      return 3;
    }
  out[0] = (char) (0xF0 | (cp >> 18));
  out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char) (0x80 | (cp & 0x3F));
  return 4;
}

/* ---- GPT-2 byte-level mapping ---- */

/* Printable bytes stand for themselves; the others are moved to U+0100 and
 * up, in byte order, so every byte has a visible, non-space character. */
static bool byte_map_ready;
static char byte_map_utf8[256][3];
static unsigned char byte_map_len[256];
static int16_t byte_of_cp[512];

static bool
byte_is_printable (int b)
{
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

static void
byte_map_init (void)
{
  int next = 0;

  if (__atomic_load_n (&byte_map_ready, __ATOMIC_ACQUIRE))
    return;
  for (int i = 0; i < 512; i++)
    byte_of_cp[i] = -1;
  for (int b = 0; b < 256; b++)
    {
      uint32_t cp = byte_is_printable (b) ? (uint32_t) b : (uint32_t) (256 + next++);
      char buf[4];
      size_t n = llm_utf8_encode (cp, buf);

      memcpy (byte_map_utf8[b], buf, n);
      byte_map_len[b] = (unsigned char) n;
      byte_of_cp[cp] = (int16_t) b;
    }
  __atomic_store_n (&byte_map_ready, true, __ATOMIC_RELEASE);
}

const char *
llm_byte_to_unicode (unsigned char byte, size_t *len)
{
  byte_map_init ();
  *len = byte_map_len[byte];
  return byte_map_utf8[byte];
}

int
llm_unicode_to_byte (uint32_t cp)
{
  byte_map_init ();
  return cp < 512 ? byte_of_cp[cp] : -1;
}

/* ---- categories ---- */

bool
llm_cp_is_whitespace (uint32_t cp)
{
  return uc_is_property_white_space (cp);
}

bool
llm_cp_is_control (uint32_t cp)
{
  return uc_is_general_category (cp, UC_CATEGORY_C);
}

bool
llm_cp_is_punctuation (uint32_t cp)
{
  return uc_is_general_category (cp, UC_CATEGORY_P);
}

bool
llm_cp_is_symbol (uint32_t cp)
{
  return uc_is_general_category (cp, UC_CATEGORY_S);
}

bool
llm_cp_is_mark_nonspacing (uint32_t cp)
{
  return uc_is_general_category (cp, UC_CATEGORY_Mn);
}

bool
llm_cp_is_upper (uint32_t cp)
{
  return uc_is_general_category (cp, UC_CATEGORY_Lu);
}

uint32_t
llm_cp_tolower (uint32_t cp)
{
  return uc_tolower (cp);
}

uint32_t *
llm_cps_nfd (const uint32_t *cps, size_t n, size_t *out_n)
{
  size_t len = 0;
  uint32_t *res;

  if (n == 0)
    {
      *out_n = 0;
      return calloc (1, sizeof (uint32_t));
    }
  res = u32_normalize (UNINORM_NFD, cps, n, NULL, &len);
  *out_n = res ? len : 0;
  return res;
}

/* ---- pre-tokenizer patterns ----
 * The split patterns of each tokenizer.ggml.pre family, as the published
 * tokenizer.json files define them (the case-insensitive contractions written
 * out so that no Unicode case folding sneaks in). Each pattern splits the
 * pieces the previous one left; both matches and the gaps between them
 * become pieces (the "Isolated" split behaviour). */

#define PAT_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define PAT_LLAMA3 "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define PAT_QWEN2 "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define PAT_BLOOM " ?[^(\\s|.,!?…。，、।۔،)]+"

static const char *const pats_default[] = {
  "[\\p{P}\\$\\+<=>\\^~\\|]+", PAT_GPT2, "\\p{N}+", "[0-9][0-9][0-9]",
};
static const char *const pats_gpt2[] = { PAT_GPT2 };
static const char *const pats_llama3[] = { PAT_LLAMA3 };
static const char *const pats_qwen2[] = { PAT_QWEN2 };
static const char *const pats_deepseek_llm[] = {
  "[\\r\\n]",
  "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{3A9}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+",
  "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
  "\\s+$",
  "[一-龥ࠀ-一가-퟿]+",
  "\\p{N}+",
};
static const char *const pats_deepseek_coder[] = {
  "[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}",
};
static const char *const pats_deepseek3[] = {
  "\\p{N}{1,3}",
  "[一-龥぀-ゟ゠-ヿ]+",
  "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
};
static const char *const pats_falcon[] = {
  "[\\p{P}\\$\\+<=>\\^~\\|`]+", PAT_GPT2, "[0-9][0-9][0-9]",
};
static const char *const pats_starcoder[] = { "\\p{N}", PAT_GPT2 };
static const char *const pats_bloom[] = { PAT_BLOOM };
static const char *const pats_viking[] = { PAT_BLOOM, "\\p{N}" };
static const char *const pats_tekken[] = {
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
};
/* tiktoken's o200k split: words keep a leading cased run and a following
 * contraction together */
static const char *const pats_gpt4o[] = {
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?"
  "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?"
  "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
};
static const char *const pats_chameleon[] = {
  "<sentinel:[0-9]+>",
  "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
  "([\\t\\n]|    |  )",
  "\\p{N}",
  "[\\p{P}!-/:-@\\[-`{-~]",
  PAT_GPT2,
};

#define PATS(a) a, sizeof (a) / sizeof (a[0])

static const struct {
  const char *names;   /* space-separated tokenizer.ggml.pre values */
  const char *const *patterns;
  size_t n;
  bool ignore_merges;
} pre_families[] = {
  { "default", PATS (pats_default), false },
  { "llama3 llama-v3 llama-bpe falcon3", PATS (pats_llama3), true },
  { "dbrx smaug-bpe chatglm-bpe", PATS (pats_llama3), false },
  { "deepseek-llm", PATS (pats_deepseek_llm), false },
  { "deepseek-coder", PATS (pats_deepseek_coder), false },
  { "deepseek-v3", PATS (pats_deepseek3), false },
  { "falcon", PATS (pats_falcon), false },
  { "starcoder refact command-r smollm codeshell exaone minerva-7b", PATS (pats_starcoder), false },
  { "gpt-2 gpt2 phi-2 jina-es jina-de gigachat jina-v1-en jina-v2-es jina-v2-de jina-v2-code "
    "roberta-bpe mpt olmo jais", PATS (pats_gpt2), false },
  { "qwen2 stablelm2 megrez deepseek-r1-qwen", PATS (pats_qwen2), false },
  { "poro-chat bloom gpt3-finnish", PATS (pats_bloom), false },
  { "viking", PATS (pats_viking), false },
  { "tekken", PATS (pats_tekken), true },
  { "chameleon", PATS (pats_chameleon), false },
  { "gpt-4o", PATS (pats_gpt4o), false },
};

static bool
name_in_list (const char *name, const char *list)
{
  size_t n = strlen (name);

  while (*list)
    {
      const char *end = strchr (list, ' ');
      size_t len = end ? (size_t) (end - list) : strlen (list);

      if (len == n && memcmp (list, name, n) == 0)
        return true;
      list += len;
      while (*list == ' ')
        list++;
    }
  return false;
}

const char *const *
llm_pre_patterns (const char *pre, size_t *n, bool *ignore_merges)
{
  if (pre == NULL || *pre == '\0')
    pre = "default";
  for (size_t i = 0; i < sizeof pre_families / sizeof pre_families[0]; i++)
    if (name_in_list (pre, pre_families[i].names))
      {
        *n = pre_families[i].n;
        *ignore_merges = pre_families[i].ignore_merges;
        return pre_families[i].patterns;
      }
  return NULL;
}

/* ---- regex split ---- */

struct LlmRegexSplit {
  pcre2_code **codes;
  size_t       n;
};

void
llm_regex_split_free (LlmRegexSplit *split)
{
  if (split == NULL)
    return;
  for (size_t i = 0; i < split->n; i++)
    pcre2_code_free (split->codes[i]);
  free (split->codes);
  free (split);
}

LlmRegexSplit *
llm_regex_split_new (const char *const *patterns, size_t n, char *err, size_t err_size)
{
  LlmRegexSplit *split = calloc (1, sizeof *split);

  if (split == NULL || (split->codes = calloc (n ? n : 1, sizeof (pcre2_code *))) == NULL)
    {
      free (split);
      llm_set_error (err, err_size, "out of memory");
      return NULL;
    }
  for (size_t i = 0; i < n; i++)
    {
      int errcode;
      PCRE2_SIZE erroff;
      pcre2_code *code = pcre2_compile ((PCRE2_SPTR) patterns[i], PCRE2_ZERO_TERMINATED,
                                        PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF
                                        | PCRE2_DOLLAR_ENDONLY,
                                        &errcode, &erroff, NULL);
      if (code == NULL)
        {
          PCRE2_UCHAR msg[256];
          pcre2_get_error_message (errcode, msg, sizeof msg);
          llm_set_error (err, err_size, "split pattern %zu does not compile at %zu: %s",
                         i, (size_t) erroff, (const char *) msg);
          llm_regex_split_free (split);
          return NULL;
        }
      pcre2_jit_compile (code, PCRE2_JIT_COMPLETE);  /* optional: interpreted if it fails */
      split->codes[split->n++] = code;
    }
  return split;
}

typedef struct {
  LlmSpan *data;
  size_t   len;
  size_t   cap;
  bool     oom;
} SpanBuf;

static void
span_push (SpanBuf *b, size_t start, size_t len)
{
  if (len == 0 || b->oom)
    return;
  if (b->len == b->cap)
    {
      size_t cap = b->cap ? b->cap * 2 : 64;
      LlmSpan *d = realloc (b->data, cap * sizeof *d);
      if (d == NULL)
        {
          b->oom = true;
          return;
        }
      b->data = d;
      b->cap = cap;
    }
  b->data[b->len].start = start;
  b->data[b->len].len = len;
  b->len++;
}

LlmSpan *
llm_regex_split_run (const LlmRegexSplit *split, const char *text, size_t len, size_t *n_spans)
{
  SpanBuf cur = { 0 };

  span_push (&cur, 0, len);
  for (size_t p = 0; p < split->n && !cur.oom; p++)
    {
      pcre2_match_data *md = pcre2_match_data_create_from_pattern (split->codes[p], NULL);
      SpanBuf next = { 0 };

      if (md == NULL)
        {
          cur.oom = true;
          break;
        }
      for (size_t s = 0; s < cur.len; s++)
        {
          const char *subject = text + cur.data[s].start;
          size_t slen = cur.data[s].len;
          size_t pos = 0;    /* where the next search starts */
          size_t done = 0;   /* end of the last piece emitted */

          while (pos <= slen)
            {
              int rc = pcre2_match (split->codes[p], (PCRE2_SPTR) subject, slen, pos, 0, md, NULL);
              PCRE2_SIZE *ov;

              if (rc < 0)
                break;
              ov = pcre2_get_ovector_pointer (md);
              if (ov[1] == ov[0])
                {
                  /* An empty match: step over one character, emit nothing. */
                  if (ov[1] >= slen)
                    break;
                  pos = ov[1] + 1;
                  while (pos < slen && ((unsigned char) subject[pos] & 0xC0) == 0x80)
                    pos++;
                  continue;
                }
              span_push (&next, cur.data[s].start + done, ov[0] - done);
              span_push (&next, cur.data[s].start + ov[0], ov[1] - ov[0]);
              done = pos = ov[1];
            }
          span_push (&next, cur.data[s].start + done, slen - done);
        }
      pcre2_match_data_free (md);
      free (cur.data);
      cur = next;
    }
  if (cur.oom)
    {
      free (cur.data);
      return NULL;
    }
  if (cur.data == NULL)
    cur.data = malloc (sizeof (LlmSpan));
  *n_spans = cur.len;
  return cur.data;
}
