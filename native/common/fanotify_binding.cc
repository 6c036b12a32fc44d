// binding.startFanotify({ roots, kinds, guardPaths, authBudgetMs, denyOnTimeout, ignorePids, queueCapacity,
//   batchMax, readIntervalMs }, (events) => ...) → handle (root only; see native/linux/fanotify_reader.h)
//   handle.setKinds(kinds): the file kinds ("open" | "create" | "modify" | "rename" | "delete") to report.
//   handle.setPathFilter(spec | null): file events whose paths fail the FilePrefilterSpec are counted, not queued.
//   handle.setGuards({ dirs, filesystems, filter }) → string[]: the opens held besides guardPaths (derived from
//     the block rules): children of `dirs`, and everything on the filesystems of `filesystems`, whose path passes
//     `filter` (a FilePrefilterSpec; null: none held). Returns why each mark that could not be added failed.
//   handle.respond(authId, allow) → "answered" | "late" | "unknown": answers a guarded open.
//   handle.stop(): stops the reader, allows pending opens, delivers what is queued, returns the final stats.
//   handle.stats(), handle.lastError().
#include "fanotify_binding.h"

#include <memory>
#include <string>

#include "event_queue.h"
#include "prefilter_js.h"
#include "../linux/fanotify_reader.h"

namespace macsensor {

namespace {

using linux_fan::FanotifyReader;

struct FanSession {
  napi_env env = nullptr;
  std::unique_ptr<EventDispatcher> dispatcher;  // declared first: outlives the reader's thread
  std::unique_ptr<FanotifyReader> reader;
  bool stopped = false;
  bool cleanup_hook = false;
  napi_ref handle_ref = nullptr;

  void Stop(Napi::Env e, bool drain) {
    if (stopped) return;
    stopped = true;
    if (reader) reader->Stop();
    if (dispatcher) dispatcher->Stop(e, drain);
    if (handle_ref != nullptr) {
      napi_delete_reference(env, handle_ref);
      handle_ref = nullptr;
    }
  }
  static void OnEnvCleanup(void* arg) {
    auto* self = static_cast<FanSession*>(arg);
    self->cleanup_hook = false;
    self->handle_ref = nullptr;
    self->Stop(Napi::Env(self->env), false);
  }
  static void OnFinalize(napi_env, void* data, void*) {
    auto* self = static_cast<FanSession*>(data);
    self->handle_ref = nullptr;
    self->Stop(Napi::Env(self->env), false);
    if (self->cleanup_hook) napi_remove_env_cleanup_hook(self->env, &FanSession::OnEnvCleanup, self);
    delete self;
  }
};

constexpr napi_type_tag kFanHandleTag = {0x6d616373656e736fULL, 0x722d66616e6f7431ULL};

Napi::Value TypeFail(Napi::Env env, const std::string& message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

FanSession* Unwrap(Napi::Env env, Napi::Value v) {
  if (!v.IsObject()) return nullptr;
  bool tagged = false;
  if (napi_check_object_type_tag(env, v, &kFanHandleTag, &tagged) != napi_ok || !tagged) return nullptr;
  void* ptr = nullptr;
  if (napi_unwrap(env, v, &ptr) != napi_ok) {
    if (env.IsExceptionPending()) env.GetAndClearPendingException();
    return nullptr;
  }
  return static_cast<FanSession*>(ptr);
}

FanSession* This(const Napi::CallbackInfo& info, const char* name) {
  FanSession* s = Unwrap(info.Env(), info.This());
  if (s == nullptr) TypeFail(info.Env(), std::string(name) + ": expected a handle returned by startFanotify");
  return s;
}

Napi::Object StatsToJs(Napi::Env env, const FanSession& s) {
  DispatcherStats d = s.dispatcher->Stats();
  linux_fan::FanotifyStats f = s.reader->Stats();
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* key, uint64_t v) { o.Set(key, Napi::Number::New(env, static_cast<double>(v))); };
  set("received", f.received);
  set("delivered", d.delivered);
  set("dropped", f.queue_dropped + f.kernel_overflows);
  set("queueHighWater", d.high_water);
  set("queueDropped", f.queue_dropped);
  set("kernelOverflows", f.kernel_overflows);
  set("ignored", f.ignored);
  set("unresolved", f.unresolved);
  set("queued", d.queued);
  set("batches", d.batches);
  set("discarded", d.discarded);
  set("lastSeq", f.last_seq);
  set("permAllowedNative", f.perm_allowed_native);
  set("authRequests", f.auth_requests);
  set("authAnsweredJs", f.auth_answered_js);
  set("authAnsweredWatchdog", f.auth_answered_watchdog);
  set("authAnsweredNative", f.auth_answered_native);
  set("authLate", f.auth_late);
  set("authDenied", f.auth_denied);
  set("pathFiltered", f.path_filtered);
  return o;
}

// "open" | "create" | "modify" | "rename" | "delete" → mask; other process kinds are not ours and are skipped,
// so the agent's relevance kinds can be handed over as they are.
bool ReadKinds(Napi::Env env, Napi::Value v, const std::string& where, uint32_t* out) {
  if (!v.IsArray()) {
    TypeFail(env, where + ": kinds must be an array of event kinds");
    return false;
  }
  Napi::Array arr = v.As<Napi::Array>();
  uint32_t mask = 0;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value item = arr.Get(i);
    std::string k = item.IsString() ? item.As<Napi::String>().Utf8Value() : "";
    if (k == "open") {
      mask |= linux_fan::KindBit(RawEventKind::Open);
    } else if (k == "create") {
      mask |= linux_fan::KindBit(RawEventKind::Create);
    } else if (k == "modify") {
      mask |= linux_fan::KindBit(RawEventKind::Modify);
    } else if (k == "rename") {
      mask |= linux_fan::KindBit(RawEventKind::Rename);
    } else if (k == "delete") {
      mask |= linux_fan::KindBit(RawEventKind::Delete);
    } else if (k != "exec" && k != "fork" && k != "exit") {
      TypeFail(env, where + ": kinds[" + std::to_string(i) +
                        "] is not an event kind (known: open, create, modify, rename, delete, exec, fork, exit)");
      return false;
    }
  }
  *out = mask;
  return true;
}

bool ReadInt(Napi::Object opts, const char* key, double min, double max, double* out, std::string* error) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined()) return true;
  double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1e300;
  if (!(x >= min && x <= max) || x != static_cast<double>(static_cast<int64_t>(x))) {
    *error = std::string("startFanotify: option ") + key + " must be an integer from " +
             std::to_string(int64_t(min)) + " to " + std::to_string(int64_t(max)) + ", got " +
             v.ToString().Utf8Value();
    return false;
  }
  *out = x;
  return true;
}

