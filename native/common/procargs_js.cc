// binding.parseProcArgs(bytes: Uint8Array, options?: {env?: boolean})
//   → {argc, execPath?, args, argsTruncated?: true, env?, problem?}: a KERN_PROCARGS2 buffer parsed by
//   ParseProcArgs (procargs.h). Text is a string when valid UTF-8, else a Uint8Array of the exact bytes.
// binding.listProcesses(options?: {captureEnv?: string[]}) → RawEvent[] (macOS only): the processes running now
//   as exec-like records (process_list.h), for seeding the process table. Throws only when the process list
//   itself cannot be read.
#include "procargs_js.h"

#include <string>
#include <vector>

#include "procargs.h"
#include "raw_event_js.h"
#if defined(__APPLE__)
#include "../macos/process_list.h"
#endif

namespace macsensor {

namespace {

Napi::Value TypeFail(Napi::Env env, const char* message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Array TextList(Napi::Env env, const std::vector<std::string>& list) {
  Napi::Array arr = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); i++) arr.Set(static_cast<uint32_t>(i), RawTextToJs(env, list[i]));
  return arr;
}

Napi::Value ParseProcArgsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    return TypeFail(env, "parseProcArgs(bytes): expected a Uint8Array");
  }
  bool want_env = false;
  if (info.Length() >= 2 && info[1].IsObject()) {
    Napi::Value v = info[1].As<Napi::Object>().Get("env");
    if (env.IsExceptionPending()) return env.Undefined();
    want_env = v.IsBoolean() && v.As<Napi::Boolean>().Value();
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  ProcArgs parsed = ParseProcArgs(bytes.Data(), bytes.ByteLength(), want_env);

  Napi::Object o = Napi::Object::New(env);
  o.Set("argc", Napi::Number::New(env, parsed.argc));
  if (parsed.exec_path.has_value()) o.Set("execPath", RawTextToJs(env, *parsed.exec_path));
  o.Set("args", TextList(env, parsed.args));
  if (!parsed.args_complete) o.Set("argsTruncated", Napi::Boolean::New(env, true));
  if (want_env) o.Set("env", TextList(env, parsed.env));
  if (!parsed.problem.empty()) o.Set("problem", Napi::String::New(env, parsed.problem));
  return o;
}

#if defined(__APPLE__)
Napi::Value ListProcessesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ProcessListOptions options;
  if (info.Length() >= 1 && !info[0].IsUndefined()) {
    if (!info[0].IsObject()) return TypeFail(env, "listProcesses(options): options must be an object");
    Napi::Value names = info[0].As<Napi::Object>().Get("captureEnv");
    if (env.IsExceptionPending()) return env.Undefined();
    if (!names.IsUndefined()) {
      if (!names.IsArray()) return TypeFail(env, "listProcesses: captureEnv must be an array of names");
      Napi::Array arr = names.As<Napi::Array>();
      for (uint32_t i = 0; i < arr.Length(); i++) {
        Napi::Value n = arr.Get(i);
        if (!n.IsString()) return TypeFail(env, "listProcesses: captureEnv must be an array of names");
        options.env_names.push_back(n.As<Napi::String>().Utf8Value());
      }
    }
  }
  std::string error;
  std::vector<RawEvent> list = ListRunningProcesses(options, &error);
  if (!error.empty()) {
    Napi::Error::New(env, "listProcesses: " + error).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array arr = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); i++) arr.Set(static_cast<uint32_t>(i), RawEventToJs(env, list[i]));
  return arr;
}
#endif

}  // namespace

void RegisterProcArgs(Napi::Env env, Napi::Object exports) {
  exports.Set("parseProcArgs", Napi::Function::New(env, ParseProcArgsJs, "parseProcArgs"));
#if defined(__APPLE__)
  exports.Set("listProcesses", Napi::Function::New(env, ListProcessesJs, "listProcesses"));
#endif
}

}  // namespace macsensor
