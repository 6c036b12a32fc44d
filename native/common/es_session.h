// EsSession: one Endpoint Security client and everything that happens on its messages.
//
// Report mode subscribes NOTIFY_EXEC, NOTIFY_FORK, NOTIFY_EXIT. While a block rule is loaded (SetAuthExec(true))
// AUTH_EXEC is subscribed beside NOTIFY_EXEC, on the same client. Every exec that ran is reported from its
// NOTIFY_EXEC (sent only after the exec succeeded, so an exec denied by us, or by another ES client, is never
// reported as a started process, and an exec allowed from the ES cache, which skips AUTH, is still reported).
// An AUTH exec that the native pre-filter rules out is answered ALLOW at once and not reported (its NOTIFY will
// be); a candidate is retained, reported with `auth: {id, deadlineMs}` and answered by JavaScript (Respond) or, if
// JavaScript is late, by the deadline watchdog — exactly once either way. JavaScript runs the rules on the AUTH
// event and pairs the NOTIFY that follows an allowed exec with it by (pid, pidversion) of the new image (the same
// in both), so the rules run once per exec (src/agent/pipeline.ts).
// One client rather than a second one for NOTIFY: ES delivers a client's messages serially, so an exec's NOTIFY
// always comes after its AUTH and the pairing never has to wait for the other client; one mute set covers both;
// and ES clients are a scarce, system-wide resource. Our handler never blocks, so NOTIFY messages cost the AUTH
// ones behind them microseconds.
//
// The agent's own children (acting process's ppid is this process, with mute_self): their AUTH execs are answered
// ALLOW natively and none of their events are reported, as if muted. A child of the agent must never wait for the
// JavaScript thread: if that thread were the one waiting for the child (a synchronous spawn), the exec would
// stall until the watchdog answered. Only the agent forks processes whose parent it is, so this mutes nothing
// else; the child's own children (grandchildren) are not muted.
// A candidate whose deadline leaves too little time for any rule (PlanAuthBudget: a "critical" binary's tiny
// deadline, or a backlog that ate the budget) is answered ALLOW at once, even fail-closed, counted
// (short_deadline_allows) and still reported with its `auth` id, so the rules run on it afterwards and
// JavaScript's answer is refused as "tooShort".
//
// File events (SetFileEvents): NOTIFY_OPEN / CREATE / CLOSE (reported only when `modified`) / RENAME / UNLINK for
// the file kinds the loaded rules need, nothing before. While a block rule on file events is loaded AUTH_OPEN
// replaces NOTIFY_OPEN (subscribed before NOTIFY_OPEN goes, so no open is unseen; unlike execs, opens are reported
// from their AUTH message: they are far too many to take twice), with its own native pre-filter over the path
// (SetOpenPrefilter), the same pending table and the same watchdog; it is answered with es_respond_flags_result
// (ALLOW = UINT32_MAX, which masks none of the requested fflag bits; DENY = 0), never cached.
//
// Cache policy: ES caches AUTH_EXEC results per (process executable, target executable) file pair, and a cached
// exec produces no AUTH message at all. So an ALLOW is cached only while SetAuthCache(true) says that every
// loaded exec block rule reads nothing but the executable's identity (src/sensor/esAuthCache.ts decides), and
// only when a rule or the pre-filter decided it: watchdog, short-deadline, shutdown and queue-full answers, DENY
// and every AUTH_OPEN answer are given with cache=false. NOTIFY_EXEC, always subscribed beside AUTH_EXEC,
// reports an exec ES answers from its cache. SetAuthCache clears ES's cache
// (es_clear_cache) whenever we may have put something in it since the last clear, under a lock that no cached
// answer is in flight across, so an ALLOW decided by the old rules never outlives them.
//
// Threads: the ES handler (serial, ES-owned), the watchdog thread, and the JS thread (Start/Respond/Set*/Stop).
// Events leave through `sink` (EventDispatcher::TryPush), which never blocks the handler.
#pragma once

#include <EndpointSecurity/EndpointSecurity.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "deadline_watchdog.h"
#include "es_convert.h"
#include "pending_auth.h"
#include "prefilter.h"
#include "raw_event.h"

