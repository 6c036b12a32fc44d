// The Endpoint Security stand-in: a Linux implementation of the subset of Apple's ES C API that macsensor
// uses, with ES's semantics where tests depend on them:
//  - es_new_client starts ONE serial delivery thread that calls the handler block for each scripted message,
//    in order; the message is valid during the call, and afterwards only while the client holds a retain.
//  - ES decides when an event is raised (Enqueue) whether the client gets it (subscribed, not muted), and an AUTH
//    message's deadline counts from then, not from delivery: time spent queued behind a slow handler, or while
//    delivery is held (HoldDelivery), comes out of the budget. Messages already queued are still delivered after
//    es_unsubscribe, as by real ES; es_delete_client drops what is still queued (no answer expected).
//  - AUTH messages carry a real deadline in Mach ticks from CLOCK_MONOTONIC, in the Apple silicon timebase (24 MHz,
//    125/3 ns per tick) or Intel's (1 ns, SetTimebase). An answer after the deadline, no answer by the deadline, or
//    a second answer marks the client killed, as ES would kill it.
//  - es_delete_client from the client's own handler, or from another thread than es_new_client's, aborts the
//    process with a message saying so: it is a fatal misuse on macOS.
//  - es_respond_auth_result records each answer, its time and its cache flag; es_respond_flags_result (the only
//    answer AUTH_OPEN takes) records the flags mask; the wrong function for the event type is refused with
//    ES_RESPOND_RESULT_ERR_EVENT_TYPE and recorded as a violation, as a misuse of the API.
//  - retain/release are counted; releasing a message not held, or answering a released one, is a violation.
//  - fields a message version does not have are filled with poison (bad pointers, odd numbers), so code that
//    reads them without checking msg->version crashes or fails the tests.
//  - no string token is NUL-terminated: es_exec_arg/es_exec_env strings are packed back to back, and every
//    token (paths, file names, signing ids, args, env) is followed by '#' bytes up to an inaccessible guard page
//    (StringArena), so reading one as a C string crashes the test instead of passing.
#include <Block.h>
#include <bsm/libbsm.h>
#include <mach/mach_time.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "es_session.h"
#include "standin_control.h"

struct es_client_s {
  es_handler_block_t handler = nullptr;
  std::thread::id creator;
  std::thread delivery;
  bool stopping = false;
  std::set<int> subscriptions;
  std::vector<audit_token_t> muted_processes;
  std::vector<std::pair<std::string, int>> muted_paths;
  std::map<std::pair<std::string, int>, std::set<int>> muted_path_events;
  uint64_t global_seq = 0;
  std::map<int, uint64_t> type_seq;
};

namespace {

es_file_t* const kPoisonFile = reinterpret_cast<es_file_t*>(uintptr_t{0xdead0000});
constexpr uint32_t kPoison32 = 0x7eadbeef;

// A misuse macOS makes fatal: say what it was, then abort.
[[noreturn]] void Fatal(const char* what) {
  std::fprintf(stderr, "ES stand-in: fatal: %s\n", what);
  std::fflush(stderr);
  std::abort();
}

// Where a message's strings live: private mappings in which every byte after the strings is '#', up to an
// inaccessible guard page. Each token is thus followed by a non-NUL byte, and a token read as a C string
// (strlen, "%s", std::string(const char*)) runs into the guard page and crashes instead of passing.
class StringArena {
 public:
  StringArena() = default;
  ~StringArena() {
    for (const Chunk& c : chunks_) munmap(c.base, c.size + PageSize());
  }
  StringArena(const StringArena&) = delete;
  StringArena& operator=(const StringArena&) = delete;

  // A copy of the bytes, followed by at least one '#'.
  const char* Add(const std::string& bytes) {
    const size_t need = bytes.size() + 1;
    if (chunks_.empty() || chunks_.back().size - chunks_.back().used < need) NewChunk(need);
    Chunk& c = chunks_.back();
    char* out = c.base + c.used;
    if (!bytes.empty()) std::memcpy(out, bytes.data(), bytes.size());
    c.used += need;
    return out;
  }

