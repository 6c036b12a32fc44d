#include "proc_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace macsensor::linux_proc {

namespace {

// Reads a whole file (up to limit bytes). Returns the errno on failure, 0 on success. one_record: a /proc file
// whose read fills the buffer as far as the content goes (stat, status, cmdline), so a short read is the end
// and the extra read(2) that would return 0 is saved.
int ReadFile(const std::string& path, std::string* out, size_t limit, bool* truncated, bool one_record = false) {
  out->clear();
  if (truncated != nullptr) *truncated = false;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char chunk[16384];
  int err = 0;
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    if (n == 0) break;
    size_t room = limit - out->size();
    if (static_cast<size_t>(n) > room) {
      out->append(chunk, room);
      if (truncated != nullptr) *truncated = true;
      break;
    }
    out->append(chunk, static_cast<size_t>(n));
    if (one_record && static_cast<size_t>(n) < sizeof chunk) break;
  }
  close(fd);
  return err;
}

// readlink(2) into a string of any length. Returns the errno on failure, 0 on success.
int ReadLink(const std::string& path, std::string* out) {
  std::string buf(256, '\0');
  for (;;) {
    ssize_t n = readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) return errno;
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      *out = std::move(buf);
      return 0;
    }
    if (buf.size() >= (1u << 20)) return ENAMETOOLONG;
    buf.resize(buf.size() * 4);
  }
}

bool ParseInt64(const char* s, int64_t* v, const char** end) {
  char* e = nullptr;
  errno = 0;
  long long x = std::strtoll(s, &e, 10);
  if (e == s || errno != 0) return false;
  *v = x;
  if (end != nullptr) *end = e;
  return true;
}

// "Uid:\t0\t0\t0\t0" → real, effective (the first two of real, effective, saved, fs).
bool ParseIdLine(const std::string& status, const char* key, uint32_t* real, uint32_t* effective) {
  size_t at = status.find(key);
  if (at == std::string::npos) return false;
  const char* p = status.c_str() + at + std::strlen(key);
  int64_t r = 0, e = 0;
  if (!ParseInt64(p, &r, &p) || !ParseInt64(p, &e, &p)) return false;
  *real = static_cast<uint32_t>(r);
  *effective = static_cast<uint32_t>(e);
  return true;
}

bool ParseStatus(const std::string& status, RawEvent& ev) {
  uint32_t uid = 0, euid = 0, gid = 0, egid = 0;
  size_t at = status.find("\nPPid:");
  int64_t ppid = 0;
  if (at == std::string::npos || !ParseInt64(status.c_str() + at + 6, &ppid, nullptr)) return false;
  if (!ParseIdLine(status, "\nUid:", &uid, &euid) || !ParseIdLine(status, "\nGid:", &gid, &egid)) return false;
  if (!ev.ppid.has_value()) ev.ppid = static_cast<int32_t>(ppid);  // a fork event already has the kernel's
  ev.uid = uid;
  ev.euid = euid;
  ev.gid = gid;
  ev.egid = egid;
  return true;
}

// /proc/<pid>/stat: "pid (comm) state ppid pgrp session tty_nr ... starttime(22) ...". comm may hold spaces and
// parentheses, so fields are counted from the last ')'.
bool ParseStat(const std::string& stat, RawEvent& ev, const ProcClock& clock) {
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return false;
  const char* p = stat.c_str() + close + 1;
  while (*p == ' ') p++;
  if (*p == '\0') return false;
  p++;  // state
  int64_t fields[20] = {0};  // fields 4..22 → index 0..18
  for (int i = 0; i < 19; i++) {
    if (!ParseInt64(p, &fields[i], &p)) return false;
  }
  ev.pgid = static_cast<int32_t>(fields[1]);
  ev.sid = static_cast<int32_t>(fields[2]);
  std::optional<std::string> tty = TtyPath(static_cast<uint64_t>(fields[3]));
  if (tty.has_value()) ev.tty = std::move(tty);
  double ticks = static_cast<double>(fields[18]);
  ev.start_time_ms = clock.boot_time_ms + ticks * 1000.0 / static_cast<double>(clock.clock_ticks);
  return true;
}

void AddMissing(std::string& missing, const char* what) {
  if (!missing.empty()) missing += ", ";
  missing += what;
}

}  // namespace

