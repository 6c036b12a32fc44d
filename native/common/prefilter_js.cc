#include "prefilter_js.h"

#include <utility>

namespace macsensor {

namespace {

void ThrowType(Napi::Env env, const std::string& message) { Napi::TypeError::New(env, message).ThrowAsJavaScriptException(); }

}  // namespace

bool ReadStringList(Napi::Env env, Napi::Object obj, const char* key, const std::string& where,
                    std::vector<std::string>* out) {
  if (!obj.Has(key)) return true;
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) return true;
  if (!v.IsArray()) {
    ThrowType(env, where + "." + key + " must be an array of strings");
    return false;
  }
  Napi::Array arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value item = arr.Get(i);
    if (!item.IsString()) {
      ThrowType(env, where + "." + key + "[" + std::to_string(i) + "] must be a string");
      return false;
    }
    out->push_back(item.As<Napi::String>().Utf8Value());
  }
  return true;
}

// null/undefined → no pre-filter. Unknown keys are refused: ignoring a condition would make the filter
// narrower than the rules and let a blockable exec through.
bool ReadPrefilter(Napi::Env env, Napi::Value v, std::optional<Prefilter>* out) {
  if (v.IsNull() || v.IsUndefined()) {
    out->reset();
    return true;
  }
  if (!v.IsObject() || v.IsArray()) {
    ThrowType(env, "pre-filter must be an object or null");
    return false;
  }
  Napi::Object obj = v.As<Napi::Object>();
  Napi::Array keys = obj.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); i++) {
    std::string key = keys.Get(i).ToString().Utf8Value();
    if (key != "argEquals" && key != "argContains" && key != "executableBasename") {
      ThrowType(env, "pre-filter: unknown key \"" + key +
                         "\" (known: argEquals, argContains, executableBasename)");
      return false;
    }
  }
  PrefilterSpec spec;
  if (!ReadStringList(env, obj, "argEquals", "prefilter", &spec.arg_equals) ||
      !ReadStringList(env, obj, "argContains", "prefilter", &spec.arg_contains) ||
      !ReadStringList(env, obj, "executableBasename", "prefilter", &spec.executable_basename)) {
    return false;
  }
  Prefilter built;
  std::string error;
  if (!Prefilter::Build(std::move(spec), &built, &error)) {
    ThrowType(env, error);
    return false;
  }
  *out = std::move(built);
  return true;
}

bool ReadRelevance(Napi::Env env, Napi::Value v, const char* where, std::optional<EventRelevance>* out) {
  if (!v.IsObject() || v.IsArray()) {
    ThrowType(env, std::string(where) + "(relevance): expected { kinds, execPrefilter }");
    return false;
  }
  Napi::Object r = v.As<Napi::Object>();
  if (!r.Get("kinds").IsArray()) {
    ThrowType(env, std::string(where) + ": kinds must be an array of event kinds");
    return false;
  }
  std::vector<std::string> kinds;
  if (!ReadStringList(env, r, "kinds", where, &kinds)) return false;
  uint8_t mask = 0;
  // The RawEvent kinds by their TypeScript names (src/sensor/rawEvent.ts), in RawEventKind order.
  static const char* const kKindNames[] = {"exec", "fork", "exit", "open", "create", "modify", "rename", "delete"};
  for (const std::string& kind : kinds) {
    bool known = false;
    for (unsigned i = 0; i < sizeof kKindNames / sizeof kKindNames[0]; i++) {
      if (kind == kKindNames[i]) {
        mask |= EventRelevance::KindBit(static_cast<RawEventKind>(i));
        known = true;
      }
    }
    if (!known) {
      ThrowType(env, std::string(where) + ": unknown event kind \"" + kind + "\" (known: exec, fork, exit, open, create, modify, rename, delete)");
      return false;
    }
  }
  std::optional<Prefilter> prefilter;
  if (!ReadPrefilter(env, r.Get("execPrefilter"), &prefilter)) return false;
  out->emplace(mask, std::move(prefilter));
  return true;
}

}  // namespace macsensor
