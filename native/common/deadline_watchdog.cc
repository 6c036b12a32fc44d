#include "deadline_watchdog.h"

#include <algorithm>
#include <chrono>

#include "mach_time.h"

namespace macsensor {

namespace {
constexpr uint64_t kNsPerSecond = 1000000000ull;
constexpr uint64_t kMinHeadroomNs = 1 * kNsPerSecond;
constexpr uint64_t kMaxHeadroomNs = 5 * kNsPerSecond;
}  // namespace

uint64_t WatchdogFireTicks(uint64_t now_ticks, uint64_t deadline_ticks) {
  if (deadline_ticks <= now_ticks) return now_ticks;
  const uint64_t remaining_ns = MachClock::TicksToNanos(deadline_ticks - now_ticks);
  const uint64_t headroom_ns = std::clamp<uint64_t>(remaining_ns / 5, kMinHeadroomNs, kMaxHeadroomNs);
  if (remaining_ns <= headroom_ns) return now_ticks;
  return now_ticks + MachClock::NanosToTicks(remaining_ns - headroom_ns);
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
