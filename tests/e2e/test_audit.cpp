// The audit trail end to end (issue 21): a scripted session on the real daemon (register an app,
// connect an account, read its token on both listeners, refresh, revoke, a refused request) is
// listed exactly by GET /v1/audit and `mediaxctl audit`, token reads aggregated into one row per
// key, grant and minute; an admin action whose record cannot be written fails with 503 and does
// not happen.
#include <filesystem>
#include <map>
#include <thread>
#include <tuple>

#include <pqxx/pqxx>

#include "harness.hpp"

namespace mediax::e2e {
namespace {

// who, what, app, grant, result (null as "-").
using Line = std::tuple<std::string, std::string, std::string, std::string, std::string>;

// A field as text, null as "-"; the harness's admin key "e2e-<port>" as "e2e".
std::string text(const json& e, const char* key) {
  if (!e.contains(key) || e[key].is_null()) return "-";
  std::string v = e[key].is_string() ? e[key].get<std::string>() : e[key].dump();
  for (const std::string_view prefix : {std::string_view("e2e-"), std::string_view("created e2e-")}) {
    if (v.rfind(prefix, 0) == 0) {
      const auto end = v.find_first_not_of("0123456789", prefix.size());
      v = std::string(prefix.substr(0, prefix.size() - 1)) + (end == std::string::npos ? "" : v.substr(end));
    }
  }
  return v;
}

class AuditTrailTest : public E2ETest {
 protected:
  void SetUp() override {
    dir_ = test::make_temp_dir("mediax-e2e");
    token_port_ = test::free_port();
    daemon_ = std::make_unique<Daemon>(cluster().create_database(random_hex("e2e_audit_", 8)), dir_, "",
                                       "token_listen = \"127.0.0.1:" + std::to_string(token_port_) + "\"");
  }

  test::HttpResult read_on_token_listener(const std::string& path, const std::string& key) const {
    return test::http_request("GET", "http://127.0.0.1:" + std::to_string(token_port_) + path, "", "",
                              {{"Authorization", "Bearer " + key}});
  }

  void sql(const std::string& statement) const {
    pqxx::connection c(daemon_->db_url());
    pqxx::work tx(c);
    tx.exec(statement);
    tx.commit();
  }

  // Waits while the wall clock is in the last seconds of a minute: the reads that follow fall in one.
  static void not_at_a_minute_end() {
    while (std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                   .count() %
               60 >
           50) {
      std::this_thread::sleep_for(500ms);
    }
  }

  int token_port_ = 0;
};

TEST_F(AuditTrailTest, AScriptedSessionIsListedExactlyWithTokenReadsAggregated) {
  auto& fake = start_fake({});
  const std::string reader = daemon().create_api_key("crm", "reader");
  remember_secret(reader);
  register_fake_app(fake, "shop");
  const std::int64_t grant_id = connect("shop", "alice");  // authorize, the callback, the grant list
  const std::string id = std::to_string(grant_id);

  constexpr int kReads = 7;
  not_at_a_minute_end();
  for (int i = 0; i < kReads; ++i) {
    const auto r = i % 2 == 0 ? read_on_token_listener("/v1/grants/" + id + "/token", reader)
                              : daemon().request("GET", "/v1/grants/" + id + "/token", reader);
    ASSERT_EQ(r.status, 200) << r.describe();
    remember_secret(r.json().value("access_token", ""));
  }
  ASSERT_EQ(daemon().post("/v1/grants/" + id + "/refresh").status, 200);
  EXPECT_EQ(daemon().request("DELETE", "/v1/apps/shop", reader).status, 403);
  ASSERT_EQ(daemon().del("/v1/grants/" + id).status, 200);

  const auto listed = daemon().get("/v1/audit?limit=1000");
  ASSERT_EQ(listed.status, 200) << listed.describe();
  std::vector<Line> got;
  const auto entries = listed.json()["entries"];
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    const auto& e = *it;
    got.emplace_back(text(e, "who"), text(e, "what"), text(e, "app"), text(e, "grant_id"), text(e, "result"));
    EXPECT_EQ(text(e, "peer"), text(e, "who") == "-" || text(e, "who") == "e2e" || text(e, "who") == "crm"
                                   ? "127.0.0.1"
                                   : "local")
        << e.dump();
  }
  // The harness: `mediaxd migrate`, `mediaxd create-api-key --name e2e`; then the test. The token
  // reads are not there yet: their minute is written once it has ended (or at stop).
  const std::vector<Line> want{
      {"migrate", "migrate", "-", "-", got.empty() ? "" : std::get<4>(got[0])},
      {"create-api-key", "create-api-key", "-", "-", "created e2e (admin)"},
      {"create-api-key", "create-api-key", "-", "-", "created crm (reader)"},
      {"e2e", "registerApp", "-", "-", "201"},  // the name is in the body, not the path
      {"e2e", "startAuthorization", "shop", "-", "200"},
      {"-", "startConnect", "-", "-", "302"},       // the admin's browser opens the connect link
      {"-", "oauthAppCallback", "shop", "-", "200"},  // the app's own redirect path
      {"e2e", "listGrants", "shop", "-", "200"},
      {"e2e", "refreshGrantToken", "-", id, "200"},
      {"crm", "deleteApp", "shop", "-", "403"},
      {"e2e", "revokeGrant", "-", id, "200"},
      {"e2e", "listAudit", "-", "-", "-"},  // its own record: the result is written after the answer is made
  };
  EXPECT_EQ(got, want) << listed.body;
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(std::get<4>(got[0]).rfind("applied 0001_init.sql", 0), 0U) << std::get<4>(got[0]);

