// Platforms that fail in every way a network lets them: 5xx, 429 with Retry-After, garbage, a hang,
// an answer trickled one byte per second, a connection closed mid-answer, a TLS error. Each is
// retried later with a growing backoff and never marks a grant needs_reauth; a failing platform's
// circuit opens so it is not hammered, and one hanging platform does not hold up another's refreshes.
#include <future>
#include <map>
#include <thread>

#include "harness.hpp"

namespace mediax::e2e {
namespace {

using Ms = std::chrono::milliseconds;

// /token request times at a fake, ms since it started.
std::vector<std::int64_t> request_times(const FakeOAuth2& fake) {
  std::vector<std::int64_t> out;
  const json stats = fake.stats();
  for (const auto& t : stats.at("token_request_ms")) out.push_back(t.get<std::int64_t>());
  return out;
}

std::string grant_path(std::int64_t id, const std::string& rest = "") {
  return "/v1/grants/" + std::to_string(id) + rest;
}

class HostilePlatforms : public E2ETest {
 protected:
  struct Case {
    std::string mode;
    FakeOAuth2* fake = nullptr;
    std::int64_t grant = 0;
  };

  // A fake and an app with one connected account per failure mode (separate endpoints, so one
  // mode's failures do not open another's circuit).
  std::vector<Case> connect_cases(const std::vector<std::string>& modes, int expires_in) {
    std::vector<Case> cases;
    for (const auto& mode : modes) {
      FakeOAuth2::Flags flags;
      flags.expires_in = expires_in;
      Case c;
      c.mode = mode;
      c.fake = &start_fake(flags);
      register_fake_app(*c.fake, "h-" + mode);
      c.grant = connect("h-" + mode, "user-" + mode);
      cases.push_back(c);
    }
    return cases;
  }

  // The metric line's value, or -1 when absent.
  double metric(const std::string& series) {
    auto r = test::http_get(daemon().url("/metrics"));
    auto at = r.body.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(r.body.substr(at + series.size() + 2));
  }
};

// Long-lived tokens (the backoff is not shortened by an expiry close by), backoff from 1 s doubling,
// a platform call cut off after 1.5 s, and no circuit breaking: each mode's own backoff shows.
class Backoff : public HostilePlatforms {
 protected:
  void SetUp() override {
    dir_ = test::make_temp_dir("mediax-e2e-backoff");
    daemon_ = std::make_unique<Daemon>(cluster().create_database(random_hex("e2e_backoff_", 8)), dir_, "", "",
                                       "retry_min_seconds = 1\nretry_max_seconds = 60\nrequest_timeout_ms = 1500\n"
                                       "connect_timeout_ms = 1000\nbreaker_failures = 100");
  }
};

TEST_F(Backoff, EveryFailureModeIsRetriedLaterWithGrowingBackoffAndNeverNeedsReauth) {
  const std::vector<std::string> modes{"500", "garbage", "hang", "trickle", "close"};
  auto cases = connect_cases(modes, 120);
  constexpr int kFailures = 4;
  for (auto& c : cases) {
    json spec{{"mode", c.mode}, {"count", kFailures}, {"grant_type", "refresh_token"}};
    if (c.mode == "hang") spec["seconds"] = 30;
    c.fake->fail(spec);
  }
  // The first failure is a forced refresh: the caller gets a 502 saying it is transient, within
  // the whole-call deadline (the trickled answer would take a minute and a half otherwise).
  std::vector<std::future<std::pair<HttpResult, Ms>>> forced;
  for (const auto& c : cases) {
    forced.push_back(std::async(std::launch::async, [this, id = c.grant] {
      const auto t0 = std::chrono::steady_clock::now();
      auto r = daemon().post(grant_path(id, "/refresh"));
      return std::make_pair(r, std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - t0));
    }));
  }
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto [r, took] = forced[i].get();
    EXPECT_EQ(r.status, 502) << cases[i].mode << ": " << r.describe();
    EXPECT_EQ(r.json().value("class", ""), "retry_later") << cases[i].mode << ": " << r.body;
    EXPECT_LT(took, Ms(5000)) << cases[i].mode << ": the platform call was not cut off at its deadline";
  }
  EXPECT_EQ(cases[3].mode, "trickle");
  EXPECT_TRUE(eventually([&] { return daemon().log().find("transport_timeout") != std::string::npos; }, 5s))
      << "the trickled answer was not ended as a timeout";

