// Node-API addon: single-precision matrix product through OpenBLAS (cblas_sgemm).
// packages/ml/src/kernels/matmul.ts calls it on Float32Array views of the tfjs wasm heap, so no data
// is copied; transposes are passed to cblas rather than materialised.
#define NAPI_VERSION 8
#include <node_api.h>
#include <cblas.h>
#include <stdbool.h>
#include <stdint.h>

#define CHECK(call)                                          \
  do {                                                       \
    if ((call) != napi_ok) {                                 \
      napi_throw_error(env, NULL, #call " failed");          \
      return NULL;                                           \
    }                                                        \
  } while (0)

/* The data of a Float32Array (already offset by its byteOffset), or NULL for anything else. */
static float *float32_data(napi_env env, napi_value v, size_t *len) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return NULL;
  napi_typedarray_type type;
  void *data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, len, &data, &buffer, &offset) != napi_ok) return NULL;
  return type == napi_float32_array ? (float *)data : NULL;
}

/* sgemm(a, b, c, m, n, k, transA, transB): row-major C[m,n] = op(A)[m,k] · op(B)[k,n]. */
static napi_value Sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8) {
    napi_throw_type_error(env, NULL, "sgemm(a, b, c, m, n, k, transA, transB)");
    return NULL;
  }
  size_t la, lb, lc;
  float *a = float32_data(env, argv[0], &la);
  float *b = float32_data(env, argv[1], &lb);
  float *c = float32_data(env, argv[2], &lc);
  if (!a || !b || !c) {
    napi_throw_type_error(env, NULL, "sgemm: a, b and c must be Float32Arrays");
    return NULL;
  }
  int32_t m, n, k;
  bool ta, tb;
  CHECK(napi_get_value_int32(env, argv[3], &m));
  CHECK(napi_get_value_int32(env, argv[4], &n));
  CHECK(napi_get_value_int32(env, argv[5], &k));
  CHECK(napi_get_value_bool(env, argv[6], &ta));
  CHECK(napi_get_value_bool(env, argv[7], &tb));
  if (m <= 0 || n <= 0 || k <= 0 || la < (size_t)m * k || lb < (size_t)k * n || lc < (size_t)m * n) {
    napi_throw_range_error(env, NULL, "sgemm: dimensions do not fit the arrays");
    return NULL;
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a,
              ta ? m : k, b, tb ? k : n, 0.0f, c, n);
  return NULL;
}

/* setThreads(t): OpenBLAS's thread count (process-wide). */
static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t t;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "setThreads(t)");
    return NULL;
  }
  CHECK(napi_get_value_int32(env, argv[0], &t));
  openblas_set_num_threads(t);
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sgemm", NULL, Sgemm, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
