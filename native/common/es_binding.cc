// JS surface of the Endpoint Security backend:
//
//   const h = binding.startEs({
//     queueCapacity?: number, batchMax?: number,   // the EventDispatcher's bounds (16384, 512)
//     failClosed?: boolean,        // watchdog/shutdown answer DENY instead of ALLOW (default false)
//     authExec?: boolean,          // start with AUTH_EXEC subscribed (default false)
//     captureEnv?: string[],       // environment variable names to capture on exec (default none)
//     muteExecutables?: string[],  // executables whose events (and, macOS 13+, execs) are muted
//     muteSelf?: boolean,          // mute this process (default true)
//     deadlineMarginMs?: number,   // 1..1000 (default 10): the least time the watchdog keeps in hand before an
//                                  // AUTH deadline (it keeps 20% of the time left, within [margin, 5 s])
//     minRuleMs?: number,          // 0..1000 (default 5): less than this left for JavaScript and an AUTH
//                                  // candidate is allowed at once (never denied fail-closed), counted
//                                  // shortDeadlineAllows; see deadline_watchdog.h
//     prefilter?: PrefilterSpec | null,  // see prefilter.h (default none: every AUTH exec goes to JS)
//     holdMs?: number,             // 0..1000 (default 50): how long a NOTIFY event the rules do not need at once
//                                  // may wait for the next batch (see setRelevance); 0: every event wakes JS
//   }, (events: RawEvent[]) => void);
//   binding.setRelevance(h, { kinds, execPrefilter })  // the NOTIFY events that wake JS at once
//                                  // (event_relevance.h; until set: execs); AUTH requests always do
//   binding.respond(h, authId, allow) → "answered" | "tooLate" | "tooShort" | "duplicate" | "unknown" | "error"
//   binding.setAuthExec(h, on)        // subscribe AUTH_EXEC beside NOTIFY_EXEC (block rules loaded), or unsubscribe it
//   binding.setPrefilter(h, spec | null)
//   binding.setAuthCache(h, on)      // rule-decided exec ALLOWs answered cache=true (only identity-reading
//                                    // block rules loaded); clears ES's cache when ours may hold entries. Call
//                                    // on every rule reload. Throws ES_CLEAR_CACHE when es_clear_cache failed
//                                    // (caching then stays off)
//   binding.setFileEvents(h, { kinds, authOpen, openPrefilter })  // the file kinds to subscribe ("open",
//                                  // "create", "modify", "rename", "delete"; others ignored), AUTH_OPEN instead of
//                                  // NOTIFY_OPEN (a block rule on file events is loaded), and the AUTH_OPEN
//                                  // pre-filter (FilePrefilterSpec | null: every AUTH open goes to JS)
//   binding.esStats(h) → { received, delivered, dropped, queueHighWater, ... }
//   binding.stopEs(h)                 // answers what is pending, deletes the client, drains queued events to JS
// Errors from startEs carry `code` (ES_NOT_PRIVILEGED, ES_NOT_ENTITLED, ES_NOT_PERMITTED, ES_TOO_MANY_CLIENTS,
// ES_INTERNAL, ES_MUTE_SELF (muting macsensor itself failed), ES_MUTE (a mute.executables path), ...) and an
// actionable message.
#include "es_binding.h"

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "es_session.h"
#include "event_queue.h"
#include "event_relevance.h"
#include "prefilter.h"
#include "prefilter_js.h"

namespace macsensor {
namespace {

// The NOTIFY events JavaScript wants at once; read by ES's handler thread, replaced by setRelevance.
struct RelevanceHolder {
  std::mutex mu;
  std::shared_ptr<const EventRelevance> current = std::make_shared<const EventRelevance>();
  std::shared_ptr<const EventRelevance> Get() {
    std::lock_guard<std::mutex> lock(mu);
    return current;
  }
};

struct EsHandle {
  std::shared_ptr<RelevanceHolder> relevance = std::make_shared<RelevanceHolder>();
  std::unique_ptr<EventDispatcher> dispatcher;
  std::unique_ptr<EsSession> session;
  bool stopped = false;
  napi_env env = nullptr;
  bool cleanup_hook_pending = false;

