// The raw event contract shared by every native backend; its TypeScript twin is src/sensor/rawEvent.ts.
// Plain data only: backends fill it on their own threads, the N-API glue turns it into a JS object on the
// main thread. Strings are byte strings (std::string holds any bytes, including NUL and invalid UTF-8).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace macsensor {

// Process life (Exec, Fork, Exit) and file events (the rest); a file event's acting process is `pid` and, where
// the backend has them, the process fields below; the file itself is in `file`.
enum class RawEventKind : uint8_t { Exec, Fork, Exit, Open, Create, Modify, Rename, Delete };

// FREAD / FWRITE as macOS's fflag bits (<sys/fcntl.h>); Linux backends map O_ACCMODE onto them.
constexpr uint32_t kRawOpenRead = 0x1;
constexpr uint32_t kRawOpenWrite = 0x2;

struct RawFile {
  std::string path;  // the file's path; after a rename, the destination
  bool path_truncated = false;
  std::optional<std::string> original_path;  // rename: the source path
  bool original_path_truncated = false;
  std::optional<uint32_t> open_flags;  // open: kRawOpenRead | kRawOpenWrite
};

struct RawAuditToken {
  int32_t pid = 0;
  int32_t pidversion = 0;
  uint32_t euid = 0;
  uint32_t ruid = 0;
  uint32_t egid = 0;
  uint32_t rgid = 0;
  uint32_t auid = 0;
  int32_t asid = 0;
};

struct RawCodeSignature {
  std::string signing_id;
  std::string team_id;
  std::string cdhash_hex;
  uint32_t flags = 0;
  bool platform_binary = false;
};

struct RawAuthRequest {
  uint64_t id = 0;
  double deadline_ms = 0;  // epoch milliseconds
};

struct RawEvent {
  const char* source = "";  // "linux" | "es" | "eslogger": static strings only
  RawEventKind kind = RawEventKind::Exec;
  uint64_t seq = 0;
  double time_ms = 0;
  std::optional<double> kernel_time_ms;  // when the kernel stamped the event (epoch ms), if the source says

  int32_t pid = 0;
  std::optional<int32_t> ppid, original_ppid, pgid, sid;
  std::optional<uint32_t> uid, euid, gid, egid;

  std::optional<std::string> executable;
  bool executable_truncated = false;
  std::optional<std::vector<std::string>> args;
  bool args_truncated = false;
  std::vector<std::string> env;
  std::optional<std::string> cwd, tty, script;
  std::optional<double> start_time_ms;
  std::optional<int32_t> exit_status;

  std::optional<RawCodeSignature> code_signature;
  std::optional<RawAuditToken> audit_token, parent_audit_token, responsible_audit_token;
  std::optional<uint32_t> message_version;

  std::optional<RawFile> file;  // file events only

  std::string partial;  // empty when the event is whole
  std::optional<RawAuthRequest> auth;
};

}  // namespace macsensor
