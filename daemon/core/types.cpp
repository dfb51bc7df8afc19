#include "core/types.hpp"


namespace mediax {

std::string to_string(GrantStatus s) {
  switch (s) {
    case GrantStatus::active: return "active";
    case GrantStatus::needs_reauth: return "needs_reauth";
    case GrantStatus::revoked: return "revoked";
    case GrantStatus::disabled: return "disabled";
  }
  return "active";
}

std::optional<GrantStatus> grant_status_from_string(const std::string& s) {
  if (s == "active") return GrantStatus::active;
  if (s == "needs_reauth") return GrantStatus::needs_reauth;
  if (s == "revoked") return GrantStatus::revoked;
  if (s == "disabled") return GrantStatus::disabled;
  return std::nullopt;
}

std::string to_string(TokenUsage u) {
  switch (u) {
    case TokenUsage::authorization_bearer: return "header:Authorization:Bearer";
    case TokenUsage::access_token_header: return "header:access-token";
    case TokenUsage::access_token_query: return "query:access_token";
    case TokenUsage::component_access_token_query: return "query:component_access_token";
  }
  return "header:Authorization:Bearer";
}

std::optional<TokenUsage> token_usage_from_string(const std::string& s) {
  for (auto u : {TokenUsage::authorization_bearer, TokenUsage::access_token_header, TokenUsage::access_token_query,
                 TokenUsage::component_access_token_query}) {
    if (s == to_string(u)) return u;
  }
  return std::nullopt;
}

std::string to_string(OutcomeKind k) {
  switch (k) {
    case OutcomeKind::success: return "success";
    case OutcomeKind::retry_later: return "retry_later";
    case OutcomeKind::rate_limited: return "rate_limited";
    case OutcomeKind::needs_reauth: return "needs_reauth";
    case OutcomeKind::app_misconfigured: return "app_misconfigured";
  }
  return "retry_later";
}

Outcome Outcome::success(TokenResult t) {
  Outcome o;
  o.kind = OutcomeKind::success;
  o.token = std::move(t);
  return o;
}

Outcome Outcome::failure(OutcomeKind k, std::string code, std::string message, int http_status,
                         std::optional<Seconds> retry_after) {
  Outcome o;
  o.kind = k;
  o.code = std::move(code);
  o.message = std::move(message);
  o.http_status = http_status;
  o.retry_after = retry_after;
  return o;
}

std::uint64_t RefreshKey::pack() const {
  if (is_app_token()) return (static_cast<std::uint64_t>(app_id) << 1) | 1U;
  return static_cast<std::uint64_t>(grant_id) << 1;
}

RefreshKey RefreshKey::unpack(std::uint64_t v) {
  RefreshKey k;
  if (v & 1U) {
    k.app_id = static_cast<std::int64_t>(v >> 1);
  } else {
    k.grant_id = static_cast<std::int64_t>(v >> 1);
  }
  return k;
}

}  // namespace mediax
