#include "fanotify_reader.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string_view>

namespace macsensor::linux_fan {

namespace {

// Older userspace headers lack these (kernel 5.17+).
#ifndef FAN_RENAME
#define FAN_RENAME 0x10000000
#endif
#ifndef FAN_EVENT_INFO_TYPE_OLD_DFID_NAME
#define FAN_EVENT_INFO_TYPE_OLD_DFID_NAME 10
#define FAN_EVENT_INFO_TYPE_NEW_DFID_NAME 12
#endif

constexpr size_t kReadBuffer = 256 * 1024;
constexpr size_t kRememberedExpired = 65536;

using linux_clock::MonotonicNs;
using linux_clock::RealtimeMs;

bool ReadLink(const std::string& link, std::string* out) {
  char buf[PATH_MAX + 1];
  ssize_t n = readlink(link.c_str(), buf, sizeof(buf));
  if (n < 0) return false;
  out->assign(buf, static_cast<size_t>(n));
  return static_cast<size_t>(n) < sizeof(buf);
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

FanotifyReader::FanotifyReader(Sink sink, FanotifyOptions options)
    : sink_(std::move(sink)), options_(std::move(options)), self_pid_(getpid()) {}

FanotifyReader::~FanotifyReader() { Stop(); }

uint64_t FanotifyReader::NameMask(uint32_t kinds) const {
  uint64_t mask = 0;
  if (kinds & KindBit(RawEventKind::Open)) mask |= FAN_OPEN;
  if (kinds & KindBit(RawEventKind::Create)) mask |= FAN_CREATE;
  if (kinds & KindBit(RawEventKind::Modify)) mask |= FAN_CLOSE_WRITE;
  if (kinds & KindBit(RawEventKind::Rename)) mask |= FAN_RENAME;
  if (kinds & KindBit(RawEventKind::Delete)) mask |= FAN_DELETE;
  return mask;
}

std::string FanotifyReader::Start() {
  if (geteuid() != 0) return "fanotify needs root (CAP_SYS_ADMIN)";
  name_fd_ = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME,
                           O_RDONLY | O_LARGEFILE | O_CLOEXEC);
  if (name_fd_ < 0) {
    std::string e = Errno("fanotify_init (FAN_REPORT_DFID_NAME; needs Linux 5.9+)");
    CloseFds();
    return e;
  }
  open_fd_ = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_LARGEFILE | O_CLOEXEC);
  if (open_fd_ < 0) {
    std::string e = Errno("fanotify_init (FAN_CLASS_CONTENT)");
    CloseFds();
    return e;
  }
  for (const std::string& root : options_.roots) {
    int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      std::string e = Errno("fanotify root " + root);
      CloseFds();
      return e;
    }
    root_fds_.push_back(fd);
  }
  for (const std::string& guard : options_.guard_paths) {
    struct stat st{};
    if (guard.empty() || guard[0] != '/') {
      CloseFds();
      return "guarded path must be absolute: " + guard;
    }
    if (stat(guard.c_str(), &st) != 0) {
      std::string e = Errno("guarded path " + guard);
      CloseFds();
      return e;
    }
    const bool dir = S_ISDIR(st.st_mode);
    (dir ? guard_dirs_ : guard_files_).push_back(guard);
    uint64_t mask = FAN_OPEN_PERM | (dir ? FAN_EVENT_ON_CHILD : 0);
    if (fanotify_mark(open_fd_, FAN_MARK_ADD, mask, AT_FDCWD, guard.c_str()) != 0) {
      std::string e = Errno("fanotify_mark FAN_OPEN_PERM " + guard);
      CloseFds();
      return e;
    }
  }
  std::string e = SetKinds(options_.kinds);
  if (!e.empty()) {
    CloseFds();
    return e;
  }
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) {
    std::string err = Errno("eventfd");
    CloseFds();
    return err;
  }
  thread_ = std::thread([this] { Run(); });
  return "";
}

