/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "docent-vector-index"
#include "config.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86_KERNELS 1
#endif

#include "docent-vector-index.h"

/* Rows are scored in blocks: for int8 small enough that the block's rows
 * stay in L2 while every query passes; for float32 big enough that each
 * sgemm call has work to spread (OpenBLAS blocks for the caches itself). */
#define BLOCK_ROWS_I8 1024
#define BLOCK_ROWS_F32 16384
#define EMPTY_SLOT G_MAXUINT32

/* ---- id → row map (open addressing, linear probing) -------------------- */

typedef struct {
  gint64  *keys;
  guint32 *rows;     /* EMPTY_SLOT = free */
  guint    cap;      /* power of two */
  guint    n;
} IdMap;

static inline guint64
mix64 (guint64 x)
{
  x ^= x >> 30;
  x *= G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  x ^= x >> 27;
  x *= G_GUINT64_CONSTANT (0x94d049bb133111eb);
  x ^= x >> 31;
  return x;
}

static void
id_map_init (IdMap *map,
             guint  cap)
{
  map->cap = cap;
  map->n = 0;
  map->keys = g_new (gint64, cap);
  map->rows = g_new (guint32, cap);
  memset (map->rows, 0xff, sizeof (guint32) * cap);
}

static void
id_map_clear (IdMap *map)
{
  g_clear_pointer (&map->keys, g_free);
  g_clear_pointer (&map->rows, g_free);
  map->cap = map->n = 0;
}

static guint
id_map_slot (const IdMap *map,
             gint64       id)
{
  guint mask = map->cap - 1;
  guint i = (guint) mix64 ((guint64) id) & mask;

  while (map->rows[i] != EMPTY_SLOT && map->keys[i] != id)
    i = (i + 1) & mask;
  return i;
}

static guint32
id_map_lookup (const IdMap *map,
               gint64       id)
{
  return map->rows[id_map_slot (map, id)];
}

static void id_map_set (IdMap *map, gint64 id, guint32 row);

static void
id_map_grow (IdMap *map)
{
  IdMap old = *map;

  id_map_init (map, old.cap * 2);
  for (guint i = 0; i < old.cap; i++)
    if (old.rows[i] != EMPTY_SLOT)
      id_map_set (map, old.keys[i], old.rows[i]);
  id_map_clear (&old);
}

static void
id_map_set (IdMap   *map,
            gint64   id,
            guint32  row)
{
  guint i;

  if ((map->n + 1) * 4 > map->cap * 3)
    id_map_grow (map);
  i = id_map_slot (map, id);
  if (map->rows[i] == EMPTY_SLOT)
    {
      map->keys[i] = id;
      map->n++;
    }
  map->rows[i] = row;
}

static void
id_map_remove (IdMap  *map,
               gint64  id)
{
  guint mask = map->cap - 1;
  guint i = id_map_slot (map, id);
  guint j;

  if (map->rows[i] == EMPTY_SLOT)
    return;
  map->rows[i] = EMPTY_SLOT;
  map->n--;
  /* Backward-shift deletion keeps every probe chain unbroken without
   * tombstones. */
  for (j = (i + 1) & mask; map->rows[j] != EMPTY_SLOT; j = (j + 1) & mask)
    {
      guint home = (guint) mix64 ((guint64) map->keys[j]) & mask;
      gboolean between = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
      if (!between)
        {
          map->keys[i] = map->keys[j];
          map->rows[i] = map->rows[j];
          map->rows[j] = EMPTY_SLOT;
          i = j;
        }
    }
}

/* ---- the index --------------------------------------------------------- */

struct _DocentVectorIndex
{
  guint              dim;
  guint              stride;    /* elements per row, padded with zeros */
  DocentVectorFormat format;
  guint              n;
  guint              cap;
  float             *f32;       /* F32: cap × stride */
  gint8             *i8;        /* I8: cap × stride */
  float             *scales;    /* I8: per row */
  gint64            *ids;
  IdMap              map;
};

