// Reads what the process connector does not carry (args, executable, cwd, ids, start time) from /proc/<pid>.
// Called on the connector's reader thread right after the kernel's message arrives; each read is a few
// microseconds. A process that is already gone yields what could be read plus RawEvent::partial naming the rest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "raw_event.h"

namespace macsensor::linux_proc {

// Boot time and clock ticks, to turn /proc/<pid>/stat's starttime (ticks since boot) into epoch milliseconds.
// Uses /proc/stat btime (whole seconds), the same base every /proc reader on the host uses, so start times
// (and the entity ids hashed from them) agree with a process table seeded from /proc.
struct ProcClock {
  double boot_time_ms = 0;
  long clock_ticks = 100;
  static ProcClock Read();
};

// What to read for an event.
enum class ProcDetail { Exec, Fork };

// Exec: args, executable, cwd, ppid, uid/euid/gid/egid, pgid, sid, tty, start time.
// Fork: pgid, sid, tty, start time only (its ids are the parent's until an exec; ppid comes from the kernel).
// known_stat: an event of the same process read from /proc/<pid>/stat just now (its pgid, sid, tty and start
// time are taken instead of reading the file again).
void FillFromProc(RawEvent& ev, ProcDetail detail, const ProcClock& clock, const RawEvent* known_stat = nullptr);

// /proc/<pid>/cmdline bytes → argv. Each argument ends in one NUL, so exactly one trailing NUL is dropped and the
// rest is split on NUL: "a\0b\0" → [a, b]; "a\0\0" → [a, ""] (a trailing empty argument is kept);
// "" → []. Bytes not ending in NUL (a process that rewrote its argv area) are split as they are.
std::vector<std::string> SplitCmdline(const std::string& bytes);

// tty_nr from /proc/<pid>/stat → /dev/pts/N or /dev/ttyN, other devices as "major:minor"; nullopt when there
// is no controlling tty.
std::optional<std::string> TtyPath(uint64_t tty_nr);

// Largest cmdline read; Linux caps argv+envp at ARG_MAX (stack limit / 4, usually 2 MiB).
constexpr size_t kMaxCmdlineBytes = 4 * 1024 * 1024;

}  // namespace macsensor::linux_proc