namespace macsensor {

// The audit token of this process (macOS: task_info TASK_AUDIT_TOKEN; the Linux stand-in supplies its own).
bool GetSelfAuditToken(audit_token_t* out);

struct EsSessionOptions {
  EsConvertOptions convert;
  bool fail_closed = false;  // the watchdog (and shutdown) answer DENY instead of ALLOW
  bool auth_exec = false;    // start with AUTH_EXEC subscribed
  bool mute_self = true;
  DeadlineBudgetOptions budget;
  std::vector<std::string> mute_executables;  // exact paths, as the kernel reports them
};

struct EsSessionStats {
  uint64_t received = 0;        // messages from ES
  uint64_t to_js = 0;           // events accepted by the sink
  uint64_t auth_to_js = 0;      // AUTH candidates sent to JavaScript
  uint64_t prefiltered = 0;     // AUTH execs and opens allowed natively by the pre-filters
  uint64_t prefiltered_opens = 0;  // of which AUTH opens
  uint64_t watchdog_answers = 0;
  uint64_t short_deadline_allows = 0;  // candidates allowed at once: too little time left for any rule
  uint64_t late_js_answers = 0;       // JavaScript answered after the watchdog (or shutdown) did
  uint64_t duplicate_js_answers = 0;  // JavaScript answered the same id twice
  uint64_t unknown_js_answers = 0;
  uint64_t seq_gap_drops = 0;   // messages ES dropped (seq_num / global_seq_num gaps)
  uint64_t queue_drops = 0;     // events the sink refused (queue full)
  uint64_t allowed = 0;
  uint64_t denied = 0;
  uint64_t respond_errors = 0;  // es_respond_auth_result / es_respond_flags_result did not return SUCCESS
  uint64_t unsubscribe_errors = 0;
  uint64_t cached_allows = 0;       // ALLOWs answered with cache=true
  uint64_t cache_clears = 0;        // es_clear_cache calls that succeeded
  uint64_t cache_clear_errors = 0;  // es_clear_cache calls that failed (throttled, internal)  // es_unsubscribe / es_unsubscribe_all failed (more stays subscribed than asked)
  int64_t retained_now = 0;     // es_retain_message references held (all sessions)
  uint64_t pending_auth = 0;
  uint64_t own_children = 0;  // messages of the agent's own children, answered ALLOW / dropped natively
};

enum class RespondStatus { Answered, TooLate, TooShort, Duplicate, Unknown, Error };
const char* RespondStatusName(RespondStatus s);

class EsSession {
 public:
  using Sink = std::function<bool(RawEvent&&)>;

  // Creates the client, mutes, subscribes. On failure returns nullptr with an actionable message in *error
  // and a stable code (e.g. "ES_NOT_PERMITTED") in *code. A failed mute refuses the start: unmuted, macsensor
  // would wait on its own execs (ES_MUTE_SELF), or report what the admin muted (ES_MUTE). Call from the JS thread (es_delete_client must be
  // called from the thread that called es_new_client).
  static std::unique_ptr<EsSession> Start(EsSessionOptions options, Sink sink, std::string* error,
                                          std::string* code);
  ~EsSession();
  EsSession(const EsSession&) = delete;
  EsSession& operator=(const EsSession&) = delete;

  RespondStatus Respond(uint64_t id, bool allow);
  bool SetAuthExec(bool on, std::string* error);
  // Whether rule-decided ALLOWs of AUTH_EXEC are answered cache=true from now on (see Cache policy). Clears the
  // ES cache when ours may hold entries; false (with *error) when es_clear_cache or the subscription failed:
  // caching then stays off.
  bool SetAuthCache(bool on, std::string* error);
  // nullopt: no pre-filter (every AUTH exec goes to JavaScript).
  void SetPrefilter(std::optional<Prefilter> prefilter);
  // file_kinds: a mask of EventRelevance::KindBit() over the file kinds (others ignored); auth_open: subscribe
  // AUTH_OPEN instead of NOTIFY_OPEN (whatever file_kinds says about opens). An AUTH open the pre-filter allows
  // natively is reported only when file_kinds has Open: otherwise no loaded rule can match it, and reporting every
  // open on the machine would cost JavaScript far more than the blocking does. Subscribes what is new before
  // unsubscribing what is gone, so an open is never unseen while switching between NOTIFY and AUTH.
  bool SetFileEvents(uint8_t file_kinds, bool auth_open, std::string* error);
  // nullopt: no pre-filter (every AUTH open goes to JavaScript).
  void SetOpenPrefilter(std::optional<FilePrefilter> prefilter);
  // Unsubscribes, answers what is pending (ALLOW, or DENY when fail-closed), deletes the client. Idempotent.
  void Stop();
  EsSessionStats Stats() const;