DocentVectorIndex *
docent_vector_index_new (guint              dim,
                         DocentVectorFormat format)
{
  DocentVectorIndex *self;

  g_return_val_if_fail (dim > 0, NULL);
  g_return_val_if_fail (format == DOCENT_VECTOR_F32 || format == DOCENT_VECTOR_I8, NULL);

  self = g_new0 (DocentVectorIndex, 1);
  self->dim = dim;
  self->format = format;
  /* int8 kernels take 32 bytes at a time; float rows align to 32 bytes too. */
  self->stride = format == DOCENT_VECTOR_I8 ? (dim + 31) & ~31u : (dim + 7) & ~7u;
  id_map_init (&self->map, 64);
  return self;
}

void
docent_vector_index_free (DocentVectorIndex *self)
{
  if (self == NULL)
    return;
  free (self->f32);
  free (self->i8);
  g_free (self->scales);
  g_free (self->ids);
  id_map_clear (&self->map);
  g_free (self);
}

guint
docent_vector_index_get_dim (DocentVectorIndex *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->dim;
}

DocentVectorFormat
docent_vector_index_get_format (DocentVectorIndex *self)
{
  g_return_val_if_fail (self != NULL, DOCENT_VECTOR_F32);
  return self->format;
}

guint
docent_vector_index_get_n_rows (DocentVectorIndex *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->n;
}

gsize
docent_vector_index_get_matrix_bytes (DocentVectorIndex *self)
{
  g_return_val_if_fail (self != NULL, 0);
  if (self->format == DOCENT_VECTOR_I8)
    return (gsize) self->n * (self->stride + sizeof (float));
  return (gsize) self->n * self->stride * sizeof (float);
}

static void *
realloc_aligned (void  *old,
                 gsize  old_bytes,
                 gsize  new_bytes)
{
  void *p = NULL;

  if (posix_memalign (&p, 64, new_bytes) != 0)
    g_error ("Out of memory allocating %" G_GSIZE_FORMAT " bytes for vectors", new_bytes);
  if (old != NULL)
    memcpy (p, old, old_bytes);
  free (old);
  return p;
}

void
docent_vector_index_reserve (DocentVectorIndex *self,
                             guint              n_rows)
{
  g_return_if_fail (self != NULL);

  if (n_rows <= self->cap)
    return;
  if (self->format == DOCENT_VECTOR_F32)
    self->f32 = realloc_aligned (self->f32, (gsize) self->n * self->stride * sizeof (float),
                                 (gsize) n_rows * self->stride * sizeof (float));
  else
    {
      self->i8 = realloc_aligned (self->i8, (gsize) self->n * self->stride,
                                  (gsize) n_rows * self->stride);
      self->scales = g_renew (float, self->scales, n_rows);
    }
  self->ids = g_renew (gint64, self->ids, n_rows);
  self->cap = n_rows;
  while (self->map.cap * 3 < n_rows * 4 + 4)
    id_map_grow (&self->map);
}

static void
store_row (DocentVectorIndex *self,
           guint              row,
           const float       *vec)
{
  if (self->format == DOCENT_VECTOR_F32)
    {
      float *dst = self->f32 + (gsize) row * self->stride;
      memcpy (dst, vec, sizeof (float) * self->dim);
      memset (dst + self->dim, 0, sizeof (float) * (self->stride - self->dim));
    }
  else
    {
      gint8 *dst = self->i8 + (gsize) row * self->stride;
      float amax = 0.0f, inv;

      for (guint i = 0; i < self->dim; i++)
        amax = MAX (amax, fabsf (vec[i]));
      self->scales[row] = amax / 127.0f;
      inv = amax > 0.0f ? 127.0f / amax : 0.0f;
      for (guint i = 0; i < self->dim; i++)
        dst[i] = (gint8) lrintf (vec[i] * inv);
      memset (dst + self->dim, 0, self->stride - self->dim);
    }
}