  // The environment is going away (worker exit, process exit) without stopEs: stop the ES client and the
  // threads, never calling JavaScript. The handle itself is freed by its finalizer, if that still runs.
  static void OnEnvTeardown(void* arg) {
    auto* h = static_cast<EsHandle*>(arg);
    h->cleanup_hook_pending = false;
    h->StopAll(Napi::Env(nullptr), false);
  }

  void StopAll(Napi::Env env, bool drain) {
    if (stopped) return;
    stopped = true;
    session->Stop();                   // no producer after this
    dispatcher->Stop(env, drain);      // delivers (or, at teardown, discards) what is queued
  }
};

// Marks our handles so that another External (or the Linux backend's handle) is never taken for one.
constexpr napi_type_tag kEsHandleTag = {0x6d616373656e736fULL, 0x722d65732d763031ULL};

// The EsHandle behind a JS value, or nullptr when the value is not a handle returned by startEs.
EsHandle* UnwrapHandle(Napi::Env env, Napi::Value v) {
  if (!v.IsExternal()) return nullptr;
  bool tagged = false;
  if (napi_check_object_type_tag(env, v, &kEsHandleTag, &tagged) != napi_ok || !tagged) return nullptr;
  return v.As<Napi::External<EsHandle>>().Data();
}

Napi::Value ThrowError(Napi::Env env, const std::string& message, const char* code = nullptr) {
  Napi::Error err = Napi::Error::New(env, message);
  if (code != nullptr) err.Set("code", Napi::String::New(env, code));
  err.ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value ThrowType(Napi::Env env, const std::string& message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

bool ReadBool(Napi::Env env, Napi::Object obj, const char* key, bool* out) {
  if (!obj.Has(key) || obj.Get(key).IsUndefined()) return true;
  Napi::Value v = obj.Get(key);
  if (!v.IsBoolean()) {
    ThrowType(env, std::string("startEs options.") + key + " must be a boolean");
    return false;
  }
  *out = v.As<Napi::Boolean>().Value();
  return true;
}

bool ReadCount(Napi::Env env, Napi::Object obj, const char* key, size_t* out) {
  if (!obj.Has(key) || obj.Get(key).IsUndefined()) return true;
  Napi::Value v = obj.Get(key);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 1 && d <= 1e7) || d != static_cast<double>(static_cast<size_t>(d))) {
    ThrowType(env, std::string("startEs options.") + key + " must be an integer from 1 to 10000000");
    return false;
  }
  *out = static_cast<size_t>(d);
  return true;
}

// A duration option in whole milliseconds within [min_ms, max_ms], stored in nanoseconds.
bool ReadMs(Napi::Env env, Napi::Object obj, const char* key, double min_ms, double max_ms, uint64_t* out_ns) {
  if (!obj.Has(key) || obj.Get(key).IsUndefined()) return true;
  Napi::Value v = obj.Get(key);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= min_ms && d <= max_ms) || d != static_cast<double>(static_cast<uint64_t>(d))) {
    ThrowType(env, std::string("startEs options.") + key + " must be an integer from " +
                       std::to_string(static_cast<int>(min_ms)) + " to " + std::to_string(static_cast<int>(max_ms)) +
                       " (milliseconds)");
    return false;
  }
  *out_ns = static_cast<uint64_t>(d) * 1000000ull;
  return true;
}

// allow_stopped: respond() still works after stopEs (events drained at stop may be answered): the answer
// is then refused as too late, since stop answered everything pending.
EsHandle* HandleOf(const Napi::CallbackInfo& info, const char* fn, bool allow_stopped = false) {
  Napi::Env env = info.Env();
  EsHandle* h = info.Length() >= 1 ? UnwrapHandle(env, info[0]) : nullptr;
  if (h == nullptr) {
    ThrowType(env, std::string(fn) + ": the first argument must be the handle returned by startEs");
    return nullptr;
  }
  if (h->stopped && !allow_stopped) {
    ThrowError(env, std::string(fn) + ": the Endpoint Security backend is stopped", "ES_STOPPED");
    return nullptr;
  }
  return h;
}

