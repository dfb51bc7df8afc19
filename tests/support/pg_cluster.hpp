// A throwaway PostgreSQL cluster for tests: initdb + pg_ctl in a temp dir, unix socket only
// (no TCP port to collide on), fsync off. Never a mock.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace mediax::test {

class PgCluster {
 public:
  // Creates the cluster in a fresh temp dir and starts it; throws std::runtime_error on failure.
  PgCluster();
  // A running cluster another process started in `dir` (the ctest fixture's, see shared_cluster()).
  // Borrowed: this object neither stops nor removes it unless take_over() is called.
  static std::unique_ptr<PgCluster> borrow(const std::string& dir);
  // A hot standby of `primary`, streaming from it: a copy made with pg_basebackup -R, started in a
  // temp dir of its own (its own socket directory); read-only. Owned: stopped and removed with it.
  static std::unique_ptr<PgCluster> standby_of(const PgCluster& primary);
  // Stops the server (pg_ctl stop -m immediate) and removes the directory, when this object owns it.
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // Creates a database and returns its libpq connection string (host=<socket dir> dbname=NAME ...).
  std::string create_database(const std::string& name);
  // Creates a database and applies every migration in migrations/ to it.
  std::string create_migrated_database(const std::string& name);
  std::string socket_dir() const { return dir_ + "/socket"; }
  std::string data_dir() const { return dir_ + "/data"; }
  std::string dir() const { return dir_; }
  void stop();   // simulate an outage
  void start();  // start again after stop()
  // Ownership moves between processes: the ctest fixture's set-up hands its cluster over (it keeps
  // running after this object dies), the clean-up borrows it and takes it over to stop it.
  void hand_over() { owned_ = false; }
  void take_over() { owned_ = true; }

 private:
  struct Borrowed {};
  PgCluster(Borrowed, std::string dir);
  struct Standby {};
  PgCluster(Standby, const PgCluster& primary);
  // Makes the temp dir and its socket dir (the postgres user's when root), runs make_data to fill
  // data_dir(), appends what conf_lines returns (it may name the dirs) to its postgresql.conf and
  // starts the server; on any failure the dir is removed and the error thrown on.
  void create(const std::function<void()>& make_data, const std::function<std::string()>& conf_lines);

  std::string dir_;
  std::string bin_dir_;  // /usr/lib/postgresql/<ver>/bin
  bool running_ = false;
  bool owned_ = true;
};

// The integration and e2e tests' cluster: the one the ctest fixture started when MEDIAX_TEST_PG_FILE
// names the file holding its directory (tests/CMakeLists.txt), else a cluster of this process.
std::unique_ptr<PgCluster> shared_cluster();

// Path of the repository's migrations folder.
std::string migrations_dir();

}  // namespace mediax::test