  // Three scheduled retries fail too, then one succeeds: 1 + 4 requests after the code exchange.
  for (const auto& c : cases) {
    EXPECT_TRUE(eventually([&] { return c.fake->stat("refreshes") >= 1; }, 45s, 250ms))
        << c.mode << ": never refreshed after the failures: " << c.fake->stats().dump();
  }
  for (const auto& c : cases) {
    auto times = request_times(*c.fake);
    ASSERT_EQ(times.size(), 1u + kFailures + 1) << c.mode << ": " << c.fake->stats().dump();
    const auto first_gap = times[2] - times[1];
    const auto last_gap = times[5] - times[4];
    // Backoff U(0.5, 1) x 1 s, 2 s, 4 s, 8 s; the timer wheel ticks in whole seconds.
    EXPECT_GT(last_gap, first_gap) << c.mode << ": the backoff did not grow";
    EXPECT_GE(last_gap, 2900) << c.mode << ": the fourth retry came too soon";
    json g = grant(c.grant);
    EXPECT_EQ(g.value("status", ""), "active") << c.mode << ": " << g.dump();
    EXPECT_EQ(g.value("failure_count", -1), 0) << c.mode << ": " << g.dump();
  }
}

TEST_F(Backoff, RateLimitedRefreshWaitsForRetryAfterAndTlsErrorsAreTransient) {
  auto cases = connect_cases({"429"}, 120);
  cases[0].fake->fail({{"mode", "429"}, {"count", 1}, {"retry_after", 4}, {"grant_type", "refresh_token"}});
  auto r = daemon().post(grant_path(cases[0].grant, "/refresh"));
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_EQ(r.json().value("class", ""), "rate_limited") << r.body;

  // A client-credentials app whose token URL speaks https to a plain-HTTP port: a TLS error.
  FakeOAuth2& fake = start_fake({});
  const std::string secret = random_hex("csec-", 32);
  remember_secret(secret);
  fake.register_client("cid-tls", secret, "client_secret_post", {daemon().callback_url()});
  const std::string https_base = "https://" + fake.base().substr(std::string("http://").size());
  json body{{"name", "tls-broken"},
            {"platform", "oauth2"},
            {"client_id", "cid-tls"},
            {"client_secret", secret},
            {"client_credentials", true},
            {"token_auth_method", "client_secret_post"},
            {"endpoints", {{"authorize_url", https_base + "/authorize"}, {"token_url", https_base + "/token"}}}};
  auto created = daemon().post("/v1/apps", body);
  ASSERT_EQ(created.status, 201) << created.describe();

  EXPECT_TRUE(eventually([&] { return cases[0].fake->stat("refreshes") >= 1; }, 15s)) << "never retried";
  auto times = request_times(*cases[0].fake);
  ASSERT_GE(times.size(), 3u);
  // Without Retry-After the first retry comes after 0.5..1 s; the platform asked for 4 s.
  EXPECT_GE(times[2] - times[1], 3000) << "Retry-After was not honoured";
  EXPECT_EQ(grant(cases[0].grant).value("status", ""), "active");

  bool retried = eventually(
      [&] {
        auto a = daemon().get("/v1/apps/tls-broken").json();
        return a.value("failure_count", 0) >= 2;
      },
      15s);
  json app = daemon().get("/v1/apps/tls-broken").json();
  EXPECT_TRUE(retried) << app.dump();
  EXPECT_EQ(app.value("status", ""), "active") << app.dump();
  EXPECT_NE(app.value("last_error", json("")).dump().find("transport_tls"), std::string::npos) << app.dump();
  EXPECT_EQ(fake.stat("token_requests"), 0) << "a TLS handshake with a plain HTTP port reached the handler";
}

// Two platforms, short tokens, four workers, calls cut off after 3 s, the circuit opens after
// three failures for 4 s (8 s at most).
class Breaker : public HostilePlatforms {
 protected:
  void SetUp() override {
    dir_ = test::make_temp_dir("mediax-e2e-breaker");
    daemon_ = std::make_unique<Daemon>(cluster().create_database(random_hex("e2e_breaker_", 8)), dir_, "", "",
                                       "max_concurrent = 4\nrequest_timeout_ms = 3000\nbreaker_failures = 3\n"
                                       "breaker_cooldown_seconds = 4\nbreaker_max_cooldown_seconds = 8");
  }

