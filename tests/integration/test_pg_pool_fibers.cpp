// pg::Pool::run on a fiber (store/pg_pool.hpp): the unit of work runs on a thread of the pool's own
// while the fiber parks, so a round trip never holds the carrier and the other fibers on it.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "fiber/carriers.hpp"
#include "fiber/condition.hpp"
#include "fiber/fiber.hpp"
#include "pg_env.hpp"
#include "store/pg_pool.hpp"
#include "util/time_source.hpp"

namespace mediax::test {
namespace {

using namespace std::chrono_literals;

// Threads of this process.
long thread_count() {
  long n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// Runs fn on a fiber of carrier and waits (on this thread) until it has returned.
void on_fiber(fiber::Carrier& carrier, const std::function<void()>& fn) {
  std::promise<void> done;
  fiber::spawn(carrier, [&] {
    fn();
    done.set_value();
  });
  ASSERT_EQ(done.get_future().wait_for(20s), std::future_status::ready) << "the fiber never ended";
}

// What a call throws, as "type: message".
template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const DuplicateError& e) {
    return std::string("DuplicateError: ") + e.what();
  } catch (const DatabaseUnreachableError& e) {
    return std::string("DatabaseUnreachableError: ") + e.what();
  } catch (const StoreError& e) {
    return std::string("StoreError: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("other: ") + e.what();
  }
  return "nothing thrown";
}

class PoolOnFibers : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = cluster().create_database(unique_db_name("pool_fibers"));
    pqxx::connection c(url_);
    pqxx::work tx(c);
    tx.exec0("CREATE TABLE t (id int PRIMARY KEY)");
    tx.exec0("INSERT INTO t VALUES (1)");
    tx.commit();
  }
  std::string url_;
};

TEST_F(PoolOnFibers, AQueryOnAFiberLeavesItsCarrierToItsOtherFibers) {
  fiber::AsioCarrier carrier;
  pg::Pool pool(url_, 2);
  const auto& time = real_time();
  std::atomic<bool> in_query{false}, query_over{false}, fn_on_fiber{true};
  std::atomic<int> ticks{0};
  std::atomic<bool> b_done_during_query{false};
  std::promise<void> a_done, b_done;
  fiber::spawn(carrier, [&] {
    pool.run("sleep", [&](pqxx::connection& c) {
      fn_on_fiber = fiber::on_fiber();
      pqxx::nontransaction tx(c);
      in_query = true;
      tx.exec("SELECT pg_sleep(0.5)");
      query_over = true;
    });
    a_done.set_value();
  });
  fiber::spawn(carrier, [&] {
    // Without the pool's threads this fiber runs only once A's whole query is over.
    while (!in_query) fiber::sleep_for(time, 5ms);
    for (int i = 0; i < 5; ++i) {
      fiber::sleep_for(time, 10ms);
      ++ticks;
    }
    b_done_during_query = !query_over;
    b_done.set_value();
  });
  ASSERT_EQ(b_done.get_future().wait_for(20s), std::future_status::ready);
  ASSERT_EQ(a_done.get_future().wait_for(20s), std::future_status::ready);
  EXPECT_EQ(ticks.load(), 5);
  EXPECT_TRUE(b_done_during_query.load()) << "the other fiber waited for the query: it held the carrier";
  EXPECT_FALSE(fn_on_fiber.load()) << "fn ran on the carrier";
  EXPECT_TRUE(query_over.load());
}

TEST_F(PoolOnFibers, AResultAndEveryTranslatedErrorReachTheFiberAsOnAThread) {
  fiber::AsioCarrier carrier;
  pg::Pool pool(url_, 1);
  const auto select = [](pqxx::connection& c) {
    pqxx::work tx(c);
    return tx.exec1("SELECT 41 + 1")[0].as<int>();
  };
  const auto missing_table = [](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec0("SELECT * FROM no_such_table");
  };
  const auto duplicate = [](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec0("INSERT INTO t VALUES (1)");
  };
  const auto thrown_by_fn = [](pqxx::connection&) -> int { throw StoreError("lease lost"); };
  const auto errors = [&] {
    return std::vector<std::string>{
        error_of([&] { pool.run("missing table", missing_table); }),
        error_of([&] { pool.run("duplicate", duplicate); }),
        error_of([&] { pool.run("thrown by fn", thrown_by_fn); }),
    };
  };
  const auto on_thread = errors();
  EXPECT_NE(on_thread[0].find("StoreError: missing table"), std::string::npos) << on_thread[0];
  EXPECT_NE(on_thread[1].find("DuplicateError: duplicate"), std::string::npos) << on_thread[1];
  EXPECT_EQ(on_thread[2], "StoreError: lease lost");

  std::vector<std::string> on_a_fiber;
  int result = 0;
  on_fiber(carrier, [&] {
    on_a_fiber = errors();
    result = pool.run("select", select);
  });
  EXPECT_EQ(on_a_fiber, on_thread);
  EXPECT_EQ(result, 42);
}

TEST_F(PoolOnFibers, ThreadsStartOnlyForFibersAndStopPromptly) {
  fiber::AsioCarrier carrier;
  const long before = thread_count();
  auto pool = std::make_unique<pg::Pool>(url_, 4);
  // A plain thread's call runs on that thread: the pool starts none.
  pool->run("plain", [](pqxx::connection& c) { pqxx::nontransaction(c).exec("SELECT 1"); });
  EXPECT_EQ(thread_count(), before);
  // One fiber's call at a time needs one thread, however many calls.
  on_fiber(carrier, [&] {
    for (int i = 0; i < 5; ++i)
      pool->run("fiber", [](pqxx::connection& c) { pqxx::nontransaction(c).exec("SELECT 1"); });
  });
  EXPECT_EQ(thread_count(), before + 1);
  const auto t0 = std::chrono::steady_clock::now();
  pool.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms) << "an idle pool's thread was slow to stop";
  EXPECT_EQ(thread_count(), before);
}

TEST_F(PoolOnFibers, AFiberWaitingWhenThePoolIsDestroyedGetsAStoreError) {
  fiber::AsioCarrier carrier;
  auto pool = std::make_unique<pg::Pool>(url_, 1);  // one thread: B's call waits behind A's
  std::atomic<bool> in_query{false};
  std::string b_error;
  std::promise<void> a_done, b_done, b_queued;
  fiber::spawn(carrier, [&] {
    pool->run("sleep", [&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      in_query = true;
      tx.exec("SELECT pg_sleep(0.3)");
    });
    a_done.set_value();
  });
  while (!in_query) std::this_thread::sleep_for(2ms);
  fiber::spawn(carrier, [&] {
    b_error = error_of([&] { pool->run("queued", [](pqxx::connection&) {}); });
    b_done.set_value();
  });
  // Runs after B has parked in its call (the carrier runs one handler at a time).
  carrier.post([&] { b_queued.set_value(); });
  b_queued.get_future().wait();
  pool.reset();  // waits for A's query, fails B's queued call
  ASSERT_EQ(a_done.get_future().wait_for(20s), std::future_status::ready);
  ASSERT_EQ(b_done.get_future().wait_for(20s), std::future_status::ready) << "the waiting fiber hung";
  EXPECT_EQ(b_error, "StoreError: queued: database pool closed");
}

}  // namespace
}  // namespace mediax::test
