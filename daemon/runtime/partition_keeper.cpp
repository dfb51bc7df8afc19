#include "runtime/partition_keeper.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

namespace mediax {

namespace {

// The keeper's metrics: each family's name and help written here only.
class PartitionMetrics {
 public:
  explicit PartitionMetrics(metrics::Registry& reg) : reg_(reg) {}
  void state(int owned, std::size_t members) {
    reg_.gauge("mediax_partitions_owned", "Partitions of the refresh work this instance owns")
        .set(static_cast<double>(owned));
    reg_.gauge("mediax_partition_members", "Instances sharing the refresh work (holding the member lock)")
        .set(static_cast<double>(members));
  }
  void moved(const char* how, std::size_t n) {
    reg_.counter("mediax_partition_moves_total", "Partitions taken over or given up by this instance", {{"how", how}})
        .inc(static_cast<double>(n));
  }

 private:
  metrics::Registry& reg_;
};

}  // namespace

PartitionKeeper::PartitionKeeper(PartitionClaims& claims, PartitionSet& owned, PartitionWork work,
                                 const TimeSource& clock, metrics::Registry& metrics)
    : claims_(claims), owned_(owned), work_(std::move(work)), clock_(clock), metrics_(metrics) {
  owned_.set_all(false);
}

void PartitionKeeper::forget(const std::vector<int>& partitions, const char* why) {
  if (partitions.empty()) return;
  for (int p : partitions) owned_.set(p, false);  // first: nothing of them is scheduled or cached from now on
  work_.forget(partitions);
  PartitionMetrics(metrics_).moved(why, partitions.size());
}

std::optional<std::size_t> PartitionKeeper::join() {
  try {
    const auto view = claims_.look();
    PartitionMetrics(metrics_).state(owned_.count(), view.members.size());
    return view.members.size();
  } catch (const std::exception& e) {
    spdlog::warn("partitions: cannot join the instances sharing the work ({})", e.what());
    return std::nullopt;
  }
}

bool PartitionKeeper::round() {
  PartitionView view;
  try {
    view = claims_.look();
  } catch (const std::exception& e) {
    if (!unreachable_) {
      spdlog::warn("partitions: cannot read who owns what ({}); keeping the {} this instance has", e.what(),
                   owned_.count());
    }
    unreachable_ = true;
    return false;
  }
  if (unreachable_) spdlog::info("partitions: database reachable again");
  unreachable_ = false;

  // What the database says this session holds is what this instance owns. A partition it had
  // that is free now (the claims' session was lost with the database, and nobody took it) is
  // claimed again before anything is forgotten: its tokens keep being served from memory.
  std::vector<int> lost, free_again;
  for (int p : owned_.list()) {
    const auto holder = view.holders[static_cast<std::size_t>(p)];
    if (holder == 0) {
      free_again.push_back(p);
    } else if (holder != view.me) {
      lost.push_back(p);
    }
  }
  if (!free_again.empty()) {
    std::vector<int> got;
    try {
      got = claims_.claim(free_again);
    } catch (const std::exception& e) {
      spdlog::warn("partitions: could not claim again the {} this instance had: {}", free_again.size(), e.what());
      return false;
    }
    for (int p : got) view.holders[static_cast<std::size_t>(p)] = view.me;
    std::set_difference(free_again.begin(), free_again.end(), got.begin(), got.end(), std::back_inserter(lost));
    std::sort(lost.begin(), lost.end());
  }
  if (!lost.empty()) {
    spdlog::warn("partitions: {} taken by other instances while this one's claims were lost; forgetting them",
                 lost.size());
    forget(lost, "lost");
  }

  const auto moves = planner_.next(view, clock_.system());
  try {
    if (!moves.give.empty()) {
      forget(moves.give, "given");
      claims_.release(moves.give);
      spdlog::info("partitions: gave {} to other instances ({} members), own {}", moves.give.size(),
                   view.members.size(), owned_.count());
    }
    if (!moves.take.empty()) {
      const auto got = claims_.claim(moves.take);
      for (int p : got) owned_.set(p, true);  // first: what changes while they load is kept
      if (!got.empty()) {
        try {
          work_.adopt(got);
        } catch (const std::exception&) {
          // Not loaded: give them back, so that a later round (or another instance) loads them.
          forget(got, "lost");
          claims_.release(got);
          throw;
        }
        PartitionMetrics(metrics_).moved("taken", got.size());
        spdlog::info("partitions: took {} ({} members), own {}", got.size(), view.members.size(), owned_.count());
      }
    }
  } catch (const std::exception& e) {
    spdlog::warn("partitions: could not move partitions: {}", e.what());
    PartitionMetrics(metrics_).state(owned_.count(), view.members.size());
    return false;
  }
  PartitionMetrics(metrics_).state(owned_.count(), view.members.size());
  return true;
}

void PartitionKeeper::leave() {
  const auto had = owned_.list();
  claims_.leave();
  owned_.set_all(false);
  if (!had.empty()) spdlog::info("partitions: gave up all {} (stopping)", had.size());
}

}  // namespace mediax
