// Per-app webhooks: what is sent (body, signature headers), when a failed attempt is retried,
// and the Sender that works through the outbox in the database (Store::claim_webhook_deliveries).
// The timer that drives the Sender lives in runtime/webhook_dispatcher.hpp.
//
// A receiver checks X-Mediax-Signature = "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body))
// with the X-Mediax-Timestamp header's value (unix seconds), and rejects old timestamps.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "util/time_source.hpp"
#include "net/http_client.hpp"
#include "obs/metrics.hpp"
#include "store/store.hpp"

namespace mediax::webhooks {

constexpr std::size_t kMinSecretLength = 16;
constexpr std::size_t kMaxSecretLength = 256;
constexpr std::size_t kMaxUrlLength = 2048;

// "sha256=<lower-case hex HMAC-SHA256(secret, "<unix_seconds>.<body>")>".
std::string signature(std::string_view secret, std::int64_t unix_seconds, std::string_view body);
// The exact bytes POSTed for a delivery: its stored payload with "delivery_id" added. The same
// for every attempt, so a receiver can deduplicate on delivery_id.
std::string body(const WebhookDelivery& d);
// The request of one attempt at `now`: POST, JSON body, the X-Mediax-* headers.
ClientRequest request(const WebhookDelivery& d, TimePoint now);

// How long to wait after the `attempts`-th failed attempt (1 = the first): retry_min_seconds
// doubled per attempt, capped at retry_max_seconds, then made up to a quarter shorter by
// jitter01 (0..1, random in the daemon) so that many receivers failing at once spread out.
std::chrono::milliseconds retry_delay(int attempts, const WebhookConfig& config, double jitter01);

// "" when acceptable, else what is wrong (never echoing the value).
std::string check_url(const std::string& url);        // absolute http(s), a host, no credentials
std::string check_secret(const std::string& secret);  // kMinSecretLength..kMaxSecretLength bytes

// What an admin sets: the "webhook" field of POST /v1/apps, the body of PUT /v1/apps/{name}/webhook.
struct Setting {
  std::string url;
  std::string secret;
};
// {"url": "https://...", "secret": "..."} strictly (unknown fields are errors); ApiError 400
// invalid_field naming label + field ("webhook.url"), never echoing the secret.
Setting setting_from_request(const nlohmann::json& body, const std::string& label);

// Sends due events, one attempt each, and records the outcome. Thread-compatible: one thread
// calls run_once at a time (the dispatcher's); several instances may run at once on one
// database (the claim's lease keeps them apart).
class Sender {
 public:
  Sender(Store& store, HttpClient& http, const TimeSource& clock, WebhookConfig config, std::string owner,
         metrics::Registry& metrics);

  // Claims up to `batch` due events and attempts each; returns how many were claimed.
  // Throws StoreError when the database fails.
  int run_once(int batch = 10);
  const WebhookConfig& config() const { return config_; }

 private:
  void attempt(const WebhookDelivery& d);

  Store& store_;
  HttpClient& http_;
  const TimeSource& clock_;
  WebhookConfig config_;
  std::string owner_;
  std::mt19937_64 rng_;
  metrics::Registry& metrics_;
};

}  // namespace mediax::webhooks
