// Node-API addon: the hot kernels of a GPT training step in C, over OpenBLAS.
// packages/ml/src/kernels/{matmul,fused,gather}.ts call it on Float32Array views of the tfjs wasm heap, so no
// data is copied. Each fused kernel replaces a chain of 5–20 tfjs ops that would each make a pass over
// memory in single-threaded WebAssembly: LayerNorm, GELU, causal attention (softmax, dropout and the
// head split included), the token cross-entropy and the AdamW update, forward and backward, and the
// linear layer (bias folded into the GEMM) and the embedding gather.
// Built with -O3 -march=native at install on the machine that runs it (packages/ml/native/build.mjs).
#define NAPI_VERSION 8
#include <cblas.h>
#include <math.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------- argument helpers: every kernel checks its arrays' types and lengths before touching them */

typedef struct {
  napi_env env;
  napi_value argv[20];
  size_t argc;
  bool failed;
} Args;

static bool args_get(napi_env env, napi_callback_info info, Args *a, size_t want, const char *usage) {
  a->env = env;
  a->argc = 20;
  a->failed = false;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, NULL, NULL) != napi_ok || a->argc < want) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  return true;
}

static void *typed(Args *a, size_t i, napi_typedarray_type want, size_t min_len, const char *name) {
  if (a->failed) return NULL;
  bool is_typed = false;
  napi_typedarray_type type;
  size_t len, offset;
  void *data;
  napi_value buffer;
  if (napi_is_typedarray(a->env, a->argv[i], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(a->env, a->argv[i], &type, &len, &data, &buffer, &offset) != napi_ok || type != want) {
    napi_throw_type_error(a->env, NULL, name);
    a->failed = true;
    return NULL;
  }
  if (len < min_len) {
    napi_throw_range_error(a->env, NULL, name);
    a->failed = true;
    return NULL;
  }
  return data;
}

#define F32(i, len, name) ((float *)typed(&a, i, napi_float32_array, (size_t)(len), name " must be a Float32Array of the right length"))
#define I32(i, len, name) ((int32_t *)typed(&a, i, napi_int32_array, (size_t)(len), name " must be an Int32Array of the right length"))

static int32_t int_arg(Args *a, size_t i) {
  int32_t v = 0;
  if (!a->failed && napi_get_value_int32(a->env, a->argv[i], &v) != napi_ok) {
    napi_throw_type_error(a->env, NULL, "expected an integer argument");
    a->failed = true;
  }
  return v;
}

static double num_arg(Args *a, size_t i) {
  double v = 0;
  if (!a->failed && napi_get_value_double(a->env, a->argv[i], &v) != napi_ok) {
    napi_throw_type_error(a->env, NULL, "expected a number argument");
    a->failed = true;
  }
  return v;
}

static bool positive(Args *a, int64_t v, const char *what) {
  if (a->failed) return false;
  if (v <= 0) {
    napi_throw_range_error(a->env, NULL, what);
    a->failed = true;
    return false;
  }
  return true;
}

/* ---------- math helpers ---------- */

/* e^x for x ≤ 88, vectorisable: 2^(x·log2 e) split into an integer and a fraction in [-0.5, 0.5], the
   fraction by a degree-6 polynomial (relative error ~2e-7). NaN stays NaN; below -87 it flushes to ~1e-38. */
static inline float fast_exp(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float t = x * 1.44269504089f;
  const float n = rintf(t); /* one vroundps with SSE4.1 */
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

/* A reproducible keep/drop decision for element `index` under `seed` (splitmix64), so the backward pass
   regenerates the forward pass's dropout mask instead of storing it. */
static inline bool keeps(uint64_t seed, uint64_t index, float drop) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + index;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (float)(z >> 40) * (1.0f / 16777216.0f) >= drop;
}

/* ---------- GEMM ---------- */

/* sgemm(a, b, c, m, n, k, transA, transB): row-major C[m,n] = op(A)[m,k] · op(B)[k,n]. */
static napi_value Sgemm(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_get(env, info, &a, 8, "sgemm(a, b, c, m, n, k, transA, transB)")) return NULL;
  const int32_t m = int_arg(&a, 3), n = int_arg(&a, 4), k = int_arg(&a, 5);
  bool ta = false, tb = false;
  napi_get_value_bool(env, a.argv[6], &ta);
  napi_get_value_bool(env, a.argv[7], &tb);
  if (!positive(&a, m, "sgemm: m must be > 0") || !positive(&a, n, "sgemm: n must be > 0") || !positive(&a, k, "sgemm: k must be > 0")) return NULL;
  float *A = F32(0, (int64_t)m * k, "sgemm: a"), *B = F32(1, (int64_t)k * n, "sgemm: b"), *C = F32(2, (int64_t)m * n, "sgemm: c");
  if (a.failed) return NULL;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, A, ta ? m : k, B,
              tb ? k : n, 0.0f, C, n);
  return NULL;
}

