// GroupCommit (store/group_commit.hpp): units from many threads share transactions; each unit's
// failure stays its own, and run() returns only after its writes are committed.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pg_env.hpp"
#include "store/group_commit.hpp"
#include "store/pg_pool.hpp"

namespace mediax::test {
namespace {

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = cluster().create_database(unique_db_name("group_commit"));
    pqxx::connection c(url_);
    pqxx::work tx(c);
    tx.exec0("CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL)");
    tx.commit();
  }
  long count(const std::string& where = "true") {
    pqxx::connection c(url_);
    pqxx::work tx(c);
    return tx.exec1("SELECT count(*) FROM t WHERE " + where)[0].as<long>();
  }
  std::string url_;
};

TEST_F(GroupCommitTest, EveryUnitOfManyThreadsIsCommittedWhenRunReturns) {
  pg::Pool pool(url_, 4);
  pg::GroupCommit group(pool);
  constexpr int kThreads = 16;
  constexpr int kPerThread = 25;
  std::atomic<int> missing{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int id = t * kPerThread + i;
        group.run("insert", [id](pqxx::work& tx) { tx.exec_params0("INSERT INTO t VALUES ($1, 'x')", id); });
        // Committed: another connection sees it at once.
        pqxx::connection c(url_);
        pqxx::work check(c);
        if (check.exec_params1("SELECT count(*) FROM t WHERE id = $1", id)[0].as<int>() != 1) ++missing;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(missing.load(), 0);
  EXPECT_EQ(count(), kThreads * kPerThread);
}

TEST_F(GroupCommitTest, AFailingUnitRollsBackAloneAndItsCallerGetsTheTranslatedError) {
  pg::Pool pool(url_, 2);
  pg::GroupCommit group(pool, 1);
  {
    pqxx::connection c(url_);
    pqxx::work tx(c);
    tx.exec0("INSERT INTO t VALUES (0, 'taken')");
    tx.commit();
  }
  std::atomic<int> duplicate_errors{0};  // what a unique violation becomes, as in a transaction of its own
  std::atomic<int> other_errors{0};
  std::vector<std::thread> threads;
  for (int t = 1; t <= 40; ++t) {
    threads.emplace_back([&, t] {
      try {
        group.run("insert", [t](pqxx::work& tx) {
          tx.exec_params0("INSERT INTO t VALUES ($1, 'half')", 1000 + t);
          // Every 5th unit collides with row 0 after a first write: both writes must vanish.
          tx.exec_params0("INSERT INTO t VALUES ($1, 'x')", t % 5 == 0 ? 0 : t);
        });
      } catch (const DuplicateError&) {
        ++duplicate_errors;
      } catch (...) {
        ++other_errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(duplicate_errors.load(), 8);
  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_EQ(count("v = 'x'"), 32);
  EXPECT_EQ(count("v = 'half'"), 32);
  EXPECT_EQ(count("id = 0 AND v = 'taken'"), 1);
}

TEST_F(GroupCommitTest, AnExceptionThrownByTheUnitItselfReachesItsCaller) {
  pg::Pool pool(url_, 1);
  pg::GroupCommit group(pool);
  EXPECT_THROW(group.run("unit",
                         [](pqxx::work& tx) {
                           tx.exec0("INSERT INTO t VALUES (7, 'x')");
                           throw StoreError("lease lost");
                         }),
               StoreError);
  EXPECT_EQ(count(), 0);
  group.run("unit", [](pqxx::work& tx) { tx.exec0("INSERT INTO t VALUES (8, 'x')"); });
  EXPECT_EQ(count(), 1);
}

}  // namespace
}  // namespace mediax::test
