// macOS only. The process list from sysctl KERN_PROC_ALL; per process its argument area (KERN_PROCARGS2, parsed
// by procargs.cc), its executable (proc_pidpath: the path of the running image, as Endpoint Security reports
// it) and its working directory (proc_pidinfo PROC_PIDVNODEPATHINFO). Runs once at start-up on the JS thread.
#include "process_list.h"

#include <errno.h>
#include <libproc.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/proc_info.h>
#include <sys/stat.h>
#include <sys/sysctl.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "procargs.h"

namespace macsensor {

namespace {

std::string ErrnoText(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

std::vector<struct kinfo_proc> ReadKinfoList(std::string* error) {
  int mib[3] = {CTL_KERN, KERN_PROC, KERN_PROC_ALL};
  for (int attempt = 0; attempt < 8; attempt++) {
    size_t bytes = 0;
    if (sysctl(mib, 3, nullptr, &bytes, nullptr, 0) != 0) {
      *error = ErrnoText("sysctl KERN_PROC_ALL (size)", errno);
      return {};
    }
    bytes += bytes / 8 + 32 * sizeof(struct kinfo_proc);  // room for processes started meanwhile
    std::vector<struct kinfo_proc> list(bytes / sizeof(struct kinfo_proc));
    size_t got = list.size() * sizeof(struct kinfo_proc);
    if (sysctl(mib, 3, list.data(), &got, nullptr, 0) == 0) {
      list.resize(got / sizeof(struct kinfo_proc));
      return list;
    }
    if (errno != ENOMEM) {
      *error = ErrnoText("sysctl KERN_PROC_ALL", errno);
      return {};
    }
  }
  *error = "sysctl KERN_PROC_ALL: the process list kept growing faster than it could be read";
  return {};
}

size_t ArgMax() {
  int mib[2] = {CTL_KERN, KERN_ARGMAX};
  int argmax = 0;
  size_t len = sizeof(argmax);
  if (sysctl(mib, 2, &argmax, &len, nullptr, 0) != 0 || argmax <= 0) return ARG_MAX;
  return static_cast<size_t>(argmax);
}

// kill(pid, 0) fails with EPERM for a live process of another user, ESRCH for one that is gone.
bool StillRunning(pid_t pid) {
  return kill(pid, 0) == 0 || errno == EPERM;
}

std::string TtyName(dev_t dev) {
  char name[64];
  const char* found = devname_r(dev, S_IFCHR, name, static_cast<int>(sizeof(name)));
  if (found != nullptr && found[0] != '\0' && found[0] != '?' && found[0] != '#') return std::string("/dev/") + found;
  return std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
}

bool NameWanted(const std::string& entry, const std::vector<std::string>& names) {
  const size_t eq = entry.find('=');
  if (eq == std::string::npos) return false;
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& n) { return entry.compare(0, eq, n) == 0 && n.size() == eq; });
}

void Append(std::string& partial, const std::string& what) {
  if (!partial.empty()) partial += "; ";
  partial += what;
}

// Fills what the kinfo_proc record says; these need no permission.
void FillFromKinfo(const struct kinfo_proc& kp, RawEvent& ev) {
  ev.pid = kp.kp_proc.p_pid;
  ev.ppid = kp.kp_eproc.e_ppid;
  ev.pgid = kp.kp_eproc.e_pgid;
  const pid_t sid = getsid(kp.kp_proc.p_pid);
  if (sid >= 0) ev.sid = sid;
  ev.uid = kp.kp_eproc.e_pcred.p_ruid;
  ev.euid = kp.kp_eproc.e_ucred.cr_uid;
  ev.gid = kp.kp_eproc.e_pcred.p_rgid;
  if (kp.kp_eproc.e_ucred.cr_ngroups > 0) ev.egid = kp.kp_eproc.e_ucred.cr_groups[0];
  if (kp.kp_eproc.e_tdev != NODEV) ev.tty = TtyName(kp.kp_eproc.e_tdev);
  // The same start time Endpoint Security reports (es_process_t.start_time), in the same unit as es_convert.cc,
  // so the entity ids of seeded processes equal those of their later events.
  const struct timeval& start = kp.kp_proc.p_starttime;
  ev.start_time_ms = static_cast<double>(start.tv_sec) * 1000.0 + static_cast<double>(start.tv_usec) / 1000.0;
  ev.time_ms = *ev.start_time_ms;
}

// Arguments (and environment) from KERN_PROCARGS2; returns false when the process turned out to be gone.
bool FillArgs(pid_t pid, std::vector<uint8_t>& buffer, const ProcessListOptions& options, const char* why,
              RawEvent& ev, std::string* exec_path) {
  int mib[3] = {CTL_KERN, KERN_PROCARGS2, pid};
  size_t len = buffer.size();
  if (sysctl(mib, 3, buffer.data(), &len, nullptr, 0) != 0) {
    const int err = errno;
    if (!StillRunning(pid)) return false;
    // XNU answers EINVAL (not EPERM) for another user's process when the caller is not root.
    Append(ev.partial, ErrnoText("args unreadable (KERN_PROCARGS2", err) + why + ")");
    return true;
  }
  ProcArgs parsed = ParseProcArgs(buffer.data(), std::min(len, buffer.size()), !options.env_names.empty());
  if (parsed.exec_path.has_value()) *exec_path = std::move(*parsed.exec_path);
  if (parsed.args_complete) {
    ev.args = std::move(parsed.args);
  } else if (!parsed.args.empty()) {
    ev.args = std::move(parsed.args);
    ev.args_truncated = true;
  }
  for (std::string& entry : parsed.env) {
    if (NameWanted(entry, options.env_names)) ev.env.push_back(std::move(entry));
  }
  if (!parsed.problem.empty()) Append(ev.partial, "args incomplete (" + parsed.problem + ")");
  return true;
}

}  // namespace