/* setThreads(t): OpenBLAS's thread count (process-wide). */
static napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_get(env, info, &a, 1, "setThreads(t)")) return NULL;
  const int32_t t = int_arg(&a, 0);
  if (!positive(&a, t, "setThreads: t must be > 0")) return NULL;
  openblas_set_num_threads(t);
  return NULL;
}

/* ---------- linear layer: y = x·W + b ---------- */

/* linearForward(x, w, b, y, N, K, M): x [N,K], w [K,M], b [M] → y [N,M]; the bias rows seed the product. */
static napi_value LinearForward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_get(env, info, &a, 7, "linearForward(x, w, b, y, N, K, M)")) return NULL;
  const int32_t N = int_arg(&a, 4), K = int_arg(&a, 5), M = int_arg(&a, 6);
  if (!positive(&a, N, "linear: N must be > 0") || !positive(&a, K, "linear: K must be > 0") || !positive(&a, M, "linear: M must be > 0")) return NULL;
  const float *x = F32(0, (size_t)N * K, "x"), *w = F32(1, (size_t)K * M, "w"), *b = F32(2, M, "b");
  float *y = F32(3, (size_t)N * M, "y");
  if (a.failed) return NULL;
  for (int32_t i = 0; i < N; i++) memcpy(y + (size_t)i * M, b, sizeof(float) * M);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, M, K, 1.0f, x, K, w, M, 1.0f, y, M);
  return NULL;
}

/* linearBackward(dy, x, w, dx, dw, db, N, K, M): dx = dy·Wᵀ, dW = xᵀ·dy, db = Σ rows of dy. */
static napi_value LinearBackward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_get(env, info, &a, 9, "linearBackward(dy, x, w, dx, dw, db, N, K, M)")) return NULL;
  const int32_t N = int_arg(&a, 6), K = int_arg(&a, 7), M = int_arg(&a, 8);
  if (!positive(&a, N, "linear: N must be > 0") || !positive(&a, K, "linear: K must be > 0") || !positive(&a, M, "linear: M must be > 0")) return NULL;
  const float *dy = F32(0, (size_t)N * M, "dy"), *x = F32(1, (size_t)N * K, "x"), *w = F32(2, (size_t)K * M, "w");
  float *dx = F32(3, (size_t)N * K, "dx"), *dw = F32(4, (size_t)K * M, "dw"), *db = F32(5, M, "db");
  if (a.failed) return NULL;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, K, M, 1.0f, dy, M, w, M, 0.0f, dx, K);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, M, N, 1.0f, x, K, dy, M, 0.0f, dw, M);
  memset(db, 0, sizeof(float) * M);
  for (int32_t i = 0; i < N; i++) {
    const float *row = dy + (size_t)i * M;
    for (int32_t j = 0; j < M; j++) db[j] += row[j];
  }
  return NULL;
}

