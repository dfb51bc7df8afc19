// Keeps this instance's timer wheel and token cache in step with changes other instances
// make to the shared database: LISTEN mediax_tokens for prompt news, plus a periodic sweep of
// rows changed since the last one (notifications can be missed while disconnected). The
// database stays the truth; the lease's due check makes a stale wheel entry harmless.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "core/time_source.hpp"
#include "schedule/scheduler.hpp"
#include "schedule/token_cache.hpp"
#include "store/notification_listener.hpp"
#include "store/store.hpp"

namespace mediax {

class ClusterSync {
 public:
  // self: this instance's application_name; notifications it caused itself are ignored.
  ClusterSync(Store& store, TokenCache& cache, Scheduler& scheduler, const TimeSource& clock, const std::string& db_url,
              std::string self, std::chrono::seconds sweep_every);
  ~ClusterSync();
  void start();
  void stop();
  bool listening() const { return listener_.connected(); }

 private:
  void on_notify(const std::string& payload);
  void worker();
  void resync(const RefreshKey& key);
  void sweep();
  void apply(const ScheduleChange& c);

  Store& store_;
  TokenCache& cache_;
  Scheduler& scheduler_;
  const TimeSource& clock_;
  std::string self_;
  std::chrono::seconds sweep_every_;
  NotificationListener listener_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<RefreshKey> keys_;
  bool sweep_requested_ = false;
  bool stop_ = false;
  TimePoint last_sweep_{};
  std::thread thread_;
};

}  // namespace mediax
