// runtime/malloc_tuning.hpp: the arena cap and the fixed mmap threshold, and the operator's settings left alone.
#include <gtest/gtest.h>

#include <malloc.h>

#include <cstdlib>
#include <thread>
#include <vector>

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
// ThreadSanitizer and AddressSanitizer replace glibc's malloc with their own allocator.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr bool kGlibcMalloc = false;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
constexpr bool kGlibcMalloc = false;
#else
constexpr bool kGlibcMalloc = true;
#endif
#else
constexpr bool kGlibcMalloc = true;
#endif

TEST(MallocMmapThreshold, LargeBlocksBecomeMappingsRatherThanGrowTheHeapAfterALargerOneWasFreed) {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr) GTEST_SKIP() << "MALLOC_MMAP_THRESHOLD_ is set";
  if (!kGlibcMalloc) GTEST_SKIP() << "a sanitizer's allocator, not glibc's malloc";
  ASSERT_TRUE(fix_malloc_mmap_threshold());
  // Without the fixed threshold, freeing this mapping raises glibc's threshold to 4 MiB, and the
  // blocks of 256 KiB below all come from the heap, grown for them. With it, only those that the
  // heap's free memory holds already do (a few MiB in this process at most); the rest are mapped.
  void* big = std::malloc(4 << 20);
  ASSERT_NE(big, nullptr);
  static_cast<volatile char*>(big)[0] = 1;  // used: the compiler may not drop the pair
  std::free(big);
  const auto before = mallinfo2().hblks;
  std::vector<void*> blocks;
  for (int i = 0; i < 64; ++i) {
    blocks.push_back(std::malloc(256 << 10));
    static_cast<volatile char*>(blocks.back())[0] = 1;
  }
  EXPECT_GE(mallinfo2().hblks, before + 32) << "mappings of their own";
  for (void* b : blocks) std::free(b);
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
