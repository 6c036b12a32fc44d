// EventDispatcher: the bounded, thread-safe hand-off of raw events from a producer thread (the Linux
// process-connector reader, an Endpoint Security handler) to a JavaScript callback.
//
// Usage (all of it but TryPush on the JS thread):
//
//   auto d = macsensor::EventDispatcher::Create(env, jsCallback, /*capacity=*/16384, /*batchMax=*/512);
//   // producer thread, as often as it likes; never blocks beyond a short mutex hold:
//   if (!d->TryPush(std::move(ev))) { /* queue full (dropped and counted) or stopped */ }
//   d->TryPush(std::move(ev), /*wake=*/false); ... d->Wake();  // hold events back, then wake JS for them
//   // JS side: jsCallback(events: RawEvent[]) is called with batches of up to batchMax events.
//   d->Stop(env, /*drain=*/true);  // after the producer has stopped: delivers what is left, releases the TSFN
//   macsensor::DispatcherStats s = d->Stats();  // any thread
//
// Why batched: one TSFN hop costs ~11 µs idle, so a wake-up is only issued when none is pending and each
// wake-up drains up to batchMax events into one array. Why bounded: an unbounded queue lets latency grow without
// limit under load; a full queue drops the new event and counts it (the producer's sequence numbers then show
// the gap to JavaScript).
//
// Lifetime: the shared state is co-owned by the dispatcher and the TSFN (released in its finalizer), so a
// wake-up that runs after the dispatcher is gone, or during environment teardown (env == nullptr), is harmless.
// Stop() is idempotent. If the environment is torn down without Stop(), call Stop(env, false) from an env
// cleanup hook after stopping the producer (JS must not be called then).
#pragma once

#include <napi.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "raw_event.h"
#include "raw_event_js.h"

namespace macsensor {

struct DispatcherStats {
  uint64_t pushed = 0;      // accepted into the queue
  uint64_t delivered = 0;   // handed to the JS callback
  uint64_t dropped = 0;     // refused: queue full or dispatcher stopped
  uint64_t high_water = 0;  // largest queue length seen
  uint64_t batches = 0;     // JS callback invocations
  uint64_t queued = 0;      // in the queue now
  uint64_t discarded = 0;   // accepted but never delivered: left at Stop() without drain, or after the callback threw
};

class EventDispatcher {
  struct State;
  struct StateHolder {
    std::shared_ptr<State> state;
  };
  static void CallJs(Napi::Env env, Napi::Function callback, StateHolder* holder, void* data);
  using Tsfn = Napi::TypedThreadSafeFunction<StateHolder, void, &EventDispatcher::CallJs>;

  struct State {
    std::mutex mu;
    std::deque<RawEvent> queue;
    size_t capacity = 0;
    size_t batch_max = 0;
    bool wake_pending = false;
    bool closed = false;
    DispatcherStats stats;
    Tsfn tsfn;
    Napi::ObjectReference names;  // JS thread only: RawEventNames::MakeHolder, made on the first delivery
    // StartHoldTimer: events queued without a wake-up since held_since wait at most hold for one.
    bool held = false;
    std::chrono::steady_clock::time_point held_since;
    std::chrono::milliseconds hold{0};
    bool timer_stop = false;
    std::condition_variable timer_cv;
  };

 public:
  // JS thread. capacity and batchMax are clamped to at least 1.
  static std::unique_ptr<EventDispatcher> Create(Napi::Env env, Napi::Function callback, size_t capacity,
                                                 size_t batch_max, const char* resource_name = "macsensor.events") {
    auto state = std::make_shared<State>();
    state->capacity = std::max<size_t>(1, capacity);
    state->batch_max = std::max<size_t>(1, batch_max);
    auto* holder = new StateHolder{state};
    state->tsfn = Tsfn::New(
        env, callback, resource_name, 0, 1, holder,
        [](Napi::Env, void*, StateHolder* h) { delete h; }, static_cast<void*>(nullptr));
    return std::unique_ptr<EventDispatcher>(new EventDispatcher(std::move(state), callback));
  }

  ~EventDispatcher() { StopHoldTimer(); }
  EventDispatcher(const EventDispatcher&) = delete;
  EventDispatcher& operator=(const EventDispatcher&) = delete;

  // Any thread. Returns false when the event was dropped (queue full, or stopped); the drop is counted.
  // wake=false queues the event without waking JavaScript: the producer promises a later TryPush with wake or a
  // Wake() (the Linux reader holds forks and exits back a few ms so that they ride along with the next exec).
  bool TryPush(RawEvent&& ev, bool wake = true) {
    std::lock_guard<std::mutex> lock(state_->mu);
    State& s = *state_;
    if (s.closed || s.queue.size() >= s.capacity) {
      s.stats.dropped++;
      return false;
    }
    s.queue.push_back(std::move(ev));
    s.stats.pushed++;
    if (s.queue.size() > s.stats.high_water) s.stats.high_water = s.queue.size();
    // A held-back batch that has grown to batchMax goes now: bigger ones only cost latency and memory.
    if ((wake || s.queue.size() >= s.batch_max) && !s.wake_pending) {
      // Under the lock so that Stop() cannot release the TSFN between the check and the call.
      s.wake_pending = s.tsfn.NonBlockingCall() == napi_ok;
    }
    if (s.wake_pending) {
      s.held = false;
    } else if (!s.held && s.hold.count() > 0) {
      s.held = true;
      s.held_since = std::chrono::steady_clock::now();
      s.timer_cv.notify_one();
    }
    return true;
  }

