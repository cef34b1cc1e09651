// Inference forward pass of both model families for sampling, in C over OpenBLAS: one call runs every
// layer for the new positions of a batch of rows and returns the last position's logits, writing keys
// and values into a preallocated cache (no concatenation, no tfjs op per step). A cached token through
// tfjs costs ~150 dispatches; here it costs one call. packages/ml/src/kernels/decode.ts lays out the
// weights and the cache; the math is that of models/gpt.ts and models/llama.ts, op for op.
//
//   decodeForward(dims, eps, loraScale, weights, cacheK, cacheV, tokens, rows, pos, logits)
//     dims     Int32Array [family (0 gpt, 1 llama), V, C, L, H, Hkv, F, capacity, cacheRows, rank, T, n, maxPos]
//     weights  array of Float32Array | null in decode.ts's order (a linear is 4 slots: w, b, lora_a, lora_b)
//     cacheK/V one Float32Array per layer, [cacheRows, Hkv, capacity, hs]
//     tokens   Int32Array [n·T]: T new tokens for each of n rows; rows: which cache row; pos: its first position
//     logits   Float32Array [n·V]: next-token logits after each row's last new token
//   decodePick(logits, n, V, temperature, topK, topP, rands, out): one token per row, as sample.ts's pickToken.
#define NAPI_VERSION 8
#include <cblas.h>
#include <math.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------- arguments: every array is checked for type and length before it is read ---------- */

typedef struct {
  napi_env env;
  bool failed;
} Ctx;

static void fail(Ctx *c, const char *msg) {
  if (!c->failed) napi_throw_range_error(c->env, NULL, msg);
  c->failed = true;
}

static void *typed_value(Ctx *c, napi_value v, napi_typedarray_type want, size_t min_len, bool optional, const char *name) {
  if (c->failed) return NULL;
  napi_valuetype t;
  if (optional && napi_typeof(c->env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined)) return NULL;
  bool is_typed = false;
  napi_typedarray_type type;
  size_t len, offset;
  void *data;
  napi_value buffer;
  if (napi_is_typedarray(c->env, v, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(c->env, v, &type, &len, &data, &buffer, &offset) != napi_ok || type != want || len < min_len) {
    fail(c, name);
    return NULL;
  }
  return data;
}

static float *element_f32(Ctx *c, napi_value arr, uint32_t i, size_t min_len, bool optional, const char *name) {
  napi_value v;
  if (c->failed) return NULL;
  if (napi_get_element(c->env, arr, i, &v) != napi_ok) {
    fail(c, name);
    return NULL;
  }
  return typed_value(c, v, napi_float32_array, min_len, optional, name);
}

/* ---------- the pieces of a layer ---------- */

typedef struct {
  const float *w, *b, *a, *bb; /* W [in, out], b [out] or NULL, LoRA A [in, r] and B [r, out] or NULL */
  int32_t in, out;
} Linear;

typedef struct {
  int32_t family, V, C, L, H, Hkv, F, cap, cacheRows, rank, T, n, maxPos, hs, kv;
  float eps, loraScale;
} Dims;

/* ---------- products for the few rows of a decode step ----------
   OpenBLAS's sgemm packs the whole weight for every call and its kernels are tuned for many rows: with
   the 2–16 rows of a decode step it ran 3× slower than one gemv (GPT-2 small, 8 rows). These read each
   weight from memory once, the partial sums of 4×24 tiles held in registers. */

#define SMALL_ROWS 16
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4))); /* the same, at any float address */
static inline v8 ld(const float *p) { return *(const v8u *)p; }
static inline void st(float *p, v8 v) { *(v8u *)p = v; }

/* A tile of R rows × 16 columns of y += x·W over W's rows k0..k1, its sums in registers. */
#define TILE(R)                                                                                     \
  do {                                                                                              \
    v8 acc[R][2];                                                                                   \
    for (int r = 0; r < R; r++)                                                                     \
      for (int c = 0; c < 2; c++) acc[r][c] = ld(y + (size_t)(n0 + r) * M + m0 + 8 * c);           \
    for (int32_t k = k0; k < k1; k++) {                                                             \
      const v8 w0 = ld(W + (size_t)k * M + m0), w1 = ld(W + (size_t)k * M + m0 + 8);                \
      for (int r = 0; r < R; r++) {                                                                 \
        const v8 xr = (v8){0} + x[(size_t)(n0 + r) * K + k];                                        \
        acc[r][0] += xr * w0;                                                                       \
        acc[r][1] += xr * w1;                                                                       \
      }                                                                                             \
    }                                                                                               \
    for (int r = 0; r < R; r++)                                                                     \
      for (int c = 0; c < 2; c++) st(y + (size_t)(n0 + r) * M + m0 + 8 * c, acc[r][c]);            \
  } while (0)

