// runtime/malloc_arenas.hpp: the arena cap, and the operator's MALLOC_ARENA_MAX left alone.
#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

#include "runtime/malloc_arenas.hpp"

namespace mediax {
namespace {

TEST(MallocArenas, CappedAtTheCoresButAtLeastTwo) {
  const char* had = std::getenv("MALLOC_ARENA_MAX");
  if (had != nullptr) GTEST_SKIP() << "MALLOC_ARENA_MAX is set for this test run";
  const int cap = cap_malloc_arenas();
  EXPECT_GE(cap, 2);
  EXPECT_GE(cap, static_cast<int>(std::thread::hardware_concurrency()));
}

TEST(MallocArenas, AnOperatorsSettingWins) {
  const char* had = std::getenv("MALLOC_ARENA_MAX");
  const std::string before = had != nullptr ? had : "";
  ::setenv("MALLOC_ARENA_MAX", "4", 1);
  EXPECT_EQ(cap_malloc_arenas(), 0) << "nothing changed: glibc reads the variable itself";
  if (had != nullptr) {
    ::setenv("MALLOC_ARENA_MAX", before.c_str(), 1);
  } else {
    ::unsetenv("MALLOC_ARENA_MAX");
  }
}

}  // namespace
}  // namespace mediax