void
docent_vector_index_add (DocentVectorIndex *self,
                         gint64             id,
                         const float       *vec)
{
  guint32 row;

  g_return_if_fail (self != NULL);
  g_return_if_fail (vec != NULL);

  row = id_map_lookup (&self->map, id);
  if (row == EMPTY_SLOT)
    {
      if (self->n == self->cap)
        docent_vector_index_reserve (self, MAX (64, self->cap + self->cap / 2));
      row = self->n++;
      self->ids[row] = id;
      id_map_set (&self->map, id, row);
    }
  store_row (self, row, vec);
}

void
docent_vector_index_add_many (DocentVectorIndex *self,
                              const gint64      *ids,
                              const float       *vecs,
                              guint              n)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (n == 0 || (ids != NULL && vecs != NULL));

  if (self->n + n > self->cap)
    docent_vector_index_reserve (self, MAX (self->n + n, self->cap + self->cap / 2));
  for (guint i = 0; i < n; i++)
    docent_vector_index_add (self, ids[i], vecs + (gsize) i * self->dim);
}

gboolean
docent_vector_index_remove (DocentVectorIndex *self,
                            gint64             id)
{
  guint32 row, last;

  g_return_val_if_fail (self != NULL, FALSE);

  row = id_map_lookup (&self->map, id);
  if (row == EMPTY_SLOT)
    return FALSE;
  id_map_remove (&self->map, id);
  last = --self->n;
  if (row != last)
    {
      /* Keep the matrix dense: the last row fills the hole. */
      if (self->format == DOCENT_VECTOR_F32)
        memcpy (self->f32 + (gsize) row * self->stride,
                self->f32 + (gsize) last * self->stride, sizeof (float) * self->stride);
      else
        {
          memcpy (self->i8 + (gsize) row * self->stride,
                  self->i8 + (gsize) last * self->stride, self->stride);
          self->scales[row] = self->scales[last];
        }
      self->ids[row] = self->ids[last];
      id_map_set (&self->map, self->ids[row], row);
    }
  return TRUE;
}

gboolean
docent_vector_index_contains (DocentVectorIndex *self,
                              gint64             id)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return id_map_lookup (&self->map, id) != EMPTY_SLOT;
}

gboolean
docent_vector_index_get_vector (DocentVectorIndex *self,
                                gint64             id,
                                float             *out)
{
  guint32 row;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  row = id_map_lookup (&self->map, id);
  if (row == EMPTY_SLOT)
    return FALSE;
  if (self->format == DOCENT_VECTOR_F32)
    memcpy (out, self->f32 + (gsize) row * self->stride, sizeof (float) * self->dim);
  else
    for (guint i = 0; i < self->dim; i++)
      out[i] = self->i8[(gsize) row * self->stride + i] * self->scales[row];
  return TRUE;
}

void
docent_vector_index_clear (DocentVectorIndex *self)
{
  g_return_if_fail (self != NULL);
  self->n = 0;
  id_map_clear (&self->map);
  id_map_init (&self->map, 64);
  while (self->map.cap * 3 < self->cap * 4 + 4)
    id_map_grow (&self->map);
}

const gint64 *
docent_vector_index_get_ids (DocentVectorIndex *self,
                             guint             *n_rows)
{
  g_return_val_if_fail (self != NULL, NULL);
  if (n_rows != NULL)
    *n_rows = self->n;
  return self->ids;
}

/* ---- int8 kernels: int8 rows · int16 query → int32 ---------------------- */

/* The query is quantized to int16 (not int8) so it adds no visible error;
 * query_prepare() bounds its range so the int32 sums cannot overflow. */
typedef void (*DotsI8Func) (const gint8 *rows, guint stride, guint n,
                            const gint16 *q, gint32 *out);

static void
dots_i8_scalar (const gint8  *rows,
                guint         stride,
                guint         n,
                const gint16 *q,
                gint32       *out)
{
  for (guint r = 0; r < n; r++)
    {
      const gint8 *x = rows + (gsize) r * stride;
      gint64 acc = 0;
      for (guint i = 0; i < stride; i++)
        acc += (gint32) x[i] * q[i];
      out[r] = (gint32) CLAMP (acc, G_MININT32, G_MAXINT32);
    }
}

