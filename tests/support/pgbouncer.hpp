// A real PgBouncer (Debian's pgbouncer) in front of a test cluster, for the tests of readers at
// scale and of mediaxd through a pooler. It listens on 127.0.0.1 (a free port), sends every
// database name to the same name on the cluster's socket, and trusts the users it is given (as
// the cluster does). As root it runs as the postgres user: PgBouncer refuses to run as root.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/pg_cluster.hpp"
#include "support/process.hpp"

namespace mediax::test {

class PgBouncer {
 public:
  struct Settings {
    std::string pool_mode = "transaction";  // session | transaction
    int pool_size = 4;                      // server connections per database and user
    int max_clients = 1000;
    std::vector<std::string> users{"postgres"};  // who may log in (auth_file; trust)
  };
  // Starts pgbouncer and waits until it accepts connections; throws std::runtime_error (with its
  // log) otherwise, or when pgbouncer is not installed (admin/dev.sh installs it).
  PgBouncer(const PgCluster& cluster, Settings settings);
  ~PgBouncer();
  PgBouncer(const PgBouncer&) = delete;
  PgBouncer& operator=(const PgBouncer&) = delete;

  int port() const { return port_; }
  // A libpq connection string to `dbname` through the pooler, as `user`.
  std::string url(const std::string& dbname, const std::string& user = "postgres") const;
  std::string log() const;

 private:
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<Process> proc_;
};

// The dbname=… of a libpq key=value connection string ("" when it has none).
std::string dbname_of(const std::string& conninfo);

}  // namespace mediax::test
