// A hierarchical timer wheel: pure code, no I/O and no clock. The caller passes the time in
// (Kafka's advanceClock style) so tests drive it with plain numbers.
//
// Time is in whole ticks (the scheduler uses 1 tick = 1 second of unix time). Four levels of
// 64 slots cover 64^4 ticks (~194 days at 1 s); later entries wait in an overflow list that is
// re-examined when the top level wraps. An id -> node index makes cancel O(1). Ids are unique:
// inserting an id that is present reschedules it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace mediax {

class TimerWheel {
 public:
  using Id = std::uint64_t;
  using Tick = std::int64_t;

  explicit TimerWheel(Tick now = 0);
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Schedules id at tick due (a due tick <= now fires at the next advance). Replaces an existing entry.
  void insert(Id id, Tick due);
  // Removes id; returns whether it was present.
  bool cancel(Id id);
  // Removes every id for which pred is true (one pass over the entries); returns how many.
  std::size_t remove_if(const std::function<bool(Id)>& pred);
  // Makes room for n entries in all, so that a bulk load does not grow the index step by step.
  void reserve(std::size_t n);
  bool contains(Id id) const;
  std::optional<Tick> due_of(Id id) const;
  // Moves time to now (never backwards) and returns every id whose due tick <= now, earliest first,
  // removing them from the wheel.
  std::vector<Id> advance(Tick now);
  // The earliest due tick of any entry, or nothing when empty. Exact, not a slot boundary.
  std::optional<Tick> next_due() const;
  std::size_t size() const;
  Tick now() const;
  // Approximate heap bytes held (nodes, id index, slots); for tests and metrics.
  std::size_t memory_bytes() const;

 private:
  void compact();  // rebuilds with only the live entries, memory sized for them
  struct Impl;
  Impl* impl_;
};

}  // namespace mediax