 private:
  struct Chunk {
    char* base;
    size_t size;  // bytes before the guard page
    size_t used;
  };
  static size_t PageSize() {
    static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return page;
  }
  void NewChunk(size_t need) {
    const size_t page = PageSize();
    const size_t size = (need + page - 1) / page * page;
    void* p = mmap(nullptr, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) Fatal("mmap failed for a message's strings");
    char* base = static_cast<char*>(p);
    std::memset(base, '#', size);
    if (mprotect(base + size, page, PROT_NONE) != 0) Fatal("mprotect failed for a string guard page");
    chunks_.push_back(Chunk{base, size, 0});
  }
  std::vector<Chunk> chunks_;
};

struct Owned {
  es_message_t msg{};
  es_process_t process{}, target{};
  es_thread_t thread{};
  std::deque<es_file_t> files;
  StringArena text;
  const char* packed_args = nullptr;
  const char* packed_env = nullptr;
  std::vector<std::pair<size_t, size_t>> args, env;  // (offset, length) into the packed buffers
  int refs = 0;
  int auth_index = -1;  // into g.auth_records, when records_epoch is still g.records_epoch
  uint64_t records_epoch = 0;
};

// A message ES has raised for the client and not delivered yet.
struct Queued {
  standin::MessageSpec spec;
  uint64_t enqueued_ticks = 0;
  timespec enqueued_time{};
  int auth_index = -1;
  uint64_t records_epoch = 0;
};

struct Global {
  std::mutex mu;
  std::condition_variable work_cv, idle_cv;
  std::deque<Queued> queue;
  standin::Hold hold = standin::Hold::Off;
  uint64_t records_epoch = 0;  // bumped by Reset: records of an earlier epoch are gone
  uint64_t clients_deleted = 0;
  bool busy = false;
  es_client_s* client = nullptr;
  int next_new_client_result = 0;
  std::unordered_map<const es_message_t*, std::unique_ptr<Owned>> live;
  std::vector<standin::AuthRecord> auth_records;
  std::vector<std::string> violations;
  bool killed = false;
  uint64_t delivered = 0, suppressed = 0, retains = 0, releases = 0, clients_created = 0;
};

Global& G() {
  static Global* g = new Global();  // never destroyed: the delivery thread may outlive static destruction order
  return *g;
}

void ViolationLocked(Global& g, std::string what, bool kills) {
  g.violations.push_back(std::move(what));
  if (kills) g.killed = true;
}

audit_token_t MakeToken(const standin::TokenSpec& t) {
  audit_token_t out{};
  out.val[0] = t.auid;
  out.val[1] = t.euid;
  out.val[2] = t.egid;
  out.val[3] = t.ruid;
  out.val[4] = t.rgid;
  out.val[5] = static_cast<unsigned>(t.pid);
  out.val[6] = static_cast<unsigned>(t.asid);
  out.val[7] = static_cast<unsigned>(t.pidversion);
  return out;
}

audit_token_t PoisonToken() {
  audit_token_t out;
  for (unsigned& v : out.val) v = kPoison32;
  return out;
}

es_string_token_t StringToken(Owned& o, const std::string& s) { return es_string_token_t{s.size(), o.text.Add(s)}; }

es_file_t* File(Owned& o, const std::string& path, bool truncated = false) {
  es_file_t f{};
  f.path = StringToken(o, path);
  f.path_truncated = truncated;
  o.files.push_back(f);
  return &o.files.back();
}

void FillProcess(Owned& o, es_process_t& p, const standin::ProcSpec& s, uint32_t version) {
  p.audit_token = MakeToken(s.token);
  p.ppid = s.ppid;
  p.original_ppid = s.original_ppid;
  p.group_id = s.group_id;
  p.session_id = s.session_id;
  p.codesigning_flags = s.cs_flags;
  p.is_platform_binary = s.platform_binary;
  p.is_es_client = s.es_client;
  std::memcpy(p.cdhash, s.cdhash, sizeof(p.cdhash));
  p.signing_id = StringToken(o, s.signing_id);
  p.team_id = StringToken(o, s.team_id);
  p.executable = File(o, s.executable, s.executable_truncated);
  p.tty = version >= 2 ? (s.tty ? File(o, *s.tty) : nullptr) : kPoisonFile;
  if (version >= 3) {
    p.start_time.tv_sec = s.start_sec;
    p.start_time.tv_usec = s.start_usec;
  } else {
    p.start_time.tv_sec = kPoison32;
    p.start_time.tv_usec = 999999;
  }
  p.responsible_audit_token = version >= 4 ? MakeToken(s.responsible) : PoisonToken();
  p.parent_audit_token = version >= 4 ? MakeToken(s.parent) : PoisonToken();
}

// The strings back to back, no separator, in the message's arena.
const char* Pack(Owned& o, const std::vector<std::string>& items, std::vector<std::pair<size_t, size_t>>* idx) {
  std::string packed;
  for (const auto& s : items) {
    idx->emplace_back(packed.size(), s.size());
    packed.append(s);
  }
  return o.text.Add(packed);
}

// The Mach timebase: ns = ticks * numer / denom. Apple silicon's by default.
std::atomic<uint32_t> g_timebase_numer{125}, g_timebase_denom{3};
std::atomic<bool> g_timebase_read{false};

uint64_t NowTicks() { return mach_absolute_time(); }
uint64_t MsToTicks(double ms) {
  return static_cast<uint64_t>(ms * 1e6 * g_timebase_denom.load() / g_timebase_numer.load());
}

bool IsAuth(es_event_type_t t) { return t == ES_EVENT_TYPE_AUTH_EXEC || t == ES_EVENT_TYPE_AUTH_OPEN; }

// The directory part of a path ("/a/b" → "/a"), for unlink's parent_dir.
std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos || slash == 0 ? std::string("/") : path.substr(0, slash);
}

