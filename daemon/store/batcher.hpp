// Batcher: requests of the same kind from many threads answered by one statement. A catch-up
// after an outage takes thousands of refresh leases and stores thousands of results a second;
// a transaction (and parsed statements) per refresh makes the database's CPU and the disk's
// flush rate the limit (bench/RESULTS.md, catch-up). GroupCommit shares the COMMIT only; this
// shares the statements too: the flush function gets the whole batch and runs multi-row SQL.
//
// run() queues its request; a caller that finds fewer than max_flushers batches in progress
// takes everything queued (up to max_batch) and calls flush(batch) on its own thread. flush
// sets each item's result or error; if it throws, every item of the batch that has neither gets
// that exception. run() returns the item's result or rethrows its error. A lone request is
// flushed at once (no waiting for company): batches form only while earlier ones are running.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace mediax::pg {

// Flushes so far and the requests they took: their ratio is the mean batch size, on which the
// database's cost per request depends (bench/RESULTS.md, catch-up).
struct BatcherCounts {
  std::uint64_t batches = 0;
  std::uint64_t requests = 0;
};

template <class Request, class Result>
class Batcher {
 public:
  struct Item {
    Request request;
    std::optional<Result> result;
    std::exception_ptr error;
    bool done = false;
    std::condition_variable* waiter = nullptr;  // the caller's own: woken when done or free to flush
  };
  using Flush = std::function<void(std::vector<Item*>& batch)>;

  explicit Batcher(Flush flush, int max_flushers = 2, std::size_t max_batch = 256)
      : flush_(std::move(flush)), max_flushers_(max_flushers), max_batch_(max_batch) {}

  Result run(Request request) {
    // Each caller waits on a condition of its own and is woken alone: when its item is done, or
    // when it heads the queue as a flusher finishes. One shared condition woke every waiting
    // caller at every flush (up to 128 refresh workers in a catch-up) to find nothing to do:
    // context switches were the largest part of the daemon's profile (bench/RESULTS.md).
    std::condition_variable own;
    Item item{std::move(request), std::nullopt, nullptr, false, &own};
    std::unique_lock lock(mu_);
    queue_.push_back(&item);
    while (!item.done) {
      if (flushing_ < max_flushers_ && !queue_.empty()) {
        std::vector<Item*> batch;
        while (!queue_.empty() && batch.size() < max_batch_) {
          batch.push_back(queue_.front());
          queue_.pop_front();
        }
        ++flushing_;
        ++counts_.batches;
        counts_.requests += batch.size();
        lock.unlock();
        try {
          flush_(batch);
        } catch (...) {
          const auto e = std::current_exception();
          for (auto* i : batch) {
            if (!i->result && !i->error) i->error = e;
          }
        }
        for (auto* i : batch) {
          if (!i->result && !i->error)
            i->error = std::make_exception_ptr(std::logic_error("batch flush gave no result"));
        }
        lock.lock();
        --flushing_;
        for (auto* i : batch) {
          i->done = true;
          if (i != &item) i->waiter->notify_one();
        }
        // Whoever heads the queue may flush now (it takes those behind it along).
        if (!queue_.empty()) queue_.front()->waiter->notify_one();
      } else {
        own.wait(lock);
      }
    }
    lock.unlock();
    if (item.error) std::rethrow_exception(item.error);
    return std::move(*item.result);
  }

  // Requests waiting for a flush to take them.
  std::size_t queued() const {
    std::lock_guard lock(mu_);
    return queue_.size();
  }

  using Counts = BatcherCounts;
  Counts counts() const {
    std::lock_guard lock(mu_);
    return counts_;
  }

 private:
  Flush flush_;
  const int max_flushers_;
  const std::size_t max_batch_;
  mutable std::mutex mu_;
  std::deque<Item*> queue_;
  int flushing_ = 0;
  Counts counts_;
};

}  // namespace mediax::pg
