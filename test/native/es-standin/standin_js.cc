// The test addon macsensor_es_test.node: the real ES backend surface (RegisterEs: startEs, respond, ...) built
// against the stand-in, plus `standin`, the JS control surface of the stand-in:
//   standin.enqueue(spec | spec[])   script messages (fields below); delivered in order by the ES thread
//   standin.waitIdle(timeoutMs?)     → true once every queued message was handled (blocks the JS thread)
//   standin.authRecords()            → [{ tag, answers, result: "allow"|"deny"|null, cache, answerUs, deadlineUs,
//                                      delivered, dropped, waitedUs }] — an AUTH message gets its record when
//                                      queued; answerUs and deadlineUs count from delivery (from enqueue while it
//                                      is undelivered), waitedUs is the time it spent queued
//   standin.state()                  → { clientAlive, killed, violations, delivered, suppressed, liveMessages, ... }
//   standin.reset()                  forget records and violations (messages still held stay counted)
//   standin.setNewClientResult(n)    the next es_new_client calls return es_new_client_result_t n (0: succeed)
//   standin.holdDelivery(false | true | "untilUnsubscribe")  hold the queue (see standin::Hold)
//   standin.setTimebase(numer, denom)  the Mach timebase; throws once anything has read it
//   standin.selfTestMisuse(what)     commit a misuse the stand-in makes fatal ("cstring", "deleteFromHandler",
//                                      "deleteFromOtherThread"): for tests in a child process
//   standin.failCalls(names[])       these ES calls fail from now until reset (es_mute_process, es_mute_path,
//                                    es_mute_path_events, es_unsubscribe, es_unsubscribe_all, es_clear_cache);
//                                    standin.injectedFailures() counts the failures given
//   standin.esCache()                → { entries: [{ process, target, result }], hits: [{ tag, result }] }: the ES
//                                    cache and the scripted AUTH execs it answered (never delivered as AUTH)
//   standin.modifyFile(path)         the file changed: ES drops the cache entries naming it
// Message spec: { type: "auth_exec"|"notify_exec"|"fork"|"exit"|"auth_open"|"notify_open"|"create"|"close"|
//   "rename"|"unlink", version?, deadlineMs?, tag?, skipSeq?, process?: Proc, target?: Proc, args?: Text[],
//   env?: Text[], cwd?: Text, script?: Text, exitStatus?,
//   file events: path?: Text, pathTruncated?, newPath?: { dir: Text, name: Text } (create/rename destination
//   given as directory + name), source?: Text, sourceTruncated? (rename), fflag? (open), modified? (close) }
// authRecords() of an AUTH_OPEN also give { flags (the mask answered), requestedFflag }.
// Proc: { pid, pidversion, euid, ruid, egid, rgid, auid, asid, ppid, originalPpid, groupId, sessionId, csFlags,
//   platformBinary, esClient, cdhash (hex), signingId, teamId, executable: Text, executableTruncated, tty: Text,
//   startTimeMs, responsible: Token, parent: Token }; Text = string | Uint8Array (exact bytes).
#include <napi.h>

#include <algorithm>
#include <string>

#include "deadline_watchdog.h"
#include "es_binding.h"
#include "mach_time.h"
#include "standin_control.h"

namespace {

bool ReadText(Napi::Value v, std::string* out) {
  if (v.IsString()) {
    *out = v.As<Napi::String>().Utf8Value();
    return true;
  }
  if (v.IsTypedArray()) {
    Napi::Uint8Array a = v.As<Napi::Uint8Array>();
    out->assign(reinterpret_cast<const char*>(a.Data()), a.ByteLength());
    return true;
  }
  return false;
}

// Signed time from one Mach tick to another, in microseconds.
double MicrosBetween(uint64_t from, uint64_t to) {
  return to >= from ? standin::TicksToMicros(to - from) : -standin::TicksToMicros(from - to);
}

double Num(Napi::Object o, const char* key, double def) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : def;
}

