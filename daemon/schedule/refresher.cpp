#include "schedule/refresher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <utility>

#include "fiber/condition.hpp"
#include "net/http_client.hpp"
#include "platforms/registry.hpp"
#include "obs/metrics.hpp"
#include "schedule/token_from_answer.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace mediax {

std::string to_string(RefreshResult::Status s) {
  switch (s) {
    case RefreshResult::Status::refreshed: return "refreshed";
    case RefreshResult::Status::failed: return "failed";
    case RefreshResult::Status::not_acquired: return "not_acquired";
    case RefreshResult::Status::gone: return "gone";
    case RefreshResult::Status::store_error: return "store_error";
    case RefreshResult::Status::refused: return "refused";
  }
  return "failed";
}

namespace {

std::string describe(const RefreshKey& k) {
  return k.is_app_token() ? "app " + std::to_string(k.app_id) + " token" : "grant " + std::to_string(k.grant_id);
}

// The refresher's metrics: each family's name and help written here only.
class RefresherMetrics {
 public:
  explicit RefresherMetrics(metrics::Registry& reg) : reg_(reg) {}

  // One platform call: its outcome class and how long the platform took.
  void platform_call(const std::string& platform, const Outcome& o, MonoClock::duration took) {
    reg_.counter("mediax_refreshes_total", "Token refreshes (platform calls) by platform and outcome class",
                 {{"platform", platform}, {"outcome", to_string(o.kind)}})
        .inc();
    reg_.histogram("mediax_refresh_duration_seconds", "Time the platform took to answer a refresh",
                   metrics::latency_buckets(), {{"platform", platform}})
        .observe(std::chrono::duration<double>(took).count());
  }

  // How much life the current token had left when its refresh went to the platform: the
  // punctuality of the schedule (bench/run.sh punctuality). Negative: it had expired already.
  void validity_left(const std::optional<Token>& current, TimePoint now) {
    if (!current) return;
    reg_.histogram("mediax_refresh_validity_left_seconds",
                   "Seconds of validity the current token had left when its refresh started",
                   {0, 1, 5, 10, 15, 20, 25, 30, 45, 60, 120, 300, 600, 1800})
        .observe(std::chrono::duration<double>(current->expires_at - now).count());
  }

  void lease(bool acquired) {
    reg_.counter("mediax_lease_attempts_total", "Attempts to take the refresh lease on a token, by result",
                 {{"result", acquired ? "acquired" : "busy_or_gone"}})
        .inc();
  }

  void deferred(const PlatformGuards::Permit& p) {
    reg_.counter("mediax_refreshes_deferred_total",
                 "Refreshes put off without calling the platform (circuit open, or too many calls in flight)",
                 {{"platform", p.endpoint().platform}, {"reason", to_string(p.refusal())}})
        .inc();
  }

  void renew_not_permitted(const std::string& platform) {
    reg_.counter("mediax_apps_renew_not_permitted_total",
                 "Apps found to lack the platform's permission to renew refresh tokens (Douyin 10004)",
                 {{"platform", platform}})
        .inc();
  }

  // The guards' state per endpoint, re-read at each scrape; endpoints that went away are dropped.
  void guards(const std::vector<PlatformGuards::Snapshot>& states);

