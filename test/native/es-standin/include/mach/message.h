// Stand-in (Linux tests): the audit token type from <mach/message.h>.
#pragma once

typedef struct {
  unsigned int val[8];
} audit_token_t;
