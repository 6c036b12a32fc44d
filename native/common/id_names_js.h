// JS surface of the uid/gid name resolver (id_names.h), on every platform:
//
//   const h = binding.startNameResolver((answers: { kind: "user" | "group", id: number, name: string | null }[]) => void)
//   binding.resolveName(h, "user" | "group", id)   // returns at once; the answer comes later through the callback
//   binding.stopNameResolver(h)                    // idempotent; answers not yet delivered are dropped
//
// The callback's thread-safe function is unref'd: a lookup in progress never keeps the process alive.
#pragma once

#include <napi.h>

namespace macsensor {

void RegisterIdNames(Napi::Env env, Napi::Object exports);

}  // namespace macsensor
