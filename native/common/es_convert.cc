#include "es_convert.h"

#include <bsm/libbsm.h>

#include <algorithm>

namespace macsensor {
namespace {

std::string TokenString(const es_string_token_t& t) {
  std::string_view v = TokenView(t);
  return std::string(v.data(), v.size());
}

RawAuditToken ConvertToken(const audit_token_t& t) {
  RawAuditToken out;
  out.pid = audit_token_to_pid(t);
  out.pidversion = audit_token_to_pidversion(t);
  out.euid = audit_token_to_euid(t);
  out.ruid = audit_token_to_ruid(t);
  out.egid = audit_token_to_egid(t);
  out.rgid = audit_token_to_rgid(t);
  out.auid = audit_token_to_auid(t);
  out.asid = audit_token_to_asid(t);
  return out;
}

std::string HexOf(const uint8_t* bytes, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

double TimespecMs(const struct timespec& ts) {
  return static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// The process fields: identity, parentage, credentials, code signature, executable, tty, start time.
void FillProcess(const es_process_t* proc, uint32_t version, RawEvent& ev) {
  const audit_token_t& token = proc->audit_token;
  ev.pid = audit_token_to_pid(token);
  ev.ppid = proc->ppid;
  ev.original_ppid = proc->original_ppid;
  ev.pgid = proc->group_id;
  ev.sid = proc->session_id;
  ev.uid = audit_token_to_ruid(token);
  ev.euid = audit_token_to_euid(token);
  ev.gid = audit_token_to_rgid(token);
  ev.egid = audit_token_to_egid(token);
  ev.audit_token = ConvertToken(token);

  if (proc->executable != nullptr) {
    ev.executable = TokenString(proc->executable->path);
    ev.executable_truncated = proc->executable->path_truncated;
  } else {
    ev.partial += ev.partial.empty() ? "executable" : ",executable";
  }

  RawCodeSignature cs;
  cs.signing_id = TokenString(proc->signing_id);
  cs.team_id = TokenString(proc->team_id);
  cs.cdhash_hex = HexOf(proc->cdhash, sizeof(proc->cdhash));
  cs.flags = proc->codesigning_flags;
  cs.platform_binary = proc->is_platform_binary;
  ev.code_signature = std::move(cs);

  if (version >= 2 && proc->tty != nullptr) ev.tty = TokenString(proc->tty->path);
  if (version >= 3) {
    ev.start_time_ms = static_cast<double>(proc->start_time.tv_sec) * 1000.0 +
                       static_cast<double>(proc->start_time.tv_usec) / 1000.0;
  }
  if (version >= 4) {
    ev.responsible_audit_token = ConvertToken(proc->responsible_audit_token);
    ev.parent_audit_token = ConvertToken(proc->parent_audit_token);
  }
}

bool NameMatches(std::string_view entry, const std::vector<std::string>& names) {
  size_t eq = entry.find('=');
  if (eq == std::string_view::npos) return false;
  std::string_view name = entry.substr(0, eq);
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return name == n; });
}

void FillExec(const es_event_exec_t* exec, uint32_t version, const EsConvertOptions& options, RawEvent& ev) {
  // es_exec_arg tokens point into the message; each is copied as (pointer, length) before the message goes.
  uint32_t argc = es_exec_arg_count(exec);
  std::vector<std::string> args;
  args.reserve(argc);
  for (uint32_t i = 0; i < argc; i++) args.push_back(TokenString(es_exec_arg(exec, i)));
  ev.args = std::move(args);

  if (!options.env_names.empty()) {
    uint32_t envc = es_exec_env_count(exec);
    for (uint32_t i = 0; i < envc; i++) {
      std::string_view entry = TokenView(es_exec_env(exec, i));
      if (NameMatches(entry, options.env_names)) ev.env.emplace_back(entry.data(), entry.size());
    }
  }
  if (version >= 2 && exec->script != nullptr) ev.script = TokenString(exec->script->path);
  if (version >= 3 && exec->cwd != nullptr) ev.cwd = TokenString(exec->cwd->path);
}

// An es_file_t's path and truncation flag into (path, truncated).
void FilePath(const es_file_t* file, std::string* path, bool* truncated) {
  if (file == nullptr) return;
  *path = TokenString(file->path);
  *truncated = file->path_truncated;
}

// A destination given as a directory and a name (ES_DESTINATION_TYPE_NEW_PATH): dir + "/" + name.
void JoinedPath(const es_file_t* dir, const es_string_token_t& filename, std::string* path, bool* truncated) {
  FilePath(dir, path, truncated);
  if (path->empty() || path->back() != '/') path->push_back('/');
  std::string_view name = TokenView(filename);
  path->append(name.data(), name.size());
}

// The path a create or rename leads to (their destination unions differ in type, not in shape); false when ES
// gave no file.
template <typename Destination>
bool DestinationPath(es_destination_type_t type, const Destination& destination, RawFile* file) {
  if (type == ES_DESTINATION_TYPE_NEW_PATH) {
    JoinedPath(destination.new_path.dir, destination.new_path.filename, &file->path, &file->path_truncated);
    return destination.new_path.dir != nullptr;
  }
  FilePath(destination.existing_file, &file->path, &file->path_truncated);
  return destination.existing_file != nullptr;
}

// Fills ev.file for a file event; a missing file (a null pointer ES should never send) marks the event partial.
void FillFile(const es_message_t* msg, RawEvent& ev) {
  RawFile file;
  bool have = true;
  switch (msg->event_type) {
    case ES_EVENT_TYPE_AUTH_OPEN:
    case ES_EVENT_TYPE_NOTIFY_OPEN: {
      const es_event_open_t& open = msg->event.open;
      have = open.file != nullptr;
      FilePath(open.file, &file.path, &file.path_truncated);
      // fflag is the kernel's mask (FREAD 0x1, FWRITE 0x2), already the contract's bits.
      file.open_flags = static_cast<uint32_t>(open.fflag) & (kRawOpenRead | kRawOpenWrite);
      break;
    }
    case ES_EVENT_TYPE_NOTIFY_CREATE: {
      const es_event_create_t& create = msg->event.create;
      have = DestinationPath(create.destination_type, create.destination, &file);
      break;
    }
    case ES_EVENT_TYPE_NOTIFY_CLOSE:
      have = msg->event.close.target != nullptr;
      FilePath(msg->event.close.target, &file.path, &file.path_truncated);
      break;
    case ES_EVENT_TYPE_NOTIFY_RENAME: {
      const es_event_rename_t& rename = msg->event.rename;
      have = DestinationPath(rename.destination_type, rename.destination, &file);
      if (rename.source != nullptr) {
        std::string source;
        FilePath(rename.source, &source, &file.original_path_truncated);
        file.original_path = std::move(source);
      } else {
        have = false;
      }
      break;
    }
    case ES_EVENT_TYPE_NOTIFY_UNLINK:
      have = msg->event.unlink.target != nullptr;
      FilePath(msg->event.unlink.target, &file.path, &file.path_truncated);
      break;
    default:
      break;
  }
  if (!have) ev.partial += ev.partial.empty() ? "file" : ",file";
  ev.file = std::move(file);
}

RawEventKind FileKind(es_event_type_t type) {
  switch (type) {
    case ES_EVENT_TYPE_NOTIFY_CREATE:
      return RawEventKind::Create;
    case ES_EVENT_TYPE_NOTIFY_CLOSE:
      return RawEventKind::Modify;
    case ES_EVENT_TYPE_NOTIFY_RENAME:
      return RawEventKind::Rename;
    case ES_EVENT_TYPE_NOTIFY_UNLINK:
      return RawEventKind::Delete;
    default:
      return RawEventKind::Open;
  }
}

}  // namespace

bool EsIsConvertible(const es_message_t* msg) {
  switch (msg->event_type) {
    case ES_EVENT_TYPE_AUTH_EXEC:
    case ES_EVENT_TYPE_NOTIFY_EXEC:
    case ES_EVENT_TYPE_NOTIFY_FORK:
    case ES_EVENT_TYPE_NOTIFY_EXIT:
    case ES_EVENT_TYPE_AUTH_OPEN:
    case ES_EVENT_TYPE_NOTIFY_OPEN:
    case ES_EVENT_TYPE_NOTIFY_CREATE:
    case ES_EVENT_TYPE_NOTIFY_RENAME:
    case ES_EVENT_TYPE_NOTIFY_UNLINK:
      return true;
    case ES_EVENT_TYPE_NOTIFY_CLOSE:
      // A close is reported only when the file was written ("modification"); plain closes are the bulk of all
      // file events and no rule asks for them.
      return msg->event.close.modified;
    default:
      return false;
  }
}

RawEvent ConvertEsMessage(const es_message_t* msg, const EsConvertOptions& options) {
  RawEvent ev;
  ev.source = "es";
  ev.time_ms = TimespecMs(msg->time);
  ev.message_version = msg->version;
  const uint32_t version = msg->version;

  switch (msg->event_type) {
    case ES_EVENT_TYPE_AUTH_EXEC:
    case ES_EVENT_TYPE_NOTIFY_EXEC: {
      ev.kind = RawEventKind::Exec;
      const es_event_exec_t* exec = &msg->event.exec;
      // The target is the process after the new image replaced the old one (new pidversion, maybe new uids).
      FillProcess(exec->target != nullptr ? exec->target : msg->process, version, ev);
      FillExec(exec, version, options, ev);
      break;
    }
    case ES_EVENT_TYPE_NOTIFY_FORK:
      ev.kind = RawEventKind::Fork;
      FillProcess(msg->event.fork.child != nullptr ? msg->event.fork.child : msg->process, version, ev);
      break;
    case ES_EVENT_TYPE_NOTIFY_EXIT:
      ev.kind = RawEventKind::Exit;
      FillProcess(msg->process, version, ev);
      ev.exit_status = msg->event.exit.stat;
      break;
    case ES_EVENT_TYPE_AUTH_OPEN:
    case ES_EVENT_TYPE_NOTIFY_OPEN:
    case ES_EVENT_TYPE_NOTIFY_CREATE:
    case ES_EVENT_TYPE_NOTIFY_CLOSE:
    case ES_EVENT_TYPE_NOTIFY_RENAME:
    case ES_EVENT_TYPE_NOTIFY_UNLINK:
      ev.kind = FileKind(msg->event_type);
      FillProcess(msg->process, version, ev);  // the acting process
      FillFile(msg, ev);
      break;
    default:
      ev.partial = "unsupported event type";
      break;
  }
  return ev;
}

uint64_t EsSeqGapTracker::Observe(const es_message_t* msg) {
  if (msg->version >= 4) {
    uint64_t gap = 0;
    if (have_global_ && msg->global_seq_num > last_global_ + 1) gap = msg->global_seq_num - last_global_ - 1;
    have_global_ = true;
    last_global_ = msg->global_seq_num;
    last_per_type_[static_cast<uint32_t>(msg->event_type)] = msg->seq_num;
    return gap;
  }
  if (msg->version >= 2) {
    auto key = static_cast<uint32_t>(msg->event_type);
    auto it = last_per_type_.find(key);
    uint64_t gap = 0;
    if (it != last_per_type_.end() && msg->seq_num > it->second + 1) gap = msg->seq_num - it->second - 1;
    last_per_type_[key] = msg->seq_num;
    return gap;
  }
  return 0;
}

}  // namespace macsensor
