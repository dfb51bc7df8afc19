// Group commit: small units of work from many threads share one transaction, so one COMMIT
// (one WAL flush) covers many of them. A catch-up after an outage stores thousands of refresh
// results a second; committing each alone makes the disk's flush rate the limit
// (bench/RESULTS.md, catch-up).
//
// run() queues its unit (store/batcher.hpp: a caller finding fewer than max_flushers batches in
// progress takes everything queued, up to max_batch); the batch runs on a pooled connection, each
// unit inside its own SAVEPOINT, so a unit that throws rolls back alone and its caller gets the
// exception, the others still commit. run() returns only after the COMMIT of its batch: what it wrote is as
// durable as with a transaction of its own. A failed COMMIT fails every unit of the batch.
// Units must not commit, and must only lock rows no other unit of this process holds at the
// same time (true for the refresh of one key: the refresher coalesces refreshes per key).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "store/batcher.hpp"
#include "store/pg_pool.hpp"

namespace mediax::pg {

class GroupCommit {
 public:
  explicit GroupCommit(Pool& pool, int max_flushers = 2, std::size_t max_batch = 128)
      : pool_(pool),
        batcher_([this](std::vector<UnitBatcher::Item*>& batch) { flush(batch); }, max_flushers, max_batch) {}

  void run(const std::string& context, std::function<void(pqxx::work&)> fn);

 private:
  struct Unit {
    std::string context;  // the batch's errors are prefixed with its first unit's
    std::function<void(pqxx::work&)> fn;
  };
  using UnitBatcher = Batcher<Unit, bool>;
  void flush(std::vector<UnitBatcher::Item*>& batch);

  Pool& pool_;
  UnitBatcher batcher_;
};

}  // namespace mediax::pg