/* gatherRows(table, ids, out, rows, width, n): out[i] = table[ids[i]] for i < n (the embedding lookup). */
static napi_value GatherRows(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_get(env, info, &a, 6, "gatherRows(table, ids, out, rows, width, n)")) return NULL;
  const int32_t rows = int_arg(&a, 3), width = int_arg(&a, 4), n = int_arg(&a, 5);
  if (!positive(&a, rows, "gather: rows must be > 0") || !positive(&a, width, "gather: width must be > 0") || !positive(&a, n, "gather: n must be > 0")) return NULL;
  const float *table = F32(0, (size_t)rows * width, "table");
  const int32_t *ids = I32(1, n, "ids");
  float *out = F32(2, (size_t)n * width, "out");
  if (a.failed) return NULL;
  for (int32_t i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= rows) {
      napi_throw_range_error(env, NULL, "gather: an index is outside the table");
      return NULL;
    }
  }
  for (int32_t i = 0; i < n; i++) memcpy(out + (size_t)i * width, table + (size_t)ids[i] * width, sizeof(float) * width);
  return NULL;
}

/* ---------- LayerNorm over the last axis of [N, C] ---------- */

/* layerNormForward(x, g, b, y, mean, rstd, N, C, eps) */
static napi_value LayerNormForward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_get(env, info, &a, 9, "layerNormForward(x, g, b, y, mean, rstd, N, C, eps)")) return NULL;
  const int32_t N = int_arg(&a, 6), C = int_arg(&a, 7);
  const float eps = (float)num_arg(&a, 8);
  if (!positive(&a, N, "layerNorm: N must be > 0") || !positive(&a, C, "layerNorm: C must be > 0")) return NULL;
  const size_t NC = (size_t)N * C;
  const float *x = F32(0, NC, "x"), *g = F32(1, C, "g"), *b = F32(2, C, "b");
  float *y = F32(3, NC, "y"), *mean = F32(4, N, "mean"), *rstd = F32(5, N, "rstd");
  if (a.failed) return NULL;
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
    mean[i] = mu;
    rstd[i] = r;
  }
  return NULL;
}

/* layerNormBackward(dy, x, mean, rstd, g, dx, dg, db, N, C):
   dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dy·g; dg = Σ dy·x̂; db = Σ dy. */
static napi_value LayerNormBackward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_get(env, info, &a, 10, "layerNormBackward(dy, x, mean, rstd, g, dx, dg, db, N, C)")) return NULL;
  const int32_t N = int_arg(&a, 8), C = int_arg(&a, 9);
  if (!positive(&a, N, "layerNorm: N must be > 0") || !positive(&a, C, "layerNorm: C must be > 0")) return NULL;
  const size_t NC = (size_t)N * C;
  const float *dy = F32(0, NC, "dy"), *x = F32(1, NC, "x"), *mean = F32(2, N, "mean"), *rstd = F32(3, N, "rstd"), *g = F32(4, C, "g");
  float *dx = F32(5, NC, "dx"), *dg = F32(6, C, "dg"), *db = F32(7, C, "db");
  if (a.failed) return NULL;
  float *xhat = malloc(sizeof(float) * C);
  if (!xhat) {
    napi_throw_error(env, NULL, "layerNormBackward: out of memory");
    return NULL;
  }
  memset(dg, 0, sizeof(float) * C);
  memset(db, 0, sizeof(float) * C);
  for (int32_t i = 0; i < N; i++) {
    const float *xi = x + (size_t)i * C, *dyi = dy + (size_t)i * C;
    float *dxi = dx + (size_t)i * C;
    const float mu = mean[i], r = rstd[i];
    float sum_d = 0, sum_dx = 0;
    for (int32_t j = 0; j < C; j++) {
      xhat[j] = (xi[j] - mu) * r;
      const float d = dyi[j] * g[j];
      sum_d += d;
      sum_dx += d * xhat[j];
      dg[j] += dyi[j] * xhat[j];
      db[j] += dyi[j];
    }
    const float md = sum_d / C, mdx = sum_dx / C;
    for (int32_t j = 0; j < C; j++) dxi[j] = (dyi[j] * g[j] - md - xhat[j] * mdx) * r;
  }
  free(xhat);
  return NULL;
}

/* ---------- GELU, tanh form: x·σ(2√(2/π)(x + 0.044715x³)) ---------- */

#define GELU_C 1.5957691216057308f /* 2·√(2/π) */

