// File events from fanotify (root only), read on a thread of their own and handed on as RawEvents.
//
// Two fanotify groups, because permission events cannot share a group with FAN_REPORT_*FID reporting:
// - the name group (FAN_REPORT_DFID_NAME, filesystem marks on `roots`): open, create, modify (FAN_CLOSE_WRITE:
//   one event per written file, not one per write()), rename (FAN_RENAME: old and new directory + name) and
//   delete; paths are rebuilt from the directory's file handle (open_by_handle_at) and the name. No event
//   opens a file descriptor, and the directory is resolved once per run of events in it.
// - the permission group (FAN_CLASS_CONTENT, fd reporting, path from the event's fd): FAN_OPEN_PERM inode marks
//   on the guarded paths only (a guarded directory guards its children), and the marks SetGuards derives from
//   the block rules: directory marks (their children) and filesystem marks, each open under them held only when
//   its path passes the guard filter. A permission event for a path outside the guarded ones, or from an ignored pid (the agent's own
//   opens), is allowed at once on the reader thread; a guarded one goes to the consumer with an auth request and
//   is answered by Respond(), or by the reader thread once its budget has passed (the kernel has no deadline: an
//   agent that never answers must not hang the host). Closing the group (process killed) makes the kernel allow
//   whatever is pending.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "prefilter.h"
#include "raw_event.h"

namespace macsensor::linux_fan {

// The file kinds as a mask of 1 << RawEventKind.
constexpr uint32_t KindBit(RawEventKind kind) { return 1u << static_cast<unsigned>(kind); }
constexpr uint32_t kAllFileKinds = KindBit(RawEventKind::Open) | KindBit(RawEventKind::Create) |
                                   KindBit(RawEventKind::Modify) | KindBit(RawEventKind::Rename) |
                                   KindBit(RawEventKind::Delete);

struct FanotifyOptions {
  std::vector<std::string> roots{"/"};     // a path on each filesystem to watch (FAN_MARK_FILESYSTEM)
  uint32_t kinds = kAllFileKinds;          // which file events to report (see SetKinds)
  std::vector<std::string> guard_paths;    // FAN_OPEN_PERM: files, or directories guarding their children
  int auth_budget_ms = 2000;               // answered by the reader thread after this long
  bool deny_on_timeout = false;            // what the reader thread answers then (fail open by default)
  std::unordered_set<int32_t> ignore_pids;  // never reported, their opens always allowed
  // The name group is read at most this often while events keep coming (see kNameReadInterval in the .cc).
  int read_interval_ms = 5;
};

struct FanotifyStats {
  uint64_t received = 0;          // events read from the kernel (both groups, permission events included)
  uint64_t ignored = 0;           // of those, from ignored pids
  uint64_t queue_dropped = 0;     // refused by the sink (queue full)
  uint64_t kernel_overflows = 0;  // FAN_Q_OVERFLOW: the kernel's queue overflowed and dropped events
  uint64_t unresolved = 0;        // events sent with `partial` (path or process could not be read)
  uint64_t last_seq = 0;
  uint64_t perm_allowed_native = 0;  // permission events answered at once: not guarded, or ignored pid
  uint64_t auth_requests = 0;        // permission events handed to the consumer
  uint64_t auth_answered_js = 0;
  uint64_t auth_answered_watchdog = 0;
  uint64_t auth_answered_native = 0;  // queue full, or pending at Stop
  uint64_t auth_late = 0;             // Respond() after the watchdog (or Stop) answered
  uint64_t auth_denied = 0;           // of all answers, denials
  uint64_t path_filtered = 0;         // file events no rule's path condition can match: never queued
};

enum class RespondStatus { Answered, Late, Unknown };

// Opens held for a verdict besides the configured guard_paths (derived from the block rules; see SetGuards).
struct DerivedGuards {
  std::vector<std::string> dirs;         // FAN_OPEN_PERM | FAN_EVENT_ON_CHILD inode marks: their children's opens
  std::vector<std::string> filesystems;  // a path on each filesystem to mark whole (FAN_MARK_FILESYSTEM)
  std::optional<FilePrefilter> filter;   // an open under those marks is held only when its path passes this
};

class FanotifyReader {
 public:
  // Receives each event on the reader thread; returns false when it had to drop it. Must not block.
  using Sink = std::function<bool(RawEvent&&)>;

  FanotifyReader(Sink sink, FanotifyOptions options);
  ~FanotifyReader();
  FanotifyReader(const FanotifyReader&) = delete;
  FanotifyReader& operator=(const FanotifyReader&) = delete;

  // Creates the groups, marks, starts the thread. Empty string on success, else why not.
  std::string Start();
  // Reads what the name group still holds, stops the thread, allows every pending permission event, closes the
  // groups. Idempotent.
  void Stop();

