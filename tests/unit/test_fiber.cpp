// fiber/: fibers pinned to carriers, and the waits that park a fiber or block a thread.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "fiber/carriers.hpp"
#include "fiber/condition.hpp"
#include "fiber/fiber.hpp"
#include "store/batcher.hpp"
#include "util/time_source.hpp"

namespace mediax::fiber {
namespace {

using namespace std::chrono_literals;

// Runs n fibers of fn on carrier and waits (on this thread) until all have returned.
template <class Fn>
void run_fibers(Carrier& carrier, int n, Fn fn) {
  std::mutex mu;
  std::condition_variable cv;
  int left = n;
  for (int i = 0; i < n; ++i) {
    spawn(carrier, [&, i] {
      fn(i);
      std::lock_guard lk(mu);
      if (--left == 0) cv.notify_all();
    });
  }
  std::unique_lock lk(mu);
  ASSERT_TRUE(cv.wait_for(lk, 20s, [&] { return left == 0; })) << left << " fibers never ended";
}

TEST(Fiber, ManyFibersSleepingOnOneCarrierTakeTheLongestSleepNotTheSum) {
  AsioCarrier carrier;
  const auto& time = real_time();
  std::atomic<int> on_carrier_thread{0};
  std::thread::id carrier_thread;
  std::promise<std::thread::id> id;
  carrier.post([&] { id.set_value(std::this_thread::get_id()); });
  carrier_thread = id.get_future().get();
  const auto started = std::chrono::steady_clock::now();
  run_fibers(carrier, 200, [&](int) {
    EXPECT_TRUE(on_fiber());
    EXPECT_EQ(current_carrier(), &carrier);
    fiber::sleep_for(time, 100ms);  // parks: the carrier runs the other fibers meanwhile
    if (std::this_thread::get_id() == carrier_thread) ++on_carrier_thread;
  });
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(on_carrier_thread.load(), 200);
  EXPECT_LT(took, 2s) << "200 sleeps of 100 ms ran one after another (20 s) instead of together";
  EXPECT_FALSE(on_fiber());
}

TEST(Fiber, AConditionWakesAParkedFiberFromAnotherThreadAndTimesOutOnItsOwn) {
  AsioCarrier carrier;
  std::mutex mu;
  Condition cond;
  bool ready = false;
  std::atomic<bool> woke{false}, timed_out{false};
  std::promise<void> waiting;
  run_fibers(carrier, 2, [&](int i) {
    std::unique_lock lk(mu);
    if (i == 0) {
      waiting.set_value();
      while (!ready) cond.wait(lk);
      woke = true;
    } else {
      const auto t0 = std::chrono::steady_clock::now();
      cond.wait_for(lk, 50ms);  // nobody notifies it: its own time limit wakes it
      timed_out = std::chrono::steady_clock::now() - t0 >= 45ms;
    }
    if (i == 0) return;
    lk.unlock();
    // The first fiber is parked on the condition: this thread is not its carrier.
    std::thread([&] {
      waiting.get_future().wait();
      {
        std::lock_guard g(mu);
        ready = true;
      }
      cond.notify_one();
    }).join();
  });
  EXPECT_TRUE(woke.load());
  EXPECT_TRUE(timed_out.load());
}

TEST(Fiber, AMutexHeldAcrossAParkDoesNotBlockTheCarrierForTheOthers) {
  AsioCarrier carrier;
  Mutex mu;
  std::atomic<int> ran_while_held{0};
  std::atomic<bool> held{false};
  run_fibers(carrier, 3, [&](int i) {
    if (i == 0) {
      std::lock_guard lk(mu);
      held = true;
      fiber::sleep_for(real_time(), 100ms);  // parks holding it
      held = false;
    } else if (i == 1) {
      std::lock_guard lk(mu);  // parks until fiber 0 lets go (a std::mutex would block the carrier: deadlock)
      EXPECT_FALSE(held.load());
    } else {
      if (held) ++ran_while_held;  // the carrier is free while fiber 1 waits for the mutex
    }
  });
  EXPECT_EQ(ran_while_held.load(), 1);
}

TEST(Fiber, ASharedResultIsJoinedByFibersAndThreads) {
  AsioCarrier carrier;
  SharedResult<int> result;
  std::atomic<int> got{0};
  std::thread waiter([&] { got += result.get(); });
  std::thread setter([&] {
    std::this_thread::sleep_for(50ms);
    result.set(7);
  });
  run_fibers(carrier, 10, [&](int) { got += result.get(); });
  waiter.join();
  setter.join();
  EXPECT_EQ(got.load(), 77);
}

TEST(Fiber, BatcherCallersOnFibersAreFlushedInBatchesOffTheCarrier) {
  AsioCarrier carrier;
  std::thread::id carrier_thread;
  std::promise<std::thread::id> id;
  carrier.post([&] { id.set_value(std::this_thread::get_id()); });
  carrier_thread = id.get_future().get();
  std::atomic<int> flushed_on_carrier{0};
  std::mutex sizes_mu;
  std::vector<std::size_t> sizes;
  using IntBatcher = pg::Batcher<int, int>;
  IntBatcher b(
      [&](std::vector<IntBatcher::Item*>& batch) {
        if (std::this_thread::get_id() == carrier_thread) ++flushed_on_carrier;
        std::this_thread::sleep_for(5ms);  // a statement's round trip: the others queue meanwhile
        for (auto* i : batch) i->result = i->request * 3;
        std::lock_guard lk(sizes_mu);
        sizes.push_back(batch.size());
      },
      1, 64);
  std::atomic<int> wrong{0};
  run_fibers(carrier, 200, [&](int i) {
    if (b.run(i) != i * 3) ++wrong;
  });
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(flushed_on_carrier.load(), 0) << "a fiber ran the statement on its carrier";
  std::size_t total = 0, largest = 0;
  for (auto s : sizes) {
    total += s;
    largest = std::max(largest, s);
  }
  EXPECT_EQ(total, 200u);
  EXPECT_GT(largest, 1u) << "fibers waiting together were flushed one by one";
  EXPECT_EQ(b.counts().requests, 200u);
}

TEST(Fiber, CarriersTakeNewFibersInTurn) {
  Carriers carriers(3);
  std::mutex mu;
  std::vector<Carrier*> seen;
  for (int i = 0; i < 6; ++i) {
    auto& c = carriers.next();
    run_fibers(c, 1, [&](int) {
      std::lock_guard lk(mu);
      seen.push_back(current_carrier());
      EXPECT_NE(current_io(), nullptr);
    });
  }
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_NE(seen[0], seen[1]);
  EXPECT_NE(seen[1], seen[2]);
  EXPECT_EQ(seen[0], seen[3]);
  EXPECT_EQ(current_io(), nullptr);
}

}  // namespace
}  // namespace mediax::fiber