std::string FanotifyReader::SetKinds(uint32_t kinds) {
  std::lock_guard<std::mutex> lock(mu_);
  if (name_fd_ < 0 || stopped_) return "";
  const uint64_t old_name = NameMask(kinds_), new_name = NameMask(kinds);
  auto mark = [](int group, unsigned flags, uint64_t mask, const std::string& root) -> std::string {
    if (mask == 0) return "";
    if (fanotify_mark(group, flags | FAN_MARK_FILESYSTEM, mask, AT_FDCWD, root.c_str()) == 0) return "";
    if ((flags & FAN_MARK_REMOVE) && errno == ENOENT) return "";
    return Errno("fanotify_mark FAN_MARK_FILESYSTEM " + root);
  };
  for (const std::string& root : options_.roots) {
    std::string e = mark(name_fd_, FAN_MARK_ADD, new_name & ~old_name, root);
    if (e.empty()) e = mark(name_fd_, FAN_MARK_REMOVE, old_name & ~new_name, root);
    if (!e.empty()) return e;
  }
  kinds_ = kinds;
  return "";
}

void FanotifyReader::Stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    ssize_t ignored = write(stop_fd_, &one, sizeof(one));
    (void)ignored;
    thread_.join();
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;
  stopped_ = true;
  for (auto& [id, p] : pending_) {
    AnswerFd(p.fd, true);
    stats_.auth_answered_native++;
    expired_.insert(id);
  }
  pending_.clear();
  CloseFds();
}

void FanotifyReader::CloseFds() {
  for (int* fd : {&name_fd_, &open_fd_, &stop_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  for (int fd : root_fds_) close(fd);
  root_fds_.clear();
}

// Caller holds mu_ (or owns the fd alone). Writes the answer and closes the event's fd.
void FanotifyReader::AnswerFd(int fd, bool allow) {
  fanotify_response r{};
  r.fd = fd;
  r.response = allow ? FAN_ALLOW : FAN_DENY;
  if (open_fd_ >= 0) {
    ssize_t n = write(open_fd_, &r, sizeof(r));
    (void)n;  // the only failure is an fd the kernel no longer waits on
  }
  if (!allow) stats_.auth_denied++;
  close(fd);
}

RespondStatus FanotifyReader::Respond(uint64_t id, bool allow) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    if (expired_.count(id) != 0) {
      stats_.auth_late++;
      return RespondStatus::Late;
    }
    return RespondStatus::Unknown;
  }
  AnswerFd(it->second.fd, allow);
  pending_.erase(it);
  stats_.auth_answered_js++;
  expired_.insert(id);  // a second answer is late, not unknown
  if (expired_.size() > kRememberedExpired) expired_.clear();
  return RespondStatus::Answered;
}

FanotifyStats FanotifyReader::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::string FanotifyReader::LastError() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

bool FanotifyReader::Guarded(const std::string& path, const uint64_t* fsid) const {
  for (const std::string& f : guard_files_) {
    if (path == f) return true;
  }
  // A directory mark (FAN_EVENT_ON_CHILD) sees its children's opens, not deeper ones: a deeper open is not held, and
  // its notification must not be taken for one reported with an auth request.
  const size_t slash = path.rfind('/');
  const std::string parent = slash == 0 ? "/" : (slash == std::string::npos ? std::string() : path.substr(0, slash));
  for (const std::string& d : guard_dirs_) {
    if (parent == d) return true;
  }
  if (!has_derived_.load(std::memory_order_acquire)) return false;
  std::shared_ptr<const GuardState> g;
  {
    std::lock_guard<std::mutex> lock(mu_);
    g = guards_;
  }
  if (!g || !g->filter.has_value() || !g->filter->IsCandidate(path, false)) return false;
  if (fsid == nullptr) return true;
  // A notification: was the open also seen by a permission mark (and so reported with its auth request)?
  for (const std::string& d : g->dirs) {
    if (parent == d) return true;
  }
  for (uint64_t id : g->fsids) {
    if (*fsid == id) return true;
  }
  return false;
}

