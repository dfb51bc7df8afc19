#include "schedule/scheduler.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>

#include "util/waits.hpp"
#include "obs/metrics.hpp"

namespace mediax {

namespace {
// The scheduler's metrics: each family's name and help written here only.
class SchedulerMetrics {
 public:
  explicit SchedulerMetrics(metrics::Registry& reg) : reg_(reg) {}

  // How late the timer fired after the due time it was armed for: a busy or wedged event loop
  // shows here first.
  void lag(std::chrono::system_clock::duration late) {
    const double secs = std::max(0.0, std::chrono::duration<double>(late).count());
    reg_.histogram("mediax_scheduler_lag_seconds", "How late the timer wheel fired after the due time",
                   {0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})
        .observe(secs);
    reg_.gauge("mediax_scheduler_last_lag_seconds", "Lag of the most recent timer wheel firing").set(secs);
  }

 private:
  metrics::Registry& reg_;
};
}  // namespace

Scheduler::Scheduler(boost::asio::io_context& io, DueRefresher& refresher, const TimeSource& clock, int max_concurrent,
                     metrics::Registry& metrics)
    : io_(io),
      refresher_(refresher),
      clock_(clock),
      max_concurrent_(max_concurrent),
      metrics_(metrics),
      timer_(io),
      wheel_(tick_of(clock.system())) {}

Scheduler::~Scheduler() {
  stopping_ = true;
  if (pool_) pool_->join();
}

TimerWheel::Tick Scheduler::tick_of(TimePoint t) { return to_unix(t); }

void Scheduler::load(const std::vector<ScheduleEntry>& entries) {
  wheel_.reserve(wheel_.size() + entries.size());
  std::size_t n = 0;
  for (const auto& e : entries) {
    if (!owns(e.key.pack())) continue;
    wheel_.insert(e.key.pack(), tick_of(e.next_refresh_at));
    ++n;
  }
  spdlog::info("schedule loaded: {} tokens to keep fresh", n);
}

void Scheduler::add(std::vector<ScheduleEntry> entries) {
  boost::asio::post(io_, [this, entries = std::move(entries)] {
    if (stopping_) return;
    wheel_.reserve(wheel_.size() + entries.size());
    for (const auto& e : entries) {
      if (owns(e.key.pack())) wheel_.insert(e.key.pack(), tick_of(e.next_refresh_at));
    }
    on_timer();  // some may be due already; re-arms for the rest
  });
}

std::size_t Scheduler::drop_partitions(const std::vector<int>& partitions) {
  auto gone = std::make_shared<const PartitionSet>(partitions);
  auto done = std::make_shared<std::promise<std::size_t>>();
  auto result = done->get_future();
  boost::asio::post(io_, [this, gone, done] {
    done->set_value(wheel_.remove_if([&](TimerWheel::Id id) { return gone->owns(RefreshKey::unpack(id)); }));
  });
  // The io thread may be stopped (shutdown): the keys then simply never fire.
  if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return 0;
  return result.get();
}

void Scheduler::start() {
  if (carriers_ == nullptr) pool_.emplace(static_cast<std::size_t>(max_concurrent_));
  boost::asio::post(io_, [this] { on_timer(); });
}

void Scheduler::schedule(const RefreshKey& key, TimePoint at) {
  if (!owns(key.pack())) return;  // another instance's partition: its owner schedules it
  boost::asio::post(io_, [this, id = key.pack(), t = tick_of(at)] {
    if (stopping_) return;
    wheel_.insert(id, t);
    if (t <= tick_of(clock_.system())) {
      on_timer();
    } else {
      auto nd = wheel_.next_due();
      if (nd && *nd == t) arm();
    }
  });
}

void Scheduler::cancel(const RefreshKey& key) {
  boost::asio::post(io_, [this, id = key.pack()] { wheel_.cancel(id); });
}

void Scheduler::on_timer() {
  if (stopping_) return;
  auto due = wheel_.advance(tick_of(clock_.system()));
  ready_.insert(ready_.end(), due.begin(), due.end());
  dispatch();
  arm();
}

void Scheduler::dispatch() {
  while (!stopping_ && running_ < max_concurrent_ && !ready_.empty()) {
    auto id = ready_.front();
    ready_.pop_front();
    // Rescheduled since it became due (e.g. a forced refresh ran): the new time wins.
    if (wheel_.contains(id)) continue;
    if (!owns(id)) continue;  // its partition was given up meanwhile
    ++running_;
    {
      std::lock_guard lk(workers_mu_);
      ++on_workers_;
    }
    auto work = [this, id] {
      try {
        refresher_.refresh_due(RefreshKey::unpack(id));
      } catch (const std::exception& e) {
        spdlog::error("refresh of key {} failed unexpectedly: {}", id, e.what());
      }
      {
        std::lock_guard lk(workers_mu_);
        --on_workers_;
      }
      workers_done_.notify_all();
      boost::asio::post(io_, [this] {
        --running_;
        dispatch();
      });
    };
    if (carriers_ != nullptr) {
      fiber::spawn(carriers_->next(), std::move(work));
    } else {
      boost::asio::post(*pool_, std::move(work));
    }
  }
}

void Scheduler::arm() {
  auto now = clock_.system();
  auto wait = recheck_period_;
  if (auto nd = wheel_.next_due()) {
    auto due = from_unix(*nd);
    auto d = std::chrono::duration_cast<std::chrono::milliseconds>(due - now);
    if (d < std::chrono::milliseconds(0)) d = std::chrono::milliseconds(0);
    wait = std::min(wait, d);
  }
  // The due time the timer waits for, when it waits for one (not an overdue or idle re-check).
  std::optional<TimePoint> due_at;
  if (auto nd = wheel_.next_due(); nd && from_unix(*nd) >= now && from_unix(*nd) - now <= recheck_period_) {
    due_at = from_unix(*nd);
  }
  timer_.expires_after(wait);
  timer_.async_wait([this, due_at](const boost::system::error_code& ec) {
    if (ec) return;
    if (due_at) SchedulerMetrics(metrics_).lag(clock_.system() - *due_at);
    on_timer();
  });
}

SchedulerStats Scheduler::stats() {
  auto p = std::make_shared<std::promise<SchedulerStats>>();
  auto f = p->get_future();
  boost::asio::post(io_, [this, p] {
    SchedulerStats s;
    s.scheduled = wheel_.size();
    s.ready = ready_.size();
    s.running = running_;
    if (auto nd = wheel_.next_due()) s.next_due = from_unix(*nd);
    p->set_value(s);
  });
  if (f.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return {};
  return f.get();
}

void Scheduler::stop(std::chrono::milliseconds grace) {
  stopping_ = true;
  boost::asio::post(io_, [this] { timer_.cancel(); });
  std::unique_lock lk(workers_mu_);
  if (!wait_until(workers_done_, lk, clock_, clock_.monotonic() + grace, [this] { return on_workers_ == 0; })) {
    spdlog::warn("{} refreshes still in flight at shutdown; their leases will expire", on_workers_);
  }
}

}  // namespace mediax
