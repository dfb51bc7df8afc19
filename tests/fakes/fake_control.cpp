// Discovery metadata and the /_fake/ control and inspection endpoints used by tests.
#include "fake_provider.hpp"

namespace mediax::fake {

namespace {

using nlohmann::json;

Reply json_reply(int status, const json& body) {
  Reply r;
  r.status = status;
  r.body = body.dump();
  return r;
}

Reply bad_request(const std::string& message) {
  return json_reply(400, json{{"error", "bad_request"}, {"message", message}});
}

std::optional<json> parse_object(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

}  // namespace

Reply Provider::discovery() const {
  std::lock_guard lock(mu_);
  std::string base = issuer();
  json doc{
      {"issuer", base},
      {"authorization_endpoint", base + "/authorize"},
      {"token_endpoint", base + "/token"},
      {"revocation_endpoint", base + "/revoke"},
      {"userinfo_endpoint", base + "/userinfo"},
      {"jwks_uri", base + "/jwks"},
      {"response_types_supported", {"code"}},
      {"grant_types_supported", {"authorization_code", "refresh_token", "client_credentials"}},
      {"token_endpoint_auth_methods_supported", {"client_secret_basic", "client_secret_post"}},
      {"revocation_endpoint_auth_methods_supported", {"client_secret_basic", "client_secret_post"}},
      {"code_challenge_methods_supported", {"S256"}},
      {"scopes_supported", {"openid", "profile", "offline_access"}},
      {"subject_types_supported", {"public"}},
      {"id_token_signing_alg_values_supported", {"HS256"}},
  };
  if (opts_.iss_response) doc["authorization_response_iss_parameter_supported"] = true;
  return json_reply(200, doc);
}

Reply Provider::register_client(const std::string& json_body) {
  auto j = parse_object(json_body);
  if (!j) return bad_request("body must be a JSON object");
  Client c;
  if (!j->contains("client_id") || !(*j)["client_id"].is_string() || (*j)["client_id"].get<std::string>().empty()) {
    return bad_request("client_id must be a non-empty string");
  }
  if (!j->contains("client_secret") || !(*j)["client_secret"].is_string() ||
      (*j)["client_secret"].get<std::string>().empty()) {
    return bad_request("client_secret must be a non-empty string");
  }
  c.id = (*j)["client_id"].get<std::string>();
  c.secret = (*j)["client_secret"].get<std::string>();
  c.auth_method = j->value("auth_method", std::string("client_secret_basic"));
  if (c.auth_method != "client_secret_basic" && c.auth_method != "client_secret_post") {
    return bad_request("auth_method must be client_secret_basic or client_secret_post");
  }
  if (j->contains("redirect_uris")) {
    const json& uris = (*j)["redirect_uris"];
    if (!uris.is_array()) return bad_request("redirect_uris must be an array of strings");
    for (const auto& u : uris) {
      if (!u.is_string()) return bad_request("redirect_uris must be an array of strings");
      c.redirect_uris.push_back(u.get<std::string>());
    }
  }
  std::lock_guard lock(mu_);
  clients_[c.id] = c;  // registering again replaces the client
  return json_reply(201, json{{"client_id", c.id}, {"auth_method", c.auth_method}});
}

Reply Provider::stats() const {
  std::lock_guard lock(mu_);
  auto now = TimeSource::now();
  std::int64_t valid = 0;
  for (const auto& [k, a] : access_) {
    if (!a.revoked && now < a.expires) ++valid;
  }
  std::int64_t live_refresh = 0;
  for (const auto& [k, r] : refresh_) live_refresh += r.alive ? 1 : 0;
  json out{
      {"authorizations", stats_.authorizations},
      {"codes_exchanged", stats_.codes_exchanged},
      {"refreshes", stats_.refreshes},
      {"refreshes_by_account", stats_.refreshes_by_account},
      {"refreshes_by_grant", stats_.refreshes_by_grant},
      {"dead_refresh_token_uses", stats_.dead_refresh_token_uses},
      {"quick_refreshes", stats_.quick_refreshes},
      {"min_refresh_gap_ms", stats_.min_refresh_gap_ms},
      {"client_credentials_issued", stats_.client_credentials_issued},
      {"revocations", stats_.revocations},
      {"revocation_requests", stats_.revocation_requests},
      {"token_requests", stats_.token_requests},
      {"token_errors", stats_.token_errors},
      {"failures_injected", stats_.failures_injected},
      {"failures_pending", failures_.size()},
      {"token_request_ms", stats_.token_request_ms},
      {"valid_access_tokens", valid},
      {"live_refresh_tokens", live_refresh},
  };
  return json_reply(200, out);
}

Reply Provider::inject_failure(const std::string& json_body) {
  auto j = parse_object(json_body);
  if (!j) return bad_request("body must be a JSON object");
  Failure f;
  const json& mode = (*j)["mode"];
  if (mode.is_number_integer()) {
    f.mode = std::to_string(mode.get<int>());
  } else if (mode.is_string()) {
    f.mode = mode.get<std::string>();
  }
  if (f.mode != "500" && f.mode != "429" && f.mode != "invalid_grant" && f.mode != "invalid_client" &&
      f.mode != "garbage" && f.mode != "hang" && f.mode != "trickle" && f.mode != "close") {
    return bad_request("mode must be one of 500, 429, invalid_grant, invalid_client, garbage, hang, trickle, close");
  }
  try {
    f.remaining = j->value("count", 1);
    f.retry_after = j->value("retry_after", 1);
    f.seconds = j->value("seconds", 5);
    f.grant_type = j->value("grant_type", std::string());
  } catch (const json::exception&) {
    return bad_request("count, retry_after and seconds are integers, grant_type a string");
  }
  if (f.remaining < 1 || f.retry_after < 0 || f.seconds < 0 || f.seconds > 600) {
    return bad_request("count must be >= 1, retry_after >= 0, seconds in 0..600");
  }
  std::lock_guard lock(mu_);
  failures_.push_back(f);
  return json_reply(200, json{{"queued", f.mode}, {"count", f.remaining}});
}

Reply Provider::clear_failures() {
  std::lock_guard lock(mu_);
  failures_.clear();
  return json_reply(200, json{{"cleared", true}});
}

Reply Provider::introspect(const std::string& token) const {
  std::lock_guard lock(mu_);
  auto now = TimeSource::now();
  if (auto it = access_.find(token); it != access_.end()) {
    const Access& a = it->second;
    bool active = !a.revoked && now < a.expires;
    auto left = std::chrono::duration_cast<std::chrono::seconds>(a.expires - now).count();
    return json_reply(200, json{{"active", active},
                                {"kind", "access"},
                                {"client_id", a.client_id},
                                {"account", a.account},
                                {"grant", a.grant_id},
                                {"revoked", a.revoked},
                                {"expires_in", left > 0 ? left : 0}});
  }
  if (auto it = refresh_.find(token); it != refresh_.end()) {
    const Refresh& r = it->second;
    return json_reply(200, json{{"active", r.alive},
                                {"kind", "refresh"},
                                {"client_id", r.client_id},
                                {"account", r.account},
                                {"grant", r.grant_id}});
  }
  return json_reply(200, json{{"active", false}, {"kind", "unknown"}});
}

Reply Provider::secrets() const {
  std::lock_guard lock(mu_);
  json out{{"codes", json::array()},
           {"access_tokens", json::array()},
           {"refresh_tokens", json::array()},
           {"client_secrets", json::array()}};
  for (const auto& [k, v] : codes_) out["codes"].push_back(k);
  for (const auto& [k, v] : access_) out["access_tokens"].push_back(k);
  for (const auto& [k, v] : refresh_) out["refresh_tokens"].push_back(k);
  for (const auto& [k, c] : clients_) out["client_secrets"].push_back(c.secret);
  return json_reply(200, out);
}

}  // namespace mediax::fake
