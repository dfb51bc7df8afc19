// A throwaway PostgreSQL cluster for tests: initdb + pg_ctl in a temp dir, unix socket only
// (no TCP port to collide on), fsync off. Never a mock.
#pragma once

#include <string>

namespace mediax::test {

class PgCluster {
 public:
  // Creates the cluster in a fresh temp dir and starts it; throws std::runtime_error on failure.
  PgCluster();
  // Stops the server (pg_ctl stop -m immediate) and removes the directory.
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // Creates a database and returns its libpq connection string (host=<socket dir> dbname=NAME ...).
  std::string create_database(const std::string& name);
  // Creates a database and applies every migration in migrations/ to it.
  std::string create_migrated_database(const std::string& name);
  std::string socket_dir() const { return dir_ + "/socket"; }
  std::string data_dir() const { return dir_ + "/data"; }
  void stop();   // simulate an outage
  void start();  // start again after stop()

 private:
  std::string dir_;
  std::string bin_dir_;  // /usr/lib/postgresql/<ver>/bin
  bool running_ = false;
};

// Path of the repository's migrations folder.
std::string migrations_dir();

}  // namespace mediax::test
