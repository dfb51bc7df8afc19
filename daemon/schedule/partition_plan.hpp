// Which partitions (core/partitions.hpp) this instance should take or give up, given who holds
// what in the database now. Pure: the keeper (runtime/partition_keeper.hpp) reads the holders,
// asks next(), and claims or releases what it says; the database's locks settle races (a
// partition two instances try to take at once goes to one of them).
//
// The rule, followed by every instance on its own:
//  - a fair share is ceil(partitions / members); an instance below it takes free partitions, up
//    to it, in an order of its own (instances taking at the same time mostly pick different ones);
//  - an instance above it gives the surplus back when no partition is free and another member
//    is below its share (a member joined), at most once per give_pause (no churn while the
//    newcomer takes them);
//  - a partition free for orphan_after (its holder's share was full, or it does not take) is
//    taken by whoever sees it, share or not: no partition stays without an owner.
// A member that dies frees its partitions at once (its session ends); the others' shares grow
// and they take them the next time they look.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/partitions.hpp"
#include "core/types.hpp"

namespace mediax {

struct PartitionMoves {
  std::vector<int> take;
  std::vector<int> give;
};

class PartitionPlanner {
 public:
  struct Settings {
    std::chrono::milliseconds orphan_after{2000};
    std::chrono::milliseconds give_pause{2000};
  };
  PartitionPlanner() : PartitionPlanner(Settings{}) {}
  explicit PartitionPlanner(Settings s) : settings_(s) {}

  PartitionMoves next(const PartitionView& view, TimePoint now);

  // ceil(partitions / members), members >= 1.
  static int fair_share(std::size_t members);

 private:
  Settings settings_;
  std::array<std::optional<TimePoint>, kPartitionCount> free_since_{};
  std::optional<TimePoint> last_give_;
};

}  // namespace mediax
