#include "proc_connector.h"

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <fstream>

namespace macsensor::linux_proc {

namespace {

constexpr const char* kNeedsRoot = "the Linux process connector needs root (CAP_NET_ADMIN)";

uint64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

double RealtimeMs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// CAP_NET_ADMIN (bit 12) in this process's effective capability set.
bool HasNetAdmin() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("CapEff:", 0) == 0) {
      unsigned long long caps = std::strtoull(line.c_str() + 7, nullptr, 16);
      return (caps >> 12) & 1ULL;
    }
  }
  return geteuid() == 0;
}

// The kernel ignores listen requests from outside the initial PID and user namespaces (a container), which
// would otherwise look like a quiet machine. Their inode numbers are fixed (PROC_PID_INIT_INO,
// PROC_USER_INIT_INO); an unreadable link is not taken as proof either way.
std::string NamespaceProblem() {
  char buf[64];
  struct Check {
    const char* path;
    const char* initial;
    const char* name;
  };
  for (const Check& c : {Check{"/proc/self/ns/pid", "pid:[4026531836]", "PID"},
                         Check{"/proc/self/ns/user", "user:[4026531837]", "user"}}) {
    ssize_t n = readlink(c.path, buf, sizeof buf - 1);
    if (n <= 0) continue;
    buf[n] = '\0';
    if (std::strcmp(buf, c.initial) != 0) {
      return std::string("the Linux process connector reports only to the host's initial namespaces, and this "
                         "process runs in another ") +
             c.name + " namespace (" + buf + "): run the agent on the host, not in a container";
    }
  }
  return "";
}

std::string SysError(const char* what, int err) {
  if (err == EPERM || err == EACCES) return kNeedsRoot;
  return std::string(what) + ": " + std::strerror(err);
}

}  // namespace

ProcConnector::ProcConnector(Sink sink, std::unordered_set<int32_t> ignore_pids)
    : sink_(std::move(sink)), ignore_pids_(std::move(ignore_pids)), clock_(ProcClock::Read()) {}

ProcConnector::~ProcConnector() { Stop(); }

std::string ProcConnector::Start(int rcvbuf_bytes) {
  if (thread_.joinable()) return "the process connector is already started";
  if (!HasNetAdmin()) return kNeedsRoot;
  if (std::string problem = NamespaceProblem(); !problem.empty()) return problem;

  sock_ = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
  if (sock_ < 0) return SysError("socket(NETLINK_CONNECTOR)", errno);
  // A large receive buffer absorbs bursts while JavaScript is busy; FORCE lifts rmem_max for root.
  if (setsockopt(sock_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf_bytes, sizeof rcvbuf_bytes) != 0) {
    setsockopt(sock_, SOL_SOCKET, SO_RCVBUF, &rcvbuf_bytes, sizeof rcvbuf_bytes);
  }
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = CN_IDX_PROC;
  addr.nl_pid = 0;  // the kernel picks a unique port id, so several sockets can coexist in one process
  if (bind(sock_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    close(sock_);
    sock_ = -1;
    return SysError("bind(CN_IDX_PROC)", err);
  }

  // nlmsghdr + cn_msg + proc_cn_mcast_op, back to back (cn_msg ends in a flexible array, so no struct).
  alignas(nlmsghdr) char request[NLMSG_SPACE(sizeof(cn_msg) + sizeof(proc_cn_mcast_op))] = {};
  auto* header = reinterpret_cast<nlmsghdr*>(request);
  header->nlmsg_len = NLMSG_LENGTH(sizeof(cn_msg) + sizeof(proc_cn_mcast_op));
  header->nlmsg_type = NLMSG_DONE;
  auto* message = static_cast<cn_msg*>(NLMSG_DATA(header));
  message->id.idx = CN_IDX_PROC;
  message->id.val = CN_VAL_PROC;
  message->len = sizeof(proc_cn_mcast_op);
  proc_cn_mcast_op op = PROC_CN_MCAST_LISTEN;
  std::memcpy(message->data, &op, sizeof op);
  if (send(sock_, request, header->nlmsg_len, 0) < 0) {
    int err = errno;
    close(sock_);
    sock_ = -1;
    return SysError("subscribing to the process connector", err);
  }

  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) {
    int err = errno;
    close(sock_);
    sock_ = -1;
    return SysError("eventfd", err);
  }
  thread_ = std::thread([this] { Run(); });
  return "";
}

void ProcConnector::Stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    ssize_t w = write(stop_fd_, &one, sizeof one);
    (void)w;
    thread_.join();
  }
  if (sock_ >= 0) {
    close(sock_);
    sock_ = -1;
  }
  if (stop_fd_ >= 0) {
    close(stop_fd_);
    stop_fd_ = -1;
  }
}

ConnectorStats ProcConnector::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::string ProcConnector::LastError() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

