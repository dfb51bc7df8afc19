// PgStore under a database outage and under more threads than connections.
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pg_env.hpp"

namespace mediax::test {
namespace {

// Own cluster: stopping the shared one would disturb nothing in a serial run, but a failed
// restart would then fail every later test.
TEST(StoreOutage, StoppedDatabaseGivesStoreErrorAndTheStoreRecoversAfterRestart) {
  PgCluster own;
  // Trust authentication ignores the password; it is here to prove it never leaks.
  const std::string url = own.create_migrated_database("outage") + " password=hunter2secret";
  auto store = make_pg_store(url, 2, test_sealer());
  store->create_app(sample_app("before"));

  // A restart while the pool holds an idle connection: the dead one is replaced transparently.
  own.stop();
  own.start();
  ASSERT_EQ(store->list_apps().size(), 1U);

  own.stop();
  try {
    store->list_apps();
    FAIL() << "list_apps() should have thrown";
  } catch (const StoreError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find("hunter2secret"), std::string::npos) << msg;
    EXPECT_NE(msg.find("list_apps"), std::string::npos) << msg;
  }
  EXPECT_THROW(store->create_app(sample_app("during")), StoreError);
  EXPECT_FALSE(store->ping());

  own.start();
  EXPECT_TRUE(store->ping());
  store->create_app(sample_app("after"));
  const auto apps = store->list_apps();
  ASSERT_EQ(apps.size(), 2U);
  EXPECT_EQ(apps[0].name, "before");
  EXPECT_EQ(apps[1].name, "after");
}

TEST(StoreOutage, UnreachableDatabaseIsAStoreErrorWithoutThePassword) {
  auto store = make_pg_store("postgresql://mediax:hunter2secret@/mediax?host=/nonexistent-mediax", 1, test_sealer());
  try {
    store->get_app("x");
    FAIL() << "get_app() should have thrown";
  } catch (const StoreError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find("hunter2secret"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cannot connect"), std::string::npos) << msg;
  }
  EXPECT_FALSE(store->ping());
}

TEST(StorePool, ManyThreadsShareFewConnections) {
  const std::string url = cluster().create_migrated_database(unique_db_name("pool"));
  auto store = make_pg_store(url, 2, test_sealer());
  constexpr int kThreads = 12;
  constexpr int kAppsEach = 10;
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAppsEach; ++i) {
        try {
          const std::string name = "app-" + std::to_string(t) + "-" + std::to_string(i);
          store->create_app(sample_app(name));
          if (!store->get_app(name)) ++errors;
        } catch (const std::exception&) {
          ++errors;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(store->list_apps().size(), static_cast<std::size_t>(kThreads * kAppsEach));

  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  const auto open = tx.exec(
                          "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                          " AND pid <> pg_backend_pid()")[0][0]
                        .as<int>();
  EXPECT_LE(open, 2);
  EXPECT_GE(open, 1);
}

}  // namespace
}  // namespace mediax::test
