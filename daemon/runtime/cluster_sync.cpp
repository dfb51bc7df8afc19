#include "runtime/cluster_sync.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace mediax {

namespace {
// Rows are compared by their updated_at; allow for clock skew between hosts and for
// transactions that committed a little after they stamped the row.
constexpr auto kSweepOverlap = std::chrono::seconds(5);
}  // namespace

ClusterSync::ClusterSync(Store& store, TokenCache& cache, Scheduler& scheduler, const TimeSource& clock,
                         const std::string& db_url, std::string self, std::chrono::seconds sweep_every)
    : store_(store),
      cache_(cache),
      scheduler_(scheduler),
      clock_(clock),
      self_(std::move(self)),
      sweep_every_(sweep_every),
      listener_(
          // mediax_component_tickets: a WeChat third-party platform's app got a new ticket
          // (store/pg_store_component.cpp); its app token's state is read again like a token's.
          db_url, {"mediax_tokens", "mediax_component_tickets"}, [this](const std::string&, const std::string& payload) { on_notify(payload); },
          [this] {
            std::lock_guard lk(mu_);
            sweep_requested_ = true;
            cv_.notify_one();
          }),
      last_sweep_(clock.system()) {}

ClusterSync::~ClusterSync() { stop(); }

void ClusterSync::start() {
  listener_.start();
  thread_ = std::thread([this] { worker(); });
}

void ClusterSync::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  listener_.stop();
  if (thread_.joinable()) thread_.join();
}

void ClusterSync::on_notify(const std::string& payload) {
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (!j.is_object()) return;
  if (j.value("by", std::string()) == self_) return;  // our own write: already applied
  RefreshKey key;
  key.app_id = j.value("app_id", std::int64_t{0});
  if (j.contains("grant_id") && j["grant_id"].is_number_integer()) key.grant_id = j["grant_id"].get<std::int64_t>();
  if (key.app_id == 0 && key.grant_id == 0) return;
  std::lock_guard lk(mu_);
  keys_.push_back(key);
  cv_.notify_one();
}

void ClusterSync::apply(const ScheduleChange& c) {
  if (c.status == GrantStatus::active && c.next_refresh_at) {
    scheduler_.schedule(c.key, *c.next_refresh_at);
    return;
  }
  scheduler_.cancel(c.key);
  // A grant that needs re-authorization keeps serving its last token until it expires.
  if (c.status == GrantStatus::revoked || c.status == GrantStatus::disabled) cache_.erase(c.key);
}

void ClusterSync::resync(const RefreshKey& key) {
  if (auto t = store_.get_token(key)) {
    cache_.put_if_newer(*t);
  } else {
    cache_.erase(key);
  }
  if (auto state = store_.schedule_of(key)) {
    apply(*state);
  } else {
    scheduler_.cancel(key);
    cache_.erase(key);
  }
}

void ClusterSync::sweep() {
  const auto started = clock_.system();
  const auto since = last_sweep_ - kSweepOverlap;
  auto tokens = store_.tokens_refreshed_since(since);
  auto changes = store_.schedule_changes_since(since);
  // Rows read before a refresh of this instance finished must not overwrite its newer token.
  for (const auto& t : tokens) cache_.put_if_newer(t);
  for (const auto& c : changes) apply(c);
  last_sweep_ = started;
  if (!tokens.empty() || !changes.empty()) {
    spdlog::debug("sweep: {} tokens and {} schedule rows changed since {}", tokens.size(), changes.size(),
                  format_time(since));
  }
}

void ClusterSync::worker() {
  auto next_sweep = std::chrono::steady_clock::now() + sweep_every_;
  std::unique_lock lk(mu_);
  while (!stop_) {
    cv_.wait_until(lk, next_sweep, [this] { return stop_ || sweep_requested_ || !keys_.empty(); });
    if (stop_) break;
    std::deque<RefreshKey> keys;
    keys.swap(keys_);
    const bool sweep_now = sweep_requested_ || std::chrono::steady_clock::now() >= next_sweep;
    sweep_requested_ = false;
    lk.unlock();
    try {
      for (const auto& k : keys) resync(k);
      if (sweep_now) {
        sweep();
        next_sweep = std::chrono::steady_clock::now() + sweep_every_;
      }
    } catch (const std::exception& e) {
      // The database is away; the next sweep catches up from last_sweep_.
      spdlog::debug("cluster sync postponed: {}", e.what());
      next_sweep = std::chrono::steady_clock::now() + sweep_every_;
    }
    lk.lock();
  }
}

}  // namespace mediax
