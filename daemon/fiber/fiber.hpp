// Stackful fibers (Boost.Context) pinned to a Carrier: code written as straight-line blocking
// calls (a platform's multi-step token call, a store call waiting for its batch) parks its fiber
// instead of holding a thread. A catch-up refreshes thousands of grants at once, each waiting
// ~20 ms on its platform: as threads, 128 of them spent a third of the daemon's CPU switching
// (bench/RESULTS.md); as fibers, two carriers drive them all.
//
// A fiber only ever runs on its carrier's thread, and the carrier runs one handler at a time, so
// a fiber resumed by another thread (through Carrier::post) cannot run before it has parked: the
// resume waits in the carrier's queue behind the handler that is running the fiber.
//
// Waiting on a fiber must park it, never block the carrier: a fiber blocked in a plain
// std::condition_variable or a std::mutex held across a park by another fiber of the same
// carrier would wait for a fiber that cannot run. fiber/condition.hpp has the waits that do both
// (park on a fiber, block elsewhere).
#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace mediax::fiber {

// Where fibers run: one thread's event loop (fiber/carriers.hpp).
class Carrier {
 public:
  virtual ~Carrier() = default;
  // Runs fn on the carrier's thread after what is queued. Thread-safe.
  virtual void post(std::function<void()> fn) = 0;
  // Runs fn on the carrier's thread once d of real time has passed. Thread-safe.
  virtual void post_after(std::chrono::steady_clock::duration d, std::function<void()> fn) = 0;
};

struct State;

// Makes a parked fiber runnable again, once: the first call of any copy wins, later ones (a
// timeout after the notification it raced with) do nothing and return false. Thread-safe.
class Resume {
 public:
  Resume() = default;
  bool operator()() const;
  explicit operator bool() const { return state_ != nullptr; }

 private:
  friend void park(const std::function<void(const Resume&)>& arm);
  struct Once;
  Resume(std::shared_ptr<State> s, std::shared_ptr<Once> once) : state_(std::move(s)), once_(std::move(once)) {}
  std::shared_ptr<State> state_;
  std::shared_ptr<Once> once_;
};

// Starts fn on a new fiber on `carrier` (it runs on the carrier's thread, later). fn handles its
// own errors: a fiber has no caller to give an exception to, so one that escapes is dropped.
void spawn(Carrier& carrier, std::function<void()> fn);

// On a fiber: its carrier. Elsewhere: null.
Carrier* current_carrier();
inline bool on_fiber() { return current_carrier() != nullptr; }

// On a fiber only: runs arm(resume) on the fiber, then gives the carrier's thread back until
// resume() is called (from any thread, any time after arm started, once).
void park(const std::function<void(const Resume&)>& arm);

}  // namespace mediax::fiber
