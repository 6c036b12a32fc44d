#include "proc_connector.h"

#include "clock.h"

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/filter.h>
#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>
#include <cstdlib>
#include <fstream>

namespace macsensor::linux_proc {

namespace {

constexpr const char* kNeedsRoot = "the Linux process connector needs root (CAP_NET_ADMIN)";

using linux_clock::MonotonicNs;
using linux_clock::RealtimeMs;

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

// A classic BPF program run by the kernel on every message before it is queued to one of our sockets.
// BPF_ABS loads read the packet in network byte order, so the host-order fields compare against htonl(value);
// two loaded fields compare with each other as they are.
constexpr uint32_t kEventAt = NLMSG_LENGTH(0) + offsetof(cn_msg, data);
constexpr uint32_t FieldAt(size_t offset) { return kEventAt + static_cast<uint32_t>(offset); }

sock_filter Load(uint32_t at) { return BPF_STMT(BPF_LD | BPF_W | BPF_ABS, at); }
sock_filter Jump(uint32_t k, uint8_t if_true, uint8_t if_false) {
  return BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, if_true, if_false);
}
constexpr sock_filter kAccept = BPF_STMT(BPF_RET | BPF_K, 0xffffffff);
constexpr sock_filter kReject = BPF_STMT(BPF_RET | BPF_K, 0);

// Execs only: the socket whose every message wakes the reader at once.
std::vector<sock_filter> ExecFilter() {
  return {Load(FieldAt(offsetof(proc_event, what))), Jump(htonl(proc_event::PROC_EVENT_EXEC), 0, 1), kAccept,
          kReject};
}

// Forks and exits of processes (a thread's pid differs from its tgid): the socket read along with the next exec.
// Thread starts and ends never reach us, which on a busy desktop is most of what the connector sends.
std::vector<sock_filter> ForkExitFilter() {
  return {
      Load(FieldAt(offsetof(proc_event, what))),
      Jump(htonl(proc_event::PROC_EVENT_FORK), 2, 0),
      Jump(htonl(proc_event::PROC_EVENT_EXIT), 5, 0),
      kReject,
      // fork: child_pid == child_tgid
      Load(FieldAt(offsetof(proc_event, event_data.fork.child_pid))),
      BPF_STMT(BPF_MISC | BPF_TAX, 0),
      Load(FieldAt(offsetof(proc_event, event_data.fork.child_tgid))),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 4, 5),
      // exit: process_pid == process_tgid
      Load(FieldAt(offsetof(proc_event, event_data.exit.process_pid))),
      BPF_STMT(BPF_MISC | BPF_TAX, 0),
      Load(FieldAt(offsetof(proc_event, event_data.exit.process_tgid))),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1),
      kAccept,
      kReject,
  };
}

// A netlink socket subscribed to the process connector with `filter` attached. Returns the fd, or -1 and the
// reason in *error.
int OpenConnectorSocket(int rcvbuf_bytes, std::vector<sock_filter> filter, std::string* error) {
  int sock = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
  if (sock < 0) {
    *error = SysError("socket(NETLINK_CONNECTOR)", errno);
    return -1;
  }
  auto fail = [&](const char* what) {
    *error = SysError(what, errno);
    close(sock);
    return -1;
  };
  // A large receive buffer absorbs bursts while JavaScript is busy; FORCE lifts rmem_max for root.
  if (setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf_bytes, sizeof rcvbuf_bytes) != 0) {
    setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &rcvbuf_bytes, sizeof rcvbuf_bytes);
  }
  sock_fprog program{static_cast<unsigned short>(filter.size()), filter.data()};
  if (setsockopt(sock, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) != 0) {
    return fail("attaching the socket filter");
  }
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = CN_IDX_PROC;
  addr.nl_pid = 0;  // the kernel picks a unique port id, so several sockets can coexist in one process
  if (bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return fail("bind(CN_IDX_PROC)");

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
  if (send(sock, request, header->nlmsg_len, 0) < 0) return fail("subscribing to the process connector");
  return sock;
}

}  // namespace

ProcConnector::ProcConnector(Sink sink, Flush flush, std::unordered_set<int32_t> ignore_pids, int hold_ms)
    : sink_(std::move(sink)),
      flush_(std::move(flush)),
      ignore_pids_(std::move(ignore_pids)),
      hold_ms_(hold_ms < 0 ? 0 : hold_ms),
      clock_(ProcClock::Read()) {}

ProcConnector::~ProcConnector() { Stop(); }