bool TokensEqual(const audit_token_t& a, const audit_token_t& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Whether ES would deliver this message to the client: subscribed, and not muted.
bool ShouldDeliverLocked(const es_client_s& c, const standin::MessageSpec& s) {
  if (c.subscriptions.count(s.type) == 0) return false;
  const audit_token_t token = MakeToken(s.process.token);
  for (const audit_token_t& m : c.muted_processes) {
    if (TokensEqual(m, token)) return false;
  }
  for (const auto& [path, type] : c.muted_paths) {
    if (type == ES_MUTE_PATH_TYPE_LITERAL && path == s.process.executable) return false;
    if (type == ES_MUTE_PATH_TYPE_PREFIX && s.process.executable.compare(0, path.size(), path) == 0) return false;
  }
  const bool is_exec = s.type == ES_EVENT_TYPE_AUTH_EXEC || s.type == ES_EVENT_TYPE_NOTIFY_EXEC;
  for (const auto& [key, events] : c.muted_path_events) {
    if (events.count(s.type) == 0) continue;
    if (key.second == ES_MUTE_PATH_TYPE_LITERAL && key.first == s.process.executable) return false;
    if (key.second == ES_MUTE_PATH_TYPE_TARGET_LITERAL && is_exec && key.first == s.target.executable) return false;
  }
  return true;
}

std::unique_ptr<Owned> BuildLocked(es_client_s& c, const Queued& q) {
  const standin::MessageSpec& s = q.spec;
  auto o = std::make_unique<Owned>();
  es_message_t& m = o->msg;
  const uint32_t v = s.version;
  m.version = v;
  m.time = q.enqueued_time;
  m.mach_time = q.enqueued_ticks;
  m.deadline = IsAuth(s.type) ? q.enqueued_ticks + MsToTicks(s.deadline_ms) : 0;
  FillProcess(*o, o->process, s.process, v);
  m.process = &o->process;
  c.type_seq[s.type] += s.skip_seq;
  c.global_seq += s.skip_seq;
  const uint64_t type_seq = c.type_seq[s.type]++;
  const uint64_t global_seq = c.global_seq++;
  m.seq_num = v >= 2 ? type_seq : kPoison32;
  m.action_type = IsAuth(s.type) ? ES_ACTION_TYPE_AUTH : ES_ACTION_TYPE_NOTIFY;
  m.event_type = s.type;
  switch (s.type) {
    case ES_EVENT_TYPE_AUTH_EXEC:
    case ES_EVENT_TYPE_NOTIFY_EXEC: {
      FillProcess(*o, o->target, s.target, v);
      es_event_exec_t& e = m.event.exec;
      e.target = &o->target;
      std::memset(e.reserved, 0xa5, sizeof e.reserved);
      e.script = v >= 2 ? (s.script ? File(*o, *s.script) : nullptr) : kPoisonFile;
      e.cwd = v >= 3 ? File(*o, s.cwd.value_or("/")) : kPoisonFile;
      if (v >= 4) e.last_fd = 2;
      o->packed_args = Pack(*o, s.args, &o->args);
      o->packed_env = Pack(*o, s.env, &o->env);
      break;
    }
    case ES_EVENT_TYPE_NOTIFY_FORK:
      FillProcess(*o, o->target, s.target, v);
      m.event.fork.child = &o->target;
      break;
    case ES_EVENT_TYPE_NOTIFY_EXIT:
      m.event.exit.stat = s.exit_stat;
      break;
    case ES_EVENT_TYPE_AUTH_OPEN:
    case ES_EVENT_TYPE_NOTIFY_OPEN:
      m.event.open.fflag = s.fflag;
      m.event.open.file = File(*o, s.path, s.path_truncated);
      std::memset(m.event.open.reserved, 0xa5, sizeof m.event.open.reserved);
      break;
    case ES_EVENT_TYPE_NOTIFY_CLOSE:
      m.event.close.modified = s.modified;
      m.event.close.target = File(*o, s.path, s.path_truncated);
      break;
    case ES_EVENT_TYPE_NOTIFY_UNLINK:
      m.event.unlink.target = File(*o, s.path, s.path_truncated);
      m.event.unlink.parent_dir = File(*o, DirOf(s.path));
      break;
    case ES_EVENT_TYPE_NOTIFY_CREATE: {
      es_event_create_t& e = m.event.create;
      if (s.new_path_dir) {
        e.destination_type = ES_DESTINATION_TYPE_NEW_PATH;
        e.destination.new_path.dir = File(*o, *s.new_path_dir, s.path_truncated);
        e.destination.new_path.filename = StringToken(*o, s.new_path_name.value_or(""));
        e.destination.new_path.mode = 0644;
      } else {
        e.destination_type = ES_DESTINATION_TYPE_EXISTING_FILE;
        e.destination.existing_file = File(*o, s.path, s.path_truncated);
      }
      e.acl = v >= 2 ? nullptr : reinterpret_cast<void*>(kPoisonFile);
      break;
    }
    case ES_EVENT_TYPE_NOTIFY_RENAME: {
      es_event_rename_t& e = m.event.rename;
      e.source = File(*o, s.source, s.source_truncated);
      if (s.new_path_dir) {
        e.destination_type = ES_DESTINATION_TYPE_NEW_PATH;
        e.destination.new_path.dir = File(*o, *s.new_path_dir, s.path_truncated);
        e.destination.new_path.filename = StringToken(*o, s.new_path_name.value_or(""));
      } else {
        e.destination_type = ES_DESTINATION_TYPE_EXISTING_FILE;
        e.destination.existing_file = File(*o, s.path, s.path_truncated);
      }
      break;
    }
    default:
      break;
  }
  if (v >= 4) {
    o->thread.thread_id = 1000 + static_cast<uint64_t>(s.process.token.pid);
    m.thread = &o->thread;
    m.global_seq_num = global_seq;
  } else {
    m.thread = reinterpret_cast<es_thread_t*>(kPoisonFile);
    m.global_seq_num = kPoison32;
  }
  o->auth_index = q.auth_index;
  o->records_epoch = q.records_epoch;
  o->refs = 1;  // the delivery's own reference, dropped when the handler returns
  return o;
}

void ReleaseLocked(Global& g, const es_message_t* msg, bool by_client) {
  auto it = g.live.find(msg);
  if (it == g.live.end()) {
    ViolationLocked(g, "es_release_message on a message that is not held (over-release or use after free)", true);
    return;
  }
  if (by_client) g.releases++;
  if (--it->second->refs == 0) g.live.erase(it);
}

bool EsCacheAdmitsLocked(const es_client_s& c, standin::MessageSpec* spec);  // ES cache section below
void EsCacheRecordAnswer(const es_message_t& msg, es_auth_result_t result, bool cache);
void EsCacheClear();

// The AUTH record of a queued or delivered message, or nullptr when Reset forgot it.
standin::AuthRecord* RecordLocked(Global& g, int index, uint64_t epoch) {
  if (index < 0 || epoch != g.records_epoch || static_cast<size_t>(index) >= g.auth_records.size()) return nullptr;
  return &g.auth_records[static_cast<size_t>(index)];
}

// ES raising an event: whether the client gets it (subscribed, not muted) is decided now, and an AUTH message's
// deadline counts from now, however long it then waits in the queue.
void EnqueueLocked(Global& g, standin::MessageSpec spec) {
  // ES's cache answers a cached AUTH exec itself: the client gets no AUTH (a NOTIFY, if subscribed, when allowed).
  if (g.client == nullptr || !EsCacheAdmitsLocked(*g.client, &spec) || !ShouldDeliverLocked(*g.client, spec)) {
    g.suppressed++;
    return;
  }
  Queued q;
  q.enqueued_ticks = NowTicks();
  clock_gettime(CLOCK_REALTIME, &q.enqueued_time);
  if (IsAuth(spec.type)) {
    standin::AuthRecord r;
    r.tag = spec.tag;
    r.enqueued_ticks = q.enqueued_ticks;
    r.deadline_ticks = q.enqueued_ticks + MsToTicks(spec.deadline_ms);
    if (spec.type == ES_EVENT_TYPE_AUTH_OPEN) r.requested_fflag = spec.fflag;
    q.auth_index = static_cast<int>(g.auth_records.size());
    q.records_epoch = g.records_epoch;
    g.auth_records.push_back(r);
  }
  q.spec = std::move(spec);
  g.queue.push_back(std::move(q));
  g.busy = true;
}

// es_delete_client: what is still queued is never delivered, and ES expects no answer to it.
void DropQueuedLocked(Global& g) {
  for (const Queued& q : g.queue) {
    if (standin::AuthRecord* r = RecordLocked(g, q.auth_index, q.records_epoch)) r->dropped = true;
  }
  g.queue.clear();
}

// With Hold::UntilUnsubscribe, an unsubscribe releases the held queue and returns once ES has delivered every
// message queued before it: the schedule in which a client meets messages of events it just unsubscribed.
void DeliverBacklogOnUnsubscribe(Global& g, es_client_s* client, std::unique_lock<std::mutex>& lock) {
  if (g.hold != standin::Hold::UntilUnsubscribe) return;
  g.hold = standin::Hold::Off;
  g.work_cv.notify_all();
  if (std::this_thread::get_id() == client->delivery.get_id()) return;  // from the handler: cannot wait for itself
  g.idle_cv.wait(lock, [&] { return g.client != client || (g.queue.empty() && !g.busy); });
}

void DeliveryLoop(es_client_s* c) {
  Global& g = G();
  std::unique_lock<std::mutex> lock(g.mu);
  while (!c->stopping) {
    if (g.queue.empty() || g.hold != standin::Hold::Off) {
      g.busy = false;
      g.idle_cv.notify_all();
      g.work_cv.wait(lock);
      continue;
    }
    g.busy = true;
    Queued queued = std::move(g.queue.front());
    g.queue.pop_front();
    std::unique_ptr<Owned> owned = BuildLocked(*c, queued);
    const es_message_t* msg = &owned->msg;
    g.live.emplace(msg, std::move(owned));
    g.delivered++;
    if (standin::AuthRecord* r = RecordLocked(g, queued.auth_index, queued.records_epoch)) {
      r->delivered = true;
      r->delivered_ticks = NowTicks();
    }
    lock.unlock();
    c->handler(c, msg);
    lock.lock();
    ReleaseLocked(g, msg, false);
  }
  g.busy = false;
  g.idle_cv.notify_all();
}

// es_delete_client must be called from the thread that called es_new_client (ESClient.h, macOS 12-26); from the
// client's own handler it could never return (it waits for the handler). Both are fatal, as on macOS.
void CheckDeleteThreadLocked(const es_client_s& client) {
  if (std::this_thread::get_id() == client.delivery.get_id()) {
    Fatal("es_delete_client called from the client's own handler block (it must be called from the thread "
          "that called es_new_client)");
  }
  if (client.creator != std::this_thread::get_id()) {
    Fatal("es_delete_client called from another thread than the one that called es_new_client");
  }
}

Owned* OwnerOfExecLocked(Global& g, const es_event_exec_t* event) {
  auto* msg = reinterpret_cast<const es_message_t*>(reinterpret_cast<const char*>(event) -
                                                    offsetof(es_message_t, event));
  auto it = g.live.find(msg);
  if (it == g.live.end()) {
    ViolationLocked(g, "es_exec_* on a message that is no longer valid (use after release)", true);
    return nullptr;
  }
  return it->second.get();
}

}  // namespace