  // For a producer with no timer of its own (the ES handler runs only when ES has a message): a thread that
  // wakes JavaScript for events pushed with wake=false at most hold_ms after the first of them. Once, before the
  // first push; 0 does nothing.
  void StartHoldTimer(int hold_ms) {
    if (hold_ms <= 0 || timer_.joinable()) return;
    state_->hold = std::chrono::milliseconds(hold_ms);
    timer_ = std::thread([state = state_] { RunHoldTimer(*state); });
  }

  // Any thread. Wakes JavaScript for events queued without a wake, unless a wake-up is already on its way.
  void Wake() {
    std::lock_guard<std::mutex> lock(state_->mu);
    State& s = *state_;
    if (!s.closed && !s.queue.empty() && !s.wake_pending) s.wake_pending = s.tsfn.NonBlockingCall() == napi_ok;
    if (s.wake_pending) s.held = false;
  }

  // JS thread, after the producer has stopped pushing. With drain, the events still queued are delivered to
  // the callback now (synchronously, in batches); without (env teardown), they are discarded.
  void Stop(Napi::Env env, bool drain) {
    StopHoldTimer();
    State& s = *state_;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      if (s.closed) return;
      s.closed = true;
    }
    if (drain && env != nullptr && !callback_.IsEmpty()) {
      Napi::Function callback = callback_.Value();
      bool more = true;
      while (more && !env.IsExceptionPending()) {
        std::vector<RawEvent> batch = TakeBatch(s, &more);
        Deliver(env, callback, s, batch);
      }
    }
    {
      std::lock_guard<std::mutex> lock(s.mu);
      s.stats.discarded += s.queue.size();
      s.queue.clear();
    }
    if (env != nullptr) s.names.Reset();
    s.tsfn.Release();
  }

  DispatcherStats Stats() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    DispatcherStats out = state_->stats;
    out.queued = state_->queue.size();
    return out;
  }

 private:
  EventDispatcher(std::shared_ptr<State> state, Napi::Function callback)
      : state_(std::move(state)), callback_(Napi::Persistent(callback)) {}

  // Takes up to batch_max events off the queue; the caller holds s.mu.
  static std::vector<RawEvent> TakeBatchLocked(State& s) {
    size_t n = std::min(s.batch_max, s.queue.size());
    std::vector<RawEvent> batch;
    batch.reserve(n);
    for (size_t i = 0; i < n; i++) {
      batch.push_back(std::move(s.queue.front()));
      s.queue.pop_front();
    }
    return batch;
  }

  static std::vector<RawEvent> TakeBatch(State& s, bool* more) {
    std::lock_guard<std::mutex> lock(s.mu);
    std::vector<RawEvent> batch = TakeBatchLocked(s);
    *more = !s.queue.empty();
    return batch;
  }

  static void Deliver(Napi::Env env, Napi::Function callback, State& s, std::vector<RawEvent>& batch) {
    if (batch.empty()) return;
    Napi::HandleScope scope(env);
    if (s.names.IsEmpty()) {
      s.names = RawEventNames::MakeHolder(env);
      s.names.SuppressDestruct();  // released in Stop(), on the JS thread; never from a destructor elsewhere
    }
    RawEventNames names(env, s.names);
    Napi::Array arr = Napi::Array::New(env, batch.size());
    for (size_t i = 0; i < batch.size(); i++) arr.Set(static_cast<uint32_t>(i), RawEventToJs(env, batch[i], names));
    {
      std::lock_guard<std::mutex> lock(s.mu);
      s.stats.delivered += batch.size();
      s.stats.batches++;
    }
    // A throwing callback leaves a pending exception; Node reports it as uncaught when this returns.
    callback.Call({arr});
  }

  static void RunHoldTimer(State& s) {
    std::unique_lock<std::mutex> lock(s.mu);
    while (!s.timer_stop) {
      if (!s.held) {
        s.timer_cv.wait(lock);
        continue;
      }
      const auto due = s.held_since + s.hold;
      if (std::chrono::steady_clock::now() < due) {
        s.timer_cv.wait_until(lock, due);
        continue;  // re-check: a wake-up may have taken the held events meanwhile
      }
      if (!s.closed && !s.queue.empty() && !s.wake_pending) s.wake_pending = s.tsfn.NonBlockingCall() == napi_ok;
      s.held = false;
    }
  }

  void StopHoldTimer() {
    if (!timer_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->timer_stop = true;
    }
    state_->timer_cv.notify_one();
    timer_.join();
  }

  std::shared_ptr<State> state_;
  Napi::FunctionReference callback_;  // for the final drain in Stop(), which runs outside any TSFN call
  std::thread timer_;                 // StartHoldTimer
};

inline void EventDispatcher::CallJs(Napi::Env env, Napi::Function callback, StateHolder* holder, void*) {
  if (env == nullptr || holder == nullptr) return;  // environment tearing down: nothing to call
  State& s = *holder->state;
  std::vector<RawEvent> batch;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    batch = TakeBatchLocked(s);
    s.held = false;  // whatever was held back is in this batch, or in the next one woken just below
    // Decided under the same lock as the take: events left (or pushed after this) need a further wake-up,
    // which is issued now if any remain, otherwise by the next TryPush.
    if (!s.closed && !s.queue.empty()) {
      s.wake_pending = s.tsfn.NonBlockingCall() == napi_ok;
    } else {
      s.wake_pending = false;
    }
  }
  Deliver(env, callback, s, batch);
}

}  // namespace macsensor
