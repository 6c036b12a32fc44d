// RawEvent (native/common/raw_event.h) → the JavaScript object typed in src/sensor/rawEvent.ts.
// JS thread only. Byte strings become JS strings when they are valid UTF-8 and a Uint8Array of the exact bytes
// otherwise; optional fields that are unset (and false flags, empty lists) are left out of the object.
//
//   Napi::Object obj = macsensor::RawEventToJs(env, ev);
//
// For many events (a dispatcher batch), make the property names once and reuse them: a name given as a C string
// is looked up in V8's string table on every Set, which was a fifth of the conversion's cost.
//
//   Napi::ObjectReference holder = macsensor::RawEventNames::MakeHolder(env);  // once, kept
//   macsensor::RawEventNames names(env, holder);                                // per batch (in a HandleScope)
//   Napi::Object obj = macsensor::RawEventToJs(env, ev, names);
#pragma once

#include <napi.h>

#include <array>
#include <string>

#include "raw_event.h"

namespace macsensor {

// Every property name (and the few fixed values) a RawEvent object uses; a trailing _ (for a C++ keyword) is
// not part of the JS text.
#define MACSENSOR_RAW_EVENT_NAMES(X)                                                                             \
  X(source) X(kind) X(seq) X(time) X(kernelTime) X(pid) X(ppid) X(originalPpid) X(pgid) X(sid) X(uid) X(euid)  \
  X(gid) X(egid) X(executable) X(executableTruncated) X(args) X(argsTruncated) X(env) X(cwd) X(tty) X(script) \
  X(startTime) X(exitStatus) X(codeSignature) X(signingId) X(teamId) X(cdhash) X(flags) X(platformBinary)     \
  X(auditToken) X(parentAuditToken) X(responsibleAuditToken) X(pidversion) X(ruid) X(rgid) X(auid) X(asid)     \
  X(messageVersion) X(partial) X(auth) X(id) X(deadlineMs) X(exec) X(fork) X(exit) X(linux) X(es) X(eslogger)    \
  X(open) X(create) X(modify) X(rename) X(delete_) X(file) X(path) X(pathTruncated) X(originalPath)            \
  X(originalPathTruncated) X(openFlags)

class RawEventNames {
 public:
  enum Name : size_t {
#define MACSENSOR_NAME_ENUM(n) n,
    MACSENSOR_RAW_EVENT_NAMES(MACSENSOR_NAME_ENUM)
#undef MACSENSOR_NAME_ENUM
        kCount
  };

  // A JS array of every name, to keep referenced for as long as batches are converted.
  static Napi::ObjectReference MakeHolder(Napi::Env env);
  // The names as JS strings, read from a holder (valid in the caller's HandleScope).
  RawEventNames(Napi::Env env, const Napi::ObjectReference& holder);
  // The names made afresh (for a one-off conversion).
  explicit RawEventNames(Napi::Env env);

  napi_value operator[](Name n) const { return values_[n]; }

 private:
  std::array<napi_value, kCount> values_{};
};

// True when the bytes are well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(const std::string& bytes);

// A JS string when the bytes are valid UTF-8, else a Uint8Array holding exactly those bytes.
Napi::Value RawTextToJs(Napi::Env env, const std::string& bytes);

Napi::Object RawEventToJs(Napi::Env env, const RawEvent& ev, const RawEventNames& names);
Napi::Object RawEventToJs(Napi::Env env, const RawEvent& ev);

}  // namespace macsensor
