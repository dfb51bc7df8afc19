// Several mediaxd instances on one database: each grant is refreshed once per cycle (the fake
// rotates refresh tokens, so a double refresh would show as a dead refresh token used), tokens
// read from mediax.access_tokens are always valid, and an instance killed with SIGKILL is taken
// over by the others once its leases run out.
#include <signal.h>
#include <sys/stat.h>

#include <map>
#include <random>
#include <thread>

#include "harness.hpp"

namespace mediax::e2e {
namespace {

constexpr int kGrants = 30;
constexpr int kLifetime = 6;  // seconds; refreshed at half-life: a cycle of ~3 s
const std::string kRefresh = "lease_seconds = 5\nsweep_seconds = 2\nmax_concurrent = 8";

class MultiInstance : public E2ETest {
 protected:
  std::unique_ptr<Daemon> start_instance(const std::string& name) {
    const std::string dir = dir_ + "/" + name;
    ::mkdir(dir.c_str(), 0700);
    return std::make_unique<Daemon>(daemon().db_url(), dir, "", "", kRefresh);
  }
};

TEST_F(MultiInstance, ThreeDaemonsRefreshEveryGrantOncePerCycleAndTakeOverFromAKilledOne) {
  FakeOAuth2::Flags flags;
  flags.expires_in = kLifetime;
  flags.rotate_refresh = true;
  auto& fake = start_fake(flags);
  register_fake_app(fake, "shared");
  std::vector<std::int64_t> ids;
  for (int i = 0; i < kGrants; ++i) ids.push_back(connect("shared", "user-" + std::to_string(i)));

  // Two more instances on the same database (the fixture's daemon is the first).
  auto b = start_instance("b");
  auto c = start_instance("c");
  const auto refreshes_at_start = fake.stat("refreshes");
  const auto t_start = std::chrono::steady_clock::now();

  std::mt19937 rng(std::random_device{}());
  const auto kill_at = std::chrono::milliseconds(6000 + std::uniform_int_distribution<int>(0, 4000)(rng));
  bool killed = false, restarted = false;
  int reads = 0, invalid_reads = 0;
  std::string invalid_example;
  while (std::chrono::steady_clock::now() - t_start < std::chrono::seconds(30)) {
    auto elapsed = std::chrono::steady_clock::now() - t_start;
    if (!killed && elapsed >= kill_at) {
      // SIGKILL: no shutdown, leases stay behind until they expire.
      ::kill(b->pid(), SIGKILL);
      killed = true;
    }
    if (killed && !restarted && elapsed >= kill_at + std::chrono::seconds(4)) {
      b.reset();
      b = start_instance("b2");
      restarted = true;
    }
    // What another app reads with SQL must be valid at the platform every time.
    for (int k = 0; k < 5; ++k) {
      auto id = ids[std::uniform_int_distribution<std::size_t>(0, ids.size() - 1)(rng)];
      auto row = published_token(daemon().db_url(), "shared", id);
      if (!row) continue;  // absent (not expired) is allowed only briefly; counted below
      ++reads;
      if (!fake.token_active(row->access_token)) {
        ++invalid_reads;
        invalid_example = "grant " + std::to_string(id) + " expires_at " + row->expires_at;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  ASSERT_TRUE(killed && restarted);

  EXPECT_GT(reads, 100);
  EXPECT_EQ(invalid_reads, 0) << "a token read from mediax.access_tokens was not valid at the platform: "
                              << invalid_example;

  // Every grant is active, or needs re-authorization with a reason saying why.
  int lost = 0;
  for (const auto& g : grants("shared")) {
    const auto status = g.value("status", "");
    if (status == "active") continue;
    EXPECT_EQ(status, "needs_reauth") << g.dump();
    EXPECT_NE(g.value("status_reason", json("")).get<std::string>().find("lost_rotation"), std::string::npos)
        << "only a refresh cut off by the SIGKILL may lose a grant: " << g.dump();
    ++lost;
  }
  // A double refresh would present a refresh token that the rotation already killed. Only a
  // grant lost to the SIGKILL (rotated at the platform, not stored) may have done so, once.
  EXPECT_EQ(fake.stat("dead_refresh_token_uses"), lost);
  EXPECT_LE(lost, 2);

  // Once per cycle: ~3 s each, so about seconds/3 refreshes per grant; a double refresh per
  // cycle would double it. The kill may delay a few grants by up to a lease.
  const double cycles = seconds / (kLifetime / 2.0);
  const auto total = fake.stat("refreshes") - refreshes_at_start;
  EXPECT_LE(total, static_cast<std::int64_t>((cycles + 2) * kGrants)) << "refreshes: " << total;
  EXPECT_GE(total, static_cast<std::int64_t>((cycles - 4) * (kGrants - lost))) << "refreshes: " << total;
  for (int i = 0; i < kGrants; ++i) {
    EXPECT_LE(fake.refreshes_of("user-" + std::to_string(i)), static_cast<std::int64_t>(cycles) + 3)
        << "user-" << i << " was refreshed more often than once per cycle";
  }
  // The other instances learnt the new tokens: each serves a valid one from memory.
  auto r = c->get("/v1/grants/" + std::to_string(ids[0]) + "/token");
  if (r.status == 200) {
    EXPECT_TRUE(fake.token_active(r.json().value("access_token", "")));
  }
}

// Consumers that find a token refused report it to whichever instance they talk to; reports of
// one token arriving on two daemons at once must refresh it once, and everyone gets that token.
TEST_F(MultiInstance, RejectedTokenReportedOnTwoDaemonsAtOnceRefreshesOnce) {
  FakeOAuth2::Flags flags;
  flags.rotate_refresh = true;
  flags.latency_ms = 300;  // a slow platform: the reports overlap with the refresh
  auto& fake = start_fake(flags);
  register_fake_app(fake, "shared");
  register_fake_app(fake, "service", "client_secret_post", false, true);
  const auto id = connect("shared", "user-1");
  auto b = start_instance("b");
  std::vector<const Daemon*> both{&daemon(), b.get()};

  // Reports of `refused` at `path`, half on each daemon, all at once; returns the tokens answered.
  auto report_concurrently = [&](const std::string& path, const std::string& refused) {
    constexpr int kReports = 12;
    std::vector<std::string> answers(kReports);
    std::vector<std::thread> threads;
    for (int i = 0; i < kReports; ++i) {
      threads.emplace_back([&, i] {
        auto r = both[i % 2]->post(path, json{{"access_token", refused}});
        answers[i] = r.status == 200 ? r.json().value("access_token", "") : "HTTP " + r.describe();
      });
    }
    for (auto& t : threads) t.join();
    return answers;
  };

  // A grant.
  auto t0 = daemon().get("/v1/grants/" + std::to_string(id) + "/token");
  ASSERT_EQ(t0.status, 200) << t0.describe();
  const std::string refused = t0.json().at("access_token").get<std::string>();
  const auto before = fake.refreshes_of("user-1");
  auto answers = report_concurrently("/v1/grants/" + std::to_string(id) + "/token/rejected", refused);
  EXPECT_EQ(fake.refreshes_of("user-1") - before, 1) << "the platform saw more than one refresh";
  EXPECT_EQ(fake.stat("dead_refresh_token_uses"), 0);
  const std::string fresh = answers[0];
  EXPECT_NE(fresh, refused);
  EXPECT_TRUE(fake.token_active(fresh)) << fresh.substr(0, 4);
  for (const auto& a : answers) EXPECT_EQ(a, fresh);
  // A late report of the refused token, on either daemon, gets the new one without a refresh.
  for (const Daemon* d : both) {
    auto r = d->post("/v1/grants/" + std::to_string(id) + "/token/rejected", json{{"access_token", refused}});
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.json().value("access_token", ""), fresh);
  }
  EXPECT_EQ(fake.refreshes_of("user-1") - before, 1);

  // An app's client-credentials token.
  ASSERT_TRUE(eventually([&] { return daemon().get("/v1/apps/service/token").status == 200; }, 20s));
  const std::string app_refused = daemon().get("/v1/apps/service/token").json().at("access_token").get<std::string>();
  const auto issued_before = fake.stat("client_credentials_issued");
  auto app_answers = report_concurrently("/v1/apps/service/token/rejected", app_refused);
  EXPECT_EQ(fake.stat("client_credentials_issued") - issued_before, 1);
  EXPECT_NE(app_answers[0], app_refused);
  EXPECT_TRUE(fake.token_active(app_answers[0]));
  for (const auto& a : app_answers) EXPECT_EQ(a, app_answers[0]);
}

// One credential, one app token, whichever instance is asked: two registrations of apps fetching
// with the same client at the same moment on two daemons leave one app (the unique
// apps.credential_key decides, not a check on either daemon).
TEST_F(MultiInstance, OneCredentialRegisteredOnTwoDaemonsAtOnceBecomesOneApp) {
  auto& fake = start_fake({});
  auto b = start_instance("b");
  const std::string secret = random_hex("csec-", 32);
  remember_secret(secret);
  for (int round = 0; round < 5; ++round) {
    const std::string client_id = random_hex("cid-", 12);
    fake.register_client(client_id, secret, "client_secret_post", {daemon().callback_url()});
    auto body = [&](const std::string& name) {
      return json{{"name", name},
                  {"platform", "oauth2"},
                  {"client_id", client_id},
                  {"client_secret", secret},
                  {"client_credentials", true},
                  {"token_auth_method", "client_secret_post"},
                  {"endpoints", {{"token_url", fake.issuer() + "/token"}}}};
    };
    const std::string names[2] = {"svc-a" + std::to_string(round), "svc-b" + std::to_string(round)};
    test::HttpResult answers[2];
    std::thread on_b([&] { answers[1] = b->post("/v1/apps", body(names[1])); });
    answers[0] = daemon().post("/v1/apps", body(names[0]));
    on_b.join();
    ASSERT_TRUE((answers[0].status == 201) != (answers[1].status == 201))
        << answers[0].describe() << " | " << answers[1].describe();
    const int lost = answers[0].status == 201 ? 1 : 0;
    EXPECT_EQ(answers[lost].status, 409) << answers[lost].describe();
    EXPECT_EQ(answers[lost].json().value("error", ""), "credential_in_use");
    EXPECT_EQ(answers[lost].json().value("app", ""), names[1 - lost]);
    EXPECT_EQ(b->get("/v1/apps/" + names[lost]).status, 404);
  }
}

}  // namespace
}  // namespace mediax::e2e
