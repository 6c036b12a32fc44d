// Stand-in (Linux tests): Mach absolute time from a monotonic clock. Ticks run at 24 MHz like Apple silicon
// (timebase 125/3 ns per tick), so code that forgets the timebase conversion fails the tests.
#pragma once

#include <stdint.h>

typedef struct {
  uint32_t numer;
  uint32_t denom;
} mach_timebase_info_data_t;
typedef mach_timebase_info_data_t* mach_timebase_info_t;
typedef int kern_return_t;

#ifdef __cplusplus
extern "C" {
#endif
uint64_t mach_absolute_time(void);
kern_return_t mach_timebase_info(mach_timebase_info_t info);
#ifdef __cplusplus
}
#endif
