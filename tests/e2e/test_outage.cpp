// PostgreSQL stopped and started again under load, on a cluster of the test's own (the shared one
// keeps serving the other tests): the daemon keeps running and serving the tokens it has in
// memory, marked stale, never an expired one; /readyz follows the database; results the platform
// gave while the database was away are stored afterwards (the fake rotates refresh tokens, so a
// lost result would show as a dead refresh token presented, or a grant needing re-authorization).
#include <signal.h>

#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "core/types.hpp"
#include "harness.hpp"

namespace mediax::e2e {
namespace {

constexpr int kGrants = 24;
constexpr int kLifetime = 6;  // seconds; refreshed at half-life
// Longer than a refresh cycle (3 s), and longer than a token lives: some expire during it.
const auto kOutage = std::chrono::seconds(8);
const std::string kRefresh = "lease_seconds = 5\nsweep_seconds = 2\nmax_concurrent = 16";

class Outage : public E2ETest {
 protected:
  void SetUp() override {
    own_cluster_ = std::make_unique<test::PgCluster>();
    dir_ = test::make_temp_dir("mediax-e2e-outage");
    daemon_ = std::make_unique<Daemon>(own_cluster_->create_database("outage"), dir_, "", "", kRefresh);
  }
  void TearDown() override {
    E2ETest::TearDown();
    own_cluster_.reset();
  }
  std::unique_ptr<test::PgCluster> own_cluster_;
};

// What the reader thread saw.
struct Reads {
  std::mutex mu;
  std::int64_t ok = 0;
  std::int64_t stale = 0;  // 200 with the stale headers
  std::int64_t stale_app_token = 0;
  std::int64_t expired_served = 0;             // 200 with a token that had expired
  std::map<std::string, std::int64_t> errors;  // "503 token_expired" -> count
  std::set<std::string> tokens;                // to search the log for at teardown
  std::string bad_example;
  std::string bad_message;  // a token_expired message of neither form
};

TEST_F(Outage, DatabaseStoppedUnderLoadServesStaleTokensAndRecoversWithoutLosingARotation) {
  FakeOAuth2::Flags flags;
  flags.expires_in = kLifetime;
  flags.rotate_refresh = true;
  flags.latency_ms = 400;  // refreshes are in flight when the database stops
  auto& fake = start_fake(flags);
  register_fake_app(fake, "outage");
  register_fake_app(fake, "outage-cc", "client_secret_post", false, true);
  std::vector<std::int64_t> ids;
  for (int i = 0; i < kGrants; ++i) ids.push_back(connect("outage", "user-" + std::to_string(i)));
  require(eventually([&] { return daemon().get("/v1/apps/outage-cc/token").status == 200; }, 15s),
          "the client-credentials app got no token");
  const pid_t pid = daemon().pid();

  Reads reads;
  std::atomic<bool> stop_reader{false};
  std::thread reader([&] {
    std::size_t i = 0;
    while (!stop_reader) {
      const bool app_token = i % (ids.size() + 1) == ids.size();
      const std::string path = app_token ? "/v1/apps/outage-cc/token"
                                         : "/v1/grants/" + std::to_string(ids[i % (ids.size() + 1)]) + "/token";
      ++i;
      const auto asked = std::chrono::system_clock::now();
      auto r = daemon().get(path);
      std::lock_guard lk(reads.mu);
      if (r.status != 200) {
        const std::string code = r.json().is_object() ? r.json().value("error", "") : "";
        ++reads.errors[std::to_string(r.status) + " " + code];
        // Past: "expired at T"; under a second left: "expires at T (less than a second left)".
        if (code == "token_expired") {
          static const std::regex kMessage(
              "the token (expired at \\S+|expires at \\S+ \\(less than a second left\\)) and has not been refreshed "
              "yet;.*");
          const std::string msg = r.json().value("message", "");
          if (!std::regex_match(msg, kMessage)) reads.bad_message = msg;
        }
        continue;
      }
      ++reads.ok;
      reads.tokens.insert(r.json().value("access_token", ""));
      // expires_at has whole seconds (truncated); the daemon refuses a token with under a second
      // left, so the expires_at it gives is always after the moment the reader asked.
      auto exp = parse_time(r.json().value("expires_at", ""));
      if (!exp || *exp <= asked) {
        ++reads.expired_served;
        reads.bad_example = path + " expires_at " + r.json().value("expires_at", "");
      }
      if (r.header("x-mediax-stale") == "database-unreachable") {
        ++reads.stale;
        if (app_token) ++reads.stale_app_token;
        if (r.header("warning").find("110") == std::string::npos) reads.bad_example = "stale without Warning: 110";
      }
    }
  });

  std::this_thread::sleep_for(4s);  // load before the outage
  {
    std::lock_guard lk(reads.mu);
    EXPECT_EQ(reads.stale, 0) << "stale marks while the database was up";
  }
  const auto refreshes_before = fake.stat("refreshes");
  own_cluster_->stop();
  const auto stopped = std::chrono::steady_clock::now();

  EXPECT_TRUE(eventually([&] { return daemon().request("GET", "/readyz", "").status == 503; }, 5s))
      << "/readyz did not report the database outage";
  auto app = daemon().get("/v1/apps/outage");
  EXPECT_EQ(app.status, 503) << app.describe();
  EXPECT_EQ(app.json().value("error", ""), "database_unavailable") << app.body;
  std::this_thread::sleep_until(stopped + kOutage);
  EXPECT_EQ(::kill(pid, 0), 0) << "mediaxd died while the database was down";
  EXPECT_EQ(daemon().request("GET", "/healthz", "").status, 200);
  EXPECT_EQ(daemon().request("GET", "/readyz", "").status, 503);

  own_cluster_->start();
  EXPECT_TRUE(eventually([&] { return daemon().request("GET", "/readyz", "").status == 200; }, 30s))
      << "/readyz stayed not ready after the database came back";
  const auto back = std::chrono::steady_clock::now();

  // Every grant gets fresh tokens again, served without the stale mark and valid at the platform.
  bool recovered = eventually(
      [&] {
        for (auto id : ids) {
          auto r = daemon().get("/v1/grants/" + std::to_string(id) + "/token");
          if (r.status != 200 || !r.header("x-mediax-stale").empty()) return false;
          if (!fake.token_active(r.json().value("access_token", ""))) return false;
        }
        return true;
      },
      30s, 500ms);
  EXPECT_TRUE(recovered)
      << "not every grant had a valid token "
      << std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - back).count()
      << " s after the database came back";
  // Two more cycles: every grant is refreshed with the refresh token stored for it.
  const auto refreshes_after_recovery = fake.stat("refreshes");
  std::this_thread::sleep_for(std::chrono::seconds(kLifetime + 1));
  stop_reader = true;
  reader.join();

