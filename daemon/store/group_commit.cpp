#include "store/group_commit.hpp"

#include "store/store.hpp"

namespace mediax::pg {

void GroupCommit::run(const std::string& context, std::function<void(pqxx::work&)> fn) {
  auto unit = std::make_shared<Unit>();
  unit->fn = std::move(fn);
  std::unique_lock lock(mu_);
  queue_.push_back(unit);
  while (!unit->done) {
    if (flushing_ < max_flushers_ && !queue_.empty()) {
      std::vector<std::shared_ptr<Unit>> batch;
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      ++flushing_;
      lock.unlock();
      flush(context, batch);
      lock.lock();
      --flushing_;
      for (auto& u : batch) u->done = true;
      cv_.notify_all();
    } else {
      cv_.wait(lock);
    }
  }
  lock.unlock();
  if (unit->error) std::rethrow_exception(unit->error);
}

void GroupCommit::flush(const std::string& context, const std::vector<std::shared_ptr<Unit>>& batch) {
  try {
    pool_.run(context, [&batch, &context](pqxx::connection& c) {
      pqxx::work tx(c);
      if (batch.size() == 1) {
        // Alone: no savepoint needed; its error aborts the transaction it has to itself.
        batch.front()->error = nullptr;
        batch.front()->fn(tx);
      } else {
        for (const auto& u : batch) {
          u->error = nullptr;
          tx.exec0("SAVEPOINT mediax_unit");
          try {
            u->fn(tx);
            tx.exec0("RELEASE SAVEPOINT mediax_unit");
          } catch (const pqxx::broken_connection&) {
            throw;  // the whole batch fails (and the pool may retry it on a new connection)
          } catch (const pqxx::in_doubt_error&) {
            throw;
          } catch (...) {
            try {
              rethrow_translated(context);  // StoreError / DuplicateError, as from a transaction of its own
            } catch (...) {
              u->error = std::current_exception();
            }
            tx.exec0("ROLLBACK TO SAVEPOINT mediax_unit");
          }
        }
      }
      tx.commit();
    });
  } catch (...) {
    // No COMMIT, or one that may not have happened: nothing of this batch may be taken as stored.
    // A unit's own earlier error is what its caller gets; the others get the batch's.
    const auto e = std::current_exception();
    for (const auto& u : batch) {
      if (!u->error || batch.size() == 1) u->error = e;
    }
  }
}

}  // namespace mediax::pg