/* y[N, M] += x[N, K] · W[K, M]. Walks W by 8 rows at a time, each streamed from left to right (the
   prefetcher follows 8 sequential streams; a column block's stride of a whole row defeats it), with
   tiles of 8 (then 4) rows of y in registers, so W comes from memory once for 8 rows. */
static void small_gemm_nn(int32_t N, int32_t K, int32_t M, const float *x, const float *W, float *y) {
  enum { KB = 8 };
  const int32_t M16 = M - M % 16;
  for (int32_t k0 = 0; k0 < K; k0 += KB) {
    const int32_t k1 = k0 + KB < K ? k0 + KB : K;
    for (int32_t m0 = 0; m0 < M16; m0 += 16) {
      int32_t n0 = 0;
      for (; n0 + 8 <= N; n0 += 8) TILE(8);
      for (; n0 + 4 <= N; n0 += 4) TILE(4);
      for (; n0 < N; n0++) TILE(1);
    }
  }
  for (int32_t n = 0; n < N && M16 < M; n++)
    for (int32_t k = 0; k < K; k++) {
      const float xv = x[(size_t)n * K + k];
      for (int32_t m = M16; m < M; m++) y[(size_t)n * M + m] += xv * W[(size_t)k * M + m];
    }
}
#undef TILE

/* One row of h against one row of E (the tails of small_gemm_nt). */
static inline float dot_row(const float *e, const float *h, int32_t K) {
  const int32_t K8 = K - K % 8;
  v8 a = {0};
  for (int32_t k = 0; k < K8; k += 8) a += ld(e + k) * ld(h + k);
  float s = 0;
  for (int i = 0; i < 8; i++) s += a[i];
  for (int32_t k = K8; k < K; k++) s += e[k] * h[k];
  return s;
}

/* y[N, V] = h[N, K] · Eᵀ with E [V, K] (the tied LM head over the embedding rows): 4 rows of E against
   4 rows of h at a time, 16 sums in registers, so each load feeds 4 products; E is read from memory
   once, each block of 4 of its rows serving every block of h from L1. */
static void small_gemm_nt(int32_t N, int32_t K, int32_t V, const float *h, const float *E, float *y) {
  const int32_t V4 = K % 8 == 0 ? V - V % 4 : 0, N4 = N - N % 4;
  for (int32_t v = 0; v < V4; v += 4) {
    const float *e0 = E + (size_t)v * K, *e1 = e0 + K, *e2 = e1 + K, *e3 = e2 + K;
    for (int32_t n0 = 0; n0 < N4; n0 += 4) {
      const float *h0 = h + (size_t)n0 * K, *h1 = h0 + K, *h2 = h1 + K, *h3 = h2 + K;
      v8 a[4][4] = {{{0}}};
      for (int32_t k = 0; k < K; k += 8) {
        const v8 x0 = ld(h0 + k), x1 = ld(h1 + k), x2 = ld(h2 + k), x3 = ld(h3 + k);
        const v8 w[4] = {ld(e0 + k), ld(e1 + k), ld(e2 + k), ld(e3 + k)};
        for (int j = 0; j < 4; j++) {
          a[0][j] += x0 * w[j];
          a[1][j] += x1 * w[j];
          a[2][j] += x2 * w[j];
          a[3][j] += x3 * w[j];
        }
      }
      for (int r = 0; r < 4; r++)
        for (int j = 0; j < 4; j++) {
          float sum = 0;
          for (int i = 0; i < 8; i++) sum += a[r][j][i];
          y[(size_t)(n0 + r) * V + v + j] = sum;
        }
    }
    for (int32_t n = N4; n < N; n++)
      for (int j = 0; j < 4; j++) y[(size_t)n * V + v + j] = dot_row(E + (size_t)(v + j) * K, h + (size_t)n * K, K);
  }
  for (int32_t v = V4; v < V; v++)
    for (int32_t n = 0; n < N; n++) y[(size_t)n * V + v] = dot_row(E + (size_t)v * K, h + (size_t)n * K, K);
}

