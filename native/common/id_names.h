// uid / gid → user / group name, looked up off the JavaScript thread.
//
// getpwuid_r / getgrgid_r may take long: on macOS they go through opendirectoryd (a directory user such as 501 is
// not in /etc/passwd; a network directory can stall for seconds), on Linux through NSS (LDAP, sssd). Called on the
// JavaScript thread while an AUTH exec waits for that thread, a slow lookup eats the exec's deadline; called from
// the ES handler it would stall every message behind it. So every lookup runs on the resolver's own thread (not
// libuv's pool: a stalled directory must not hold up the alert log's file writes), and answers go back in batches.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace macsensor {

enum class IdKind : uint8_t { User, Group };

struct IdName {
  IdKind kind = IdKind::User;
  uint32_t id = 0;
  std::optional<std::string> name;  // nullopt: no such user / group (or the lookup failed)
};

// The name of one id, looked up now (blocking; the resolver thread's job). getpwuid_r / getgrgid_r with a buffer
// grown on ERANGE.
std::optional<std::string> LookUpIdName(IdKind kind, uint32_t id);

class IdNameResolver {
 public:
  // Called on the resolver thread with every answer of one batch of lookups.
  using Deliver = std::function<void(std::vector<IdName>&&)>;
  using LookUp = std::function<std::optional<std::string>(IdKind, uint32_t)>;

  explicit IdNameResolver(Deliver deliver, LookUp look_up = LookUpIdName);
  ~IdNameResolver();  // Stop()
  IdNameResolver(const IdNameResolver&) = delete;
  IdNameResolver& operator=(const IdNameResolver&) = delete;

  // Any thread; never waits for a lookup. Requests after Stop are ignored.
  void Request(IdKind kind, uint32_t id);
  // Joins the thread; a lookup in progress is finished first, queued ones are dropped. Idempotent.
  void Stop();

 private:
  void Run();

  Deliver deliver_;
  LookUp look_up_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<IdKind, uint32_t>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace macsensor