bool Flag(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

standin::TokenSpec ReadToken(Napi::Value v) {
  standin::TokenSpec t;
  if (!v.IsObject()) return t;
  Napi::Object o = v.As<Napi::Object>();
  t.pid = static_cast<int32_t>(Num(o, "pid", 0));
  t.pidversion = static_cast<int32_t>(Num(o, "pidversion", 0));
  t.euid = static_cast<uint32_t>(Num(o, "euid", 0));
  t.ruid = static_cast<uint32_t>(Num(o, "ruid", 0));
  t.egid = static_cast<uint32_t>(Num(o, "egid", 0));
  t.rgid = static_cast<uint32_t>(Num(o, "rgid", 0));
  t.auid = static_cast<uint32_t>(Num(o, "auid", 0));
  t.asid = static_cast<int32_t>(Num(o, "asid", 0));
  return t;
}

standin::ProcSpec ReadProc(Napi::Value v) {
  standin::ProcSpec p;
  if (!v.IsObject()) return p;
  Napi::Object o = v.As<Napi::Object>();
  p.token = ReadToken(o);
  p.ppid = static_cast<int32_t>(Num(o, "ppid", 0));
  p.original_ppid = static_cast<int32_t>(Num(o, "originalPpid", 0));
  p.group_id = static_cast<int32_t>(Num(o, "groupId", 0));
  p.session_id = static_cast<int32_t>(Num(o, "sessionId", 0));
  p.cs_flags = static_cast<uint32_t>(Num(o, "csFlags", 0));
  p.platform_binary = Flag(o, "platformBinary");
  p.es_client = Flag(o, "esClient");
  if (o.Get("cdhash").IsString()) {
    std::string hex = o.Get("cdhash").As<Napi::String>().Utf8Value();
    for (size_t i = 0; i < 20 && 2 * i + 1 < hex.size(); i++) {
      p.cdhash[i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
    }
  }
  ReadText(o.Get("signingId"), &p.signing_id);
  ReadText(o.Get("teamId"), &p.team_id);
  ReadText(o.Get("executable"), &p.executable);
  p.executable_truncated = Flag(o, "executableTruncated");
  std::string tty;
  if (ReadText(o.Get("tty"), &tty)) p.tty = tty;
  double start_ms = Num(o, "startTimeMs", 0);
  p.start_sec = static_cast<int64_t>(start_ms / 1000);
  p.start_usec = static_cast<int32_t>((start_ms - static_cast<double>(p.start_sec) * 1000) * 1000);
  p.responsible = ReadToken(o.Get("responsible"));
  p.parent = ReadToken(o.Get("parent"));
  return p;
}

bool ReadTextList(Napi::Value v, std::vector<std::string>* out) {
  if (!v.IsArray()) return !v.IsUndefined() ? false : true;
  Napi::Array a = v.As<Napi::Array>();
  out->reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    std::string s;
    if (!ReadText(a.Get(i), &s)) return false;
    out->push_back(std::move(s));
  }
  return true;
}

bool ReadSpec(Napi::Env env, Napi::Value v, standin::MessageSpec* s) {
  if (!v.IsObject()) {
    Napi::TypeError::New(env, "standin.enqueue: a message spec must be an object").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Object o = v.As<Napi::Object>();
  std::string type = o.Get("type").IsString() ? o.Get("type").As<Napi::String>().Utf8Value() : "";
  if (type == "auth_exec") s->type = ES_EVENT_TYPE_AUTH_EXEC;
  else if (type == "notify_exec") s->type = ES_EVENT_TYPE_NOTIFY_EXEC;
  else if (type == "fork") s->type = ES_EVENT_TYPE_NOTIFY_FORK;
  else if (type == "exit") s->type = ES_EVENT_TYPE_NOTIFY_EXIT;
  else if (type == "auth_open") s->type = ES_EVENT_TYPE_AUTH_OPEN;
  else if (type == "notify_open") s->type = ES_EVENT_TYPE_NOTIFY_OPEN;
  else if (type == "create") s->type = ES_EVENT_TYPE_NOTIFY_CREATE;
  else if (type == "close") s->type = ES_EVENT_TYPE_NOTIFY_CLOSE;
  else if (type == "rename") s->type = ES_EVENT_TYPE_NOTIFY_RENAME;
  else if (type == "unlink") s->type = ES_EVENT_TYPE_NOTIFY_UNLINK;
  else {
    Napi::TypeError::New(env, "standin.enqueue: type must be auth_exec, notify_exec, fork, exit, auth_open, "
                              "notify_open, create, close, rename or unlink, got '" + type + "'")
        .ThrowAsJavaScriptException();
    return false;
  }
  s->version = static_cast<uint32_t>(Num(o, "version", 7));
  s->deadline_ms = Num(o, "deadlineMs", 15000);
  if (o.Get("tag").IsString()) s->tag = o.Get("tag").As<Napi::String>().Utf8Value();
  s->skip_seq = static_cast<uint64_t>(Num(o, "skipSeq", 0));
  s->process = ReadProc(o.Get("process"));
  s->target = o.Get("target").IsObject() ? ReadProc(o.Get("target")) : s->process;
  std::string text;
  if (ReadText(o.Get("cwd"), &text)) s->cwd = text;
  if (ReadText(o.Get("script"), &text)) s->script = text;
  s->exit_stat = static_cast<int>(Num(o, "exitStatus", 0));
  ReadText(o.Get("path"), &s->path);
  s->path_truncated = Flag(o, "pathTruncated");
  if (o.Get("newPath").IsObject()) {
    Napi::Object np = o.Get("newPath").As<Napi::Object>();
    std::string dir, name;
    ReadText(np.Get("dir"), &dir);
    ReadText(np.Get("name"), &name);
    s->new_path_dir = dir;
    s->new_path_name = name;
  }
  ReadText(o.Get("source"), &s->source);
  s->source_truncated = Flag(o, "sourceTruncated");
  s->fflag = static_cast<int32_t>(Num(o, "fflag", 1));
  s->modified = !o.Get("modified").IsBoolean() || o.Get("modified").As<Napi::Boolean>().Value();
  if (!ReadTextList(o.Get("args"), &s->args) || !ReadTextList(o.Get("env"), &s->env)) {
    Napi::TypeError::New(env, "standin.enqueue: args/env must be arrays of strings or Uint8Arrays")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

Napi::Value Enqueue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Value arg = info[0];
  if (arg.IsArray()) {
    Napi::Array a = arg.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      standin::MessageSpec s;
      if (!ReadSpec(env, a.Get(i), &s)) return env.Undefined();
      standin::Enqueue(std::move(s));
    }
    return env.Undefined();
  }
  standin::MessageSpec s;
  if (ReadSpec(env, arg, &s)) standin::Enqueue(std::move(s));
  return env.Undefined();
}

Napi::Value WaitIdle(const Napi::CallbackInfo& info) {
  int timeout = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 10000;
  return Napi::Boolean::New(info.Env(), standin::WaitIdle(timeout));
}

Napi::Value AuthRecords(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<standin::AuthRecord> records = standin::AuthRecords();
  Napi::Array out = Napi::Array::New(env, records.size());
  for (size_t i = 0; i < records.size(); i++) {
    const standin::AuthRecord& r = records[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("tag", r.tag);
    o.Set("answers", r.answers);
    if (r.answers > 0) {
      o.Set("result", r.result == ES_AUTH_RESULT_ALLOW ? "allow" : "deny");
      o.Set("cache", r.cache);
      o.Set("answeredWith", r.flags_answer ? "flags" : "auth");
      if (r.flags_answer) o.Set("flags", static_cast<double>(r.flags));
      o.Set("answerUs", MicrosBetween(r.delivered ? r.delivered_ticks : r.enqueued_ticks, r.answered_ticks));
    } else {
      o.Set("result", env.Null());
    }
    o.Set("deadlineUs", MicrosBetween(r.delivered ? r.delivered_ticks : r.enqueued_ticks, r.deadline_ticks));
    o.Set("delivered", r.delivered);
    o.Set("dropped", r.dropped);
    if (r.delivered) o.Set("waitedUs", MicrosBetween(r.enqueued_ticks, r.delivered_ticks));
    o.Set("requestedFflag", r.requested_fflag);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

Napi::Value State(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  standin::State s = standin::GetState();
  Napi::Object o = Napi::Object::New(env);
  o.Set("clientAlive", s.client_alive);
  o.Set("killed", s.killed);
  Napi::Array violations = Napi::Array::New(env, s.violations.size());
  for (size_t i = 0; i < s.violations.size(); i++) violations.Set(static_cast<uint32_t>(i), s.violations[i]);
  o.Set("violations", violations);
  o.Set("delivered", static_cast<double>(s.delivered));
  o.Set("suppressed", static_cast<double>(s.suppressed));
  o.Set("queued", static_cast<double>(s.queued));
  o.Set("liveMessages", static_cast<double>(s.live_messages));
  o.Set("retains", static_cast<double>(s.retains));
  o.Set("releases", static_cast<double>(s.releases));
  o.Set("clientsCreated", static_cast<double>(s.clients_created));
  Napi::Array subs = Napi::Array::New(env, s.subscriptions.size());
  for (size_t i = 0; i < s.subscriptions.size(); i++) subs.Set(static_cast<uint32_t>(i), s.subscriptions[i]);
  o.Set("subscriptions", subs);
  Napi::Array paths = Napi::Array::New(env, s.muted_paths.size());
  for (size_t i = 0; i < s.muted_paths.size(); i++) {
    Napi::Object p = Napi::Object::New(env);
    p.Set("path", s.muted_paths[i].first);
    p.Set("type", s.muted_paths[i].second);
    paths.Set(static_cast<uint32_t>(i), p);
  }
  o.Set("mutedPaths", paths);
  Napi::Array pids = Napi::Array::New(env, s.muted_pids.size());
  for (size_t i = 0; i < s.muted_pids.size(); i++) pids.Set(static_cast<uint32_t>(i), s.muted_pids[i]);
  o.Set("mutedPids", pids);
  o.Set("held", s.held);
  Napi::Object timebase = Napi::Object::New(env);
  timebase.Set("numer", s.timebase_numer);
  timebase.Set("denom", s.timebase_denom);
  o.Set("timebase", timebase);
  o.Set("clientsDeleted", static_cast<double>(s.clients_deleted));
  return o;
}

Napi::Value Reset(const Napi::CallbackInfo& info) {
  standin::Reset();
  return info.Env().Undefined();
}

Napi::Value SetNewClientResult(const Napi::CallbackInfo& info) {
  standin::SetNewClientResult(info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0);
  return info.Env().Undefined();
}

Napi::Value HoldDelivery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  standin::Hold hold = standin::Hold::Off;
  if (info[0].IsString() && info[0].As<Napi::String>().Utf8Value() == "untilUnsubscribe") {
    hold = standin::Hold::UntilUnsubscribe;
  } else if (info[0].IsBoolean()) {
    hold = info[0].As<Napi::Boolean>().Value() ? standin::Hold::Held : standin::Hold::Off;
  } else {
    Napi::TypeError::New(env, "standin.holdDelivery(hold: boolean | \"untilUnsubscribe\")").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  standin::HoldDelivery(hold);
  return env.Undefined();
}

Napi::Value SetTimebase(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "standin.setTimebase(numer: number, denom: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string error;
  if (!standin::SetTimebase(info[0].As<Napi::Number>().Uint32Value(), info[1].As<Napi::Number>().Uint32Value(),
                            &error)) {
    Napi::Error::New(env, "standin.setTimebase: " + error).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value SelfTestMisuse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string what = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (!standin::SelfTestMisuse(what)) {
    Napi::TypeError::New(env, "standin.selfTestMisuse: unknown misuse '" + what + "'").ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// internals.watchdogDelayMs(remainingMs, marginMs = 10, minRuleMs = 5): how long after delivery the watchdog
// answers a message whose deadline is remainingMs away (macsensor::PlanAuthBudget, in Mach ticks of the
// stand-in's clock), or null when the message is too short for any rule (allowed at once).
Napi::Value WatchdogDelayMs(const Napi::CallbackInfo& info) {
  auto arg = [&](size_t i, double def) {
    return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : def;
  };
  const double remaining_ms = arg(0, 0);
  macsensor::DeadlineBudgetOptions options;
  options.margin_ns = static_cast<uint64_t>(arg(1, 10) * 1e6);
  options.min_rule_ns = static_cast<uint64_t>(arg(2, 5) * 1e6);
  const uint64_t now = macsensor::MachClock::NowTicks();
  const uint64_t deadline = now + macsensor::MachClock::NanosToTicks(static_cast<uint64_t>(remaining_ms * 1e6));
  const macsensor::AuthBudget budget = macsensor::PlanAuthBudget(now, deadline, options);
  if (budget.too_short) return info.Env().Null();
  return Napi::Number::New(info.Env(), static_cast<double>(macsensor::MachClock::TicksToNanos(budget.fire_ticks - now)) / 1e6);
}

Napi::Value FailCalls(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  static const char* const kKnown[] = {"es_mute_process", "es_mute_path", "es_mute_path_events",
                                       "es_unsubscribe", "es_unsubscribe_all", "es_clear_cache"};
  std::vector<std::string> calls;
  if (!info[0].IsArray() || !ReadTextList(info[0], &calls)) {
    Napi::TypeError::New(env, "standin.failCalls(names: string[])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  for (const std::string& c : calls) {
    if (std::find(std::begin(kKnown), std::end(kKnown), c) == std::end(kKnown)) {
      Napi::TypeError::New(env, "standin.failCalls: no failure can be injected into '" + c + "'")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  standin::SetFailingCalls(std::move(calls));
  return env.Undefined();
}

Napi::Value InjectedFailures(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(standin::InjectedFailures()));
}

Napi::Value EsCache(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto name = [](es_auth_result_t r) { return r == ES_AUTH_RESULT_ALLOW ? "allow" : "deny"; };
  std::vector<standin::CacheEntry> entries = standin::CacheEntries();
  std::vector<standin::CacheHit> hits = standin::CacheHits();
  Napi::Array e = Napi::Array::New(env, entries.size());
  for (size_t i = 0; i < entries.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("process", entries[i].process_executable);
    o.Set("target", entries[i].target_executable);
    o.Set("result", name(entries[i].result));
    e.Set(static_cast<uint32_t>(i), o);
  }
  Napi::Array h = Napi::Array::New(env, hits.size());
  for (size_t i = 0; i < hits.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("tag", hits[i].tag);
    o.Set("result", name(hits[i].result));
    h.Set(static_cast<uint32_t>(i), o);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("entries", e);
  out.Set("hits", h);
  return out;
}

Napi::Value ModifyFile(const Napi::CallbackInfo& info) {
  std::string path;
  if (info.Length() < 1 || !ReadText(info[0], &path)) {
    Napi::TypeError::New(info.Env(), "standin.modifyFile(path: string)").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  standin::ModifyFile(path);
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  macsensor::RegisterEs(env, exports);
  Napi::Object standin = Napi::Object::New(env);
  standin.Set("enqueue", Napi::Function::New(env, Enqueue, "enqueue"));
  standin.Set("waitIdle", Napi::Function::New(env, WaitIdle, "waitIdle"));
  standin.Set("authRecords", Napi::Function::New(env, AuthRecords, "authRecords"));
  standin.Set("state", Napi::Function::New(env, State, "state"));
  standin.Set("reset", Napi::Function::New(env, Reset, "reset"));
  standin.Set("setNewClientResult", Napi::Function::New(env, SetNewClientResult, "setNewClientResult"));
  standin.Set("holdDelivery", Napi::Function::New(env, HoldDelivery, "holdDelivery"));
  standin.Set("setTimebase", Napi::Function::New(env, SetTimebase, "setTimebase"));
  standin.Set("selfTestMisuse", Napi::Function::New(env, SelfTestMisuse, "selfTestMisuse"));
  standin.Set("failCalls", Napi::Function::New(env, FailCalls, "failCalls"));
  standin.Set("injectedFailures", Napi::Function::New(env, InjectedFailures, "injectedFailures"));
  standin.Set("esCache", Napi::Function::New(env, EsCache, "esCache"));
  standin.Set("modifyFile", Napi::Function::New(env, ModifyFile, "modifyFile"));
  exports.Set("standin", standin);
  Napi::Object internals = Napi::Object::New(env);
  internals.Set("watchdogDelayMs", Napi::Function::New(env, WatchdogDelayMs, "watchdogDelayMs"));
  exports.Set("internals", internals);
  return exports;
}

}  // namespace

NODE_API_MODULE(macsensor_es_test, Init)
