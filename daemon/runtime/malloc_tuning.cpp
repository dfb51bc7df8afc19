#include "runtime/malloc_tuning.hpp"

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace mediax {

int cap_malloc_arenas() {
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr) return 0;
  const int cap = std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  return mallopt(M_ARENA_MAX, cap) == 1 ? cap : 0;
}

bool fix_malloc_mmap_threshold() {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr) return false;
  return mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1;
}

}  // namespace mediax
