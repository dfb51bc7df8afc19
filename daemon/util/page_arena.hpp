// PageArena: a std::pmr::memory_resource whose memory comes straight from mmap and goes back to
// the operating system when the arena is destroyed.
//
// Why: the token cache keeps a million small objects. Allocated from malloc's heap, the tokens of
// partitions given to another instance were spread over the same pages as the ones kept, so
// freeing them gave almost no memory back (bench/RESULTS.md, memory per instance). Each partition
// now allocates from an arena of its own (through a std::pmr pool, which recycles freed blocks),
// and dropping the partition unmaps its pages whatever malloc does.
//
// Small requests (a pool's chunks, at most kSmall bytes) are cut from 64 KiB blocks and only
// returned with the arena: the pool on top never frees its chunks before it is released. Larger
// ones (hash tables' bucket arrays, a very long token) get a mapping each, unmapped when freed.
// Not thread-safe: the caller locks (the pool on top is unsynchronized too).
#pragma once

#include <cstddef>
#include <memory_resource>
#include <vector>

namespace mediax::util {

class PageArena : public std::pmr::memory_resource {
 public:
  static constexpr std::size_t kSmall = 4096;
  static constexpr std::size_t kBlock = 64 * 1024;

  PageArena() = default;
  ~PageArena() override;
  PageArena(const PageArena&) = delete;
  PageArena& operator=(const PageArena&) = delete;

  // Bytes mapped now (blocks and large mappings); for tests and metrics.
  std::size_t mapped_bytes() const { return mapped_; }

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment) override;
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override;
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }

  struct Mapping {
    void* base;
    std::size_t length;
  };
  static void* map(std::size_t length);

  std::vector<Mapping> blocks_;  // 64 KiB blocks the small requests are cut from
  std::vector<Mapping> large_;   // one per large request still allocated
  char* next_ = nullptr;         // free space left in the newest block
  std::size_t left_ = 0;
  std::size_t mapped_ = 0;
};

}  // namespace mediax::util