std::vector<std::string> FanotifyReader::SetGuards(DerivedGuards guards) {
  std::vector<std::string> problems;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (open_fd_ < 0 || stopped_) return problems;
  }
  auto next = std::make_shared<GuardState>();
  next->filter = std::move(guards.filter);
  for (const std::string& dir : guards.dirs) {
    if (fanotify_mark(open_fd_, FAN_MARK_ADD | FAN_MARK_ONLYDIR, FAN_OPEN_PERM | FAN_EVENT_ON_CHILD, AT_FDCWD,
                      dir.c_str()) != 0) {
      problems.push_back(Errno("fanotify_mark FAN_OPEN_PERM " + dir));
      continue;
    }
    next->dirs.push_back(dir);
  }
  for (const std::string& fs : guards.filesystems) {
    struct statfs sfs{};
    if (statfs(fs.c_str(), &sfs) != 0 ||
        fanotify_mark(open_fd_, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_PERM, AT_FDCWD, fs.c_str()) != 0) {
      problems.push_back(Errno("fanotify_mark FAN_MARK_FILESYSTEM FAN_OPEN_PERM " + fs));
      continue;
    }
    uint64_t id = 0;
    static_assert(sizeof(sfs.f_fsid) == sizeof(id), "fsid is 64 bits");
    std::memcpy(&id, &sfs.f_fsid, sizeof(id));
    next->filesystems.push_back(fs);
    next->fsids.push_back(id);
  }
  std::shared_ptr<const GuardState> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old = std::move(guards_);
    guards_ = next;
    has_derived_.store(next->filter.has_value(), std::memory_order_release);
  }
  if (!old) return problems;
  auto contains = [](const auto& list, const auto& item) {
    for (const auto& x : list) {
      if (x == item) return true;
    }
    return false;
  };
  for (const std::string& dir : old->dirs) {
    if (contains(next->dirs, dir) || contains(guard_dirs_, dir)) continue;
    fanotify_mark(open_fd_, FAN_MARK_REMOVE, FAN_OPEN_PERM | FAN_EVENT_ON_CHILD, AT_FDCWD, dir.c_str());
  }
  for (size_t i = 0; i < old->filesystems.size(); i++) {
    // Several paths may name one filesystem: its mark goes only when none of the new ones is on it.
    if (contains(next->fsids, old->fsids[i])) continue;
    fanotify_mark(open_fd_, FAN_MARK_REMOVE | FAN_MARK_FILESYSTEM, FAN_OPEN_PERM, AT_FDCWD, old->filesystems[i].c_str());
  }
  return problems;
}

void FanotifyReader::Run() {
  pthread_setname_np(pthread_self(), "macsensor-fan");  // so that its CPU can be told apart in /proc/<pid>/task
  std::vector<char> buf(kReadBuffer);
  // The name group is read at most every read_interval_ms while events keep coming: each read then takes a few
  // hundred events at once rather than one or two, which spares wake-ups and lets the per-buffer caches hit. An
  // event after a quiet spell is read at once; none waits longer than the interval. Permission events (the other
  // group) are never held.
  const uint64_t interval_ns = static_cast<uint64_t>(options_.read_interval_ms) * 1000000ull;
  uint64_t name_read_at = 0;  // MonoNs of the last read of the name group
  for (;;) {
    int timeout_ms = -1;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!pending_.empty()) {
        uint64_t earliest = UINT64_MAX;
        for (const auto& [id, p] : pending_) earliest = std::min(earliest, p.deadline_mono_ns);
        uint64_t now = MonotonicNs();
        timeout_ms = earliest <= now ? 0 : static_cast<int>((earliest - now + 999999) / 1000000);
      }
    }
    const uint64_t now = MonotonicNs();
    const bool name_due = now - name_read_at >= interval_ns;
    if (!name_due) {
      const int wait_ms = static_cast<int>((name_read_at + interval_ns - now + 999999) / 1000000);
      timeout_ms = timeout_ms < 0 ? wait_ms : std::min(timeout_ms, wait_ms);
    }
    // poll skips a negative fd: the name group is left to fill until it is due.
    pollfd fds[3] = {{open_fd_, POLLIN, 0}, {name_due ? name_fd_ : -1, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int n = poll(fds, 3, timeout_ms);
    if (n < 0 && errno != EINTR) {
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = Errno("poll");
      return;
    }
    if (n > 0 && (fds[2].revents & POLLIN)) {
      // What the kernel queued before the stop, held back by the read interval, is still reported.
      ReadNameGroup(buf.data(), buf.size());
      return;
    }
    // Permission events first: a process waits on each.
    if (n > 0 && (fds[0].revents & POLLIN)) ReadOpenGroup(buf.data(), buf.size());
    if (n > 0 && (fds[1].revents & POLLIN)) {
      name_read_at = MonotonicNs();
      ReadNameGroup(buf.data(), buf.size());
    }
    ExpirePending();
  }
}

