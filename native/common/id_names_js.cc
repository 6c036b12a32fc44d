#include "id_names_js.h"

#include <memory>
#include <string>
#include <vector>

#include "id_names.h"

namespace macsensor {
namespace {

void CallJs(Napi::Env env, Napi::Function callback, std::vector<IdName>* answers) {
  std::unique_ptr<std::vector<IdName>> owned(answers);
  if (env == nullptr || callback.IsEmpty()) return;  // tearing down
  Napi::Array out = Napi::Array::New(env, owned->size());
  for (size_t i = 0; i < owned->size(); i++) {
    const IdName& a = (*owned)[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("kind", Napi::String::New(env, a.kind == IdKind::User ? "user" : "group"));
    o.Set("id", Napi::Number::New(env, static_cast<double>(a.id)));
    o.Set("name", a.name ? Napi::Value(Napi::String::New(env, *a.name)) : env.Null());
    out.Set(static_cast<uint32_t>(i), o);
  }
  callback.Call({out});
}

struct ResolverHandle {
  Napi::ThreadSafeFunction tsfn;
  std::unique_ptr<IdNameResolver> resolver;
  bool stopped = false;
  napi_env env = nullptr;
  bool cleanup_hook_pending = false;

  void StopAll() {
    if (stopped) return;
    stopped = true;
    resolver->Stop();  // the thread is joined: no NonBlockingCall after this
    tsfn.Release();
  }

  static void OnEnvTeardown(void* arg) {
    auto* h = static_cast<ResolverHandle*>(arg);
    h->cleanup_hook_pending = false;
    h->StopAll();
  }
};

constexpr napi_type_tag kResolverTag = {0x6d616373656e736fULL, 0x722d69646e616d65ULL};

ResolverHandle* Unwrap(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  bool tagged = false;
  if (info.Length() >= 1 && info[0].IsExternal() &&
      napi_check_object_type_tag(env, info[0], &kResolverTag, &tagged) == napi_ok && tagged) {
    return info[0].As<Napi::External<ResolverHandle>>().Data();
  }
  Napi::TypeError::New(env, std::string(fn) + ": the first argument must be the handle returned by startNameResolver")
      .ThrowAsJavaScriptException();
  return nullptr;
}

Napi::Value StartNameResolver(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(env, "startNameResolver(onNames): onNames must be a function").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto handle = std::make_unique<ResolverHandle>();
  handle->tsfn = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "macsensor.idNames", 0, 1);
  handle->tsfn.Unref(env);
  Napi::ThreadSafeFunction tsfn = handle->tsfn;
  handle->resolver = std::make_unique<IdNameResolver>([tsfn](std::vector<IdName>&& answers) mutable {
    auto* data = new std::vector<IdName>(std::move(answers));
    if (tsfn.NonBlockingCall(data, CallJs) != napi_ok) delete data;
  });
  ResolverHandle* raw = handle.release();
  raw->env = env;
  raw->cleanup_hook_pending = napi_add_env_cleanup_hook(env, &ResolverHandle::OnEnvTeardown, raw) == napi_ok;
  auto external = Napi::External<ResolverHandle>::New(env, raw, [](Napi::Env, ResolverHandle* h) {
    if (h->cleanup_hook_pending) napi_remove_env_cleanup_hook(h->env, &ResolverHandle::OnEnvTeardown, h);
    h->StopAll();
    delete h;
  });
  napi_type_tag_object(env, external, &kResolverTag);
  return external;
}

Napi::Value ResolveName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ResolverHandle* h = Unwrap(info, "resolveName");
  if (h == nullptr) return env.Undefined();
  std::string kind = info.Length() >= 2 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  double id = info.Length() >= 3 && info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
  if ((kind != "user" && kind != "group") || !(id >= 0 && id <= 4294967295.0) ||
      id != static_cast<double>(static_cast<uint32_t>(id))) {
    Napi::TypeError::New(env, "resolveName(handle, kind: \"user\" | \"group\", id: an integer from 0 to 4294967295)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!h->stopped) h->resolver->Request(kind == "user" ? IdKind::User : IdKind::Group, static_cast<uint32_t>(id));
  return env.Undefined();
}

Napi::Value StopNameResolver(const Napi::CallbackInfo& info) {
  ResolverHandle* h = Unwrap(info, "stopNameResolver");
  if (h != nullptr) h->StopAll();
  return info.Env().Undefined();
}

}  // namespace

void RegisterIdNames(Napi::Env env, Napi::Object exports) {
  exports.Set("startNameResolver", Napi::Function::New(env, StartNameResolver, "startNameResolver"));
  exports.Set("resolveName", Napi::Function::New(env, ResolveName, "resolveName"));
  exports.Set("stopNameResolver", Napi::Function::New(env, StopNameResolver, "stopNameResolver"));
}

}  // namespace macsensor
