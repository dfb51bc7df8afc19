#include "service/token_reads.hpp"

#include <spdlog/spdlog.h>

#include "platforms/platform.hpp"
#include "service/app_request.hpp"

namespace mediax {

namespace {

ApiError out_of_scope(const Caller& caller, const std::string& what) {
  return ApiError(403, "forbidden",
                  "API key '" + caller.key_name + "' may use the tokens of apps " + scope_text(caller.apps) +
                      " only; " + what,
                  {{"key_apps", caller.apps}});
}

}  // namespace

TokenReads::TokenReads(AdminStore& apps, TokenCache& cache, Refresher& refresher, const TimeSource& time,
                       RejectedLimits* rejected_limits)
    : apps_(apps), cache_(cache), refresher_(refresher), time_(time), rejected_limits_(rejected_limits), usages_(apps) {
  try {
    usages_.load_all();
  } catch (const StoreError& e) {
    spdlog::warn("apps not read yet ({}): each is read when its token is first asked for", e.what());
  }
}

void TokenReads::app_registered(const App& app) { usages_.remember(app); }

void TokenReads::app_deleted(const std::string& app_name) {
  std::lock_guard lk(known_apps_mu_);
  known_app_tokens_.erase(app_name);
}

Expected<RefreshKey> TokenReads::app_token_key(const std::string& app_name, const Caller& caller) {
  // Before any lookup: a scoped key learns nothing about apps outside its scope, not even whether
  // they exist.
  if (!key_may_use_app(caller.apps, app_name)) {
    return tl::unexpected(out_of_scope(caller, "app '" + app_name + "' is not one of them"));
  }
  std::optional<App> found;
  try {
    if (valid_app_name(app_name)) found = apps_.get_app(app_name);
  } catch (const StoreError& e) {
    std::lock_guard lk(known_apps_mu_);
    auto it = known_app_tokens_.find(app_name);
    if (it == known_app_tokens_.end()) return tl::unexpected(database_error(e));
    return RefreshKey{it->second, 0};
  }
  if (!found) {
    std::lock_guard lk(known_apps_mu_);
    known_app_tokens_.erase(app_name);
    return tl::unexpected(ApiError(404, "not_found", "no app named '" + app_name + "'"));
  }
  const App& app = *found;
  if (!app.client_credentials) {
    return tl::unexpected(ApiError(
        404, "no_app_token", "app '" + app.name + "' does not use client credentials; read a grant's token instead"));
  }
  std::lock_guard lk(known_apps_mu_);
  known_app_tokens_[app.name] = app.id;
  return RefreshKey{app.id, 0};
}

Expected<RefreshKey> TokenReads::grant_key(std::int64_t grant_id, const Caller& caller) {
  RefreshKey key;
  // Token reads are the hot path: a grant with a token in memory needs no database round trip.
  if (auto t = cache_.get(RefreshKey{0, grant_id})) {
    key = RefreshKey{t->app_id, grant_id};
  } else {
    std::optional<Grant> g;
    try {
      g = apps_.get_grant(grant_id);
    } catch (const StoreError& e) {
      return tl::unexpected(database_error(e));
    }
    if (!g) return tl::unexpected(ApiError(404, "not_found", "no grant " + std::to_string(grant_id)));
    key = RefreshKey{g->app_id, g->id};
  }
  if (caller.apps.empty()) return key;
  std::optional<std::string> app_name;
  try {
    app_name = usages_.name(key.app_id);
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
  return admitted(key, app_name, caller, grant_id);
}

Expected<RefreshKey> TokenReads::admitted(const RefreshKey& key, const std::optional<std::string>& app_name,
                                          const Caller& caller, std::int64_t grant_id) {
  // The grant's app is not named: a scoped key learns only that it is not one of its own.
  if (app_name && key_may_use_app(caller.apps, *app_name)) return key;
  return tl::unexpected(out_of_scope(caller, "grant " + std::to_string(grant_id) + " belongs to another app"));
}

std::optional<Token> TokenReads::lookup(const RefreshKey& key) const {
  auto t = cache_.get(key);
  if (!t && feed_ != nullptr && owned_ != nullptr && !owned_->owns(key)) t = feed_->get_token(key);
  return t;
}

Expected<Token> TokenReads::current_token(const RefreshKey& key) {
  std::optional<Token> t;
  try {
    t = lookup(key);
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
  if (!t) return tl::unexpected(ApiError(404, "no_token", "there is no token yet"));
  return refuse_expiring(std::move(*t)).and_then([this](Token ok) { return answered(std::move(ok)); });
}

Expected<std::optional<Token>> TokenReads::cached_grant_token(std::int64_t grant_id, const Caller& caller) {
  auto t = cache_.get(RefreshKey{0, grant_id});
  if (!t) return std::optional<Token>();
  if (!caller.apps.empty()) {
    // Only what memory knows: an app not seen yet is the pool's to look up.
    const auto app_name = usages_.known_name(t->app_id);
    if (!app_name) return std::optional<Token>();
    if (auto ok = admitted(RefreshKey{t->app_id, grant_id}, app_name, caller, grant_id); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  return refuse_expiring(std::move(*t))
      .and_then([this](Token ok) { return answered(std::move(ok)); })
      .map([](Token ok) { return std::optional<Token>(std::move(ok)); });
}

Expected<Token> TokenReads::answered(Token t) {
  std::optional<TokenUsage> usage;
  try {
    usage = usages_.get(RefreshKey{t.app_id, t.grant_id.value_or(0)});
  } catch (const StoreError& e) {
    // Not known in memory (an app registered on another instance since start) and not readable.
    return tl::unexpected(database_error(e));
  }
  if (!usage) return tl::unexpected(ApiError(404, "not_found", "the app of this token was deleted"));
  t.token_usage = *usage;
  return t;
}

Expected<Token> TokenReads::refuse_expiring(Token t) const {
  // Never hand out an expired token: the caller must see that something is wrong. expires_at goes
  // out in whole seconds (truncated): a token with under a second left could show an expires_at
  // that is already past when it arrives, and is of no use to the caller anyway.
  if (const auto now = time_.system(); t.expires_at - now < std::chrono::seconds(1)) {
    const std::string when = t.expires_at <= now
                                 ? "expired at " + format_time(t.expires_at)
                                 : "expires at " + format_time(t.expires_at) + " (less than a second left)";
    return tl::unexpected(
        ApiError(503, "token_expired",
                 "the token " + when + " and has not been refreshed yet; see the grant's or app's last_error"));
  }
  return t;
}

std::optional<TimePoint> TokenReads::token_expiry(const RefreshKey& key) const {
  std::optional<Token> t;
  try {
    t = lookup(key);
  } catch (const StoreError&) {
    return std::nullopt;  // shown as unknown; the grant itself was read
  }
  if (!t) return std::nullopt;
  return t->expires_at;
}

Expected<Token> TokenReads::token_from(const RefreshResult& r, const RefreshKey& key) {
  using S = RefreshResult::Status;
  switch (r.status) {
    case S::refreshed:
      if (r.token) return *r.token;
      break;
    case S::failed:
      return tl::unexpected(ApiError(502, "platform_error", r.message,
                                     {{"platform_code", r.outcome.code}, {"class", to_string(r.outcome.kind)}}));
    case S::gone: return tl::unexpected(ApiError(409, "not_active", "this grant or app is not active: " + r.message));
    case S::not_acquired:
      // Another instance is refreshing it right now; its result is what we will serve.
      if (r.token) return *r.token;
      if (auto t = cache_.get(key)) return *t;
      return tl::unexpected(
          ApiError(409, "refresh_in_progress", "another instance is refreshing this token; try again shortly"));
    case S::store_error:
      if (r.token) return *r.token;
      return tl::unexpected(ApiError(503, "database_unavailable", "the database is unavailable; try again shortly"));
    case S::refused: break;  // token_rejected answers it before
  }
  return current_token(key);
}

Expected<Token> TokenReads::force_refresh(const RefreshKey& key) {
  // An admin asks for an attempt now, often after fixing something at the platform: one in
  // flight that started before, and fails, is tried once more instead of answering for this one.
  refresher_.inputs_changed(key);
  return token_from(refresher_.refresh(key, Trigger::forced), key).and_then([this](Token t) {
    return answered(std::move(t));
  });
}

Expected<Token> TokenReads::token_rejected(const RefreshKey& key, const std::string& access_token,
                                           const Caller& caller) {
  // Only a report that would start a platform call of its own is counted: one joining the
  // refresh in flight, or of a token already replaced, costs the platform nothing (ten servers
  // reporting the same refused token at once are one refresh, and one report).
  RejectedLimits::Verdict refused;
  Refresher::Admission admit;
  if (rejected_limits_ != nullptr) {
    admit = [&] {
      refused = rejected_limits_->admit(caller.key_name, key);
      return refused.retry_after.count() == 0;
    };
  }
  const auto r = refresher_.refresh(key, Trigger::rejected, access_token, admit);
  if (r.status == RefreshResult::Status::refused) {
    const std::string whose = refused.which == "key" ? "by API key '" + caller.key_name + "'" : "of this token";
    return tl::unexpected(ApiError(429, "rate_limited",
                                   "too many rejected-token reports " + whose + " (at most " +
                                       std::to_string(refused.limit) + " a minute, security.rejected_per_" +
                                       refused.which + "_per_minute); try again in " +
                                       std::to_string(refused.retry_after.count()) + " s",
                                   {{"retry_after_seconds", refused.retry_after.count()}}));
  }
  if (r.status == RefreshResult::Status::not_acquired) {
    // Another instance held the lease for longer than a lease lasts: never hand back the
    // token the caller just said was refused.
    return tl::unexpected(
        ApiError(409, "refresh_in_progress", "another instance is refreshing this token; try again shortly"));
  }
  if (r.status == RefreshResult::Status::refreshed && r.outcome.code == kTokenStillCurrent && r.token) {
    // The platform still calls the refused token current and no new one was forced (others hold
    // it): handing it back as if new would only make the consumer fail again.
    return tl::unexpected(
        ApiError(409, kTokenStillCurrent, r.outcome.message, {{"expires_at", format_time(r.token->expires_at)}}));
  }
  return token_from(r, key).and_then([this](Token t) { return answered(std::move(t)); });
}

}  // namespace mediax
