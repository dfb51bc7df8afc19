// The shared part of the fake platforms: reply helpers and the /_fake/ control endpoints.
#include "fake_platform.hpp"

#include <algorithm>
#include <cctype>

#include "crypto/crypto.hpp"
#include "net/http_client.hpp"
#include "util/url.hpp"

namespace mediax::fakep {

std::optional<std::string> Request::param(const std::string& name) const { return form_value(query, name); }

std::string Request::header(const std::string& name) const {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  auto it = headers.find(lower);
  return it == headers.end() ? "" : it->second;
}

Reply json_reply(int status, const json& body) {
  Reply r;
  r.status = status;
  r.body = body.dump();
  return r;
}

Reply html_reply(int status, const std::string& message) {
  Reply r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = "<!doctype html><title>fake platform</title><p>" + message + "</p>";
  return r;
}

Reply redirect(const std::string& to) {
  Reply r;
  r.status = 302;
  r.content_type = "text/plain";
  r.headers.emplace_back("Location", to);
  return r;
}

Reply not_found() { return json_reply(404, json{{"error", "not_found"}}); }

std::optional<std::string> form_value(const Form& f, const std::string& name) {
  for (const auto& [k, v] : f) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::optional<Form> parse_form(const std::string& body) {
  // parse_query decodes leniently; a '%' not followed by two hex digits makes the body invalid here.
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '%') continue;
    if (i + 2 >= body.size() || !std::isxdigit(static_cast<unsigned char>(body[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(body[i + 2]))) {
      return std::nullopt;
    }
  }
  return mediax::parse_query(body);
}

std::string with_query(const std::string& uri, const Form& params) {
  std::string out = uri.substr(0, uri.find('#'));
  char sep = out.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [k, v] : params) {
    out += sep;
    out += mediax::url_encode(k) + "=" + mediax::url_encode(v);
    sep = '&';
  }
  return out;
}

std::string random_id(const std::string& prefix, std::size_t bytes) { return prefix + crypto::random_token(bytes); }

std::int64_t seconds_left(TimeSource::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t - TimeSource::now()).count();
}

FakePlatform::FakePlatform(Options opts) : opts_(std::move(opts)) {}

void FakePlatform::set_base_url(const std::string& base_url) {
  std::lock_guard lock(mu_);
  base_url_ = base_url;
}

void FakePlatform::count(const std::string& name, std::int64_t by) {
  stats_[name] = stats_.value(name, std::int64_t{0}) + by;
}

void FakePlatform::count_in(const std::string& map, const std::string& key) {
  if (!stats_.contains(map)) stats_[map] = json::object();
  stats_[map][key] = stats_[map].value(key, std::int64_t{0}) + 1;
}

std::int64_t FakePlatform::counter(const std::string& name) const { return stats_.value(name, std::int64_t{0}); }

void FakePlatform::remember(const std::string& kind, const std::string& value) {
  if (value.empty()) return;
  if (!secrets_.contains(kind)) secrets_[kind] = json::array();
  secrets_[kind].push_back(value);
}

std::optional<FakePlatform::Failure> FakePlatform::take_failure(const std::string& endpoint) {
  for (auto it = failures_.begin(); it != failures_.end(); ++it) {
    if (it->endpoint != "any" && it->endpoint != endpoint) continue;
    Failure f = *it;
    if (--it->remaining <= 0) failures_.erase(it);
    count("failures_injected");
    return f;
  }
  return std::nullopt;
}

Reply FakePlatform::inject_failure(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return json_reply(400, json{{"error", "bad_request"}, {"message", "JSON object expected"}});
  Failure f;
  f.spec = j;
  f.endpoint = j.value("endpoint", std::string("any"));
  try {
    f.remaining = j.value("count", 1);
  } catch (const json::exception&) {
    return json_reply(400, json{{"error", "bad_request"}, {"message", "count must be an integer"}});
  }
  if (f.remaining < 1) return json_reply(400, json{{"error", "bad_request"}, {"message", "count must be >= 1"}});
  std::lock_guard lock(mu_);
  std::string why = check_failure(j);
  if (!why.empty()) return json_reply(400, json{{"error", "bad_request"}, {"message", why}});
  failures_.push_back(f);
  return json_reply(200, json{{"queued", f.endpoint}, {"count", f.remaining}});
}

Reply FakePlatform::handle(const Request& req) {
  if (req.path.rfind("/_fake/", 0) == 0) {
    if (req.path == "/_fake/health") return json_reply(200, json{{"status", "ok"}, {"platform", opts_.platform}});
    if (req.path == "/_fake/fail" && req.method == "POST") return inject_failure(req.body);
    std::lock_guard lock(mu_);
    if (req.path == "/_fake/fail" && req.method == "DELETE") {
      failures_.clear();
      return json_reply(200, json{{"cleared", true}});
    }
    if (req.path == "/_fake/stats" && req.method == "GET") {
      json out = stats_;
      out["failures_pending"] = failures_.size();
      return json_reply(200, out);
    }
    if (req.path == "/_fake/secrets" && req.method == "GET") return json_reply(200, secrets_);
    if (req.path == "/_fake/introspect" && req.method == "GET")
      return json_reply(200, introspect(req.param("token").value_or("")));
    return control(req);
  }
  std::lock_guard lock(mu_);
  return protocol(req);
}

}  // namespace mediax::fakep