/* y[N, out] = x·W + b (+ (x·A)·B·scale); one row goes through gemv, a few through small_gemm_nn. */
static void linear(const Dims *d, const Linear *l, const float *x, int32_t N, float *y, float *tmp) {
  const int32_t K = l->in, M = l->out;
  if (l->b)
    for (int32_t i = 0; i < N; i++) memcpy(y + (size_t)i * M, l->b, sizeof(float) * M);
  else if (N > 1 && N <= SMALL_ROWS)
    memset(y, 0, sizeof(float) * N * M);
  const float beta = l->b ? 1.0f : 0.0f;
  if (N == 1) cblas_sgemv(CblasRowMajor, CblasTrans, K, M, 1.0f, l->w, M, x, 1, beta, y, 1);
  else if (N <= SMALL_ROWS) small_gemm_nn(N, K, M, x, l->w, y);
  else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, M, K, 1.0f, x, K, l->w, M, beta, y, M);
  if (l->a) {
    const int32_t r = d->rank;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, r, K, 1.0f, x, K, l->a, r, 0.0f, tmp, r);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, M, r, d->loraScale, tmp, r, l->bb, M, 1.0f, y, M);
  }
}

static void layer_norm(const float *x, const float *g, const float *b, float *y, int32_t N, int32_t C, float eps) {
  for (int32_t i = 0; i < N; i++) {
    const float *xi = x + (size_t)i * C;
    float *yi = y + (size_t)i * C;
    float s = 0;
    for (int32_t j = 0; j < C; j++) s += xi[j];
    const float mu = s / C;
    float v = 0;
    for (int32_t j = 0; j < C; j++) v += (xi[j] - mu) * (xi[j] - mu);
    const float r = 1.0f / sqrtf(v / C + eps);
    for (int32_t j = 0; j < C; j++) yi[j] = (xi[j] - mu) * r * g[j] + b[j];
  }
}

static void rms_norm(const float *x, const float *g, float *y, int32_t N, int32_t C, float eps) {
  for (int32_t i = 0; i < N; i++) {
    const float *xi = x + (size_t)i * C;
    float *yi = y + (size_t)i * C;
    float s = 0;
    for (int32_t j = 0; j < C; j++) s += xi[j] * xi[j];
    const float r = 1.0f / sqrtf(s / C + eps);
    for (int32_t j = 0; j < C; j++) yi[j] = xi[j] * r * g[j];
  }
}

/* Rotate-half rotary embedding of `heads` heads at `x` (stride hs each) for position p; cos/sin [maxPos, hs] each half repeated. */
static void rotate(float *x, int32_t heads, int32_t hs, const float *cos_p, const float *sin_p) {
  const int32_t half = hs / 2;
  for (int32_t h = 0; h < heads; h++) {
    float *v = x + (size_t)h * hs;
    for (int32_t j = 0; j < half; j++) {
      const float x1 = v[j], x2 = v[j + half];
      v[j] = x1 * cos_p[j] - x2 * sin_p[j];
      v[j + half] = x2 * cos_p[j + half] + x1 * sin_p[j + half];
    }
  }
}

/* Writes the new keys/values of `T` positions of one row into its cache slots from position p0. */
static void cache_write(const Dims *d, float *Kc, float *Vc, int32_t row, int32_t p0, const float *k, const float *v, size_t stride) {
  for (int32_t t = 0; t < d->T; t++)
    for (int32_t g = 0; g < d->Hkv; g++) {
      const size_t at = (((size_t)row * d->Hkv + g) * d->cap + p0 + t) * d->hs;
      memcpy(Kc + at, k + t * stride + (size_t)g * d->hs, sizeof(float) * d->hs);
      memcpy(Vc + at, v + t * stride + (size_t)g * d->hs, sizeof(float) * d->hs);
    }
}

/* softmax(q·Kᵀ/√hs) · V for T queries of one row at positions p0.., each seeing keys up to its own position;
   query head h reads key/value head h / (H / Hkv). q has row stride qs, out row stride C. */