 private:
  metrics::Registry& reg_;
};

// A platform is grouped by the host of its token endpoint (oauth2 apps on different providers
// are different endpoints; built-in platforms without an override share their default one).
PlatformGuards::Endpoint endpoint_of(const App& app) {
  PlatformGuards::Endpoint e;
  e.platform = app.platform;
  if (auto u = parse_url(app.endpoints.token_url)) e.host = u->host + ":" + std::to_string(u->port);
  return e;
}

AppTokenCall app_token_call(Trigger trigger, const std::optional<std::string>& rejected_token) {
  switch (trigger) {
    case Trigger::scheduled: return {};
    case Trigger::forced: return AppTokenCall::forced();
    case Trigger::rejected: return AppTokenCall::rejected(rejected_token.value_or(""));
  }
  return {};
}

// How long a worker waits for a call to a busy but answering endpoint to end before it defers
// the refresh (PlatformGuards::admit).
constexpr std::chrono::milliseconds kSlotWait{1000};

metrics::Labels endpoint_labels(const PlatformGuards::Endpoint& e) {
  return {{"platform", e.platform}, {"endpoint", e.host.empty() ? "default" : e.host}};
}

void RefresherMetrics::guards(const std::vector<PlatformGuards::Snapshot>& states) {
  std::vector<std::pair<metrics::Labels, double>> circuits, in_flight;
  for (const auto& s : states) {
    const auto labels = endpoint_labels(s.endpoint);
    circuits.push_back({labels, s.state == CircuitState::closed ? 0.0 : s.state == CircuitState::open ? 1.0 : 2.0});
    in_flight.push_back({labels, static_cast<double>(s.in_flight)});
  }
  reg_.set_gauges("mediax_circuit_state", "Circuit breaker per platform endpoint: 0 closed, 1 open, 2 half-open",
                  circuits);
  reg_.set_gauges("mediax_platform_calls_in_flight", "Platform calls in flight per platform endpoint", in_flight);
}

Outcome refusal_outcome(const PlatformGuards::Permit& p, TimePoint now) {
  const auto id = p.endpoint().id();
  std::string message = p.refusal() == PlatformGuards::Refusal::circuit_open
                            ? "calls to " + id + " are paused after repeated failures (circuit open) until " +
                                  format_time(p.retry_at())
                            : "too many calls to " + id + " are in flight; deferred";
  auto wait = std::chrono::duration_cast<Seconds>(p.retry_at() - now);
  return Outcome::failure(OutcomeKind::retry_later, to_string(p.refusal()), message, 0, std::max(wait, Seconds(1)));
}

}  // namespace

Refresher::Refresher(RefreshStore& store, TokenFeed& feed, EventLog& events, PlatformRegistry& platforms,
                     TokenCache& cache, RefreshPolicy& policy, const TimeSource& clock, std::string owner,
                     metrics::Registry& metrics)
    : store_(store),
      feed_(feed),
      events_(events),
      platforms_(platforms),
      cache_(cache),
      policy_(policy),
      clock_(clock),
      owner_(std::move(owner)),
      metrics_(metrics) {}

Refresher::~Refresher() {
  if (metrics_collector_ != 0) metrics_.remove_collector(metrics_collector_);
}

void Refresher::set_platform_guards(PlatformGuards* guards) {
  guards_ = guards;
  if (metrics_collector_ != 0) metrics_.remove_collector(metrics_collector_);
  metrics_collector_ = 0;
  if (!guards) return;
  metrics_collector_ = metrics_.add_collector(
      [this](metrics::Registry& reg) { RefresherMetrics(reg).guards(guards_->snapshot(clock_.system())); });
}

std::optional<PlatformGuards::Endpoint> Refresher::known_endpoint(const RefreshKey& key) {
  // A grant's app is known from its cached token. No map of grant -> app: it grew with every
  // grant ever refreshed (40 bytes each) and outlived partitions given away; a grant without a
  // cached token is rare, and its guard is checked once its lease is taken.
  std::int64_t app_id = key.app_id;
  if (!key.is_app_token()) {
    auto cached = cache_.app_id(key);
    if (!cached) return std::nullopt;
    app_id = *cached;
  }
  std::lock_guard lk(endpoints_mu_);
  auto it = app_endpoints_.find(app_id);
  if (it == app_endpoints_.end()) return std::nullopt;
  return it->second;
}

void Refresher::learn_endpoint(const RefreshJob& job) {
  std::lock_guard lk(endpoints_mu_);
  app_endpoints_[job.app.id] = endpoint_of(job.app);
}

bool Refresher::holds_result(const RefreshKey& key) {
  std::lock_guard lk(pending_mu_);
  return pending_.count(key.pack()) > 0;
}

