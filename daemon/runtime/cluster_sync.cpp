#include "runtime/cluster_sync.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace mediax {

namespace {
// Rows are compared by their updated_at; allow for clock skew between hosts and for
// transactions that committed a little after they stamped the row.
constexpr auto kSweepOverlap = std::chrono::seconds(5);
}  // namespace

ClusterSync::ClusterSync(TokenFeed& feed, TokenCache& cache, WheelUpdates wheel, const TimeSource& clock,
                         std::string self)
    : feed_(feed),
      cache_(cache),
      wheel_(std::move(wheel)),
      clock_(clock),
      self_(std::move(self)),
      last_sweep_(clock.system()) {}

bool ClusterSync::on_notify(const std::string& payload) {
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (!j.is_object()) return false;
  if (j.value("by", std::string()) == self_) return false;  // our own write: already applied
  RefreshKey key;
  key.app_id = j.value("app_id", std::int64_t{0});
  if (j.contains("grant_id") && j["grant_id"].is_number_integer()) key.grant_id = j["grant_id"].get<std::int64_t>();
  if (key.app_id == 0 && key.grant_id == 0) return false;
  // Marked at once, not when the queue is read: the fetch in flight may end before that, and its
  // failure's retry time would then replace the "now" the other instance wrote. Any partition's:
  // a component token is also fetched off its partition, for a grant's call.
  if (j.value("op", std::string()) == "ticket" && wheel_.inputs_changed) wheel_.inputs_changed(key);
  if (owned_ != nullptr && !owned_->owns(key)) return false;  // another instance's partition
  std::lock_guard lk(queue_mu_);
  keys_.push_back(key);
  return true;
}

void ClusterSync::apply(const ScheduleChange& c) {
  if (c.status == GrantStatus::active && c.next_refresh_at) {
    wheel_.schedule(c.key, *c.next_refresh_at);
    return;
  }
  wheel_.cancel(c.key);
  // A grant that needs re-authorization keeps serving its last token until it expires.
  if (c.status == GrantStatus::revoked || c.status == GrantStatus::disabled) cache_.erase(c.key);
}

void ClusterSync::resync(const RefreshKey& key) {
  if (auto t = feed_.get_token(key)) {
    cache_.put_if_newer(*t);
  } else {
    cache_.erase(key);
  }
  if (auto state = feed_.schedule_of(key)) {
    apply(*state);
  } else {
    wheel_.cancel(key);
    cache_.erase(key);
  }
}

void ClusterSync::resync_pending() {
  std::deque<RefreshKey> keys;
  {
    std::lock_guard lk(queue_mu_);
    keys.swap(keys_);
  }
  std::lock_guard work(work_mu_);
  try {
    for (const auto& k : keys) resync(k);
  } catch (const std::exception& e) {
    spdlog::debug("cluster sync: notified changes left to the next sweep: {}", e.what());
  }
}

void ClusterSync::sweep() {
  std::lock_guard work(work_mu_);
  const auto started = clock_.system();
  const auto since = last_sweep_ - kSweepOverlap;
  try {
    auto tokens = feed_.tokens_refreshed_since(since);
    auto changes = feed_.schedule_changes_since(since);
    // Rows read before a refresh of this instance finished must not overwrite its newer token.
    for (const auto& t : tokens) cache_.put_if_newer(t);
    for (const auto& c : changes) apply(c);
    last_sweep_ = started;
    if (!tokens.empty() || !changes.empty()) {
      spdlog::debug("sweep: {} tokens and {} schedule rows changed since {}", tokens.size(), changes.size(),
                    format_time(since));
    }
  } catch (const std::exception& e) {
    // The database is away; the next sweep catches up from last_sweep_.
    spdlog::debug("cluster sync postponed: {}", e.what());
  }
}

}  // namespace mediax