  // Which file kinds to report from now on (a mask of KindBit); marks are added and removed to match, so the
  // kernel sends nothing for the others. Any thread. Returns an error message, or empty.
  std::string SetKinds(uint32_t kinds);

  // File events whose path (and, for a rename, original path) fail `filter` are counted and never queued (no rule
  // can match them, and file events feed nothing else); permission events are never filtered. nullopt: keep all.
  // Any thread.
  void SetPathFilter(std::optional<FilePrefilter> filter);

  // Replaces the derived guards: adds the new marks, then switches the filter, then removes the marks no longer
  // wanted (so no moment leaves a guarded path unmarked). The configured guard_paths stay as they are. Returns
  // one message per mark that could not be added (that directory or filesystem is then not guarded). Any thread.
  std::vector<std::string> SetGuards(DerivedGuards guards);

  // Answers a permission event handed out with auth id `id`. Any thread.
  RespondStatus Respond(uint64_t id, bool allow);

  FanotifyStats Stats() const;
  std::string LastError() const;

 private:
  struct Pending {
    int fd = -1;
    uint64_t deadline_mono_ns = 0;
  };

  void Run();
  void ReadNameGroup(char* buf, size_t cap);
  void ReadOpenGroup(char* buf, size_t cap);
  void HandleNameEvent(const void* meta, size_t len);
  void HandleOpenEvent(const void* meta);
  void ExpirePending();
  struct GuardState {
    std::vector<std::string> dirs, filesystems;
    std::vector<uint64_t> fsids;  // statfs f_fsid of each marked filesystem, as fanotify reports it
    std::optional<FilePrefilter> filter;
  };
  // Whether an open of `path` is held. fsid: the event's filesystem when known (name group), to tell whether a
  // filesystem mark saw it; nullptr: it came as a permission event, so some mark saw it.
  bool Guarded(const std::string& path, const uint64_t* fsid = nullptr) const;
  bool Ignored(int32_t pid) const { return pid == self_pid_ || options_.ignore_pids.count(pid) != 0; }
  void AnswerFd(int fd, bool allow);
  void Emit(RawEvent&& ev);
  void FillCommon(RawEvent& ev, RawEventKind kind, int32_t pid);
  std::string DirPath(const void* fid_info, std::string* name_out);
  uint64_t NameMask(uint32_t kinds) const;
  void CloseFds();

  Sink sink_;
  FanotifyOptions options_;
  int32_t self_pid_ = 0;
  int name_fd_ = -1;
  int open_fd_ = -1;
  int stop_fd_ = -1;
  std::vector<int> root_fds_;  // open_by_handle_at mount fds, one per root
  std::vector<std::string> guard_files_, guard_dirs_;
  std::thread thread_;
  uint64_t seq_ = 0;  // reader thread only
  // Reader thread only, valid for one read() buffer: the last executable and the directories resolved in it. A
  // tar or a build touches many files in a row from one process and a few directories; these spare a readlink,
  // and an open_by_handle_at + readlink + close, per event. Within one buffer they are no staler than a fresh
  // read (every event in it was queued before the buffer was read).
  struct {
    int32_t pid = 0;
    bool ok = false;
    std::string exe;
  } exe_cache_;
  static constexpr size_t kDirCacheSlots = 16;
  struct DirSlot {
    std::string handle;  // fsid + file handle bytes
    std::string path;
  };
  std::array<DirSlot, kDirCacheSlots> dir_cache_;
  size_t dir_cache_used_ = 0;  // slots valid in this buffer
  size_t dir_cache_next_ = 0;  // the slot replaced next once all are used
  void ForgetCaches() {
    exe_cache_.pid = 0;
    dir_cache_used_ = 0;
  }
  // Whether a name-group event for `path` (and a rename's `original`) can match a rule; counts `events` as
  // path_filtered when not.
  bool PassesPathFilter(const std::string& path, const std::string* original, uint64_t events);

  mutable std::mutex mu_;
  uint32_t kinds_ = 0;  // under mu_: what the marks currently ask for
  uint64_t next_auth_id_ = 1;
  std::optional<FilePrefilter> path_filter_;  // under mu_
  std::shared_ptr<const GuardState> guards_;  // under mu_ (the pointer; the state is immutable)
  std::atomic<bool> has_derived_{false};      // guards_ has a filter: spares the lock on every open otherwise
  std::map<uint64_t, Pending> pending_;  // under mu_
  std::unordered_set<uint64_t> expired_;  // under mu_: answered by the watchdog or at Stop (for "late")
  FanotifyStats stats_;
  std::string last_error_;
  bool stopped_ = false;
};

}  // namespace macsensor::linux_fan
