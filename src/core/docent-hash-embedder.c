/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-hash-embedder"
#include "config.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "docent-error.h"
#include "docent-hash-embedder.h"

/* Bump when the features or weights change: it is part of the model id, so
 * libraries re-embed instead of mixing old and new vectors. */
#define HASH_EMBEDDER_VERSION 2
#define MAX_TOKEN_CHARS 48     /* longer runs (hashes, base64) get no n-grams */
#define BOUNDARY 0x02u
#define PROJECT_ROWS 32     /* texts projected together by one sgemm */

struct _DocentHashEmbedder
{
  GObject  parent_instance;
  guint    dim;
  guint32 *df;                 /* NULL = no IDF */
  guint64  n_docs;
  float   *idf;                /* per bucket, from df */
  guint    base_dim;           /* hashed dimension (= dim without projection) */
  float   *proj;               /* dim × base_dim rows, or NULL */
  char    *model_id;
};

static void docent_hash_embedder_iface_init (DocentEmbedderInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DocentHashEmbedder, docent_hash_embedder, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (DOCENT_TYPE_EMBEDDER,
                                                      docent_hash_embedder_iface_init))

/* ---- features ---------------------------------------------------------- */

typedef struct {
  guint64 *keys;    /* 0 = empty */
  guint32 *counts;
  guint    cap;     /* power of two */
  guint    n;
} FeatureBag;

static void
bag_init (FeatureBag *bag)
{
  bag->cap = 1024;
  bag->n = 0;
  bag->keys = g_new0 (guint64, bag->cap);
  bag->counts = g_new0 (guint32, bag->cap);
}

static void
bag_clear (FeatureBag *bag)
{
  g_clear_pointer (&bag->keys, g_free);
  g_clear_pointer (&bag->counts, g_free);
}

static void bag_add (FeatureBag *bag, guint64 key, guint32 count);

static void
bag_grow (FeatureBag *bag)
{
  FeatureBag old = *bag;

  bag->cap *= 2;
  bag->n = 0;
  bag->keys = g_new0 (guint64, bag->cap);
  bag->counts = g_new0 (guint32, bag->cap);
  for (guint i = 0; i < old.cap; i++)
    if (old.keys[i] != 0)
      bag_add (bag, old.keys[i], old.counts[i]);
  bag_clear (&old);
}

static void
bag_add (FeatureBag *bag,
         guint64     key,
         guint32     count)
{
  guint mask, i;

  if ((bag->n + 1) * 2 > bag->cap)
    bag_grow (bag);
  mask = bag->cap - 1;
  for (i = (guint) key & mask; bag->keys[i] != 0 && bag->keys[i] != key; i = (i + 1) & mask)
    ;
  if (bag->keys[i] == 0)
    {
      bag->keys[i] = key;
      bag->n++;
    }
  bag->counts[i] += count;
}

static inline guint64
mix64 (guint64 x)
{
  /* splitmix64 finaliser: FNV alone leaves the low bits poorly mixed */
  x ^= x >> 30;
  x *= G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  x ^= x >> 27;
  x *= G_GUINT64_CONSTANT (0x94d049bb133111eb);
  x ^= x >> 31;
  return x != 0 ? x : 1;
}

static guint64
hash_codepoints (guint32         kind,
                 const gunichar *cps,
                 guint           n)
{
  guint64 h = G_GUINT64_CONSTANT (0xcbf29ce484222325);

  h = (h ^ kind) * G_GUINT64_CONSTANT (0x100000001b3);
  for (guint i = 0; i < n; i++)
    h = (h ^ cps[i]) * G_GUINT64_CONSTANT (0x100000001b3);
  return mix64 (h);
}

static gboolean
is_cjk (gunichar c)
{
  return (c >= 0xAC00 && c <= 0xD7A3)      /* Hangul syllables */
      || (c >= 0x1100 && c <= 0x11FF)      /* Hangul Jamo */
      || (c >= 0x3130 && c <= 0x318F)      /* compatibility Jamo */
      || (c >= 0x3040 && c <= 0x30FF)      /* Hiragana, Katakana */
      || (c >= 0x3400 && c <= 0x4DBF)      /* Han extension A */
      || (c >= 0x4E00 && c <= 0x9FFF)      /* Han */
      || (c >= 0xF900 && c <= 0xFAFF);     /* Han compatibility */
}

