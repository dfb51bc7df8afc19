// Hierarchical timer wheel (design in the header). How it is laid out:
//
// - Nodes live in one vector, linked into slot lists by 32-bit indices (intrusive, doubly linked);
//   freed nodes go on a free list. A node is 32 bytes.
// - The id -> node index is an open-addressing table of 32-bit node indices (linear probing,
//   backward-shift deletion, load <= 1/2): 8..16 bytes per entry instead of ~40 for a node-based map.
// - An entry sits at the level of the highest 6-bit digit in which its due tick differs from the
//   wheel's current time (`elapsed`), in the slot given by that digit of the due tick. Hence every
//   entry of level L shares all digits above L with `elapsed` and lies in a slot at or after the
//   current one; entries of a lower level are always earlier than entries of a higher level.
//   Entries whose due tick differs above level 3 wait in the overflow list.
// - advance() jumps from occupied slot to occupied slot (found with one 64-bit occupancy mask per
//   level): a level-0 slot fires, a higher slot is emptied and its entries re-placed one level
//   lower or more (each entry moves at most four times). When the wheel is empty and the overflow
//   holds entries, time jumps straight to the top-level epoch of the earliest one and the overflow
//   is re-examined; epochs without entries are skipped, so a jump of 10^9 ticks costs nothing.
// - Ticks are signed; internally they are biased to unsigned so that digit arithmetic keeps order.
#include "schedule/timer_wheel.hpp"
#include "util/mix.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <limits>
#include <utility>

namespace mediax {

namespace {

constexpr int kLevels = 4;
constexpr int kSlotBits = 6;
constexpr int kSlots = 1 << kSlotBits;
constexpr std::uint32_t kNil = std::numeric_limits<std::uint32_t>::max();
// Where a node is: slot (level * 64 + slot), the overflow list, or nowhere (on the free list).
constexpr std::uint16_t kOverflow = kLevels * kSlots;
constexpr std::uint16_t kFree = kOverflow + 1;
constexpr int kEpochBits = kLevels * kSlotBits;
constexpr std::size_t kNoPos = std::numeric_limits<std::size_t>::max();

using U = std::uint64_t;
constexpr U kBias = U{1} << 63;

U to_u(TimerWheel::Tick t) { return static_cast<U>(t) ^ kBias; }
TimerWheel::Tick from_u(U u) { return static_cast<TimerWheel::Tick>(u ^ kBias); }

}  // namespace

struct TimerWheel::Impl {
  struct Node {
    Id id = 0;
    Tick due = 0;
    std::uint32_t prev = kNil;
    std::uint32_t next = kNil;  // also links the free list
    std::uint16_t where = kFree;
  };

  U elapsed;
  std::vector<Node> nodes;
  std::uint32_t free_head = kNil;
  std::array<std::uint32_t, kLevels * kSlots> heads;
  std::array<std::uint64_t, kLevels> occupied{};
  std::uint32_t overflow_head = kNil;
  std::size_t overflow_count = 0;

  // Id index: table of node indices, kNil = empty.
  std::vector<std::uint32_t> table;
  std::size_t count = 0;

  // Cached answers, recomputed lazily after the minimum left.
  mutable bool next_valid = true;
  mutable std::optional<Tick> next_cache;
  mutable bool overflow_min_valid = true;
  mutable std::optional<Tick> overflow_min;

  explicit Impl(Tick now) : elapsed(to_u(now)) {
    heads.fill(kNil);
    table.assign(16, kNil);
  }

  // ---- id index ----
  // Ids are often sequential; the table needs them spread.
  std::size_t home(Id id) const { return util::mix64(id) & (table.size() - 1); }

  // Position in the table holding id, or kNoPos.
  std::size_t find_pos(Id id) const {
    const std::size_t mask = table.size() - 1;
    for (std::size_t i = home(id);; i = (i + 1) & mask) {
      const std::uint32_t n = table[i];
      if (n == kNil) return kNoPos;
      if (nodes[n].id == id) return i;
    }
  }

