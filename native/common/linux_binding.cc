// binding.startLinux({ queueCapacity, batchMax, ignorePids, rcvbufBytes, holdMs }, (events) => ...) → handle
//   holdMs (default 50, 0..60000): how long events that no rule needs at once (forks, exits, and execs that
//     handle.setRelevance() rules out) may wait before JavaScript is woken for them; the others wake it at once.
// handle.setRelevance({ kinds, execPrefilter }): which events are needed at once (see SetRelevance).
//   handle.stop() / binding.stopLinux(handle): stops the reader, delivers what is queued (synchronously, to the
//     same callback), releases the thread-safe function; returns the final stats. Idempotent.
//   handle.stats() / binding.linuxStats(handle): counters (see StatsToJs).
//   handle.lastError(): the reader thread's fatal socket error, or undefined.
// binding.readLinuxProcess(pid): what /proc/<pid> says now, as an exec event (seq 0), `partial` if incomplete.
// A running session keeps its handle alive (like a server with no variable pointing at it); stop releases it.
#include "linux_binding.h"

#include <time.h>

#include <memory>
#include <string>
#include <unordered_set>

#include "event_queue.h"
#include "prefilter_js.h"
#include "../linux/clock.h"
#include "../linux/proc_connector.h"

namespace macsensor {

namespace {

using linux_proc::ConnectorStats;
using linux_proc::ProcConnector;

struct LinuxSession {
  napi_env env = nullptr;
  std::unique_ptr<EventDispatcher> dispatcher;  // declared first: outlives the connector's thread
  std::unique_ptr<ProcConnector> connector;
  bool stopped = false;
  bool cleanup_hook = false;
  napi_ref handle_ref = nullptr;  // strong while running, so a dropped handle does not stop the sensor

  void Stop(Napi::Env e, bool drain) {
    if (stopped) return;
    stopped = true;
    if (connector) connector->Stop();
    if (dispatcher) dispatcher->Stop(e, drain);
    if (handle_ref != nullptr) {
      napi_delete_reference(env, handle_ref);
      handle_ref = nullptr;
    }
  }

  // Environment teardown: stop the thread, call no JavaScript (the environment frees the handle reference).
  static void OnEnvCleanup(void* arg) {
    auto* self = static_cast<LinuxSession*>(arg);
    self->cleanup_hook = false;
    self->handle_ref = nullptr;
    self->Stop(Napi::Env(self->env), false);
  }