#ifdef HAVE_X86_KERNELS
__attribute__ ((target ("avx2")))
static void
dots_i8_avx2 (const gint8  *rows,
              guint         stride,
              guint         n,
              const gint16 *q,
              gint32       *out)
{
  for (guint r = 0; r < n; r++)
    {
      const gint8 *x = rows + (gsize) r * stride;
      __m256i acc0 = _mm256_setzero_si256 ();
      __m256i acc1 = _mm256_setzero_si256 ();
      __m128i s;

      for (guint i = 0; i < stride; i += 32)
        {
          __m256i x0 = _mm256_cvtepi8_epi16 (_mm_load_si128 ((const __m128i *) (x + i)));
          __m256i x1 = _mm256_cvtepi8_epi16 (_mm_load_si128 ((const __m128i *) (x + i + 16)));
          __m256i q0 = _mm256_loadu_si256 ((const __m256i *) (q + i));
          __m256i q1 = _mm256_loadu_si256 ((const __m256i *) (q + i + 16));
          acc0 = _mm256_add_epi32 (acc0, _mm256_madd_epi16 (x0, q0));
          acc1 = _mm256_add_epi32 (acc1, _mm256_madd_epi16 (x1, q1));
        }
      acc0 = _mm256_add_epi32 (acc0, acc1);
      s = _mm_add_epi32 (_mm256_castsi256_si128 (acc0), _mm256_extracti128_si256 (acc0, 1));
      s = _mm_add_epi32 (s, _mm_shuffle_epi32 (s, _MM_SHUFFLE (1, 0, 3, 2)));
      s = _mm_add_epi32 (s, _mm_shuffle_epi32 (s, _MM_SHUFFLE (2, 3, 0, 1)));
      out[r] = _mm_cvtsi128_si32 (s);
    }
}

/* Four int32 sums of 8 lanes each → one vector [sum0 sum1 sum2 sum3]. */
__attribute__ ((target ("avx2")))
static inline __m128i
hsum4_avx2 (__m256i a0, __m256i a1, __m256i a2, __m256i a3)
{
  __m256i s = _mm256_hadd_epi32 (_mm256_hadd_epi32 (a0, a1), _mm256_hadd_epi32 (a2, a3));
  return _mm_add_epi32 (_mm256_castsi256_si128 (s), _mm256_extracti128_si256 (s, 1));
}

__attribute__ ((target ("avx512f,avx512bw")))
static inline __m256i
fold512 (__m512i a)
{
  return _mm256_add_epi32 (_mm512_castsi512_si256 (a), _mm512_extracti64x4_epi64 (a, 1));
}

__attribute__ ((target ("avx512f,avx512bw")))
static void
dots_i8_avx512 (const gint8  *rows,
                guint         stride,
                guint         n,
                const gint16 *q,
                gint32       *out)
{
  guint r = 0;

  /* Four rows per pass: each query load serves four rows, and the
   * horizontal sums (a large share of the work at dim 384) are shared. */
  for (; r + 4 <= n; r += 4)
    {
      const gint8 *x = rows + (gsize) r * stride;
      __m512i a0 = _mm512_setzero_si512 (), a1 = a0, a2 = a0, a3 = a0;

      for (guint i = 0; i < stride; i += 32)
        {
          __m512i q0 = _mm512_loadu_si512 ((const void *) (q + i));
          a0 = _mm512_add_epi32 (a0, _mm512_madd_epi16 (_mm512_cvtepi8_epi16 (_mm256_load_si256 ((const __m256i *) (x + i))), q0));
          a1 = _mm512_add_epi32 (a1, _mm512_madd_epi16 (_mm512_cvtepi8_epi16 (_mm256_load_si256 ((const __m256i *) (x + stride + i))), q0));
          a2 = _mm512_add_epi32 (a2, _mm512_madd_epi16 (_mm512_cvtepi8_epi16 (_mm256_load_si256 ((const __m256i *) (x + 2 * (gsize) stride + i))), q0));
          a3 = _mm512_add_epi32 (a3, _mm512_madd_epi16 (_mm512_cvtepi8_epi16 (_mm256_load_si256 ((const __m256i *) (x + 3 * (gsize) stride + i))), q0));
        }
      _mm_storeu_si128 ((__m128i *) (out + r),
                        hsum4_avx2 (fold512 (a0), fold512 (a1), fold512 (a2), fold512 (a3)));
    }
  for (; r < n; r++)
    {
      const gint8 *x = rows + (gsize) r * stride;
      __m512i acc = _mm512_setzero_si512 ();

      for (guint i = 0; i < stride; i += 32)
        {
          __m512i x0 = _mm512_cvtepi8_epi16 (_mm256_load_si256 ((const __m256i *) (x + i)));
          __m512i q0 = _mm512_loadu_si512 ((const void *) (q + i));
          acc = _mm512_add_epi32 (acc, _mm512_madd_epi16 (x0, q0));
        }
      out[r] = _mm512_reduce_add_epi32 (acc);
    }
}
#endif