namespace {

// One answer to an AUTH message: flags_answer says which function gave it (es_respond_flags_result or
// es_respond_auth_result); AUTH_OPEN accepts only the former, every other AUTH event only the latter.
es_respond_result_t RecordAnswer(es_client_t* client, const es_message_t* message, bool flags_answer,
                                 es_auth_result_t result, uint32_t flags, bool cache) {
  const uint64_t now = NowTicks();
  Global& g = G();
  std::lock_guard<std::mutex> lock(g.mu);
  const char* fn = flags_answer ? "es_respond_flags_result" : "es_respond_auth_result";
  if (client == nullptr || message == nullptr) return ES_RESPOND_RESULT_ERR_INVALID_ARGUMENT;
  auto it = g.live.find(message);
  if (it == g.live.end()) {
    ViolationLocked(g, std::string(fn) + " on a message that is no longer valid (not retained)", true);
    return ES_RESPOND_RESULT_NOT_FOUND;
  }
  Owned& o = *it->second;
  if (!IsAuth(o.msg.event_type)) return ES_RESPOND_RESULT_ERR_EVENT_TYPE;
  standin::AuthRecord* record = RecordLocked(g, o.auth_index, o.records_epoch);
  if (record == nullptr) return ES_RESPOND_RESULT_NOT_FOUND;  // forgotten by Reset
  standin::AuthRecord& r = *record;
  if ((o.msg.event_type == ES_EVENT_TYPE_AUTH_OPEN) != flags_answer) {
    ViolationLocked(g, std::string(fn) + " is the wrong answer for AUTH message '" + r.tag + "'", false);
    return ES_RESPOND_RESULT_ERR_EVENT_TYPE;
  }
  if (++r.answers > 1) {
    ViolationLocked(g, "second answer to AUTH message '" + r.tag + "'", true);
    return ES_RESPOND_RESULT_ERR_DUPLICATE_RESPONSE;
  }
  r.flags_answer = flags_answer;
  r.flags = flags;
  // A flags answer allows the open when it keeps every requested access bit (FREAD | FWRITE).
  const uint32_t wanted = static_cast<uint32_t>(r.requested_fflag) & 0x3u;
  r.result = flags_answer ? ((flags & wanted) == wanted && (wanted != 0 || flags != 0) ? ES_AUTH_RESULT_ALLOW
                                                                                    : ES_AUTH_RESULT_DENY)
                          : result;
  r.cache = cache;
  r.answered_ticks = now;
  if (!flags_answer) EsCacheRecordAnswer(o.msg, result, cache);
  if (now > r.deadline_ticks) ViolationLocked(g, "AUTH message '" + r.tag + "' answered after its deadline", true);
  return ES_RESPOND_RESULT_SUCCESS;
}

}  // namespace

