#include "pending_auth.h"

namespace macsensor {

uint64_t PendingAuthTable::Add(RetainedMessage message, uint64_t deadline_ticks) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t id = next_id_++;
  PendingAuth& entry = pending_[id];
  entry.id = id;
  entry.message = std::move(message);
  entry.deadline_ticks = deadline_ticks;
  return id;
}

uint64_t PendingAuthTable::AddAnswered(Answerer who) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t id = next_id_++;
  RememberLocked(id, who);
  return id;
}

TakeStatus PendingAuthTable::Take(uint64_t id, Answerer who, std::optional<PendingAuth>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pending_.find(id);
  if (it != pending_.end()) {
    out->emplace(std::move(it->second));
    pending_.erase(it);
    RememberLocked(id, who);
    return TakeStatus::Taken;
  }
  auto done = answered_.find(id);
  if (done == answered_.end()) return TakeStatus::Unknown;
  switch (done->second) {
    case Answerer::JavaScript:
      return TakeStatus::AnsweredByJs;
    case Answerer::Watchdog:
      return TakeStatus::AnsweredByWatchdog;
    case Answerer::Native:
      return TakeStatus::AnsweredNative;
    case Answerer::ShortDeadline:
      return TakeStatus::AnsweredShortDeadline;
  }
  return TakeStatus::Unknown;
}

std::vector<PendingAuth> PendingAuthTable::TakeAll() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PendingAuth> out;
  out.reserve(pending_.size());
  for (auto& [id, entry] : pending_) {
    RememberLocked(id, Answerer::Native);
    out.push_back(std::move(entry));
  }
  pending_.clear();
  return out;
}

size_t PendingAuthTable::Size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

void PendingAuthTable::RememberLocked(uint64_t id, Answerer who) {
  answered_[id] = who;
  answered_order_.push_back(id);
  if (answered_order_.size() > kRemembered) {
    answered_.erase(answered_order_.front());
    answered_order_.pop_front();
  }
}

}  // namespace macsensor
