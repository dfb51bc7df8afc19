#include "store/partition_locks.hpp"

#include <pqxx/pqxx>

#include <charconv>
#include <string_view>

#include "store/pg_util.hpp"
#include "store/store.hpp"

namespace mediax::pg {

namespace {

// "m:12,5:12,6:40": members and partition holders (PartitionLocks::look's query).
void parse_locks(std::string_view text, PartitionView& view) {
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const auto colon = item.find(':');
    if (colon == std::string_view::npos) continue;
    std::int64_t pid = 0;
    std::from_chars(item.data() + colon + 1, item.data() + item.size(), pid);
    if (item.substr(0, colon) == "m") {
      view.members.push_back(pid);
      continue;
    }
    int partition = -1;
    std::from_chars(item.data(), item.data() + colon, partition);
    if (partition >= 0 && partition < kPartitionCount) view.holders[static_cast<std::size_t>(partition)] = pid;
  }
}

}  // namespace

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
    // One row, one text: "m:pid" per member, "partition:pid" per partition held. Read twice a
    // second by every instance, so it is parsed without a row or an allocation per lock.
    const auto row = tx.exec_params1(
        "SELECT COALESCE(string_agg(CASE WHEN l.classid::int8 = $1 THEN 'm' ELSE l.objid::text END || ':' || l.pid,"
        " ','), '') FROM pg_locks l"
        " WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted"
        " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND l.classid::int8 IN ($1, $2)",
        kMemberLockClass, kPartitionLockClass);
    parse_locks(row[0].c_str(), view);
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
    const auto rows =
        tx.exec_params("SELECT p FROM unnest($2::int[]) AS p WHERE pg_try_advisory_lock($1, p) ORDER BY p",
                       kPartitionLockClass, int_array_literal(partitions));
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