Napi::Value StartEs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
    return ThrowType(env, "startEs(options, onEvents): options must be an object and onEvents a function");
  }
  Napi::Object opts = info[0].As<Napi::Object>();
  EsSessionOptions options;
  size_t capacity = 16384, batch_max = 512;
  int hold_ms = 50;
  std::optional<Prefilter> prefilter;
  if (opts.Has("holdMs") && !opts.Get("holdMs").IsUndefined()) {
    Napi::Value v = opts.Get("holdMs");
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d <= 1000) || d != static_cast<double>(static_cast<int>(d))) {
      return ThrowType(env, "startEs options.holdMs must be an integer from 0 to 1000");
    }
    hold_ms = static_cast<int>(d);
  }
  if (!ReadCount(env, opts, "queueCapacity", &capacity) || !ReadCount(env, opts, "batchMax", &batch_max) ||
      !ReadBool(env, opts, "failClosed", &options.fail_closed) ||
      !ReadBool(env, opts, "authExec", &options.auth_exec) || !ReadBool(env, opts, "muteSelf", &options.mute_self) ||
      !ReadMs(env, opts, "deadlineMarginMs", 1, 1000, &options.budget.margin_ns) ||
      !ReadMs(env, opts, "minRuleMs", 0, 1000, &options.budget.min_rule_ns) ||
      !ReadStringList(env, opts, "captureEnv", "startEs options", &options.convert.env_names) ||
      !ReadStringList(env, opts, "muteExecutables", "startEs options", &options.mute_executables) ||
      !ReadPrefilter(env, opts.Has("prefilter") ? opts.Get("prefilter") : env.Undefined(), &prefilter)) {
    return env.Undefined();
  }

  auto handle = std::make_unique<EsHandle>();
  handle->dispatcher = EventDispatcher::Create(env, info[1].As<Napi::Function>(), capacity, batch_max, "macsensor.es");
  EventDispatcher* dispatcher = handle->dispatcher.get();
  dispatcher->StartHoldTimer(hold_ms);
  std::string error, code;
  // The pre-filter is installed before any message can arrive: Start subscribes, so set it through the
  // session right after; AUTH_EXEC (if asked) is subscribed only after that.
  bool auth_exec = options.auth_exec;
  options.auth_exec = false;
  handle->session = EsSession::Start(
      std::move(options),
      [dispatcher, relevance = handle->relevance, hold_ms](RawEvent&& ev) {
        const bool urgent = hold_ms == 0 || ev.auth.has_value() || relevance->Get()->Wants(ev);
        return dispatcher->TryPush(std::move(ev), urgent);
      },
      &error, &code);
  if (!handle->session) {
    handle->dispatcher->Stop(env, false);
    return ThrowError(env, error, code.c_str());
  }
  handle->session->SetPrefilter(std::move(prefilter));
  if (auth_exec && !handle->session->SetAuthExec(true, &error)) {
    handle->StopAll(env, false);
    return ThrowError(env, error, "ES_SUBSCRIBE");
  }
  EsHandle* raw = handle.release();
  raw->env = env;
  raw->cleanup_hook_pending = napi_add_env_cleanup_hook(env, &EsHandle::OnEnvTeardown, raw) == napi_ok;
  Napi::External<EsHandle> external = Napi::External<EsHandle>::New(env, raw, [](Napi::Env fenv, EsHandle* h) {
    if (h->cleanup_hook_pending) napi_remove_env_cleanup_hook(h->env, &EsHandle::OnEnvTeardown, h);
    h->StopAll(fenv, false);  // garbage-collected without stopEs: stop, but never call JS from a finalizer
    delete h;
  });
  napi_type_tag_object(env, external, &kEsHandleTag);
  return external;
}

