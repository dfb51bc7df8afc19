// The mediax_reader role (migrations/0004_reader_role.sql) as another app would use it: a login
// role that was granted mediax_reader reads mediax.access_tokens and can do nothing else.
#include <unistd.h>

#include <algorithm>
#include <atomic>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pg_env.hpp"

namespace mediax::test {
namespace {

using std::chrono::hours;

constexpr const char* kInsufficientPrivilege = "42501";

// Relations of schema mediax other than the view, as the owner sees them (tables of every
// migration, later ones included, their sequences and any other view).
std::vector<std::string> other_relations(pqxx::connection& owner) {
  pqxx::nontransaction tx(owner);
  std::vector<std::string> out;
  for (const auto& r : tx.exec("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                               " WHERE n.nspname = 'mediax' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
                               "   AND c.relname <> 'access_tokens' ORDER BY c.relname")) {
    out.push_back(r[0].as<std::string>());
  }
  return out;
}

bool is_table(pqxx::connection& owner, const std::string& relation) {
  pqxx::nontransaction tx(owner);
  return tx
      .exec1("SELECT relkind IN ('r', 'p') FROM pg_class WHERE oid = " + tx.quote("mediax." + relation) +
             "::regclass")[0]
      .as<bool>();
}

class ReaderRole : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    // A grant with a live token, so the view has a row and every table holds something.
    app_ = store_->create_app(sample_app("shop"));
    Grant g = sample_grant(app_.id, "acct-1", "refresh-secret-of-acct-1");
    store_->upsert_grant(g, sample_token("access-token-of-acct-1", SysClock::now() + hours(1)));

    // Roles are cluster-wide: one login role per test.
    static std::atomic<int> n{0};
    login_ = "reader_app_" + std::to_string(++n) + "_" + std::to_string(::getpid());
    owner_ = std::make_unique<pqxx::connection>(url_);
    pqxx::nontransaction tx(*owner_);
    tx.exec("CREATE ROLE " + tx.quote_name(login_) + " LOGIN");
    tx.exec("GRANT mediax_reader TO " + tx.quote_name(login_));
    // The test cluster trusts local connections: the later user= wins over the fixture's.
    reader_ = std::make_unique<pqxx::connection>(url_ + " user=" + login_);
  }

  void TearDown() override {
    reader_.reset();
    if (owner_) {
      pqxx::nontransaction tx(*owner_);
      tx.exec("DROP OWNED BY " + tx.quote_name(login_));
      tx.exec("DROP ROLE " + tx.quote_name(login_));
    }
  }

  // Runs sql as the reader and returns the SQLSTATE it failed with ("" when it succeeded).
  std::string reader_sqlstate(const std::string& sql) {
    try {
      pqxx::work tx(*reader_);
      tx.exec(sql);
      tx.commit();
      return "";
    } catch (const pqxx::insufficient_privilege&) {
      // libpqxx 6.4 leaves sqlstate() empty on some failures: the exception's type tells.
      return kInsufficientPrivilege;
    } catch (const pqxx::sql_error& e) {
      return e.sqlstate().empty() ? std::string("unknown sqlstate: ") + e.what() : e.sqlstate();
    }
  }

  bool reader_has(const std::string& check) {
    pqxx::nontransaction tx(*owner_);
    return tx.exec1("SELECT " + check)[0].as<bool>();
  }

  App app_;
  std::string login_;
  std::unique_ptr<pqxx::connection> owner_;
  std::unique_ptr<pqxx::connection> reader_;
};

TEST_F(ReaderRole, ReadsTheAccessTokensView) {
  pqxx::work tx(*reader_);
  const auto rows = tx.exec("SELECT app_name, account_id, access_token, token_type FROM mediax.access_tokens");
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0][0].as<std::string>(), "shop");
  EXPECT_EQ(rows[0][1].as<std::string>(), "acct-1");
  EXPECT_EQ(rows[0][2].as<std::string>(), "access-token-of-acct-1");
  EXPECT_EQ(rows[0][3].as<std::string>(), "Bearer");
}