std::string ProcConnector::Start(int rcvbuf_bytes) {
  if (thread_.joinable()) return "the process connector is already started";
  if (!HasNetAdmin()) return kNeedsRoot;
  if (std::string problem = NamespaceProblem(); !problem.empty()) return problem;

  std::string error;
  exec_sock_ = OpenConnectorSocket(rcvbuf_bytes, ExecFilter(), &error);
  if (exec_sock_ < 0) return error;
  other_sock_ = OpenConnectorSocket(rcvbuf_bytes, ForkExitFilter(), &error);
  if (other_sock_ < 0) {
    CloseFds();
    return error;
  }
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) {
    error = SysError("eventfd", errno);
    CloseFds();
    return error;
  }
  thread_ = std::thread([this] { Run(); });
  return "";
}

void ProcConnector::CloseFds() {
  for (int* fd : {&exec_sock_, &other_sock_, &stop_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

void ProcConnector::Stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    ssize_t w = write(stop_fd_, &one, sizeof one);
    (void)w;
    thread_.join();
  }
  CloseFds();
}

ConnectorStats ProcConnector::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::string ProcConnector::LastError() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

namespace {

// The kernel's timestamp of a process-connector datagram, 0 when it is not one (Handle skips those), and for
// an exec the process's pid (else 0).
uint64_t TimestampOf(const char* data, size_t len, int32_t* exec_pid) {
  *exec_pid = 0;
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(data);
  if (!NLMSG_OK(nlh, len) || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(cn_msg))) return 0;
  const auto* msg = static_cast<const cn_msg*>(NLMSG_DATA(nlh));
  if (msg->len < offsetof(proc_event, event_data)) return 0;
  proc_event pe{};
  std::memcpy(&pe, msg->data, std::min<size_t>(msg->len, sizeof pe));
  if (pe.what == proc_event::PROC_EVENT_EXEC) *exec_pid = pe.event_data.exec.process_tgid;
  return pe.timestamp_ns;
}

}  // namespace