Napi::Value Respond(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EsHandle* h = HandleOf(info, "respond", /*allow_stopped=*/true);
  if (h == nullptr) return env.Undefined();
  if (info.Length() < 3 || !info[1].IsNumber() || !info[2].IsBoolean()) {
    return ThrowType(env, "respond(handle, authId: number, allow: boolean)");
  }
  double id = info[1].As<Napi::Number>().DoubleValue();
  if (!(id >= 1) || id != static_cast<double>(static_cast<uint64_t>(id))) {
    return Napi::String::New(env, RespondStatusName(RespondStatus::Unknown));
  }
  RespondStatus s = h->session->Respond(static_cast<uint64_t>(id), info[2].As<Napi::Boolean>().Value());
  return Napi::String::New(env, RespondStatusName(s));
}

Napi::Value SetAuthExec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EsHandle* h = HandleOf(info, "setAuthExec");
  if (h == nullptr) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsBoolean()) return ThrowType(env, "setAuthExec(handle, on: boolean)");
  std::string error;
  if (!h->session->SetAuthExec(info[1].As<Napi::Boolean>().Value(), &error)) {
    return ThrowError(env, error, "ES_SUBSCRIBE");
  }
  return env.Undefined();
}

Napi::Value SetAuthCache(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EsHandle* h = HandleOf(info, "setAuthCache");
  if (h == nullptr) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsBoolean()) return ThrowType(env, "setAuthCache(handle, on: boolean)");
  std::string error;
  if (!h->session->SetAuthCache(info[1].As<Napi::Boolean>().Value(), &error)) {
    return ThrowError(env, error, error.rfind("es_subscribe", 0) == 0 ? "ES_SUBSCRIBE" : "ES_CLEAR_CACHE");
  }
  return env.Undefined();
}

Napi::Value SetPrefilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EsHandle* h = HandleOf(info, "setPrefilter");
  if (h == nullptr) return env.Undefined();
  std::optional<Prefilter> prefilter;
  if (!ReadPrefilter(env, info.Length() >= 2 ? info[1] : env.Undefined(), &prefilter)) return env.Undefined();
  h->session->SetPrefilter(std::move(prefilter));
  return env.Undefined();
}

Napi::Value SetFileEvents(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EsHandle* h = HandleOf(info, "setFileEvents");
  if (h == nullptr) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsObject() || info[1].IsArray()) {
    return ThrowType(env, "setFileEvents(handle, { kinds, authOpen, openPrefilter })");
  }
  Napi::Object o = info[1].As<Napi::Object>();
  std::vector<std::string> kinds;
  if (!o.Get("kinds").IsArray()) return ThrowType(env, "setFileEvents: kinds must be an array of event kinds");
  if (!ReadStringList(env, o, "kinds", "setFileEvents", &kinds)) return env.Undefined();
  uint8_t mask = 0;
  for (const std::string& kind : kinds) {
    if (std::optional<RawEventKind> k = FileEventKindNamed(kind)) mask |= EventRelevance::KindBit(*k);
  }
  bool auth_open = false;
  if (!o.Get("authOpen").IsUndefined()) {
    if (!o.Get("authOpen").IsBoolean()) return ThrowType(env, "setFileEvents: authOpen must be a boolean");
    auth_open = o.Get("authOpen").As<Napi::Boolean>().Value();
  }
  std::optional<FilePrefilter> prefilter;
  if (!ReadFilePrefilter(env, o.Get("openPrefilter"), "setFileEvents", &prefilter)) return env.Undefined();
  // The narrower filter goes in before AUTH_OPEN is subscribed, so no AUTH open meets a stale one.
  h->session->SetOpenPrefilter(std::move(prefilter));
  std::string error;
  if (!h->session->SetFileEvents(mask, auth_open, &error)) return ThrowError(env, error, "ES_SUBSCRIBE");
  return env.Undefined();
}