RefreshResult Refresher::deferred(const RefreshKey& key, const PlatformGuards::Permit& p, TimePoint now) {
  RefresherMetrics(metrics_).deferred(p);
  RefreshResult r;
  r.status = RefreshResult::Status::failed;
  r.outcome = refusal_outcome(p, now);
  r.token = cache_.get(key);
  r.next_at = p.retry_at();
  r.message = to_string(OutcomeKind::retry_later) + ": " + r.outcome.code + ": " + r.outcome.message;
  spdlog::debug("refresh of {} deferred to {}: {}", describe(key), format_time(p.retry_at()), r.outcome.message);
  return r;
}

TimePoint Refresher::store_retry_at(TimePoint now) {
  TimePoint since;
  {
    std::lock_guard lk(db_mu_);
    if (!db_down_since_) db_down_since_ = now;
    since = *db_down_since_;
  }
  // Half the outage so far, between retry_min and a minute (or retry_max when shorter): a long
  // outage is not hammered, and the daemon is back at work soon after the database is.
  const auto cfg = policy_.config();
  const auto lo = Seconds(cfg.retry_min_seconds);
  const auto hi = std::max(lo, std::min(Seconds(cfg.retry_max_seconds), Seconds(60)));
  const auto base = std::clamp(std::chrono::duration_cast<Seconds>(now - since) / 2, lo, hi);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const double f = std::uniform_real_distribution<double>(0.5, 1.0)(rng);
  return now + std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(base.count()) * f * 1000.0));
}

void Refresher::database_answered() {
  std::lock_guard lk(db_mu_);
  db_down_since_.reset();
}

void Refresher::notify(const RefreshKey& key, std::optional<TimePoint> next) {
  if (listener_) listener_(key, next);
}

RefreshResult Refresher::refresh(const RefreshKey& key, Trigger trigger,
                                 const std::optional<std::string>& expected_token, const Admission& admit) {
  // Joined by fibers and threads alike (fiber/condition.hpp): a scheduled refresh runs on a fiber,
  // a forced one on an admin API thread.
  std::shared_ptr<fiber::SharedResult<RefreshResult>> shared;
  bool leader = false;
  {
    std::lock_guard lk(mu_);
    auto it = inflight_.find(key.pack());
    if (it != inflight_.end()) {
      shared = it->second.result;
    } else {
      if (expected_token) {
        // A consumer says this token was refused. If it is no longer the current one, the
        // refresh it asks for has already happened: answer with the current token.
        auto cur = cache_.get(key);
        if (cur && cur->access_token != *expected_token) {
          RefreshResult r;
          r.status = RefreshResult::Status::refreshed;
          r.outcome = Outcome::success({});
          r.token = cur;
          r.message = "token already replaced";
          return r;
        }
      }
      if (admit && !admit()) {
        RefreshResult r;
        r.status = RefreshResult::Status::refused;
        r.message = "not admitted";
        return r;
      }
      shared = std::make_shared<fiber::SharedResult<RefreshResult>>();
      inflight_.emplace(key.pack(), InFlight{shared});
      leader = true;
    }
  }
  if (!leader) return shared->get();

  RefreshResult result = attempt(key, trigger, trigger == Trigger::rejected ? expected_token : std::nullopt);
  // The inputs changed while the attempt was in flight (a ticket came just after it read "no
  // ticket"): a failure that may pass is tried once more before anyone hears of it. Otherwise the
  // failure's retry time (10 minutes for a missing ticket) would replace the "now" of whoever
  // changed them, whose scheduled refresh joined this one. Forced: the failure made the row not
  // due. A new mark during the rerun earns another; each mark is a new ticket or admin request.
  // A permanent failure stopped the key (no lease to take); a success is a token that works.
  for (;;) {
    {
      // The cache was updated inside run(); removing the in-flight entry under the same lock
      // means a late "rejected" report either joins this refresh or sees the new token.
      std::lock_guard lk(mu_);
      auto it = inflight_.find(key.pack());
      const bool again = std::exchange(it->second.run_again, false) && result.status == RefreshResult::Status::failed &&
                         result.outcome.kind == OutcomeKind::retry_later;
      if (!again) {
        inflight_.erase(it);
        break;
      }
    }
    spdlog::info("refresh of {} failed ({}) while its inputs changed: trying once more", describe(key),
                 result.outcome.code);
    result = attempt(key, Trigger::forced, std::nullopt);
  }
  shared->set(result);
  notify(key, result.next_at);
  return result;
}

