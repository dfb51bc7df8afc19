// runtime/malloc_tuning.hpp: the arena cap and the fixed mmap threshold, and the operator's settings left alone.
#include <gtest/gtest.h>

#include <malloc.h>

#include <cstdlib>
#include <thread>

#include "runtime/malloc_tuning.hpp"

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
TEST(MallocMmapThreshold, LargeBlocksStayMappingsOfTheirOwnAfterALargerOneWasFreed) {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr) GTEST_SKIP() << "MALLOC_MMAP_THRESHOLD_ is set";
  ASSERT_TRUE(fix_malloc_mmap_threshold());
  // Without the fixed threshold, freeing this mapping raises glibc's threshold to 4 MiB, and the
  // next block of 256 KiB comes from the heap.
  void* big = std::malloc(4 << 20);
  ASSERT_NE(big, nullptr);
  std::free(big);
  const auto before = mallinfo2().hblks;
  void* block = std::malloc(256 << 10);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(mallinfo2().hblks, before + 1) << "a mapping of its own";
  std::free(block);
  EXPECT_EQ(mallinfo2().hblks, before) << "unmapped when freed";
}

TEST(MallocMmapThreshold, AnOperatorsSettingWins) {
  const char* had = std::getenv("MALLOC_MMAP_THRESHOLD_");
  const std::string before = had != nullptr ? had : "";
  ::setenv("MALLOC_MMAP_THRESHOLD_", "1048576", 1);
  EXPECT_FALSE(fix_malloc_mmap_threshold());
  if (had != nullptr) {
    ::setenv("MALLOC_MMAP_THRESHOLD_", before.c_str(), 1);
  } else {
    ::unsetenv("MALLOC_MMAP_THRESHOLD_");
  }
}

}  // namespace mediax