// ---- the ES cache ----
// ES caches an AUTH_EXEC answer given with cache=true per (process executable, target executable) file pair, for
// every client (ESClient.h: es_respond_auth_result, es_clear_cache). A later exec of the same pair then produces
// no AUTH message: the cached result applies at once; the NOTIFY_EXEC of an allowed exec is still produced. Here
// files are their paths (the stand-in has no vnodes); standin.modifyFile(path) drops the entries naming the file,
// as ES does when a cached file is modified. A scripted auth_exec that hits the cache is not delivered as AUTH:
// when the cached result is ALLOW it is delivered as the NOTIFY_EXEC ES still sends (if subscribed), and it is
// recorded in cacheHits. es_clear_cache and es_new_client empty the cache.

namespace {

struct EsCache {
  std::mutex mu;
  std::map<std::pair<std::string, std::string>, es_auth_result_t> entries;  // (process exe, target exe) → result
  std::vector<standin::CacheHit> hits;
};

EsCache& Cache() {
  static EsCache* c = new EsCache();
  return *c;
}

std::string PathOf(const es_process_t* p) {
  if (p == nullptr || p->executable == nullptr) return {};
  return std::string(p->executable->path.data, p->executable->path.length);
}

// g.mu held (the delivery loop). False: the message is answered from the cache and not delivered as it is.
bool EsCacheAdmitsLocked(const es_client_s& c, standin::MessageSpec* spec) {
  if (spec->type != ES_EVENT_TYPE_AUTH_EXEC) return true;
  EsCache& cache = Cache();
  std::lock_guard<std::mutex> lock(cache.mu);
  auto it = cache.entries.find({spec->process.executable, spec->target.executable});
  if (it == cache.entries.end()) return true;
  cache.hits.push_back(standin::CacheHit{spec->tag, it->second});
  if (it->second != ES_AUTH_RESULT_ALLOW || c.subscriptions.count(ES_EVENT_TYPE_NOTIFY_EXEC) == 0) return false;
  spec->type = ES_EVENT_TYPE_NOTIFY_EXEC;  // the exec runs: ES still reports it
  return true;
}

void EsCacheRecordAnswer(const es_message_t& msg, es_auth_result_t result, bool cache) {
  if (!cache || msg.event_type != ES_EVENT_TYPE_AUTH_EXEC) return;
  EsCache& c = Cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.entries[{PathOf(msg.process), PathOf(msg.event.exec.target)}] = result;
}

void EsCacheClear() {
  EsCache& c = Cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.entries.clear();
}

}  // namespace

