// JS surface of the Linux process-connector backend: startLinux, stopLinux, linuxStats (see linux_binding.cc).
#pragma once

#include <napi.h>

namespace macsensor {

void RegisterLinux(Napi::Env env, Napi::Object exports);

}  // namespace macsensor
