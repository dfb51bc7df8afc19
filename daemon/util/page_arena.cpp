#include "util/page_arena.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <new>

namespace mediax::util {

namespace {

std::size_t page_size() {
  static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

}  // namespace

PageArena::~PageArena() {
  for (const auto& m : blocks_) munmap(m.base, m.length);
  for (const auto& m : large_) munmap(m.base, m.length);
}

void* PageArena::map(std::size_t length) {
  void* p = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return p;
}

void* PageArena::do_allocate(std::size_t bytes, std::size_t alignment) {
  if (bytes > kSmall || alignment > page_size()) {
    const std::size_t length = round_up(std::max<std::size_t>(bytes, 1), page_size());
    large_.reserve(large_.size() + 1);  // before mapping: a throw here leaks nothing
    void* p = map(length);
    large_.push_back({p, length});
    mapped_ += length;
    return p;
  }
  const std::size_t pad = (alignment - reinterpret_cast<std::uintptr_t>(next_) % alignment) % alignment;
  if (next_ == nullptr || pad + bytes > left_) {
    blocks_.reserve(blocks_.size() + 1);
    next_ = static_cast<char*>(map(kBlock));  // page-aligned: no padding needed
    left_ = kBlock;
    blocks_.push_back({next_, kBlock});
    mapped_ += kBlock;
    char* p = next_;
    next_ += bytes;
    left_ -= bytes;
    return p;
  }
  char* p = next_ + pad;
  next_ = p + bytes;
  left_ -= pad + bytes;
  return p;
}

void PageArena::do_deallocate(void* p, std::size_t bytes, std::size_t alignment) {
  if (bytes <= kSmall && alignment <= page_size()) return;  // cut from a block: goes with the arena
  // Few large mappings live at once (a bucket array or two per partition): a linear search.
  auto it = std::find_if(large_.begin(), large_.end(), [p](const Mapping& m) { return m.base == p; });
  if (it == large_.end()) return;
  munmap(it->base, it->length);
  mapped_ -= it->length;
  *it = large_.back();
  large_.pop_back();
}

}  // namespace mediax::util
