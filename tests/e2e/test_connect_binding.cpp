// Connect flows bound to the browser that started them (README "### Connect flows bound to the
// browser"): the one-time connect link, the cookie the callback requires, the app's own callback
// path, and RFC 9207's iss. Each refusal is checked where it matters: no call reached the fake's
// token endpoint, no grant was stored.
#include "harness.hpp"

namespace mediax::e2e {
namespace {

using ConnectBinding = E2ETest;

// `url` with query parameter `name` set to `value`, or removed when value is nullopt.
std::string with_param(const std::string& url, const std::string& name, const std::optional<std::string>& value) {
  const auto q = url.find('?');
  std::string out = url.substr(0, q);
  std::string query = q == std::string::npos ? "" : url.substr(q + 1);
  std::vector<std::string> kept;
  std::size_t i = 0;
  while (i <= query.size() && !query.empty()) {
    auto amp = query.find('&', i);
    if (amp == std::string::npos) amp = query.size();
    const std::string pair = query.substr(i, amp - i);
    if (pair.rfind(name + "=", 0) != 0) kept.push_back(pair);
    i = amp + 1;
  }
  if (value) kept.push_back(name + "=" + test::url_encode(*value));
  for (std::size_t k = 0; k < kept.size(); ++k) out += (k == 0 ? "?" : "&") + kept[k];
  return out;
}

TEST_F(ConnectBinding, ASecondBrowserWithoutTheCookieCannotFinishAndTheCodeIsNeverExchanged) {
  FakeOAuth2& fake = start_fake({});
  register_fake_app(fake, "bound", "client_secret_post");

  // Someone else gets hold of the platform's answer and opens it in their browser (no cookie).
  const BrowserCallback victim = authorize_at_fake("bound", "mallory");
  auto stranger = visit({victim.url, ""});
  EXPECT_EQ(stranger.status, 403) << stranger.describe();
  EXPECT_NE(stranger.body.find("Wrong browser"), std::string::npos) << stranger.body;
  EXPECT_EQ(fake.stat("token_requests"), 0) << "the code reached the platform's token endpoint";
  EXPECT_EQ(grants("bound").size(), 0u);
  // The state was used up by the refused attempt: the answer cannot be tried again, not even with
  // the right cookie (the flow starts again from a new link).
  auto after = visit(victim);
  EXPECT_EQ(after.status, 400) << after.describe();
  EXPECT_EQ(fake.stat("token_requests"), 0);

  // A browser holding the cookie of another flow of its own is refused the same way.
  const BrowserCallback first = authorize_at_fake("bound", "alice");
  const BrowserCallback second = authorize_at_fake("bound", "bob");
  auto crossed = visit({first.url, second.cookie});
  EXPECT_EQ(crossed.status, 403) << crossed.describe();
  EXPECT_EQ(fake.stat("token_requests"), 0);

  // The browser that opened the link finishes its flow, and its cookie is cleared.
  auto own = visit(second);
  ASSERT_EQ(own.status, 200) << own.describe();
  EXPECT_NE(own.header("set-cookie").find("__Host-mediax_connect=;"), std::string::npos) << own.header("set-cookie");
  EXPECT_NE(own.header("set-cookie").find("Max-Age=0"), std::string::npos) << own.header("set-cookie");
  EXPECT_EQ(fake.stat("token_requests"), 1);
  ASSERT_EQ(grants("bound").size(), 1u);
  EXPECT_EQ(grants("bound")[0].value("account_id", ""), "bob");
}

TEST_F(ConnectBinding, AConnectLinkOpensOnceAndAnUnknownOneIsAPageWithoutRedirect) {
  FakeOAuth2& fake = start_fake({});
  register_fake_app(fake, "once", "client_secret_post");
  const std::string link = connect_link("once");
  EXPECT_EQ(link.rfind(daemon().url("/connect/start?ticket="), 0), 0u) << link;
  // 256 random bits in base64url.
  EXPECT_EQ(link.size() - link.find('=') - 1, 43u) << link;
  Browser browser;
  browser.open_link(link);

  auto reused = test::http_get(link);
  EXPECT_EQ(reused.status, 410) << reused.describe();
  EXPECT_NE(reused.body.find("Link already used"), std::string::npos) << reused.body;
  EXPECT_TRUE(reused.header("location").empty());
  EXPECT_TRUE(reused.header("set-cookie").empty());
  EXPECT_EQ(reused.header("content-type"), "text/html; charset=utf-8");

  auto unknown = test::http_get(daemon().url("/connect/start?ticket=" + random_hex("", 43)));
  EXPECT_EQ(unknown.status, 400) << unknown.describe();
  EXPECT_TRUE(unknown.header("location").empty());
  EXPECT_EQ(test::http_get(daemon().url("/connect/start")).status, 400);

  // No URL to the platform is handed out by the API, and /v1/apps/{name}/connect leads to a link too.
  auto answer = daemon().post("/v1/apps/once/authorize");
  ASSERT_EQ(answer.status, 200) << answer.describe();
  EXPECT_FALSE(answer.json().contains("authorize_url")) << answer.body;
  EXPECT_FALSE(answer.json().contains("state")) << answer.body;
  EXPECT_TRUE(answer.json()["expires_at"].is_string()) << answer.body;
  remember_secret(answer.json().value("connect_url", "").substr(answer.json().value("connect_url", "").find('=') + 1));
  EXPECT_EQ(fake.stat("authorizations"), 0) << "nothing reached the platform but the browser's redirect";
}

TEST_F(ConnectBinding, ACodeArrivingOnAnotherAppsPathIsRefusedWithoutExchange) {
  FakeOAuth2& fake = start_fake({});
  register_fake_app(fake, "left", "client_secret_post");
  register_fake_app(fake, "right", "client_secret_post");
  EXPECT_EQ(daemon().get("/v1/apps/left").json().value("redirect_uri", ""), daemon().callback_url("left"));

  BrowserCallback cb = authorize_at_fake("left", "carol");
  ASSERT_EQ(cb.url.rfind(daemon().callback_url("left") + "?", 0), 0u) << cb.url;
  const std::string query = cb.url.substr(cb.url.find('?'));
  auto elsewhere = visit({daemon().callback_url("right") + query, cb.cookie});
  EXPECT_EQ(elsewhere.status, 400) << elsewhere.describe();
  EXPECT_NE(elsewhere.body.find("Wrong callback address"), std::string::npos) << elsewhere.body;
  // A state of an app with its own path is not taken on the shared path either.
  BrowserCallback cb2 = authorize_at_fake("left", "dave");
  auto shared = visit({daemon().callback_url() + cb2.url.substr(cb2.url.find('?')), cb2.cookie});
  EXPECT_EQ(shared.status, 400) << shared.describe();
  EXPECT_EQ(fake.stat("token_requests"), 0);
  EXPECT_EQ(grants("left").size(), 0u);
  EXPECT_EQ(grants("right").size(), 0u);
}

TEST_F(ConnectBinding, IssIsRequiredAndComparedExactlyWhenTheServerAdvertisesIt) {
  FakeOAuth2& fake = start_fake({.expires_in = 3600, .rotate_refresh = false, .issuer_path = "/tenant",
                                 .latency_ms = 0, .iss_response = true});
  register_fake_app(fake, "issued", "client_secret_post", true);
  auto metadata = test::http_get(fake.issuer() + "/.well-known/openid-configuration");
  ASSERT_TRUE(metadata.json().value("authorization_response_iss_parameter_supported", false)) << metadata.body;

  // The fake sends iss (its issuer): the flow finishes.
  BrowserCallback ok = authorize_at_fake("issued", "erin");
  EXPECT_EQ(test::query_param(ok.url, "iss").value_or(""), fake.issuer()) << ok.url;
  auto done = visit(ok);
  ASSERT_EQ(done.status, 200) << done.describe();
  EXPECT_EQ(fake.stat("token_requests"), 1);

  // Without iss (a mix-up: the answer came from elsewhere, or was stripped): refused, not exchanged.
  BrowserCallback stripped = authorize_at_fake("issued", "frank");
  stripped.url = with_param(stripped.url, "iss", std::nullopt);
  auto missing = visit(stripped);
  EXPECT_EQ(missing.status, 400) << missing.describe();
  EXPECT_NE(missing.body.find("Issuer missing"), std::string::npos) << missing.body;
  // Another server's iss, and ours with a trailing slash (an exact match is required): refused.
  for (const std::string& wrong : {std::string("https://evil.example"), fake.issuer() + "/"}) {
    BrowserCallback other = authorize_at_fake("issued", "gina");
    other.url = with_param(other.url, "iss", wrong);
    auto refused = visit(other);
    EXPECT_EQ(refused.status, 400) << wrong << ": " << refused.describe();
    EXPECT_NE(refused.body.find("Wrong issuer"), std::string::npos) << refused.body;
  }
  EXPECT_EQ(fake.stat("token_requests"), 1) << "a refused answer reached the token endpoint";
  ASSERT_EQ(grants("issued").size(), 1u);
  EXPECT_EQ(grants("issued")[0].value("account_id", ""), "erin");
}

TEST_F(ConnectBinding, AnAppOptionRequiresIssFromAServerWithoutMetadata) {
  FakeOAuth2& fake = start_fake({.expires_in = 3600, .rotate_refresh = false, .issuer_path = "",
                                 .latency_ms = 0, .iss_response = true});
  const std::string client_id = random_hex("cid-", 12), secret = random_hex("csec-", 32);
  remember_secret(secret);
  fake.register_client(client_id, secret, "client_secret_post", {daemon().callback_url("pinned")});
  json body{{"name", "pinned"},
            {"platform", "oauth2"},
            {"client_id", client_id},
            {"client_secret", secret},
            {"options", {{"callback_iss", fake.issuer()}}},
            {"endpoints", {{"authorize_url", fake.issuer() + "/authorize"}, {"token_url", fake.issuer() + "/token"}}}};
  auto created = daemon().post("/v1/apps", body);
  ASSERT_EQ(created.status, 201) << created.describe();
  body["name"] = "badopt";
  body["options"] = {{"callback_iss", true}};
  auto refused = daemon().post("/v1/apps", body);
  EXPECT_EQ(refused.status, 400) << "true needs an issuer to compare with: " << refused.describe();

  BrowserCallback stripped = authorize_at_fake("pinned", "hugo");
  stripped.url = with_param(stripped.url, "iss", std::nullopt);
  EXPECT_EQ(visit(stripped).status, 400);
  EXPECT_EQ(fake.stat("token_requests"), 0);
  auto done = visit(authorize_at_fake("pinned", "hugo"));
  EXPECT_EQ(done.status, 200) << done.describe();
}

}  // namespace
}  // namespace mediax::e2e