  // Runs once the handle is unreachable (after stop) or when the environment goes away.
  static void OnFinalize(napi_env, void* data, void*) {
    auto* self = static_cast<LinuxSession*>(data);
    self->handle_ref = nullptr;  // being finalized: the reference is no longer ours to delete
    self->Stop(Napi::Env(self->env), false);
    if (self->cleanup_hook) napi_remove_env_cleanup_hook(self->env, &LinuxSession::OnEnvCleanup, self);
    delete self;
  }
};

Napi::Value Fail(Napi::Env env, const std::string& message) {
  Napi::Error::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value TypeFail(Napi::Env env, const std::string& message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

// Marks handles made by startLinux, so that another wrapped object (an ES handle) is never taken for one.
constexpr napi_type_tag kLinuxHandleTag = {0x6d616373656e736fULL, 0x722d6c696e757831ULL};

LinuxSession* Unwrap(Napi::Env env, Napi::Value v) {
  if (!v.IsObject()) return nullptr;
  bool tagged = false;
  if (napi_check_object_type_tag(env, v, &kLinuxHandleTag, &tagged) != napi_ok || !tagged) return nullptr;
  void* ptr = nullptr;
  if (napi_unwrap(env, v, &ptr) != napi_ok) {
    // napi_unwrap leaves a pending exception for unwrapped objects; the caller throws its own.
    if (env.IsExceptionPending()) env.GetAndClearPendingException();
    return nullptr;
  }
  return static_cast<LinuxSession*>(ptr);
}

Napi::Object StatsToJs(Napi::Env env, const LinuxSession& s) {
  DispatcherStats d = s.dispatcher->Stats();
  ConnectorStats c = s.connector->Stats();
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* key, uint64_t v) { o.Set(key, Napi::Number::New(env, static_cast<double>(v))); };
  set("received", c.received);
  set("delivered", d.delivered);
  set("dropped", c.queue_dropped + c.socket_overruns);
  set("queueHighWater", d.high_water);
  set("queueDropped", c.queue_dropped);
  set("socketOverruns", c.socket_overruns);
  set("ignored", c.ignored);
  set("partial", c.partial);
  set("queued", d.queued);
  set("batches", d.batches);
  set("discarded", d.discarded);
  set("lastSeq", c.last_seq);
  set("execsReceived", c.execs_received);
  set("kernelToReadUsMean", c.execs_received == 0 ? 0 : c.read_delay_us_total / c.execs_received);
  set("kernelToReadUsMax", c.read_delay_us_max);
  return o;
}

// Reads an optional non-negative integer option.
bool ReadCount(Napi::Object opts, const char* key, double min, double max, double* out, std::string* error) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined()) return true;
  if (!v.IsNumber()) {
    *error = std::string("startLinux: option ") + key + " must be a number";
    return false;
  }
  double x = v.As<Napi::Number>().DoubleValue();
  if (!(x >= min && x <= max) || x != static_cast<double>(static_cast<int64_t>(x))) {
    *error = std::string("startLinux: option ") + key + " must be an integer from " + std::to_string(int64_t(min)) +
             " to " + std::to_string(int64_t(max)) + ", got " + v.ToString().Utf8Value();
    return false;
  }
  *out = x;
  return true;
}

Napi::Value StopLinux(const Napi::CallbackInfo& info);
Napi::Value LinuxStats(const Napi::CallbackInfo& info);

LinuxSession* SessionOf(const Napi::CallbackInfo& info, const char* name) {
  // handle.stop() → this; binding.stopLinux(handle) → first argument.
  LinuxSession* s = info.Length() > 0 ? Unwrap(info.Env(), info[0]) : nullptr;
  if (s == nullptr) s = Unwrap(info.Env(), info.This());
  if (s == nullptr) {
    Napi::TypeError::New(info.Env(), std::string(name) + ": expected a handle returned by startLinux")
        .ThrowAsJavaScriptException();
  }
  return s;
}

// handle.setRelevance({ kinds: ("exec" | "fork" | "exit")[], execPrefilter: PrefilterSpec | null }): the events
// the loaded rules could match, which wake JavaScript at once; the others wait up to holdMs (see ProcConnector).
Napi::Value SetRelevance(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LinuxSession* s = Unwrap(env, info.This());
  if (s == nullptr) return TypeFail(env, "setRelevance: expected a handle returned by startLinux");
  std::optional<EventRelevance> relevance;
  if (!ReadRelevance(env, info.Length() > 0 ? info[0] : env.Undefined(), "setRelevance", &relevance)) {
    return env.Undefined();
  }
  if (!s->stopped) s->connector->SetRelevance(std::move(*relevance));
  return env.Undefined();
}

Napi::Value StartLinux(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
    return TypeFail(env, "startLinux(options, onEvents): expected an options object and a function");
  }
  Napi::Object opts = info[0].As<Napi::Object>();
  double capacity = 16384, batch_max = 512, rcvbuf = 8 * 1024 * 1024, hold_ms = 50;
  std::string error;
  if (!ReadCount(opts, "queueCapacity", 1, 1 << 24, &capacity, &error) ||
      !ReadCount(opts, "batchMax", 1, 1 << 20, &batch_max, &error) ||
      !ReadCount(opts, "rcvbufBytes", 4096, 1 << 30, &rcvbuf, &error) ||
      !ReadCount(opts, "holdMs", 0, 60000, &hold_ms, &error)) {
    return TypeFail(env, error);
  }
  std::unordered_set<int32_t> ignore;
  Napi::Value ignore_value = opts.Get("ignorePids");
  if (!ignore_value.IsUndefined()) {
    if (!ignore_value.IsArray()) return TypeFail(env, "startLinux: option ignorePids must be an array of pids");
    Napi::Array arr = ignore_value.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value p = arr.Get(i);
      if (!p.IsNumber()) {
        return TypeFail(env, "startLinux: ignorePids[" + std::to_string(i) + "] must be a pid (number)");
      }
      ignore.insert(p.As<Napi::Number>().Int32Value());
    }
  }

  auto session = std::make_unique<LinuxSession>();
  session->env = env;
  session->dispatcher = EventDispatcher::Create(env, info[1].As<Napi::Function>(), static_cast<size_t>(capacity),
                                                static_cast<size_t>(batch_max), "macsensor.linux");
  EventDispatcher* dispatcher = session->dispatcher.get();
  session->connector = std::make_unique<ProcConnector>(
      [dispatcher](RawEvent&& ev, bool urgent) { return dispatcher->TryPush(std::move(ev), urgent); },
      [dispatcher] { dispatcher->Wake(); }, std::move(ignore), static_cast<int>(hold_ms));
  std::string start_error = session->connector->Start(static_cast<int>(rcvbuf));
  if (!start_error.empty()) {
    session->Stop(env, false);
    return Fail(env, start_error);
  }

  Napi::Object handle = Napi::Object::New(env);
  handle.Set("stop", Napi::Function::New(env, StopLinux, "stop"));
  handle.Set("stats", Napi::Function::New(env, LinuxStats, "stats"));
  handle.Set("setRelevance", Napi::Function::New(env, SetRelevance, "setRelevance"));
  handle.Set("lastError", Napi::Function::New(env, [](const Napi::CallbackInfo& i) -> Napi::Value {
               LinuxSession* s = SessionOf(i, "lastError");
               if (s == nullptr) return i.Env().Undefined();
               std::string e = s->connector->LastError();
               return e.empty() ? i.Env().Undefined() : Napi::String::New(i.Env(), e);
             }, "lastError"));
  LinuxSession* raw = session.release();
  if (napi_wrap(env, handle, raw, &LinuxSession::OnFinalize, nullptr, nullptr) != napi_ok) {
    raw->Stop(env, false);
    delete raw;
    return Fail(env, "startLinux: could not attach the session to its handle");
  }
  napi_type_tag_object(env, handle, &kLinuxHandleTag);
  napi_create_reference(env, handle, 1, &raw->handle_ref);
  if (napi_add_env_cleanup_hook(env, &LinuxSession::OnEnvCleanup, raw) == napi_ok) raw->cleanup_hook = true;
  return handle;
}

