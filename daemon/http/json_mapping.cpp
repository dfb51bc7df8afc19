#include "http/json_mapping.hpp"

#include "service/component_status.hpp"

namespace mediax {

namespace {
nlohmann::json time_or_null(const std::optional<TimePoint>& t) {
  return t ? nlohmann::json(format_time(*t)) : nlohmann::json(nullptr);
}
}  // namespace

nlohmann::json to_json(const App& app) {
  nlohmann::json j = {
      {"id", app.id},
      {"name", app.name},
      {"platform", app.platform},
      {"client_id", app.client_id},
      {"scopes", app.scopes},
      {"client_credentials", app.client_credentials},
      {"endpoints",
       {{"authorize_url", app.endpoints.authorize_url},
        {"token_url", app.endpoints.token_url},
        {"revocation_url", app.endpoints.revocation_url}}},
      {"token_auth_method", app.token_auth_method},
      {"redirect_uri", app.redirect_uri},
      {"options", app.options},
      {"token_usage", to_string(app.token_usage)},
      {"created_at", format_time(app.created_at)},
      // The URL only: the webhook's secret is never shown.
      {"webhook", app.webhook_url.empty() ? nlohmann::json(nullptr) : nlohmann::json{{"url", app.webhook_url}}},
  };
  if (!app.issuer.empty()) j["issuer"] = app.issuer;
  // Why the daemon refuses to use the app's secrets (e.g. its token endpoint changed in the
  // database since the secret was sealed); null when it does not. Cleared by setting the secrets.
  j["misconfigured"] = app.misconfigured.empty()
                           ? nlohmann::json(nullptr)
                           : nlohmann::json{{"reason", app.misconfigured}, {"since", time_or_null(app.misconfigured_at)}};
  // Since when the platform refuses to renew this app's refresh tokens (Douyin 10004).
  j["renew_not_permitted_at"] = time_or_null(app.renew_not_permitted_at);
  if (app.platform == component_status::kPlatform) {
    // WeChat third-party platform: when the latest component_verify_ticket was pushed (its
    // CreateTime), and whether the component token waits for one.
    j["component_ticket_at"] = time_or_null(app.component_ticket_at);
    j["waiting_for_ticket"] = component_status::waiting_for_ticket(app);
  }
  if (app.client_credentials) {
    j["status"] = to_string(app.status);
    j["failure_count"] = app.failure_count;
    j["last_error"] = app.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(app.last_error);
    j["next_refresh_at"] = time_or_null(app.next_refresh_at);
  }
  return j;
}

nlohmann::json to_json(const Grant& g, const std::string& app_name, std::optional<TimePoint> token_expires_at) {
  return {
      {"id", g.id},
      {"app", app_name},
      {"account_id", g.account_id},
      {"scopes", g.scopes},
      {"status", to_string(g.status)},
      {"status_reason", g.status_reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(g.status_reason)},
      {"failure_count", g.failure_count},
      {"last_error", g.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(g.last_error)},
      {"next_refresh_at", time_or_null(g.next_refresh_at)},
      {"refresh_expires_at", time_or_null(g.refresh_expires_at)},
      {"reauth_due_at", time_or_null(g.reauth_due_at)},
      {"token_expires_at", time_or_null(token_expires_at)},
      {"extra", g.extra},
      // Granular consent: scopes the app requires that this grant's token lacks (recorded by the
      // platform class in extra on each answer naming the granted scopes); [] when none.
      {"missing_scopes",
       g.extra.is_object() && g.extra.contains("missing_scopes") && g.extra["missing_scopes"].is_array()
           ? g.extra["missing_scopes"]
           : nlohmann::json::array()},
      {"created_at", format_time(g.created_at)},
      {"updated_at", format_time(g.updated_at)},
  };
}

nlohmann::json to_json(const Token& t) {
  return {
      {"access_token", t.access_token},
      // null when the platform names none (Douyin, WeChat): token_usage says how to send it.
      {"token_type", t.token_type.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.token_type)},
      {"expires_at", format_time(t.expires_at)},
      {"scopes", t.scopes},
      {"token_usage", to_string(t.token_usage)},
  };
}

namespace {

// Printable ASCII without a quote or backslash: written into JSON as it is.
bool json_plain(std::string_view s) {
  for (const unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

std::string token_json_text(const Token& t) {
  const std::string expires = format_time(t.expires_at);
  const std::string usage = to_string(t.token_usage);
  bool plain = json_plain(t.access_token) && json_plain(t.token_type) && json_plain(expires) && json_plain(usage);
  std::size_t size = 96 + t.access_token.size() + t.token_type.size() + expires.size() + usage.size();
  for (const auto& s : t.scopes) {
    plain = plain && json_plain(s);
    size += s.size() + 3;
  }
  if (!plain) return to_json(t).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(size);
  out += R"({"access_token":")";
  out += t.access_token;
  out += R"(","expires_at":")";
  out += expires;
  out += R"(","scopes":[)";
  for (std::size_t i = 0; i < t.scopes.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    out += t.scopes[i];
    out += '"';
  }
  out += R"(],"token_type":)";
  if (t.token_type.empty()) {
    out += "null";
  } else {
    out += '"';
    out += t.token_type;
    out += '"';
  }
  out += R"(,"token_usage":")";
  out += usage;
  out += R"("})";
  return out;
}

nlohmann::json to_json(const WebhookDelivery& d) {
  std::string state = d.delivered_at ? "delivered" : d.failed_at ? "failed" : "pending";
  return {
      {"id", d.id},
      {"event", d.event},
      {"state", state},
      {"attempts", d.attempts},
      {"last_error", d.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.last_error)},
      {"created_at", format_time(d.created_at)},
      {"next_attempt_at", time_or_null(d.next_attempt_at)},
      {"delivered_at", time_or_null(d.delivered_at)},
      {"failed_at", time_or_null(d.failed_at)},
      {"payload", d.payload},
  };
}

}  // namespace mediax
