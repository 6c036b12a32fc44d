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

constexpr const char* kNames[] = {
#define MACSENSOR_NAME_TEXT(n) #n,
    MACSENSOR_RAW_EVENT_NAMES(MACSENSOR_NAME_TEXT)
#undef MACSENSOR_NAME_TEXT
};
static_assert(sizeof kNames / sizeof kNames[0] == RawEventNames::kCount);

using N = RawEventNames;

Napi::String NameText(Napi::Env env, size_t i) {
  size_t len = std::strlen(kNames[i]);
  if (len > 0 && kNames[i][len - 1] == '_') len--;
  return Napi::String::New(env, kNames[i], len);
}

// Sets obj[name] = value through the C API (no exceptions, no C-string name lookups).
inline void Put(napi_env env, napi_value obj, napi_value name, napi_value value) {
  napi_set_property(env, obj, name, value);
}

inline napi_value Num(napi_env env, double v) {
  napi_value out = nullptr;
  napi_create_double(env, v, &out);
  return out;
}

inline napi_value Bool(napi_env env, bool v) {
  napi_value out = nullptr;
  napi_get_boolean(env, v, &out);
  return out;
}

napi_value KindValue(const RawEventNames& names, RawEventKind kind) {
  switch (kind) {
    case RawEventKind::Exec:
      return names[N::exec];
    case RawEventKind::Fork:
      return names[N::fork];
    case RawEventKind::Exit:
      return names[N::exit];
    case RawEventKind::Open:
      return names[N::open];
    case RawEventKind::Create:
      return names[N::create];
    case RawEventKind::Modify:
      return names[N::modify];
    case RawEventKind::Rename:
      return names[N::rename];
    case RawEventKind::Delete:
      return names[N::delete_];
  }
  return names[N::exec];
}

napi_value SourceValue(Napi::Env env, const RawEventNames& names, const char* source) {
  if (std::strcmp(source, "linux") == 0) return names[N::linux];
  if (std::strcmp(source, "es") == 0) return names[N::es];
  if (std::strcmp(source, "eslogger") == 0) return names[N::eslogger];
  return Napi::String::New(env, source);
}

napi_value AuditTokenToJs(Napi::Env env, const RawEventNames& names, const RawAuditToken& t) {
  Napi::Object o = Napi::Object::New(env);
  Put(env, o, names[N::pid], Num(env, t.pid));
  Put(env, o, names[N::pidversion], Num(env, t.pidversion));
  Put(env, o, names[N::euid], Num(env, t.euid));
  Put(env, o, names[N::ruid], Num(env, t.ruid));
  Put(env, o, names[N::egid], Num(env, t.egid));
  Put(env, o, names[N::rgid], Num(env, t.rgid));
  Put(env, o, names[N::auid], Num(env, t.auid));
  Put(env, o, names[N::asid], Num(env, t.asid));
  return o;
}

napi_value TextListToJs(Napi::Env env, const std::vector<std::string>& list) {
  Napi::Array arr = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); i++) napi_set_element(env, arr, static_cast<uint32_t>(i), RawTextToJs(env, list[i]));
  return arr;
}

template <typename T>
void SetNumber(Napi::Env env, napi_value o, napi_value name, const std::optional<T>& v) {
  if (v.has_value()) Put(env, o, name, Num(env, static_cast<double>(*v)));
}

void SetText(Napi::Env env, napi_value o, napi_value name, const std::optional<std::string>& v) {
  if (v.has_value()) Put(env, o, name, RawTextToJs(env, *v));
}

}  // namespace

Napi::ObjectReference RawEventNames::MakeHolder(Napi::Env env) {
  Napi::Array arr = Napi::Array::New(env, kCount);
  for (size_t i = 0; i < kCount; i++) arr.Set(static_cast<uint32_t>(i), NameText(env, i));
  return Napi::Persistent(static_cast<Napi::Object>(arr));
}

RawEventNames::RawEventNames(Napi::Env env, const Napi::ObjectReference& holder) {
  napi_value arr = holder.Value();
  for (size_t i = 0; i < kCount; i++) napi_get_element(env, arr, static_cast<uint32_t>(i), &values_[i]);
}

RawEventNames::RawEventNames(Napi::Env env) {
  for (size_t i = 0; i < kCount; i++) values_[i] = NameText(env, i);
}

Napi::Object RawEventToJs(Napi::Env env, const RawEvent& ev) { return RawEventToJs(env, ev, RawEventNames(env)); }

