// The whole database as one object: every slice of store/interfaces.hpp. Only the wiring
// (runtime/) and PgStore name it; components take the slices they use.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/interfaces.hpp"

namespace mediax {

namespace crypto {
class Sealer;
}

class Store : public RefreshStore,
              public TokenFeed,
              public CallBudgetStore,
              public EventLog,
              public ApiKeyStore,
              public WebhookOutbox,
              public ComponentTicketStore,
              public AdminStore,
              public HealthStore,
              public AuditLog {};

// Applies migrations/NNNN_name.sql files in order, each inside a transaction, recorded in
// mediax.schema_migrations, serialised with an advisory lock.
class Migrator {
 public:
  Migrator(std::string db_url, std::string migrations_dir);
  // Applies what is pending; returns the names applied.
  std::vector<std::string> apply();
  // Names of migrations not yet applied (empty: the database is current).
  std::vector<std::string> pending();
  // Migrations found on disk, in order.
  std::vector<std::string> available() const;

 private:
  std::string db_url_;
  std::string dir_;
};

// A pool of libpqxx connections behind the Store interface. Secrets are sealed with `sealer`
// (crypto/sealer.hpp) on write and opened on read; without one (tools that never touch secrets)
// storing or reading a secret throws StoreError.
std::unique_ptr<Store> make_pg_store(const std::string& db_url, int pool_size,
                                     std::shared_ptr<const crypto::Sealer> sealer = nullptr);

// The partition claims of one instance (store/partition_locks.hpp), on a connection of their own.
std::unique_ptr<PartitionClaims> make_partition_claims(const std::string& db_url);

}  // namespace mediax
