#include "core/partitions.hpp"

#include <algorithm>
#include <bit>

namespace mediax {

int partition_of(const RefreshKey& key) {
  const std::int64_t id = key.is_app_token() ? key.app_id : key.grant_id;
  // Ids are positive (bigserial); the remainder of a negative one is made positive all the same.
  return static_cast<int>(((id % kPartitionCount) + kPartitionCount) % kPartitionCount);
}

PartitionSet::PartitionSet(const std::vector<int>& only) {
  for (int p : only) set(p, true);
}

bool PartitionSet::owns(int partition) const {
  if (partition < 0 || partition >= kPartitionCount) return false;
  return (bits_[partition / 64].load(std::memory_order_acquire) >> (partition % 64)) & 1U;
}

void PartitionSet::set(int partition, bool owned) {
  if (partition < 0 || partition >= kPartitionCount) return;
  const std::uint64_t bit = std::uint64_t{1} << (partition % 64);
  if (owned) {
    bits_[partition / 64].fetch_or(bit, std::memory_order_acq_rel);
  } else {
    bits_[partition / 64].fetch_and(~bit, std::memory_order_acq_rel);
  }
}

void PartitionSet::set_all(bool owned) {
  for (auto& word : bits_) word.store(owned ? ~std::uint64_t{0} : 0, std::memory_order_release);
}

std::vector<int> PartitionSet::list() const {
  std::vector<int> out;
  for (int p = 0; p < kPartitionCount; ++p) {
    if (owns(p)) out.push_back(p);
  }
  return out;
}

int PartitionSet::count() const {
  int n = 0;
  for (const auto& word : bits_) n += std::popcount(word.load(std::memory_order_acquire));
  return n;
}

}  // namespace mediax
