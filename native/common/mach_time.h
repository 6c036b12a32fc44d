// MachClock: the clock ES deadlines are expressed in. On macOS it is Mach absolute time (mach_absolute_time,
// scaled by mach_timebase_info: 1 tick = 1 ns on Intel, 125/3 ns on Apple silicon; x86_64 under Rosetta sees
// its own resolution, which is why we always ask the timebase rather than assume one). In the Linux test build
// the ES stand-in supplies the same two functions from a monotonic clock. Mach time stops while the Mac sleeps,
// like the deadlines that use it, so the two stay comparable.
#pragma once

#include <mach/mach_time.h>

#include <cstdint>

namespace macsensor {

class MachClock {
 public:
  static uint64_t NowTicks() { return mach_absolute_time(); }

  static uint64_t TicksToNanos(uint64_t ticks) {
    const Timebase& tb = Get();
    return static_cast<uint64_t>(static_cast<unsigned __int128>(ticks) * tb.numer / tb.denom);
  }

  static uint64_t NanosToTicks(uint64_t nanos) {
    const Timebase& tb = Get();
    return static_cast<uint64_t>(static_cast<unsigned __int128>(nanos) * tb.denom / tb.numer);
  }

 private:
  struct Timebase {
    uint32_t numer = 1;
    uint32_t denom = 1;
  };
  static const Timebase& Get() {
    static const Timebase tb = [] {
      mach_timebase_info_data_t info{};
      Timebase out;
      if (mach_timebase_info(&info) == 0 && info.numer != 0 && info.denom != 0) {
        out.numer = info.numer;
        out.denom = info.denom;
      }
      return out;
    }();
    return tb;
  }
};

}  // namespace macsensor
