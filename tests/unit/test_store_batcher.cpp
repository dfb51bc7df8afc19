// store/batcher.hpp: requests from many threads answered in batches, each caller getting its
// own result or error.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
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
  EXPECT_EQ(b.counts().batches, 2u);
  EXPECT_EQ(b.counts().requests, 2u);
}

TEST(Batcher, ConcurrentCallersShareBatchesAndEachGetsItsOwnAnswer) {
  constexpr int kThreads = 64;
  std::mutex mu;
  std::condition_variable opened;
  bool open = false;  // the first flush waits until every other caller has queued behind it
  std::vector<std::size_t> sizes;
  IntBatcher b(
      [&](std::vector<IntBatcher::Item*>& batch) {
        {
          std::unique_lock lk(mu);
          sizes.push_back(batch.size());
          opened.wait(lk, [&] { return open; });
        }
        for (auto* i : batch) {
          if (i->request % 7 == 0) {
            i->error = std::make_exception_ptr(std::runtime_error("seven"));
          } else {
            i->result = i->request + 1000;
          }
        }
      },
      1, 16);
  std::atomic<int> ok{0}, errors{0}, wrong{0};
  auto call = [&](int n) {
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
  };
  std::vector<std::thread> threads;
  threads.emplace_back(call, 1);
  for (;;) {  // until the first caller is flushing its lone request
    {
      std::lock_guard lk(mu);
      if (!sizes.empty()) break;
    }
    std::this_thread::yield();
  }
  for (int n = 2; n <= kThreads; ++n) threads.emplace_back(call, n);
  while (b.queued() < static_cast<std::size_t>(kThreads - 1)) std::this_thread::yield();
  {
    std::lock_guard lk(mu);
    open = true;
  }
  opened.notify_all();
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(errors.load(), kThreads / 7);
  EXPECT_EQ(ok.load(), kThreads - kThreads / 7);
  EXPECT_EQ(sizes.front(), 1u);
  std::size_t total = 0;
  for (auto s : sizes) {
    total += s;
    EXPECT_LE(s, 16u);
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kThreads));
  // 63 queued behind one flusher: taken 16 at a time.
  EXPECT_EQ(sizes, (std::vector<std::size_t>{1, 16, 16, 16, 15}));
  // What mediax_store_batches_total / _batched_requests_total report: 64 requests in 5 batches.
  EXPECT_EQ(b.counts().batches, 5u);
  EXPECT_EQ(b.counts().requests, static_cast<std::uint64_t>(kThreads));
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