static void attend(const Dims *d, const float *Kc, const float *Vc, int32_t row, int32_t p0, const float *q, size_t qs, float *out, float *scores) {
  const int32_t T = d->T, S = p0 + T, hs = d->hs, rep = d->H / d->Hkv;
  const float scale = 1.0f / sqrtf((float)hs);
  for (int32_t h = 0; h < d->H; h++) {
    const size_t base = (((size_t)row * d->Hkv + h / rep) * d->cap) * hs;
    const float *K = Kc + base, *Vh = Vc + base, *qh = q + (size_t)h * hs;
    float *oh = out + (size_t)h * hs;
    if (T == 1) cblas_sgemv(CblasRowMajor, CblasNoTrans, S, hs, scale, K, hs, qh, 1, 0.0f, scores, 1);
    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, S, hs, scale, qh, (int)qs, K, hs, 0.0f, scores, S);
    for (int32_t t = 0; t < T; t++) {
      float *s = scores + (size_t)t * S;
      const int32_t seen = p0 + t + 1;
      float mx = s[0];
      for (int32_t j = 1; j < seen; j++) mx = s[j] > mx ? s[j] : mx;
      float sum = 0;
      for (int32_t j = 0; j < seen; j++) sum += (s[j] = expf(s[j] - mx));
      const float inv = 1.0f / sum;
      for (int32_t j = 0; j < seen; j++) s[j] *= inv;
      for (int32_t j = seen; j < S; j++) s[j] = 0.0f;
    }
    if (T == 1) cblas_sgemv(CblasRowMajor, CblasTrans, S, hs, 1.0f, Vh, hs, scores, 1, 0.0f, oh, 1);
    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, S, 1.0f, scores, S, Vh, hs, 0.0f, oh, d->C);
  }
}

#define GELU_C 1.5957691216057308f /* 2·√(2/π): GELU's tanh form as x·σ(2√(2/π)(x + 0.044715x³)), as gpt.ts */

/* e^x as kernels.c's fast_exp (the training GELU's): 2^(x·log2 e) split into integer and fraction, the
   fraction by a degree-6 polynomial; vectorises, where expf does not (it was 5% of a GPT-2 step). */
