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

class EventRelevance {
 public:
  static constexpr uint8_t KindBit(RawEventKind kind) {
    return static_cast<uint8_t>(1u << static_cast<unsigned>(kind));
  }

  // Before the consumer says anything: every exec, no fork or exit.
  EventRelevance() = default;
  // kinds: a mask of KindBit(); exec_prefilter: for execs of a wanted kind (none: every one).
  EventRelevance(uint8_t kinds, std::optional<Prefilter> exec_prefilter)
      : kinds_(kinds), exec_prefilter_(std::move(exec_prefilter)) {}

  bool Wants(const RawEvent& ev) const {
    if ((kinds_ & KindBit(ev.kind)) == 0) return false;
    if (ev.kind != RawEventKind::Exec || !exec_prefilter_.has_value()) return true;
    // Without its executable or its arguments (a partial event) the exec cannot be ruled out.
    if (!ev.executable.has_value() || !ev.args.has_value()) return true;
    std::vector<std::string_view> args(ev.args->begin(), ev.args->end());
    return exec_prefilter_->IsCandidate(*ev.executable, args);
  }

 private:
  uint8_t kinds_ = KindBit(RawEventKind::Exec);
  std::optional<Prefilter> exec_prefilter_;
};

}  // namespace macsensor