namespace standin {

std::vector<CacheEntry> CacheEntries() {
  EsCache& c = Cache();
  std::lock_guard<std::mutex> lock(c.mu);
  std::vector<CacheEntry> out;
  for (const auto& [key, result] : c.entries) out.push_back(CacheEntry{key.first, key.second, result});
  return out;
}

std::vector<CacheHit> CacheHits() {
  EsCache& c = Cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.hits;
}

void ModifyFile(const std::string& path) {
  EsCache& c = Cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto it = c.entries.begin(); it != c.entries.end();) {
    it = it->first.first == path || it->first.second == path ? c.entries.erase(it) : std::next(it);
  }
}

void ResetEsCache() {
  EsCache& c = Cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.entries.clear();
  c.hits.clear();
}

}  // namespace standin

// ---- failure injection (es_mute_*, es_unsubscribe*, es_clear_cache) ----
// A call named in the set fails (ES_RETURN_ERROR / ES_CLEAR_CACHE_RESULT_ERR_THROTTLE) until the set is changed
// or the stand-in reset; each injected failure is counted.

namespace {

struct Injection {
  std::mutex mu;
  std::set<std::string> failing;
  uint64_t injected = 0;
};

Injection& Inj() {
  static Injection* i = new Injection();
  return *i;
}

bool InjectedFailure(const char* call) {
  Injection& i = Inj();
  std::lock_guard<std::mutex> lock(i.mu);
  if (i.failing.count(call) == 0) return false;
  i.injected++;
  return true;
}

}  // namespace

namespace standin {

void SetFailingCalls(std::vector<std::string> calls) {
  Injection& i = Inj();
  std::lock_guard<std::mutex> lock(i.mu);
  i.failing = std::set<std::string>(calls.begin(), calls.end());
}

uint64_t InjectedFailures() {
  Injection& i = Inj();
  std::lock_guard<std::mutex> lock(i.mu);
  return i.injected;
}

void ResetInjection() {
  Injection& i = Inj();
  std::lock_guard<std::mutex> lock(i.mu);
  i.failing.clear();
  i.injected = 0;
}

}  // namespace standin

// ---- Apple's C API ----

extern "C" {

uint64_t mach_absolute_time(void) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
  return static_cast<uint64_t>(static_cast<unsigned __int128>(ns) * g_timebase_denom.load() /
                               g_timebase_numer.load());
}

kern_return_t mach_timebase_info(mach_timebase_info_t info) {
  g_timebase_read = true;
  info->numer = g_timebase_numer.load();
  info->denom = g_timebase_denom.load();
  return 0;
}

uid_t audit_token_to_auid(audit_token_t t) { return t.val[0]; }
uid_t audit_token_to_euid(audit_token_t t) { return t.val[1]; }
gid_t audit_token_to_egid(audit_token_t t) { return t.val[2]; }
uid_t audit_token_to_ruid(audit_token_t t) { return t.val[3]; }
gid_t audit_token_to_rgid(audit_token_t t) { return t.val[4]; }
pid_t audit_token_to_pid(audit_token_t t) { return static_cast<pid_t>(t.val[5]); }
int audit_token_to_asid(audit_token_t t) { return static_cast<int>(t.val[6]); }
int audit_token_to_pidversion(audit_token_t t) { return static_cast<int>(t.val[7]); }

es_new_client_result_t es_new_client(es_client_t** client, es_handler_block_t handler) {
  if (client == nullptr || handler == nullptr) return ES_NEW_CLIENT_RESULT_ERR_INVALID_ARGUMENT;
  Global& g = G();
  std::lock_guard<std::mutex> lock(g.mu);
  if (g.next_new_client_result != 0) return static_cast<es_new_client_result_t>(g.next_new_client_result);
  if (g.client != nullptr) return ES_NEW_CLIENT_RESULT_ERR_TOO_MANY_CLIENTS;  // the stand-in has room for one
  auto* c = new es_client_s();
  c->handler = Block_copy(handler);
  c->creator = std::this_thread::get_id();
  EsCacheClear();  // a new client clears the cache (ESClient.h)
  c->delivery = std::thread(DeliveryLoop, c);
  g.client = c;
  g.clients_created++;
  *client = c;
  return ES_NEW_CLIENT_RESULT_SUCCESS;
}

es_return_t es_delete_client(es_client_t* client) {
  if (client == nullptr) return ES_RETURN_SUCCESS;
  Global& g = G();
  {
    std::lock_guard<std::mutex> lock(g.mu);
    CheckDeleteThreadLocked(*client);
    client->stopping = true;
  }
  g.work_cv.notify_all();
  g.idle_cv.notify_all();  // an unsubscribe waiting for the backlog stops waiting
  client->delivery.join();
  std::lock_guard<std::mutex> lock(g.mu);
  Block_release(client->handler);
  if (g.client == client) {
    g.client = nullptr;
    DropQueuedLocked(g);
  }
  g.clients_deleted++;
  delete client;
  return ES_RETURN_SUCCESS;
}

es_return_t es_subscribe(es_client_t* client, const es_event_type_t* events, uint32_t count) {
  std::lock_guard<std::mutex> lock(G().mu);
  for (uint32_t i = 0; i < count; i++) client->subscriptions.insert(events[i]);
  return ES_RETURN_SUCCESS;
}