 private:
  EsSession(EsSessionOptions options, Sink sink);
  void OnMessage(es_client_t* client, const es_message_t* msg);
  void HandleAuth(es_client_t* client, const es_message_t* msg);
  void Deliver(RawEvent&& ev);
  void OnWatchdog(uint64_t id);
  void AnswerTaken(es_client_t* client, const PendingAuth& entry, bool allow);
  bool Respond(es_client_t* client, const es_message_t* msg, bool allow, bool cache = false);
  bool ApplyMutes(std::string* error, std::string* code);
  void Unsubscribe(const es_event_type_t* events, uint32_t count);
  // Subscribes AUTH_EXEC and NOTIFY_EXEC as asked: what is new first, then unsubscribes what is gone.
  bool SetExecSubscriptions(bool auth, bool notify, std::string* error);
  // An answer that ES may cache: takes cache_mu_ shared, so SetAuthCache cannot clear in between.
  bool RespondCacheable(es_client_t* client, const es_message_t* msg, bool allow);
  std::shared_ptr<const Prefilter> CurrentPrefilter() const;
  std::shared_ptr<const FilePrefilter> CurrentOpenPrefilter() const;
  // Whether the native pre-filter rules this AUTH message out (answer ALLOW at once, no JavaScript).
  bool Prefiltered(const es_message_t* msg) const;
  // Whether the acting process is a child of this process (and mute_self): its messages are muted natively.
  bool FromOwnChild(const es_message_t* msg) const;

  EsSessionOptions options_;
  Sink sink_;
  es_client_t* client_ = nullptr;

  PendingAuthTable pending_;
  std::unique_ptr<DeadlineWatchdog> watchdog_;
  EsSeqGapTracker seq_tracker_;  // ES handler only
  uint64_t next_seq_ = 0;        // ES handler only

  mutable std::mutex prefilter_mu_;
  std::shared_ptr<const Prefilter> prefilter_;
  std::shared_ptr<const FilePrefilter> open_prefilter_;

  std::mutex stop_mu_;  // orders "handler adds a pending AUTH" against "Stop drains the table"
  bool stopping_ = false;
  bool stopped_ = false;
  bool auth_exec_ = false;  // JS thread
  bool sub_auth_exec_ = false, sub_notify_exec_ = false;  // JS thread: what is subscribed now

  std::shared_mutex cache_mu_;  // exclusive: SetAuthCache; shared: an answer that may be cached
  bool cache_allows_ = false;   // under cache_mu_
  // Something was answered cache=true since the last clear: set under cache_mu_ shared (so atomic), read and
  // reset under it exclusive.
  std::atomic<bool> cache_dirty_{false};
  std::vector<es_event_type_t> file_subscriptions_;  // JS thread
  std::atomic<bool> report_prefiltered_opens_{false};
  int32_t self_pid_ = -1;  // set once in Start, before any message
  mutable std::atomic<uint64_t> own_children_{0};

  struct Counters {
    std::atomic<uint64_t> received{0}, to_js{0}, auth_to_js{0}, prefiltered{0}, prefiltered_opens{0}, watchdog_answers{0},
        short_deadline_allows{0},
        late_js_answers{0}, duplicate_js_answers{0}, unknown_js_answers{0}, seq_gap_drops{0}, queue_drops{0},
        allowed{0}, denied{0}, respond_errors{0}, unsubscribe_errors{0}, cached_allows{0}, cache_clears{0},
        cache_clear_errors{0};
  } counters_;
};

}  // namespace macsensor