enum { CLASS_SEP, CLASS_WORD, CLASS_CJK };

static int
char_class (gunichar c)
{
  if (is_cjk (c))
    return CLASS_CJK;
  if (g_unichar_isalnum (c) || c == '_')
    return CLASS_WORD;
  return CLASS_SEP;
}

/* Word features carry this bit, n-grams do not: a spare bit, used neither
 * for the IDF bucket (low bits) nor for the projection (bits 24 and up). */
#define WORD_BIT (G_GUINT64_CONSTANT (1) << 20)

static void
add_token (FeatureBag     *bag,
           gunichar       *padded,   /* BOUNDARY token BOUNDARY */
           guint           len,      /* token length without padding */
           gboolean        cjk)
{
  guint nmin = cjk ? 2 : 3;
  guint nmax = cjk ? 3 : 5;
  guint total = len + 2;

  bag_add (bag, hash_codepoints ('W', padded + 1, len) | WORD_BIT, 1);
  if (len > MAX_TOKEN_CHARS)
    return;
  /* A one- or two-letter word is fully described by its word feature. */
  if (!cjk && len < 3)
    return;
  for (guint n = nmin; n <= nmax; n++)
    for (guint i = 0; i + n <= total; i++)
      bag_add (bag, hash_codepoints ('G', padded + i, n) & ~WORD_BIT, 1);
}

static void
collect_features (const char *text,
                  FeatureBag *bag)
{
  gunichar buf[MAX_TOKEN_CHARS + 3];
  guint len = 0;
  gboolean overflow = FALSE;
  int cur = CLASS_SEP;
  const char *p = text;

  for (;;)
    {
      gunichar c = *p ? g_utf8_get_char (p) : 0;
      int cls = c ? char_class (c) : CLASS_SEP;

      if (cls != cur && cur != CLASS_SEP && len > 0)
        {
          if (overflow)
            {
              /* Too long for n-grams; still one word feature of its prefix. */
              bag_add (bag, hash_codepoints ('W', buf + 1, len), 1);
            }
          else
            {
              buf[len + 1] = BOUNDARY;
              add_token (bag, buf, len, cur == CLASS_CJK);
            }
          len = 0;
          overflow = FALSE;
        }
      if (c == 0)
        break;
      if (cls != CLASS_SEP)
        {
          if (len == 0)
            buf[0] = BOUNDARY;
          if (len < MAX_TOKEN_CHARS)
            buf[1 + len++] = g_unichar_tolower (c);
          else
            overflow = TRUE;
        }
      cur = cls;
      p = g_utf8_next_char (p);
    }
}

void
docent_hash_embedder_foreach_feature (const char            *text,
                                      DocentHashFeatureFunc  func,
                                      gpointer               user_data)
{
  FeatureBag bag;

  g_return_if_fail (text != NULL);
  g_return_if_fail (func != NULL);

  bag_init (&bag);
  collect_features (text, &bag);
  for (guint i = 0; i < bag.cap; i++)
    if (bag.keys[i] != 0)
      func (bag.keys[i], 1.0f + logf ((float) bag.counts[i]), user_data);
  bag_clear (&bag);
}

void
docent_hash_embedder_count_df (guint32    *df,
                               const char *text)
{
  FeatureBag bag;
  g_autofree guint8 *seen = NULL;

  g_return_if_fail (df != NULL);
  g_return_if_fail (text != NULL);

  bag_init (&bag);
  collect_features (text, &bag);
  /* Two features may share a bucket: count the bucket once per passage. */
  seen = g_new0 (guint8, DOCENT_HASH_EMBEDDER_N_BUCKETS / 8);
  for (guint i = 0; i < bag.cap; i++)
    if (bag.keys[i] != 0)
      {
        guint b = (guint) (bag.keys[i] & (DOCENT_HASH_EMBEDDER_N_BUCKETS - 1));
        if (!(seen[b >> 3] & (1u << (b & 7))))
          {
            seen[b >> 3] |= 1u << (b & 7);
            if (df[b] < G_MAXUINT32)
              df[b]++;
          }
      }
  bag_clear (&bag);
}

