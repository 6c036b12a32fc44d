// Parser of the macOS KERN_PROCARGS2 sysctl buffer. Portable (no Apple headers) so it is tested on Linux.
//
// Layout written by XNU (kern_exec.c exec_copyout_strings, kern_sysctl.c sysctl_procargsx):
//   int32 argc (native byte order) | exec path NUL | NUL padding up to the next 8-byte boundary of the string
//   area | argv[0] NUL ... argv[argc-1] NUL | envp strings NUL ... | Apple's own strings NUL ...
// Processes with the no-read-procargs entitlement get a synthetic buffer: argc 1 | path NUL | NUL | path NUL.
//
// The buffer is read defensively: nothing past `size` is ever read, and only complete (NUL-terminated) strings
// are returned. What could not be read is said in `problem`.
//
//   ProcArgs pa = ParseProcArgs(buf, len, /*want_env=*/false);
//   if (pa.exec_path) ...; pa.args ...; if (!pa.args_complete) ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace macsensor {

struct ProcArgs {
  // argc as the buffer declares it (may be negative or absurd in a damaged buffer); 0 when not even 4 bytes.
  int32_t argc = 0;
  // The exec path as saved at exec (as passed to execve, so it may be relative); absent when not terminated.
  std::optional<std::string> exec_path;
  // The complete arguments found, in order; at most argc of them.
  std::vector<std::string> args;
  // True when all argc arguments were present and terminated.
  bool args_complete = false;
  // Only with want_env: the strings after argv up to the first empty one (Apple's own key=value strings can
  // follow the environment with no separator, so callers match names they want rather than taking all).
  std::vector<std::string> env;
  // Empty when the buffer was whole; otherwise what was wrong with it, for a RawEvent's `partial`.
  std::string problem;
};

ProcArgs ParseProcArgs(const uint8_t* data, size_t size, bool want_env);

}  // namespace macsensor
