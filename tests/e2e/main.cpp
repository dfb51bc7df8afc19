// End-to-end tests: one PostgreSQL cluster for the run (the ctest fixture's, or one of this process when
// run by hand), a database and a mediaxd per test.
#include <gtest/gtest.h>

#include <exception>

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
  ::testing::AddGlobalTestEnvironment(new ClusterEnvironment);
  return RUN_ALL_TESTS();
}