  EXPECT_EQ(::kill(pid, 0), 0) << "mediaxd is not the process that was started";
  EXPECT_EQ(daemon().pid(), pid);
  for (const auto& g : grants("outage")) {
    EXPECT_EQ(g.value("status", ""), "active") << g.dump();
  }
  const json stats = fake.stats();
  EXPECT_EQ(stats.value("dead_refresh_token_uses", -1), 0)
      << "a refresh presented a refresh token the platform had rotated away: a result was lost";
  EXPECT_EQ(stats.value("live_refresh_tokens", -1), kGrants);
  EXPECT_GE(stats.value("refreshes", std::int64_t{0}) - refreshes_after_recovery, kGrants)
      << "grants are not being refreshed after the outage";
  EXPECT_GT(refreshes_after_recovery, refreshes_before);

  std::lock_guard lk(reads.mu);
  for (const auto& t : reads.tokens) remember_secret(t);
  EXPECT_GT(reads.ok, 200) << "the reader got few answers";
  EXPECT_GT(reads.stale, 0) << "no token was served marked stale during the outage";
  EXPECT_GT(reads.stale_app_token, 0) << "the app token route did not serve from memory during the outage";
  EXPECT_EQ(reads.expired_served, 0) << "an expired token was served: " << reads.bad_example;
  EXPECT_EQ(reads.bad_message, "") << "unexpected token_expired message";
  for (const auto& [what, n] : reads.errors) {
    // While the database is down, a token that expired is refused (503 token_expired); nothing else fails.
    EXPECT_EQ(what, "503 token_expired") << n << " reads answered " << what;
  }
  const std::string log = daemon().log();
  std::cerr << "[outage] reads " << reads.ok << " (" << reads.stale << " stale), results held and stored later: "
            << (log.find("stored the result held") != std::string::npos ? "yes" : "none this run") << "\n";
}

}  // namespace
}  // namespace mediax::e2e