static inline float fast_exp(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float t = x * 1.44269504089f;
  const float n = rintf(t);
  const float f = t - n;
  float p = 1.5403530393e-4f;
  p = p * f + 1.3333558147e-3f;
  p = p * f + 9.6181291076e-3f;
  p = p * f + 5.5504108665e-2f;
  p = p * f + 2.4022650696e-1f;
  p = p * f + 6.9314718056e-1f;
  p = p * f + 1.0f;
  const int32_t bits = ((int32_t)n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

/* ---------- the forward pass ---------- */

typedef struct {
  const float *wte, *wpe, *lnf_g, *lnf_b, *norm_f, *lm_head, *cos, *sin;
  const float **cacheK, **cacheV;
} Globals;

enum { GPT_SLOTS = 20, LLAMA_SLOTS = 30, GPT_GLOBALS = 4, LLAMA_GLOBALS = 5 };

static bool read_linear(Ctx *c, napi_value arr, uint32_t slot, const Dims *d, int32_t in, int32_t out, bool bias, Linear *l) {
  l->in = in;
  l->out = out;
  l->w = element_f32(c, arr, slot, (size_t)in * out, false, "decode: a weight is missing or too short");
  l->b = element_f32(c, arr, slot + 1, out, !bias, "decode: a bias is missing or too short");
  l->a = element_f32(c, arr, slot + 2, (size_t)in * (d->rank ? d->rank : 1), true, "decode: a LoRA A is too short");
  l->bb = element_f32(c, arr, slot + 3, (size_t)(d->rank ? d->rank : 1) * out, true, "decode: a LoRA B is too short");
  if (!c->failed && (l->a != NULL) != (l->bb != NULL)) fail(c, "decode: LoRA A and B come in pairs");
  if (!c->failed && l->a && d->rank <= 0) fail(c, "decode: LoRA weights given with rank 0");
  return !c->failed;
}

static napi_value DecodeForward(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  Ctx c = {env, false};
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 10) {
    napi_throw_type_error(env, NULL, "decodeForward(dims, eps, loraScale, weights, cacheK, cacheV, tokens, rows, pos, logits)");
    return NULL;
  }
  const int32_t *dv = typed_value(&c, argv[0], napi_int32_array, 13, false, "decode: dims must be an Int32Array of 13");
  if (c.failed) return NULL;
  Dims d = {dv[0], dv[1], dv[2], dv[3], dv[4], dv[5], dv[6], dv[7], dv[8], dv[9], dv[10], dv[11], dv[12], 0, 0, 0, 0};
  double eps = 0, loraScale = 0;
  napi_get_value_double(env, argv[1], &eps);
  napi_get_value_double(env, argv[2], &loraScale);
  d.eps = (float)eps;
  d.loraScale = (float)loraScale;
  if ((d.family != 0 && d.family != 1) || d.V <= 0 || d.C <= 0 || d.L <= 0 || d.H <= 0 || d.Hkv <= 0 || d.F <= 0 || d.cap <= 0 ||
      d.cacheRows <= 0 || d.rank < 0 || d.T <= 0 || d.n <= 0 || d.maxPos <= 0 || d.C % d.H || d.H % d.Hkv) {
    fail(&c, "decode: bad dims");
    return NULL;
  }
  d.hs = d.C / d.H;
  d.kv = d.Hkv * d.hs;
  const int32_t N = d.n * d.T, C = d.C, V = d.V;
  const int32_t *tokens = typed_value(&c, argv[6], napi_int32_array, (size_t)N, false, "decode: tokens must be an Int32Array [n·T]");
  const int32_t *rows = typed_value(&c, argv[7], napi_int32_array, d.n, false, "decode: rows must be an Int32Array [n]");
  const int32_t *pos = typed_value(&c, argv[8], napi_int32_array, d.n, false, "decode: pos must be an Int32Array [n]");
  float *logits = typed_value(&c, argv[9], napi_float32_array, (size_t)d.n * V, false, "decode: logits must be a Float32Array [n·V]");
  if (c.failed) return NULL;
  for (int32_t i = 0; i < N; i++)
    if (tokens[i] < 0 || tokens[i] >= V) return fail(&c, "decode: a token id is outside the vocabulary"), NULL;
  for (int32_t r = 0; r < d.n; r++) {
    if (rows[r] < 0 || rows[r] >= d.cacheRows) return fail(&c, "decode: a row is outside the cache"), NULL;
    if (pos[r] < 0 || pos[r] + d.T > d.cap || pos[r] + d.T > d.maxPos) return fail(&c, "decode: positions run past the cache or the context"), NULL;
  }

  const bool gpt = d.family == 0;
  const uint32_t G = gpt ? GPT_GLOBALS : LLAMA_GLOBALS, S = gpt ? GPT_SLOTS : LLAMA_SLOTS;
  Globals g = {0};
  g.wte = element_f32(&c, argv[3], 0, (size_t)V * C, false, "decode: wte");
  if (gpt) {
    g.wpe = element_f32(&c, argv[3], 1, (size_t)d.maxPos * C, false, "decode: wpe");
    g.lnf_g = element_f32(&c, argv[3], 2, C, false, "decode: ln_f.g");
    g.lnf_b = element_f32(&c, argv[3], 3, C, false, "decode: ln_f.b");
  } else {
    g.norm_f = element_f32(&c, argv[3], 1, C, false, "decode: norm_f.g");
    g.lm_head = element_f32(&c, argv[3], 2, (size_t)C * V, true, "decode: lm_head.w");
    g.cos = element_f32(&c, argv[3], 3, (size_t)d.maxPos * d.hs, false, "decode: rotary cos");
    g.sin = element_f32(&c, argv[3], 4, (size_t)d.maxPos * d.hs, false, "decode: rotary sin");
  }
  const size_t cacheLen = (size_t)d.cacheRows * d.kv * d.cap;
  float **Kc = malloc(sizeof(float *) * d.L * 2), **Vc = Kc + d.L;
  if (!Kc) return napi_throw_error(env, NULL, "decode: out of memory"), NULL;
  for (int32_t l = 0; l < d.L && !c.failed; l++) {
    Kc[l] = element_f32(&c, argv[4], l, cacheLen, false, "decode: a layer's key cache is missing or too short");
    Vc[l] = element_f32(&c, argv[5], l, cacheLen, false, "decode: a layer's value cache is missing or too short");
  }
  if (c.failed) return free(Kc), NULL;

  /* Scratch: residual x, normed xn, projections, attention output, MLP hidden (two for SwiGLU), scores, LoRA. */
  int32_t maxS = 0;
  for (int32_t r = 0; r < d.n; r++) maxS = pos[r] + d.T > maxS ? pos[r] + d.T : maxS;
  const int32_t qkvW = gpt ? 3 * C : C + 2 * d.kv, wide = d.F > qkvW ? d.F : qkvW;
  const size_t need = (size_t)N * (3 * C + qkvW + 2 * (size_t)wide + (d.rank ? d.rank : 1)) + (size_t)d.T * maxS + (size_t)d.n * C;
  float *mem = malloc(sizeof(float) * need);
  if (!mem) return free(Kc), napi_throw_error(env, NULL, "decode: out of memory"), NULL;
  float *x = mem, *xn = x + (size_t)N * C, *att = xn + (size_t)N * C, *proj = att + (size_t)N * C, *h1 = proj + (size_t)N * qkvW,
        *h2 = h1 + (size_t)N * wide, *lora = h2 + (size_t)N * wide, *scores = lora + (size_t)N * (d.rank ? d.rank : 1),
        *last = scores + (size_t)d.T * maxS;

  for (int32_t r = 0; r < d.n; r++)
    for (int32_t t = 0; t < d.T; t++) {
      const int32_t i = r * d.T + t;
      float *xi = x + (size_t)i * C;
      memcpy(xi, g.wte + (size_t)tokens[i] * C, sizeof(float) * C);
      if (gpt)
        for (int32_t j = 0; j < C; j++) xi[j] += g.wpe[(size_t)(pos[r] + t) * C + j];
    }

  for (int32_t l = 0; l < d.L && !c.failed; l++) {
    const uint32_t s0 = G + (uint32_t)l * S;
    if (gpt) {
      Linear qkv, o, fc, down;
      const float *ln1g = element_f32(&c, argv[3], s0, C, false, "decode: ln_1.g"), *ln1b = element_f32(&c, argv[3], s0 + 1, C, false, "decode: ln_1.b");
      const float *ln2g = element_f32(&c, argv[3], s0 + 10, C, false, "decode: ln_2.g"), *ln2b = element_f32(&c, argv[3], s0 + 11, C, false, "decode: ln_2.b");
      if (!read_linear(&c, argv[3], s0 + 2, &d, C, 3 * C, true, &qkv) || !read_linear(&c, argv[3], s0 + 6, &d, C, C, true, &o) ||
          !read_linear(&c, argv[3], s0 + 12, &d, C, d.F, true, &fc) || !read_linear(&c, argv[3], s0 + 16, &d, d.F, C, true, &down))
        break;
      layer_norm(x, ln1g, ln1b, xn, N, C, 1e-5f);
      linear(&d, &qkv, xn, N, proj, lora);
      for (int32_t r = 0; r < d.n; r++) {
        const float *pr = proj + (size_t)r * d.T * qkvW;
        cache_write(&d, Kc[l], Vc[l], rows[r], pos[r], pr + C, pr + 2 * C, qkvW);
        attend(&d, Kc[l], Vc[l], rows[r], pos[r], pr, qkvW, att + (size_t)r * d.T * C, scores);
      }
      linear(&d, &o, att, N, xn, lora);
      for (size_t i = 0; i < (size_t)N * C; i++) x[i] += xn[i];
      layer_norm(x, ln2g, ln2b, xn, N, C, 1e-5f);
      linear(&d, &fc, xn, N, h1, lora);
      for (size_t i = 0; i < (size_t)N * d.F; i++) {
        const float v = h1[i];
        h1[i] = v / (1.0f + fast_exp(-GELU_C * v * (1.0f + 0.044715f * v * v)));
      }
      linear(&d, &down, h1, N, xn, lora);
      for (size_t i = 0; i < (size_t)N * C; i++) x[i] += xn[i];
    } else {
      Linear q, k, v, o, gate, up, down;
      const float *an = element_f32(&c, argv[3], s0, C, false, "decode: attn_norm.g"), *mn = element_f32(&c, argv[3], s0 + 17, C, false, "decode: mlp_norm.g");
      if (!read_linear(&c, argv[3], s0 + 1, &d, C, C, false, &q) || !read_linear(&c, argv[3], s0 + 5, &d, C, d.kv, false, &k) ||
          !read_linear(&c, argv[3], s0 + 9, &d, C, d.kv, false, &v) || !read_linear(&c, argv[3], s0 + 13, &d, C, C, false, &o) ||
          !read_linear(&c, argv[3], s0 + 18, &d, C, d.F, false, &gate) || !read_linear(&c, argv[3], s0 + 22, &d, C, d.F, false, &up) ||
          !read_linear(&c, argv[3], s0 + 26, &d, d.F, C, false, &down))
        break;
      rms_norm(x, an, xn, N, C, d.eps);
      float *pq = proj, *pk = proj + (size_t)N * C, *pv = pk + (size_t)N * d.kv;
      linear(&d, &q, xn, N, pq, lora);
      linear(&d, &k, xn, N, pk, lora);
      linear(&d, &v, xn, N, pv, lora);
      for (int32_t r = 0; r < d.n; r++)
        for (int32_t t = 0; t < d.T; t++) {
          const size_t i = (size_t)r * d.T + t, p = (size_t)(pos[r] + t) * d.hs;
          rotate(pq + i * C, d.H, d.hs, g.cos + p, g.sin + p);
          rotate(pk + i * d.kv, d.Hkv, d.hs, g.cos + p, g.sin + p);
        }
      for (int32_t r = 0; r < d.n; r++) {
        const size_t i0 = (size_t)r * d.T;
        cache_write(&d, Kc[l], Vc[l], rows[r], pos[r], pk + i0 * d.kv, pv + i0 * d.kv, d.kv);
        attend(&d, Kc[l], Vc[l], rows[r], pos[r], pq + i0 * C, C, att + i0 * C, scores);
      }
      linear(&d, &o, att, N, xn, lora);
      for (size_t i = 0; i < (size_t)N * C; i++) x[i] += xn[i];
      rms_norm(x, mn, xn, N, C, d.eps);
      linear(&d, &gate, xn, N, h1, lora);
      linear(&d, &up, xn, N, h2, lora);
      for (size_t i = 0; i < (size_t)N * d.F; i++) h1[i] = h1[i] / (1.0f + expf(-h1[i])) * h2[i];
      linear(&d, &down, h1, N, xn, lora);
      for (size_t i = 0; i < (size_t)N * C; i++) x[i] += xn[i];
    }
  }
  if (!c.failed) {
    /* Final norm of each row's last position, then the LM head: h·wteᵀ (wte [V, C] is already the
       transposed head, so no transpose is kept), or h·lm_head [C, V] for an untied Llama. */
    for (int32_t r = 0; r < d.n; r++) {
      const float *xr = x + ((size_t)r * d.T + d.T - 1) * C;
      if (gpt) layer_norm(xr, g.lnf_g, g.lnf_b, last + (size_t)r * C, 1, C, 1e-5f);
      else rms_norm(xr, g.norm_f, last + (size_t)r * C, 1, C, d.eps);
    }
    if (g.lm_head) {
      if (d.n == 1) cblas_sgemv(CblasRowMajor, CblasTrans, C, V, 1.0f, g.lm_head, V, last, 1, 0.0f, logits, 1);
      else if (d.n <= SMALL_ROWS) memset(logits, 0, sizeof(float) * d.n * V), small_gemm_nn(d.n, C, V, last, g.lm_head, logits);
      else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d.n, V, C, 1.0f, last, C, g.lm_head, V, 0.0f, logits, V);
    } else if (d.n == 1) {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, V, C, 1.0f, g.wte, C, last, 1, 0.0f, logits, 1);
    } else if (d.n <= SMALL_ROWS) {
      small_gemm_nt(d.n, C, V, last, g.wte, logits);
    } else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d.n, V, C, 1.0f, last, C, g.wte, C, 0.0f, logits, V);
    }
  }
  free(mem);
  free(Kc);
  return NULL;
}