void FanotifyReader::ExpirePending() {
  std::lock_guard<std::mutex> lock(mu_);
  if (pending_.empty()) return;
  uint64_t now = MonotonicNs();
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadline_mono_ns <= now) {
      AnswerFd(it->second.fd, !options_.deny_on_timeout);
      stats_.auth_answered_watchdog++;
      expired_.insert(it->first);
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  if (expired_.size() > kRememberedExpired) expired_.clear();
}

void FanotifyReader::FillCommon(RawEvent& ev, RawEventKind kind, int32_t pid) {
  ev.source = "linux";
  ev.kind = kind;
  ev.time_ms = RealtimeMs();
  ev.pid = pid;
  if (exe_cache_.pid != pid) {
    exe_cache_.pid = pid;
    exe_cache_.ok = ReadLink("/proc/" + std::to_string(pid) + "/exe", &exe_cache_.exe);
  }
  if (exe_cache_.ok) {
    ev.executable = exe_cache_.exe;
  } else {
    ev.partial = "executable";
  }
}

void FanotifyReader::SetPathFilter(std::optional<FilePrefilter> filter) {
  std::lock_guard<std::mutex> lock(mu_);
  path_filter_ = std::move(filter);
}

bool FanotifyReader::PassesPathFilter(const std::string& path, const std::string* original, uint64_t events) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!path_filter_.has_value() || path_filter_->IsCandidate(path, false) ||
      (original != nullptr && path_filter_->IsCandidate(*original, false))) {
    return true;
  }
  // Before the sequence number: a filtered event is not a lost one.
  stats_.path_filtered += events;
  return false;
}

void FanotifyReader::Emit(RawEvent&& ev) {
  ev.seq = ++seq_;
  const bool partial = !ev.partial.empty();
  const bool auth = ev.auth.has_value();
  const uint64_t auth_id = auth ? ev.auth->id : 0;
  const bool ok = sink_(std::move(ev));
  std::lock_guard<std::mutex> lock(mu_);
  stats_.last_seq = seq_;
  if (partial) stats_.unresolved++;
  if (!ok) stats_.queue_dropped++;
  if (auth && !ok) {
    // Nobody will answer it: do it now, as the fail mode says.
    auto it = pending_.find(auth_id);
    if (it != pending_.end()) {
      AnswerFd(it->second.fd, !options_.deny_on_timeout);
      stats_.auth_answered_native++;
      expired_.insert(auth_id);
      pending_.erase(it);
    }
  }
}

void FanotifyReader::ReadOpenGroup(char* buf, size_t cap) {
  for (;;) {
    ssize_t len = read(open_fd_, buf, cap);
    if (len <= 0) return;  // EAGAIN: drained
    ForgetCaches();
    auto* meta = reinterpret_cast<const fanotify_event_metadata*>(buf);
    for (; FAN_EVENT_OK(meta, len); meta = FAN_EVENT_NEXT(meta, len)) {
      if (meta->vers != FANOTIFY_METADATA_VERSION) continue;
      HandleOpenEvent(meta);
    }
  }
}

