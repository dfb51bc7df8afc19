#include "platforms/douyin_renewal.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "platforms/platform_util.hpp"
#include "platforms/spec_platform.hpp"
#include "util/url.hpp"

namespace mediax {

namespace douyin {

using nlohmann::json;

std::optional<std::string> parse_options(const json& options, Options& out) {
  out = Options{};
  if (auto e = platform_util::unknown_option(options, {"renew_before_seconds", "renew_window_seconds", "max_renewals",
                                                       "client_token", "optional_scopes", "base_url"})) {
    return e;
  }
  // renew_window_seconds is the name of apps registered before renewal had its own schedule; it
  // is read as renew_before_seconds (and cut to half the refresh token's lifetime like it).
  const bool old_name = options.is_object() && options.contains("renew_window_seconds");
  if (old_name && options.contains("renew_before_seconds")) {
    return std::string("options.renew_window_seconds: the old name of renew_before_seconds; give only one");
  }
  const char* before_key = old_name ? "renew_window_seconds" : "renew_before_seconds";
  std::int64_t before = out.renew_before.count();
  if (auto e = platform_util::integer_option(options, before_key, 60, kRefreshTokenLifetime, before)) return e;
  out.renew_before = Seconds(before);
  std::int64_t max = out.max_renewals;
  if (auto e = platform_util::integer_option(options, "max_renewals", 0, 100, max)) return e;
  out.max_renewals = static_cast<int>(max);
  std::string endpoint = "client_token";
  if (auto e =
          platform_util::choice_option(options, "client_token", {"client_token", "stable_client_token"}, endpoint)) {
    return e;
  }
  out.stable_client_token = endpoint == "stable_client_token";
  if (options.is_object() && options.contains("optional_scopes")) {
    const json& o = options["optional_scopes"];
    if (!o.is_object()) {
      return std::string("options.optional_scopes: an object of scope: true|false (ticked at first or not)");
    }
    for (const auto& [scope, ticked] : o.items()) {
      if (scope.empty() || scope.find(',') != std::string::npos || scope.find(' ') != std::string::npos) {
        return "options.optional_scopes: '" + scope.substr(0, 64) + "' is not a Douyin scope (no ',' or space)";
      }
      if (!ticked.is_boolean()) return "options.optional_scopes." + scope + ": true or false";
      out.optional_scopes.emplace_back(scope, ticked.get<bool>());
    }
  }
  if (options.is_object() && options.contains("base_url")) {
    const json& u = options["base_url"];
    auto parsed = u.is_string() ? parse_url(u.get<std::string>()) : std::nullopt;
    if (!parsed || parsed->target.find('?') != std::string::npos) {
      return std::string(
          "options.base_url: an http(s) URL without credentials or query, e.g. "
          "https://open-sandbox.douyin.com");
    }
    out.base_url = u.get<std::string>();
    while (!out.base_url.empty() && out.base_url.back() == '/') out.base_url.pop_back();
  }
  return std::nullopt;
}

int renewals_of(const Grant& grant) {
  auto n = platform_util::int_member(grant.extra, "renewals");
  if (!n || *n < 0) return 0;
  return *n > 1000 ? 1000 : static_cast<int>(*n);
}

RefreshTokenState refresh_token_state(const Grant& grant) {
  RefreshTokenState rt;
  rt.expires_at = grant.refresh_expires_at;
  rt.renewals = renewals_of(grant);
  if (auto l = platform_util::int_member(grant.extra, "refresh_lifetime"); l && *l > 0) rt.lifetime = Seconds(*l);
  auto ex = grant.extra.find("renewals_exhausted");
  rt.exhausted = ex != grant.extra.end() && ex->is_boolean() && ex->get<bool>();
  return rt;
}

Seconds renew_lead(const Options& options, Seconds lifetime) { return std::min(options.renew_before, lifetime / 2); }

bool may_renew(const RefreshTokenState& rt, const Options& options, bool app_may_renew) {
  return app_may_renew && !rt.exhausted && rt.renewals < options.max_renewals;
}

RefreshAction plan_refresh(const RefreshTokenState& rt, const Options& options, bool app_may_renew, TimePoint now) {
  if (!rt.expires_at) return RefreshAction::refresh;
  if (now >= *rt.expires_at) return RefreshAction::expired;
  if (may_renew(rt, options, app_may_renew) && now >= *rt.expires_at - renew_lead(options, rt.lifetime)) {
    return RefreshAction::refresh_and_renew;
  }
  return RefreshAction::refresh;
}

FollowUp follow_up(const RefreshTokenState& rt, const Options& options, bool app_may_renew, TimePoint now) {
  FollowUp f;
  if (!rt.expires_at) return f;
  const TimePoint end = *rt.expires_at;
  const TimePoint last = end - spec::last_refresh_lead(rt.lifetime);
  // Until the last refresh, that one; after it, the end itself (refresh() then says expired).
  f.call_again_by = last > now ? last : end;
  if (may_renew(rt, options, app_may_renew)) {
    TimePoint renew_at = end - renew_lead(options, rt.lifetime);
    if (renew_at <= now) {
      // Due already, so the renewal just failed: try again after a while, more often near the end.
      const auto left = std::chrono::duration_cast<Seconds>(end - now);
      renew_at = now + std::clamp(left / 8, Seconds(1), Seconds(3600));
    }
    f.call_again_by = std::min(*f.call_again_by, renew_at);
  } else {
    f.reauth_due_at = end;
  }
  return f;
}

}  // namespace douyin

}  // namespace mediax