/* geluForward(x, y, n) */
static napi_value GeluForward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_get(env, info, &a, 3, "geluForward(x, y, n)")) return NULL;
  const int32_t n = int_arg(&a, 2);
  if (!positive(&a, n, "gelu: n must be > 0")) return NULL;
  const float *x = F32(0, n, "x");
  float *y = F32(1, n, "y");
  if (a.failed) return NULL;
  for (int32_t i = 0; i < n; i++) {
    const float v = x[i];
    const float s = 1.0f / (1.0f + fast_exp(-GELU_C * v * (1.0f + 0.044715f * v * v)));
    y[i] = v * s;
  }
  return NULL;
}

/* geluBackward(dy, x, dx, n): dx = dy·(s + x·s(1−s)·u′), u′ = c(1 + 3·0.044715x²) */
static napi_value GeluBackward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_get(env, info, &a, 4, "geluBackward(dy, x, dx, n)")) return NULL;
  const int32_t n = int_arg(&a, 3);
  if (!positive(&a, n, "gelu: n must be > 0")) return NULL;
  const float *dy = F32(0, n, "dy"), *x = F32(1, n, "x");
  float *dx = F32(2, n, "dx");
  if (a.failed) return NULL;
  for (int32_t i = 0; i < n; i++) {
    const float v = x[i], v2 = v * v;
    const float s = 1.0f / (1.0f + fast_exp(-GELU_C * v * (1.0f + 0.044715f * v2)));
    const float du = GELU_C * (1.0f + 3.0f * 0.044715f * v2);
    dx[i] = dy[i] * (s + v * s * (1.0f - s) * du);
  }
  return NULL;
}

/* ---------- causal self-attention straight from the fused q|k|v projection ----------
   qkv is [B·T, 3C] (q, k and v side by side, head h at columns h·hs of each), y is [B·T, C] with the
   heads side by side again: GEMM strides do the split, the head transposes and the merge. probs [B,H,T,T]
   keeps the softmax (before dropout) for the backward pass. */

typedef struct {
  int32_t B, T, H, C, hs;
  float scale, drop;
  uint64_t seed;
} AttnShape;

static inline size_t head_index(const AttnShape *s, int32_t b, int32_t h) { return ((size_t)b * s->H + h) * s->T * s->T; }

/* Row i of probs with dropout applied (kept entries scaled by 1/(1−p)) into out. */
static void dropped_row(const AttnShape *s, size_t base, int32_t i, const float *p, float *out) {
  const float keep_scale = 1.0f / (1.0f - s->drop);
  for (int32_t j = 0; j < s->T; j++) out[j] = keeps(s->seed, base + (size_t)i * s->T + j, s->drop) ? p[j] * keep_scale : 0.0f;
}

static bool attn_shape(Args *a, size_t B_i, AttnShape *s) {
  s->B = int_arg(a, B_i);
  s->T = int_arg(a, B_i + 1);
  s->H = int_arg(a, B_i + 2);
  s->C = int_arg(a, B_i + 3);
  s->drop = (float)num_arg(a, B_i + 4);
  s->seed = (uint64_t)(int64_t)num_arg(a, B_i + 5);
  if (!positive(a, s->B, "attention: B must be > 0") || !positive(a, s->T, "attention: T must be > 0") ||
      !positive(a, s->H, "attention: H must be > 0") || !positive(a, s->C, "attention: C must be > 0"))
    return false;
  if (s->C % s->H != 0 || !(s->drop >= 0 && s->drop < 1)) {
    napi_throw_range_error(a->env, NULL, "attention: C must be a multiple of H and dropout in [0, 1)");
    a->failed = true;
    return false;
  }
  s->hs = s->C / s->H;
  s->scale = 1.0f / sqrtf((float)s->hs);
  return true;
}