Napi::Value SetKinds(const Napi::CallbackInfo& info) {
  FanSession* s = This(info, "setKinds");
  if (s == nullptr) return info.Env().Undefined();
  uint32_t mask = 0;
  if (!ReadKinds(info.Env(), info.Length() > 0 ? info[0] : info.Env().Undefined(), "setKinds", &mask)) {
    return info.Env().Undefined();
  }
  if (s->stopped) return info.Env().Undefined();
  std::string e = s->reader->SetKinds(mask);
  if (!e.empty()) Napi::Error::New(info.Env(), "setKinds: " + e).ThrowAsJavaScriptException();
  return info.Env().Undefined();
}

Napi::Value SetPathFilter(const Napi::CallbackInfo& info) {
  FanSession* s = This(info, "setPathFilter");
  if (s == nullptr) return info.Env().Undefined();
  std::optional<FilePrefilter> filter;
  if (!ReadFilePrefilter(info.Env(), info.Length() > 0 ? info[0] : info.Env().Undefined(), "setPathFilter", &filter)) {
    return info.Env().Undefined();
  }
  if (!s->stopped) s->reader->SetPathFilter(std::move(filter));
  return info.Env().Undefined();
}

Napi::Value SetGuards(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FanSession* s = This(info, "setGuards");
  if (s == nullptr) return env.Undefined();
  if (info.Length() < 1 || !info[0].IsObject()) return TypeFail(env, "setGuards: expected { dirs, filesystems, filter }");
  Napi::Object spec = info[0].As<Napi::Object>();
  linux_fan::DerivedGuards guards;
  if (!ReadStringList(env, spec, "dirs", "setGuards", &guards.dirs) ||
      !ReadStringList(env, spec, "filesystems", "setGuards", &guards.filesystems) ||
      !ReadFilePrefilter(env, spec.Get("filter"), "setGuards", &guards.filter)) {
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env);
  if (s->stopped) return out;
  std::vector<std::string> problems = s->reader->SetGuards(std::move(guards));
  for (uint32_t i = 0; i < problems.size(); i++) out.Set(i, Napi::String::New(env, problems[i]));
  return out;
}

Napi::Value Respond(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FanSession* s = This(info, "respond");
  if (s == nullptr) return env.Undefined();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsBoolean()) {
    return TypeFail(env, "respond(authId, allow): expected a number and a boolean");
  }
  double id = info[0].As<Napi::Number>().DoubleValue();
  if (!(id >= 1) || id != static_cast<double>(static_cast<uint64_t>(id))) {
    return TypeFail(env, "respond: authId must be a positive integer");
  }
  linux_fan::RespondStatus st = s->reader->Respond(static_cast<uint64_t>(id), info[1].As<Napi::Boolean>().Value());
  const char* text = st == linux_fan::RespondStatus::Answered ? "answered"
                     : st == linux_fan::RespondStatus::Late   ? "late"
                                                              : "unknown";
  return Napi::String::New(env, text);
}

Napi::Value StopFan(const Napi::CallbackInfo& info) {
  FanSession* s = This(info, "stop");
  if (s == nullptr) return info.Env().Undefined();
  s->Stop(info.Env(), true);
  if (info.Env().IsExceptionPending()) return info.Env().Undefined();
  return StatsToJs(info.Env(), *s);
}

