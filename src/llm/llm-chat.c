/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Chat templates. We do not run Jinja: published templates come in a few
 * families that differ only in markers and in a handful of details (a
 * default system prompt, spaces around [INST], the Llama 3.1 date header),
 * so we recognise the family by its markers, read those details out of the
 * template's own string literals, and format in C. */
#include "config.h"

#include "llm-chat.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct LlmChatTemplate {
  LlmChatFamily family;
  bool          known;
  bool          bos_in_template;    /* the template writes {{ bos_token }} */
  char         *default_system;     /* ChatML (Qwen): used when no system message */
  char         *llama3_preamble;    /* Llama 3.1+: "Cutting Knowledge Date: …\nToday Date: …\n\n" */
  bool          inst_space_before;  /* "[INST] " */
  bool          inst_space_after;   /* " [/INST]" */
  bool          system_in_last;     /* Mistral v0.3/Nemo: system joins the last user turn */
  char         *bos;
  char         *eos;
};

static const char *family_names[LLM_CHAT_N_FAMILIES] = {
  [LLM_CHAT_CHATML] = "chatml",
  [LLM_CHAT_LLAMA3] = "llama3",
  [LLM_CHAT_GEMMA] = "gemma",
  [LLM_CHAT_MISTRAL] = "mistral",
  [LLM_CHAT_LLAMA2] = "llama2",
  [LLM_CHAT_PHI3] = "phi3",
};

const char *
llm_chat_family_name (LlmChatFamily family)
{
  if ((unsigned) family >= LLM_CHAT_N_FAMILIES)
    return "?";
  return family_names[family];
}

/* ---- a growable string ---------------------------------------------------- */

typedef struct {
  char  *s;
  size_t len, cap;
  bool   oom;
} Buf;

