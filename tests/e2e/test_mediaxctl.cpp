// mediaxctl against the real daemon and the fake OAuth 2.0 server: every command, human and --json
// output, the settings precedence (flags > environment > ctl.toml) and the exit codes scripts rely on.
#include <filesystem>

#include "crypto/crypto.hpp"
#include "harness.hpp"

namespace mediax::e2e {
namespace {

class Mediaxctl : public E2ETest {
 protected:
  void SetUp() override {
    bin_ = (std::filesystem::path(mediaxd_bin()).parent_path() / "mediaxctl").string();
    ASSERT_TRUE(std::filesystem::exists(bin_)) << bin_ << " is missing (build the mediaxctl target)";
    E2ETest::SetUp();
  }

  // Runs mediaxctl with a private HOME/XDG_CONFIG_HOME (no stray ctl.toml), MEDIAX_URL pointing at
  // the daemon unless `env` says otherwise, and the test's API key in MEDIAX_API_KEY.
  test::RunResult ctl(const std::vector<std::string>& args, std::vector<std::string> env = {}) {
    test::ProcessOptions opts;
    opts.log_dir = dir_;
    opts.name = "mediaxctl-" + std::to_string(++runs_);
    opts.env = {"HOME=" + dir_ + "/home", "XDG_CONFIG_HOME=" + dir_ + "/home/.config", "MEDIAX_URL=" + daemon().url(""),
                "MEDIAX_API_KEY=" + api_key()};
    for (auto& e : env) opts.env.push_back(std::move(e));
    return test::run_process(bin_, args, opts, 60s);
  }

  static std::string describe(const test::RunResult& r) {
    return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
  }

  json ctl_json(const std::vector<std::string>& args) {
    std::vector<std::string> a = args;
    a.push_back("--json");
    auto r = ctl(a);
    require(r.exit_code == 0, "mediaxctl " + args.front() + ": " + describe(r));
    json j = json::parse(r.out, nullptr, false);
    require(!j.is_discarded(), "--json output does not parse: " + r.out);
    return j;
  }

  // The admin key the harness created for this daemon.
  std::string api_key() { return daemon().api_key(); }