TEST_F(ReaderRole, ReadsHowToSendEachTokenInTheViewsLastColumn) {
  App douyin = sample_app("dy", true);
  douyin.platform = "douyin";
  douyin.token_usage = TokenUsage::access_token_header;
  douyin = store_->create_app(douyin);
  {
    // The app's own token as the refresher stores it: Douyin names no token_type.
    pqxx::nontransaction owner(*owner_);
    owner.exec_params(
        "INSERT INTO mediax.tokens (app_id, access_token, token_type, expires_at)"
        " VALUES ($1, 'access-token-of-dy', '', now() + interval '1 hour')",
        douyin.id);
  }

  pqxx::work tx(*reader_);
  // Added last (migrations/0009): readers selecting by position see what they saw before.
  const auto all = tx.exec("SELECT * FROM mediax.access_tokens ORDER BY app_name");
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(std::string(all.column_name(all.columns() - 1)), "token_usage");
  EXPECT_EQ(std::string(all.column_name(0)), "app_name");
  const auto rows = tx.exec("SELECT app_name, token_type, token_usage FROM mediax.access_tokens ORDER BY app_name");
  EXPECT_EQ(rows[0][0].as<std::string>(), "dy");
  EXPECT_EQ(rows[0][1].as<std::string>(), "");
  EXPECT_EQ(rows[0][2].as<std::string>(), "header:access-token");
  EXPECT_EQ(rows[1][0].as<std::string>(), "shop");
  EXPECT_EQ(rows[1][1].as<std::string>(), "Bearer");
  EXPECT_EQ(rows[1][2].as<std::string>(), "header:Authorization:Bearer");
}

// migrations/0015: the view is a security barrier. A reader's own cheap function in a WHERE
// clause is not run on rows the view leaves out (here an expired token): without the barrier the
// planner evaluates it first, and the function may RAISE what it sees.
TEST_F(ReaderRole, TheViewIsASecurityBarrierThatAReadersFunctionCannotSeeThrough) {
  {
    pqxx::nontransaction tx(*owner_);
    const auto options = tx.exec1(
        "SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_class WHERE oid = 'mediax.access_tokens'::regclass")[0]
                             .as<std::string>();
    EXPECT_NE(options.find("security_barrier=true"), std::string::npos) << options;
  }
  Grant hidden = sample_grant(app_.id, "acct-expired", "refresh-of-expired");
  store_->upsert_grant(hidden, sample_token("expired-access-token", SysClock::now() - hours(1)));

  pqxx::work tx(*reader_);
  tx.exec(
      "CREATE FUNCTION pg_temp.peek(t text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$"
      " BEGIN IF t = 'expired-access-token' THEN RAISE EXCEPTION 'saw a row the view hides'; END IF;"
      " RETURN true; END $$");
  const auto rows = tx.exec("SELECT access_token FROM mediax.access_tokens WHERE pg_temp.peek(access_token)");
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0][0].as<std::string>(), "access-token-of-acct-1");
}

TEST_F(ReaderRole, MayListenForTokenChanges) { EXPECT_EQ(reader_sqlstate("LISTEN mediax_tokens"), ""); }

TEST_F(ReaderRole, CannotSelectAnyTableOrSequence) {
  const auto relations = other_relations(*owner_);
  for (const char* secret :
       {"apps", "grants", "tokens", "auth_requests", "api_keys", "events", "call_counts", "schema_migrations"}) {
    EXPECT_NE(std::find(relations.begin(), relations.end(), secret), relations.end()) << secret;
  }
  for (const auto& rel : relations) {
    EXPECT_EQ(reader_sqlstate("SELECT * FROM mediax." + rel + " LIMIT 1"), kInsufficientPrivilege) << rel;
    EXPECT_FALSE(reader_has("has_table_privilege(" + owner_->quote(login_) + ", " + owner_->quote("mediax." + rel) +
                            ", 'SELECT')"))
        << rel;
  }
}

