// The Linux process connector (netlink NETLINK_CONNECTOR, CN_IDX_PROC): fork, exec and exit of every process,
// read on a thread of its own and handed on as RawEvents. Needs CAP_NET_ADMIN (root) in the initial network
// namespace.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <memory>
#include <optional>

#include "event_relevance.h"
#include "proc_reader.h"
#include "raw_event.h"

namespace macsensor::linux_proc {

struct ConnectorStats {
  uint64_t received = 0;         // process-level fork/exec/exit messages from the kernel (threads excluded)
  uint64_t ignored = 0;          // of those, about a pid in ignore_pids
  uint64_t queue_dropped = 0;    // refused by the sink (queue full)
  uint64_t socket_overruns = 0;  // ENOBUFS: the kernel dropped messages (each stands for at least one event)
  uint64_t partial = 0;          // events sent with RawEvent::partial set
  uint64_t last_seq = 0;         // the sequence number most recently used
  uint64_t execs_received = 0;    // of those, execs
  // Kernel timestamp → read by this thread, over the received execs: how far the reader lags the kernel.
  uint64_t read_delay_us_total = 0;
  uint64_t read_delay_us_max = 0;
};

class ProcConnector {
 public:
  // Receives each event on the reader thread; returns false when it had to drop it. Must not block. `urgent`
  // (see SetRelevance) asks for the consumer to be woken now; other events may wait until Flush or the next urgent
  // one.
  using Sink = std::function<bool(RawEvent&&, bool urgent)>;
  // Wakes the consumer for events sent without urgency. Called on the reader thread at most hold_ms after the
  // first of them, unless an urgent event came first.
  using Flush = std::function<void()>;

  // hold_ms: how long an event that is not urgent (a fork, an exit, an exec no rule could match) may wait
  // before Flush. Nobody waits for them, and events delivered together cost JavaScript one wake-up instead of
  // one each. 0: every event is urgent.
  ProcConnector(Sink sink, Flush flush, std::unordered_set<int32_t> ignore_pids, int hold_ms);
  ~ProcConnector();  // stops the thread
  ProcConnector(const ProcConnector&) = delete;
  ProcConnector& operator=(const ProcConnector&) = delete;

  // Opens the socket, subscribes and starts the reader thread. Returns an empty string on success, else the
  // reason (not root → "the Linux process connector needs root (CAP_NET_ADMIN)").
  std::string Start(int rcvbuf_bytes);
  // Stops and joins the reader thread; nothing is pushed to the sink after it returns. Idempotent.
  void Stop();

  // Which events the consumer wants at once (event_relevance.h). The others wait up to hold_ms, then reach the
  // consumer in order all the same. Until it is called, execs are wanted and forks and exits are not. Any thread.
  void SetRelevance(EventRelevance relevance);

  ConnectorStats Stats() const;
  // Set when the reader thread ended on a socket error it could not recover from.
  std::string LastError() const;

 private:
  void Run();
  void Handle(const void* data, size_t len, double now_ms, uint64_t now_mono_ns, const EventRelevance& relevance);
  void Emit(RawEvent&& ev, const EventRelevance& relevance);
  void FlushHeld();
  void CountOverrun();
  void CloseFds();

  Sink sink_;
  Flush flush_;
  std::unordered_set<int32_t> ignore_pids_;
  int hold_ms_ = 0;
  // Reader thread only: monotonic ns by which events sent without urgency must be flushed; 0 when none wait.
  uint64_t flush_due_ns_ = 0;
  ProcClock clock_;

  int exec_sock_ = -1;   // execs only (a socket filter drops the rest): read as soon as one arrives
  int other_sock_ = -1;  // forks and exits of processes: read along with the next exec, or after hold_ms
  int stop_fd_ = -1;
  std::thread thread_;
  uint64_t seq_ = 0;  // reader thread only
  // Reader thread only, per batch read: the pids that exec in it, and what their forks read from /proc stat.
  std::vector<int32_t> execs_in_batch_;
  std::vector<RawEvent> forks_read_;
  mutable std::mutex mu_;
  std::shared_ptr<const EventRelevance> relevance_ = std::make_shared<const EventRelevance>();  // under mu_
  ConnectorStats stats_;
  std::string last_error_;
};

}  // namespace macsensor::linux_proc
