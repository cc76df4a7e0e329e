/*
 * affinity: sched_getaffinity/sched_setaffinity for the calling thread, as a
 * Node-API addon. The executor narrows its own main thread's CPU mask right
 * before spawning a task and restores it right after: the child inherits the
 * mask at fork, so tasks are bound without running `taskset` (one exec less
 * per task) and without a window in which they run unbound.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <node_api.h>

static napi_value throw_errno(napi_env env, const char *what) {
  char msg[128];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

/* get() -> number[]: the CPUs the calling thread may run on. */
static napi_value get(napi_env env, napi_callback_info info) {
  (void)info;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return throw_errno(env, "sched_getaffinity");
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t n = 0;
  for (int c = 0; c < CPU_SETSIZE; c++) {
    if (!CPU_ISSET(c, &set)) continue;
    napi_value v;
    napi_create_uint32(env, (uint32_t)c, &v);
    napi_set_element(env, arr, n++, v);
  }
  return arr;
}

/* set(cpus: number[]): restrict the calling thread to these CPUs. */
static napi_value set(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  bool is_array = false;
  if (argc < 1 || napi_is_array(env, args[0], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, "set(cpus): cpus must be an array of CPU numbers");
    return NULL;
  }
  uint32_t len = 0;
  napi_get_array_length(env, args[0], &len);
  cpu_set_t mask;
  CPU_ZERO(&mask);
  for (uint32_t i = 0; i < len; i++) {
    napi_value v;
    uint32_t c = 0;
    napi_get_element(env, args[0], i, &v);
    if (napi_get_value_uint32(env, v, &c) != napi_ok || c >= CPU_SETSIZE) {
      napi_throw_range_error(env, NULL, "set(cpus): each CPU must be an integer below CPU_SETSIZE");
      return NULL;
    }
    CPU_SET(c, &mask);
  }
  if (sched_setaffinity(0, sizeof mask, &mask) != 0) return throw_errno(env, "sched_setaffinity");
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "get", NULL, get, NULL, NULL, NULL, napi_default, NULL },
    { "set", NULL, set, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, 2, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
