// The ctest fixture of the integration and e2e tests: one PostgreSQL cluster for the whole ctest
// run instead of one per test process (initdb costs seconds; there is a process per test).
//   mediax-test-pg start FILE   starts a cluster, migrates one database, writes its directory to FILE
//   mediax-test-pg stop FILE    stops and removes the cluster FILE names, then FILE
// Each test still makes its own database on it, so tests stay isolated and may run in parallel.
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <string>

#include "support/pg_cluster.hpp"

namespace {

int start(const std::string& file) {
  mediax::test::PgCluster cluster;
  // Cluster-wide objects the migrations create (the mediax_reader role) exist before tests migrate
  // their databases in parallel; two CREATE ROLE at once would make one of them fail.
  cluster.create_migrated_database("fixture");
  std::ofstream out(file, std::ios::trunc);
  out << cluster.dir() << "\n";
  out.close();
  if (!out) throw std::runtime_error("cannot write " + file);
  cluster.hand_over();
  std::cout << "test PostgreSQL cluster in " << cluster.dir() << "\n";
  return 0;
}

int stop(const std::string& file) {
  std::ifstream in(file);
  std::string dir;
  if (!std::getline(in, dir) || dir.empty()) {
    std::cout << "no test PostgreSQL cluster to stop (" << file << " is missing)\n";
    return 0;
  }
  mediax::test::PgCluster::borrow(dir)->take_over();  // the destructor stops and removes it
  std::remove(file.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc == 3 ? argv[1] : "";
  try {
    if (cmd == "start") return start(argv[2]);
    if (cmd == "stop") return stop(argv[2]);
  } catch (const std::exception& e) {
    std::cerr << "mediax-test-pg " << cmd << ": " << e.what() << "\n";
    return 1;
  }
  std::cerr << "usage: mediax-test-pg start|stop FILE\n";
  return 2;
}