  std::vector<std::int64_t> connect_many(FakeOAuth2& fake, const std::string& app, int n) {
    register_fake_app(fake, app);
    std::vector<std::int64_t> ids;
    for (int i = 0; i < n; ++i) ids.push_back(connect(app, app + "-user-" + std::to_string(i)));
    return ids;
  }
};

TEST_F(Breaker, OneHangingPlatformDoesNotHoldUpAnothersRefreshes) {
  FakeOAuth2::Flags flags;
  flags.expires_in = 4;
  FakeOAuth2& hanging = start_fake(flags);
  FakeOAuth2& healthy = start_fake(flags);
  auto stuck = connect_many(hanging, "stuck", 6);
  auto fine = connect_many(healthy, "fine", 6);
  hanging.fail({{"mode", "hang"}, {"count", 100000}, {"seconds", 60}, {"grant_type", "refresh_token"}});
  const auto refreshes_at_start = healthy.stat("refreshes");

  // Every healthy grant serves a token valid at its platform the whole time.
  int reads = 0, bad = 0;
  std::string example;
  const auto until = std::chrono::steady_clock::now() + 16s;
  while (std::chrono::steady_clock::now() < until) {
    for (auto id : fine) {
      auto r = daemon().get(grant_path(id, "/token"));
      ++reads;
      if (r.status != 200 || !healthy.token_active(r.json().value("access_token", ""))) {
        ++bad;
        example = "grant " + std::to_string(id) + ": " + r.describe();
      } else {
        remember_secret(r.json().value("access_token", ""));
      }
    }
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_GT(reads, 100);
  EXPECT_EQ(bad, 0) << "a healthy platform's grant went without a valid token: " << example;
  // Refreshed at half-life, every 2 s: about 8 times each in 16 s.
  EXPECT_GE(healthy.stat("refreshes") - refreshes_at_start, 6 * 6) << healthy.stats().dump();
  for (auto id : stuck) EXPECT_EQ(grant(id).value("status", ""), "active") << grant(id).dump();
  const double deferred_busy = metric("mediax_refreshes_deferred_total{platform=\"oauth2\",reason=\"endpoint_busy\"}");
  const double deferred_open = metric("mediax_refreshes_deferred_total{platform=\"oauth2\",reason=\"circuit_open\"}");
  EXPECT_GT(std::max(deferred_busy, 0.0) + std::max(deferred_open, 0.0), 0) << "nothing was deferred";
}

TEST_F(Breaker, FailingPlatformOpensItsCircuitIsNotHammeredAndRecovers) {
  FakeOAuth2::Flags flags;
  flags.expires_in = 4;
  FakeOAuth2& failing = start_fake(flags);
  auto ids = connect_many(failing, "down", 6);
  const std::string endpoint = failing.base().substr(std::string("http://").size());
  const std::string state_series = "mediax_circuit_state{platform=\"oauth2\",endpoint=\"" + endpoint + "\"}";
  const auto requests_before = failing.stat("token_requests");
  failing.fail({{"mode", "500"}, {"count", 100000}, {"grant_type", "refresh_token"}});

  EXPECT_TRUE(eventually([&] { return metric(state_series) >= 1; }, 10s)) << "the circuit never opened";
  std::this_thread::sleep_for(10s);
  // Six grants of 4 s tokens retried at least every second would make ~70 calls in these ~12 s;
  // with the circuit open: three failures, then a probe per cool-down (4 s, then 8 s) and the
  // urgent probes of expiring tokens (one per 4 s).
  const auto calls = failing.stat("token_requests") - requests_before;
  EXPECT_LE(calls, 16) << "the failing platform was hammered";
  for (auto id : ids) EXPECT_EQ(grant(id).value("status", ""), "active") << grant(id).dump();

  auto cleared = test::http_delete(failing.base() + "/_fake/fail");
  ASSERT_EQ(cleared.status, 200) << cleared.describe();
  bool recovered = eventually(
      [&] {
        for (auto id : ids) {
          auto r = daemon().get(grant_path(id, "/token"));
          if (r.status != 200 || !failing.token_active(r.json().value("access_token", ""))) return false;
          remember_secret(r.json().value("access_token", ""));
        }
        return true;
      },
      30s, 500ms);
  EXPECT_TRUE(recovered) << "the grants did not get tokens again after the platform recovered";
  EXPECT_EQ(metric(state_series), 0) << "the circuit did not close";
}

}  // namespace
}  // namespace mediax::e2e