void FanotifyReader::HandleOpenEvent(const void* raw) {
  const auto* meta = static_cast<const fanotify_event_metadata*>(raw);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.received++;
    if (meta->mask & FAN_Q_OVERFLOW) stats_.kernel_overflows++;
  }
  if (meta->fd < 0) return;
  const bool perm = (meta->mask & FAN_OPEN_PERM) != 0;
  const int32_t pid = meta->pid;
  if (Ignored(pid)) {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.ignored++;
    if (perm) {
      stats_.perm_allowed_native++;
      AnswerFd(meta->fd, true);
    } else {
      close(meta->fd);
    }
    return;
  }
  std::string path;
  const bool resolved = ReadLink("/proc/self/fd/" + std::to_string(meta->fd), &path);
  const bool guarded = resolved && Guarded(path);
  if (!perm) {  // this group marks nothing else
    close(meta->fd);
    return;
  }
  if (!guarded) {
    // An unreadable path cannot be guarded: the marks are on guarded inodes, so this is a sibling.
    std::lock_guard<std::mutex> lock(mu_);
    stats_.perm_allowed_native++;
    AnswerFd(meta->fd, true);
    return;
  }
  RawEvent ev;
  FillCommon(ev, RawEventKind::Open, pid);
  RawFile file;
  file.path = std::move(path);
  ev.file = std::move(file);
  {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t id = next_auth_id_++;
    const uint64_t budget_ns = static_cast<uint64_t>(options_.auth_budget_ms) * 1000000ull;
    pending_[id] = Pending{meta->fd, MonotonicNs() + budget_ns};
    stats_.auth_requests++;
    ev.auth = RawAuthRequest{id, RealtimeMs() + options_.auth_budget_ms};
  }
  Emit(std::move(ev));
}

void FanotifyReader::ReadNameGroup(char* buf, size_t cap) {
  for (;;) {
    ssize_t len = read(name_fd_, buf, cap);
    if (len <= 0) return;
    ForgetCaches();
    auto* meta = reinterpret_cast<const fanotify_event_metadata*>(buf);
    for (; FAN_EVENT_OK(meta, len); meta = FAN_EVENT_NEXT(meta, len)) {
      if (meta->vers != FANOTIFY_METADATA_VERSION) continue;
      HandleNameEvent(meta, meta->event_len);
    }
  }
}

// The directory of a DFID_NAME record as a path, and the name after its handle.
std::string FanotifyReader::DirPath(const void* info, std::string* name_out) {
  const auto* fid = static_cast<const fanotify_event_info_fid*>(info);
  auto* handle = reinterpret_cast<file_handle*>(const_cast<unsigned char*>(fid->handle));
  const char* name = reinterpret_cast<const char*>(handle->f_handle + handle->handle_bytes);
  const size_t name_max = fid->hdr.len - (static_cast<size_t>(name - static_cast<const char*>(info)));
  name_out->assign(name, strnlen(name, name_max));
  // fsid and the handle lie next to each other in the record: the cache key, without a copy.
  static_assert(offsetof(fanotify_event_info_fid, handle) ==
                offsetof(fanotify_event_info_fid, fsid) + sizeof(fanotify_event_info_fid::fsid));
  const std::string_view key(reinterpret_cast<const char*>(&fid->fsid),
                             sizeof(fid->fsid) + sizeof(file_handle) + handle->handle_bytes);
  for (size_t i = 0; i < dir_cache_used_; i++) {
    if (dir_cache_[i].handle == key) return dir_cache_[i].path;
  }
  for (int root : root_fds_) {
    int fd = open_by_handle_at(root, handle, O_PATH | O_CLOEXEC);
    if (fd < 0) continue;  // another filesystem's handle (EXDEV), or gone (ESTALE)
    std::string path;
    bool ok = ReadLink("/proc/self/fd/" + std::to_string(fd), &path);
    close(fd);
    if (ok) {
      DirSlot& slot = dir_cache_used_ < kDirCacheSlots ? dir_cache_[dir_cache_used_++]
                                                       : dir_cache_[dir_cache_next_++ % kDirCacheSlots];
      slot.handle.assign(key);
      slot.path = path;
      return path;
    }
  }
  return "";
}

