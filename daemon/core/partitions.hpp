// Partitions: how the instances on one database share the refresh work. Every app token and
// grant belongs to one of kPartitionCount partitions (by its id); an instance schedules and
// caches the keys of the partitions it owns (claimed in PostgreSQL, schedule/partition_plan.hpp,
// runtime/partition_keeper.hpp) and reads the others' tokens from the database.
//
// The count is fixed: every instance and the SQL (`id % 256`) must agree on it, and 256 is
// enough to spread the work evenly over a few dozen instances.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "core/types.hpp"

namespace mediax {

inline constexpr int kPartitionCount = 256;

// A grant by its id, an app token by its app's id. The SQL twin: `id % 256` (store/).
int partition_of(const RefreshKey& key);

// The partitions one instance owns; thread-safe (any thread reads, the keeper writes). A new set
// owns every partition: one instance alone, and the tests, see no partitioning at all.
class PartitionSet {
 public:
  PartitionSet() { set_all(true); }
  // Just these partitions (out-of-range numbers are ignored).
  explicit PartitionSet(const std::vector<int>& only);
  bool owns(int partition) const;
  bool owns(const RefreshKey& key) const { return owns(partition_of(key)); }
  void set(int partition, bool owned);
  void set_all(bool owned);
  std::vector<int> list() const;  // ascending
  int count() const;

 private:
  std::array<std::atomic<std::uint64_t>, kPartitionCount / 64> bits_{};
};

// Who holds which partition, as the database says (store: PartitionClaims::look).
struct PartitionView {
  std::int64_t me = 0;                // this instance's session
  std::vector<std::int64_t> members;  // sessions that joined (this one included)
  // partition -> session holding it; 0: free. A flat array: read twice a second, it allocates nothing.
  std::array<std::int64_t, kPartitionCount> holders{};
};

}  // namespace mediax
