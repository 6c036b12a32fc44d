// macOS only: the processes running now, as exec-like raw events for seeding the process table at start-up.
//
//   std::string error;
//   std::vector<RawEvent> list = ListRunningProcesses({}, &error);  // empty + error: the list was unreadable
#pragma once

#include <string>
#include <vector>

#include "raw_event.h"

namespace macsensor {

struct ProcessListOptions {
  // Environment variables to capture by exact name (as the ES backend's captureEnv); none by default.
  std::vector<std::string> env_names;
};

// Every running process but the kernel (pid 0) and zombies, oldest first: kind exec, source "es", seq 0, pid,
// ppid, pgid, sid, uid/euid/gid/egid, tty, startTime (and time = startTime), executable, args, cwd, env.
// Each process is read on its own; what could not be read (another user's process without root, a process
// that exited meanwhile) is left out and named in `partial`. Processes that exited before they were read are
// dropped. Returns an empty list and sets *error only when the process list itself could not be read.
std::vector<RawEvent> ListRunningProcesses(const ProcessListOptions& options, std::string* error);

}  // namespace macsensor
