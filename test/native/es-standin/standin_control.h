// Control surface of the Endpoint Security stand-in (test build only): scripts messages for the one client
// and reads back what the client did. The JS wrapper is standin_js.cc.
#pragma once

#include <EndpointSecurity/EndpointSecurity.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace standin {

struct TokenSpec {
  int32_t pid = 0;
  int32_t pidversion = 0;
  uint32_t euid = 0, ruid = 0, egid = 0, rgid = 0, auid = 0;
  int32_t asid = 0;
};

struct ProcSpec {
  TokenSpec token;
  int32_t ppid = 0, original_ppid = 0, group_id = 0, session_id = 0;
  uint32_t cs_flags = 0;
  bool platform_binary = false;
  bool es_client = false;
  uint8_t cdhash[20] = {};
  std::string signing_id, team_id;
  std::string executable = "/bin/unknown";
  bool executable_truncated = false;
  std::optional<std::string> tty;
  int64_t start_sec = 0;
  int32_t start_usec = 0;
  TokenSpec responsible, parent;
};

struct MessageSpec {
  uint32_t version = 7;
  es_event_type_t type = ES_EVENT_TYPE_NOTIFY_EXEC;
  double deadline_ms = 15000;  // AUTH only: the deadline, counted from enqueue (when ES raised the event)
  std::string tag;
  uint64_t skip_seq = 0;       // ES "dropped" this many messages of this type just before this one
  ProcSpec process;            // the acting process
  ProcSpec target;             // exec: the new image; fork: the child
  std::vector<std::string> args, env;
  std::optional<std::string> cwd, script;
  int exit_stat = 0;
  // File events. path: open, close, unlink, and create/rename with an existing destination; with new_path set
  // (create, rename to a new name) the destination is new_path_dir + new_path_name instead. source: rename.
  std::string path = "/tmp/file";
  bool path_truncated = false;
  std::optional<std::string> new_path_dir, new_path_name;
  std::string source;
  bool source_truncated = false;
  int32_t fflag = 1;  // FREAD
  bool modified = true;
};

struct AuthRecord {
  std::string tag;
  uint64_t enqueued_ticks = 0;   // when ES raised the event; the deadline counts from here
  bool delivered = false;
  bool dropped = false;          // still queued when the client was deleted: ES expects no answer
  uint64_t delivered_ticks = 0;
  uint64_t deadline_ticks = 0;
  int answers = 0;
  es_auth_result_t result = ES_AUTH_RESULT_ALLOW;
  bool flags_answer = false;  // answered with es_respond_flags_result (AUTH_OPEN), `flags` then holds the mask
  uint32_t flags = 0;
  int32_t requested_fflag = 0;
  bool cache = false;
  uint64_t answered_ticks = 0;
};

struct State {
  bool client_alive = false;
  bool killed = false;
  std::vector<std::string> violations;  // what ES would have killed the client for, or misuse of the API
  uint64_t delivered = 0;
  uint64_t suppressed = 0;  // not subscribed, muted, or no client when ES raised the event
  uint64_t queued = 0;
  uint64_t live_messages = 0;  // messages still referenced (retained and not released)
  uint64_t retains = 0, releases = 0;
  uint64_t clients_created = 0;
  std::vector<int> subscriptions;
  std::vector<std::pair<std::string, int>> muted_paths;  // (path, es_mute_path_type_t)
  std::vector<int32_t> muted_pids;
  bool held = false;  // delivery held (HoldDelivery)
  uint32_t timebase_numer = 0, timebase_denom = 0;
  uint64_t clients_deleted = 0;  // es_delete_client calls that succeeded (from the creating thread)
};

// Whether the delivery thread may take queued messages. Held: ES is slow to deliver (the backlog eats the
// deadlines). UntilUnsubscribe: held until the client's next es_unsubscribe / es_unsubscribe_all, which then
// waits until ES delivered everything queued before it (real ES still delivers messages already queued).
enum class Hold { Off, Held, UntilUnsubscribe };
void HoldDelivery(Hold hold);

// The Mach timebase (125/3: Apple silicon, the default; 1/1: Intel). Only before anything read the timebase:
// MachClock caches it for the life of the process, as on a Mac. False with *error otherwise.
bool SetTimebase(uint32_t numer, uint32_t denom, std::string* error);

// Misuses the stand-in must make fatal, run on purpose by the tests (in a child process): "cstring" reads a
// string token with strlen; "deleteFromHandler" / "deleteFromOtherThread" call es_delete_client from the
// client's handler / from another thread than es_new_client's. False when `what` is none of them.
bool SelfTestMisuse(const std::string& what);

void Enqueue(MessageSpec spec);
bool WaitIdle(int timeout_ms);
std::vector<AuthRecord> AuthRecords();
State GetState();
void Reset();
void SetNewClientResult(int result);  // the next es_new_client calls fail with this (0 = succeed)
double TicksToMicros(uint64_t ticks);

// Failure injection: the named API calls ("es_mute_process", "es_mute_path", "es_mute_path_events",
// "es_unsubscribe", "es_unsubscribe_all", "es_clear_cache") fail until changed or Reset.
void SetFailingCalls(std::vector<std::string> calls);
uint64_t InjectedFailures();
void ResetInjection();

// The ES cache (see standin.cc): its entries, the scripted AUTH execs it answered, file modification.
struct CacheEntry {
  std::string process_executable, target_executable;
  es_auth_result_t result;
};
struct CacheHit {
  std::string tag;
  es_auth_result_t result;
};
std::vector<CacheEntry> CacheEntries();
std::vector<CacheHit> CacheHits();
void ModifyFile(const std::string& path);
void ResetEsCache();

}  // namespace standin
