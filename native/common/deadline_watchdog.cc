#include "deadline_watchdog.h"

#include <algorithm>
#include <chrono>

#include "mach_time.h"

#if defined(__APPLE__)
#include <pthread/qos.h>
#endif

namespace macsensor {

namespace {
constexpr uint64_t kNsPerSecond = 1000000000ull;
constexpr uint64_t kMaxHeadroomNs = 5 * kNsPerSecond;
}  // namespace

AuthBudget PlanAuthBudget(uint64_t now_ticks, uint64_t deadline_ticks, const DeadlineBudgetOptions& options) {
  AuthBudget out;
  out.fire_ticks = now_ticks;
  const uint64_t remaining_ns = deadline_ticks > now_ticks ? MachClock::TicksToNanos(deadline_ticks - now_ticks) : 0;
  const uint64_t floor_ns = std::min(options.margin_ns, kMaxHeadroomNs);
  const uint64_t headroom_ns = std::clamp<uint64_t>(remaining_ns / 5, floor_ns, kMaxHeadroomNs);
  const uint64_t for_rules_ns = remaining_ns > headroom_ns ? remaining_ns - headroom_ns : 0;
  if (for_rules_ns == 0 || for_rules_ns < options.min_rule_ns) {
    out.too_short = true;
    return out;
  }
  out.fire_ticks = now_ticks + MachClock::NanosToTicks(for_rules_ns);
  return out;
}

DeadlineWatchdog::DeadlineWatchdog(OnExpire on_expire) : on_expire_(std::move(on_expire)) {
  thread_ = std::thread([this] { Run(); });
}

DeadlineWatchdog::~DeadlineWatchdog() { Stop(); }

void DeadlineWatchdog::Schedule(uint64_t id, uint64_t fire_ticks) {
  bool earliest = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    earliest = timers_.empty() || fire_ticks < timers_.top().first;
    timers_.emplace(fire_ticks, id);
  }
  // Wake the thread only when its current wait would be too long: most deadlines are alike, so a new timer
  // usually fires after the one already awaited, and the ES handler thread then costs no context switch.
  if (earliest) cv_.notify_one();
}

void DeadlineWatchdog::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void DeadlineWatchdog::Run() {
#if defined(__APPLE__)
  // With deadlines of tens of milliseconds the watchdog's wake-up latency is part of the margin: run it at the
  // QoS of work the user waits on (as Santa's AUTH queue does), so a busy Mac does not make it miss a deadline.
  pthread_set_qos_class_self_np(QOS_CLASS_USER_INTERACTIVE, 0);
#endif
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (timers_.empty()) {
      cv_.wait(lock);
      continue;
    }
    const uint64_t now = MachClock::NowTicks();
    const Timer next = timers_.top();
    if (next.first > now) {
      // Waits on the steady clock for the Mach-time interval; a new earlier timer or Stop() wakes it.
      auto wait = std::chrono::nanoseconds(MachClock::TicksToNanos(next.first - now));
      cv_.wait_for(lock, wait);
      continue;
    }
    timers_.pop();
    lock.unlock();
    on_expire_(next.second);
    lock.lock();
  }
}

}  // namespace macsensor