bool Refresher::inputs_changed(const RefreshKey& key) {
  // Across instances the same race remains: a refresh in flight on another instance neither sees
  // this mark nor, if its failure is written after this caller's set_next_refresh, keeps that
  // "now". ClusterSync passes ticket notifications on here, which covers a notification that
  // arrives while the attempt is in flight; closing the rest would need the mark in the row (e.g.
  // fail_refresh keeping next_refresh_at due when the app's ticket is newer than the lease).
  std::lock_guard lk(mu_);
  auto it = inflight_.find(key.pack());
  if (it == inflight_.end()) return false;
  it->second.run_again = true;
  return true;
}

RefreshResult Refresher::attempt(const RefreshKey& key, Trigger trigger,
                                 const std::optional<std::string>& rejected_token) {
  try {
    return run(key, trigger, rejected_token);
  } catch (const std::exception& e) {
    RefreshResult result;
    result.status = RefreshResult::Status::store_error;
    result.message = e.what();
    result.next_at = clock_.system() + Seconds(policy_.config().retry_min_seconds);
    spdlog::error("refresh of {} failed unexpectedly: {}", describe(key), e.what());
    return result;
  }
}

RefreshResult Refresher::run(const RefreshKey& key, Trigger trigger, const std::optional<std::string>& rejected_token) {
  RefreshResult r;
  const auto now = clock_.system();
  const auto lease_for = Seconds(policy_.config().lease_seconds);
  std::optional<RefreshJob> job;
  // A platform endpoint that keeps failing, or has too many calls hanging, is not called now
  // (schedule/circuit_breaker.hpp). Known once a job of the app was seen; a held result is
  // stored first whatever the platform's state.
  PlatformGuards::Permit permit;
  bool guarded = false;
  if (guards_ && !holds_result(key)) {
    if (auto ep = known_endpoint(key)) {
      auto cur = cache_.get(key);
      permit = guards_->admit(*ep, now, cur ? std::optional<TimePoint>(cur->expires_at) : std::nullopt, kSlotWait);
      guarded = true;
      if (!permit.ok()) return deferred(key, permit, now);
    }
  }
  try {
    // A scheduled refresh only runs while the row is still due: another instance may have
    // refreshed it since this one's timer was set.
    std::optional<TimePoint> due_by;
    if (trigger == Trigger::scheduled) due_by = now + std::chrono::seconds(1);
    job = store_.acquire_lease(key, owner_, now, now + lease_for, due_by, rejected_token);
    database_answered();
    RefresherMetrics(metrics_).lease(job.has_value());
    if (!job && rejected_token) {
      job = await_other_refresh(key, *rejected_token, r);
      if (!job) return r;
    }
    if (!job) {
      // Another instance holds the lease or already refreshed it, or the grant/app was deleted
      // or stopped. Follow what the database says.
      auto state = feed_.schedule_of(key);
      const bool active = state && state->status == GrantStatus::active;
      auto stored = feed_.get_token(key);
      if (stored) cache_.put_if_newer(*stored);
      r.status = active ? RefreshResult::Status::not_acquired : RefreshResult::Status::gone;
      r.token = cache_.get(key);
      if (!r.token) r.token = stored;  // another instance's partition: not cached here
      if (active) r.next_at = retry_after_lease_refused(now, state->next_refresh_at, state->lease_until, lease_for);
      r.message = active ? "refreshed or being refreshed by another instance" : "no longer active";
      return r;
    }
  } catch (const StoreError& e) {
    r.status = RefreshResult::Status::store_error;
    r.message = e.what();
    r.token = cache_.get(key);
    r.next_at = now + Seconds(policy_.config().retry_min_seconds);
    if (dynamic_cast<const SecretUnreadableError*>(&e) != nullptr) {
      // Sealed with a key this instance has not loaded: a restart with the right keys fixes it.
      r.next_at = now + Seconds(policy_.config().retry_max_seconds);
      spdlog::error("refresh of {} postponed: {}", describe(key), e.what());
    } else {
      r.next_at = store_retry_at(now);
      spdlog::warn("refresh of {} postponed to {}: database unavailable", describe(key), format_time(*r.next_at));
    }
    return r;
  }

  std::optional<RefreshSuccess> held;
  {
    std::lock_guard lk(pending_mu_);
    if (auto it = pending_.find(key.pack()); it != pending_.end()) held = it->second;
  }
  if (held) {
    try {
      store_.complete_refresh(key, owner_, *held);
      {
        std::lock_guard lk(pending_mu_);
        pending_.erase(key.pack());
      }
      spdlog::info("{}: stored the result held while the database was unavailable", describe(key));
      r.status = RefreshResult::Status::refreshed;
      r.outcome = Outcome::success({});
      r.token = held->token;
      r.next_at = held->next_refresh_at;
      r.message = "stored held result";
      return r;
    } catch (const StoreError& e) {
      r.status = RefreshResult::Status::store_error;
      r.message = e.what();
      r.token = held->token;
      r.next_at = store_retry_at(clock_.system());
      return r;
    }
  }

  if (!job->unreadable.empty()) {
    // The stored secret was changed or copied from another row: no platform call can succeed.
    return on_failure(*job, Outcome::failure(OutcomeKind::app_misconfigured, "secret_unreadable", job->unreadable),
                      clock_.system());
  }
  learn_endpoint(*job);
  if (guards_ && !guarded) {
    // First job of this app since start: its endpoint is known only now.
    permit = guards_->admit(endpoint_of(job->app), now,
                            job->current ? std::optional<TimePoint>(job->current->expires_at) : std::nullopt,
                            kSlotWait);
    if (!permit.ok()) return on_failure(*job, refusal_outcome(permit, now), now);
  }
  RefresherMetrics(metrics_).validity_left(job->current, clock_.system());
  Platform* platform = platforms_.get(job->app.platform);
  Outcome o;
  const auto call_started = clock_.monotonic();
  if (!platform) {
    o = Outcome::failure(OutcomeKind::app_misconfigured, "unknown_platform",
                         "platform '" + job->app.platform + "' is not supported");
  } else if (key.is_app_token()) {
    o = platform->client_token(job->app, app_token_call(trigger, rejected_token));
  } else {
    o = platform->refresh(job->app, *job->grant);
  }
  // The decrypted secrets were needed for the request only: wiped now (util::secure_wipe), not
  // whenever the job's memory happens to be reused. Nothing below reads them.
  util::secure_wipe(job->app.client_secret);
  if (job->grant) util::secure_wipe(job->grant->refresh_token);
  RefresherMetrics(metrics_).platform_call(job->app.platform, o, clock_.monotonic() - call_started);
  const auto received = clock_.system();
  // The breaker counts only answers that are not answers: no connection, timeout, 5xx, garbage.
  permit.done(o.kind != OutcomeKind::retry_later, received);
  return o.ok() ? on_success(*job, o, received) : on_failure(*job, o, received);
}

