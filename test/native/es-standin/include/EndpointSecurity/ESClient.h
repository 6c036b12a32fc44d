// Stand-in (Linux tests): client functions macsensor calls. Include <EndpointSecurity/EndpointSecurity.h>.
#pragma once
#ifndef __ENDPOINT_SECURITY_INDIRECT__
#error "include <EndpointSecurity/EndpointSecurity.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct es_client_s es_client_t;

// A Clang block: compile with -fblocks and link libBlocksRuntime on Linux.
typedef void (^es_handler_block_t)(es_client_t*, const es_message_t*);

es_new_client_result_t es_new_client(es_client_t** client, es_handler_block_t handler);
es_return_t es_delete_client(es_client_t* client);
es_return_t es_subscribe(es_client_t* client, const es_event_type_t* events, uint32_t event_count);
es_return_t es_unsubscribe(es_client_t* client, const es_event_type_t* events, uint32_t event_count);
es_return_t es_unsubscribe_all(es_client_t* client);
es_respond_result_t es_respond_auth_result(es_client_t* client, const es_message_t* message,
                                           es_auth_result_t result, bool cache);
es_respond_result_t es_respond_flags_result(es_client_t* client, const es_message_t* message,
                                            uint32_t authorized_flags, bool cache);
es_return_t es_mute_process(es_client_t* client, const audit_token_t* audit_token);
es_return_t es_mute_path(es_client_t* client, const char* path, es_mute_path_type_t type);
es_return_t es_mute_path_events(es_client_t* client, const char* path, es_mute_path_type_t type,
                                const es_event_type_t* events, size_t event_count);
es_clear_cache_result_t es_clear_cache(es_client_t* client);

#ifdef __cplusplus
}
#endif
