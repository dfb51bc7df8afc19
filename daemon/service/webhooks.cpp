#include "service/webhooks.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "crypto/crypto.hpp"
#include "service/app_request.hpp"
#include "obs/metrics.hpp"
#include "util/url.hpp"

namespace mediax::webhooks {

namespace {

// The sender's metric: its name and help written here only.
void count(metrics::Registry& reg, const std::string& outcome) {
  reg.counter("mediax_webhook_deliveries_total", "Webhook delivery attempts by outcome (delivered, retry, gave_up)",
              {{"outcome", outcome}})
      .inc();
}

}  // namespace

std::string signature(std::string_view secret, std::int64_t unix_seconds, std::string_view body) {
  std::string message = std::to_string(unix_seconds);
  message += '.';
  message.append(body);
  return "sha256=" + crypto::to_hex(crypto::hmac_sha256(secret, message));
}

std::string body(const WebhookDelivery& d) {
  nlohmann::json j = d.payload.is_object() ? d.payload : nlohmann::json::object();
  j["delivery_id"] = d.id;
  if (!j.contains("event")) j["event"] = d.event;
  return j.dump();
}

HttpClientRequest request(const WebhookDelivery& d, TimePoint now) {
  HttpClientRequest req;
  req.method = "POST";
  req.url = d.url;
  req.content_type = "application/json";
  req.body = body(d);
  const std::int64_t ts = to_unix(now);
  req.headers = {{"X-Mediax-Event", d.event},
                 {"X-Mediax-Delivery", std::to_string(d.id)},
                 {"X-Mediax-Timestamp", std::to_string(ts)},
                 {"X-Mediax-Signature", signature(d.secret, ts, req.body)}};
  return req;
}

std::chrono::milliseconds retry_delay(int attempts, const WebhookConfig& config, double jitter01) {
  const double lo = static_cast<double>(config.retry_min_seconds);
  const double hi = static_cast<double>(std::max(config.retry_max_seconds, config.retry_min_seconds));
  const int doublings = std::clamp(attempts - 1, 0, 40);
  const double base = std::min(hi, lo * std::ldexp(1.0, doublings));
  const double jitter = std::clamp(jitter01, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(base * (1.0 - 0.25 * jitter) * 1000.0));
}

std::string check_url(const std::string& url) {
  if (url.empty()) return "is required";
  if (url.size() > kMaxUrlLength) return "is longer than " + std::to_string(kMaxUrlLength) + " characters";
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return "must not contain spaces or control characters";
  }
  if (!parse_url(url)) return "must be an absolute http:// or https:// URL with a host and no credentials";
  return "";
}

Setting setting_from_request(const nlohmann::json& body, const std::string& label) {
  if (!body.is_object()) {
    throw bad_field(label.empty() ? "body" : label.substr(0, label.size() - 1),
                    "must be an object with url and secret");
  }
  for (const auto& [k, v] : body.items()) {
    if (k != "url" && k != "secret")
      throw bad_field(label + (k.size() > 40 ? k.substr(0, 40) + "..." : k), "unknown field");
  }
  auto text = [&](const char* field) {
    auto it = body.find(field);
    if (it == body.end() || it->is_null()) throw bad_field(label + field, "is required");
    if (!it->is_string()) throw bad_field(label + field, "must be a string");
    return it->get<std::string>();
  };
  Setting s;
  s.url = text("url");
  if (auto problem = check_url(s.url); !problem.empty()) throw bad_field(label + "url", problem);
  s.secret = text("secret");
  if (auto problem = check_secret(s.secret); !problem.empty()) throw bad_field(label + "secret", problem);
  return s;
}

std::string check_secret(const std::string& secret) {
  if (secret.size() < kMinSecretLength) return "must be at least " + std::to_string(kMinSecretLength) + " characters";
  if (secret.size() > kMaxSecretLength) return "must be at most " + std::to_string(kMaxSecretLength) + " characters";
  return "";
}

Sender::Sender(Store& store, HttpClient& http, const TimeSource& clock, WebhookConfig config, std::string owner,
               metrics::Registry& metrics)
    : store_(store),
      http_(http),
      clock_(clock),
      config_(config),
      owner_(std::move(owner)),
      rng_(std::random_device{}()),
      metrics_(metrics) {}

int Sender::run_once(int batch) {
  batch = std::max(1, batch);
  const auto now = clock_.system();
  // Attempts of one batch run one after another: the lease covers all of them, with room.
  const auto lease = std::chrono::milliseconds(config_.timeout_ms) * 2 * batch + std::chrono::seconds(30);
  const auto claimed =
      store_.claim_webhook_deliveries(owner_, now, now + std::chrono::duration_cast<Seconds>(lease), batch);
  for (const auto& d : claimed) attempt(d);
  return static_cast<int>(claimed.size());
}

void Sender::attempt(const WebhookDelivery& d) {
  std::string error;
  bool final = false;  // no later attempt can succeed
  if (d.attempts > config_.max_attempts) {
    // Claimed again after a sender died mid-attempt more often than attempts are allowed.
    error = "attempts_exhausted";
  } else {
    const auto res = http_.send(request(d, clock_.system()));
    if (res.status >= 200 && res.status < 300) {
      error.clear();
    } else if (res.status != 0) {
      error = "http_" + std::to_string(res.status);  // never the body: it is the receiver's
    } else if (res.address_refused()) {
      // No connection was made; the URL (or the allowed networks) must change first.
      error = std::string(kAddressNotAllowed) + ": " + res.error_detail;
      final = true;
    } else {
      error = res.error.empty() ? "no_response" : res.error;
    }
  }
  const auto at = clock_.system();
  std::optional<TimePoint> retry_at;
  if (!error.empty() && !final && d.attempts < config_.max_attempts) {
    const double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    retry_at = at + retry_delay(d.attempts, config_, jitter);
  }
  bool recorded = false;
  try {
    recorded = store_.finish_webhook_delivery(d.id, owner_, at, error, retry_at);
  } catch (const StoreError& e) {
    // The lease runs out and the event is claimed again: at least once, never lost.
    spdlog::warn("webhook delivery {} ({}) of app {}: could not record the attempt: {}", d.id, d.event, d.app_id,
                 e.what());
    return;
  }
  if (!recorded) {
    spdlog::warn("webhook delivery {} ({}) of app {}: lease lost before the attempt was recorded", d.id, d.event,
                 d.app_id);
  }
  const std::string where = redact_url(d.url);
  if (error.empty()) {
    count(metrics_, "delivered");
    spdlog::info("webhook delivery {} ({}) of app {} to {} delivered (attempt {})", d.id, d.event, d.app_id, where,
                 d.attempts);
  } else if (retry_at) {
    count(metrics_, "retry");
    spdlog::info("webhook delivery {} ({}) of app {} to {} failed (attempt {} of {}): {}; retry at {}", d.id, d.event,
                 d.app_id, where, d.attempts, config_.max_attempts, error, format_time(*retry_at));
  } else {
    count(metrics_, "gave_up");
    spdlog::warn("webhook delivery {} ({}) of app {} to {} failed (attempt {} of {}): {}; giving up", d.id, d.event,
                 d.app_id, where, d.attempts, config_.max_attempts, error);
  }
}

}  // namespace mediax::webhooks
