#include "store/group_commit.hpp"

#include "store/store.hpp"

namespace mediax::pg {

void GroupCommit::run(const std::string& context, std::function<void(pqxx::work&)> fn) {
  batcher_.run(Unit{context, std::move(fn)});
}

void GroupCommit::flush(std::vector<UnitBatcher::Item*>& batch) {
  const std::string& context = batch.front()->request.context;
  try {
    pool_.run(context, [&batch, &context](pqxx::connection& c) {
      pqxx::work tx(c);
      if (batch.size() == 1) {
        // Alone: no savepoint needed; its error aborts the transaction it has to itself.
        batch.front()->error = nullptr;
        batch.front()->request.fn(tx);
      } else {
        for (auto* u : batch) {
          u->error = nullptr;
          tx.exec0("SAVEPOINT mediax_unit");
          try {
            u->request.fn(tx);
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
    for (auto* u : batch) {
      if (!u->error || batch.size() == 1) u->error = e;
    }
    return;
  }
  for (auto* u : batch) {
    if (!u->error) u->result = true;
  }
}

}  // namespace mediax::pg
