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
// Callers on fibers are flushed by a thread of the Batcher's own (run() says why).
#pragma once

#include <algorithm>
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
#include <thread>
#include <utility>
#include <vector>

#include "fiber/condition.hpp"

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
    fiber::Condition* waiter = nullptr;  // the caller's own: woken when done or free to flush
  };
  using Flush = std::function<void(std::vector<Item*>& batch)>;

  explicit Batcher(Flush flush, int max_flushers = 2, std::size_t max_batch = 256)
      : flush_(std::move(flush)), max_flushers_(max_flushers), max_batch_(max_batch) {}

  ~Batcher() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    flusher_wake_.notify_all();
    if (flusher_.joinable()) flusher_.join();
  }
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  Result run(Request request) {
    // Each caller waits on a condition of its own and is woken alone: when its item is done, or
    // when it heads the queue as a flusher finishes. One shared condition woke every waiting
    // caller at every flush (up to 128 refresh workers in a catch-up) to find nothing to do:
    // context switches were the largest part of the daemon's profile (bench/RESULTS.md).
    //
    // A caller on a fiber (fiber/fiber.hpp) never flushes: the statement would hold its carrier,
    // and every fiber on it, for a database round trip. It parks, and the Batcher's own flusher
    // thread takes the batch.
    const bool may_flush = !fiber::on_fiber();
    fiber::Condition own;
    Item item{std::move(request), std::nullopt, nullptr, false, &own};
    std::unique_lock lock(mu_);
    queue_.push_back(&item);
    // A fiber destroyed while parked here (its carrier stopped at shutdown) unwinds this frame:
    // the item lives on that stack, so it leaves the queue, or is waited for if a flush has it.
    struct Unqueue {
      Batcher& b;
      Item& item;
      std::unique_lock<std::mutex>& lock;
      bool answered = false;  // the loop below saw the item done: nothing to undo, no lock to take
      ~Unqueue() {
        if (answered) return;
        if (!lock.owns_lock()) lock.lock();
        if (item.done) return;
        auto it = std::find(b.queue_.begin(), b.queue_.end(), &item);
        if (it != b.queue_.end()) {
          b.queue_.erase(it);
          return;
        }
        while (!item.done) item.waiter->wait(lock);
      }
    } unqueue{*this, item, lock};
    if (!may_flush) wake_flusher(lock);
    while (!item.done) {
      if (may_flush && flushing_ < max_flushers_ && !queue_.empty()) {
        flush_queued(lock, &item);
      } else {
        own.wait(lock);
      }
    }
    unqueue.answered = true;
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
  // Takes what is queued (up to max_batch), flushes it with mu_ released, answers the batch and
  // hands the queue on. `self`: the caller's own item (not woken: it is awake).
  void flush_queued(std::unique_lock<std::mutex>& lock, const Item* self) {
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
      if (!i->result && !i->error) i->error = std::make_exception_ptr(std::logic_error("batch flush gave no result"));
    }
    lock.lock();
    --flushing_;
    for (auto* i : batch) {
      i->done = true;
      if (i != self) i->waiter->notify_one();
    }
    // Whoever heads the queue may flush now (it takes those behind it along); a fiber there
    // cannot, so the flusher thread is asked too.
    if (!queue_.empty()) {
      queue_.front()->waiter->notify_one();
      wake_flusher(lock);
    }
  }

  // Lock held. Starts the flusher thread the first time a fiber needs it.
  void wake_flusher(std::unique_lock<std::mutex>&) {
    if (!flusher_.joinable()) flusher_ = std::thread([this] { flusher_loop(); });
    flusher_wake_.notify_one();
  }

  void flusher_loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (flushing_ < max_flushers_ && !queue_.empty()) {
        flush_queued(lock, nullptr);
      } else {
        flusher_wake_.wait(lock);
      }
    }
  }

  Flush flush_;
  const int max_flushers_;
  const std::size_t max_batch_;
  mutable std::mutex mu_;
  std::deque<Item*> queue_;
  int flushing_ = 0;
  Counts counts_;
  bool stopping_ = false;
  std::condition_variable flusher_wake_;
  std::thread flusher_;  // started by the first caller on a fiber
};

}  // namespace mediax::pg
