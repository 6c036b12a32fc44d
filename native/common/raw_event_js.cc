#include "raw_event_js.h"

#include <cstring>

namespace macsensor {

bool IsValidUtf8(const std::string& bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (n - i < len) return false;
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k < len; k++) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

Napi::Value RawTextToJs(Napi::Env env, const std::string& bytes) {
  if (IsValidUtf8(bytes)) return Napi::String::New(env, bytes.data(), bytes.size());
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, bytes.size());
  if (!bytes.empty()) std::memcpy(buffer.Data(), bytes.data(), bytes.size());
  return Napi::Uint8Array::New(env, bytes.size(), buffer, 0);
}

namespace {

const char* KindName(RawEventKind kind) {
  switch (kind) {
    case RawEventKind::Exec:
      return "exec";
    case RawEventKind::Fork:
      return "fork";
    case RawEventKind::Exit:
      return "exit";
  }
  return "exec";
}

Napi::Object AuditTokenToJs(Napi::Env env, const RawAuditToken& t) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", Napi::Number::New(env, t.pid));
  o.Set("pidversion", Napi::Number::New(env, t.pidversion));
  o.Set("euid", Napi::Number::New(env, t.euid));
  o.Set("ruid", Napi::Number::New(env, t.ruid));
  o.Set("egid", Napi::Number::New(env, t.egid));
  o.Set("rgid", Napi::Number::New(env, t.rgid));
  o.Set("auid", Napi::Number::New(env, t.auid));
  o.Set("asid", Napi::Number::New(env, t.asid));
  return o;
}

Napi::Array TextListToJs(Napi::Env env, const std::vector<std::string>& list) {
  Napi::Array arr = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); i++) arr.Set(static_cast<uint32_t>(i), RawTextToJs(env, list[i]));
  return arr;
}

template <typename T>
void SetNumber(Napi::Env env, Napi::Object& o, const char* key, const std::optional<T>& v) {
  if (v.has_value()) o.Set(key, Napi::Number::New(env, static_cast<double>(*v)));
}

void SetText(Napi::Env env, Napi::Object& o, const char* key, const std::optional<std::string>& v) {
  if (v.has_value()) o.Set(key, RawTextToJs(env, *v));
}

}  // namespace

Napi::Object RawEventToJs(Napi::Env env, const RawEvent& ev) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("source", Napi::String::New(env, ev.source));
  o.Set("kind", Napi::String::New(env, KindName(ev.kind)));
  o.Set("seq", Napi::Number::New(env, static_cast<double>(ev.seq)));
  o.Set("time", Napi::Number::New(env, ev.time_ms));
  SetNumber(env, o, "kernelTime", ev.kernel_time_ms);
  o.Set("pid", Napi::Number::New(env, ev.pid));
  SetNumber(env, o, "ppid", ev.ppid);
  SetNumber(env, o, "originalPpid", ev.original_ppid);
  SetNumber(env, o, "pgid", ev.pgid);
  SetNumber(env, o, "sid", ev.sid);
  SetNumber(env, o, "uid", ev.uid);
  SetNumber(env, o, "euid", ev.euid);
  SetNumber(env, o, "gid", ev.gid);
  SetNumber(env, o, "egid", ev.egid);

  SetText(env, o, "executable", ev.executable);
  if (ev.executable_truncated) o.Set("executableTruncated", Napi::Boolean::New(env, true));
  if (ev.args.has_value()) o.Set("args", TextListToJs(env, *ev.args));
  if (ev.args_truncated) o.Set("argsTruncated", Napi::Boolean::New(env, true));
  if (!ev.env.empty()) o.Set("env", TextListToJs(env, ev.env));
  SetText(env, o, "cwd", ev.cwd);
  SetText(env, o, "tty", ev.tty);
  SetText(env, o, "script", ev.script);
  SetNumber(env, o, "startTime", ev.start_time_ms);
  SetNumber(env, o, "exitStatus", ev.exit_status);

  if (ev.code_signature.has_value()) {
    const RawCodeSignature& cs = *ev.code_signature;
    Napi::Object c = Napi::Object::New(env);
    if (!cs.signing_id.empty()) c.Set("signingId", Napi::String::New(env, cs.signing_id));
    if (!cs.team_id.empty()) c.Set("teamId", Napi::String::New(env, cs.team_id));
    if (!cs.cdhash_hex.empty()) c.Set("cdhash", Napi::String::New(env, cs.cdhash_hex));
    c.Set("flags", Napi::Number::New(env, cs.flags));
    c.Set("platformBinary", Napi::Boolean::New(env, cs.platform_binary));
    o.Set("codeSignature", c);
  }
  if (ev.audit_token.has_value()) o.Set("auditToken", AuditTokenToJs(env, *ev.audit_token));
  if (ev.parent_audit_token.has_value()) o.Set("parentAuditToken", AuditTokenToJs(env, *ev.parent_audit_token));
  if (ev.responsible_audit_token.has_value()) {
    o.Set("responsibleAuditToken", AuditTokenToJs(env, *ev.responsible_audit_token));
  }
  SetNumber(env, o, "messageVersion", ev.message_version);

  if (!ev.partial.empty()) o.Set("partial", Napi::String::New(env, ev.partial));
  if (ev.auth.has_value()) {
    Napi::Object a = Napi::Object::New(env);
    a.Set("id", Napi::Number::New(env, static_cast<double>(ev.auth->id)));
    a.Set("deadlineMs", Napi::Number::New(env, ev.auth->deadline_ms));
    o.Set("auth", a);
  }
  return o;
}

}  // namespace macsensor
