// Conversion of an Endpoint Security message (NOTIFY/AUTH exec, fork, exit; NOTIFY/AUTH open, NOTIFY create,
// close-after-write, rename, unlink) into the raw event contract
// (raw_event.h), in plain C++ so that it runs unchanged against Apple's SDK and against the Linux stand-in.
// Every versioned field is read only when msg->version says it exists (v2: tty, script, seq_num; v3: cwd,
// start_time; v4: responsible/parent audit tokens, global_seq_num). Strings are copied as pointer + length,
// never as C strings: ES string tokens are not promised to be NUL-terminated and may hold any bytes.
#pragma once

#include <EndpointSecurity/EndpointSecurity.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "raw_event.h"

namespace macsensor {

struct EsConvertOptions {
  // Environment variables captured from exec events, by exact name (e.g. "DYLD_INSERT_LIBRARIES"). Empty: none.
  std::vector<std::string> env_names;
};

inline std::string_view TokenView(const es_string_token_t& t) {
  return t.data != nullptr ? std::string_view(t.data, t.length) : std::string_view();
}

// Whether the message is one the converter understands (exec, fork, exit, the file events above; a close only
// when it `modified` the file).
bool EsIsConvertible(const es_message_t* msg);

// Fills everything but `seq` (the backend's own counter) and `auth` (set by the AUTH path).
RawEvent ConvertEsMessage(const es_message_t* msg, const EsConvertOptions& options);

// ES sequence numbers → dropped-message count. global_seq_num (v4+) counts every message to this client;
// before v4 only the per-event-type seq_num (v2+) exists; v1 messages carry neither and are not checked.
// Call from the (serial) ES handler only.
class EsSeqGapTracker {
 public:
  // Returns how many messages ES dropped just before this one.
  uint64_t Observe(const es_message_t* msg);

 private:
  bool have_global_ = false;
  uint64_t last_global_ = 0;
  std::unordered_map<uint32_t, uint64_t> last_per_type_;
};

}  // namespace macsensor
