// Stand-in (Linux tests): ES enums and token types. Include <EndpointSecurity/EndpointSecurity.h>.
#pragma once
#ifndef __ENDPOINT_SECURITY_INDIRECT__
#error "include <EndpointSecurity/EndpointSecurity.h>"
#endif

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mach/message.h>

// The stand-in models the macOS 13 SDK (so target-path muting, first in 13.0, is compiled and exercised).
#ifndef __MAC_OS_X_VERSION_MAX_ALLOWED
#define __MAC_OS_X_VERSION_MAX_ALLOWED 130000
#endif

typedef struct {
  uint8_t reserved[32];
} es_event_id_t;

typedef enum { ES_ACTION_TYPE_AUTH = 0, ES_ACTION_TYPE_NOTIFY = 1 } es_action_type_t;

// Values as in Apple's enum; only the ones macsensor subscribes to are named here (plus their neighbours'
// numbering is preserved by the explicit values).
typedef enum {
  ES_EVENT_TYPE_AUTH_EXEC = 0,
  ES_EVENT_TYPE_AUTH_OPEN = 1,
  ES_EVENT_TYPE_NOTIFY_EXEC = 9,
  ES_EVENT_TYPE_NOTIFY_OPEN = 10,
  ES_EVENT_TYPE_NOTIFY_FORK = 11,
  ES_EVENT_TYPE_NOTIFY_CLOSE = 12,
  ES_EVENT_TYPE_NOTIFY_CREATE = 13,
  ES_EVENT_TYPE_NOTIFY_EXIT = 15,
  ES_EVENT_TYPE_NOTIFY_RENAME = 25,
  ES_EVENT_TYPE_NOTIFY_UNLINK = 32,
  ES_EVENT_TYPE_LAST = 128
} es_event_type_t;

typedef enum { ES_AUTH_RESULT_ALLOW = 0, ES_AUTH_RESULT_DENY = 1 } es_auth_result_t;

typedef enum { ES_RESULT_TYPE_AUTH = 0, ES_RESULT_TYPE_FLAGS = 1 } es_result_type_t;

typedef enum { ES_RETURN_SUCCESS = 0, ES_RETURN_ERROR = 1 } es_return_t;

typedef enum {
  ES_RESPOND_RESULT_SUCCESS = 0,
  ES_RESPOND_RESULT_ERR_INVALID_ARGUMENT = 1,
  ES_RESPOND_RESULT_ERR_INTERNAL = 2,
  ES_RESPOND_RESULT_NOT_FOUND = 3,
  ES_RESPOND_RESULT_ERR_DUPLICATE_RESPONSE = 4,
  ES_RESPOND_RESULT_ERR_EVENT_TYPE = 5
} es_respond_result_t;

typedef enum {
  ES_NEW_CLIENT_RESULT_SUCCESS = 0,
  ES_NEW_CLIENT_RESULT_ERR_INVALID_ARGUMENT = 1,
  ES_NEW_CLIENT_RESULT_ERR_INTERNAL = 2,
  ES_NEW_CLIENT_RESULT_ERR_NOT_ENTITLED = 3,
  ES_NEW_CLIENT_RESULT_ERR_NOT_PERMITTED = 4,
  ES_NEW_CLIENT_RESULT_ERR_NOT_PRIVILEGED = 5,
  ES_NEW_CLIENT_RESULT_ERR_TOO_MANY_CLIENTS = 6
} es_new_client_result_t;

typedef enum {
  ES_CLEAR_CACHE_RESULT_SUCCESS = 0,
  ES_CLEAR_CACHE_RESULT_ERR_INTERNAL = 1,
  ES_CLEAR_CACHE_RESULT_ERR_THROTTLE = 2
} es_clear_cache_result_t;

typedef struct {
  size_t size;
  const uint8_t* data;
} es_token_t;

// length is strlen-like; data is NOT guaranteed to be NUL-terminated (the stand-in packs strings without one).
typedef struct {
  size_t length;
  const char* data;
} es_string_token_t;

typedef enum {
  ES_MUTE_PATH_TYPE_PREFIX = 0,
  ES_MUTE_PATH_TYPE_LITERAL = 1,
  ES_MUTE_PATH_TYPE_TARGET_PREFIX = 2,   // macOS 13.0 SDK
  ES_MUTE_PATH_TYPE_TARGET_LITERAL = 3   // macOS 13.0 SDK
} es_mute_path_type_t;
