// JS surface of the Endpoint Security backend (see es_binding.cc for the functions and their arguments).
#pragma once

#include <napi.h>

namespace macsensor {

void RegisterEs(Napi::Env env, Napi::Object exports);

}  // namespace macsensor
