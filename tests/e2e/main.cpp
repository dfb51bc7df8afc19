// End-to-end tests: one PostgreSQL cluster for the run, a database and a mediaxd per test.
#include <gtest/gtest.h>

#include <cstdlib>
#include <exception>
#include <iostream>

#include "harness.hpp"

namespace {

class ClusterEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    try {
      mediax::e2e::start_cluster();
    } catch (const std::exception& e) {
      FAIL() << "cannot start the PostgreSQL cluster: " << e.what();
    }
  }
  void TearDown() override { mediax::e2e::stop_cluster(); }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (const char* var : {"MEDIAXD_BIN", "MEDIAX_FAKE_BIN", "MEDIAX_SOURCE_DIR"}) {
    if (std::getenv(var) == nullptr) {
      std::cerr << "e2e_tests: " << var << " is not set (ctest sets it; see tests/CMakeLists.txt)\n";
      return 1;
    }
  }
  ::testing::AddGlobalTestEnvironment(new ClusterEnvironment);
  return RUN_ALL_TESTS();
}