void FanotifyReader::HandleNameEvent(const void* raw, size_t len) {
  const auto* meta = static_cast<const fanotify_event_metadata*>(raw);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.received++;
    if (meta->mask & FAN_Q_OVERFLOW) {
      stats_.kernel_overflows++;
      return;
    }
    if (Ignored(meta->pid)) {
      stats_.ignored++;
      return;
    }
  }
  std::string path, old_path;
  bool have_path = false, have_old = false;
  uint64_t fsid = 0;
  const char* p = static_cast<const char*>(raw) + meta->metadata_len;
  const char* end = static_cast<const char*>(raw) + len;
  while (p + sizeof(fanotify_event_info_header) <= end) {
    const auto* hdr = reinterpret_cast<const fanotify_event_info_header*>(p);
    if (hdr->len < sizeof(fanotify_event_info_header) || p + hdr->len > end) break;
    const uint8_t type = hdr->info_type;
    if (type == FAN_EVENT_INFO_TYPE_DFID_NAME || type == FAN_EVENT_INFO_TYPE_OLD_DFID_NAME ||
        type == FAN_EVENT_INFO_TYPE_NEW_DFID_NAME) {
      std::string name;
      std::string dir = DirPath(p, &name);
      std::string full;
      bool ok = !dir.empty();
      if (ok) full = dir == "/" ? "/" + name : dir + "/" + name;
      if (type == FAN_EVENT_INFO_TYPE_OLD_DFID_NAME) {
        old_path = std::move(full);
        have_old = ok;
      } else {
        path = std::move(full);
        have_path = ok;
        std::memcpy(&fsid, &reinterpret_cast<const fanotify_event_info_fid*>(p)->fsid, sizeof(fsid));
      }
    }
    p += hdr->len;
  }
  // Events on one name not yet read are merged into one mask: report them in the order they can happen.
  // An open of a guarded file was reported by its permission event (with the auth request) already.
  const bool open = (meta->mask & FAN_OPEN) && !(have_path && Guarded(path, &fsid));
  const uint64_t mask = meta->mask & (FAN_CREATE | FAN_CLOSE_WRITE | FAN_RENAME | FAN_DELETE);
  const uint64_t events = static_cast<uint64_t>(__builtin_popcountll(mask)) + (open ? 1 : 0);
  if (events == 0) return;
  // Before anything is read from /proc: most file events match no rule.
  const bool rename = (meta->mask & FAN_RENAME) != 0;
  if (!PassesPathFilter(path, rename ? &old_path : nullptr, events)) return;
  auto emit = [&](RawEventKind kind) {
    RawEvent ev;
    FillCommon(ev, kind, meta->pid);
    RawFile file;
    file.path = path;
    if (!have_path) ev.partial = ev.partial.empty() ? "path" : ev.partial + ",path";
    if (kind == RawEventKind::Rename) {
      file.original_path = old_path;
      if (!have_old) ev.partial = ev.partial.empty() ? "originalPath" : ev.partial + ",originalPath";
    }
    ev.file = std::move(file);
    Emit(std::move(ev));
  };
  if (meta->mask & FAN_CREATE) emit(RawEventKind::Create);
  if (open) emit(RawEventKind::Open);
  if (meta->mask & FAN_CLOSE_WRITE) emit(RawEventKind::Modify);
  if (rename) emit(RawEventKind::Rename);
  if (meta->mask & FAN_DELETE) emit(RawEventKind::Delete);
}

}  // namespace macsensor::linux_fan