/* ---------- picking the next token ---------- */

/* Sort keys: logits descending, ties by ascending id (JavaScript's stable sort in pickToken), as one
   unsigned 64-bit number: the float's bits mapped to an order-preserving unsigned integer, inverted. */
static inline uint64_t order_key(float f, uint32_t id) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  u = (u & 0x80000000u) ? ~u : (u | 0x80000000u); /* ascending float order */
  return ((uint64_t)(~u) << 32) | id;
}

/* LSD radix sort, 8 bits a pass; a pass whose digit is the same in every key is skipped. */
static void radix_sort(uint64_t *a, uint64_t *tmp, size_t n) {
  for (int shift = 0; shift < 64; shift += 8) {
    size_t count[257] = {0};
    for (size_t i = 0; i < n; i++) count[((a[i] >> shift) & 0xff) + 1]++;
    bool single = false;
    for (int b = 1; b <= 256; b++) single |= count[b] == n;
    if (single) continue;
    for (int b = 1; b <= 256; b++) count[b] += count[b - 1];
    for (size_t i = 0; i < n; i++) tmp[count[(a[i] >> shift) & 0xff]++] = a[i];
    memcpy(a, tmp, sizeof(uint64_t) * n);
  }
}

/* pickToken of sample.ts: argmax at temperature ≤ 0; else the ids by logit (top-k of them), softmax at
   the temperature in double precision, the top-p nucleus, then the draw r·total walked in that order. */
