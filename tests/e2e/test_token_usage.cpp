// How a consumer sends a token, per platform, in every token answer (GET, refresh, token/rejected)
// and in mediax.access_tokens; and one credential, one app token: a second app fetching with a
// credential another app holds is refused with 409 credential_in_use, while apps that only connect
// accounts may share a client id.
#include <pqxx/pqxx>

#include "platform_fixture.hpp"

namespace mediax::e2e {
namespace {

// The token_usage column of the view for an app's token (its own, or a grant's).
std::string view_usage(const std::string& db_url, const std::string& app, std::optional<std::int64_t> grant_id) {
  pqxx::connection c(db_url);
  pqxx::nontransaction tx(c);
  const auto r = grant_id ? tx.exec_params(
                                "SELECT token_usage FROM mediax.access_tokens WHERE app_name = $1"
                                " AND grant_id = $2",
                                app, *grant_id)
                          : tx.exec_params(
                                "SELECT token_usage FROM mediax.access_tokens WHERE app_name = $1"
                                " AND grant_id IS NULL",
                                app);
  return r.empty() ? "" : r[0][0].as<std::string>();
}

class TokenUsageE2E : public PlatformE2ETest {
 protected:
  // Every answer that carries a token says how to send it, and with the platform's own type.
  void expect_token_answers(const std::string& path, const std::string& usage, const json& token_type) {
    auto got = daemon().get(path + "/token");
    ASSERT_EQ(got.status, 200) << got.describe();
    remember_secret(got.json().value("access_token", ""));
    EXPECT_EQ(got.json().value("token_usage", ""), usage) << path;
    EXPECT_EQ(got.json()["token_type"], token_type) << path;

    auto refreshed = daemon().post(path + "/refresh");
    ASSERT_EQ(refreshed.status, 200) << refreshed.describe();
    const std::string current = refreshed.json().value("access_token", "");
    remember_secret(current);
    EXPECT_EQ(refreshed.json().value("token_usage", ""), usage) << path;
    EXPECT_EQ(refreshed.json()["token_type"], token_type) << path;

    auto rejected = daemon().post(path + "/token/rejected", json{{"access_token", "not-the-current-one"}});
    ASSERT_EQ(rejected.status, 200) << rejected.describe();
    remember_secret(rejected.json().value("access_token", ""));
    EXPECT_EQ(rejected.json().value("token_usage", ""), usage) << path;
  }
};

class DouyinTokenUsageE2E : public TokenUsageE2E {
 protected:
  DouyinTokenUsageE2E() {
    platform_ = "douyin";
    fake_args_ = {"--expires-in", "3600", "--client-expires-in", "3600"};
  }
  json douyin_app(const std::string& name, const std::string& client_key, const std::string& secret, bool cc) {
    return {{"name", name},
            {"platform", "douyin"},
            {"client_id", client_key},
            {"client_secret", secret},
            {"scopes", {"user_info"}},
            {"client_credentials", cc}};
  }
};

TEST_F(DouyinTokenUsageE2E, TokensGoInAnAccessTokenHeaderAndOneClientKeyHasOneAppToken) {
  const std::string key = random_hex("aw", 16), secret = random_hex("dysec-", 32);
  remember_secret(secret);
  fake().control("/_fake/clients",
                 {{"client_key", key}, {"client_secret", secret}, {"redirect_uris", {daemon().callback_url("dy-users")}}});
  json app = register_app(douyin_app("dy-main", key, secret, true));
  EXPECT_EQ(app.value("token_usage", ""), "header:access-token");
  ASSERT_TRUE(eventually([&] { return !published("dy-main").empty(); }, 15s, 100ms));
  expect_token_answers("/v1/apps/dy-main", "header:access-token", nullptr);
  EXPECT_EQ(view_usage(daemon().db_url(), "dy-main", std::nullopt), "header:access-token");

  // A second fetcher of the same client_key would cut the first one's tokens short (Douyin keeps
  // only the newest two): refused, naming the holder.
  auto second = daemon().post("/v1/apps", douyin_app("dy-copy", key, secret, true));
  ASSERT_EQ(second.status, 409) << second.describe();
  EXPECT_EQ(second.json().value("error", ""), "credential_in_use");
  EXPECT_EQ(second.json().value("app", ""), "dy-main");
  EXPECT_EQ(second.body.find(secret), std::string::npos);
  EXPECT_EQ(daemon().get("/v1/apps/dy-copy").status, 404);

  // An app that only connects accounts may use the same client_key: its grants are its own.
  register_app(douyin_app("dy-users", key, secret, false));
  const std::int64_t id = connect_account("dy-users", "alice", "open_alice");
  expect_token_answers("/v1/grants/" + std::to_string(id), "header:access-token", nullptr);
  EXPECT_EQ(view_usage(daemon().db_url(), "dy-users", id), "header:access-token");
}

class WeChatTokenUsageE2E : public TokenUsageE2E {
 protected:
  WeChatTokenUsageE2E() {
    platform_ = "wechat";
    fake_args_ = {"--expires-in", "3600", "--client-expires-in", "3600", "--force-interval", "0"};
  }
};

TEST_F(WeChatTokenUsageE2E, TokensGoInTheAccessTokenQueryParameterAndOneAppIdHasOneAppToken) {
  const std::string appid = random_hex("wx", 16), secret = random_hex("wxsec-", 32);
  remember_secret(secret);
  fake().control("/_fake/clients",
                 {{"appid", appid}, {"secret", secret}, {"redirect_uris", {daemon().callback_url()}}});
  json body{{"name", "wx-main"},       {"platform", "wechat"},       {"client_id", appid},
            {"client_secret", secret}, {"client_credentials", true}, {"options", {{"app_token", "token"}}}};
  EXPECT_EQ(register_app(body).value("token_usage", ""), "query:access_token");
  ASSERT_TRUE(eventually([&] { return !published("wx-main").empty(); }, 15s, 100ms));
  expect_token_answers("/v1/apps/wx-main", "query:access_token", nullptr);
  EXPECT_EQ(view_usage(daemon().db_url(), "wx-main", std::nullopt), "query:access_token");

  // cgi-bin/token ends the previous token five minutes after a new fetch, whichever endpoint the
  // second app would use (a forced stable_token ends it at once).
  body["name"] = "wx-copy";
  body["options"] = json::object();
  auto second = daemon().post("/v1/apps", body);
  ASSERT_EQ(second.status, 409) << second.describe();
  EXPECT_EQ(second.json().value("error", ""), "credential_in_use");
  EXPECT_EQ(second.json().value("app", ""), "wx-main");

  // Once the holder is deleted the credential is free.
  ASSERT_EQ(daemon().del("/v1/apps/wx-main").status, 200);
  EXPECT_EQ(daemon().post("/v1/apps", body).status, 201);
}

class GoogleTokenUsageE2E : public TokenUsageE2E {
 protected:
  GoogleTokenUsageE2E() {
    platform_ = "google";
    fake_args_ = {"--expires-in", "3600"};
  }
};

TEST_F(GoogleTokenUsageE2E, TokensGoInAnAuthorizationBearerHeader) {
  const std::string client_id = random_hex("gcid-", 12) + ".apps.googleusercontent.com";
  const std::string secret = random_hex("GOCSPX-", 28);
  remember_secret(secret);
  fake().control("/_fake/clients",
                 {{"client_id", client_id}, {"client_secret", secret}, {"redirect_uris", {daemon().callback_url("guser")}}});
  json app = register_app({{"name", "guser"},
                           {"platform", "google"},
                           {"client_id", client_id},
                           {"client_secret", secret},
                           {"scopes", {"openid", "email"}}});
  EXPECT_EQ(app.value("token_usage", ""), "header:Authorization:Bearer");
  // The grant's account is the stable sub of the id_token the fake signs for "alice".
  const std::string sub = fake().control("/_fake/accounts", {{"login", "alice"}}, 200).value("sub", "");
  const std::int64_t id = connect_account("guser", "alice", sub);
  expect_token_answers("/v1/grants/" + std::to_string(id), "header:Authorization:Bearer", "Bearer");
  EXPECT_EQ(view_usage(daemon().db_url(), "guser", id), "header:Authorization:Bearer");
}

}  // namespace
}  // namespace mediax::e2e
