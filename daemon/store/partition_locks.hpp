// PartitionClaims on PostgreSQL session-level advisory locks, on a connection of their own.
// Joining takes a shared lock (kMemberLockClass, 0) that every member holds; a partition is an
// exclusive lock (kPartitionLockClass, partition). pg_locks says who holds what. A process that
// dies (kill -9 too) closes its socket; the server ends the session and its locks go with it.
// A host that vanishes without closing the socket keeps them until the server notices the dead
// connection (the server's tcp_keepalives_* settings; README "Several instances").
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <pqxx/pqxx>

#include "store/interfaces.hpp"

namespace mediax::pg {

// The two-key advisory lock space (pg_advisory_lock(int4, int4)) is apart from the one-key space
// of the migrations' lock (store/migrator.cpp). 0x6d78 = "mx".
inline constexpr int kMemberLockClass = 0x6d78;
inline constexpr int kPartitionLockClass = 0x6d79;

class PartitionLocks final : public PartitionClaims {
 public:
  explicit PartitionLocks(std::string db_url);
  ~PartitionLocks() override;

  PartitionView look() override;
  std::vector<int> claim(const std::vector<int>& partitions) override;
  void release(const std::vector<int>& partitions) override;
  void leave() override;  // for good: later calls throw StoreError

 private:
  pqxx::connection& connected();  // connects and joins when not connected; throws StoreError
  std::string url_;
  std::mutex mu_;
  std::unique_ptr<pqxx::connection> conn_;
  std::int64_t session_ = 0;
  bool left_ = false;  // leave() was called: never join again
};

}  // namespace mediax::pg
