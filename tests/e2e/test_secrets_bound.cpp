// Issue 21, "secrets bound to what they are for" and "the process itself", end to end:
//  - a database writer who points an app's token_url at another host gets no secret: the daemon
//    refuses to open it (the error names the app and "token endpoint changed since the secret was
//    sealed"), the other host sees no request, the app is marked misconfigured (GET app, /metrics,
//    log); setting the secret again through the API binds it to the new endpoint;
//  - `mediaxd migrate` binds app secrets sealed before binding (v1) and seals plain text, which the
//    daemon never uses before;
//  - a client cannot forge a log line with CR LF in a request path.
#include <pqxx/pqxx>

#include "crypto/sealer.hpp"
#include "harness.hpp"

namespace mediax::e2e {
namespace {

void sql(const std::string& db_url, const std::string& statement) {
  pqxx::connection c(db_url);
  pqxx::nontransaction tx(c);
  tx.exec(statement);
}

std::string sql_value(const std::string& db_url, const std::string& query) {
  pqxx::connection c(db_url);
  pqxx::nontransaction tx(c);
  const auto r = tx.exec(query);
  return r.empty() || r[0][0].is_null() ? std::string() : r[0][0].as<std::string>();
}

class SecretsBound : public E2ETest {};

TEST_F(SecretsBound, TokenUrlChangedInSqlIsRefusedTheSecretNeverSentAndTheAppMarkedMisconfigured) {
  FakeOAuth2& real = start_fake({});
  FakeOAuth2& other = start_fake({});  // the host a database writer would like the secret sent to
  const json app = register_fake_app(real, "bound");
  const std::int64_t grant = connect("bound", "alice");
  const std::string stored = sql_value(daemon().db_url(), "SELECT client_secret FROM mediax.apps WHERE name = 'bound'");
  EXPECT_EQ(stored.rfind("v2:", 0), 0U) << "app secrets are sealed bound to their endpoints";
  EXPECT_TRUE(app["misconfigured"].is_null()) << app.dump();
  const auto before = real.stat("token_requests");

  sql(daemon().db_url(),
      "UPDATE mediax.apps SET token_url = '" + other.issuer() + "/token' WHERE name = 'bound'");
  const auto r = daemon().post("/v1/grants/" + std::to_string(grant) + "/refresh");
  EXPECT_GE(r.status, 400) << r.describe();
  EXPECT_NE(r.body.find("token endpoint changed since the secret was sealed"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("'bound'"), std::string::npos) << "the error names the app: " << r.body;
  EXPECT_EQ(other.stat("token_requests"), 0) << "the secret was sent to the new token_url";
  EXPECT_EQ(real.stat("token_requests"), before);

  // Marked misconfigured: GET app, the log (once), /metrics.
  const json got = daemon().get("/v1/apps/bound").json();
  ASSERT_TRUE(got["misconfigured"].is_object()) << got.dump();
  const std::string reason = got["misconfigured"]["reason"].get<std::string>();
  EXPECT_NE(reason.find("token endpoint changed since the secret was sealed"), std::string::npos) << reason;
  EXPECT_NE(reason.find(real.base()), std::string::npos) << "says what it was sealed for: " << reason;
  EXPECT_NE(reason.find(other.base()), std::string::npos) << "and what the row says now: " << reason;
  EXPECT_TRUE(got["misconfigured"]["since"].is_string()) << got.dump();
  EXPECT_TRUE(eventually([&] { return daemon().log().find("app 'bound' is misconfigured: ") != std::string::npos; },
                         5s))
      << daemon().log();
  EXPECT_TRUE(eventually(
      [&] {
        return daemon().get("/metrics").body.find("mediax_app_misconfigured{app=\"bound\"} 1") != std::string::npos;
      },
      20s, 500ms))
      << daemon().get("/metrics").body;
  // A second try is refused the same way and sends nothing either.
  daemon().post("/v1/grants/" + std::to_string(grant) + "/refresh");
  EXPECT_EQ(other.stat("token_requests"), 0);

  // The operator who meant the move sets the secret again: it is bound to the new endpoint and the
  // mark is gone.
  const std::string fresh = random_hex("csec-", 32);
  remember_secret(fresh);
  const auto put = daemon().request("PUT", "/v1/apps/bound/secrets", daemon().api_key(),
                                    json{{"client_secret", fresh}}.dump(), "application/json");
  EXPECT_EQ(put.status, 200) << put.describe();
  EXPECT_TRUE(daemon().get("/v1/apps/bound").json()["misconfigured"].is_null());
}

TEST_F(SecretsBound, MigrateBindsSecretsSealedBeforeBindingAndSealsPlainTextNeitherUsedBefore) {
  FakeOAuth2& fake = start_fake({});
  register_fake_app(fake, "legacy");
  const std::int64_t grant = connect("legacy", "bob");
  const std::string db = daemon().db_url();
  const std::string id = sql_value(db, "SELECT id FROM mediax.apps WHERE name = 'legacy'");
  // What a daemon before the binding stored: v1, the row's identity alone as associated data, of
  // the secret registered for the app.
  const auto key = crypto::load_seal_key(seal_key_file_for(db, dir_));
  const crypto::Sealer sealer({key});
  std::string client_secret;
  for (const auto& s : known_secrets()) {
    if (s.rfind("csec-", 0) == 0) client_secret = s;
  }
  ASSERT_FALSE(client_secret.empty());
  sql(db, "UPDATE mediax.apps SET client_secret = '" +
              sealer.seal(client_secret, crypto::seal_context("apps.client_secret", id)) + "' WHERE id = " + id);

  const auto before = fake.stat("token_requests");
  const auto refused = daemon().post("/v1/grants/" + std::to_string(grant) + "/refresh");
  EXPECT_GE(refused.status, 400) << refused.describe();
  EXPECT_NE(refused.body.find("sealed before secrets were bound to their token endpoint"), std::string::npos)
      << refused.body;
  EXPECT_EQ(fake.stat("token_requests"), before) << "a v1 app secret was sent";

  const auto migrate = daemon().run_cli({"migrate", "--migrations", source_dir() + "/migrations"});
  EXPECT_EQ(migrate.exit_code, 0) << migrate.err;
  EXPECT_NE(migrate.err.find("1 value(s) sealed or bound"), std::string::npos) << migrate.err;
  EXPECT_EQ(sql_value(db, "SELECT client_secret FROM mediax.apps WHERE id = " + id).rfind("v2:", 0), 0U);
  const auto again = daemon().run_cli({"migrate", "--migrations", source_dir() + "/migrations"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("nothing to upgrade"), std::string::npos) << again.err;

  // Bound now; the grant was stopped by the refusal (needs_reauth): the account is connected again
  // and refreshes with the bound secret.
  const std::int64_t reconnected = connect("legacy", "bob");
  const auto ok = daemon().post("/v1/grants/" + std::to_string(reconnected) + "/refresh");
  EXPECT_EQ(ok.status, 200) << ok.describe();
  EXPECT_GT(fake.stat("token_requests"), before);
}

TEST_F(SecretsBound, PlainTextSecretsAreRefusedUntilMigrateSealsThem) {
  FakeOAuth2& fake = start_fake({});
  register_fake_app(fake, "plain");
  const std::int64_t grant = connect("plain", "carol");
  const std::string db = daemon().db_url();
  const std::string plain_rt = random_hex("plain-rt-", 24);
  remember_secret(plain_rt);
  sql(db, "UPDATE mediax.grants SET refresh_token = '" + plain_rt + "' WHERE id = " + std::to_string(grant));
  const auto before = fake.stat("token_requests");
  const auto refused = daemon().post("/v1/grants/" + std::to_string(grant) + "/refresh");
  EXPECT_GE(refused.status, 400) << refused.describe();
  EXPECT_NE(refused.body.find("plain text, which is not accepted"), std::string::npos) << refused.body;
  EXPECT_EQ(fake.stat("token_requests"), before) << "a plain-text refresh token was used";

  const auto migrate = daemon().run_cli({"migrate", "--migrations", source_dir() + "/migrations"});
  EXPECT_EQ(migrate.exit_code, 0) << migrate.err;
  const std::string sealed =
      sql_value(db, "SELECT refresh_token FROM mediax.grants WHERE id = " + std::to_string(grant));
  EXPECT_EQ(sealed.rfind("v1:", 0), 0U) << "sealed by migrate";
  EXPECT_EQ(sealed.find(plain_rt), std::string::npos);
}

// A path with CR LF (percent-encoded: the daemon decodes it) and a whole fake log line after it.
TEST_F(SecretsBound, ARequestPathCannotForgeALogLine) {
  const std::string marker = random_hex("FORGED-", 12);
  const std::string forged = "2026-12-06T00:00:00.000Z critical " + marker + " admin key leaked";
  std::string encoded;
  for (const char c : forged) encoded += c == ' ' ? std::string("%20") : std::string(1, c);
  const std::string raw = "GET /v1/apps/x%0d%0a" + encoded + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  const std::string answer = raw_exchange(daemon().url(""), raw);
  EXPECT_NE(answer.find(" 401 "), std::string::npos) << answer;  // refused: no API key (and logged)
  ASSERT_TRUE(eventually([&] { return daemon().log().find(marker) != std::string::npos; }, 5s)) << daemon().log();

  const std::string log = daemon().log();
  std::size_t start = 0;
  bool escaped_seen = false;
  while (start < log.size()) {
    auto end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    const std::string line = log.substr(start, end - start);
    EXPECT_NE(line.rfind("2026-12-06T00:00:00.000Z", 0), 0U) << "a forged line: " << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
    if (line.find(marker) != std::string::npos) {
      EXPECT_NE(line.find("/v1/apps/x\\r\\n2026-12-06T00:00:00.000Z critical " + marker), std::string::npos) << line;
      escaped_seen = true;
    }
    start = end + 1;
  }
  EXPECT_TRUE(escaped_seen) << log;
}

}  // namespace
}  // namespace mediax::e2e
