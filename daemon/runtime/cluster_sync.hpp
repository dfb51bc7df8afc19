// Keeps this instance's timer wheel and token cache in step with changes other instances make to
// the shared database: the keys a notification (LISTEN mediax_tokens, runtime/daemon.cpp) names
// are read again, and a periodic sweep reads the rows changed since the last one (notifications
// are missed while disconnected). Both run on the janitor's blocking pool, one at a time. The
// database stays the truth; the lease's due check makes a stale wheel entry harmless.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "core/partitions.hpp"
#include "util/time_source.hpp"
#include "schedule/token_cache.hpp"
#include "store/interfaces.hpp"

namespace mediax {

// What a change does to this instance's timer wheel (the Scheduler in the daemon).
struct WheelUpdates {
  std::function<void(const RefreshKey&, TimePoint)> schedule;
  std::function<void(const RefreshKey&)> cancel;
  // Another instance stored a new ticket for the app token (Refresher::inputs_changed): a fetch in
  // flight here that read the old one tries again. Optional.
  std::function<void(const RefreshKey&)> inputs_changed;
};

class ClusterSync {
 public:
  // self: this instance's application_name; notifications it caused itself are ignored. The first
  // sweep reads what changed since construction (less the overlap).
  ClusterSync(TokenFeed& feed, TokenCache& cache, WheelUpdates wheel, const TimeSource& clock, std::string self);

  // From now on notifications about keys of other partitions are ignored (their owners follow
  // them; this instance neither schedules nor caches them). Outlives this object.
  void restrict_to(const PartitionSet* owned) { owned_ = owned; }
  // Thread-safe (the LISTEN thread): queues the key a notification names; true when it named one
  // that another instance changed (then resync_pending() has work).
  bool on_notify(const std::string& payload);
  // Reads the queued keys again. A store failure is logged; the next sweep catches up.
  void resync_pending();
  // Reads the tokens and schedule rows changed since the last sweep that succeeded. A store
  // failure is logged and the next sweep reads from the same point.
  void sweep();

 private:
  void resync(const RefreshKey& key);
  void apply(const ScheduleChange& c);

  TokenFeed& feed_;
  TokenCache& cache_;
  WheelUpdates wheel_;
  const TimeSource& clock_;
  const std::string self_;
  const PartitionSet* owned_ = nullptr;
  std::mutex queue_mu_;
  std::deque<RefreshKey> keys_;  // queue_mu_
  // Held while a resync or sweep reads and applies, so an older read never lands after a newer one.
  std::mutex work_mu_;
  TimePoint last_sweep_;  // work_mu_
};

}  // namespace mediax
