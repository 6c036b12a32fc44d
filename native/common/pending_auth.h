// AUTH messages waiting for an answer. Each is retained while it waits and answered EXACTLY once — by
// JavaScript, by the deadline watchdog, or at shutdown — whoever takes it out of the table first answers it;
// the message is released when its entry is destroyed (RetainedMessage). Thread-safe.
#pragma once

#include <EndpointSecurity/EndpointSecurity.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace macsensor {

// Owns one es_retain_message reference: retains in the constructor, releases in the destructor; move-only
// (a moved-from object owns nothing). Live() counts the references held by all instances (leak checks).
class RetainedMessage {
 public:
  RetainedMessage() = default;
  explicit RetainedMessage(const es_message_t* msg) : msg_(msg) {
    if (msg_ != nullptr) {
      es_retain_message(msg_);
      live_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  ~RetainedMessage() { Reset(); }
  RetainedMessage(RetainedMessage&& other) noexcept : msg_(other.msg_) { other.msg_ = nullptr; }
  RetainedMessage& operator=(RetainedMessage&& other) noexcept {
    if (this != &other) {
      Reset();
      msg_ = other.msg_;
      other.msg_ = nullptr;
    }
    return *this;
  }
  RetainedMessage(const RetainedMessage&) = delete;
  RetainedMessage& operator=(const RetainedMessage&) = delete;

  const es_message_t* get() const { return msg_; }
  static int64_t Live() { return live_.load(std::memory_order_relaxed); }

 private:
  void Reset() {
    if (msg_ != nullptr) {
      es_release_message(msg_);
      live_.fetch_sub(1, std::memory_order_relaxed);
      msg_ = nullptr;
    }
  }
  const es_message_t* msg_ = nullptr;
  static inline std::atomic<int64_t> live_{0};
};

enum class Answerer : uint8_t { JavaScript, Watchdog, Native, ShortDeadline };

// Why an answer was not given (the entry was no longer pending).
enum class TakeStatus : uint8_t {
  Taken,          // the caller now owns the entry and must answer it
  AnsweredByJs,   // JavaScript already answered: a second answer
  AnsweredByWatchdog,  // the watchdog answered first: JavaScript was too late
  AnsweredNative,      // answered natively (shutdown, queue full)
  AnsweredShortDeadline,  // allowed at once: its deadline left too little time for any rule
  Unknown,        // never issued, or answered so long ago that it was forgotten
};

struct PendingAuth {
  uint64_t id = 0;
  RetainedMessage message;
  uint64_t deadline_ticks = 0;  // ES deadline, Mach ticks
};

class PendingAuthTable {
 public:
  // Adds a retained message; returns its id (never 0).
  uint64_t Add(RetainedMessage message, uint64_t deadline_ticks);

  // An id for a message that `who` has already answered (never 0): JavaScript still sees the event with this id,
  // and its answer is then refused with the reason.
  uint64_t AddAnswered(Answerer who);

  // Takes the entry out for `who` to answer. On anything but Taken, *out is left empty.
  TakeStatus Take(uint64_t id, Answerer who, std::optional<PendingAuth>* out);

  // Everything still pending (shutdown); recorded as answered natively.
  std::vector<PendingAuth> TakeAll();

  size_t Size() const;

 private:
  void RememberLocked(uint64_t id, Answerer who);

  static constexpr size_t kRemembered = 65536;
  mutable std::mutex mu_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, PendingAuth> pending_;
  std::unordered_map<uint64_t, Answerer> answered_;
  std::deque<uint64_t> answered_order_;
};

}  // namespace macsensor