ProcClock ProcClock::Read() {
  ProcClock c;
  long tck = sysconf(_SC_CLK_TCK);
  if (tck > 0) c.clock_ticks = tck;
  std::string stat;
  if (ReadFile("/proc/stat", &stat, 1 << 20, nullptr) == 0) {
    size_t at = stat.find("\nbtime ");
    int64_t btime = 0;
    if (at != std::string::npos && ParseInt64(stat.c_str() + at + 7, &btime, nullptr)) {
      c.boot_time_ms = static_cast<double>(btime) * 1000.0;
    }
  }
  return c;
}

std::vector<std::string> SplitCmdline(const std::string& bytes) {
  std::vector<std::string> args;
  if (bytes.empty()) return args;
  size_t end = bytes.size();
  if (bytes[end - 1] == '\0') end--;
  size_t start = 0;
  for (;;) {
    size_t nul = bytes.find('\0', start);
    if (nul == std::string::npos || nul >= end) {
      args.emplace_back(bytes, start, end - start);
      break;
    }
    args.emplace_back(bytes, start, nul - start);
    start = nul + 1;
  }
  return args;
}

std::optional<std::string> TtyPath(uint64_t tty_nr) {
  if (tty_nr == 0) return std::nullopt;
  uint64_t major = (tty_nr >> 8) & 0xfff;
  uint64_t minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return "/dev/pts/" + std::to_string((major - 136) * 256 + minor);
  if (major == 4 && minor < 64) return "/dev/tty" + std::to_string(minor);
  // Other devices (serial lines, the console, …) as "major:minor", which loses nothing and maps to ECS
  // process.tty.char_device directly.
  return std::to_string(major) + ":" + std::to_string(minor);
}

void FillFromProc(RawEvent& ev, ProcDetail detail, const ProcClock& clock, const RawEvent* known_stat) {
  const std::string dir = "/proc/" + std::to_string(ev.pid) + "/";
  std::string missing;
  int first_error = 0;
  auto note = [&](int err, const char* what) {
    if (err == 0) return;
    if (first_error == 0) first_error = err;
    AddMissing(missing, what);
  };

  std::string text;
  if (detail == ProcDetail::Exec) {
    bool truncated = false;
    // The kernel fills a cmdline read as far as the buffer allows, so a short read is the end (one_record).
    int cmdline_err = ReadFile(dir + "cmdline", &text, kMaxCmdlineBytes, &truncated, true);
    std::string exe;
    int exe_err = ReadLink(dir + "exe", &exe);
    if (exe_err == 0) ev.executable = std::move(exe);
    // A zombie's cmdline reads empty and its exe link is gone: that is a lost argv, not an empty one.
    if (cmdline_err == 0 && text.empty() && exe_err != 0) cmdline_err = ESRCH;
    if (cmdline_err == 0) {
      ev.args = SplitCmdline(text);
      ev.args_truncated = truncated;
    }
    note(cmdline_err, "args");
    note(exe_err, "executable");
    std::string cwd;
    int cwd_err = ReadLink(dir + "cwd", &cwd);
    if (cwd_err == 0) ev.cwd = std::move(cwd);
    note(cwd_err, "cwd");
  }

  // A fork's ids are its parent's, which the consumer already has; only exec can change them (set-id programs).
  if (detail == ProcDetail::Exec) {
    int status_err = ReadFile(dir + "status", &text, 1 << 16, nullptr, true);
    if (status_err == 0 && !ParseStatus(text, ev)) status_err = EINVAL;
    note(status_err, "ppid, uid, gid");
  }

  if (known_stat != nullptr && known_stat->start_time_ms.has_value()) {
    ev.pgid = known_stat->pgid;
    ev.sid = known_stat->sid;
    ev.tty = known_stat->tty;
    ev.start_time_ms = known_stat->start_time_ms;
  } else {
    int stat_err = ReadFile(dir + "stat", &text, 1 << 16, nullptr, true);
    if (stat_err == 0 && !ParseStat(text, ev, clock)) stat_err = EINVAL;
    note(stat_err, "pgid, sid, tty, startTime");
  }

  if (!missing.empty()) {
    std::string why = (first_error == ENOENT || first_error == ESRCH)
                          ? "process exited before /proc/" + std::to_string(ev.pid) + " was read"
                          : "could not read /proc/" + std::to_string(ev.pid) + " (" + std::strerror(first_error) + ")";
    ev.partial = why + "; missing: " + missing;
  }
}

}  // namespace macsensor::linux_proc
