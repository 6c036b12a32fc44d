// macOS only: this process's audit token, so the ES client can mute its own events (as Santa does).
#include <mach/mach.h>

#include "es_session.h"

namespace macsensor {

bool GetSelfAuditToken(audit_token_t* out) {
  mach_msg_type_number_t count = TASK_AUDIT_TOKEN_COUNT;
  kern_return_t kr = task_info(mach_task_self(), TASK_AUDIT_TOKEN, reinterpret_cast<task_info_t>(out), &count);
  return kr == KERN_SUCCESS;
}

}  // namespace macsensor
