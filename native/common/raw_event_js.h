// RawEvent (native/common/raw_event.h) → the JavaScript object typed in src/sensor/rawEvent.ts.
// JS thread only. Byte strings become JS strings when they are valid UTF-8 and a Uint8Array of the exact bytes
// otherwise; optional fields that are unset (and false flags, empty lists) are left out of the object.
//
//   Napi::Object obj = macsensor::RawEventToJs(env, ev);
#pragma once

#include <napi.h>

#include <string>

#include "raw_event.h"

namespace macsensor {

// True when the bytes are well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(const std::string& bytes);

// A JS string when the bytes are valid UTF-8, else a Uint8Array holding exactly those bytes.
Napi::Value RawTextToJs(Napi::Env env, const std::string& bytes);

Napi::Object RawEventToJs(Napi::Env env, const RawEvent& ev);

}  // namespace macsensor