Napi::Value StartFanotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
    return TypeFail(env, "startFanotify(options, onEvents): expected an options object and a function");
  }
  Napi::Object opts = info[0].As<Napi::Object>();
  linux_fan::FanotifyOptions fo;
  double capacity = 16384, batch_max = 512, budget = 2000, read_interval = fo.read_interval_ms;
  std::string error;
  if (!ReadInt(opts, "queueCapacity", 1, 1 << 24, &capacity, &error) ||
      !ReadInt(opts, "batchMax", 1, 1 << 20, &batch_max, &error) ||
      !ReadInt(opts, "authBudgetMs", 1, 60000, &budget, &error) ||
      !ReadInt(opts, "readIntervalMs", 0, 10000, &read_interval, &error)) {
    return TypeFail(env, error);
  }
  fo.auth_budget_ms = static_cast<int>(budget);
  fo.read_interval_ms = static_cast<int>(read_interval);
  std::vector<std::string> roots;
  if (!ReadStringList(env, opts, "roots", "startFanotify", &roots) ||
      !ReadStringList(env, opts, "guardPaths", "startFanotify", &fo.guard_paths)) {
    return env.Undefined();
  }
  if (!roots.empty()) fo.roots = std::move(roots);
  if (opts.Has("kinds") && !ReadKinds(env, opts.Get("kinds"), "startFanotify", &fo.kinds)) return env.Undefined();
  Napi::Value deny = opts.Get("denyOnTimeout");
  if (!deny.IsUndefined()) {
    if (!deny.IsBoolean()) return TypeFail(env, "startFanotify: option denyOnTimeout must be a boolean");
    fo.deny_on_timeout = deny.As<Napi::Boolean>().Value();
  }
  Napi::Value ignore = opts.Get("ignorePids");
  if (!ignore.IsUndefined()) {
    if (!ignore.IsArray()) return TypeFail(env, "startFanotify: option ignorePids must be an array of pids");
    Napi::Array arr = ignore.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value p = arr.Get(i);
      if (!p.IsNumber()) return TypeFail(env, "startFanotify: ignorePids[" + std::to_string(i) + "] must be a pid");
      fo.ignore_pids.insert(p.As<Napi::Number>().Int32Value());
    }
  }

  auto session = std::make_unique<FanSession>();
  session->env = env;
  session->dispatcher = EventDispatcher::Create(env, info[1].As<Napi::Function>(), static_cast<size_t>(capacity),
                                                static_cast<size_t>(batch_max), "macsensor.fanotify");
  EventDispatcher* dispatcher = session->dispatcher.get();
  session->reader = std::make_unique<FanotifyReader>(
      [dispatcher](RawEvent&& ev) { return dispatcher->TryPush(std::move(ev), true); }, std::move(fo));
  std::string start_error = session->reader->Start();
  if (!start_error.empty()) {
    session->Stop(env, false);
    Napi::Error::New(env, "startFanotify: " + start_error).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  Napi::Object handle = Napi::Object::New(env);
  handle.Set("stop", Napi::Function::New(env, StopFan, "stop"));
  handle.Set("stats", Napi::Function::New(env, [](const Napi::CallbackInfo& i) -> Napi::Value {
               FanSession* s = This(i, "stats");
               return s == nullptr ? i.Env().Undefined() : Napi::Value(StatsToJs(i.Env(), *s));
             }, "stats"));
  handle.Set("setKinds", Napi::Function::New(env, SetKinds, "setKinds"));
  handle.Set("setPathFilter", Napi::Function::New(env, SetPathFilter, "setPathFilter"));
  handle.Set("setGuards", Napi::Function::New(env, SetGuards, "setGuards"));
  handle.Set("respond", Napi::Function::New(env, Respond, "respond"));
  handle.Set("lastError", Napi::Function::New(env, [](const Napi::CallbackInfo& i) -> Napi::Value {
               FanSession* s = This(i, "lastError");
               if (s == nullptr) return i.Env().Undefined();
               std::string e = s->reader->LastError();
               return e.empty() ? i.Env().Undefined() : Napi::String::New(i.Env(), e);
             }, "lastError"));
  FanSession* raw = session.release();
  if (napi_wrap(env, handle, raw, &FanSession::OnFinalize, nullptr, nullptr) != napi_ok) {
    raw->Stop(env, false);
    delete raw;
    Napi::Error::New(env, "startFanotify: could not attach the session to its handle").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  napi_type_tag_object(env, handle, &kFanHandleTag);
  napi_create_reference(env, handle, 1, &raw->handle_ref);
  if (napi_add_env_cleanup_hook(env, &FanSession::OnEnvCleanup, raw) == napi_ok) raw->cleanup_hook = true;
  return handle;
}

}  // namespace

void RegisterFanotify(Napi::Env env, Napi::Object exports) {
  exports.Set("startFanotify", Napi::Function::New(env, StartFanotify, "startFanotify"));
}

}  // namespace macsensor
