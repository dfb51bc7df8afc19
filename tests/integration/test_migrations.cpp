// Migrator against a real database: order, bookkeeping, idempotence, failure, concurrency.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pg_env.hpp"

namespace mediax::test {
namespace {

namespace fs = std::filesystem;

// A migrations folder of our own, removed after the test.
class TempMigrations {
 public:
  TempMigrations() {
    std::string templ = (fs::temp_directory_path() / "mediax-mig-XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = templ;
  }
  ~TempMigrations() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void add(const std::string& name, const std::string& sql) const { std::ofstream(dir_ + "/" + name) << sql; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

std::vector<std::string> query_column(const std::string& url, const std::string& sql) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  std::vector<std::string> out;
  for (const auto& r : tx.exec(sql)) out.push_back(r[0].is_null() ? "NULL" : r[0].as<std::string>());
  return out;
}

TEST(Migrations, PendingOnAnEmptyDatabaseListsEveryMigration) {
  const auto url = cluster().create_database(unique_db_name("mig"));
  Migrator m(url, migrations_dir());
  const auto available = m.available();
  ASSERT_FALSE(available.empty());
  EXPECT_EQ(available.front(), "0001_init.sql");
  EXPECT_EQ(m.pending(), available);
}

TEST(Migrations, ApplyRecordsEachMigrationAndReapplyIsANoOp) {
  const auto url = cluster().create_database(unique_db_name("mig"));
  Migrator m(url, migrations_dir());
  const auto applied = m.apply();
  EXPECT_EQ(applied, m.available());
  EXPECT_TRUE(m.pending().empty());
  EXPECT_EQ(query_column(url, "SELECT name FROM mediax.schema_migrations ORDER BY name"), applied);
  EXPECT_TRUE(m.apply().empty());
  EXPECT_EQ(query_column(url, "SELECT count(*) FROM mediax.schema_migrations"),
            std::vector<std::string>{std::to_string(applied.size())});
}

TEST(Migrations, InitCreatesTablesViewAndTrigger) {
  const auto url = cluster().create_migrated_database(unique_db_name("mig"));
  // Later migrations add tables: every one of these must be there, others may be too.
  const auto tables = query_column(url,
                                   "SELECT table_name FROM information_schema.tables WHERE table_schema = 'mediax'"
                                   " ORDER BY table_name");
  for (const char* t : {"access_tokens", "api_keys", "apps", "auth_requests", "call_counts", "events", "grants",
                        "schema_migrations", "tokens", "webhooks", "webhook_deliveries"}) {
    EXPECT_NE(std::find(tables.begin(), tables.end(), t), tables.end()) << "no table mediax." << t;
  }
  EXPECT_EQ(query_column(url,
                         "SELECT tgname FROM pg_trigger WHERE tgrelid = 'mediax.tokens'::regclass"
                         " AND NOT tgisinternal ORDER BY tgname"),
            (std::vector<std::string>{"tokens_notify_delete", "tokens_notify_insert", "tokens_notify_update"}));
}

TEST(Migrations, FilesRunInNumericOrderAndOtherFilesAreIgnored) {
  TempMigrations dir;
  dir.add("00011_third.sql", "INSERT INTO mediax.log (n) VALUES (11);");
  dir.add("0002_second.sql", "INSERT INTO mediax.log (n) VALUES (2);");
  dir.add("0001_first.sql",
          "CREATE TABLE mediax.log (id serial PRIMARY KEY, n int); INSERT INTO mediax.log (n) VALUES (1);");
  dir.add("README.md", "not a migration");
  dir.add("0003_backup.sql~", "SELECT 1/0;");
  const auto url = cluster().create_database(unique_db_name("mig"));
  Migrator m(url, dir.dir());
  EXPECT_EQ(m.available(), (std::vector<std::string>{"0001_first.sql", "0002_second.sql", "00011_third.sql"}));
  EXPECT_EQ(m.apply(), m.available());
  EXPECT_EQ(query_column(url, "SELECT n FROM mediax.log ORDER BY id"), (std::vector<std::string>{"1", "2", "11"}));
}

TEST(Migrations, AFailingMigrationIsRolledBackAndStaysPending) {
  TempMigrations dir;
  dir.add("0001_ok.sql", "CREATE TABLE mediax.one (x int);");
  dir.add("0002_bad.sql", "CREATE TABLE mediax.two (x int); SELECT 1/0;");
  dir.add("0003_later.sql", "CREATE TABLE mediax.three (x int);");
  const auto url = cluster().create_database(unique_db_name("mig"));
  Migrator m(url, dir.dir());
  try {
    m.apply();
    FAIL() << "apply() should have thrown";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("0002_bad.sql"), std::string::npos) << e.what();
  }
  EXPECT_EQ(query_column(url, "SELECT name FROM mediax.schema_migrations"), std::vector<std::string>{"0001_ok.sql"});
  EXPECT_EQ(query_column(url, "SELECT to_regclass('mediax.two')::text"), std::vector<std::string>{"NULL"});
  EXPECT_EQ(m.pending(), (std::vector<std::string>{"0002_bad.sql", "0003_later.sql"}));
}

TEST(Migrations, DuplicateNumbersAreRejected) {
  TempMigrations dir;
  dir.add("0001_a.sql", "SELECT 1;");
  dir.add("0001_b.sql", "SELECT 1;");
  EXPECT_THROW(Migrator("host=/nonexistent", dir.dir()).available(), StoreError);
}

TEST(Migrations, ConcurrentApplyIsSerialised) {
  TempMigrations dir;
  // The first migration waits for a lock the test holds: the apply() that runs it stays inside
  // its transaction until the test has seen the other one wait for the migration lock.
  constexpr int kGate = 4242;
  dir.add("0001_slow.sql",
          "CREATE TABLE mediax.slow (x int); SELECT pg_advisory_xact_lock(" + std::to_string(kGate) + ");");
  dir.add("0002_next.sql", "CREATE TABLE mediax.next (x int);");
  const auto url = cluster().create_database(unique_db_name("mig"));
  pqxx::connection gate(url);
  pqxx::nontransaction(gate).exec_params("SELECT pg_advisory_lock($1)", kGate);
  auto run = [&] { return Migrator(url, dir.dir()).apply(); };
  auto a = std::async(std::launch::async, run);
  auto b = std::async(std::launch::async, run);
  // Both wait: one at the gate inside 0001, the other for the migration lock.
  for (;;) {
    pqxx::nontransaction w(gate);
    const auto waiting = w.exec(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");
    if (waiting[0][0].as<int>() == 2) break;
    std::this_thread::yield();
  }
  pqxx::nontransaction(gate).exec_params("SELECT pg_advisory_unlock($1)", kGate);
  auto ra = a.get();
  auto rb = b.get();
  const std::vector<std::string> all{"0001_slow.sql", "0002_next.sql"};
  EXPECT_TRUE((ra == all && rb.empty()) || (rb == all && ra.empty())) << ra.size() << " / " << rb.size();
  EXPECT_EQ(query_column(url, "SELECT count(*) FROM mediax.schema_migrations"), std::vector<std::string>{"2"});
}

TEST(Migrations, UnreachableDatabaseGivesStoreErrorWithoutThePassword) {
  for (const std::string url : {"host=/nonexistent-mediax dbname=x user=u password=hunter2secret",
                                "postgresql://u:hunter2secret@/x?host=/nonexistent-mediax"}) {
    Migrator m(url, migrations_dir());
    try {
      m.apply();
      FAIL() << "apply() should have thrown";
    } catch (const StoreError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.find("hunter2secret"), std::string::npos) << msg;
      EXPECT_NE(msg.find("cannot connect"), std::string::npos) << msg;
      EXPECT_NE(msg.find("/nonexistent-mediax"), std::string::npos) << msg;
    }
    EXPECT_THROW(m.pending(), StoreError);
  }
}

}  // namespace
}  // namespace mediax::test