void ProcConnector::Run() {
  constexpr unsigned kBatch = 64;
  constexpr size_t kMessageBytes = 1024;  // one proc_event datagram is under 100 bytes
  constexpr unsigned kStopDrainRounds = 64;  // at most 64 × kBatch messages read after stop was asked
  static thread_local char buffers[kBatch][kMessageBytes];
  mmsghdr messages[kBatch];
  iovec iovs[kBatch];
  sockaddr_nl senders[kBatch];

  pollfd fds[2] = {{sock_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  for (;;) {
    int ready = poll(fds, 2, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = SysError("poll", errno);
      return;
    }
    // On stop, what the kernel has already queued for us is still read (bounded, so a flood cannot hold stop).
    const bool stopping = fds[1].revents != 0;
    if (!stopping && (fds[0].revents & POLLIN) == 0) continue;

    for (unsigned rounds = 0; !stopping || rounds < kStopDrainRounds; rounds++) {  // drain what is readable
      for (unsigned i = 0; i < kBatch; i++) {
        iovs[i] = {buffers[i], kMessageBytes};
        std::memset(&messages[i], 0, sizeof messages[i]);
        messages[i].msg_hdr.msg_iov = &iovs[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_name = &senders[i];
        messages[i].msg_hdr.msg_namelen = sizeof senders[i];
      }
      int n = recvmmsg(sock_, messages, kBatch, MSG_DONTWAIT, nullptr);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOBUFS) {  // the kernel overflowed our receive buffer: events were lost
          CountOverrun();
          continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        std::lock_guard<std::mutex> lock(mu_);
        last_error_ = SysError("recvmmsg", errno);
        return;
      }
      const double now = RealtimeMs();
      const uint64_t now_mono = MonotonicNs();
      for (int i = 0; i < n; i++) {
        // Only the kernel (port id 0) speaks for the process connector; anything else could be forged.
        if (senders[i].nl_pid != 0) continue;
        Handle(buffers[i], messages[i].msg_len, now, now_mono);
      }
      if (static_cast<unsigned>(n) < kBatch) break;
    }
    if (stopping) return;
  }
}

void ProcConnector::Handle(const void* data, size_t len, double now_ms, uint64_t now_mono_ns) {
  for (auto* nlh = static_cast<const nlmsghdr*>(data); NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
    if (nlh->nlmsg_type == NLMSG_NOOP || nlh->nlmsg_type == NLMSG_ERROR) continue;
    if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(cn_msg))) continue;
    const auto* msg = static_cast<const cn_msg*>(NLMSG_DATA(nlh));
    if (msg->id.idx != CN_IDX_PROC || msg->id.val != CN_VAL_PROC) continue;
    if (msg->len < offsetof(proc_event, event_data)) continue;
    proc_event pe{};
    std::memcpy(&pe, msg->data, std::min<size_t>(msg->len, sizeof pe));

    RawEvent ev;
    ev.source = "linux";
    ev.time_ms = now_ms;
    // proc_event.timestamp_ns is ktime_get_ns(), i.e. CLOCK_MONOTONIC; map it to the wall clock.
    if (pe.timestamp_ns <= now_mono_ns) {
      ev.kernel_time_ms = now_ms - static_cast<double>(now_mono_ns - pe.timestamp_ns) / 1e6;
    }
    switch (pe.what) {
      case proc_event::PROC_EVENT_FORK:
        if (pe.event_data.fork.child_pid != pe.event_data.fork.child_tgid) continue;  // a new thread
        ev.kind = RawEventKind::Fork;
        ev.pid = pe.event_data.fork.child_tgid;
        ev.ppid = pe.event_data.fork.parent_tgid;
        break;
      case proc_event::PROC_EVENT_EXEC:
        ev.kind = RawEventKind::Exec;
        ev.pid = pe.event_data.exec.process_tgid;
        break;
      case proc_event::PROC_EVENT_EXIT:
        if (pe.event_data.exit.process_pid != pe.event_data.exit.process_tgid) continue;  // a thread ending
        ev.kind = RawEventKind::Exit;
        ev.pid = pe.event_data.exit.process_tgid;
        ev.exit_status = static_cast<int32_t>(pe.event_data.exit.exit_code);
        // Kernels since 4.18 append the parent to the exit message.
        if (msg->len >= offsetof(proc_event, event_data.exit.parent_tgid) + sizeof(pe.event_data.exit.parent_tgid) &&
            pe.event_data.exit.parent_tgid > 0) {
          ev.ppid = pe.event_data.exit.parent_tgid;
        }
        break;
      default:
        continue;  // acks and uid/gid/sid/comm/ptrace/coredump changes
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.received++;
      // proc_event.timestamp_ns is ktime_get_ns(), i.e. CLOCK_MONOTONIC.
      uint64_t delay_us = now_mono_ns > pe.timestamp_ns ? (now_mono_ns - pe.timestamp_ns) / 1000 : 0;
      stats_.read_delay_us_total += delay_us;
      if (delay_us > stats_.read_delay_us_max) stats_.read_delay_us_max = delay_us;
      if (ignore_pids_.count(ev.pid) != 0) {
        stats_.ignored++;
        continue;
      }
    }
    if (ev.kind == RawEventKind::Exec) FillFromProc(ev, ProcDetail::Exec, clock_);
    if (ev.kind == RawEventKind::Fork) FillFromProc(ev, ProcDetail::Fork, clock_);
    Emit(std::move(ev));
  }
}

void ProcConnector::Emit(RawEvent&& ev) {
  ev.seq = ++seq_;
  bool partial = !ev.partial.empty();
  bool accepted = sink_(std::move(ev));
  std::lock_guard<std::mutex> lock(mu_);
  stats_.last_seq = seq_;
  if (partial) stats_.partial++;
  if (!accepted) stats_.queue_dropped++;
}

void ProcConnector::CountOverrun() {
  ++seq_;  // leaves a gap in the sequence so JavaScript sees the loss (of at least one event)
  std::lock_guard<std::mutex> lock(mu_);
  stats_.socket_overruns++;
  stats_.last_seq = seq_;
}

}  // namespace macsensor::linux_proc