/* ---- embedder ---------------------------------------------------------- */

static const char *
docent_hash_embedder_get_model_id (DocentEmbedder *embedder)
{
  return DOCENT_HASH_EMBEDDER (embedder)->model_id;
}

static guint
docent_hash_embedder_get_dim (DocentEmbedder *embedder)
{
  return DOCENT_HASH_EMBEDDER (embedder)->dim;
}

static guint
docent_hash_embedder_get_batch_size (DocentEmbedder *embedder)
{
  return 64;
}

static gboolean
docent_hash_embedder_embed (DocentEmbedder     *embedder,
                            DocentEmbedKind     kind,
                            const char * const *texts,
                            guint               n_texts,
                            float              *out,
                            GCancellable       *cancellable,
                            GError            **error)
{
  DocentHashEmbedder *self = DOCENT_HASH_EMBEDDER (embedder);
  FeatureBag bag;
  /* Projected: hashed vectors of up to PROJECT_ROWS texts, then one sgemm,
   * so the 6 MB projection is read once per block, not once per text. */
  guint rows = self->proj != NULL ? MIN (n_texts, PROJECT_ROWS) : 0;
  g_autofree float *base = rows > 0 ? g_new (float, (gsize) rows * self->base_dim) : NULL;
  guint first = 0;   /* first text of the current block */

  bag_init (&bag);
  for (guint t = 0; t < n_texts; t++)
    {
      float *v = base != NULL ? base + (gsize) (t - first) * self->base_dim
                              : out + (gsize) t * self->dim;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          bag_clear (&bag);
          return FALSE;
        }
      memset (v, 0, sizeof (float) * self->base_dim);
      memset (bag.keys, 0, sizeof (guint64) * bag.cap);
      memset (bag.counts, 0, sizeof (guint32) * bag.cap);
      bag.n = 0;
      collect_features (texts[t] != NULL ? texts[t] : "", &bag);

      for (guint i = 0; i < bag.cap; i++)
        {
          guint64 h = bag.keys[i];
          float w;

          if (h == 0)
            continue;
          w = 1.0f + logf ((float) bag.counts[i]);
          if (self->idf != NULL)
            w *= self->idf[h & (DOCENT_HASH_EMBEDDER_N_BUCKETS - 1)];
          /* Bucket bits for IDF are the low ones; the projection uses
           * independent high bits for index and sign. */
          v[(guint) ((h >> 24) % self->base_dim)] += (h >> 63) ? -w : w;
        }
      docent_vector_normalize (v, self->base_dim);
      if (base != NULL && (t - first + 1 == rows || t + 1 == n_texts))
        {
          /* the library's own latent space: X · projᵀ */
          guint n = t - first + 1;
          float *o = out + (gsize) first * self->dim;
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) n, (int) self->dim,
                       (int) self->base_dim, 1.0f, base, (int) self->base_dim,
                       self->proj, (int) self->base_dim, 0.0f, o, (int) self->dim);
          for (guint r = 0; r < n; r++)
            docent_vector_normalize (o + (gsize) r * self->dim, self->dim);
          first = t + 1;
        }
    }
  bag_clear (&bag);
  return TRUE;
}

static void
docent_hash_embedder_iface_init (DocentEmbedderInterface *iface)
{
  iface->get_model_id = docent_hash_embedder_get_model_id;
  iface->get_dim = docent_hash_embedder_get_dim;
  iface->get_batch_size = docent_hash_embedder_get_batch_size;
  iface->embed = docent_hash_embedder_embed;
}

static void
docent_hash_embedder_finalize (GObject *object)
{
  DocentHashEmbedder *self = DOCENT_HASH_EMBEDDER (object);

  g_clear_pointer (&self->df, g_free);
  g_clear_pointer (&self->idf, g_free);
  g_clear_pointer (&self->proj, g_free);
  g_clear_pointer (&self->model_id, g_free);
  G_OBJECT_CLASS (docent_hash_embedder_parent_class)->finalize (object);
}

static void
docent_hash_embedder_class_init (DocentHashEmbedderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = docent_hash_embedder_finalize;
}

