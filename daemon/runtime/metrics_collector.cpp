#include "runtime/metrics_collector.hpp"

#include <spdlog/spdlog.h>

#include <limits>
#include <map>
#include <utility>
#include <vector>

#include "schedule/scheduler.hpp"
#include "service/component_status.hpp"
#include "obs/metrics.hpp"
#include "schedule/token_cache.hpp"
#include "store/store.hpp"

namespace mediax {

MetricsCollector::MetricsCollector(Store& store, TokenCache& cache, Scheduler& scheduler, const TimeSource& clock,
                                   metrics::Registry& metrics)
    : store_(store), cache_(cache), scheduler_(scheduler), clock_(clock), metrics_(metrics) {
  id_ = metrics_.add_collector([this](metrics::Registry&) { collect(); });
}

MetricsCollector::~MetricsCollector() { metrics_.remove_collector(id_); }

void MetricsCollector::collect() {
  auto& reg = metrics_;
  auto st = scheduler_.stats();
  reg.gauge("mediax_scheduler_scheduled", "Tokens waiting in the timer wheel for their refresh time")
      .set(static_cast<double>(st.scheduled));
  reg.gauge("mediax_scheduler_ready", "Tokens due and waiting for a free refresh worker")
      .set(static_cast<double>(st.ready));
  reg.gauge("mediax_scheduler_running", "Refreshes in flight").set(st.running);
  reg.gauge("mediax_tokens_in_memory", "Access tokens held in the in-memory cache")
      .set(static_cast<double>(cache_.size()));

  // NaN when no token is held: "no expiry" is not "expires now".
  double until = std::numeric_limits<double>::quiet_NaN();
  if (auto e = cache_.earliest_expiry()) until = std::chrono::duration<double>(*e - clock_.system()).count();
  reg.gauge("mediax_earliest_token_expiry_seconds",
            "Seconds until the earliest access token in memory expires (negative: already expired; NaN: none)")
      .set(until);

  publish_database();
  publish_batches();
}

void MetricsCollector::publish_batches() {
  std::lock_guard lk(batch_mu_);
  for (const auto& b : store_.batch_counts()) {
    auto& seen = batches_seen_[b.statement];
    const metrics::Labels labels{{"statement", b.statement}};
    metrics_
        .counter("mediax_store_batches_total",
                 "Batched statements run for scheduled refreshes (lease, complete, event); each serves the requests "
                 "queued when it started",
                 labels)
        .inc(static_cast<double>(b.batches - seen.batches));
    metrics_
        .counter("mediax_store_batched_requests_total",
                 "Requests served by batched statements; divided by mediax_store_batches_total: the mean batch size",
                 labels)
        .inc(static_cast<double>(b.requests - seen.requests));
    seen = b;
  }
}

void MetricsCollector::read_database() {
  DatabaseCounts read;
  const auto t0 = clock_.monotonic();
  try {
    read.up = store_.ping();
  } catch (const std::exception&) {
    read.up = false;
  }
  read.ping_seconds = std::chrono::duration<double>(clock_.monotonic() - t0).count();
  metrics_
      .histogram("mediax_database_ping_duration_seconds", "Round-trip times of database pings",
                 {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5})
      .observe(read.ping_seconds);
  if (read.up) {
    try {
      read.grants = store_.count_grants_by_platform_status();
      read.tokens = store_.count_tokens_by_platform();
      for (const auto& app : store_.app_gauge_states()) {
        read.misconfigured.emplace_back(app.name, !app.misconfigured.empty());
        if (app.platform != component_status::kPlatform) continue;
        read.waiting_for_ticket.emplace_back(app.name, component_status::waiting_for_ticket(app));
      }
      read.missing_scopes = store_.count_grants_missing_scopes();
      read.counted = true;
    } catch (const std::exception& e) {
      spdlog::debug("metrics: database counts skipped: {}", e.what());
    }
  }
  std::lock_guard lk(db_mu_);
  if (!read.counted && db_ && db_->counted) {  // keep the last counts rather than report zeros
    read.counted = true;
    read.grants = std::move(db_->grants);
    read.tokens = std::move(db_->tokens);
    read.waiting_for_ticket = std::move(db_->waiting_for_ticket);
    read.missing_scopes = std::move(db_->missing_scopes);
    read.misconfigured = std::move(db_->misconfigured);
  }
  db_ = std::move(read);
}

void MetricsCollector::publish_database() {
  std::lock_guard lk(db_mu_);
  if (!db_) return;
  auto& reg = metrics_;
  reg.gauge("mediax_database_up", "1 when the database answered the last ping, else 0").set(db_->up ? 1 : 0);
  reg.gauge("mediax_database_ping_seconds", "Round-trip time of the last database ping (SELECT 1)")
      .set(db_->ping_seconds);
  if (!db_->counted) return;

  using Series = std::vector<std::pair<metrics::Labels, double>>;
  Series grant_counts, app_token_counts, stored, leases, waiting, missing_scopes, misconfigured;
  std::map<std::string, double> leased{{"grant", 0}, {"app_token", 0}};
  for (const auto& c : db_->grants) {
    auto& into = c.kind == "grant" ? grant_counts : app_token_counts;
    into.push_back({{{"platform", c.platform}, {"status", c.status}}, static_cast<double>(c.count)});
    leased[c.kind] += static_cast<double>(c.leased);
  }
  reg.set_gauges("mediax_grants", "Connected accounts (grants) by platform and status", grant_counts);
  reg.set_gauges("mediax_app_tokens", "Client-credentials apps (the app's own token) by platform and status",
                 app_token_counts);
  for (const auto& [kind, n] : leased) leases.push_back({{{"kind", kind}}, n});
  reg.set_gauges("mediax_leases_held", "Refresh leases held right now (by any instance), by kind", leases);
  for (const auto& c : db_->tokens) {
    stored.push_back({{{"platform", c.platform}, {"state", c.state}}, static_cast<double>(c.count)});
  }
  reg.set_gauges("mediax_stored_tokens", "Access tokens in the database by platform and state (valid or expired)",
                 stored);
  // WeChat third-party platforms whose component token waits for a component_verify_ticket.
  for (const auto& [app, w] : db_->waiting_for_ticket) waiting.push_back({{{"app", app}}, w ? 1.0 : 0.0});
  reg.set_gauges("mediax_component_waiting_for_ticket",
                 "1 while a WeChat third-party platform app has no stored component_verify_ticket or its component "
                 "token last failed for want of one, else 0",
                 waiting);
  for (const auto& [app, n] : db_->missing_scopes) missing_scopes.push_back({{{"app", app}}, static_cast<double>(n)});
  reg.set_gauges("mediax_grants_missing_scopes",
                 "Active grants that lack scopes their app requires (the user unticked them), by app", missing_scopes);
  for (const auto& [app, m] : db_->misconfigured) misconfigured.push_back({{{"app", app}}, m ? 1.0 : 0.0});
  reg.set_gauges("mediax_app_misconfigured",
                 "1 while the daemon refuses to use an app's secrets (e.g. its token endpoint changed in the database "
                 "since the secret was sealed: GET /v1/apps/{name} says why), else 0",
                 misconfigured);
}

}  // namespace mediax