std::optional<RefreshJob> Refresher::await_other_refresh(const RefreshKey& key, const std::string& rejected_token,
                                                         RefreshResult& r) {
  // Another instance was told about the same refused token (or refreshes this key for another
  // reason) and holds the lease. Its new token is what this caller needs too: poll the row
  // until the stored token changes. If that instance dies, its lease runs out and the
  // acquire below takes over, still only while the refused token is the stored one.
  const auto lease_for = Seconds(policy_.config().lease_seconds);
  const auto give_up = clock_.monotonic() + lease_for + std::chrono::seconds(2);
  auto pause = std::chrono::milliseconds(50);
  for (;;) {
    auto t = feed_.get_token(key);
    if (t && t->access_token != rejected_token) {
      cache_.put(*t);
      r.status = RefreshResult::Status::refreshed;
      r.outcome = Outcome::success({});
      r.token = t;
      auto state = feed_.schedule_of(key);
      r.next_at = state && state->next_refresh_at ? *state->next_refresh_at : clock_.system() + lease_for;
      r.message = "token already replaced";
      return std::nullopt;
    }
    auto state = feed_.schedule_of(key);
    if (!state || state->status != GrantStatus::active) {
      r.status = RefreshResult::Status::gone;
      r.token = cache_.get(key);
      r.message = "no longer active";
      return std::nullopt;
    }
    if (clock_.monotonic() >= give_up) {
      r.status = RefreshResult::Status::not_acquired;
      r.next_at = clock_.system() + lease_for;
      r.message = "another instance is still refreshing this token";
      return std::nullopt;
    }
    fiber::sleep_for(clock_, pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(500));
    const auto now = clock_.system();
    auto job = store_.acquire_lease(key, owner_, now, now + lease_for, std::nullopt, rejected_token);
    RefresherMetrics(metrics_).lease(job.has_value());
    if (job) return job;
  }
}

