// Keeps this instance's share of the partitions (core/partitions.hpp): every round it reads who
// holds what (PartitionClaims), asks the planner (schedule/partition_plan.hpp) what to take or
// give, and moves the work: partitions taken are loaded (their schedule into the timer wheel,
// their tokens into the cache), partitions given up or lost are forgotten there first.
//
// The database's locks are the truth: a partition this instance thought it held but the database
// says it does not (the claims' session was lost) is forgotten too. While the database cannot be
// reached the instance keeps what it had: the leases of each refresh still keep two instances
// from refreshing the same grant, and the next round that reaches the database corrects it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/partitions.hpp"
#include "obs/metrics.hpp"
#include "schedule/partition_plan.hpp"
#include "store/interfaces.hpp"
#include "util/time_source.hpp"

namespace mediax {

// What taking or giving up partitions does to this instance's memory.
struct PartitionWork {
  std::function<void(const std::vector<int>&)> adopt;   // load their schedule and tokens
  std::function<void(const std::vector<int>&)> forget;  // drop them from the wheel and the cache
};

class PartitionKeeper {
 public:
  // owned starts empty; only the keeper writes it.
  PartitionKeeper(PartitionClaims& claims, PartitionSet& owned, PartitionWork work, const TimeSource& clock,
                  metrics::Registry& metrics);

  // Joins the members without claiming anything; returns how many members there are (this one
  // included), nothing when the database could not be reached. At start, the first round comes a
  // round later when others are there: instances starting together then see each other before
  // any claims a share, rather than one loading every grant to give two thirds away.
  std::optional<std::size_t> join();
  // One look, plan and move. False when the database could not be reached (logged once per outage).
  bool round();
  // Gives everything up (at shutdown): the others take over at once.
  void leave();

 private:
  void forget(const std::vector<int>& partitions, const char* why);

  PartitionClaims& claims_;
  PartitionSet& owned_;
  PartitionWork work_;
  const TimeSource& clock_;
  metrics::Registry& metrics_;
  PartitionPlanner planner_;
  bool unreachable_ = false;
};

}  // namespace mediax