static int32_t pick_one(const float *lg, int32_t V, double temp, int32_t topK, double topP, double r, uint64_t *keys, uint64_t *tmp, double *probs) {
  if (temp <= 0) {
    int32_t best = 0;
    for (int32_t i = 1; i < V; i++)
      if (lg[i] > lg[best]) best = i;
    return best;
  }
  for (int32_t i = 0; i < V; i++) keys[i] = order_key(lg[i], (uint32_t)i);
  radix_sort(keys, tmp, (size_t)V);
  int32_t n = topK > 0 && topK < V ? topK : V;
  const double mx = lg[(uint32_t)keys[0]];
  double total = 0;
  for (int32_t i = 0; i < n; i++) total += (probs[i] = exp((lg[(uint32_t)keys[i]] - mx) / temp));
  if (topP < 1) {
    double cum = 0;
    int32_t keep = 0;
    while (keep < n && cum < topP * total) cum += probs[keep++];
    n = keep > 1 ? keep : 1;
    total = 0;
    for (int32_t i = 0; i < n; i++) total += probs[i];
  }
  double left = r * total;
  for (int32_t i = 0; i < n; i++) {
    left -= probs[i];
    if (left <= 0) return (int32_t)(uint32_t)keys[i];
  }
  return (int32_t)(uint32_t)keys[n - 1];
}