static DotsI8Func
get_dots_i8 (void)
{
  static DotsI8Func func;
  static gsize once;

  if (g_once_init_enter (&once))
    {
      DotsI8Func f = dots_i8_scalar;
#ifdef HAVE_X86_KERNELS
      /* DOCENT_SIMD=scalar|avx2 forces a kernel (tests cover each one) */
      const char *force = g_getenv ("DOCENT_SIMD");

      __builtin_cpu_init ();
      if (g_strcmp0 (force, "scalar") == 0)
        f = dots_i8_scalar;
      else if (g_strcmp0 (force, "avx2") != 0 &&
               __builtin_cpu_supports ("avx512bw") && __builtin_cpu_supports ("avx512f"))
        f = dots_i8_avx512;
      else if (__builtin_cpu_supports ("avx2"))
        f = dots_i8_avx2;
#endif
      func = f;
      g_once_init_leave (&once, 1);
    }
  return func;
}

/* ---- top-k ------------------------------------------------------------- */

typedef struct {
  DocentVectorHit *h;
  guint            n;
  guint            k;
} Heap;

/* TRUE when a ranks below b. Ties go to the lower id, so results do not
 * depend on row order (which removals shuffle). */
static inline gboolean
hit_worse (float sa, gint64 ia, float sb, gint64 ib)
{
  return sa < sb || (sa == sb && ia > ib);
}

static inline void
heap_sift_down (Heap *heap,
                guint i)
{
  DocentVectorHit *h = heap->h;

  for (;;)
    {
      guint l = 2 * i + 1, r = l + 1, m = i;
      if (l < heap->n && hit_worse (h[l].score, h[l].id, h[m].score, h[m].id))
        m = l;
      if (r < heap->n && hit_worse (h[r].score, h[r].id, h[m].score, h[m].id))
        m = r;
      if (m == i)
        return;
      DocentVectorHit t = h[i];
      h[i] = h[m];
      h[m] = t;
      i = m;
    }
}

static inline void
heap_push (Heap   *heap,
           float   score,
           gint64  id)
{
  DocentVectorHit *h = heap->h;

  if (heap->n < heap->k)
    {
      guint i = heap->n++;
      h[i].score = score;
      h[i].id = id;
      while (i > 0)
        {
          guint p = (i - 1) / 2;
          if (!hit_worse (h[i].score, h[i].id, h[p].score, h[p].id))
            break;
          DocentVectorHit t = h[i];
          h[i] = h[p];
          h[p] = t;
          i = p;
        }
    }
  else if (hit_worse (h[0].score, h[0].id, score, id))
    {
      h[0].score = score;
      h[0].id = id;
      heap_sift_down (heap, 0);
    }
}

static int
compare_hits (const void *a,
              const void *b)
{
  const DocentVectorHit *x = a, *y = b;

  if (hit_worse (x->score, x->id, y->score, y->id))
    return 1;
  if (hit_worse (y->score, y->id, x->score, x->id))
    return -1;
  return 0;
}

static guint
heap_finish (Heap *heap)
{
  qsort (heap->h, heap->n, sizeof (DocentVectorHit), compare_hits);
  return heap->n;
}

