#include "schedule/refresher.hpp"

#include <spdlog/spdlog.h>

#include <thread>

#include "platforms/registry.hpp"
#include "service/metrics.hpp"

namespace mediax {

std::string to_string(RefreshResult::Status s) {
  switch (s) {
    case RefreshResult::Status::refreshed: return "refreshed";
    case RefreshResult::Status::failed: return "failed";
    case RefreshResult::Status::not_acquired: return "not_acquired";
    case RefreshResult::Status::gone: return "gone";
    case RefreshResult::Status::store_error: return "store_error";
  }
  return "failed";
}

namespace {

std::string describe(const RefreshKey& k) {
  return k.is_app_token() ? "app " + std::to_string(k.app_id) + " token" : "grant " + std::to_string(k.grant_id);
}

// One platform call: its outcome class and how long the platform took.
void count_platform_call(const std::string& platform, const Outcome& o, std::chrono::steady_clock::duration took) {
  auto& reg = metrics::registry();
  reg.counter("mediax_refreshes_total", "Token refreshes (platform calls) by platform and outcome class",
              {{"platform", platform}, {"outcome", to_string(o.kind)}})
      .inc();
  reg.histogram("mediax_refresh_duration_seconds", "Time the platform took to answer a refresh", metrics::latency_buckets(),
                {{"platform", platform}})
      .observe(std::chrono::duration<double>(took).count());
}

void count_lease(bool acquired) {
  metrics::registry()
      .counter("mediax_lease_attempts_total", "Attempts to take the refresh lease on a token, by result",
               {{"result", acquired ? "acquired" : "busy_or_gone"}})
      .inc();
}

}  // namespace

Refresher::Refresher(Store& store, PlatformRegistry& platforms, TokenCache& cache, RefreshPolicy& policy,
                     const Clock& clock, std::string owner)
    : store_(store), platforms_(platforms), cache_(cache), policy_(policy), clock_(clock), owner_(std::move(owner)) {}

void Refresher::notify(const RefreshKey& key, std::optional<TimePoint> next) {
  if (listener_) listener_(key, next);
}

RefreshResult Refresher::refresh(const RefreshKey& key, Trigger trigger, const std::optional<std::string>& expected_token) {
  std::promise<RefreshResult> promise;
  std::shared_future<RefreshResult> fut;
  bool leader = false;
  {
    std::lock_guard lk(mu_);
    auto it = inflight_.find(key.pack());
    if (it != inflight_.end()) {
      fut = it->second;
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
      fut = promise.get_future().share();
      inflight_.emplace(key.pack(), fut);
      leader = true;
    }
  }
  if (!leader) return fut.get();

  RefreshResult result;
  try {
    result = run(key, trigger);
  } catch (const std::exception& e) {
    result.status = RefreshResult::Status::store_error;
    result.message = e.what();
    result.next_at = clock_.now() + Seconds(policy_.config().retry_min_seconds);
    spdlog::error("refresh of {} failed unexpectedly: {}", describe(key), e.what());
  }
  {
    // The cache was updated inside run(); removing the in-flight entry under the same lock
    // means a late "rejected" report either joins this refresh or sees the new token.
    std::lock_guard lk(mu_);
    inflight_.erase(key.pack());
  }
  promise.set_value(result);
  notify(key, result.next_at);
  return result;
}

RefreshResult Refresher::run(const RefreshKey& key, Trigger trigger) {
  RefreshResult r;
  const auto now = clock_.now();
  const auto lease_for = Seconds(policy_.config().lease_seconds);
  std::optional<RefreshJob> job;
  try {
    // A scheduled refresh only runs while the row is still due: another instance may have
    // refreshed it since this one's timer was set.
    std::optional<TimePoint> due_by;
    if (trigger == Trigger::scheduled) due_by = now + std::chrono::seconds(1);
    job = store_.acquire_lease(key, owner_, now, now + lease_for, due_by);
    count_lease(job.has_value());
    if (!job) {
      // Another instance holds the lease or already refreshed it, or the grant/app was deleted
      // or stopped. Follow what the database says.
      auto state = store_.schedule_of(key);
      const bool active = state && state->status == GrantStatus::active;
      if (auto t = store_.get_token(key)) {
        cache_.put(*t);
      }
      r.status = active ? RefreshResult::Status::not_acquired : RefreshResult::Status::gone;
      r.token = cache_.get(key);
      if (active) {
        // Not due yet: its new time. Due but leased: look again when the lease runs out.
        r.next_at = state->next_refresh_at && *state->next_refresh_at > now + std::chrono::seconds(1)
                        ? *state->next_refresh_at
                        : now + lease_for;
      }
      r.message = active ? "refreshed or being refreshed by another instance" : "no longer active";
      return r;
    }
  } catch (const StoreError& e) {
    r.status = RefreshResult::Status::store_error;
    r.message = e.what();
    r.token = cache_.get(key);
    r.next_at = now + Seconds(policy_.config().retry_min_seconds);
    spdlog::warn("refresh of {} postponed: database unavailable", describe(key));
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
      r.next_at = clock_.now() + Seconds(policy_.config().retry_min_seconds);
      return r;
    }
  }