TEST_F(ReaderRole, CannotWriteAnything) {
  auto relations = other_relations(*owner_);
  relations.push_back("access_tokens");
  for (const auto& rel : relations) {
    const std::string q = "mediax." + rel;
    for (const char* priv : {"INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}) {
      EXPECT_FALSE(
          reader_has("has_table_privilege(" + owner_->quote(login_) + ", " + owner_->quote(q) + ", '" + priv + "')"))
          << priv << " " << rel;
    }
    if (!is_table(*owner_, rel)) continue;  // sequences and views: the privilege checks above
    EXPECT_EQ(reader_sqlstate("INSERT INTO " + q + " DEFAULT VALUES"), kInsufficientPrivilege) << rel;
    EXPECT_EQ(reader_sqlstate("DELETE FROM " + q), kInsufficientPrivilege) << rel;
    EXPECT_EQ(reader_sqlstate("TRUNCATE " + q + " CASCADE"), kInsufficientPrivilege) << rel;
    pqxx::nontransaction tx(*owner_);
    const auto column = tx.exec1("SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = " + tx.quote(q) +
                                 "::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum LIMIT 1")[0]
                            .as<std::string>();
    EXPECT_EQ(reader_sqlstate("UPDATE " + q + " SET " + column + " = " + column), kInsufficientPrivilege) << rel;
  }
  // The view refuses writes too (a join view is not updatable, and the reader has no right to try).
  EXPECT_NE(reader_sqlstate("DELETE FROM mediax.access_tokens"), "");
  EXPECT_NE(reader_sqlstate("UPDATE mediax.access_tokens SET access_token = 'x'"), "");

  pqxx::nontransaction tx(*owner_);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM mediax.tokens")[0].as<int>(), 1);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM mediax.apps")[0].as<int>(), 1);
}

TEST_F(ReaderRole, CannotCreateObjectsInTheSchema) {
  EXPECT_EQ(reader_sqlstate("CREATE TABLE mediax.stash (x text)"), kInsufficientPrivilege);
  EXPECT_EQ(reader_sqlstate("CREATE VIEW mediax.peek AS SELECT 1 AS one"), kInsufficientPrivilege);
  EXPECT_EQ(reader_sqlstate("CREATE FUNCTION mediax.f() RETURNS int LANGUAGE sql AS 'SELECT 1'"),
            kInsufficientPrivilege);
  EXPECT_FALSE(reader_has("has_schema_privilege(" + owner_->quote(login_) + ", 'mediax', 'CREATE')"));
}

TEST_F(ReaderRole, CannotExecuteFunctionsOfTheSchemaNowOrLater) {
  // A function a later migration might add: SECURITY DEFINER, so it would read secrets for anyone
  // allowed to call it. The migrating role's default privileges keep PUBLIC from calling it.
  {
    pqxx::nontransaction tx(*owner_);
    tx.exec(
        "CREATE FUNCTION mediax.leak_refresh_token() RETURNS text LANGUAGE sql SECURITY DEFINER"
        " AS 'SELECT refresh_token FROM mediax.grants LIMIT 1'");
  }
  EXPECT_EQ(reader_sqlstate("SELECT mediax.leak_refresh_token()"), kInsufficientPrivilege);

  pqxx::nontransaction tx(*owner_);
  const auto functions = tx.exec(
      "SELECT p.oid::regprocedure::text,"
      "       has_function_privilege(" +
      tx.quote(login_) +
      ", p.oid, 'EXECUTE')"
      "  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
      " WHERE n.nspname = 'mediax'");
  EXPECT_GE(functions.size(), 2U);  // notify_token_rows and the one above at least
  for (const auto& f : functions) EXPECT_FALSE(f[1].as<bool>()) << f[0].as<std::string>();
}

TEST_F(ReaderRole, TheGrantedRoleItselfCannotLogIn) {
  pqxx::nontransaction tx(*owner_);
  EXPECT_FALSE(tx.exec1("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'mediax_reader'")[0].as<bool>());
  EXPECT_THROW(pqxx::connection(url_ + " user=mediax_reader"), pqxx::broken_connection);
}

}  // namespace
}  // namespace mediax::test
