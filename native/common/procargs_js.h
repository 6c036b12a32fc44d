// JS surface of the process seeding code: parseProcArgs on every platform (a pure function, so the KERN_PROCARGS2
// parser is tested on Linux), listProcesses on macOS (see procargs_js.cc).
#pragma once

#include <napi.h>

namespace macsensor {

void RegisterProcArgs(Napi::Env env, Napi::Object exports);

}  // namespace macsensor
