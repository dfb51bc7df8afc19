// What goes wrong: bad admin requests, forged and replayed callbacks, a user who says no,
// platform failures on refresh, a storm of "token rejected" reports, revocation, an unmigrated database.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <latch>
#include <thread>

#include "harness.hpp"

namespace mediax::e2e {
namespace {

using Failures = E2ETest;

json minimal_app(const std::string& name) {
  return json{
      {"name", name},
      {"platform", "oauth2"},
      {"client_id", "cid-minimal"},
      {"client_secret", "csec-minimal-0123456789"},
      {"scopes", {"profile"}},
      {"endpoints", {{"authorize_url", "http://127.0.0.1:9/authorize"}, {"token_url", "http://127.0.0.1:9/token"}}}};
}

void expect_error(const HttpResult& r, int status) {
  EXPECT_EQ(r.status, status) << r.describe();
  json j = r.json();
  ASSERT_TRUE(j.is_object()) << "error body is not JSON: " << r.body;
  EXPECT_TRUE(j.contains("error") && j["error"].is_string() && !j["error"].get<std::string>().empty()) << r.body;
  EXPECT_TRUE(j.contains("message") && j["message"].is_string()) << r.body;
}

TEST_F(Failures, AdminApiRejectsBadRequestsWithJsonErrors) {
  remember_secret("csec-minimal-0123456789");
  expect_error(daemon().post_raw("/v1/apps", "{\"name\": ", "application/json"), 400);

  json unknown_platform = minimal_app("p1");
  unknown_platform["platform"] = "myspace";
  expect_error(daemon().post("/v1/apps", unknown_platform), 400);

  expect_error(daemon().post("/v1/apps", minimal_app("Bad Name!")), 400);
  expect_error(daemon().post("/v1/apps", minimal_app("-leading-dash")), 400);

  auto created = daemon().post("/v1/apps", minimal_app("taken"));
  ASSERT_EQ(created.status, 201) << created.describe();
  EXPECT_EQ(created.body.find("csec-minimal-0123456789"), std::string::npos) << "the secret came back";
  expect_error(daemon().post("/v1/apps", minimal_app("taken")), 409);

  json huge = minimal_app("huge");
  huge["padding"] = std::string((1 << 20) + 1024, 'x');
  expect_error(daemon().post("/v1/apps", huge), 413);

  expect_error(daemon().get("/v1/apps/missing"), 404);
  expect_error(daemon().del("/v1/apps/missing"), 404);
  expect_error(daemon().post("/v1/apps/missing/authorize"), 404);
  expect_error(daemon().get("/v1/grants/987654321"), 404);

  auto list = daemon().get("/v1/apps");
  ASSERT_EQ(list.status, 200) << list.describe();
  ASSERT_TRUE(list.json().contains("apps"));
  EXPECT_EQ(list.json()["apps"].size(), 1u) << "only the valid app was stored";
}

TEST_F(Failures, CallbackWithForgedStateIsRejectedAndStoresNothing) {
  FakeOAuth2& fake = start_fake({});
  register_fake_app(fake, "forged", "client_secret_post");
  auto callback = authorize_at_fake("forged", "mallory");
  auto code = test::query_param(callback.url, "code");
  ASSERT_TRUE(code.has_value());

  std::string forged = daemon().callback_url("forged") + "?code=" + test::url_encode(*code) +
                       "&state=" + random_hex("forged-", 40);
  auto r = visit({forged, callback.cookie});
  EXPECT_EQ(r.status, 400) << r.describe();
  EXPECT_EQ(fake.stat("codes_exchanged"), 0) << "the code was exchanged despite an unknown state";
  EXPECT_EQ(grants("forged").size(), 0u);
  EXPECT_EQ(count_published(daemon().db_url(), "forged"), 0);

  auto no_state = visit({daemon().callback_url("forged") + "?code=" + test::url_encode(*code), callback.cookie});
  EXPECT_EQ(no_state.status, 400) << no_state.describe();
  EXPECT_EQ(fake.stat("codes_exchanged"), 0);
}

TEST_F(Failures, ReplayedCallbackIsRejected) {
  FakeOAuth2& fake = start_fake({});
  register_fake_app(fake, "replayed", "client_secret_post");
  auto callback = authorize_at_fake("replayed", "bob");
  auto first = visit(callback);
  ASSERT_EQ(first.status, 200) << first.describe();
  auto second = visit(callback);
  EXPECT_EQ(second.status, 400) << second.describe();
  EXPECT_EQ(fake.stat("codes_exchanged"), 1);
  EXPECT_EQ(fake.stat("token_requests"), 1) << "the replay reached the platform";
  EXPECT_EQ(grants("replayed").size(), 1u);
}

TEST_F(Failures, AccessDeniedByTheUserIsShown) {
  FakeOAuth2& fake = start_fake({});
  register_fake_app(fake, "denied", "client_secret_post");
  auto callback = authorize_at_fake("denied", "carol", "fake_decision=deny");
  EXPECT_EQ(test::query_param(callback.url, "error").value_or(""), "access_denied");
  auto r = visit(callback);
  EXPECT_EQ(r.status, 400) << r.describe();
  EXPECT_NE(r.body.find("access_denied"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("The resource owner denied the request"), std::string::npos) << r.body;
  EXPECT_EQ(fake.stat("token_requests"), 0);
  EXPECT_EQ(grants("denied").size(), 0u);
}

TEST_F(Failures, PlatformServerErrorOnForcedRefreshGives502AndGrantStaysActive) {
  FakeOAuth2& fake = start_fake({});
  register_fake_app(fake, "flaky", "client_secret_post");
  const std::int64_t grant_id = connect("flaky", "dave");
  auto before = published_token(daemon().db_url(), "flaky", grant_id);
  ASSERT_TRUE(before.has_value());
  remember_secret(before->access_token);

  fake.fail({{"mode", "500"}, {"count", 1}, {"grant_type", "refresh_token"}});
  auto r = daemon().post("/v1/grants/" + std::to_string(grant_id) + "/refresh");
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_EQ(r.json().value("error", ""), "platform_error") << r.body;
  EXPECT_EQ(r.json().value("class", ""), "retry_later") << r.body;

  json g = grant(grant_id);
  EXPECT_EQ(g.value("status", ""), "active");
  auto after = published_token(daemon().db_url(), "flaky", grant_id);
  ASSERT_TRUE(after.has_value()) << "the token was unpublished by a transient failure";
  EXPECT_TRUE(fake.token_active(after->access_token));

  // Once the platform is back, a forced refresh works.
  auto ok = daemon().post("/v1/grants/" + std::to_string(grant_id) + "/refresh");
  ASSERT_EQ(ok.status, 200) << ok.describe();
  remember_secret(ok.json().value("access_token", ""));
  EXPECT_TRUE(fake.token_active(ok.json().value("access_token", "")));
}

TEST_F(Failures, RateLimitedAndGarbageAnswersAreClassified) {
  FakeOAuth2& fake = start_fake({});
  register_fake_app(fake, "limited", "client_secret_post");
  const std::int64_t grant_id = connect("limited", "frank");
  const std::string refresh = "/v1/grants/" + std::to_string(grant_id) + "/refresh";

  fake.fail({{"mode", "429"}, {"count", 1}, {"retry_after", 7}, {"grant_type", "refresh_token"}});
  auto limited = daemon().post(refresh);
  EXPECT_EQ(limited.status, 502) << limited.describe();
  EXPECT_EQ(limited.json().value("class", ""), "rate_limited") << limited.body;

  fake.fail({{"mode", "garbage"}, {"count", 1}, {"grant_type", "refresh_token"}});
  auto garbage = daemon().post(refresh);
  EXPECT_EQ(garbage.status, 502) << garbage.describe();
  EXPECT_EQ(garbage.json().value("class", ""), "retry_later") << garbage.body;

  EXPECT_EQ(grant(grant_id).value("status", ""), "active");
}

TEST_F(Failures, InvalidGrantOnRefreshMarksGrantNeedsReauth) {
  FakeOAuth2& fake = start_fake({});
  register_fake_app(fake, "revoked-upstream", "client_secret_post");
  const std::int64_t grant_id = connect("revoked-upstream", "gina");

  fake.fail({{"mode", "invalid_grant"}, {"count", 1}, {"grant_type", "refresh_token"}});
  auto r = daemon().post("/v1/grants/" + std::to_string(grant_id) + "/refresh");
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_EQ(r.json().value("class", ""), "needs_reauth") << r.body;
  EXPECT_EQ(r.json().value("platform_code", ""), "invalid_grant") << r.body;

  bool marked = eventually([&] { return grant(grant_id).value("status", "") == "needs_reauth"; }, 10s);
  EXPECT_TRUE(marked) << grant(grant_id).dump();
  const std::int64_t refreshes = fake.stat("refreshes");
  // A grant that needs re-authorization is not retried on its own.
  auto again = daemon().post("/v1/grants/" + std::to_string(grant_id) + "/refresh");
  EXPECT_NE(again.status, 200) << again.describe();
  EXPECT_EQ(fake.stat("refreshes"), refreshes);
}

TEST_F(Failures, ConcurrentTokenRejectedReportsCoalesceIntoOneRefresh) {
  FakeOAuth2& fake = start_fake({});
  register_fake_app(fake, "busy", "client_secret_post");
  const std::int64_t grant_id = connect("busy", "henry");
  auto current = published_token(daemon().db_url(), "busy", grant_id);
  ASSERT_TRUE(current.has_value());
  const std::string stale = current->access_token;
  remember_secret(stale);
  const std::string path = "/v1/grants/" + std::to_string(grant_id) + "/token/rejected";

  constexpr int kReports = 10;
  std::vector<HttpResult> results(kReports);
  std::latch go(kReports);
  std::vector<std::thread> threads;
  for (int i = 0; i < kReports; ++i) {
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      results[i] = daemon().post(path, {{"access_token", stale}});
    });
  }
  for (auto& t : threads) t.join();

