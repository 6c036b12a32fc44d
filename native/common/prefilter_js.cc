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

bool ReadFilePrefilter(Napi::Env env, Napi::Value v, const char* where, std::optional<FilePrefilter>* out) {
  if (v.IsNull() || v.IsUndefined()) {
    out->reset();
    return true;
  }
  if (!v.IsObject() || v.IsArray()) {
    ThrowType(env, std::string(where) + ": the file pre-filter must be an object or null");
    return false;
  }
  static const char* const kKeys[] = {"pathEquals", "pathPrefix", "pathSuffix", "pathContains", "nameEquals"};
  Napi::Object obj = v.As<Napi::Object>();
  Napi::Array keys = obj.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); i++) {
    std::string key = keys.Get(i).ToString().Utf8Value();
    bool known = false;
    for (const char* k : kKeys) known = known || key == k;
    if (!known) {
      // An ignored condition would make the filter narrower than the rules and let a blockable open through.
      ThrowType(env, std::string(where) + ": file pre-filter: unknown key \"" + key +
                         "\" (known: pathEquals, pathPrefix, pathSuffix, pathContains, nameEquals)");
      return false;
    }
  }
  FilePrefilterSpec spec;
  const std::string at = std::string(where) + ".filePrefilter";
  if (!ReadStringList(env, obj, "pathEquals", at, &spec.path_equals) ||
      !ReadStringList(env, obj, "pathPrefix", at, &spec.path_prefix) ||
      !ReadStringList(env, obj, "pathSuffix", at, &spec.path_suffix) ||
      !ReadStringList(env, obj, "pathContains", at, &spec.path_contains) ||
      !ReadStringList(env, obj, "nameEquals", at, &spec.name_equals)) {
    return false;
  }
  FilePrefilter built;
  std::string error;
  if (!FilePrefilter::Build(std::move(spec), &built, &error)) {
    ThrowType(env, std::string(where) + ": " + error);
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
  for (const std::string& kind : kinds) {
    if (kind == "exec") {
      mask |= EventRelevance::KindBit(RawEventKind::Exec);
    } else if (kind == "fork") {
      mask |= EventRelevance::KindBit(RawEventKind::Fork);
    } else if (kind == "exit") {
      mask |= EventRelevance::KindBit(RawEventKind::Exit);
    } else if (std::optional<RawEventKind> file = FileEventKindNamed(kind)) {
      mask |= EventRelevance::KindBit(*file);
    } else {
      ThrowType(env, std::string(where) + ": unknown event kind \"" + kind +
                         "\" (known: exec, fork, exit, open, create, modify, rename, delete)");
      return false;
    }
  }
  std::optional<Prefilter> prefilter;
  if (!ReadPrefilter(env, r.Get("execPrefilter"), &prefilter)) return false;
  std::optional<FilePrefilter> file_prefilter;
  if (!ReadFilePrefilter(env, r.Get("filePrefilter"), where, &file_prefilter)) return false;
  out->emplace(mask, std::move(prefilter), std::move(file_prefilter));
  return true;
}

}  // namespace macsensor