static void
buf_add_len (Buf *b, const char *s, size_t n)
{
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap)
    {
      size_t cap = b->cap ? b->cap : 256;
      while (cap < b->len + n + 1)
        cap *= 2;
      char *p = realloc (b->s, cap);
      if (p == NULL)
        {
          b->oom = true;
          return;
        }
      b->s = p;
      b->cap = cap;
    }
  memcpy (b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static void
buf_add (Buf *b, const char *s)
{
  buf_add_len (b, s, strlen (s));
}

/* Python's str.strip() / Jinja's trim, for ASCII whitespace. */
static void
buf_add_trimmed (Buf *b, const char *s)
{
  size_t n = strlen (s);
  while (n > 0 && strchr (" \t\n\r\v\f", *s) != NULL)
    s++, n--;
  while (n > 0 && strchr (" \t\n\r\v\f", s[n - 1]) != NULL)
    n--;
  buf_add_len (b, s, n);
}

static char *
xstrdup (const char *s)
{
  size_t n = strlen (s) + 1;
  char *p = malloc (n);
  if (p)
    memcpy (p, s, n);
  return p;
}

static void
set_err (char *err, size_t err_size, const char *fmt, ...)
{
  if (err == NULL || err_size == 0)
    return;
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (err, err_size, fmt, ap);
  va_end (ap);
}

/* ---- reading details out of the template --------------------------------- */

/* Copies a Jinja string literal's body from @p up to @end (exclusive),
 * turning the escapes \n, \t, \\, \' and \" into their characters. */
static char *
unescape (const char *p, const char *end)
{
  Buf b = { 0 };
  buf_add (&b, "");
  while (p < end)
    {
      if (*p == '\\' && p + 1 < end)
        {
          char c = p[1];
          char out = c == 'n' ? '\n' : c == 't' ? '\t' : c;
          buf_add_len (&b, &out, 1);
          p += 2;
        }
      else
        buf_add_len (&b, p++, 1);
    }
  if (b.oom)
    {
      free (b.s);
      return NULL;
    }
  return b.s;
}

/* Qwen's templates hold their default system prompt as one literal,
 * '<|im_start|>system\nYou are …<|im_end|>\n'. A literal that is only the
 * opening ('<|im_start|>system\n' + messages[0]…) is not one. */
static char *
find_default_system (const char *src)
{
  static const char open[] = "<|im_start|>system\\n";
  for (const char *p = strstr (src, open); p; p = strstr (p + 1, open))
    {
      if (p == src || (p[-1] != '\'' && p[-1] != '"'))
        continue;
      char quote = p[-1];
      const char *body = p + strlen (open);
      const char *close = strstr (body, "<|im_end|>");
      const char *q = strchr (body, quote);
      if (close == NULL || close == body || (q != NULL && q < close))
        continue;
      return unescape (body, close);
    }
  return NULL;
}

/* The literal after `marker`, up to the next unescaped quote. */
static char *
literal_after (const char *src, const char *marker)
{
  const char *p = strstr (src, marker);
  if (p == NULL)
    return NULL;
  p += strlen (marker);
  const char *q = p;
  while (*q && *q != '"' && *q != '\'')
    q += (*q == '\\' && q[1]) ? 2 : 1;
  if (*q == '\0')
    return NULL;
  return unescape (p, q);
}

/* Llama 3.1 and later write a system header in every conversation:
 * "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n".
 * Templates that take today's date (strftime_now) fall back to the literal
 * default; we always use it, so prompts do not change from day to day. */
static char *
find_llama3_preamble (const char *src)
{
  if (strstr (src, "Cutting Knowledge Date:") == NULL)
    return NULL;
  char *cutting = literal_after (src, "\"Cutting Knowledge Date:");
  if (cutting == NULL)
    cutting = literal_after (src, "'Cutting Knowledge Date:");
  char *date = literal_after (src, "set date_string = \"");
  if (date == NULL)
    date = literal_after (src, "set date_string = '");
  Buf b = { 0 };
  buf_add (&b, "Cutting Knowledge Date:");
  buf_add (&b, cutting ? cutting : " December 2023\n");
  buf_add (&b, "Today Date: ");
  buf_add (&b, date ? date : "26 Jul 2024");
  buf_add (&b, "\n\n");
  free (cutting);
  free (date);
  if (b.oom)
    {
      free (b.s);
      return NULL;
    }
  return b.s;
}

static bool
contains (const char *s, const char *needle)
{
  return strstr (s, needle) != NULL;
}

LlmChatTemplate *
llm_chat_template_new (const char *source)
{
  LlmChatTemplate *t = calloc (1, sizeof *t);
  if (t == NULL)
    return NULL;
  t->family = LLM_CHAT_CHATML;
  t->bos = xstrdup ("<s>");
  t->eos = xstrdup ("</s>");
  if (t->bos == NULL || t->eos == NULL)
    {
      llm_chat_template_free (t);
      return NULL;
    }
  if (source == NULL || *source == '\0')
    return t;

  for (int f = 0; f < LLM_CHAT_N_FAMILIES; f++)
    if (strcmp (source, family_names[f]) == 0)
      {
        t->family = f;
        t->known = true;
        /* what the family's usual template does */
        t->bos_in_template = f == LLM_CHAT_LLAMA3 || f == LLM_CHAT_GEMMA
                             || f == LLM_CHAT_MISTRAL || f == LLM_CHAT_LLAMA2;
        t->inst_space_before = t->inst_space_after = f == LLM_CHAT_MISTRAL;
        return t;
      }

  /* Most specific markers first: Qwen templates mention [INST] nowhere, but
   * a ChatML one could quote any other family's marker in a comment. */
  t->known = true;
  if (contains (source, "<|im_start|>"))
    t->family = LLM_CHAT_CHATML;
  else if (contains (source, "<|start_header_id|>") && contains (source, "<|end_header_id|>"))
    t->family = LLM_CHAT_LLAMA3;
  else if (contains (source, "<start_of_turn>"))
    t->family = LLM_CHAT_GEMMA;
  else if (contains (source, "<|assistant|>") && contains (source, "<|end|>"))
    t->family = LLM_CHAT_PHI3;
  else if (contains (source, "<<SYS>>"))
    t->family = LLM_CHAT_LLAMA2;
  else if (contains (source, "[INST]"))
    t->family = LLM_CHAT_MISTRAL;
  else
    t->known = false;

  t->bos_in_template = contains (source, "bos_token");
  switch (t->family)
    {
    case LLM_CHAT_CHATML:
      t->default_system = find_default_system (source);
      break;
    case LLM_CHAT_LLAMA3:
      t->llama3_preamble = find_llama3_preamble (source);
      break;
    case LLM_CHAT_MISTRAL:
      t->inst_space_before = contains (source, "[INST] ");
      t->inst_space_after = contains (source, " [/INST]");
      t->system_in_last = contains (source, "loop.last and system_message");
      break;
    default:
      break;
    }
  return t;
}

static char *
vocab_token_text (const llm_gguf *gguf, const char *id_key)
{
  uint64_t id;
  const llm_gguf_kv *kv = llm_gguf_find_kv (gguf, "tokenizer.ggml.tokens");
  if (kv == NULL || !llm_gguf_get_uint (gguf, id_key, &id))
    return NULL;
  const char *s;
  uint64_t len;
  if (!llm_gguf_value_array_string (&kv->value, id, &s, &len))
    return NULL;
  char *out = malloc (len + 1);
  if (out)
    {
      memcpy (out, s, len);
      out[len] = '\0';
    }
  return out;
}

LlmChatTemplate *
llm_chat_template_from_gguf (const llm_gguf *gguf)
{
  char *source = gguf ? llm_gguf_dup_string (gguf, "tokenizer.chat_template") : NULL;
  LlmChatTemplate *t = llm_chat_template_new (source);
  free (source);
  if (t == NULL || gguf == NULL)
    return t;
  char *bos = vocab_token_text (gguf, "tokenizer.ggml.bos_token_id");
  char *eos = vocab_token_text (gguf, "tokenizer.ggml.eos_token_id");
  llm_chat_template_set_bos_eos (t, bos, eos);
  free (bos);
  free (eos);
  return t;
}

void
llm_chat_template_free (LlmChatTemplate *t)
{
  if (t == NULL)
    return;
  free (t->default_system);
  free (t->llama3_preamble);
  free (t->bos);
  free (t->eos);
  free (t);
}

LlmChatFamily
llm_chat_template_family (const LlmChatTemplate *t)
{
  return t->family;
}

bool
llm_chat_template_known (const LlmChatTemplate *t)
{
  return t->known;
}

void
llm_chat_template_set_bos_eos (LlmChatTemplate *t, const char *bos, const char *eos)
{
  char *b = bos ? xstrdup (bos) : NULL;
  char *e = eos ? xstrdup (eos) : NULL;
  if (b)
    {
      free (t->bos);
      t->bos = b;
    }
  if (e)
    {
      free (t->eos);
      t->eos = e;
    }
}

bool
llm_chat_template_adds_bos (const LlmChatTemplate *t)
{
  return t->bos_in_template;
}

const char *
llm_chat_template_end_of_turn (const LlmChatTemplate *t)
{
  switch (t->family)
    {
    case LLM_CHAT_CHATML: return "<|im_end|>";
    case LLM_CHAT_LLAMA3: return "<|eot_id|>";
    case LLM_CHAT_GEMMA:  return "<end_of_turn>";
    case LLM_CHAT_PHI3:   return "<|end|>";
    default:              return t->eos;
    }
}

/* ---- formatting ----------------------------------------------------------- */

static bool
is_role (const LlmChatMessage *m, const char *role)
{
  return m->role != NULL && strcmp (m->role, role) == 0;
}

static const char *
content_of (const LlmChatMessage *m)
{
  return m->content ? m->content : "";
}

static void
format_chatml (const LlmChatTemplate *t, const LlmChatMessage *msgs, size_t n, Buf *b)
{
  if (t->bos_in_template)
    buf_add (b, t->bos);
  if ((n == 0 || !is_role (&msgs[0], "system")) && t->default_system != NULL)
    {
      buf_add (b, "<|im_start|>system\n");
      buf_add (b, t->default_system);
      buf_add (b, "<|im_end|>\n");
    }
  for (size_t i = 0; i < n; i++)
    {
      buf_add (b, "<|im_start|>");
      buf_add (b, msgs[i].role);
      buf_add (b, "\n");
      buf_add (b, content_of (&msgs[i]));
      buf_add (b, "<|im_end|>\n");
    }
}

static void
format_llama3 (const LlmChatTemplate *t, const LlmChatMessage *msgs, size_t n, Buf *b)
{
  size_t i = 0;
  if (t->bos_in_template)
    buf_add (b, t->bos);
  if (t->llama3_preamble != NULL)
    {
      buf_add (b, "<|start_header_id|>system<|end_header_id|>\n\n");
      buf_add (b, t->llama3_preamble);
      if (n > 0 && is_role (&msgs[0], "system"))
        buf_add_trimmed (b, content_of (&msgs[i++]));
      buf_add (b, "<|eot_id|>");
    }
  for (; i < n; i++)
    {
      buf_add (b, "<|start_header_id|>");
      buf_add (b, msgs[i].role);
      buf_add (b, "<|end_header_id|>\n\n");
      buf_add_trimmed (b, content_of (&msgs[i]));
      buf_add (b, "<|eot_id|>");
    }
}

/* For families without a system role: the user turn the system message
 * joins, as "SYSTEM\n\nUSER". */
static size_t
system_target (const LlmChatMessage *msgs, size_t n, bool last)
{
  size_t target = (size_t) -1;
  for (size_t i = 1; i < n; i++)
    if (is_role (&msgs[i], "user"))
      {
        target = i;
        if (!last)
          break;
      }
  return target;
}

static void
format_gemma (const LlmChatTemplate *t, const LlmChatMessage *msgs, size_t n,
              const char *system, size_t target, Buf *b)
{
  if (t->bos_in_template)
    buf_add (b, t->bos);
  for (size_t i = system ? 1 : 0; i < n; i++)
    {
      buf_add (b, "<start_of_turn>");
      buf_add (b, is_role (&msgs[i], "assistant") ? "model" : "user");
      buf_add (b, "\n");
      if (i == target)
        {
          buf_add_trimmed (b, system);
          buf_add (b, "\n\n");
        }
      buf_add_trimmed (b, content_of (&msgs[i]));
      buf_add (b, "<end_of_turn>\n");
    }
}

static void
format_mistral (const LlmChatTemplate *t, const LlmChatMessage *msgs, size_t n,
                const char *system, size_t target, Buf *b)
{
  if (t->bos_in_template)
    buf_add (b, t->bos);
  for (size_t i = system ? 1 : 0; i < n; i++)
    {
      if (is_role (&msgs[i], "user"))
        {
          buf_add (b, t->inst_space_before ? "[INST] " : "[INST]");
          if (i == target)
            {
              buf_add (b, system);
              buf_add (b, "\n\n");
            }
          buf_add (b, content_of (&msgs[i]));
          buf_add (b, t->inst_space_after ? " [/INST]" : "[/INST]");
        }
      else
        {
          buf_add (b, content_of (&msgs[i]));
          buf_add (b, t->eos);
        }
    }
}

static void
format_llama2 (const LlmChatTemplate *t, const LlmChatMessage *msgs, size_t n,
               const char *system, size_t target, Buf *b)
{
  for (size_t i = system ? 1 : 0; i < n; i++)
    {
      /* the template strips the whole content, <<SYS>> block included */
      Buf c = { 0 };
      buf_add (&c, "");
      if (i == target)
        {
          buf_add (&c, "<<SYS>>\n");
          buf_add (&c, system);
          buf_add (&c, "\n<</SYS>>\n\n");
        }
      buf_add (&c, content_of (&msgs[i]));
      if (c.oom)
        b->oom = true;
      else if (is_role (&msgs[i], "user"))
        {
          if (t->bos_in_template)
            buf_add (b, t->bos);
          buf_add (b, "[INST] ");
          buf_add_trimmed (b, c.s);
          buf_add (b, " [/INST]");
        }
      else
        {
          buf_add (b, " ");
          buf_add_trimmed (b, c.s);
          buf_add (b, " ");
          buf_add (b, t->eos);
        }
      free (c.s);
    }
}

static void
format_phi3 (const LlmChatTemplate *t, const LlmChatMessage *msgs, size_t n, Buf *b)
{
  if (t->bos_in_template)
    buf_add (b, t->bos);
  for (size_t i = 0; i < n; i++)
    {
      if (is_role (&msgs[i], "system") && content_of (&msgs[i])[0] == '\0')
        continue;
      buf_add (b, "<|");
      buf_add (b, msgs[i].role);
      buf_add (b, "|>\n");
      buf_add (b, content_of (&msgs[i]));
      buf_add (b, "<|end|>\n");
    }
}

char *
llm_chat_format (const LlmChatTemplate *t,
                 const LlmChatMessage  *msgs,
                 size_t                 n,
                 bool                   add_generation_prompt,
                 char                  *err,
                 size_t                 err_size)
{
  bool any_role = t->family == LLM_CHAT_CHATML || t->family == LLM_CHAT_LLAMA3;
  for (size_t i = 0; i < n; i++)
    {
      const char *r = msgs[i].role;
      if (r == NULL || *r == '\0' || strpbrk (r, "\n<>|") != NULL)
        {
          set_err (err, err_size, "message %zu has no usable role", i);
          return NULL;
        }
      if (!any_role && !is_role (&msgs[i], "system") && !is_role (&msgs[i], "user")
          && !is_role (&msgs[i], "assistant"))
        {
          set_err (err, err_size, "the %s chat format has no role \"%s\" (message %zu)",
                   family_names[t->family], r, i);
          return NULL;
        }
    }

  /* Gemma, Mistral and Llama 2 put a system message inside a user turn */
  const char *system = NULL;
  size_t target = (size_t) -1;
  if (t->family == LLM_CHAT_GEMMA || t->family == LLM_CHAT_MISTRAL || t->family == LLM_CHAT_LLAMA2)
    {
      for (size_t i = 1; i < n; i++)
        if (is_role (&msgs[i], "system"))
          {
            set_err (err, err_size, "the %s chat format takes a system message only first (message %zu)",
                     family_names[t->family], i);
            return NULL;
          }
      if (n > 0 && is_role (&msgs[0], "system"))
        {
          system = content_of (&msgs[0]);
          target = system_target (msgs, n, t->family == LLM_CHAT_MISTRAL && t->system_in_last);
          if (target == (size_t) -1)
            {
              set_err (err, err_size, "a system message needs a user message to join in the %s chat format",
                       family_names[t->family]);
              return NULL;
            }
        }
    }

  Buf b = { 0 };
  buf_add (&b, "");
  switch (t->family)
    {
    case LLM_CHAT_CHATML:
      format_chatml (t, msgs, n, &b);
      if (add_generation_prompt)
        buf_add (&b, "<|im_start|>assistant\n");
      break;
    case LLM_CHAT_LLAMA3:
      format_llama3 (t, msgs, n, &b);
      if (add_generation_prompt)
        buf_add (&b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
      break;
    case LLM_CHAT_GEMMA:
      format_gemma (t, msgs, n, system, target, &b);
      if (add_generation_prompt)
        buf_add (&b, "<start_of_turn>model\n");
      break;
    case LLM_CHAT_MISTRAL:
      /* [/INST] is the generation prompt */
      format_mistral (t, msgs, n, system, target, &b);
      break;
    case LLM_CHAT_LLAMA2:
      format_llama2 (t, msgs, n, system, target, &b);
      break;
    case LLM_CHAT_PHI3:
      format_phi3 (t, msgs, n, &b);
      buf_add (&b, add_generation_prompt ? "<|assistant|>\n" : t->eos);
      break;
    default:
      break;
    }
  if (b.oom)
    {
      free (b.s);
      set_err (err, err_size, "out of memory");
      return NULL;
    }
  return b.s;
}