static void
docent_hash_embedder_init (DocentHashEmbedder *self)
{
}

DocentHashEmbedder *
docent_hash_embedder_new (guint dim)
{
  DocentHashEmbedder *self;

  g_return_val_if_fail (dim > 0, NULL);

  self = g_object_new (DOCENT_TYPE_HASH_EMBEDDER, NULL);
  self->dim = dim;
  self->base_dim = dim;
  self->model_id = g_strdup_printf ("hash-ngram-v%d-d%u", HASH_EMBEDDER_VERSION, dim);
  return self;
}

DocentHashEmbedder *
docent_hash_embedder_new_with_df (guint          dim,
                                  const guint32 *df,
                                  guint64        n_docs)
{
  DocentHashEmbedder *self;
  g_autoptr(GChecksum) sum = NULL;
  guint64 n_le;

  g_return_val_if_fail (dim > 0, NULL);
  g_return_val_if_fail (df != NULL, NULL);

  self = docent_hash_embedder_new (dim);
  self->df = g_memdup2 (df, sizeof (guint32) * DOCENT_HASH_EMBEDDER_N_BUCKETS);
  self->n_docs = n_docs;
  self->idf = g_new (float, DOCENT_HASH_EMBEDDER_N_BUCKETS);
  for (guint b = 0; b < DOCENT_HASH_EMBEDDER_N_BUCKETS; b++)
    {
      double d = MIN ((double) df[b], (double) n_docs);
      /* Smoothed IDF, ln ((N + 1) / (df + 1)) + 1: measured better than
       * BM25's for the dense side (docs/BENCHMARKS.md). */
      self->idf[b] = (float) (log (((double) n_docs + 1.0) / (d + 1.0)) + 1.0);
    }

  sum = g_checksum_new (G_CHECKSUM_SHA256);
  {
    g_autofree guint32 *le = g_new (guint32, DOCENT_HASH_EMBEDDER_N_BUCKETS);
    for (guint b = 0; b < DOCENT_HASH_EMBEDDER_N_BUCKETS; b++)
      le[b] = GUINT32_TO_LE (df[b]);
    g_checksum_update (sum, (const guchar *) le, sizeof (guint32) * DOCENT_HASH_EMBEDDER_N_BUCKETS);
  }
  n_le = GUINT64_TO_LE (n_docs);
  g_checksum_update (sum, (const guchar *) &n_le, sizeof n_le);
  g_free (self->model_id);
  self->model_id = g_strdup_printf ("hash-ngram-v%d-d%u-idf-%.12s",
                                    HASH_EMBEDDER_VERSION, dim,
                                    g_checksum_get_string (sum));
  return self;
}

const guint32 *
docent_hash_embedder_get_df (DocentHashEmbedder *self,
                             guint64            *n_docs)
{
  g_return_val_if_fail (DOCENT_IS_HASH_EMBEDDER (self), NULL);
  if (n_docs != NULL)
    *n_docs = self->n_docs;
  return self->df;
}

/* ---- a projection learnt from the library ------------------------------ */

DocentHashEmbedder *
docent_hash_embedder_new_projected (DocentHashEmbedder *base,
                                    guint               dim,
                                    const float        *proj)
{
  DocentHashEmbedder *self;
  g_autoptr(GChecksum) sum = NULL;

  g_return_val_if_fail (DOCENT_IS_HASH_EMBEDDER (base), NULL);
  g_return_val_if_fail (base->proj == NULL, NULL);
  g_return_val_if_fail (dim > 0 && proj != NULL, NULL);

  self = base->df != NULL ? docent_hash_embedder_new_with_df (base->dim, base->df, base->n_docs)
                          : docent_hash_embedder_new (base->dim);
  self->base_dim = base->dim;
  self->dim = dim;
  self->proj = g_memdup2 (proj, sizeof (float) * dim * base->dim);

  sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, (const guchar *) self->model_id, -1);
  {
    gsize n = (gsize) dim * base->dim;
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
    /* already the bytes the id is defined over: no 6 MB copy */
    g_checksum_update (sum, (const guchar *) self->proj, sizeof (float) * n);
#else
    g_autofree guint32 *le = g_new (guint32, n);
    memcpy (le, proj, sizeof (float) * n);
    for (gsize i = 0; i < n; i++)
      le[i] = GUINT32_TO_LE (le[i]);
    g_checksum_update (sum, (const guchar *) le, sizeof (guint32) * n);
#endif
  }
  g_free (self->model_id);
  self->model_id = g_strdup_printf ("hash-ngram-v%d-d%u-lsa%u-%.12s", HASH_EMBEDDER_VERSION,
                                    dim, base->dim, g_checksum_get_string (sum));
  return self;
}