void ProcConnector::Run() {
  constexpr unsigned kBatch = 64;            // datagrams per recvmmsg, per socket
  constexpr size_t kMessageBytes = 1024;     // one proc_event datagram is under 100 bytes
  constexpr unsigned kStopDrainRounds = 64;  // at most 64 × kBatch messages per socket read after stop was asked
  // Slots [0, kBatch) receive from the exec socket, [kBatch, 2 × kBatch) from the fork/exit socket.
  static thread_local char buffers[2 * kBatch][kMessageBytes];
  mmsghdr messages[2 * kBatch];
  iovec iovs[2 * kBatch];
  sockaddr_nl senders[2 * kBatch];
  struct Received {
    uint64_t ts;
    unsigned slot;
  };
  std::vector<Received> order;
  order.reserve(2 * kBatch);
  const uint64_t hold_ns = static_cast<uint64_t>(hold_ms_) * 1000000ULL;

  // Reads what `sock` has (up to kBatch) into slots from `base`. Returns the count, or -1 on a fatal error.
  auto receive = [&](int sock, unsigned base) -> int {
    for (;;) {
      for (unsigned i = base; i < base + kBatch; i++) {
        iovs[i] = {buffers[i], kMessageBytes};
        std::memset(&messages[i], 0, sizeof messages[i]);
        messages[i].msg_hdr.msg_iov = &iovs[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_name = &senders[i];
        messages[i].msg_hdr.msg_namelen = sizeof senders[i];
      }
      int n = recvmmsg(sock, &messages[base], kBatch, MSG_DONTWAIT, nullptr);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {  // the kernel overflowed our receive buffer: events were lost
        CountOverrun();
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = SysError("recvmmsg", errno);
      return -1;
    }
  };

  // Forks and exits wake nobody for hold_ms after they were last read: the next exec's wake-up reads them, in
  // kernel-timestamp order with it. The exec socket is read first, so a fork queued before its exec is in the
  // fork/exit socket by the time that one is read.
  uint64_t other_due_ns = 0;
  for (;;) {
    uint64_t now = MonotonicNs();
    if (flush_due_ns_ != 0 && now >= flush_due_ns_) FlushHeld();
    const bool poll_other = other_due_ns <= now;
    int timeout_ms = -1;
    for (uint64_t due : {flush_due_ns_, poll_other ? 0 : other_due_ns}) {
      if (due == 0) continue;
      int ms = static_cast<int>((due - now + 999999) / 1000000);
      timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
    }
    pollfd fds[3] = {{exec_sock_, POLLIN, 0}, {stop_fd_, POLLIN, 0}, {poll_other ? other_sock_ : -1, POLLIN, 0}};
    int ready = poll(fds, 3, timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = SysError("poll", errno);
      return;
    }
    // On stop, what the kernel has already queued for us is still read (bounded, so a flood cannot hold stop).
    const bool stopping = fds[1].revents != 0;
    if (!stopping && (fds[0].revents & POLLIN) == 0 && (fds[2].revents & POLLIN) == 0) continue;

    for (unsigned rounds = 0; !stopping || rounds < kStopDrainRounds; rounds++) {  // drain what is readable
      int from_exec = receive(exec_sock_, 0);
      int from_other = from_exec < 0 ? -1 : receive(other_sock_, kBatch);
      if (from_exec < 0 || from_other < 0) return;
      if (from_other > 0 && hold_ns != 0) other_due_ns = MonotonicNs() + hold_ns;
      order.clear();
      execs_in_batch_.clear();
      forks_read_.clear();
      for (int i = 0; i < from_exec + from_other; i++) {
        unsigned slot = i < from_exec ? static_cast<unsigned>(i) : kBatch + static_cast<unsigned>(i - from_exec);
        // Only the kernel (port id 0) speaks for the process connector; anything else could be forged.
        if (senders[slot].nl_pid != 0) continue;
        int32_t exec_pid = 0;
        order.push_back({TimestampOf(buffers[slot], messages[slot].msg_len, &exec_pid), slot});
        if (exec_pid > 0) execs_in_batch_.push_back(exec_pid);
      }
      std::stable_sort(order.begin(), order.end(), [](const Received& a, const Received& b) { return a.ts < b.ts; });
      const double now_ms = RealtimeMs();
      const uint64_t now_mono = MonotonicNs();
      std::shared_ptr<const EventRelevance> relevance;
      {
        std::lock_guard<std::mutex> lock(mu_);
        relevance = relevance_;
      }
      for (const Received& r : order) Handle(buffers[r.slot], messages[r.slot].msg_len, now_ms, now_mono, *relevance);
      if (static_cast<unsigned>(from_exec) < kBatch && static_cast<unsigned>(from_other) < kBatch) break;
    }
    if (stopping) return;
  }
}

void ProcConnector::Handle(const void* data, size_t len, double now_ms, uint64_t now_mono_ns,
                           const EventRelevance& relevance) {
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
      if (ev.kind == RawEventKind::Exec) {  // forks and exits wait for an exec on purpose (hold_ms)
        // proc_event.timestamp_ns is ktime_get_ns(), i.e. CLOCK_MONOTONIC.
        uint64_t delay_us = now_mono_ns > pe.timestamp_ns ? (now_mono_ns - pe.timestamp_ns) / 1000 : 0;
        stats_.execs_received++;
        stats_.read_delay_us_total += delay_us;
        if (delay_us > stats_.read_delay_us_max) stats_.read_delay_us_max = delay_us;
      }
      if (ignore_pids_.count(ev.pid) != 0) {
        stats_.ignored++;
        continue;
      }
    }
    if (ev.kind == RawEventKind::Exec) {
      // A fork of this process in the same batch read /proc/<pid>/stat moments ago, after this exec had
      // happened: the same file, so it is not read twice (most programs start as fork + exec in one batch).
      const RawEvent* fork = nullptr;
      for (const RawEvent& f : forks_read_) {
        if (f.pid == ev.pid) fork = &f;
      }
      FillFromProc(ev, ProcDetail::Exec, clock_, fork);
    }
    if (ev.kind == RawEventKind::Fork) {
      FillFromProc(ev, ProcDetail::Fork, clock_);
      if (std::find(execs_in_batch_.begin(), execs_in_batch_.end(), ev.pid) != execs_in_batch_.end()) {
        RawEvent stat;
        stat.pid = ev.pid;
        stat.pgid = ev.pgid;
        stat.sid = ev.sid;
        stat.tty = ev.tty;
        stat.start_time_ms = ev.start_time_ms;
        forks_read_.push_back(std::move(stat));
      }
    }
    Emit(std::move(ev), relevance);
  }
}

void ProcConnector::SetRelevance(EventRelevance relevance) {
  auto next = std::make_shared<const EventRelevance>(std::move(relevance));
  std::lock_guard<std::mutex> lock(mu_);
  relevance_ = std::move(next);
}

void ProcConnector::Emit(RawEvent&& ev, const EventRelevance& relevance) {
  ev.seq = ++seq_;
  bool partial = !ev.partial.empty();
  bool urgent = hold_ms_ == 0 || relevance.Wants(ev);
  bool accepted = sink_(std::move(ev), urgent);
  if (urgent) {
    flush_due_ns_ = 0;  // the wake-up it asked for takes everything queued before it
  } else if (flush_due_ns_ == 0) {
    flush_due_ns_ = MonotonicNs() + static_cast<uint64_t>(hold_ms_) * 1000000ULL;
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_.last_seq = seq_;
  if (partial) stats_.partial++;
  if (!accepted) stats_.queue_dropped++;
}

void ProcConnector::FlushHeld() {
  flush_due_ns_ = 0;
  flush_();
}

void ProcConnector::CountOverrun() {
  ++seq_;  // leaves a gap in the sequence so JavaScript sees the loss (of at least one event)
  std::lock_guard<std::mutex> lock(mu_);
  stats_.socket_overruns++;
  stats_.last_seq = seq_;
}

}  // namespace macsensor::linux_proc