  // mediaxctl shows the same trail.
  const auto ctl = test::run_process(
      (std::filesystem::path(mediaxd_bin()).parent_path() / "mediaxctl").string(), {"audit", "--who", "crm"},
      test::ProcessOptions{.env = {"HOME=" + dir_, "XDG_CONFIG_HOME=" + dir_, "MEDIAX_URL=" + daemon().url(""),
                                   "MEDIAX_API_KEY=" + daemon().api_key()},
                           .cwd = "",
                           .log_dir = dir_,
                           .name = "mediaxctl-audit"},
      60s);
  ASSERT_EQ(ctl.exit_code, 0) << ctl.out << ctl.err;
  EXPECT_NE(ctl.out.find("deleteApp"), std::string::npos) << ctl.out;
  EXPECT_NE(ctl.out.find("403"), std::string::npos) << ctl.out;
  EXPECT_EQ(ctl.out.find("revokeGrant"), std::string::npos) << "--who crm: " << ctl.out;

  // At stop the reads of this minute are written: one row for the key, grant and minute.
  daemon().stop();
  pqxx::connection c(daemon().db_url());
  pqxx::nontransaction tx(c);
  const auto reads = tx.exec(
      "SELECT who, app, grant_id, result, count, peer, extract(second from at) FROM mediax.audit WHERE what = "
      "'getGrantToken'");
  ASSERT_EQ(reads.size(), 1U);
  EXPECT_EQ(reads[0][0].as<std::string>(), "crm");
  EXPECT_TRUE(reads[0][1].is_null());
  EXPECT_EQ(reads[0][2].as<std::string>(), id);
  EXPECT_EQ(reads[0][3].as<std::string>(), "200");
  EXPECT_EQ(reads[0][4].as<int>(), kReads) << "both listeners, one row";
  EXPECT_EQ(reads[0][5].as<std::string>(), "127.0.0.1");
  EXPECT_EQ(reads[0][6].as<double>(), 0.0) << "the start of the minute";
  // Nothing secret in the trail: no token, code, state, key or client secret.
  const auto all = tx.exec1("SELECT coalesce(string_agg(t::text, ' '), '') FROM mediax.audit t")[0].as<std::string>();
  EXPECT_EQ(secrets_in(all, known_secrets()), std::vector<std::string>{});
}

TEST_F(AuditTrailTest, AnAdminActionWhoseRecordCannotBeWrittenFailsAndDoesNotHappen) {
  auto& fake = start_fake({});
  register_fake_app(fake, "shop");
  const std::int64_t grant_id = connect("shop", "alice");
  const std::string id = std::to_string(grant_id);

  sql("CREATE FUNCTION mediax.e2e_no_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
      "'audit refused by the test'; END $$; CREATE TRIGGER e2e_no_audit BEFORE INSERT ON mediax.audit FOR EACH ROW "
      "EXECUTE FUNCTION mediax.e2e_no_audit()");
  const auto refused = daemon().del("/v1/grants/" + id);
  EXPECT_EQ(refused.status, 503) << refused.describe();
  EXPECT_EQ(refused.json().value("error", ""), "audit_unavailable");
  EXPECT_EQ(daemon().del("/v1/apps/shop").status, 503);
  const auto token = daemon().get("/v1/grants/" + id + "/token");
  EXPECT_EQ(token.status, 200) << "token reads are counted in memory: served while the trail is down";
  remember_secret(token.json().value("access_token", ""));
  EXPECT_TRUE(eventually([&] { return daemon().log().find("audit_unavailable") != std::string::npos ||
                                      daemon().log().find("no record could be written") != std::string::npos; },
                         5s));

  sql("DROP TRIGGER e2e_no_audit ON mediax.audit");
  const auto g = grant(grant_id);
  EXPECT_EQ(g.value("status", ""), "active") << "the revocation did not happen: " << g.dump();
  EXPECT_EQ(daemon().get("/v1/apps/shop").status, 200) << "nor the deletion";
  EXPECT_EQ(published_token(daemon().db_url(), "shop", grant_id).has_value(), true);
}

}  // namespace
}  // namespace mediax::e2e
