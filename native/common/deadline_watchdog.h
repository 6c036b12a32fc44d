// DeadlineWatchdog: one thread that fires a callback for an AUTH message when JavaScript has not answered
// within its budget, and PlanAuthBudget, which sets that budget from the time left until the ES deadline.
//
// The budget works at every deadline size (macOS 14.4 and later give AUTH messages far shorter deadlines than
// the 15 s of old, and "critical" system binaries tiny ones; google/santa PR #1284): the watchdog keeps 20% of
// the time left in hand, but never less than a small fixed margin (margin_ns, default 10 ms: enough for the
// watchdog thread to wake and answer) nor more than 5 s. So 15 s left → fire after 12 s; 60 s → 55 s; 400 ms →
// 320 ms; 100 ms → 80 ms; 30 ms → 20 ms. When what is left for JavaScript is under min_rule_ns (default 5 ms),
// no rule can run in time: the message is "too short" and the caller answers ALLOW at once, whatever the fail
// mode (fail-closed must not deny an exec no rule could have looked at). Time is Mach time (MachClock).
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

struct DeadlineBudgetOptions {
  uint64_t margin_ns = 10'000'000;   // kept in hand at every size (the headroom's floor)
  uint64_t min_rule_ns = 5'000'000;  // less than this left for JavaScript: too short for any rule
};

struct AuthBudget {
  bool too_short = false;   // answer ALLOW now (never fail-closed): no rule can run in what is left
  uint64_t fire_ticks = 0;  // otherwise: when the watchdog answers if JavaScript has not (Mach ticks)
};

// The budget of an AUTH message handled at now_ticks whose ES deadline is deadline_ticks.
AuthBudget PlanAuthBudget(uint64_t now_ticks, uint64_t deadline_ticks, const DeadlineBudgetOptions& options);

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
