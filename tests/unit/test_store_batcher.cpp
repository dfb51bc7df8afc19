// store/batcher.hpp: requests from many threads answered in batches, each caller getting its
// own result or error.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "store/batcher.hpp"

namespace mediax::pg {
namespace {

using IntBatcher = Batcher<int, int>;

TEST(Batcher, LoneRequestIsFlushedAtOnceWithItsOwnResult) {
  int flushes = 0;
  IntBatcher b([&](std::vector<IntBatcher::Item*>& batch) {
    ++flushes;
    for (auto* i : batch) i->result = i->request * 2;
  });
  EXPECT_EQ(b.run(21), 42);
  EXPECT_EQ(b.run(5), 10);
  EXPECT_EQ(flushes, 2);
}

TEST(Batcher, ConcurrentCallersShareBatchesAndEachGetsItsOwnAnswer) {
  constexpr int kThreads = 64;
  std::mutex mu;
  std::vector<std::size_t> sizes;
  IntBatcher b(
      [&](std::vector<IntBatcher::Item*>& batch) {
        {
          std::lock_guard lk(mu);
          sizes.push_back(batch.size());
        }
        // Slow enough that callers queue up behind the running batches.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        for (auto* i : batch) {
          if (i->request % 7 == 0) {
            i->error = std::make_exception_ptr(std::runtime_error("seven"));
          } else {
            i->result = i->request + 1000;
          }
        }
      },
      2, 16);
  std::latch start(kThreads);
  std::atomic<int> ok{0}, errors{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int n = 1; n <= kThreads; ++n) {
    threads.emplace_back([&, n] {
      start.arrive_and_wait();
      try {
        if (b.run(n) == n + 1000) {
          ++ok;
        } else {
          ++wrong;
        }
      } catch (const std::runtime_error& e) {
        if (n % 7 == 0 && std::string(e.what()) == "seven") {
          ++errors;
        } else {
          ++wrong;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(errors.load(), kThreads / 7);
  EXPECT_EQ(ok.load(), kThreads - kThreads / 7);
  std::size_t total = 0, largest = 0;
  for (auto s : sizes) {
    total += s;
    largest = std::max(largest, s);
    EXPECT_LE(s, 16u);
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kThreads));
  EXPECT_GT(largest, 1u) << "no two requests ever shared a batch";
}

TEST(Batcher, FlushThatThrowsFailsTheItemsItHadNotAnswered) {
  IntBatcher b([](std::vector<IntBatcher::Item*>& batch) {
    for (auto* i : batch) {
      if (i->request == 13) throw std::runtime_error("database went away");
      i->result = i->request;
    }
  });
  EXPECT_EQ(b.run(1), 1);
  try {
    b.run(13);
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "database went away");
  }
  EXPECT_EQ(b.run(2), 2);  // the next batch is not affected
}

TEST(Batcher, FlushThatForgetsAnItemGivesThatCallerAnErrorNotGarbage) {
  IntBatcher b([](std::vector<IntBatcher::Item*>&) {});
  EXPECT_THROW(b.run(3), std::logic_error);
}

}  // namespace
}  // namespace mediax::pg