RefreshResult Refresher::on_success(const RefreshJob& job, const Outcome& o, TimePoint received_at) {
  RefreshResult r;
  const auto& t = o.token;
  HeldBefore held;
  held.app_id = job.app.id;
  held.grant = !job.key.is_app_token();
  if (held.grant) held.grant_id = job.key.grant_id;
  held.scopes = job.grant ? job.grant->scopes : job.current ? job.current->scopes : job.app.scopes;
  if (job.current) held.access_token = job.current->access_token;
  if (job.grant) held.refresh_expires_at = job.grant->refresh_expires_at;
  RefreshSuccess s = token_from_answer(t, received_at, held, policy_);

  // The platform may already have invalidated the old refresh token: storing the new one is
  // the most important write this daemon makes. Retry it while the lease lasts.
  const auto deadline = received_at + Seconds(policy_.config().lease_seconds);
  for (int attempt = 1;; ++attempt) {
    try {
      store_.complete_refresh(job.key, owner_, s);
      break;
    } catch (const StoreError& e) {
      if (clock_.system() + std::chrono::seconds(1) >= deadline) {
        // Keep serving the new token from memory and hold the result; the scheduler tries
        // to store it again soon, before it would call the platform.
        cache_.put(s.token);
        {
          std::lock_guard lk(pending_mu_);
          pending_[job.key.pack()] = s;
        }
        r.status = RefreshResult::Status::store_error;
        r.outcome = o;
        r.token = s.token;
        r.next_at = store_retry_at(clock_.system());
        r.message = std::string("refreshed but not stored: ") + e.what();
        spdlog::error("{}: refreshed at the platform but could not store the result after {} attempts: {}",
                      describe(job.key), attempt, e.what());
        return r;
      }
      fiber::sleep_for(clock_, std::chrono::milliseconds(std::min(200 * attempt, 2000)));
    }
  }
  cache_.put(s.token);
  record_platform_notes(job, t, received_at);
  try {
    Event ev;
    ev.app_id = job.app.id;
    if (!job.key.is_app_token()) ev.grant_id = job.key.grant_id;
    ev.kind = "refreshed";
    ev.detail = {{"expires_at", format_time(s.token.expires_at)}, {"rotated", s.new_refresh_token.has_value()}};
    events_.add_event(ev);
  } catch (const std::exception& e) {
    spdlog::warn("could not record refresh event: {}", e.what());
  }
  spdlog::debug("{} of app '{}' refreshed, expires {}, next refresh {}", describe(job.key), job.app.name,
                format_time(s.token.expires_at), format_time(s.next_refresh_at));
  r.status = RefreshResult::Status::refreshed;
  r.outcome = o;
  r.token = s.token;
  r.next_at = s.next_refresh_at;
  r.message = "refreshed";
  return r;
}