  std::set<std::string> returned;
  for (const auto& r : results) {
    EXPECT_EQ(r.status, 200) << r.describe();
    returned.insert(r.json().value("access_token", ""));
  }
  for (const auto& t : returned) remember_secret(t);
  EXPECT_EQ(returned.size(), 1u) << "reports got different tokens";
  EXPECT_EQ(returned.count(stale), 0u) << "a report got the rejected token back";
  EXPECT_EQ(fake.stat("refreshes"), 1) << "concurrent reports were not coalesced";

  // A late report of the old token gets the current one at once, without a refresh.
  auto late = daemon().post(path, {{"access_token", stale}});
  ASSERT_EQ(late.status, 200) << late.describe();
  EXPECT_EQ(late.json().value("access_token", ""), *returned.begin());
  EXPECT_EQ(fake.stat("refreshes"), 1);
}

TEST_F(Failures, DeletingAGrantRevokesItAtThePlatformAndUnpublishesTheToken) {
  FakeOAuth2& fake = start_fake({});
  register_fake_app(fake, "leaving", "client_secret_post");
  const std::int64_t grant_id = connect("leaving", "ivan");
  auto row = published_token(daemon().db_url(), "leaving", grant_id);
  ASSERT_TRUE(row.has_value());
  remember_secret(row->access_token);

  auto r = daemon().del("/v1/grants/" + std::to_string(grant_id));
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json().value("revoked", false), true) << r.body;
  EXPECT_EQ(r.json().value("platform_revocation", ""), "ok") << r.body;
  EXPECT_TRUE(eventually([&] { return fake.stat("revocations") >= 1; }, 5s)) << fake.stats().dump();
  EXPECT_FALSE(published_token(daemon().db_url(), "leaving", grant_id).has_value());
  EXPECT_FALSE(fake.token_active(row->access_token)) << "the platform still honours the grant's access token";
  auto token = daemon().get("/v1/grants/" + std::to_string(grant_id) + "/token");
  EXPECT_NE(token.status, 200) << token.describe();
}

