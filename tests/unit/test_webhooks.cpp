// Webhooks without I/O: the signature (checked against values computed another way), the body,
// the request's headers, retry timing, and what the admin API accepts as a webhook.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "config/config.hpp"
#include "crypto/crypto.hpp"
#include "service/api_error.hpp"
#include "service/webhooks.hpp"

namespace mediax {
namespace {

using namespace std::chrono_literals;

// HMAC per RFC 2104 built from SHA-256 alone: H((K ^ opad) || H((K ^ ipad) || m)), block 64 bytes.
std::string rfc2104_hmac_sha256(std::string key, const std::string& message) {
  if (key.size() > 64) key = crypto::sha256(key);
  key.resize(64, '\0');
  std::string ipad(64, '\0'), opad(64, '\0');
  for (int i = 0; i < 64; ++i) {
    ipad[i] = static_cast<char>(key[i] ^ 0x36);
    opad[i] = static_cast<char>(key[i] ^ 0x5c);
  }
  return crypto::sha256(opad + crypto::sha256(ipad + message));
}

TEST(WebhookSignature, TheIndependentHmacMatchesRfc4231) {
  // RFC 4231 test case 2: key "Jefe".
  EXPECT_EQ(crypto::to_hex(rfc2104_hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookSignature, SignsTimestampDotBodyWithTheSecret) {
  const std::string body = R"({"app":"shop","delivery_id":42,"event":"grant.needs_reauth"})";
  // Computed with `printf '%s' '1764081000.<body>' | openssl dgst -sha256 -hmac 'whsec-0123456789abcdef'`.
  EXPECT_EQ(webhooks::signature("whsec-0123456789abcdef", 1764081000, body),
            "sha256=d327d2f161df04b605734fcf55999a82b10c6d104eadd575688a1bde7d533002");
  // And for other inputs, against the RFC 2104 construction (a key longer than a block too).
  const std::string long_key(100, 'k');
  for (const std::string& key : {std::string("0123456789abcdef"), long_key}) {
    EXPECT_EQ(webhooks::signature(key, 1, "{}"), "sha256=" + crypto::to_hex(rfc2104_hmac_sha256(key, "1.{}")));
  }
  // Every part counts.
  const auto base = webhooks::signature("whsec-0123456789abcdef", 1764081000, body);
  EXPECT_NE(webhooks::signature("whsec-0123456789abcdeF", 1764081000, body), base);
  EXPECT_NE(webhooks::signature("whsec-0123456789abcdef", 1764081001, body), base);
  EXPECT_NE(webhooks::signature("whsec-0123456789abcdef", 1764081000, body + " "), base);
}

WebhookDelivery sample_delivery() {
  WebhookDelivery d;
  d.id = 77;
  d.app_id = 3;
  d.event = "grant.needs_reauth";
  d.payload = {{"event", "grant.needs_reauth"},
               {"app", "shop"},
               {"grant_id", 9},
               {"account_id", "alice"},
               {"reason", "invalid_grant"},
               {"at", "2026-11-25T14:00:00Z"}};
  d.url = "https://hooks.example.com/mediax?team=ops";
  d.secret = "s3cret-s3cret-s3cret";
  d.attempts = 1;
  return d;
}

TEST(WebhookRequest, BodyIsThePayloadWithTheDeliveryIdAndNeverTheSecret) {
  const auto d = sample_delivery();
  const std::string body = webhooks::body(d);
  const auto j = nlohmann::json::parse(body);
  EXPECT_EQ(j.at("delivery_id"), 77);
  EXPECT_EQ(j.at("event"), "grant.needs_reauth");
  EXPECT_EQ(j.at("app"), "shop");
  EXPECT_EQ(j.at("grant_id"), 9);
  EXPECT_EQ(j.at("account_id"), "alice");
  EXPECT_EQ(j.at("reason"), "invalid_grant");
  EXPECT_EQ(j.at("at"), "2026-11-25T14:00:00Z");
  EXPECT_EQ(body.find(d.secret), std::string::npos);
  EXPECT_EQ(webhooks::body(d), body) << "every attempt sends the same bytes";
}

TEST(WebhookRequest, PostsJsonWithHeadersAReceiverCanVerify) {
  const auto d = sample_delivery();
  const TimePoint now = from_unix(1764081234);
  const ClientRequest req = webhooks::request(d, now);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, d.url);
  EXPECT_EQ(req.content_type, "application/json");
  std::map<std::string, std::string> h(req.headers.begin(), req.headers.end());
  EXPECT_EQ(h.at("X-Mediax-Event"), "grant.needs_reauth");
  EXPECT_EQ(h.at("X-Mediax-Delivery"), "77");
  EXPECT_EQ(h.at("X-Mediax-Timestamp"), "1764081234");
  // What a receiver does: HMAC of "<timestamp header>.<raw body>" with its copy of the secret.
  EXPECT_EQ(h.at("X-Mediax-Signature"),
            "sha256=" + crypto::to_hex(rfc2104_hmac_sha256(d.secret, h.at("X-Mediax-Timestamp") + "." + req.body)));
  for (const auto& [name, value] : req.headers) EXPECT_EQ(value.find(d.secret), std::string::npos) << name;
}

TEST(WebhookRetry, DelayDoublesFromTheMinimumUpToTheMaximum) {
  WebhookConfig c;
  c.retry_min_seconds = 10;
  c.retry_max_seconds = 100;
  EXPECT_EQ(webhooks::retry_delay(1, c, 0.0), 10s);
  EXPECT_EQ(webhooks::retry_delay(2, c, 0.0), 20s);
  EXPECT_EQ(webhooks::retry_delay(3, c, 0.0), 40s);
  EXPECT_EQ(webhooks::retry_delay(4, c, 0.0), 80s);
  EXPECT_EQ(webhooks::retry_delay(5, c, 0.0), 100s);
  EXPECT_EQ(webhooks::retry_delay(60, c, 0.0), 100s) << "no overflow for many attempts";
  EXPECT_EQ(webhooks::retry_delay(0, c, 0.0), 10s);
}

TEST(WebhookRetry, JitterShortensByAtMostAQuarterAndGapsStillGrow) {
  WebhookConfig c;
  c.retry_min_seconds = 1;
  c.retry_max_seconds = 3600;
  EXPECT_EQ(webhooks::retry_delay(3, c, 1.0), 3000ms);
  EXPECT_EQ(webhooks::retry_delay(3, c, 0.5), 3500ms);
  EXPECT_EQ(webhooks::retry_delay(3, c, 7.0), 3000ms) << "jitter is clamped to 0..1";
  for (int n = 1; n < 10; ++n) {
    // The longest gap after attempt n is shorter than the shortest after attempt n+1.
    EXPECT_LT(webhooks::retry_delay(n, c, 0.0), webhooks::retry_delay(n + 1, c, 1.0)) << n;
  }
}

TEST(WebhookSetting, AcceptsHttpAndHttpsUrlsWithALongEnoughSecret) {
  auto s =
      webhooks::setting_from_request({{"url", "https://hooks.example.com/x?k=v"}, {"secret", "0123456789abcdef"}}, "");
  EXPECT_EQ(s.url, "https://hooks.example.com/x?k=v");
  EXPECT_EQ(s.secret, "0123456789abcdef");
  s = webhooks::setting_from_request({{"url", "http://127.0.0.1:9000/hook"}, {"secret", std::string(256, 'x')}},
                                     "webhook.");
  EXPECT_EQ(s.url, "http://127.0.0.1:9000/hook");
}

std::string refusal(const nlohmann::json& body, const std::string& label = "") {
  try {
    webhooks::setting_from_request(body, label);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.code(), "invalid_field");
    return e.what();
  }
  return "accepted";
}

TEST(WebhookSetting, RefusesBadUrlsShortSecretsAndUnknownFieldsNamingTheField) {
  const std::string secret = "0123456789abcdef";
  EXPECT_EQ(refusal({{"url", "ftp://x.example/"}, {"secret", secret}}).rfind("url: ", 0), 0u);
  EXPECT_EQ(refusal({{"url", "https://user:pw@x.example/"}, {"secret", secret}}).rfind("url: ", 0), 0u);
  EXPECT_EQ(refusal({{"url", "https://"}, {"secret", secret}}).rfind("url: ", 0), 0u);
  EXPECT_EQ(refusal({{"url", "https://x.example/a b"}, {"secret", secret}}).rfind("url: ", 0), 0u);
  EXPECT_EQ(refusal({{"url", "https://x.example/" + std::string(3000, 'a')}, {"secret", secret}}).rfind("url: ", 0),
            0u);
  EXPECT_EQ(refusal({{"secret", secret}}), "url: is required");
  EXPECT_EQ(refusal({{"url", 5}, {"secret", secret}}), "url: must be a string");
  EXPECT_EQ(refusal({{"url", "https://x.example/"}}, "webhook."), "webhook.secret: is required");
  EXPECT_EQ(refusal({{"url", "https://x.example/"}, {"secret", 12}}), "secret: must be a string");
  const std::string short_secret = "short-secret-15";
  const std::string why = refusal({{"url", "https://x.example/"}, {"secret", short_secret}}, "webhook.");
  EXPECT_EQ(why.rfind("webhook.secret: must be at least 16", 0), 0u) << why;
  EXPECT_EQ(why.find(short_secret), std::string::npos) << "the secret is never echoed";
  EXPECT_EQ(refusal({{"url", "https://x.example/"}, {"secret", std::string(257, 'x')}}).rfind("secret: ", 0), 0u);
  EXPECT_EQ(refusal({{"url", "https://x.example/"}, {"secret", secret}, {"events", "all"}}), "events: unknown field");
  EXPECT_EQ(refusal(nlohmann::json::array(), "webhook.").rfind("webhook: ", 0), 0u);
  EXPECT_EQ(refusal("https://x.example/").rfind("body: ", 0), 0u);
}

TEST(WebhookConfigKeys, HaveDefaultsAndBoundsAndTheMaximumIsNotBelowTheMinimum) {
  const Config c = parse_config("", "w.toml");
  EXPECT_EQ(c.webhook.max_attempts, 10);
  EXPECT_EQ(c.webhook.retry_min_seconds, 10);
  EXPECT_EQ(c.webhook.retry_max_seconds, 3600);
  EXPECT_EQ(c.webhook.timeout_ms, 5000);
  EXPECT_EQ(c.webhook.poll_seconds, 5);
  const Config set = parse_config(
      "[webhook]\nmax_attempts = 3\nretry_min_seconds = 1\nretry_max_seconds = 8\ntimeout_ms = 250\npoll_seconds = 1\n",
      "w.toml");
  EXPECT_EQ(set.webhook.max_attempts, 3);
  EXPECT_EQ(set.webhook.retry_min_seconds, 1);
  EXPECT_EQ(set.webhook.retry_max_seconds, 8);
  EXPECT_EQ(set.webhook.timeout_ms, 250);
  EXPECT_EQ(set.webhook.poll_seconds, 1);
  EXPECT_THROW(parse_config("[webhook]\nmax_attempts = 0\n", "w.toml"), ConfigError);
  EXPECT_THROW(parse_config("[webhook]\ntimeout_ms = 10\n", "w.toml"), ConfigError);
  try {
    parse_config("[webhook]\nretry_min_seconds = 60\nretry_max_seconds = 30\n", "w.toml");
    ADD_FAILURE() << "max < min accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("webhook.retry_max_seconds"), std::string::npos) << e.what();
  }
  std::set<std::string> documented;
  for (const auto& d : config_key_docs()) documented.insert(d.key);
  for (const char* k : {"webhook.max_attempts", "webhook.retry_min_seconds", "webhook.retry_max_seconds",
                        "webhook.timeout_ms", "webhook.poll_seconds"}) {
    EXPECT_TRUE(documented.count(k)) << k;
  }
}

}  // namespace
}  // namespace mediax