/* attentionForward(qkv, y, probs, B, T, H, C, dropout, seed) */
static napi_value AttentionForward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_get(env, info, &a, 9, "attentionForward(qkv, y, probs, B, T, H, C, dropout, seed)")) return NULL;
  AttnShape s;
  if (!attn_shape(&a, 3, &s)) return NULL;
  const int32_t T = s.T, C = s.C, hs = s.hs, C3 = 3 * C;
  const float *qkv = F32(0, (size_t)s.B * T * C3, "qkv");
  float *y = F32(1, (size_t)s.B * T * C, "y"), *probs = F32(2, (size_t)s.B * s.H * T * T, "probs");
  if (a.failed) return NULL;
  float *dropped = s.drop > 0 ? malloc(sizeof(float) * T * T) : NULL;
  if (s.drop > 0 && !dropped) {
    napi_throw_error(env, NULL, "attentionForward: out of memory");
    return NULL;
  }
  for (int32_t b = 0; b < s.B; b++) {
    for (int32_t h = 0; h < s.H; h++) {
      const float *q = qkv + (size_t)b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
      const size_t base = head_index(&s, b, h);
      float *P = probs + base;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, s.scale, q, C3, k, C3, 0.0f, P, T);
      for (int32_t i = 0; i < T; i++) {
        float *row = P + (size_t)i * T;
        float mx = row[0];
        for (int32_t j = 1; j <= i; j++) mx = row[j] > mx ? row[j] : mx;
        float sum = 0;
        for (int32_t j = 0; j <= i; j++) {
          row[j] = fast_exp(row[j] - mx);
          sum += row[j];
        }
        const float inv = 1.0f / sum;
        for (int32_t j = 0; j <= i; j++) row[j] *= inv;
        for (int32_t j = i + 1; j < T; j++) row[j] = 0.0f;
        if (dropped) dropped_row(&s, base, i, row, dropped + (size_t)i * T);
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f, dropped ? dropped : P, T, v, C3, 0.0f,
                  y + (size_t)b * T * C + h * hs, C);
    }
  }
  free(dropped);
  return NULL;
}

/* attentionBackward(dy, qkv, probs, dqkv, B, T, H, C, dropout, seed) */
static napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_get(env, info, &a, 10, "attentionBackward(dy, qkv, probs, dqkv, B, T, H, C, dropout, seed)")) return NULL;
  AttnShape s;
  if (!attn_shape(&a, 4, &s)) return NULL;
  const int32_t T = s.T, C = s.C, hs = s.hs, C3 = 3 * C;
  const float *dy = F32(0, (size_t)s.B * T * C, "dy"), *qkv = F32(1, (size_t)s.B * T * C3, "qkv"),
              *probs = F32(2, (size_t)s.B * s.H * T * T, "probs");
  float *dqkv = F32(3, (size_t)s.B * T * C3, "dqkv");
  if (a.failed) return NULL;
  float *dP = malloc(sizeof(float) * T * T * 2);
  if (!dP) {
    napi_throw_error(env, NULL, "attentionBackward: out of memory");
    return NULL;
  }
  float *dropped = dP + (size_t)T * T;
  const float keep_scale = s.drop > 0 ? 1.0f / (1.0f - s.drop) : 1.0f;
  for (int32_t b = 0; b < s.B; b++) {
    for (int32_t h = 0; h < s.H; h++) {
      const size_t off = (size_t)b * T * C3 + h * hs;
      const float *q = qkv + off, *k = q + C, *v = q + 2 * C, *dyh = dy + (size_t)b * T * C + h * hs;
      float *dq = dqkv + off, *dk = dq + C, *dv = dq + 2 * C;
      const size_t base = head_index(&s, b, h);
      const float *P = probs + base;
      // dP = dY·Vᵀ (gradient of the dropped probabilities), then through dropout and the softmax.
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, 1.0f, dyh, C, v, C3, 0.0f, dP, T);
      for (int32_t i = 0; i < T; i++) {
        const float *p = P + (size_t)i * T;
        float *d = dP + (size_t)i * T;
        if (s.drop > 0) {
          dropped_row(&s, base, i, p, dropped + (size_t)i * T);
          for (int32_t j = 0; j <= i; j++) d[j] = keeps(s.seed, base + (size_t)i * T + j, s.drop) ? d[j] * keep_scale : 0.0f;
        }
        float dot = 0;
        for (int32_t j = 0; j <= i; j++) dot += p[j] * d[j];
        for (int32_t j = 0; j <= i; j++) d[j] = s.scale * p[j] * (d[j] - dot);
        for (int32_t j = i + 1; j < T; j++) d[j] = 0.0f;
      }
      // dQ = dS·K, dK = dSᵀ·Q (dS already carries the 1/√hs), dV = P̃ᵀ·dY.
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f, dP, T, k, C3, 0.0f, dq, C3);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1.0f, dP, T, q, C3, 0.0f, dk, C3);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1.0f, s.drop > 0 ? dropped : P, T, dyh, C, 0.0f, dv, C3);
    }
  }
  free(dP);
  return NULL;
}

