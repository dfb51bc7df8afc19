#include "store/partition_locks.hpp"

#include <pqxx/pqxx>

#include "store/pg_util.hpp"
#include "store/store.hpp"

namespace mediax::pg {

PartitionLocks::PartitionLocks(std::string db_url) : url_(std::move(db_url)) {}

PartitionLocks::~PartitionLocks() {
  try {
    leave();
  } catch (...) {  // the session ends with the connection anyway
  }
}

pqxx::connection& PartitionLocks::connected() {
  if (conn_ && conn_->is_open()) return *conn_;
  conn_.reset();
  if (left_) throw StoreError("partitions: this instance has left");
  try {
    auto c = std::make_unique<pqxx::connection>(url_);
    pqxx::nontransaction tx(*c);
    session_ = tx.exec_params1("SELECT pg_backend_pid(), pg_advisory_lock_shared($1, 0)", kMemberLockClass)[0]
                   .as<std::int64_t>();
    conn_ = std::move(c);
  } catch (...) {
    rethrow_translated("partitions: join");
  }
  return *conn_;
}

PartitionView PartitionLocks::look() {
  std::lock_guard lk(mu_);
  try {
    auto& c = connected();
    pqxx::nontransaction tx(c);
    PartitionView view;
    view.me = session_;
    const auto rows = tx.exec_params(
        "SELECT l.classid::int8, l.objid::int8, l.pid FROM pg_locks l"
        " WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted"
        " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND l.classid::int8 IN ($1, $2)",
        kMemberLockClass, kPartitionLockClass);
    for (const auto& r : rows) {
      const auto pid = r[2].as<std::int64_t>();
      if (r[0].as<std::int64_t>() == kMemberLockClass) {
        view.members.push_back(pid);
      } else {
        view.holders[static_cast<int>(r[1].as<std::int64_t>())] = pid;
      }
    }
    return view;
  } catch (...) {
    conn_.reset();  // the session (and what it held) may be gone: join again next time
    rethrow_translated("partitions: look");
  }
}

std::vector<int> PartitionLocks::claim(const std::vector<int>& partitions) {
  std::lock_guard lk(mu_);
  std::vector<int> got;
  if (partitions.empty()) return got;
  try {
    pqxx::nontransaction tx(connected());
    const auto rows = tx.exec_params(
        "SELECT p FROM unnest($2::int[]) AS p WHERE pg_try_advisory_lock($1, p) ORDER BY p", kPartitionLockClass,
        int_array_literal(partitions));
    for (const auto& r : rows) got.push_back(r[0].as<int>());
    return got;
  } catch (...) {
    conn_.reset();
    rethrow_translated("partitions: claim");
  }
}

void PartitionLocks::release(const std::vector<int>& partitions) {
  std::lock_guard lk(mu_);
  if (partitions.empty() || !conn_) return;
  try {
    pqxx::nontransaction tx(*conn_);
    tx.exec_params("SELECT pg_advisory_unlock($1, p) FROM unnest($2::int[]) AS p", kPartitionLockClass,
                   int_array_literal(partitions));
  } catch (...) {
    conn_.reset();  // a lost session released them too
    rethrow_translated("partitions: release");
  }
}

void PartitionLocks::leave() {
  std::lock_guard lk(mu_);
  left_ = true;
  conn_.reset();  // closing the session releases every lock it holds
}

}  // namespace mediax::pg

namespace mediax {

std::unique_ptr<PartitionClaims> make_partition_claims(const std::string& db_url) {
  return std::make_unique<pg::PartitionLocks>(db_url);
}

}  // namespace mediax