Napi::Object RawEventToJs(Napi::Env env, const RawEvent& ev, const RawEventNames& names) {
  Napi::Object o = Napi::Object::New(env);
  Put(env, o, names[N::source], SourceValue(env, names, ev.source));
  Put(env, o, names[N::kind], KindValue(names, ev.kind));
  Put(env, o, names[N::seq], Num(env, static_cast<double>(ev.seq)));
  Put(env, o, names[N::time], Num(env, ev.time_ms));
  SetNumber(env, o, names[N::kernelTime], ev.kernel_time_ms);
  Put(env, o, names[N::pid], Num(env, ev.pid));
  SetNumber(env, o, names[N::ppid], ev.ppid);
  SetNumber(env, o, names[N::originalPpid], ev.original_ppid);
  SetNumber(env, o, names[N::pgid], ev.pgid);
  SetNumber(env, o, names[N::sid], ev.sid);
  SetNumber(env, o, names[N::uid], ev.uid);
  SetNumber(env, o, names[N::euid], ev.euid);
  SetNumber(env, o, names[N::gid], ev.gid);
  SetNumber(env, o, names[N::egid], ev.egid);

  SetText(env, o, names[N::executable], ev.executable);
  if (ev.executable_truncated) Put(env, o, names[N::executableTruncated], Bool(env, true));
  if (ev.args.has_value()) Put(env, o, names[N::args], TextListToJs(env, *ev.args));
  if (ev.args_truncated) Put(env, o, names[N::argsTruncated], Bool(env, true));
  if (!ev.env.empty()) Put(env, o, names[N::env], TextListToJs(env, ev.env));
  SetText(env, o, names[N::cwd], ev.cwd);
  SetText(env, o, names[N::tty], ev.tty);
  SetText(env, o, names[N::script], ev.script);
  SetNumber(env, o, names[N::startTime], ev.start_time_ms);
  SetNumber(env, o, names[N::exitStatus], ev.exit_status);

  if (ev.code_signature.has_value()) {
    const RawCodeSignature& cs = *ev.code_signature;
    Napi::Object c = Napi::Object::New(env);
    if (!cs.signing_id.empty()) Put(env, c, names[N::signingId], Napi::String::New(env, cs.signing_id));
    if (!cs.team_id.empty()) Put(env, c, names[N::teamId], Napi::String::New(env, cs.team_id));
    if (!cs.cdhash_hex.empty()) Put(env, c, names[N::cdhash], Napi::String::New(env, cs.cdhash_hex));
    Put(env, c, names[N::flags], Num(env, cs.flags));
    Put(env, c, names[N::platformBinary], Bool(env, cs.platform_binary));
    Put(env, o, names[N::codeSignature], c);
  }
  if (ev.audit_token.has_value()) Put(env, o, names[N::auditToken], AuditTokenToJs(env, names, *ev.audit_token));
  if (ev.parent_audit_token.has_value()) {
    Put(env, o, names[N::parentAuditToken], AuditTokenToJs(env, names, *ev.parent_audit_token));
  }
  if (ev.responsible_audit_token.has_value()) {
    Put(env, o, names[N::responsibleAuditToken], AuditTokenToJs(env, names, *ev.responsible_audit_token));
  }
  SetNumber(env, o, names[N::messageVersion], ev.message_version);

  if (ev.file.has_value()) {
    const RawFile& f = *ev.file;
    Napi::Object fo = Napi::Object::New(env);
    Put(env, fo, names[N::path], RawTextToJs(env, f.path));
    if (f.path_truncated) Put(env, fo, names[N::pathTruncated], Bool(env, true));
    SetText(env, fo, names[N::originalPath], f.original_path);
    if (f.original_path_truncated) Put(env, fo, names[N::originalPathTruncated], Bool(env, true));
    SetNumber(env, fo, names[N::openFlags], f.open_flags);
    Put(env, o, names[N::file], fo);
  }
  if (!ev.partial.empty()) Put(env, o, names[N::partial], Napi::String::New(env, ev.partial));
  if (ev.auth.has_value()) {
    Napi::Object a = Napi::Object::New(env);
    Put(env, a, names[N::id], Num(env, static_cast<double>(ev.auth->id)));
    Put(env, a, names[N::deadlineMs], Num(env, ev.auth->deadline_ms));
    Put(env, o, names[N::auth], a);
  }
  return o;
}

}  // namespace macsensor