/* ---------- log p(target) per row of logits [N, V] ---------- */

/* crossEntropyForward(logits, targets, logp, lse, N, V): logp = logits[target] − logΣexp(logits) */
static napi_value CrossEntropyForward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_get(env, info, &a, 6, "crossEntropyForward(logits, targets, logp, lse, N, V)")) return NULL;
  const int32_t N = int_arg(&a, 4), V = int_arg(&a, 5);
  if (!positive(&a, N, "crossEntropy: N must be > 0") || !positive(&a, V, "crossEntropy: V must be > 0")) return NULL;
  const float *logits = F32(0, (size_t)N * V, "logits");
  const int32_t *targets = I32(1, N, "targets");
  float *logp = F32(2, N, "logp"), *lse = F32(3, N, "lse");
  if (a.failed) return NULL;
  for (int32_t i = 0; i < N; i++) {
    if (targets[i] < 0 || targets[i] >= V) {
      napi_throw_range_error(env, NULL, "crossEntropy: a target id is outside the vocabulary");
      return NULL;
    }
  }
  for (int32_t i = 0; i < N; i++) {
    const float *row = logits + (size_t)i * V;
    float mx = row[0];
    for (int32_t j = 1; j < V; j++) mx = row[j] > mx ? row[j] : mx;
    float sum = 0;
    for (int32_t j = 0; j < V; j++) sum += fast_exp(row[j] - mx);
    lse[i] = mx + logf(sum);
    logp[i] = row[targets[i]] - lse[i];
  }
  return NULL;
}

/* crossEntropyBackward(dlogp, logits, targets, lse, dlogits, N, V): dlogits = dlogp·(onehot − softmax) */
static napi_value CrossEntropyBackward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_get(env, info, &a, 7, "crossEntropyBackward(dlogp, logits, targets, lse, dlogits, N, V)")) return NULL;
  const int32_t N = int_arg(&a, 5), V = int_arg(&a, 6);
  if (!positive(&a, N, "crossEntropy: N must be > 0") || !positive(&a, V, "crossEntropy: V must be > 0")) return NULL;
  const float *dlogp = F32(0, N, "dlogp"), *logits = F32(1, (size_t)N * V, "logits"), *lse = F32(3, N, "lse");
  const int32_t *targets = I32(2, N, "targets");
  float *dlogits = F32(4, (size_t)N * V, "dlogits");
  if (a.failed) return NULL;
  for (int32_t i = 0; i < N; i++) {
    const float *row = logits + (size_t)i * V;
    float *out = dlogits + (size_t)i * V;
    const float g = dlogp[i], m = lse[i];
    for (int32_t j = 0; j < V; j++) out[j] = -g * fast_exp(row[j] - m);
    if (targets[i] >= 0 && targets[i] < V) out[targets[i]] += g;
  }
  return NULL;
}

/* ---------- optimizer ---------- */

/* adamw(p, g, m, v, pOut, mOut, vOut, n, lr, beta1, beta2, eps, weightDecay, bc1, bc2, gradScale):
   m' = β1·m + (1−β1)·g̃, v' = β2·v + (1−β2)·g̃², p' = p − lr·(m'/bc1 / (√(v'/bc2) + eps) + wd·p), g̃ = gradScale·g */
