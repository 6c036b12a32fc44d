// Stand-in (Linux tests): message layout subset (process, file, exec/fork/exit and the open/create/close/
// rename/unlink file events, the message itself),
// field order as in Apple's ESMessage.h. Include <EndpointSecurity/EndpointSecurity.h>.
#pragma once
#ifndef __ENDPOINT_SECURITY_INDIRECT__
#error "include <EndpointSecurity/EndpointSecurity.h>"
#endif

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

typedef struct {
  es_string_token_t path;
  bool path_truncated;
  struct stat stat;
} es_file_t;

typedef struct {
  uint64_t thread_id;
} es_thread_t;

typedef uint8_t es_cdhash_t[20];

typedef struct {
  audit_token_t audit_token;
  pid_t ppid;
  pid_t original_ppid;
  pid_t group_id;
  pid_t session_id;
  uint32_t codesigning_flags;
  bool is_platform_binary;
  bool is_es_client;
  es_cdhash_t cdhash;
  es_string_token_t signing_id;
  es_string_token_t team_id;
  es_file_t* executable;
  es_file_t* tty;                        // v2+, nullable
  struct timeval start_time;             // v3+
  audit_token_t responsible_audit_token; // v4+
  audit_token_t parent_audit_token;      // v4+
} es_process_t;

typedef struct {
  es_process_t* target;
  es_token_t reserved0;  // dyld_exec_path (es_string_token_t, same size) from the 14.0 SDK on
  union {
    uint8_t reserved[64];
    struct {
      es_file_t* script;  // v2+, nullable
      es_file_t* cwd;     // v3+
      int last_fd;        // v4+
    };
  };
} es_event_exec_t;

typedef struct {
  es_process_t* child;
  uint8_t reserved[64];
} es_event_fork_t;

typedef struct {
  int stat;
  uint8_t reserved[64];
} es_event_exit_t;

typedef struct {
  int32_t fflag;  // kernel FFLAG bits (FREAD 0x1, FWRITE 0x2, ...), not open(2)'s O_* values
  es_file_t* file;
  uint8_t reserved[64];
} es_event_open_t;

typedef struct {
  es_file_t* target;
  es_file_t* parent_dir;
  uint8_t reserved[64];
} es_event_unlink_t;

typedef enum {
  ES_DESTINATION_TYPE_EXISTING_FILE,
  ES_DESTINATION_TYPE_NEW_PATH,
} es_destination_type_t;

typedef struct {
  es_file_t* source;
  es_destination_type_t destination_type;
  union {
    es_file_t* existing_file;
    struct {
      es_file_t* dir;
      es_string_token_t filename;
    } new_path;
  } destination;
  uint8_t reserved[64];
} es_event_rename_t;

typedef struct {
  bool modified;
  es_file_t* target;
  uint8_t reserved[64];
} es_event_close_t;

typedef struct {
  es_destination_type_t destination_type;
  union {
    es_file_t* existing_file;
    struct {
      es_file_t* dir;
      es_string_token_t filename;
      mode_t mode;
    } new_path;
  } destination;
  uint8_t reserved2[16];
  union {
    uint8_t reserved[48];
    struct {
      void* acl;  // acl_t in Apple's header; v2+
    };
  };
} es_event_create_t;

typedef union {
  es_event_close_t close;
  es_event_create_t create;
  es_event_exec_t exec;
  es_event_exit_t exit;
  es_event_fork_t fork;
  es_event_open_t open;
  es_event_rename_t rename;
  es_event_unlink_t unlink;
} es_events_t;

typedef struct {
  es_result_type_t result_type;
  union {
    es_auth_result_t auth;
    uint32_t flags;
    uint8_t reserved[32];
  } result;
} es_result_t;

typedef struct {
  uint32_t version;
  struct timespec time;
  uint64_t mach_time;
  uint64_t deadline;
  es_process_t* process;
  uint64_t seq_num;  // v2+
  es_action_type_t action_type;
  union {
    es_event_id_t auth;
    es_result_t notify;
  } action;
  es_event_type_t event_type;
  es_events_t event;
  es_thread_t* thread;      // v4+, nullable
  uint64_t global_seq_num;  // v4+
} es_message_t;

#ifdef __cplusplus
extern "C" {
#endif

void es_retain_message(const es_message_t* msg);
void es_release_message(const es_message_t* msg);
uint32_t es_exec_arg_count(const es_event_exec_t* event);
uint32_t es_exec_env_count(const es_event_exec_t* event);
es_string_token_t es_exec_arg(const es_event_exec_t* event, uint32_t index);
es_string_token_t es_exec_env(const es_event_exec_t* event, uint32_t index);

#ifdef __cplusplus
}
#endif