es_return_t es_unsubscribe(es_client_t* client, const es_event_type_t* events, uint32_t count) {
  if (InjectedFailure("es_unsubscribe")) return ES_RETURN_ERROR;
  std::unique_lock<std::mutex> lock(G().mu);
  for (uint32_t i = 0; i < count; i++) client->subscriptions.erase(events[i]);
  DeliverBacklogOnUnsubscribe(G(), client, lock);
  return ES_RETURN_SUCCESS;
}

es_return_t es_unsubscribe_all(es_client_t* client) {
  if (InjectedFailure("es_unsubscribe_all")) return ES_RETURN_ERROR;
  std::unique_lock<std::mutex> lock(G().mu);
  client->subscriptions.clear();
  DeliverBacklogOnUnsubscribe(G(), client, lock);
  return ES_RETURN_SUCCESS;
}

es_respond_result_t es_respond_auth_result(es_client_t* client, const es_message_t* message, es_auth_result_t result,
                                           bool cache) {
  return RecordAnswer(client, message, false, result, 0, cache);
}

es_respond_result_t es_respond_flags_result(es_client_t* client, const es_message_t* message,
                                            uint32_t authorized_flags, bool cache) {
  return RecordAnswer(client, message, true, ES_AUTH_RESULT_ALLOW, authorized_flags, cache);
}

es_return_t es_mute_process(es_client_t* client, const audit_token_t* token) {
  if (InjectedFailure("es_mute_process")) return ES_RETURN_ERROR;
  std::lock_guard<std::mutex> lock(G().mu);
  client->muted_processes.push_back(*token);
  return ES_RETURN_SUCCESS;
}

es_return_t es_mute_path(es_client_t* client, const char* path, es_mute_path_type_t type) {
  if (InjectedFailure("es_mute_path")) return ES_RETURN_ERROR;
  std::lock_guard<std::mutex> lock(G().mu);
  client->muted_paths.emplace_back(path, type);
  return ES_RETURN_SUCCESS;
}

es_return_t es_mute_path_events(es_client_t* client, const char* path, es_mute_path_type_t type,
                                const es_event_type_t* events, size_t count) {
  if (InjectedFailure("es_mute_path_events")) return ES_RETURN_ERROR;
  std::lock_guard<std::mutex> lock(G().mu);
  auto& set = client->muted_path_events[{path, type}];
  for (size_t i = 0; i < count; i++) set.insert(events[i]);
  return ES_RETURN_SUCCESS;
}

es_clear_cache_result_t es_clear_cache(es_client_t* client) {
  if (client == nullptr) return ES_CLEAR_CACHE_RESULT_ERR_INTERNAL;
  if (InjectedFailure("es_clear_cache")) return ES_CLEAR_CACHE_RESULT_ERR_THROTTLE;
  EsCacheClear();
  return ES_CLEAR_CACHE_RESULT_SUCCESS;
}

void es_retain_message(const es_message_t* msg) {
  Global& g = G();
  std::lock_guard<std::mutex> lock(g.mu);
  auto it = g.live.find(msg);
  if (it == g.live.end()) {
    ViolationLocked(g, "es_retain_message on a message that is no longer valid", true);
    return;
  }
  it->second->refs++;
  g.retains++;
}

void es_release_message(const es_message_t* msg) {
  Global& g = G();
  std::lock_guard<std::mutex> lock(g.mu);
  ReleaseLocked(g, msg, true);
}

uint32_t es_exec_arg_count(const es_event_exec_t* event) {
  Global& g = G();
  std::lock_guard<std::mutex> lock(g.mu);
  Owned* o = OwnerOfExecLocked(g, event);
  return o == nullptr ? 0 : static_cast<uint32_t>(o->args.size());
}

uint32_t es_exec_env_count(const es_event_exec_t* event) {
  Global& g = G();
  std::lock_guard<std::mutex> lock(g.mu);
  Owned* o = OwnerOfExecLocked(g, event);
  return o == nullptr ? 0 : static_cast<uint32_t>(o->env.size());
}

es_string_token_t es_exec_arg(const es_event_exec_t* event, uint32_t index) {
  Global& g = G();
  std::lock_guard<std::mutex> lock(g.mu);
  Owned* o = OwnerOfExecLocked(g, event);
  if (o == nullptr || index >= o->args.size()) {
    ViolationLocked(g, "es_exec_arg index out of range (undefined behaviour in ES)", true);
    return es_string_token_t{0, nullptr};
  }
  return es_string_token_t{o->args[index].second, o->packed_args + o->args[index].first};
}

es_string_token_t es_exec_env(const es_event_exec_t* event, uint32_t index) {
  Global& g = G();
  std::lock_guard<std::mutex> lock(g.mu);
  Owned* o = OwnerOfExecLocked(g, event);
  if (o == nullptr || index >= o->env.size()) {
    ViolationLocked(g, "es_exec_env index out of range (undefined behaviour in ES)", true);
    return es_string_token_t{0, nullptr};
  }
  return es_string_token_t{o->env[index].second, o->packed_env + o->env[index].first};
}

}  // extern "C"

