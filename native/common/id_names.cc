#include "id_names.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>

namespace macsensor {
namespace {

constexpr size_t kMaxBuffer = 1 << 20;

size_t InitialBuffer(int name) {
  long n = sysconf(name);
  return n > 0 && static_cast<size_t>(n) <= kMaxBuffer ? static_cast<size_t>(n) : 4096;
}

}  // namespace

std::optional<std::string> LookUpIdName(IdKind kind, uint32_t id) {
  std::vector<char> buffer(InitialBuffer(kind == IdKind::User ? _SC_GETPW_R_SIZE_MAX : _SC_GETGR_R_SIZE_MAX));
  for (;;) {
    int err;
    const char* name = nullptr;
    if (kind == IdKind::User) {
      struct passwd pw;
      struct passwd* found = nullptr;
      err = getpwuid_r(static_cast<uid_t>(id), &pw, buffer.data(), buffer.size(), &found);
      if (err == 0 && found != nullptr) name = found->pw_name;
    } else {
      struct group gr;
      struct group* found = nullptr;
      err = getgrgid_r(static_cast<gid_t>(id), &gr, buffer.data(), buffer.size(), &found);
      if (err == 0 && found != nullptr) name = found->gr_name;
    }
    if (err == ERANGE && buffer.size() < kMaxBuffer) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (name == nullptr || *name == '\0') return std::nullopt;
    return std::string(name);
  }
}

IdNameResolver::IdNameResolver(Deliver deliver, LookUp look_up)
    : deliver_(std::move(deliver)), look_up_(std::move(look_up)) {
  thread_ = std::thread([this] { Run(); });
}

IdNameResolver::~IdNameResolver() { Stop(); }

void IdNameResolver::Request(IdKind kind, uint32_t id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    queue_.emplace_back(kind, id);
  }
  cv_.notify_one();
}

void IdNameResolver::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void IdNameResolver::Run() {
  for (;;) {
    std::deque<std::pair<IdKind, uint32_t>> work;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      work.swap(queue_);
    }
    std::vector<IdName> answers;
    answers.reserve(work.size());
    for (const auto& [kind, id] : work) answers.push_back(IdName{kind, id, look_up_(kind, id)});
    deliver_(std::move(answers));
  }
}

}  // namespace macsensor