  std::uint32_t find(Id id) const {
    const std::size_t pos = find_pos(id);
    return pos == kNoPos ? kNil : table[pos];
  }

  void place_in_table(std::uint32_t n) {
    const std::size_t mask = table.size() - 1;
    std::size_t i = home(nodes[n].id);
    while (table[i] != kNil) i = (i + 1) & mask;
    table[i] = n;
  }

  void index_add(std::uint32_t n) {
    if ((count + 1) * 2 > table.size()) {
      std::vector<std::uint32_t> old(table.size() * 2, kNil);
      old.swap(table);
      for (std::uint32_t m : old) {
        if (m != kNil) place_in_table(m);
      }
    }
    place_in_table(n);
    ++count;
  }

  void index_remove(std::size_t pos) {
    // Backward-shift deletion keeps probe chains unbroken without tombstones.
    const std::size_t mask = table.size() - 1;
    std::size_t hole = pos;
    for (std::size_t j = (hole + 1) & mask; table[j] != kNil; j = (j + 1) & mask) {
      const std::size_t h = home(nodes[table[j]].id);
      // Move table[j] into the hole unless its home lies cyclically in (hole, j].
      const bool home_between = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
      if (!home_between) {
        table[hole] = table[j];
        hole = j;
      }
    }
    table[hole] = kNil;
    --count;
  }

  // ---- nodes ----
  std::uint32_t alloc_node(Id id, Tick due) {
    std::uint32_t n;
    if (free_head != kNil) {
      n = free_head;
      free_head = nodes[n].next;
    } else {
      n = static_cast<std::uint32_t>(nodes.size());
      nodes.emplace_back();
    }
    nodes[n] = Node{id, due, kNil, kNil, kFree};
    return n;
  }

  void free_node(std::uint32_t n) {
    nodes[n].where = kFree;
    nodes[n].prev = kNil;
    nodes[n].next = free_head;
    free_head = n;
  }

  std::uint32_t& head_of(std::uint16_t where) { return where == kOverflow ? overflow_head : heads[where]; }

  void link(std::uint32_t n, std::uint16_t where) {
    std::uint32_t& head = head_of(where);
    Node& node = nodes[n];
    node.where = where;
    node.prev = kNil;
    node.next = head;
    if (head != kNil) nodes[head].prev = n;
    head = n;
    if (where == kOverflow) {
      ++overflow_count;
      if (overflow_min_valid && (!overflow_min || node.due < *overflow_min)) overflow_min = node.due;
    } else {
      occupied[where / kSlots] |= U{1} << (where % kSlots);
    }
  }

  void unlink(std::uint32_t n) {
    Node& node = nodes[n];
    const std::uint16_t where = node.where;
    std::uint32_t& head = head_of(where);
    if (node.prev != kNil) {
      nodes[node.prev].next = node.next;
    } else {
      head = node.next;
    }
    if (node.next != kNil) nodes[node.next].prev = node.prev;
    node.prev = node.next = kNil;
    if (where == kOverflow) {
      --overflow_count;
      if (overflow_min_valid && overflow_min && *overflow_min == node.due) overflow_min_valid = false;
    } else if (head == kNil) {
      occupied[where / kSlots] &= ~(U{1} << (where % kSlots));
    }
  }

  // Puts node n where its due tick belongs relative to `elapsed`.
  void place(std::uint32_t n) {
    const U due = to_u(nodes[n].due);
    if (due <= elapsed) {
      // Already due: the current level-0 slot, which the next advance() fires first.
      link(n, static_cast<std::uint16_t>(elapsed % kSlots));
      return;
    }
    const U diff = due ^ elapsed;
    const int level = diff < kSlots ? 0 : (63 - std::countl_zero(diff)) / kSlotBits;
    if (level >= kLevels) {
      link(n, kOverflow);
      return;
    }
    const auto slot = static_cast<std::uint16_t>((due >> (level * kSlotBits)) % kSlots);
    link(n, static_cast<std::uint16_t>(level * kSlots + slot));
  }

