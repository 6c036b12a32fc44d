// Stand-in (Linux tests): libbsm audit-token accessors. Token layout as on macOS:
// val[0] auid, [1] euid, [2] egid, [3] ruid, [4] rgid, [5] pid, [6] asid, [7] pidversion.
#pragma once

#include <sys/types.h>

#include <mach/message.h>

#ifdef __cplusplus
extern "C" {
#endif
uid_t audit_token_to_auid(audit_token_t token);
uid_t audit_token_to_euid(audit_token_t token);
gid_t audit_token_to_egid(audit_token_t token);
uid_t audit_token_to_ruid(audit_token_t token);
gid_t audit_token_to_rgid(audit_token_t token);
pid_t audit_token_to_pid(audit_token_t token);
int audit_token_to_asid(audit_token_t token);
int audit_token_to_pidversion(audit_token_t token);
#ifdef __cplusplus
}
#endif