static napi_value AdamW(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_get(env, info, &a, 16, "adamw(p, g, m, v, pOut, mOut, vOut, n, lr, beta1, beta2, eps, weightDecay, bc1, bc2, gradScale)")) return NULL;
  const int32_t n = int_arg(&a, 7);
  const float lr = (float)num_arg(&a, 8), b1 = (float)num_arg(&a, 9), b2 = (float)num_arg(&a, 10), eps = (float)num_arg(&a, 11),
              wd = (float)num_arg(&a, 12), bc1 = (float)num_arg(&a, 13), bc2 = (float)num_arg(&a, 14), gs = (float)num_arg(&a, 15);
  if (!positive(&a, n, "adamw: n must be > 0")) return NULL;
  const float *p = F32(0, n, "p"), *g = F32(1, n, "g"), *m = F32(2, n, "m"), *v = F32(3, n, "v");
  float *po = F32(4, n, "pOut"), *mo = F32(5, n, "mOut"), *vo = F32(6, n, "vOut");
  if (a.failed) return NULL;
  const float ibc1 = 1.0f / bc1, ibc2 = 1.0f / bc2;
  for (int32_t i = 0; i < n; i++) {
    const float gi = g[i] * gs;
    const float mi = b1 * m[i] + (1.0f - b1) * gi;
    const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    mo[i] = mi;
    vo[i] = vi;
    po[i] = p[i] - lr * (mi * ibc1 / (sqrtf(vi * ibc2) + eps) + wd * p[i]);
  }
  return NULL;
}

/* sumSquares(x) → Σx² as a double (for the global gradient norm) */
static napi_value SumSquares(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_get(env, info, &a, 1, "sumSquares(x)")) return NULL;
  size_t n = 0;
  bool is_typed = false;
  napi_typedarray_type type;
  void *data;
  napi_value buffer;
  size_t offset;
  if (napi_is_typedarray(env, a.argv[0], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, a.argv[0], &type, &n, &data, &buffer, &offset) != napi_ok || type != napi_float32_array) {
    napi_throw_type_error(env, NULL, "sumSquares: x must be a Float32Array");
    return NULL;
  }
  const float *x = data;
  // Blocks of float sums (vectorised) added into a double, so millions of terms keep their precision.
  double total = 0;
  for (size_t i0 = 0; i0 < n; i0 += 4096) {
    const size_t i1 = i0 + 4096 < n ? i0 + 4096 : n;
    float s = 0;
    for (size_t i = i0; i < i1; i++) s += x[i] * x[i];
    total += s;
  }
  napi_value out;
  napi_create_double(env, total, &out);
  return out;
}

napi_status decode_register(napi_env env, napi_value exports); /* decode.c: the sampling forward pass */

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sgemm", NULL, Sgemm, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_default, NULL},
      {"linearForward", NULL, LinearForward, NULL, NULL, NULL, napi_default, NULL},
      {"linearBackward", NULL, LinearBackward, NULL, NULL, NULL, napi_default, NULL},
      {"gatherRows", NULL, GatherRows, NULL, NULL, NULL, napi_default, NULL},
      {"layerNormForward", NULL, LayerNormForward, NULL, NULL, NULL, napi_default, NULL},
      {"layerNormBackward", NULL, LayerNormBackward, NULL, NULL, NULL, napi_default, NULL},
      {"geluForward", NULL, GeluForward, NULL, NULL, NULL, napi_default, NULL},
      {"geluBackward", NULL, GeluBackward, NULL, NULL, NULL, napi_default, NULL},
      {"attentionForward", NULL, AttentionForward, NULL, NULL, NULL, napi_default, NULL},
      {"attentionBackward", NULL, AttentionBackward, NULL, NULL, NULL, napi_default, NULL},
      {"crossEntropyForward", NULL, CrossEntropyForward, NULL, NULL, NULL, napi_default, NULL},
      {"crossEntropyBackward", NULL, CrossEntropyBackward, NULL, NULL, NULL, napi_default, NULL},
      {"adamw", NULL, AdamW, NULL, NULL, NULL, napi_default, NULL},
      {"sumSquares", NULL, SumSquares, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return NULL;
  if (decode_register(env, exports) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