std::vector<RawEvent> ListRunningProcesses(const ProcessListOptions& options, std::string* error) {
  std::vector<RawEvent> out;
  std::string list_error;
  const std::vector<struct kinfo_proc> list = ReadKinfoList(&list_error);
  if (!list_error.empty()) {
    if (error != nullptr) *error = list_error;
    return out;
  }
  std::vector<uint8_t> args_buffer(ArgMax());  // one buffer for every process: KERN_ARGMAX is 1 MiB
  char path[PROC_PIDPATHINFO_MAXSIZE];
  out.reserve(list.size());
  for (const struct kinfo_proc& kp : list) {
    const pid_t pid = kp.kp_proc.p_pid;
    if (pid <= 0 || kp.kp_proc.p_stat == SZOMB) continue;  // the kernel; exited and not yet reaped
    RawEvent ev;
    ev.source = "es";
    ev.kind = RawEventKind::Exec;
    ev.seq = 0;
    FillFromKinfo(kp, ev);

    // Reading another user's process needs root (XNU compares effective uids).
    const bool other_user = geteuid() != 0 && kp.kp_eproc.e_ucred.cr_uid != geteuid();
    const char* why = other_user ? "; another user's process needs root" : "";
    std::string exec_path;
    if (!FillArgs(pid, args_buffer, options, why, ev, &exec_path)) continue;

    const int path_len = proc_pidpath(pid, path, sizeof(path));
    const int path_errno = errno;  // before StillRunning's kill() can change it
    if (path_len > 0) {
      ev.executable = std::string(path, static_cast<size_t>(path_len));
    } else if (!StillRunning(pid)) {
      continue;
    } else if (!exec_path.empty() && exec_path[0] == '/') {
      ev.executable = exec_path;  // the path given to exec: absolute, but not resolved through symlinks
    } else {
      Append(ev.partial, ErrnoText("executable unreadable (proc_pidpath", path_errno) + ")");
    }

    struct proc_vnodepathinfo vpi;
    std::memset(&vpi, 0, sizeof(vpi));
    const int vpi_len = proc_pidinfo(pid, PROC_PIDVNODEPATHINFO, 0, &vpi, static_cast<int>(sizeof(vpi)));
    if (vpi_len == static_cast<int>(sizeof(vpi))) {
      vpi.pvi_cdir.vip_path[sizeof(vpi.pvi_cdir.vip_path) - 1] = '\0';
      if (vpi.pvi_cdir.vip_path[0] != '\0') ev.cwd = std::string(vpi.pvi_cdir.vip_path);
    } else {
      Append(ev.partial, ErrnoText("cwd unreadable (proc_pidinfo PROC_PIDVNODEPATHINFO", errno) + why + ")");
    }
    out.push_back(std::move(ev));
  }
  std::sort(out.begin(), out.end(), [](const RawEvent& a, const RawEvent& b) {
    if (*a.start_time_ms != *b.start_time_ms) return *a.start_time_ms < *b.start_time_ms;
    return a.pid < b.pid;
  });
  return out;
}

}  // namespace macsensor