TEST(Startup, DaemonRefusesAnUnmigratedDatabase) {
  std::string dir = test::make_temp_dir("mediax-e2e-unmigrated");
  std::string db_url = cluster().create_database(random_hex("e2e_unmigrated_", 8));
  std::string config = dir + "/mediaxd.toml";
  write_daemon_config(config, db_url, test::free_port());
  test::ProcessOptions opts;
  opts.log_dir = dir;
  auto r = test::run_process(mediaxd_bin(), {"--config", config}, opts, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE((r.err + r.out).find("mediaxd migrate"), std::string::npos) << r.err;
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
}

TEST(Startup, DaemonRefusesAnAdminPortAlreadyInUse) {
  // The listener sets SO_REUSEADDR only (not httplib's SO_REUSEPORT) and then widens its backlog:
  // a second server on the port must still be an error at start, not a silent shared port.
  std::string dir = test::make_temp_dir("mediax-e2e-port-in-use");
  std::string db_url = cluster().create_database(random_hex("e2e_port_in_use_", 8));
  const int port = test::free_port();
  std::string config = dir + "/mediaxd.toml";
  write_daemon_config(config, db_url, port);
  test::ProcessOptions opts;
  opts.log_dir = dir;
  ASSERT_EQ(test::run_process(mediaxd_bin(), {"migrate", "--config", config}, opts, 60s).exit_code, 0);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof(yes));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 5), 0);
  auto r = test::run_process(mediaxd_bin(), {"--config", config}, opts, 30s);
  ::close(fd);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE((r.err + r.out).find("cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos) << r.err;
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mediax::e2e
