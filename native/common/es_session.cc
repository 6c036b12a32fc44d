#include "es_session.h"

#include <bsm/libbsm.h>

#include <algorithm>
#include <chrono>
#include <climits>

#include "event_relevance.h"
#include "mach_time.h"

namespace macsensor {
namespace {

constexpr es_event_type_t kReportEvents[] = {ES_EVENT_TYPE_NOTIFY_EXEC, ES_EVENT_TYPE_NOTIFY_FORK,
                                             ES_EVENT_TYPE_NOTIFY_EXIT};

// One actionable message per es_new_client failure.
void DescribeNewClientError(es_new_client_result_t r, std::string* error, std::string* code) {
  switch (r) {
    case ES_NEW_CLIENT_RESULT_ERR_NOT_PRIVILEGED:
      *code = "ES_NOT_PRIVILEGED";
      *error = "Endpoint Security needs root: run macsensor as root (the LaunchDaemon in launchd/ does).";
      return;
    case ES_NEW_CLIENT_RESULT_ERR_NOT_ENTITLED:
      *code = "ES_NOT_ENTITLED";
      *error =
          "this program is not entitled to use Endpoint Security: the com.apple.developer.endpoint-security.client "
          "entitlement must be on the main executable (the node binary that runs macsensor, not the .node addon) "
          "and needs a provisioning profile from Apple; without one, use --backend eslogger.";
      return;
    case ES_NEW_CLIENT_RESULT_ERR_NOT_PERMITTED:
      *code = "ES_NOT_PERMITTED";
      *error =
          "Endpoint Security was refused: Full Disk Access is missing for the responsible process. Deploy the PPPC "
          "profile launchd/profiles/macsensor-pppc.mobileconfig with MDM (when started from a terminal, the "
          "terminal app itself needs Full Disk Access).";
      return;
    case ES_NEW_CLIENT_RESULT_ERR_TOO_MANY_CLIENTS:
      *code = "ES_TOO_MANY_CLIENTS";
      *error =
          "too many Endpoint Security clients are connected (a system-wide limit; leaked clients count): stop "
          "another ES client or a stale macsensor, then retry.";
      return;
    case ES_NEW_CLIENT_RESULT_ERR_INVALID_ARGUMENT:
      *code = "ES_INVALID_ARGUMENT";
      *error = "es_new_client rejected its arguments (a macsensor bug: please report it).";
      return;
    case ES_NEW_CLIENT_RESULT_ERR_INTERNAL:
    default:
      *code = "ES_INTERNAL";
      *error =
          "Endpoint Security internal error: could not connect to the ES subsystem; retry, and if it persists check "
          "the system log for endpointsecurityd.";
      return;
  }
}

double EpochNowMs() {
  using namespace std::chrono;
  return static_cast<double>(duration_cast<microseconds>(system_clock::now().time_since_epoch()).count()) / 1000.0;
}

}  // namespace

const char* RespondStatusName(RespondStatus s) {
  switch (s) {
    case RespondStatus::Answered:
      return "answered";
    case RespondStatus::TooLate:
      return "tooLate";
    case RespondStatus::TooShort:
      return "tooShort";
    case RespondStatus::Duplicate:
      return "duplicate";
    case RespondStatus::Unknown:
      return "unknown";
    case RespondStatus::Error:
      return "error";
  }
  return "error";
}

EsSession::EsSession(EsSessionOptions options, Sink sink) : options_(std::move(options)), sink_(std::move(sink)) {}

std::unique_ptr<EsSession> EsSession::Start(EsSessionOptions options, Sink sink, std::string* error,
                                            std::string* code) {
  std::unique_ptr<EsSession> session(new EsSession(std::move(options), std::move(sink)));
  EsSession* self = session.get();
  self->watchdog_ = std::make_unique<DeadlineWatchdog>([self](uint64_t id) { self->OnWatchdog(id); });

  es_client_t* client = nullptr;
  es_new_client_result_t r =
      es_new_client(&client, ^(es_client_t* c, const es_message_t* msg) { self->OnMessage(c, msg); });
  if (r != ES_NEW_CLIENT_RESULT_SUCCESS || client == nullptr) {
    DescribeNewClientError(r, error, code);
    self->watchdog_->Stop();
    self->stopped_ = true;
    return nullptr;
  }
  self->client_ = client;
  audit_token_t self_token;
  if (GetSelfAuditToken(&self_token)) self->self_pid_ = audit_token_to_pid(self_token);
  if (!self->ApplyMutes(error, code)) {
    self->Stop();
    return nullptr;
  }

  bool ok = es_subscribe(client, kReportEvents, 3) == ES_RETURN_SUCCESS;
  self->sub_notify_exec_ = ok;
  if (ok && self->options_.auth_exec) ok = self->SetAuthExec(true, error);
  if (!ok) {
    *code = "ES_SUBSCRIBE";
    if (error->empty()) *error = "es_subscribe failed for NOTIFY_EXEC/FORK/EXIT";
    self->Stop();
    return nullptr;
  }
  return session;
}

EsSession::~EsSession() { Stop(); }

bool EsSession::ApplyMutes(std::string* error, std::string* code) {
  if (options_.mute_self) {
    // Like Santa, never run unmuted: our own execs (and opens) would wait for our own JavaScript thread, and
    // every event we cause would be reported and fed back to us.
    audit_token_t self_token;
    if (!GetSelfAuditToken(&self_token)) {
      *code = "ES_MUTE_SELF";
      *error = "cannot read this process's audit token (task_info TASK_AUDIT_TOKEN) to mute macsensor itself in "
               "Endpoint Security; refusing to start unmuted";
      return false;
    }
    if (es_mute_process(client_, &self_token) != ES_RETURN_SUCCESS) {
      *code = "ES_MUTE_SELF";
      *error = "es_mute_process failed for macsensor itself; refusing to start unmuted (it would wait on its own "
               "execs): retry, and if it persists check the system log for endpointsecurityd";
      return false;
    }
  }
  for (const std::string& path : options_.mute_executables) {
    // Events of processes running this executable...
    bool muted = es_mute_path(client_, path.c_str(), ES_MUTE_PATH_TYPE_LITERAL) == ES_RETURN_SUCCESS;
#if defined(__MAC_OS_X_VERSION_MAX_ALLOWED) && __MAC_OS_X_VERSION_MAX_ALLOWED >= 130000
    // ...and execs OF it (target muting exists from macOS 13; the 12.0 SDK lacks the enum value).
    static const es_event_type_t kExecs[] = {ES_EVENT_TYPE_AUTH_EXEC, ES_EVENT_TYPE_NOTIFY_EXEC};
    muted = muted &&
            es_mute_path_events(client_, path.c_str(), ES_MUTE_PATH_TYPE_TARGET_LITERAL, kExecs, 2) == ES_RETURN_SUCCESS;
#endif
    if (!muted) {
      *code = "ES_MUTE";
      *error = "Endpoint Security refused to mute " + path + " (mute.executables): it must be an absolute path as "
               "the kernel reports it; refusing to start rather than report what was meant to be muted";
      return false;
    }
  }
  return true;
}

void EsSession::Unsubscribe(const es_event_type_t* events, uint32_t count) {
  // A failed unsubscribe leaves more subscribed than asked, never less: events the rules may not need (an exec
  // both as AUTH and as NOTIFY is run through the rules once), so it is counted, not fatal.
  if (es_unsubscribe(client_, events, count) != ES_RETURN_SUCCESS) {
    counters_.unsubscribe_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

bool EsSession::SetAuthExec(bool on, std::string* error) {
  if (client_ == nullptr || stopped_) {
    *error = "the Endpoint Security client is stopped";
    return false;
  }
  if (on == auth_exec_) return true;
  // NOTIFY_EXEC stays subscribed either way (see the header): only AUTH_EXEC comes and goes.
  if (!SetExecSubscriptions(on, true, error)) return false;
  auth_exec_ = on;
  return true;
}

bool EsSession::SetExecSubscriptions(bool auth, bool notify, std::string* error) {
  std::vector<es_event_type_t> added, removed;
  // AUTH first when both change: no exec goes unseen while switching.
  if (auth && !sub_auth_exec_) added.push_back(ES_EVENT_TYPE_AUTH_EXEC);
  if (notify && !sub_notify_exec_) added.push_back(ES_EVENT_TYPE_NOTIFY_EXEC);
  if (!auth && sub_auth_exec_) removed.push_back(ES_EVENT_TYPE_AUTH_EXEC);
  if (!notify && sub_notify_exec_) removed.push_back(ES_EVENT_TYPE_NOTIFY_EXEC);
  for (es_event_type_t t : added) {
    if (es_subscribe(client_, &t, 1) != ES_RETURN_SUCCESS) {
      *error = t == ES_EVENT_TYPE_AUTH_EXEC ? "es_subscribe(AUTH_EXEC) failed" : "es_subscribe(NOTIFY_EXEC) failed";
      return false;
    }
    (t == ES_EVENT_TYPE_AUTH_EXEC ? sub_auth_exec_ : sub_notify_exec_) = true;
  }
  for (es_event_type_t t : removed) {
    Unsubscribe(&t, 1);
    (t == ES_EVENT_TYPE_AUTH_EXEC ? sub_auth_exec_ : sub_notify_exec_) = false;
  }
  return true;
}

bool EsSession::SetAuthCache(bool on, std::string* error) {
  if (client_ == nullptr || stopped_) {
    *error = "the Endpoint Security client is stopped";
    return false;
  }
  // A cache hit produces no AUTH message; NOTIFY_EXEC, always subscribed, reports those execs.
  bool ok = error->empty();
  {
    std::unique_lock<std::shared_mutex> lock(cache_mu_);
    cache_allows_ = false;
    if (cache_dirty_) {
      es_clear_cache_result_t r = es_clear_cache(client_);
      if (r == ES_CLEAR_CACHE_RESULT_SUCCESS) {
        cache_dirty_ = false;
        counters_.cache_clears.fetch_add(1, std::memory_order_relaxed);
      } else {
        // ALLOWs of the old rules may stay cached in ES; caching more would only add to them.
        counters_.cache_clear_errors.fetch_add(1, std::memory_order_relaxed);
        *error = r == ES_CLEAR_CACHE_RESULT_ERR_THROTTLE
                     ? "es_clear_cache was throttled: ALLOWs cached under the previous rules may stand until the "
                       "next reload"
                     : "es_clear_cache failed: ALLOWs cached under the previous rules may stand until the next reload";
        ok = false;
      }
    }
    cache_allows_ = on && ok;
  }
  return ok;
}

void EsSession::SetPrefilter(std::optional<Prefilter> prefilter) {
  std::shared_ptr<const Prefilter> next;
  if (prefilter) next = std::make_shared<const Prefilter>(std::move(*prefilter));
  std::lock_guard<std::mutex> lock(prefilter_mu_);
  prefilter_ = std::move(next);
}

std::shared_ptr<const Prefilter> EsSession::CurrentPrefilter() const {
  std::lock_guard<std::mutex> lock(prefilter_mu_);
  return prefilter_;
}

void EsSession::SetOpenPrefilter(std::optional<FilePrefilter> prefilter) {
  std::shared_ptr<const FilePrefilter> next;
  if (prefilter) next = std::make_shared<const FilePrefilter>(std::move(*prefilter));
  std::lock_guard<std::mutex> lock(prefilter_mu_);
  open_prefilter_ = std::move(next);
}

std::shared_ptr<const FilePrefilter> EsSession::CurrentOpenPrefilter() const {
  std::lock_guard<std::mutex> lock(prefilter_mu_);
  return open_prefilter_;
}

bool EsSession::SetFileEvents(uint8_t file_kinds, bool auth_open, std::string* error) {
  if (client_ == nullptr || stopped_) {
    *error = "the Endpoint Security client is stopped";
    return false;
  }
  std::vector<es_event_type_t> want;
  auto wanted = [&](RawEventKind kind) { return (file_kinds & EventRelevance::KindBit(kind)) != 0; };
  if (auth_open) {
    want.push_back(ES_EVENT_TYPE_AUTH_OPEN);
  } else if (wanted(RawEventKind::Open)) {
    want.push_back(ES_EVENT_TYPE_NOTIFY_OPEN);
  }
  if (wanted(RawEventKind::Create)) want.push_back(ES_EVENT_TYPE_NOTIFY_CREATE);
  if (wanted(RawEventKind::Modify)) want.push_back(ES_EVENT_TYPE_NOTIFY_CLOSE);
  if (wanted(RawEventKind::Rename)) want.push_back(ES_EVENT_TYPE_NOTIFY_RENAME);
  if (wanted(RawEventKind::Delete)) want.push_back(ES_EVENT_TYPE_NOTIFY_UNLINK);

  auto has = [](const std::vector<es_event_type_t>& v, es_event_type_t t) {
    return std::find(v.begin(), v.end(), t) != v.end();
  };
  std::vector<es_event_type_t> added, removed;
  for (es_event_type_t t : want) {
    if (!has(file_subscriptions_, t)) added.push_back(t);
  }
  for (es_event_type_t t : file_subscriptions_) {
    if (!has(want, t)) removed.push_back(t);
  }
  if (!added.empty() &&
      es_subscribe(client_, added.data(), static_cast<uint32_t>(added.size())) != ES_RETURN_SUCCESS) {
    *error = "es_subscribe failed for the file events";
    return false;
  }
  if (!removed.empty()) Unsubscribe(removed.data(), static_cast<uint32_t>(removed.size()));
  file_subscriptions_ = std::move(want);
  report_prefiltered_opens_.store(wanted(RawEventKind::Open), std::memory_order_relaxed);
  return true;
}

void EsSession::OnMessage(es_client_t* client, const es_message_t* msg) {
  counters_.received.fetch_add(1, std::memory_order_relaxed);
  uint64_t gap = seq_tracker_.Observe(msg);
  if (gap > 0) {
    counters_.seq_gap_drops.fetch_add(gap, std::memory_order_relaxed);
    next_seq_ += gap;  // JavaScript sees the gap in `seq`
  }
  if (!EsIsConvertible(msg) || FromOwnChild(msg)) {
    if (msg->action_type == ES_ACTION_TYPE_AUTH) Respond(client, msg, true);
    return;
  }
  if (msg->action_type == ES_ACTION_TYPE_AUTH) {
    HandleAuth(client, msg);
    return;
  }
  Deliver(ConvertEsMessage(msg, options_.convert));
}

bool EsSession::FromOwnChild(const es_message_t* msg) const {
  if (!options_.mute_self || self_pid_ <= 0 || msg->process == nullptr || msg->process->ppid != self_pid_) {
    return false;
  }
  own_children_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool EsSession::Prefiltered(const es_message_t* msg) const {
  if (msg->event_type == ES_EVENT_TYPE_AUTH_OPEN) {
    std::shared_ptr<const FilePrefilter> prefilter = CurrentOpenPrefilter();
    if (!prefilter) return false;
    const es_file_t* file = msg->event.open.file;
    if (file == nullptr) return false;  // nothing to judge by: JavaScript decides
    return !prefilter->IsCandidate(TokenView(file->path), file->path_truncated);
  }
  std::shared_ptr<const Prefilter> prefilter = CurrentPrefilter();
  if (!prefilter) return false;
  const es_event_exec_t* exec = &msg->event.exec;
  std::string_view executable;
  if (exec->target != nullptr && exec->target->executable != nullptr) {
    executable = TokenView(exec->target->executable->path);
  }
  uint32_t argc = es_exec_arg_count(exec);
  std::vector<std::string_view> args;
  args.reserve(argc);
  for (uint32_t i = 0; i < argc; i++) args.push_back(TokenView(es_exec_arg(exec, i)));
  return !prefilter->IsCandidate(executable, args);
}

void EsSession::HandleAuth(es_client_t* client, const es_message_t* msg) {
  bool prefiltered;
  {
    // Decided and answered under the cache lock: a rule reload cannot clear ES's cache in between.
    std::shared_lock<std::shared_mutex> lock(cache_mu_);
    prefiltered = Prefiltered(msg);
    // Answer first: the exec (or open) is waiting on us; the report can follow.
    if (prefiltered) {
      const bool cache = cache_allows_ && msg->event_type == ES_EVENT_TYPE_AUTH_EXEC;
      if (cache) cache_dirty_ = true;
      Respond(client, msg, true, cache);
    }
  }
  if (prefiltered) {
    counters_.prefiltered.fetch_add(1, std::memory_order_relaxed);
    if (msg->event_type == ES_EVENT_TYPE_AUTH_OPEN) {
      counters_.prefiltered_opens.fetch_add(1, std::memory_order_relaxed);
      if (!report_prefiltered_opens_.load(std::memory_order_relaxed)) return;
    } else {
      return;  // an exec: its NOTIFY_EXEC reports it once it has run
    }
    Deliver(ConvertEsMessage(msg, options_.convert));
    return;
  }

  const uint64_t now = MachClock::NowTicks();
  const AuthBudget budget = PlanAuthBudget(now, msg->deadline, options_.budget);
  if (budget.too_short) {
    // No rule can run before the deadline: allow now (fail-closed would deny an exec nobody judged), then
    // report it so the rules still see it; JavaScript's answer to this id is refused as "tooShort".
    Respond(client, msg, true);
    counters_.short_deadline_allows.fetch_add(1, std::memory_order_relaxed);
    RawEvent ev = ConvertEsMessage(msg, options_.convert);
    ev.auth = RawAuthRequest{pending_.AddAnswered(Answerer::ShortDeadline), EpochNowMs()};
    Deliver(std::move(ev));
    return;
  }
  RawEvent ev = ConvertEsMessage(msg, options_.convert);
  const uint64_t fire = budget.fire_ticks;
  uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (!stopping_) id = pending_.Add(RetainedMessage(msg), msg->deadline);
  }
  if (id == 0) {  // shutting down: nobody will decide
    Respond(client, msg, !options_.fail_closed);
    Deliver(std::move(ev));
    return;
  }
  ev.auth = RawAuthRequest{id, EpochNowMs() + static_cast<double>(MachClock::TicksToNanos(fire - now)) / 1e6};
  watchdog_->Schedule(id, fire);
  ev.seq = ++next_seq_;
  if (sink_(std::move(ev))) {
    counters_.to_js.fetch_add(1, std::memory_order_relaxed);
    counters_.auth_to_js.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // The queue is full: JavaScript will never see this exec, so answer it now rather than at the watchdog.
  counters_.queue_drops.fetch_add(1, std::memory_order_relaxed);
  std::optional<PendingAuth> entry;
  if (pending_.Take(id, Answerer::Native, &entry) == TakeStatus::Taken) {
    AnswerTaken(client, *entry, !options_.fail_closed);
  }
}

void EsSession::Deliver(RawEvent&& ev) {
  ev.seq = ++next_seq_;
  if (sink_(std::move(ev))) {
    counters_.to_js.fetch_add(1, std::memory_order_relaxed);
  } else {
    counters_.queue_drops.fetch_add(1, std::memory_order_relaxed);
  }
}

bool EsSession::RespondCacheable(es_client_t* client, const es_message_t* msg, bool allow) {
  std::shared_lock<std::shared_mutex> lock(cache_mu_);
  const bool cache = allow && cache_allows_ && msg->event_type == ES_EVENT_TYPE_AUTH_EXEC;
  if (cache) cache_dirty_ = true;
  return Respond(client, msg, allow, cache);
}

bool EsSession::Respond(es_client_t* client, const es_message_t* msg, bool allow, bool cache) {
  // AUTH_OPEN takes a flags answer (ESTypes.h): the answer masks the requested fflag, so UINT32_MAX allows
  // whatever was asked for and 0 denies the open.
  es_respond_result_t r =
      msg->event_type == ES_EVENT_TYPE_AUTH_OPEN
          ? es_respond_flags_result(client, msg, allow ? UINT32_MAX : 0u, /*cache=*/false)
          : es_respond_auth_result(client, msg, allow ? ES_AUTH_RESULT_ALLOW : ES_AUTH_RESULT_DENY, cache);
  if (r != ES_RESPOND_RESULT_SUCCESS) {
    counters_.respond_errors.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  (allow ? counters_.allowed : counters_.denied).fetch_add(1, std::memory_order_relaxed);
  if (cache) counters_.cached_allows.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void EsSession::AnswerTaken(es_client_t* client, const PendingAuth& entry, bool allow) {
  Respond(client, entry.message.get(), allow);
}

void EsSession::OnWatchdog(uint64_t id) {
  std::optional<PendingAuth> entry;
  if (pending_.Take(id, Answerer::Watchdog, &entry) != TakeStatus::Taken) return;
  counters_.watchdog_answers.fetch_add(1, std::memory_order_relaxed);
  AnswerTaken(client_, *entry, !options_.fail_closed);
}  // entry (and its message reference) released here

RespondStatus EsSession::Respond(uint64_t id, bool allow) {
  std::optional<PendingAuth> entry;
  switch (pending_.Take(id, Answerer::JavaScript, &entry)) {
    case TakeStatus::Taken:
      return RespondCacheable(client_, entry->message.get(), allow) ? RespondStatus::Answered : RespondStatus::Error;
    case TakeStatus::AnsweredByWatchdog:
    case TakeStatus::AnsweredNative:
      counters_.late_js_answers.fetch_add(1, std::memory_order_relaxed);
      return RespondStatus::TooLate;
    case TakeStatus::AnsweredShortDeadline:
      return RespondStatus::TooShort;
    case TakeStatus::AnsweredByJs:
      counters_.duplicate_js_answers.fetch_add(1, std::memory_order_relaxed);
      return RespondStatus::Duplicate;
    case TakeStatus::Unknown:
      break;
  }
  counters_.unknown_js_answers.fetch_add(1, std::memory_order_relaxed);
  return RespondStatus::Unknown;
}

void EsSession::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (client_ != nullptr && es_unsubscribe_all(client_) != ES_RETURN_SUCCESS) {
    // Deleting the client below ends every subscription anyway; the count tells a test or an admin.
    counters_.unsubscribe_errors.fetch_add(1, std::memory_order_relaxed);
  }
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_ = true;
  }
  if (watchdog_) watchdog_->Stop();  // no watchdog answer after this
  for (PendingAuth& entry : pending_.TakeAll()) AnswerTaken(client_, entry, !options_.fail_closed);
  if (client_ != nullptr) {
    es_delete_client(client_);  // waits for a running handler; no handler runs after it
    client_ = nullptr;
  }
}

EsSessionStats EsSession::Stats() const {
  EsSessionStats s;
  s.received = counters_.received.load();
  s.to_js = counters_.to_js.load();
  s.auth_to_js = counters_.auth_to_js.load();
  s.prefiltered = counters_.prefiltered.load();
  s.prefiltered_opens = counters_.prefiltered_opens.load();
  s.watchdog_answers = counters_.watchdog_answers.load();
  s.short_deadline_allows = counters_.short_deadline_allows.load();
  s.late_js_answers = counters_.late_js_answers.load();
  s.duplicate_js_answers = counters_.duplicate_js_answers.load();
  s.unknown_js_answers = counters_.unknown_js_answers.load();
  s.seq_gap_drops = counters_.seq_gap_drops.load();
  s.queue_drops = counters_.queue_drops.load();
  s.allowed = counters_.allowed.load();
  s.denied = counters_.denied.load();
  s.respond_errors = counters_.respond_errors.load();
  s.unsubscribe_errors = counters_.unsubscribe_errors.load();
  s.cached_allows = counters_.cached_allows.load();
  s.cache_clears = counters_.cache_clears.load();
  s.cache_clear_errors = counters_.cache_clear_errors.load();
  s.retained_now = RetainedMessage::Live();
  s.pending_auth = pending_.Size();
  s.own_children = own_children_.load();
  return s;
}

}  // namespace macsensor