  void note_inserted(Tick due) {
    if (next_valid && (!next_cache || due < *next_cache)) next_cache = due;
  }

  void note_removed(Tick due) {
    if (next_valid && next_cache && *next_cache == due) next_valid = false;
  }

  // Lowest occupied level and its first slot at or after the current one.
  std::optional<std::pair<int, int>> first_occupied() const {
    for (int level = 0; level < kLevels; ++level) {
      const U mask = occupied[level];
      if (mask == 0) continue;
      const int cur = static_cast<int>((elapsed >> (level * kSlotBits)) % kSlots);
      U ahead = mask & (~U{0} << cur);
      // Invariant: nothing sits behind the current slot. Tolerate it rather than lose entries.
      assert(ahead == mask);
      if (ahead == 0) ahead = mask;
      return std::pair{level, std::countr_zero(ahead)};
    }
    return std::nullopt;
  }

  // Start tick of a slot in the current window of its level.
  U slot_start(int level, int slot) const {
    const int shift = (level + 1) * kSlotBits;
    const U block = elapsed & ~((U{1} << shift) - 1);
    return block + (U{static_cast<unsigned>(slot)} << (level * kSlotBits));
  }

  std::optional<Tick> min_in_list(std::uint32_t head) const {
    std::optional<Tick> best;
    for (std::uint32_t n = head; n != kNil; n = nodes[n].next) {
      if (!best || nodes[n].due < *best) best = nodes[n].due;
    }
    return best;
  }

  std::optional<Tick> compute_overflow_min() const {
    if (!overflow_min_valid) {
      overflow_min = min_in_list(overflow_head);
      overflow_min_valid = true;
    }
    return overflow_min;
  }

  std::optional<Tick> compute_next() const {
    if (next_valid) return next_cache;
    if (auto first = first_occupied()) {
      next_cache = min_in_list(heads[first->first * kSlots + first->second]);
    } else {
      next_cache = overflow_count ? compute_overflow_min() : std::nullopt;
    }
    next_valid = true;
    return next_cache;
  }

  // Detaches a whole list and returns its first node.
  std::uint32_t take_slot(int level, int slot) {
    const std::size_t s = static_cast<std::size_t>(level * kSlots + slot);
    const std::uint32_t first = heads[s];
    heads[s] = kNil;
    occupied[level] &= ~(U{1} << slot);
    return first;
  }