const float *
docent_hash_embedder_get_projection (DocentHashEmbedder *self,
                                     guint              *base_dim)
{
  g_return_val_if_fail (DOCENT_IS_HASH_EMBEDDER (self), NULL);
  if (base_dim != NULL)
    *base_dim = self->base_dim;
  return self->proj;
}

static inline guint64
lcg_next (guint64 *state)
{
  *state = *state * G_GUINT64_CONSTANT (6364136223846793005) + G_GUINT64_CONSTANT (1442695040888963407);
  return *state;
}

/* Rows of @m (r × n) made orthonormal, in order (modified Gram–Schmidt). */
static void
orthonormalize_rows (float *m,
                     guint  r,
                     guint  n)
{
  for (guint i = 0; i < r; i++)
    {
      float *row = m + (gsize) i * n;
      for (guint j = 0; j < i; j++)
        {
          const float *prev = m + (gsize) j * n;
          float d = cblas_sdot ((int) n, row, 1, prev, 1);
          cblas_saxpy ((int) n, -d, prev, 1, row, 1);
        }
      if (docent_vector_normalize (row, n) < 1e-20f)
        {
          /* degenerate (fewer passages than dimensions): any unit vector
           * orthogonal to the rest would do; a zero row just adds nothing */
          memset (row, 0, sizeof (float) * n);
        }
    }
}

DocentHashEmbedder *
docent_hash_embedder_fit_projection (DocentHashEmbedder *base,
                                     const char * const *texts,
                                     guint               n_texts,
                                     guint               dim,
                                     GCancellable       *cancellable,
                                     GError            **error)
{
  g_autofree float *x = NULL;
  g_autofree float *v = NULL;
  g_autofree float *y = NULL;
  guint64 seed = G_GUINT64_CONSTANT (0x5eed);
  guint bd;

  g_return_val_if_fail (DOCENT_IS_HASH_EMBEDDER (base), NULL);
  g_return_val_if_fail (base->proj == NULL, NULL);
  g_return_val_if_fail (dim > 0 && dim <= base->dim, NULL);
  g_return_val_if_fail (n_texts > 0 && texts != NULL, NULL);

  bd = base->dim;
  x = g_new (float, (gsize) n_texts * bd);
  if (!docent_embedder_embed (DOCENT_EMBEDDER (base), DOCENT_EMBED_PASSAGE, texts, n_texts, x,
                              cancellable, error))
    return NULL;

  /* The top-@dim right singular subspace of the passage matrix X (n × bd)
   * by subspace iteration from a fixed random start: V ← orth (Xᵀ X V).
   * Any orthonormal basis of that subspace preserves the inner products of
   * vectors lying in it, so no eigen-decomposition is needed. */
  v = g_new (float, (gsize) dim * bd);
  for (gsize i = 0; i < (gsize) dim * bd; i++)
    v[i] = (float) ((lcg_next (&seed) >> 40) * (1.0 / 16777216.0) - 0.5);
  orthonormalize_rows (v, dim, bd);
  y = g_new (float, (gsize) n_texts * dim);
  for (guint it = 0; it < 4; it++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      /* Y = X Vᵀ (n × dim); V = Yᵀ X (dim × bd) */
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) n_texts, (int) dim, (int) bd,
                   1.0f, x, (int) bd, v, (int) bd, 0.0f, y, (int) dim);
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) dim, (int) bd, (int) n_texts,
                   1.0f, y, (int) dim, x, (int) bd, 0.0f, v, (int) bd);
      orthonormalize_rows (v, dim, bd);
    }
  return docent_hash_embedder_new_projected (base, dim, v);
}
