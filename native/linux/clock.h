// The two clocks the Linux readers stamp events with.
#pragma once

#include <time.h>

#include <cstdint>

namespace macsensor::linux_clock {

// CLOCK_MONOTONIC in nanoseconds: intervals and the kernel's own event stamps.
inline uint64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// The wall clock in epoch milliseconds: RawEvent::time_ms.
inline double RealtimeMs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec) / 1e6;
}

}  // namespace macsensor::linux_clock