/* ---- search ------------------------------------------------------------ */

typedef struct {
  gint16 *q;        /* I8: stride int16 */
  float   qscale;
  float  *qf;       /* F32: stride floats */
} Query;

static void
query_prepare (DocentVectorIndex *self,
               const float       *vec,
               Query             *query)
{
  if (self->format == DOCENT_VECTOR_F32)
    {
      query->qf = g_new0 (float, self->stride);
      memcpy (query->qf, vec, sizeof (float) * self->dim);
    }
  else
    {
      float amax = 0.0f, inv;
      /* int16 precision, but the int32 sum must not overflow even when every
       * element of both rows sits at its maximum. */
      float qmax = (float) MIN (32767, G_MAXINT32 / (127 * (gint64) self->stride));

      query->q = g_aligned_alloc0 (self->stride, sizeof (gint16), 64);
      for (guint i = 0; i < self->dim; i++)
        amax = MAX (amax, fabsf (vec[i]));
      query->qscale = amax / qmax;
      inv = amax > 0.0f ? qmax / amax : 0.0f;
      for (guint i = 0; i < self->dim; i++)
        query->q[i] = (gint16) lrintf (vec[i] * inv);
    }
}

static void
query_clear (Query *query)
{
  g_clear_pointer (&query->qf, g_free);
  g_clear_pointer (&query->q, g_aligned_free);
}

/* Scores rows [r0, r0 + nb) against one query into @scores. */
static void
score_block (DocentVectorIndex *self,
             const Query       *query,
             guint              r0,
             guint              nb,
             float             *scores,
             gint32            *iscores)
{
  if (self->format == DOCENT_VECTOR_F32)
    cblas_sgemv (CblasRowMajor, CblasNoTrans, (int) nb, (int) self->stride, 1.0f,
                 self->f32 + (gsize) r0 * self->stride, (int) self->stride,
                 query->qf, 1, 0.0f, scores, 1);
  else
    {
      get_dots_i8 () (self->i8 + (gsize) r0 * self->stride, self->stride, nb, query->q, iscores);
      for (guint i = 0; i < nb; i++)
        scores[i] = (float) iscores[i] * self->scales[r0 + i] * query->qscale;
    }
}

static float
score_row (DocentVectorIndex *self,
           const Query       *query,
           guint              row)
{
  float s;
  gint32 is;

  score_block (self, query, row, 1, &s, &is);
  return s;
}

static int
compare_guint32 (const void *a,
                 const void *b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x < y ? -1 : x > y;
}

/* Rows of the allowed ids, sorted (so the gather walks memory forward). */
static guint32 *
allowed_rows (DocentVectorIndex *self,
              const gint64      *allow,
              guint              n_allow,
              guint             *n_rows)
{
  guint32 *rows = g_new (guint32, MAX (n_allow, 1));
  guint n = 0;

  for (guint i = 0; i < n_allow; i++)
    {
      guint32 row = id_map_lookup (&self->map, allow[i]);
      if (row != EMPTY_SLOT)
        rows[n++] = row;
    }
  qsort (rows, n, sizeof (guint32), compare_guint32);
  /* duplicates in @allow must not give duplicate hits */
  if (n > 1)
    {
      guint m = 1;
      for (guint i = 1; i < n; i++)
        if (rows[i] != rows[m - 1])
          rows[m++] = rows[i];
      n = m;
    }
  *n_rows = n;
  return rows;
}