Napi::Value SetRelevance(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EsHandle* h = HandleOf(info, "setRelevance");
  if (h == nullptr) return env.Undefined();
  std::optional<EventRelevance> relevance;
  if (!ReadRelevance(env, info.Length() >= 2 ? info[1] : env.Undefined(), "setRelevance", &relevance)) {
    return env.Undefined();
  }
  auto next = std::make_shared<const EventRelevance>(std::move(*relevance));
  std::lock_guard<std::mutex> lock(h->relevance->mu);
  h->relevance->current = std::move(next);
  return env.Undefined();
}

Napi::Value StopEs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EsHandle* h = info.Length() >= 1 ? UnwrapHandle(env, info[0]) : nullptr;
  if (h == nullptr) return ThrowType(env, "stopEs: the first argument must be the handle returned by startEs");
  h->StopAll(env, true);
  return env.Undefined();
}

Napi::Value EsStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EsHandle* h = info.Length() >= 1 ? UnwrapHandle(env, info[0]) : nullptr;
  if (h == nullptr) return ThrowType(env, "esStats: the first argument must be the handle returned by startEs");
  EsSessionStats s = h->session->Stats();
  DispatcherStats d = h->dispatcher->Stats();
  Napi::Object out = Napi::Object::New(env);
  auto set = [&](const char* key, double value) { out.Set(key, Napi::Number::New(env, value)); };
  set("received", static_cast<double>(s.received));
  set("delivered", static_cast<double>(d.delivered));
  set("dropped", static_cast<double>(s.seq_gap_drops + s.queue_drops));
  set("queueHighWater", static_cast<double>(d.high_water));
  set("queued", static_cast<double>(d.queued));
  set("toJs", static_cast<double>(s.to_js));
  set("authToJs", static_cast<double>(s.auth_to_js));
  set("prefiltered", static_cast<double>(s.prefiltered));
  set("prefilteredOpens", static_cast<double>(s.prefiltered_opens));
  set("watchdogAnswers", static_cast<double>(s.watchdog_answers));
  set("shortDeadlineAllows", static_cast<double>(s.short_deadline_allows));
  set("lateJsAnswers", static_cast<double>(s.late_js_answers));
  set("duplicateJsAnswers", static_cast<double>(s.duplicate_js_answers));
  set("unknownJsAnswers", static_cast<double>(s.unknown_js_answers));
  set("seqGapDrops", static_cast<double>(s.seq_gap_drops));
  set("queueDrops", static_cast<double>(s.queue_drops));
  set("allowed", static_cast<double>(s.allowed));
  set("denied", static_cast<double>(s.denied));
  set("respondErrors", static_cast<double>(s.respond_errors));
  set("unsubscribeErrors", static_cast<double>(s.unsubscribe_errors));
  set("cachedAllows", static_cast<double>(s.cached_allows));
  set("cacheClears", static_cast<double>(s.cache_clears));
  set("cacheClearErrors", static_cast<double>(s.cache_clear_errors));
  set("retainedNow", static_cast<double>(s.retained_now));
  set("pendingAuth", static_cast<double>(s.pending_auth));
  set("ownChildren", static_cast<double>(s.own_children));
  return out;
}

}  // namespace

void RegisterEs(Napi::Env env, Napi::Object exports) {
  exports.Set("startEs", Napi::Function::New(env, StartEs, "startEs"));
  exports.Set("respond", Napi::Function::New(env, Respond, "respond"));
  exports.Set("setAuthExec", Napi::Function::New(env, SetAuthExec, "setAuthExec"));
  exports.Set("setPrefilter", Napi::Function::New(env, SetPrefilter, "setPrefilter"));
  exports.Set("setAuthCache", Napi::Function::New(env, SetAuthCache, "setAuthCache"));
  exports.Set("setFileEvents", Napi::Function::New(env, SetFileEvents, "setFileEvents"));
  exports.Set("setRelevance", Napi::Function::New(env, SetRelevance, "setRelevance"));
  exports.Set("stopEs", Napi::Function::New(env, StopEs, "stopEs"));
  exports.Set("esStats", Napi::Function::New(env, EsStats, "esStats"));
}

}  // namespace macsensor
