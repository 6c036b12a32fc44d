// JS surface of the Linux fanotify file-event backend: startFanotify (see fanotify_binding.cc).
#pragma once

#include <napi.h>

namespace macsensor {

void RegisterFanotify(Napi::Env env, Napi::Object exports);

}  // namespace macsensor
