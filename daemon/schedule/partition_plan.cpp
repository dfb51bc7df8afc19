#include "schedule/partition_plan.hpp"

#include <algorithm>

#include "util/mix.hpp"

namespace mediax {

int PartitionPlanner::fair_share(std::size_t members) {
  const auto m = static_cast<int>(std::max<std::size_t>(1, members));
  return (kPartitionCount + m - 1) / m;
}

PartitionMoves PartitionPlanner::next(const PartitionView& view, TimePoint now) {
  // Members: whoever joined, and whoever holds a partition (a holder is a member in all but name).
  // A handful: a flat list, no allocation per partition.
  std::vector<std::pair<std::int64_t, int>> held;  // session -> partitions held
  const auto count_of = [&](std::int64_t session) -> int& {
    for (auto& [s, n] : held) {
      if (s == session) return n;
    }
    return held.emplace_back(session, 0).second;
  };
  for (auto m : view.members) count_of(m);
  count_of(view.me);
  std::vector<int> mine, free;
  for (int p = 0; p < kPartitionCount; ++p) {
    const auto i = static_cast<std::size_t>(p);
    const auto holder = view.holders[i];
    if (holder == 0) {
      free.push_back(p);
      if (!free_since_[i]) free_since_[i] = now;
      continue;
    }
    free_since_[i].reset();
    ++count_of(holder);
    if (holder == view.me) mine.push_back(p);
  }
  const int share = fair_share(held.size());
  const int have = static_cast<int>(mine.size());
  PartitionMoves moves;

  if (!free.empty()) {
    // Orphans first, then the rest in this instance's own order.
    const auto seed = util::mix64(static_cast<std::uint64_t>(view.me));
    std::stable_sort(free.begin(), free.end(), [&](int a, int b) {
      const bool oa = now - *free_since_[static_cast<std::size_t>(a)] >= settings_.orphan_after;
      const bool ob = now - *free_since_[static_cast<std::size_t>(b)] >= settings_.orphan_after;
      if (oa != ob) return oa;
      return util::mix64(seed ^ static_cast<std::uint64_t>(a)) < util::mix64(seed ^ static_cast<std::uint64_t>(b));
    });
    int room = std::max(0, share - have);
    for (int p : free) {
      const bool orphan = now - *free_since_[static_cast<std::size_t>(p)] >= settings_.orphan_after;
      if (!orphan && room == 0) break;
      moves.take.push_back(p);
      if (room > 0) --room;
    }
    std::sort(moves.take.begin(), moves.take.end());
    return moves;
  }

  // Nothing free: give the surplus back when someone is short of a share.
  if (have <= share) return moves;
  const bool someone_short =
      std::any_of(held.begin(), held.end(), [&](const auto& sn) { return sn.first != view.me && sn.second < share; });
  if (!someone_short) return moves;
  if (last_give_ && now - *last_give_ < settings_.give_pause) return moves;
  last_give_ = now;
  moves.give.assign(mine.end() - (have - share), mine.end());
  return moves;
}

}  // namespace mediax
