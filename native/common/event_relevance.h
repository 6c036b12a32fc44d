// Which raw events the consumer wants at once: those some loaded rule could match (a necessary condition derived
// from the rules' EQL by src/agent/eventRelevance.ts and handed down with setRelevance). Backends wake
// JavaScript at once for these and let the others wait briefly in the queue (EventDispatcher::TryPush with
// wake=false), so that they ride along with the next batch. A wrong answer delays an event; it never drops or
// reorders one. Plain data; copy it or share it as std::shared_ptr<const EventRelevance>.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "prefilter.h"
#include "raw_event.h"

namespace macsensor {

// "open" → Open, ... "delete" → Delete (the contract's FileEventKind names); nullopt for any other name.
inline std::optional<RawEventKind> FileEventKindNamed(std::string_view name) {
  if (name == "open") return RawEventKind::Open;
  if (name == "create") return RawEventKind::Create;
  if (name == "modify") return RawEventKind::Modify;
  if (name == "rename") return RawEventKind::Rename;
  if (name == "delete") return RawEventKind::Delete;
  return std::nullopt;
}

constexpr uint8_t kFileKindsMask = static_cast<uint8_t>(
    (1u << static_cast<unsigned>(RawEventKind::Open)) | (1u << static_cast<unsigned>(RawEventKind::Create)) |
    (1u << static_cast<unsigned>(RawEventKind::Modify)) | (1u << static_cast<unsigned>(RawEventKind::Rename)) |
    (1u << static_cast<unsigned>(RawEventKind::Delete)));

class EventRelevance {
 public:
  static constexpr uint8_t KindBit(RawEventKind kind) {
    return static_cast<uint8_t>(1u << static_cast<unsigned>(kind));
  }

  // Before the consumer says anything: every exec, no fork or exit.
  EventRelevance() = default;
  // kinds: a mask of KindBit(); exec_prefilter: for execs of a wanted kind (none: every one); file_prefilter: for
  // file events of a wanted kind, over the path and (renames) the original path (none: every one).
  EventRelevance(uint8_t kinds, std::optional<Prefilter> exec_prefilter,
                 std::optional<FilePrefilter> file_prefilter = std::nullopt)
      : kinds_(kinds), exec_prefilter_(std::move(exec_prefilter)), file_prefilter_(std::move(file_prefilter)) {}

  uint8_t kinds() const { return kinds_; }

  bool Wants(const RawEvent& ev) const {
    if ((kinds_ & KindBit(ev.kind)) == 0) return false;
    if ((KindBit(ev.kind) & kFileKindsMask) != 0) {
      if (!file_prefilter_.has_value() || !ev.file.has_value()) return true;
      if (file_prefilter_->IsCandidate(ev.file->path, ev.file->path_truncated)) return true;
      return ev.file->original_path.has_value() &&
             file_prefilter_->IsCandidate(*ev.file->original_path, ev.file->original_path_truncated);
    }
    if (ev.kind != RawEventKind::Exec || !exec_prefilter_.has_value()) return true;
    // Without its executable or its arguments (a partial event) the exec cannot be ruled out.
    if (!ev.executable.has_value() || !ev.args.has_value()) return true;
    std::vector<std::string_view> args(ev.args->begin(), ev.args->end());
    return exec_prefilter_->IsCandidate(*ev.executable, args);
  }

 private:
  uint8_t kinds_ = KindBit(RawEventKind::Exec);
  std::optional<Prefilter> exec_prefilter_;
  std::optional<FilePrefilter> file_prefilter_;
};

}  // namespace macsensor
