// DeadlineWatchdog: one thread that fires a callback for an AUTH message when JavaScript has not answered
// within its budget. The budget follows Santa: JavaScript gets 80% of the time left until the ES deadline, but
// the headroom kept in hand is clamped to [1 s, 5 s] (so 1.5 s left → fire after 0.5 s; 15 s left → fire after
// 12 s; 60 s left → fire after 55 s; under 1 s left → fire at once). Time is Mach time (MachClock).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <utility>
#include <vector>

namespace macsensor {

// Mach tick at which the watchdog answers an AUTH message that arrived at now_ticks with deadline_ticks.
uint64_t WatchdogFireTicks(uint64_t now_ticks, uint64_t deadline_ticks);

class DeadlineWatchdog {
 public:
  using OnExpire = std::function<void(uint64_t id)>;

  explicit DeadlineWatchdog(OnExpire on_expire);
  ~DeadlineWatchdog();  // stops the thread; pending timers never fire
  DeadlineWatchdog(const DeadlineWatchdog&) = delete;
  DeadlineWatchdog& operator=(const DeadlineWatchdog&) = delete;

  // Any thread. Calls on_expire(id) on the watchdog thread at fire_ticks (Mach time). The callback must cope
  // with an id that was answered meanwhile (the watchdog never cancels: answering is decided by the table).
  void Schedule(uint64_t id, uint64_t fire_ticks);

  void Stop();

 private:
  void Run();

  using Timer = std::pair<uint64_t, uint64_t>;  // (fire_ticks, id)
  OnExpire on_expire_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace macsensor