Napi::Value StopLinux(const Napi::CallbackInfo& info) {
  LinuxSession* s = SessionOf(info, "stopLinux");
  if (s == nullptr) return info.Env().Undefined();
  s->Stop(info.Env(), true);
  if (info.Env().IsExceptionPending()) return info.Env().Undefined();  // the callback threw during the drain
  return StatsToJs(info.Env(), *s);
}

// readLinuxProcess(pid): the exec-style event /proc/<pid> gives now (args, executable, cwd, ids, start time), with
// `partial` saying what could not be read. For seeding a process table with the backend's exact parsing.
Napi::Value ReadLinuxProcess(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return TypeFail(env, "readLinuxProcess(pid): expected a pid");
  double pid = info[0].As<Napi::Number>().DoubleValue();
  if (!(pid >= 1 && pid <= 2147483647) || pid != static_cast<double>(static_cast<int32_t>(pid))) {
    return TypeFail(env, "readLinuxProcess(pid): pid must be a positive integer");
  }
  static const linux_proc::ProcClock clock = linux_proc::ProcClock::Read();
  RawEvent ev;
  ev.source = "linux";
  ev.kind = RawEventKind::Exec;
  ev.pid = static_cast<int32_t>(pid);
  ev.time_ms = linux_clock::RealtimeMs();
  linux_proc::FillFromProc(ev, linux_proc::ProcDetail::Exec, clock);
  return RawEventToJs(env, ev);
}

Napi::Value LinuxStats(const Napi::CallbackInfo& info) {
  LinuxSession* s = SessionOf(info, "linuxStats");
  if (s == nullptr) return info.Env().Undefined();
  return StatsToJs(info.Env(), *s);
}

}  // namespace

void RegisterLinux(Napi::Env env, Napi::Object exports) {
  exports.Set("startLinux", Napi::Function::New(env, StartLinux, "startLinux"));
  exports.Set("stopLinux", Napi::Function::New(env, StopLinux, "stopLinux"));
  exports.Set("linuxStats", Napi::Function::New(env, LinuxStats, "linuxStats"));
  exports.Set("readLinuxProcess", Napi::Function::New(env, ReadLinuxProcess, "readLinuxProcess"));
}

}  // namespace macsensor