void
docent_vector_index_search_many (DocentVectorIndex *self,
                                 const float       *queries,
                                 guint              n_queries,
                                 guint              k,
                                 const gint64      *allow,
                                 guint              n_allow,
                                 DocentVectorHit   *hits,
                                 guint             *n_hits)
{
  g_autofree Query *qs = NULL;
  g_autofree Heap *heaps = NULL;
  g_autofree guint32 *rows = NULL;
  g_autofree float *scores = NULL;
  g_autofree gint32 *iscores = NULL;
  g_autofree guint8 *mask = NULL;
  g_autofree float *qmat = NULL;
  guint n_rows = 0;
  guint block_rows;

  g_return_if_fail (self != NULL);
  g_return_if_fail (n_queries == 0 || (queries != NULL && hits != NULL && n_hits != NULL));
  g_return_if_fail (allow != NULL || n_allow == 0);

  if (n_queries == 0)
    return;

  heaps = g_new0 (Heap, n_queries);
  for (guint q = 0; q < n_queries; q++)
    {
      heaps[q].h = hits + (gsize) q * k;
      heaps[q].k = k;
    }
  if (k == 0 || self->n == 0)
    goto done;

  qs = g_new0 (Query, n_queries);
  for (guint q = 0; q < n_queries; q++)
    query_prepare (self, queries + (gsize) q * self->dim, &qs[q]);

  if (allow != NULL)
    {
      rows = allowed_rows (self, allow, n_allow, &n_rows);
      /* A small allow-list is cheaper to gather than to mask. */
      if ((gsize) n_rows * 8 < self->n)
        {
          for (guint i = 0; i < n_rows; i++)
            for (guint q = 0; q < n_queries; q++)
              heap_push (&heaps[q], score_row (self, &qs[q], rows[i]), self->ids[rows[i]]);
          goto finish;
        }
      mask = g_new0 (guint8, (self->n + 7) / 8);
      for (guint i = 0; i < n_rows; i++)
        mask[rows[i] >> 3] |= 1u << (rows[i] & 7);
    }

  block_rows = self->format == DOCENT_VECTOR_I8 ? BLOCK_ROWS_I8 : BLOCK_ROWS_F32;
  scores = g_new (float, (gsize) block_rows * n_queries);
  iscores = g_new (gint32, block_rows);
  if (self->format == DOCENT_VECTOR_F32 && n_queries > 1)
    {
      qmat = g_new0 (float, (gsize) n_queries * self->stride);
      for (guint q = 0; q < n_queries; q++)
        memcpy (qmat + (gsize) q * self->stride, qs[q].qf, sizeof (float) * self->dim);
    }

  for (guint r0 = 0; r0 < self->n; r0 += block_rows)
    {
      guint nb = MIN (block_rows, self->n - r0);

      if (qmat != NULL)
        /* scores (nb × nq) = block (nb × stride) · queriesᵀ */
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans,
                     (int) nb, (int) n_queries, (int) self->stride, 1.0f,
                     self->f32 + (gsize) r0 * self->stride, (int) self->stride,
                     qmat, (int) self->stride, 0.0f, scores, (int) n_queries);
      else
        for (guint q = 0; q < n_queries; q++)
          {
            score_block (self, &qs[q], r0, nb, scores + (gsize) q * block_rows, iscores);
          }

      for (guint q = 0; q < n_queries; q++)
        {
          Heap *heap = &heaps[q];
          for (guint i = 0; i < nb; i++)
            {
              guint row = r0 + i;
              float s = qmat != NULL ? scores[(gsize) i * n_queries + q]
                                     : scores[(gsize) q * block_rows + i];
              if (mask != NULL && !(mask[row >> 3] & (1u << (row & 7))))
                continue;
              /* Most rows lose to the heap's worst: test before the call. */
              if (heap->n == heap->k &&
                  !hit_worse (heap->h[0].score, heap->h[0].id, s, self->ids[row]))
                continue;
              heap_push (heap, s, self->ids[row]);
            }
        }
    }

finish:
  for (guint q = 0; q < n_queries; q++)
    query_clear (&qs[q]);
done:
  for (guint q = 0; q < n_queries; q++)
    n_hits[q] = heap_finish (&heaps[q]);
}

guint
docent_vector_index_search (DocentVectorIndex *self,
                            const float       *query,
                            guint              k,
                            const gint64      *allow,
                            guint              n_allow,
                            DocentVectorHit   *hits)
{
  guint n_hits = 0;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (query != NULL, 0);
  g_return_val_if_fail (k == 0 || hits != NULL, 0);

  docent_vector_index_search_many (self, query, 1, k, allow, n_allow, hits, &n_hits);
  return n_hits;
}