  std::string bin_;
  int runs_ = 0;
};

TEST_F(Mediaxctl, ManagesAnAppAndAConnectedAccountFromRegistrationToRemoval) {
  FakeOAuth2& fake = start_fake({.expires_in = 3600, .rotate_refresh = true, .issuer_path = ""});
  const std::string client_id = random_hex("cid-", 12);
  const std::string secret = random_hex("csec-", 32);
  remember_secret(secret);
  fake.register_client(client_id, secret, "client_secret_post", {daemon().callback_url("crm")});
  test::write_file(dir_ + "/secret", secret + "\n");

  auto add =
      ctl({"apps", "add", "crm", "--platform", "oauth2", "--client-id", client_id, "--client-secret-file",
           dir_ + "/secret", "--scope", "openid", "--scope", "profile", "--authorize-url", fake.issuer() + "/authorize",
           "--token-url", fake.issuer() + "/token", "--revocation-url", fake.issuer() + "/revoke"});
  ASSERT_EQ(add.exit_code, 0) << describe(add);
  EXPECT_NE(add.out.find(daemon().callback_url("crm")), std::string::npos)
      << "apps add should name the redirect URI: " << add.out;
  EXPECT_EQ(add.out.find(secret), std::string::npos);

  auto shown = ctl_json({"apps", "show", "crm"});
  EXPECT_EQ(shown.value("client_id", ""), client_id);
  EXPECT_EQ(shown["scopes"], json({"openid", "profile"}));
  EXPECT_EQ(shown["endpoints"].value("token_url", ""), fake.issuer() + "/token");

  auto list = ctl({"apps", "list"});
  ASSERT_EQ(list.exit_code, 0) << describe(list);
  EXPECT_EQ(list.out.rfind("NAME", 0), 0u) << list.out;
  EXPECT_NE(list.out.find("crm"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(client_id), std::string::npos) << list.out;
  json apps = ctl_json({"apps", "list"});
  ASSERT_EQ(apps["apps"].size(), 1u) << apps.dump();

  // connect prints a one-time connect link; the browser opens it and comes back with its cookie.
  auto conn = ctl({"connect", "crm"});
  ASSERT_EQ(conn.exit_code, 0) << describe(conn);
  const std::string link = conn.out.substr(0, conn.out.find('\n'));
  ASSERT_EQ(link.rfind(daemon().url("/connect/start?ticket="), 0), 0u) << link;
  remember_secret(link.substr(link.find('=') + 1));
  Browser browser;
  const std::string authorize_url = browser.open_link(link);
  ASSERT_EQ(authorize_url.rfind(fake.issuer() + "/authorize?", 0), 0u) << authorize_url;
  const auto callback =
      browser.authorize(test::add_query_param(authorize_url, "login_hint", "alice"), daemon().callback_url("crm"));
  if (auto code = test::query_param(callback.url, "code")) remember_secret(*code);
  auto page = visit(callback);
  ASSERT_EQ(page.status, 200) << page.describe();
  EXPECT_NE(page.body.find("/console/"), std::string::npos) << "the callback page should link back to the console";

  json grants_json = ctl_json({"grants", "list", "crm"});
  ASSERT_EQ(grants_json["grants"].size(), 1u) << grants_json.dump();
  const std::string id = std::to_string(as_id(grants_json["grants"][0]["id"]));
  auto glist = ctl({"grants", "list", "crm"});
  ASSERT_EQ(glist.exit_code, 0) << describe(glist);
  EXPECT_NE(glist.out.find("alice"), std::string::npos) << glist.out;
  EXPECT_NE(glist.out.find("active"), std::string::npos) << glist.out;
  auto gshow = ctl({"grants", "show", id});
  ASSERT_EQ(gshow.exit_code, 0) << describe(gshow);
  EXPECT_NE(gshow.out.find("alice"), std::string::npos) << gshow.out;

  // token get prints the bare token (for $(...)); it is the one the API and the platform know.
  auto tok = ctl({"token", "get", "crm", "--grant", id});
  ASSERT_EQ(tok.exit_code, 0) << describe(tok);
  const std::string token1 = tok.out.substr(0, tok.out.find('\n'));
  remember_secret(token1);
  EXPECT_TRUE(fake.token_active(token1)) << "token get printed a token the platform does not know";
  json tj = ctl_json({"token", "get", "crm", "--grant", id});
  EXPECT_EQ(tj.value("access_token", ""), token1);

  const auto refreshes_before = fake.refreshes_of("alice");
  auto ref = ctl({"refresh", "crm", "--grant", id});
  ASSERT_EQ(ref.exit_code, 0) << describe(ref);
  EXPECT_NE(ref.out.find("refreshed"), std::string::npos) << ref.out;
  EXPECT_EQ(fake.refreshes_of("alice"), refreshes_before + 1);
  json token2 = ctl_json({"token", "get", "crm", "--grant", id});
  remember_secret(token2.value("access_token", ""));
  EXPECT_NE(token2.value("access_token", ""), token1) << "refresh did not replace the token";

  auto status = ctl({"status"});
  ASSERT_EQ(status.exit_code, 0) << describe(status);
  EXPECT_NE(status.out.find("ready"), std::string::npos) << status.out;
  json sj = ctl_json({"status"});
  EXPECT_EQ(sj.value("apps", -1), 1);
  EXPECT_EQ(sj.value("grants", -1), 1);

  // A generic OAuth 2.0 provider has no recovery call: exit 1 naming not_supported, nothing changes.
  auto recover = ctl({"grant", "recover", id});
  EXPECT_EQ(recover.exit_code, 1) << describe(recover);
  EXPECT_NE(recover.err.find("not_supported"), std::string::npos) << describe(recover);
  EXPECT_EQ(ctl_json({"grants", "show", id}).value("status", ""), "active");

  auto rev = ctl({"grants", "revoke", id});
  ASSERT_EQ(rev.exit_code, 0) << describe(rev);
  EXPECT_NE(rev.out.find("revoked"), std::string::npos) << rev.out;
  EXPECT_EQ(ctl_json({"grants", "show", id}).value("status", ""), "revoked");
  EXPECT_FALSE(fake.token_active(token2.value("access_token", ""))) << "revoking should revoke at the platform";
  auto recover_revoked = ctl({"grants", "recover", id});
  EXPECT_EQ(recover_revoked.exit_code, 1) << describe(recover_revoked);
  EXPECT_NE(recover_revoked.err.find("grant_revoked"), std::string::npos) << describe(recover_revoked);

  auto rm = ctl({"apps", "rm", "crm"});
  ASSERT_EQ(rm.exit_code, 0) << describe(rm);
  auto gone = ctl({"apps", "show", "crm"});
  EXPECT_EQ(gone.exit_code, 4) << describe(gone);
}

TEST_F(Mediaxctl, AddsAnAppFromJsonWithTheSecretFromTheEnvironment) {
  const std::string secret = random_hex("csec-", 32);
  remember_secret(secret);
  test::write_file(dir_ + "/app.json", json{{"platform", "oauth2"},
                                            {"client_id", "svc"},
                                            {"scopes", {"api"}},
                                            {"endpoints", {{"token_url", "http://127.0.0.1:9/token"}}}}
                                           .dump());
  auto add =
      ctl({"apps", "add", "svc", "--from-json", dir_ + "/app.json", "--client-secret-env", "SVC_SECRET", "--json"},
          {"SVC_SECRET=" + secret});
  ASSERT_EQ(add.exit_code, 0) << describe(add);
  json app = json::parse(add.out, nullptr, false);
  ASSERT_FALSE(app.is_discarded()) << add.out;
  EXPECT_EQ(app.value("name", ""), "svc");
  EXPECT_EQ(app.value("client_id", ""), "svc");

  auto dup = ctl({"apps", "add", "svc", "--from-json", dir_ + "/app.json", "--client-secret-env", "SVC_SECRET"},
                 {"SVC_SECRET=" + secret});
  EXPECT_EQ(dup.exit_code, 1) << describe(dup);
  EXPECT_NE(dup.err.find("svc"), std::string::npos) << "the API's message should be shown: " << dup.err;
  EXPECT_EQ(dup.err.find(secret), std::string::npos);
}

TEST_F(Mediaxctl, ExitCodesTellNotFoundFromUsageFromNoDaemon) {
  auto app = ctl({"apps", "show", "nope"});
  EXPECT_EQ(app.exit_code, 4) << describe(app);
  EXPECT_NE(app.err.find("nope"), std::string::npos) << app.err;
  auto grant = ctl({"grants", "show", "999999"});
  EXPECT_EQ(grant.exit_code, 4) << describe(grant);
  auto rm = ctl({"apps", "rm", "nope"});
  EXPECT_EQ(rm.exit_code, 4) << describe(rm);

  for (const auto& args : std::vector<std::vector<std::string>>{
           {"apps", "frobnicate"},
           {"nonsense"},
           {"grants", "show", "abc"},
           {"apps", "show"},
           {"token", "get", "crm", "--grant"},
           {"apps", "add", "x", "--client-id", "c", "--client-secret", "on-the-command-line"},
           {"apps", "add", "x", "--client-id", "c"},
           {"status", "--grant", "1"},
       }) {
    auto r = ctl(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << " " << (args.size() > 1 ? args[1] : "") << ": " << describe(r);
    EXPECT_NE(r.err.find("mediaxctl"), std::string::npos) << describe(r);
  }

  // A wrong or missing key is an API error that says what to check, never echoing the key.
  auto wrong = ctl({"apps", "list"}, {"MEDIAX_API_KEY=wrong-key-123"});
  EXPECT_EQ(wrong.exit_code, 1) << describe(wrong);
  EXPECT_NE(wrong.err.find("API key"), std::string::npos) << wrong.err;
  EXPECT_EQ(wrong.err.find("wrong-key-123"), std::string::npos) << wrong.err;
  auto missing = ctl({"apps", "list"}, {"MEDIAX_API_KEY="});
  EXPECT_EQ(missing.exit_code, 1) << describe(missing);
  EXPECT_NE(missing.err.find("no API key was given"), std::string::npos) << missing.err;
  // --api-key-file beats the (wrong) environment.
  test::write_file(dir_ + "/key", api_key() + "\n");
  auto from_file = ctl({"apps", "list", "--api-key-file", dir_ + "/key"}, {"MEDIAX_API_KEY=wrong-key-123"});
  EXPECT_EQ(from_file.exit_code, 0) << describe(from_file);

  const std::string dead = "http://127.0.0.1:" + std::to_string(test::free_port());
  auto down = ctl({"status"}, {"MEDIAX_URL=" + dead});
  EXPECT_EQ(down.exit_code, 3) << describe(down);
  EXPECT_NE(down.err.find("cannot reach"), std::string::npos) << down.err;
  auto down2 = ctl({"apps", "list", "--url", dead});
  EXPECT_EQ(down2.exit_code, 3) << describe(down2);
}

TEST_F(Mediaxctl, PlatformFailureOnRefreshExitsOneWithThePlatformCode) {
  FakeOAuth2& fake = start_fake({.expires_in = 3600, .rotate_refresh = false, .issuer_path = ""});
  register_fake_app(fake, "flaky");
  const std::int64_t id = connect("flaky", "bob");
  fake.fail({{"mode", "invalid_grant"}, {"count", 1}, {"grant_type", "refresh_token"}});
  auto r = ctl({"refresh", "flaky", "--grant", std::to_string(id)});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("invalid_grant"), std::string::npos) << r.err;
  auto none = ctl({"token", "get", "flaky"});
  EXPECT_EQ(none.exit_code, 4) << "an app without client credentials has no app token: " << describe(none);
}

TEST_F(Mediaxctl, GrantsAddTakesACodeAndImportARefreshTokenFromAFileNeverTheCommandLine) {
  FakeOAuth2& fake = start_fake({.expires_in = 3600, .rotate_refresh = true, .issuer_path = ""});
  const std::string client_id = random_hex("cid-", 12);
  const std::string secret = random_hex("csec-", 32);
  remember_secret(secret);
  fake.register_client(client_id, secret, "client_secret_post", {daemon().callback_url("crm")});
  test::write_file(dir_ + "/secret", secret + "\n");
  auto add = ctl({"apps", "add", "crm", "--client-id", client_id, "--client-secret-file", dir_ + "/secret", "--scope",
                  "openid", "--scope", "profile", "--authorize-url", fake.issuer() + "/authorize", "--token-url",
                  fake.issuer() + "/token"});
  ASSERT_EQ(add.exit_code, 0) << describe(add);
  // The creator's own app: it authorizes with its own PKCE and hands over the code.
  auto own_code = [&](const std::string& login, const std::string& verifier) {
    auto r = test::http_get(fake.issuer() + "/authorize?response_type=code&client_id=" + client_id +
                            "&redirect_uri=" + test::url_encode(daemon().callback_url("crm")) +
                            "&scope=openid%20profile&code_challenge=" + crypto::pkce_challenge_s256(verifier) +
                            "&code_challenge_method=S256&login_hint=" + login);
    require(r.status == 302, "the fake did not redirect: " + r.describe());
    const std::string code = test::query_param(r.header("location"), "code").value_or("");
    remember_secret(code);
    return code;
  };

  const std::string verifier = crypto::pkce_verifier();
  auto added = ctl({"grants", "add", "crm", "--code", own_code("alice", verifier), "--code-verifier", verifier});
  ASSERT_EQ(added.exit_code, 0) << describe(added);
  EXPECT_NE(added.out.find("connected account alice as grant"), std::string::npos) << added.out;
  ASSERT_EQ(grants("crm").size(), 1u);

  // The old system's refresh token of bob, in a file.
  const std::string v2 = crypto::pkce_verifier();
  auto tr = test::http_post_form(fake.issuer() + "/token", {{"grant_type", "authorization_code"},
                                                            {"code", own_code("bob", v2)},
                                                            {"redirect_uri", daemon().callback_url("crm")},
                                                            {"code_verifier", v2},
                                                            {"client_id", client_id},
                                                            {"client_secret", secret}});
  ASSERT_EQ(tr.status, 200) << tr.describe();
  const std::string rt = tr.json().value("refresh_token", "");
  remember_secret(rt);
  remember_secret(tr.json().value("access_token", ""));
  test::write_file(dir_ + "/rt", rt + "\n");
  auto imported = ctl_json({"grants", "import", "crm", "--account", "bob", "--refresh-token-file", dir_ + "/rt",
                            "--refresh-expires-at", "2099-01-01T00:00:00Z", "--scope", "profile"});
  EXPECT_EQ(imported.value("account_id", ""), "bob");
  EXPECT_EQ(imported.value("refresh_expires_at", ""), "2099-01-01T00:00:00Z");
  EXPECT_EQ(imported.dump().find(rt), std::string::npos);
  EXPECT_EQ(grants("crm").size(), 2u);

  // The imported token was rotated at the platform: importing it again is refused, exit 1.
  auto dead = ctl({"grants", "import", "crm", "--account", "bob", "--refresh-token-file", dir_ + "/rt"});
  EXPECT_EQ(dead.exit_code, 1) << describe(dead);
  EXPECT_NE(dead.err.find("refresh_token_refused"), std::string::npos) << dead.err;
  EXPECT_EQ(dead.err.find(rt), std::string::npos) << dead.err;

  for (const auto& args : std::vector<std::vector<std::string>>{
           {"grants", "import", "crm", "--account", "bob", "--refresh-token", rt},
           {"grants", "import", "crm", "--account", "bob"},
           {"grants", "import", "crm", "--refresh-token-file", dir_ + "/rt"},
           {"grants", "add", "crm"},
           {"grants", "add", "--code", "c"},
       }) {
    auto r = ctl(args);
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_EQ(r.err.find(rt), std::string::npos) << r.err;
  }
  auto missing = ctl({"grants", "add", "nope", "--code", "c"});
  EXPECT_EQ(missing.exit_code, 4) << describe(missing);
}

TEST_F(Mediaxctl, SettingsComeFromFlagsThenEnvironmentThenConfigFile) {
  const std::string dead = "http://127.0.0.1:" + std::to_string(test::free_port());
  std::filesystem::create_directories(dir_ + "/home/.config/mediax");
  // The file alone is enough.
  test::write_file(dir_ + "/home/.config/mediax/ctl.toml",
                   "url = \"" + daemon().url("") + "\"\napi_key = \"" + api_key() + "\"\n");
  auto from_file = ctl({"apps", "list"}, {"MEDIAX_URL=", "MEDIAX_API_KEY="});
  EXPECT_EQ(from_file.exit_code, 0) << describe(from_file);
  // The environment beats the file.
  auto env_wins = ctl({"apps", "list"}, {"MEDIAX_URL=" + dead});
  EXPECT_EQ(env_wins.exit_code, 3) << describe(env_wins);
  // A flag beats the environment.
  auto flag_wins = ctl({"apps", "list", "--url", daemon().url("")}, {"MEDIAX_URL=" + dead});
  EXPECT_EQ(flag_wins.exit_code, 0) << describe(flag_wins);
  // An explicit --config is read, and a bad one is a usage error naming the key.
  test::write_file(dir_ + "/other.toml", "url = \"" + dead + "\"\n");
  auto cfg = ctl({"apps", "list", "--config", dir_ + "/other.toml"}, {"MEDIAX_URL="});
  EXPECT_EQ(cfg.exit_code, 3) << describe(cfg);
  test::write_file(dir_ + "/bad.toml", "uri = \"x\"\n");
  auto bad = ctl({"apps", "list", "--config", dir_ + "/bad.toml"});
  EXPECT_EQ(bad.exit_code, 2) << describe(bad);
  EXPECT_NE(bad.err.find("uri"), std::string::npos) << bad.err;
}

TEST_F(Mediaxctl, EveryCommandHasHelp) {
  auto main_help = ctl({"--help"});
  ASSERT_EQ(main_help.exit_code, 0) << describe(main_help);
  for (const char* s : {"Exit codes", "3  cannot connect", "4  not found", "ctl.toml", "MEDIAX_API_KEY"}) {
    EXPECT_NE(main_help.out.find(s), std::string::npos) << s << " missing from --help:\n" << main_help.out;
  }
  for (const auto& cmd : std::vector<std::vector<std::string>>{{"apps", "list"},
                                                               {"apps", "show"},
                                                               {"apps", "add"},
                                                               {"apps", "rm"},
                                                               {"grants", "list"},
                                                               {"grants", "show"},
                                                               {"grants", "revoke"},
                                                               {"token", "get"},
                                                               {"connect"},
                                                               {"refresh"},
                                                               {"status"},
                                                               {"webhook"},
                                                               {"grants", "add"},
                                                               {"grants", "import"},
                                                               {"grants", "recover"}}) {
    auto args = cmd;
    args.push_back("--help");
    auto r = ctl(args);
    std::string usage = "usage: mediaxctl";
    for (const auto& w : cmd) usage += " " + w;
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out.rfind(usage, 0), 0u) << usage << " expected:\n" << r.out;
  }
  auto no_args = ctl({});
  EXPECT_EQ(no_args.exit_code, 2) << describe(no_args);
}

TEST_F(Mediaxctl, AppsSecretsChangesAResetClientSecretFromAFileAndTheStoppedAppTokenComesBack) {
  FakeOAuth2& fake = start_fake({.expires_in = 3600, .rotate_refresh = false, .issuer_path = ""});
  const std::string client_id = random_hex("cid-", 12);
  const std::string old_secret = random_hex("csec-", 32), new_secret = random_hex("csec2-", 32);
  for (const auto& s : {old_secret, new_secret}) remember_secret(s);
  fake.register_client(client_id, old_secret, "client_secret_post", {daemon().callback_url("crm")});
  test::write_file(dir_ + "/old", old_secret + "\n");
  test::write_file(dir_ + "/new", new_secret + "\n");
  auto add = ctl({"apps", "add", "svc", "--platform", "oauth2", "--client-id", client_id, "--client-secret-file",
                  dir_ + "/old", "--client-credentials", "--token-url", fake.issuer() + "/token"});
  ASSERT_EQ(add.exit_code, 0) << describe(add);
  ASSERT_TRUE(eventually([&] { return ctl({"token", "get", "svc"}).exit_code == 0; }, 15s));
  const std::string first_token = ctl({"token", "get", "svc"}).out;

  // The secret is reset at the provider: the app token is refused (invalid_client) and stops.
  fake.register_client(client_id, new_secret, "client_secret_post", {daemon().callback_url("crm")});
  EXPECT_EQ(ctl({"refresh", "svc"}).exit_code, 1);
  ASSERT_TRUE(eventually([&] { return ctl_json({"apps", "show", "svc"}).value("status", "") == "needs_reauth"; }, 10s));

  // Values are never taken from the command line; a bad option is the daemon's 400 (exit 1).
  EXPECT_EQ(ctl({"apps", "secrets", "svc", "--client-secret", new_secret}).exit_code, 2);
  auto bad = ctl({"apps", "secrets", "svc", "--option", "pkce=" + dir_ + "/new"});
  EXPECT_EQ(bad.exit_code, 1) << describe(bad);
  EXPECT_NE(bad.err.find("not a secret option"), std::string::npos) << describe(bad);

  auto r = ctl({"apps", "secrets", "svc", "--client-secret-file", dir_ + "/new"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("secrets changed (client_secret)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(new_secret), std::string::npos);
  // Fetched again at once with the new secret, without a forced refresh.
  EXPECT_TRUE(eventually([&] { return ctl_json({"apps", "show", "svc"}).value("status", "") == "active"; }, 10s));
  EXPECT_TRUE(eventually([&] { return ctl({"token", "get", "svc"}).out != first_token; }, 10s)) << "no new app token";
  EXPECT_EQ(ctl({"apps", "secrets", "nosuch", "--client-secret-file", dir_ + "/new"}).exit_code, 4);
}

}  // namespace
}  // namespace mediax::e2e