  Platform* platform = platforms_.get(job->app.platform);
  Outcome o;
  const auto call_started = std::chrono::steady_clock::now();
  if (!platform) {
    o = Outcome::failure(OutcomeKind::app_misconfigured, "unknown_platform", "platform '" + job->app.platform + "' is not supported");
  } else if (key.is_app_token()) {
    o = platform->client_token(job->app, trigger != Trigger::scheduled);
  } else {
    o = platform->refresh(job->app, *job->grant);
  }
  count_platform_call(job->app.platform, o, std::chrono::steady_clock::now() - call_started);
  const auto received = clock_.now();
  return o.ok() ? on_success(*job, o, received) : on_failure(*job, o, received);
}

RefreshResult Refresher::on_success(const RefreshJob& job, const Outcome& o, TimePoint received_at) {
  RefreshResult r;
  const auto& t = o.token;
  RefreshSuccess s;
  s.token.app_id = job.app.id;
  if (!job.key.is_app_token()) s.token.grant_id = job.key.grant_id;
  s.token.access_token = t.access_token;
  s.token.token_type = t.token_type.empty() ? "Bearer" : t.token_type;
  s.token.scopes = !t.scopes.empty() ? t.scopes
                   : job.grant      ? job.grant->scopes
                   : job.current    ? job.current->scopes
                                    : job.app.scopes;
  s.token.refreshed_at = received_at;
  s.token.expires_at = received_at + t.expires_in.value_or(policy_.lifetime_default());
  s.new_refresh_token = t.refresh_token;
  if (t.refresh_token && t.refresh_expires_in) s.refresh_expires_at = received_at + *t.refresh_expires_in;
  if (!t.account_id.empty()) s.account_id = t.account_id;
  s.grant_extra_patch = t.extra.is_object() ? t.extra : nlohmann::json::object();
  s.next_refresh_at = policy_.next_refresh(received_at, s.token.expires_at, received_at);

  // The platform may already have invalidated the old refresh token: storing the new one is
  // the most important write this daemon makes. Retry it while the lease lasts.
  const auto deadline = received_at + Seconds(policy_.config().lease_seconds);
  for (int attempt = 1;; ++attempt) {
    try {
      store_.complete_refresh(job.key, owner_, s);
      break;
    } catch (const StoreError& e) {
      if (clock_.now() + std::chrono::seconds(1) >= deadline) {
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
        r.next_at = clock_.now() + Seconds(policy_.config().retry_min_seconds);
        r.message = std::string("refreshed but not stored: ") + e.what();
        spdlog::error("{}: refreshed at the platform but could not store the result after {} attempts: {}",
                      describe(job.key), attempt, e.what());
        return r;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(200 * attempt, 2000)));
    }
  }
  cache_.put(s.token);
  try {
    Event ev;
    ev.app_id = job.app.id;
    if (!job.key.is_app_token()) ev.grant_id = job.key.grant_id;
    ev.kind = "refreshed";
    ev.detail = {{"expires_at", format_time(s.token.expires_at)}, {"rotated", s.new_refresh_token.has_value()}};
    store_.add_event(ev);
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
               permanent ? " — needs re-authorization, not retrying"
                         : ", retry at " + format_time(*r.next_at));
  try {
    store_.fail_refresh(job.key, owner_, f);
    Event ev;
    ev.app_id = job.app.id;
    if (!job.key.is_app_token()) ev.grant_id = job.key.grant_id;
    ev.kind = "refresh_failed";
    ev.detail = {{"class", to_string(o.kind)}, {"code", o.code}, {"message", o.message}};
    store_.add_event(ev);
  } catch (const StoreError& e) {
    spdlog::error("could not record the failed refresh of {}: {}", describe(job.key), e.what());
    if (!r.next_at) r.next_at = now + Seconds(policy_.config().retry_min_seconds);
  }
  r.message = to_string(o.kind) + ": " + o.code + (o.message.empty() ? "" : ": " + o.message);
  return r;
}

}  // namespace mediax