void Refresher::record_platform_notes(const RefreshJob& job, const TokenResult& t, TimePoint at) {
  if (!t.warning_code.empty()) {
    spdlog::warn("{} of app '{}' (platform {}) refreshed, but: {}: {}", describe(job.key), job.app.name,
                 job.app.platform, t.warning_code, t.warning_message);
    try {
      Event ev;
      ev.app_id = job.app.id;
      if (!job.key.is_app_token()) ev.grant_id = job.key.grant_id;
      ev.kind = "refresh_warning";
      ev.detail = {{"code", t.warning_code}, {"message", t.warning_message}};
      events_.add_event(ev);
    } catch (const std::exception& e) {
      spdlog::warn("could not record refresh warning event: {}", e.what());
    }
  }
  if (!t.renew_not_permitted || job.app.renew_not_permitted_at) return;
  // Once per app: the store sets the flag and queues app.renew_not_permitted only the first time.
  try {
    if (store_.flag_renew_not_permitted(job.app.id, at)) {
      RefresherMetrics(metrics_).renew_not_permitted(job.app.platform);
      spdlog::warn(
          "app '{}' (platform {}) may not renew refresh tokens: its grants are refreshed until their "
          "refresh tokens expire; grant the app the renew permission at the platform",
          job.app.name, job.app.platform);
    }
  } catch (const std::exception& e) {
    // The next refresh of one of the app's grants learns it again.
    spdlog::warn("could not flag app '{}' as not permitted to renew: {}", job.app.name, e.what());
  }
}

RefreshResult Refresher::on_failure(const RefreshJob& job, const Outcome& o, TimePoint now) {
  RefreshResult r;
  r.status = RefreshResult::Status::failed;
  r.outcome = o;
  r.token = cache_.get(job.key);
  RefreshFailure f;
  f.kind = o.kind;
  f.code = o.code;
  f.message = o.message;
  const bool permanent = o.kind == OutcomeKind::needs_reauth || o.kind == OutcomeKind::app_misconfigured;
  if (o.kind == OutcomeKind::needs_reauth && job.interrupted && !job.key.is_app_token()) {
    // The refresh before this one was cut off (an instance died) after the platform may have
    // rotated the refresh token; the one we have is refused. Say so: a human must reconnect.
    f.code = "lost_rotation";
    f.message = "an interrupted refresh lost the rotated refresh token (platform said " + o.code +
                (o.message.empty() ? "" : ": " + o.message) + ")";
  }
  if (permanent) {
    // invalid_grant / invalid_client: retrying cannot help, a human must act.
    f.new_status = GrantStatus::needs_reauth;
  } else {
    int failures = (job.grant ? job.grant->failure_count : job.app.failure_count) + 1;
    std::optional<TimePoint> expires;
    if (job.current) expires = job.current->expires_at;
    f.next_refresh_at = policy_.retry_at(failures, now, o.retry_after, expires);
    r.next_at = f.next_refresh_at;
  }
  spdlog::warn("refresh of {} of app '{}' (platform {}) failed: {} {}: {}{}", describe(job.key), job.app.name,
               job.app.platform, to_string(o.kind), o.code, o.message,
               permanent ? " — needs re-authorization, not retrying" : ", retry at " + format_time(*r.next_at));
  try {
    store_.fail_refresh(job.key, owner_, f);
    Event ev;
    ev.app_id = job.app.id;
    if (!job.key.is_app_token()) ev.grant_id = job.key.grant_id;
    ev.kind = "refresh_failed";
    ev.detail = {{"class", to_string(o.kind)}, {"code", o.code}, {"message", o.message}};
    events_.add_event(ev);
  } catch (const StoreError& e) {
    spdlog::error("could not record the failed refresh of {}: {}", describe(job.key), e.what());
    if (!r.next_at) r.next_at = now + Seconds(policy_.config().retry_min_seconds);
  }
  r.message = to_string(o.kind) + ": " + o.code + (o.message.empty() ? "" : ": " + o.message);
  return r;
}

}  // namespace mediax
