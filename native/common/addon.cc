// N-API entry point of the macsensor addon: registers the backends this platform has.
#include <napi.h>

#include "id_names_js.h"
#include "procargs_js.h"
#if defined(__linux__)
#include "fanotify_binding.h"
#include "linux_binding.h"
#endif
#if defined(MACSENSOR_WITH_ES)
#include "es_binding.h"
#endif

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  macsensor::RegisterProcArgs(env, exports);  // parseProcArgs everywhere, listProcesses on macOS
  macsensor::RegisterIdNames(env, exports);   // uid/gid names off the JS thread, everywhere
#if defined(__linux__)
  macsensor::RegisterLinux(env, exports);
  macsensor::RegisterFanotify(env, exports);
  exports.Set("platform", Napi::String::New(env, "linux"));
#endif
#if defined(MACSENSOR_WITH_ES)
  macsensor::RegisterEs(env, exports);
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(macsensor, Init)
