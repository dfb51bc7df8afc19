// Token reads counted in memory for the audit trail: one count per (who, what, app, grant, result,
// peer, minute), written by the janitor as one row each (AuditTrail::flush_counts). The trail grows
// with keys x apps x minutes, not with the read rate, and counting one read is a short lock and a
// map lookup: the event loop's fast path calls it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "store/audit_records.hpp"

namespace mediax {

class AuditTally {
 public:
  // max_entries bounds the memory: reads of a new (who, app, ... minute) beyond it are dropped
  // (counted in dropped()), and so are the oldest counts a failed flush gives back beyond it.
  explicit AuditTally(std::size_t max_entries) : max_entries_(max_entries) {}

  // Counts one read of `e` (its who, what, app, grant, result, peer) at `at`. False when full.
  bool add(const AuditEntry& e, TimePoint at);
  // Removes and returns the counts of the minutes that ended by `now` (every minute when
  // `everything`), oldest first, each with `at` the start of its minute and `count` its reads.
  std::vector<AuditEntry> take(TimePoint now, bool everything = false);
  // Counts a flush could not write, added back (to reads counted meanwhile); beyond max_entries
  // the oldest minutes are dropped.
  void give_back(const std::vector<AuditEntry>& rows);

  std::size_t size() const;
  // Reads not recorded because the tally was full, since the last call (which resets it).
  std::uint64_t take_dropped();

  // The start of the minute `at` falls in.
  static TimePoint minute_of(TimePoint at);

 private:
  using Key = std::tuple<std::int64_t, std::string, std::string, std::string, std::string, std::string, std::string>;
  static Key key_of(const AuditEntry& e, TimePoint minute);
  void trim_locked();

  const std::size_t max_entries_;
  mutable std::mutex mu_;
  std::map<Key, std::int64_t> counts_;  // ordered by minute first: the oldest go first
  std::uint64_t dropped_ = 0;
};

}  // namespace mediax
