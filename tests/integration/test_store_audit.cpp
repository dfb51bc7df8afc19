// The audit trail in PostgreSQL (migrations/0014_audit.sql, store/pg_store_audit.cpp): appended,
// listed newest first with filters and pages, purged by age; and append-only for the daemon's own
// role: no UPDATE but a missing result set once, no DELETE of young rows, no TRUNCATE.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pg_env.hpp"

namespace mediax::test {
namespace {

using std::chrono::hours;

AuditEntry entry(const std::string& who, const std::string& what, const std::string& app = "",
                 const std::string& result = "200") {
  AuditEntry e;
  e.who = who;
  e.what = what;
  e.app = app;
  e.result = result;
  e.peer = "192.0.2.7";
  return e;
}

class StoreAudit : public StoreTest {
 protected:
  // The SQLSTATE `sql` fails with as the store's own role ("" when it succeeds).
  std::string sqlstate(const std::string& sql) {
    pqxx::connection c(url_);
    try {
      pqxx::work tx(c);
      tx.exec(sql);
      tx.commit();
      return "";
    } catch (const pqxx::insufficient_privilege&) {
      return "42501";  // libpqxx 6.4 leaves sqlstate() empty here: the exception's type tells
    } catch (const pqxx::sql_error& e) {
      return e.sqlstate().empty() ? std::string("unknown sqlstate: ") + e.what() : e.sqlstate();
    }
  }
  std::int64_t rows() {
    pqxx::connection c(url_);
    pqxx::nontransaction tx(c);
    return tx.exec1("SELECT count(*) FROM mediax.audit")[0].as<std::int64_t>();
  }
};

TEST_F(StoreAudit, AWriteAheadRecordGetsItsResultOnce) {
  const auto id = store_->begin_audit(entry("ops", "deleteApp", "shop", ""));
  auto listed = store_->list_audit({});
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(listed[0].id, id);
  EXPECT_EQ(listed[0].result, "") << "not written yet";
  EXPECT_EQ(listed[0].who, "ops");
  EXPECT_EQ(listed[0].app, "shop");
  EXPECT_EQ(listed[0].peer, "192.0.2.7");
  EXPECT_EQ(listed[0].count, 1);
  ASSERT_TRUE(listed[0].at.has_value());
  EXPECT_LT(std::chrono::abs(*listed[0].at - SysClock::now()), std::chrono::minutes(1));

  store_->finish_audit(id, "200");
  EXPECT_EQ(store_->list_audit({})[0].result, "200");
  store_->finish_audit(id, "500");  // a second result is not written
  EXPECT_EQ(store_->list_audit({})[0].result, "200");
  // Not even by hand, as the daemon's role.
  EXPECT_EQ(sqlstate("UPDATE mediax.audit SET result = '500'"), "42501");
  EXPECT_EQ(sqlstate("UPDATE mediax.audit SET who = 'someone-else'"), "42501");
  const auto open = store_->begin_audit(entry("ops", "revokeGrant", "", ""));
  EXPECT_EQ(sqlstate("UPDATE mediax.audit SET result = '200', who = 'x' WHERE id = " + std::to_string(open)), "42501")
      << "setting the result may change nothing else";
}

TEST_F(StoreAudit, RowsAreAppendedInOneStatementWithTheirMinute) {
  auto a = entry("app", "getGrantToken", "", "200");
  a.grant = "17";
  a.count = 42;
  a.at = from_unix(1'900'000'020 / 60 * 60);
  auto b = entry("app", "getGrantToken", "", "404");
  b.grant = "18";
  b.count = 3;
  b.at = a.at;
  store_->append_audit({a, b});
  const auto listed = store_->list_audit({});
  ASSERT_EQ(listed.size(), 2U);
  EXPECT_EQ(listed[0].grant, "18") << "newest (highest id) first";
  EXPECT_EQ(listed[0].count, 3);
  EXPECT_EQ(listed[1].count, 42);
  EXPECT_EQ(listed[1].at, a.at);
  EXPECT_EQ(listed[1].result, "200");
  store_->append_audit({});  // nothing to write: no statement
  EXPECT_EQ(rows(), 2);
}

TEST_F(StoreAudit, ListsByWhoAppTimeAndPages) {
  for (int i = 0; i < 5; ++i) store_->append_audit({entry("ops", "getApp", "shop")});
  store_->append_audit({entry("ci", "listApps")});
  auto old = entry("ops", "getApp", "blog");
  old.at = SysClock::now() - hours(48);
  store_->append_audit({old});

  AuditQuery by_who;
  by_who.who = "ci";
  ASSERT_EQ(store_->list_audit(by_who).size(), 1U);
  AuditQuery by_app;
  by_app.app = "blog";
  ASSERT_EQ(store_->list_audit(by_app).size(), 1U);
  AuditQuery recent;
  recent.since = SysClock::now() - hours(1);
  EXPECT_EQ(store_->list_audit(recent).size(), 6U);
  AuditQuery earlier;
  earlier.until = SysClock::now() - hours(1);
  ASSERT_EQ(store_->list_audit(earlier).size(), 1U);
  EXPECT_EQ(store_->list_audit(earlier)[0].app, "blog");

  AuditQuery page;
  page.who = "ops";
  page.limit = 4;
  const auto first = store_->list_audit(page);
  ASSERT_EQ(first.size(), 4U);
  page.before_id = first.back().id;
  const auto second = store_->list_audit(page);
  ASSERT_EQ(second.size(), 2U);
  EXPECT_LT(second.front().id, first.back().id);
}

TEST_F(StoreAudit, OnlyRowsOlderThanAWeekAreDeletedAndNothingIsTruncated) {
  auto old = entry("ops", "deleteApp", "gone");
  old.at = SysClock::now() - hours(24 * 100);
  auto week_old = entry("ops", "getApp", "blog");
  week_old.at = SysClock::now() - hours(24 * 6);
  store_->append_audit({old, week_old, entry("ops", "listApps")});

  EXPECT_EQ(sqlstate("DELETE FROM mediax.audit"), "42501") << "young rows refuse, so the whole DELETE fails";
  EXPECT_EQ(sqlstate("TRUNCATE mediax.audit"), "42501");
  EXPECT_EQ(rows(), 3);
  EXPECT_EQ(store_->purge_audit(SysClock::now() - hours(24 * 90)), 1) << "the 100 days old row";
  EXPECT_EQ(rows(), 2);
  EXPECT_THROW(store_->purge_audit(SysClock::now()), StoreError) << "a purge may not reach into the last 7 days";
  EXPECT_EQ(rows(), 2);
}

}  // namespace
}  // namespace mediax::test