// The stand-in's answer to the macOS-only self audit token (native/macos/self_audit_token.cc on a Mac).
namespace macsensor {
bool GetSelfAuditToken(audit_token_t* out) {
  standin::TokenSpec t;
  t.pid = getpid();
  t.pidversion = 1;
  t.euid = geteuid();
  t.ruid = getuid();
  t.egid = getegid();
  t.rgid = getgid();
  *out = MakeToken(t);
  return true;
}
}  // namespace macsensor

// ---- control surface ----

namespace standin {

void Enqueue(MessageSpec spec) {
  Global& g = G();
  {
    std::lock_guard<std::mutex> lock(g.mu);
    EnqueueLocked(g, std::move(spec));
  }
  g.work_cv.notify_all();
}

bool WaitIdle(int timeout_ms) {
  Global& g = G();
  std::unique_lock<std::mutex> lock(g.mu);
  return g.idle_cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    return g.client == nullptr || (g.queue.empty() && !g.busy);
  });
}

std::vector<AuthRecord> AuthRecords() {
  std::lock_guard<std::mutex> lock(G().mu);
  return G().auth_records;
}

State GetState() {
  Global& g = G();
  const uint64_t now = NowTicks();
  std::lock_guard<std::mutex> lock(g.mu);
  for (const AuthRecord& r : g.auth_records) {
    if (r.answers == 0 && !r.dropped && now > r.deadline_ticks) {
      std::string what = "AUTH message '" + r.tag + "' not answered by its deadline";
      if (std::find(g.violations.begin(), g.violations.end(), what) == g.violations.end()) {
        ViolationLocked(g, what, true);
      }
    }
  }
  State s;
  s.client_alive = g.client != nullptr;
  s.killed = g.killed;
  s.violations = g.violations;
  s.delivered = g.delivered;
  s.suppressed = g.suppressed;
  s.queued = g.queue.size();
  s.live_messages = g.live.size();
  s.retains = g.retains;
  s.releases = g.releases;
  s.clients_created = g.clients_created;
  if (g.client != nullptr) {
    s.subscriptions.assign(g.client->subscriptions.begin(), g.client->subscriptions.end());
    s.muted_paths = g.client->muted_paths;
    for (const auto& [key, events] : g.client->muted_path_events) s.muted_paths.push_back(key);
    for (const audit_token_t& t : g.client->muted_processes) s.muted_pids.push_back(audit_token_to_pid(t));
  }
  s.held = g.hold != Hold::Off;
  s.timebase_numer = g_timebase_numer.load();
  s.timebase_denom = g_timebase_denom.load();
  s.clients_deleted = g.clients_deleted;
  return s;
}

void Reset() {
  Global& g = G();
  std::lock_guard<std::mutex> lock(g.mu);
  g.queue.clear();
  g.hold = Hold::Off;
  g.records_epoch++;
  g.auth_records.clear();
  g.violations.clear();
  g.killed = false;
  g.delivered = g.suppressed = g.retains = g.releases = 0;
  g.next_new_client_result = 0;
  ResetInjection();
  ResetEsCache();
  // Messages still held stay in g.live: a leak must remain visible across a reset.
}

void SetNewClientResult(int result) {
  std::lock_guard<std::mutex> lock(G().mu);
  G().next_new_client_result = result;
}

double TicksToMicros(uint64_t ticks) {
  return static_cast<double>(ticks) * g_timebase_numer.load() / g_timebase_denom.load() / 1000.0;
}

void HoldDelivery(Hold hold) {
  Global& g = G();
  {
    std::lock_guard<std::mutex> lock(g.mu);
    g.hold = hold;
  }
  g.work_cv.notify_all();
}

bool SetTimebase(uint32_t numer, uint32_t denom, std::string* error) {
  if (numer == 0 || denom == 0) {
    *error = "the timebase needs a non-zero numerator and denominator";
    return false;
  }
  if (g_timebase_read.load()) {
    *error = "the Mach timebase was already read (MachClock keeps it for the life of the process): set it right "
             "after loading the addon";
    return false;
  }
  g_timebase_numer = numer;
  g_timebase_denom = denom;
  return true;
}

bool SelfTestMisuse(const std::string& what) {
  if (what == "cstring") {
    MessageSpec spec;
    spec.process.executable = "/bin/zsh";
    Queued q;
    q.spec = spec;
    es_client_s scratch;
    std::unique_ptr<Owned> o = BuildLocked(scratch, q);
    volatile size_t n = std::strlen(o->msg.event.exec.target->executable->path.data);  // runs into the guard page
    std::fprintf(stderr, "ES stand-in: strlen of a string token returned %zu instead of crashing\n", n);
    return true;
  }
  es_client_t* client = nullptr;
  if (what == "deleteFromHandler") {
    if (es_new_client(&client, ^(es_client_t* c, const es_message_t*) { es_delete_client(c); }) != 0) return true;
    const es_event_type_t exit_event = ES_EVENT_TYPE_NOTIFY_EXIT;
    es_subscribe(client, &exit_event, 1);
    MessageSpec spec;
    spec.type = ES_EVENT_TYPE_NOTIFY_EXIT;
    Enqueue(spec);
    std::this_thread::sleep_for(std::chrono::seconds(10));  // the handler aborts the process meanwhile
    return true;
  }
  if (what == "deleteFromOtherThread") {
    if (es_new_client(&client, ^(es_client_t*, const es_message_t*) {}) != 0) return true;
    std::thread([client] { es_delete_client(client); }).join();
    return true;
  }
  return false;
}

}  // namespace standin