  std::vector<Id> advance(Tick now_signed) {
    const U now = std::max(to_u(now_signed), elapsed);
    std::vector<std::pair<Tick, Id>> fired;
    for (;;) {
      if (auto first = first_occupied()) {
        const auto [level, slot] = *first;
        const U start = slot_start(level, slot);
        if (start > now) break;
        elapsed = std::max(elapsed, start);
        std::uint32_t n = take_slot(level, slot);
        while (n != kNil) {
          const std::uint32_t next = nodes[n].next;
          if (level == 0) {
            fired.emplace_back(nodes[n].due, nodes[n].id);
            index_remove(find_pos(nodes[n].id));
            free_node(n);
          } else {
            place(n);  // lands on a lower level (or level 0 when due now)
          }
          n = next;
        }
        continue;
      }
      // The wheel is empty. Jump to the top-level epoch of the earliest overflow entry (or of now,
      // if that comes first) and re-examine the overflow there.
      if (overflow_count == 0) break;
      const U target = std::min(now, to_u(*compute_overflow_min()));
      if ((target >> kEpochBits) <= (elapsed >> kEpochBits)) break;
      elapsed = (target >> kEpochBits) << kEpochBits;
      std::uint32_t n = overflow_head;
      overflow_head = kNil;
      overflow_count = 0;
      overflow_min_valid = true;
      overflow_min.reset();
      while (n != kNil) {
        const std::uint32_t next = nodes[n].next;
        place(n);
        n = next;
      }
    }
    elapsed = now;
    if (!fired.empty()) next_valid = false;
    // Slots fire in time order; only entries inserted already due share a slot with later ones.
    if (!std::is_sorted(fired.begin(), fired.end(), [](auto& a, auto& b) { return a.first < b.first; })) {
      std::stable_sort(fired.begin(), fired.end(), [](auto& a, auto& b) { return a.first < b.first; });
    }
    std::vector<Id> ids;
    ids.reserve(fired.size());
    for (auto& f : fired) ids.push_back(f.second);
    return ids;
  }
};

TimerWheel::TimerWheel(Tick now) : impl_(new Impl(now)) {}

TimerWheel::~TimerWheel() { delete impl_; }

void TimerWheel::insert(Id id, Tick due) {
  Impl& w = *impl_;
  std::uint32_t n = w.find(id);
  if (n != kNil) {
    w.unlink(n);
    w.note_removed(w.nodes[n].due);
    w.nodes[n].due = due;
  } else {
    n = w.alloc_node(id, due);
    w.index_add(n);
  }
  w.place(n);
  w.note_inserted(due);
}

bool TimerWheel::cancel(Id id) {
  Impl& w = *impl_;
  const std::size_t pos = w.find_pos(id);
  if (pos == kNoPos) return false;
  const std::uint32_t n = w.table[pos];
  w.unlink(n);
  w.note_removed(w.nodes[n].due);
  w.index_remove(pos);
  w.free_node(n);
  return true;
}

std::size_t TimerWheel::remove_if(const std::function<bool(Id)>& pred) {
  std::vector<Id> doomed;
  for (const auto& node : impl_->nodes) {
    if (node.where != kFree && pred(node.id)) doomed.push_back(node.id);
  }
  for (Id id : doomed) cancel(id);
  // The node vector and the index never shrink on their own: a wheel that gave most of its
  // entries away (partitions handed to another instance) is rebuilt, so their memory goes too.
  if (impl_->nodes.size() >= 4096 && impl_->count * 2 < impl_->nodes.size()) compact();
  return doomed.size();
}

void TimerWheel::compact() {
  std::vector<std::pair<Id, Tick>> live;
  live.reserve(impl_->count);
  for (const auto& node : impl_->nodes) {
    if (node.where != kFree) live.emplace_back(node.id, node.due);
  }
  auto* fresh = new Impl(from_u(impl_->elapsed));
  delete impl_;
  impl_ = fresh;
  reserve(live.size());
  for (const auto& [id, due] : live) insert(id, due);
}

void TimerWheel::reserve(std::size_t n) {
  Impl& w = *impl_;
  w.nodes.reserve(n);
  std::size_t size = w.table.size();
  while (size < 2 * n) size *= 2;  // load <= 1/2, as index_add keeps it
  if (size == w.table.size()) return;
  std::vector<std::uint32_t> old(size, kNil);
  old.swap(w.table);
  for (std::uint32_t m : old) {
    if (m != kNil) w.place_in_table(m);
  }
}

bool TimerWheel::contains(Id id) const { return impl_->find(id) != kNil; }

std::optional<TimerWheel::Tick> TimerWheel::due_of(Id id) const {
  const std::uint32_t n = impl_->find(id);
  if (n == kNil) return std::nullopt;
  return impl_->nodes[n].due;
}

std::vector<TimerWheel::Id> TimerWheel::advance(Tick now) { return impl_->advance(now); }

std::optional<TimerWheel::Tick> TimerWheel::next_due() const { return impl_->compute_next(); }

std::size_t TimerWheel::size() const { return impl_->count; }

TimerWheel::Tick TimerWheel::now() const { return from_u(impl_->elapsed); }

std::size_t TimerWheel::memory_bytes() const {
  return sizeof(Impl) + impl_->nodes.capacity() * sizeof(Impl::Node) + impl_->table.capacity() * sizeof(std::uint32_t);
}

}  // namespace mediax