/* decodePick(logits, n, V, temperature, topK, topP, rands, out) */
static napi_value DecodePick(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  Ctx c = {env, false};
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 8) {
    napi_throw_type_error(env, NULL, "decodePick(logits, n, V, temperature, topK, topP, rands, out)");
    return NULL;
  }
  int32_t n = 0, V = 0, topK = 0;
  double temp = 0, topP = 1;
  napi_get_value_int32(env, argv[1], &n);
  napi_get_value_int32(env, argv[2], &V);
  napi_get_value_double(env, argv[3], &temp);
  napi_get_value_int32(env, argv[4], &topK);
  napi_get_value_double(env, argv[5], &topP);
  if (n <= 0 || V <= 0) return fail(&c, "decodePick: n and V must be > 0"), NULL;
  const float *lg = typed_value(&c, argv[0], napi_float32_array, (size_t)n * V, false, "decodePick: logits must be a Float32Array [n·V]");
  const double *rands = typed_value(&c, argv[6], napi_float64_array, n, false, "decodePick: rands must be a Float64Array [n]");
  int32_t *out = typed_value(&c, argv[7], napi_int32_array, n, false, "decodePick: out must be an Int32Array [n]");
  if (c.failed) return NULL;
  void *mem = temp > 0 ? malloc((sizeof(uint64_t) * 2 + sizeof(double)) * (size_t)V) : NULL;
  if (temp > 0 && !mem) return napi_throw_error(env, NULL, "decodePick: out of memory"), NULL;
  uint64_t *keys = mem, *tmp = keys + V;
  double *probs = (double *)(tmp + V);
  for (int32_t i = 0; i < n; i++) out[i] = pick_one(lg + (size_t)i * V, V, temp, topK, topP, rands[i], keys, tmp, probs);
  free(mem);
  return NULL;
}

napi_status decode_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"decodeForward", NULL, DecodeForward, NULL, NULL, NULL, napi_default, NULL},
      {"decodePick", NULL, DecodePick, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
