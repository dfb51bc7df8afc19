// Group commit: small units of work from many threads share one transaction, so one COMMIT
// (one WAL flush) covers many of them. A catch-up after an outage stores thousands of refresh
// results a second; committing each alone makes the disk's flush rate the limit
// (bench/RESULTS.md, catch-up).
//
// run() queues its unit; a caller finding fewer than max_flushers batches in progress takes
// everything queued (up to max_batch) and runs it on a pooled connection: each unit inside its
// own SAVEPOINT, so a unit that throws rolls back alone and its caller gets the exception, the
// others still commit. run() returns only after the COMMIT of its batch: what it wrote is as
// durable as with a transaction of its own. A failed COMMIT fails every unit of the batch.
// Units must not commit, and must only lock rows no other unit of this process holds at the
// same time (true for the refresh of one key: the refresher coalesces refreshes per key).
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "store/pg_pool.hpp"

namespace mediax::pg {

class GroupCommit {
 public:
  explicit GroupCommit(Pool& pool, int max_flushers = 2, std::size_t max_batch = 128)
      : pool_(pool), max_flushers_(max_flushers), max_batch_(max_batch) {}

  void run(const std::string& context, std::function<void(pqxx::work&)> fn);

 private:
  struct Unit {
    std::function<void(pqxx::work&)> fn;
    std::exception_ptr error;
    bool done = false;
  };
  void flush(const std::string& context, const std::vector<std::shared_ptr<Unit>>& batch);

  Pool& pool_;
  const int max_flushers_;
  const std::size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Unit>> queue_;
  int flushing_ = 0;
};

}  // namespace mediax::pg
