#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <unordered_map>
#include <utility>
#include <vector>

#include "schedule/timer_wheel.hpp"

using namespace mediax;
using Id = TimerWheel::Id;
using Tick = TimerWheel::Tick;

namespace {

constexpr Tick kWheelSpan = Tick{64} * 64 * 64 * 64;  // 64^4 ticks: beyond this, the overflow list

// The obviously correct model the wheel is checked against.
class ReferenceWheel {
 public:
  explicit ReferenceWheel(Tick now) : now_(now) {}

  void insert(Id id, Tick due) {
    cancel(id);
    by_due_.emplace(due, id);
    due_of_[id] = due;
  }
  bool cancel(Id id) {
    auto it = due_of_.find(id);
    if (it == due_of_.end()) return false;
    auto [lo, hi] = by_due_.equal_range(it->second);
    for (auto e = lo; e != hi; ++e) {
      if (e->second == id) {
        by_due_.erase(e);
        break;
      }
    }
    due_of_.erase(it);
    return true;
  }
  // (due, id) of every fired entry, sorted.
  std::vector<std::pair<Tick, Id>> advance(Tick now) {
    now_ = std::max(now_, now);
    std::vector<std::pair<Tick, Id>> fired;
    auto end = by_due_.upper_bound(now_);
    for (auto it = by_due_.begin(); it != end; ++it) {
      fired.emplace_back(it->first, it->second);
      due_of_.erase(it->second);
    }
    by_due_.erase(by_due_.begin(), end);
    std::sort(fired.begin(), fired.end());
    return fired;
  }
  std::optional<Tick> next_due() const {
    if (by_due_.empty()) return std::nullopt;
    return by_due_.begin()->first;
  }
  std::optional<Tick> due_of(Id id) const {
    auto it = due_of_.find(id);
    if (it == due_of_.end()) return std::nullopt;
    return it->second;
  }
  std::size_t size() const { return due_of_.size(); }
  Tick now() const { return now_; }

 private:
  Tick now_;
  std::multimap<Tick, Id> by_due_;
  std::unordered_map<Id, Tick> due_of_;
};

// Advances the wheel, checks the output is ordered by due tick, returns (due, id) sorted.
std::vector<std::pair<Tick, Id>> advance_checked(TimerWheel& wheel, Tick now,
                                                 const std::unordered_map<Id, Tick>& dues) {
  std::vector<Id> ids = wheel.advance(now);
  std::vector<std::pair<Tick, Id>> fired;
  fired.reserve(ids.size());
  for (Id id : ids) fired.emplace_back(dues.at(id), id);
  EXPECT_TRUE(std::is_sorted(fired.begin(), fired.end(), [](const auto& a, const auto& b) {
    return a.first < b.first;
  })) << "advance must return earliest first";
  std::sort(fired.begin(), fired.end());
  return fired;
}

std::vector<Tick> dues_of(const std::vector<Id>& ids, const std::unordered_map<Id, Tick>& dues) {
  std::vector<Tick> out;
  for (Id id : ids) out.push_back(dues.at(id));
  return out;
}

}  // namespace

TEST(TimerWheel, StartsEmptyAtTheGivenTime) {
  TimerWheel wheel(1234);
  EXPECT_EQ(wheel.now(), 1234);
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_FALSE(wheel.next_due().has_value());
  EXPECT_TRUE(wheel.advance(1'000'000).empty());
  EXPECT_EQ(wheel.now(), 1'000'000);
}

TEST(TimerWheel, FiresEntriesEarliestFirstAndOnlyWhenDue) {
  TimerWheel wheel(0);
  std::unordered_map<Id, Tick> dues = {{1, 50}, {2, 3}, {3, 4000}, {4, 3}, {5, 70}, {6, 300000}};
  for (auto [id, due] : dues) wheel.insert(id, due);
  EXPECT_EQ(wheel.size(), 6u);

  EXPECT_TRUE(wheel.advance(2).empty());
  EXPECT_EQ(dues_of(wheel.advance(60), dues), (std::vector<Tick>{3, 3, 50}));
  EXPECT_EQ(wheel.now(), 60);
  EXPECT_EQ(wheel.size(), 3u);
  EXPECT_FALSE(wheel.contains(2));
  EXPECT_TRUE(wheel.contains(5));
  EXPECT_EQ(wheel.advance(69), std::vector<Id>{});
  EXPECT_EQ(wheel.advance(70), std::vector<Id>{5});
  EXPECT_EQ(wheel.advance(1'000'000), (std::vector<Id>{3, 6}));
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, CancelledEntryNeverFires) {
  TimerWheel wheel(0);
  wheel.insert(7, 100);
  wheel.insert(8, 100);
  EXPECT_TRUE(wheel.cancel(7));
  EXPECT_FALSE(wheel.cancel(7));
  EXPECT_FALSE(wheel.cancel(99));
  EXPECT_FALSE(wheel.contains(7));
  EXPECT_FALSE(wheel.due_of(7).has_value());
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_EQ(wheel.advance(200), std::vector<Id>{8});
}

TEST(TimerWheel, InsertingAPresentIdReschedulesIt) {
  TimerWheel wheel(0);
  wheel.insert(1, 100000);
  wheel.insert(1, 10);  // earlier
  wheel.insert(2, 10);
  wheel.insert(2, 5000);  // later
  EXPECT_EQ(wheel.size(), 2u);
  EXPECT_EQ(wheel.due_of(1), 10);
  EXPECT_EQ(wheel.due_of(2), 5000);
  EXPECT_EQ(wheel.next_due(), 10);
  EXPECT_EQ(wheel.advance(4999), std::vector<Id>{1});
  EXPECT_EQ(wheel.advance(5000), std::vector<Id>{2});
  EXPECT_TRUE(wheel.advance(200000).empty());
}

TEST(TimerWheel, EntryDueInThePastFiresAtTheNextAdvance) {
  TimerWheel wheel(1000);
  wheel.insert(1, 10);
  wheel.insert(2, 1000);  // due exactly now
  wheel.insert(3, 999);
  wheel.insert(4, 1001);
  EXPECT_EQ(wheel.next_due(), 10);
  EXPECT_EQ(wheel.due_of(1), 10);
  // Advancing to the same time (or an earlier one) fires what is already due, earliest first.
  EXPECT_EQ(wheel.advance(500), (std::vector<Id>{1, 3, 2}));
  EXPECT_EQ(wheel.now(), 1000);
  EXPECT_EQ(wheel.next_due(), 1001);
  EXPECT_EQ(wheel.advance(1001), std::vector<Id>{4});
}

TEST(TimerWheel, TimeNeverMovesBackwards) {
  TimerWheel wheel(100);
  wheel.advance(50);
  EXPECT_EQ(wheel.now(), 100);
  wheel.insert(1, 80);
  EXPECT_EQ(wheel.advance(90), std::vector<Id>{1});
  EXPECT_EQ(wheel.now(), 100);
}

TEST(TimerWheel, NextDueIsExactThroughCascades) {
  TimerWheel wheel(0);
  wheel.insert(1, 70001);  // level 2
  wheel.insert(2, 70000);
  wheel.insert(3, 4097);  // level 2 boundary + 1
  wheel.insert(4, 65);    // level 1
  EXPECT_EQ(wheel.next_due(), 65);
  EXPECT_EQ(wheel.advance(65), std::vector<Id>{4});
  EXPECT_EQ(wheel.next_due(), 4097);
  EXPECT_TRUE(wheel.advance(4096).empty());  // cascades 4097's slot down
  EXPECT_EQ(wheel.next_due(), 4097);
  EXPECT_EQ(wheel.advance(4097), std::vector<Id>{3});
  EXPECT_EQ(wheel.next_due(), 70000);
  EXPECT_TRUE(wheel.advance(69999).empty());
  EXPECT_EQ(wheel.next_due(), 70000);
  EXPECT_TRUE(wheel.cancel(2));
  EXPECT_EQ(wheel.next_due(), 70001);
  wheel.insert(5, 69999);  // already due
  EXPECT_EQ(wheel.next_due(), 69999);
  EXPECT_EQ(wheel.advance(70001), (std::vector<Id>{5, 1}));
  EXPECT_FALSE(wheel.next_due().has_value());
}

TEST(TimerWheel, EntriesBeyondTheWheelSpanWaitInOverflowAndFireOnTime) {
  TimerWheel wheel(0);
  const Tick a = kWheelSpan + 5;
  const Tick b = 3 * kWheelSpan + 17;
  const Tick c = 1'000'000'000'000;  // ~60,000 top-level wraps later
  wheel.insert(1, c);
  wheel.insert(2, b);
  wheel.insert(3, a);
  wheel.insert(4, 10);
  EXPECT_EQ(wheel.due_of(2), b);
  EXPECT_EQ(wheel.next_due(), 10);
  EXPECT_EQ(wheel.advance(10), std::vector<Id>{4});
  EXPECT_EQ(wheel.next_due(), a);
  EXPECT_TRUE(wheel.advance(a - 1).empty());
  EXPECT_EQ(wheel.next_due(), a);
  EXPECT_EQ(wheel.advance(a), std::vector<Id>{3});
  EXPECT_EQ(wheel.next_due(), b);
  EXPECT_TRUE(wheel.cancel(2));
  EXPECT_EQ(wheel.next_due(), c);
  EXPECT_TRUE(wheel.advance(c - 1).empty());
  EXPECT_EQ(wheel.next_due(), c);
  EXPECT_EQ(wheel.advance(c), std::vector<Id>{1});
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, LargeJumpFiresEverythingInOrder) {
  TimerWheel wheel(0);
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<Tick> dist(1, 1'000'000'000);
  std::unordered_map<Id, Tick> dues;
  for (Id id = 0; id < 20000; ++id) {
    dues[id] = dist(rng);
    wheel.insert(id, dues[id]);
  }
  auto fired = advance_checked(wheel, 1'000'000'000, dues);
  EXPECT_EQ(fired.size(), dues.size());
  EXPECT_EQ(wheel.size(), 0u);
  // A jump of 10^15 ticks with a few entries must not walk tick by tick.
  wheel.insert(1, 500'000'000'000'000);
  wheel.insert(2, 999'999'999'999'999);
  EXPECT_EQ(wheel.advance(1'000'000'000'000'000), (std::vector<Id>{1, 2}));
}

TEST(TimerWheel, NegativeTicksKeepTheirOrder) {
  TimerWheel wheel(-1'000'000);
  wheel.insert(1, 10);
  wheel.insert(2, -500);
  wheel.insert(3, -999'999);
  EXPECT_EQ(wheel.next_due(), -999'999);
  EXPECT_EQ(wheel.advance(-1), (std::vector<Id>{3, 2}));
  EXPECT_EQ(wheel.advance(10), std::vector<Id>{1});
}

TEST(TimerWheel, OneMillionRandomEntriesEachFireOnceNeverEarly) {
  constexpr Id kCount = 1'000'000;
  TimerWheel wheel(0);
  ReferenceWheel ref(0);
  std::mt19937_64 rng(7);
  // Mostly within the wheel span, some far beyond it (overflow).
  std::uniform_int_distribution<Tick> near(0, 2 * kWheelSpan);
  std::uniform_int_distribution<Tick> far(0, 40 * kWheelSpan);
  std::unordered_map<Id, Tick> dues;
  dues.reserve(kCount);
  for (Id i = 0; i < kCount; ++i) {
    const Id id = i * 2654435761u;  // spread ids, not just 0..n
    const Tick due = (i % 10 == 0) ? far(rng) : near(rng);
    dues[id] = due;
    wheel.insert(id, due);
    ref.insert(id, due);
  }
  EXPECT_EQ(wheel.size(), kCount);
  EXPECT_LT(wheel.memory_bytes() / kCount, 100u) << "bytes per entry";

  std::uniform_int_distribution<Tick> step(1, kWheelSpan / 50);
  std::vector<char> seen(kCount, 0);
  Tick previous = 0;
  std::size_t total = 0;
  while (wheel.size() > 0) {
    ASSERT_EQ(wheel.next_due(), ref.next_due());
    const Tick now = previous + step(rng);
    auto fired = advance_checked(wheel, now, dues);
    auto expected = ref.advance(now);
    ASSERT_EQ(fired, expected) << "at now=" << now;
    for (auto [due, id] : fired) {
      ASSERT_LE(due, now);
      if (previous > 0) {
        ASSERT_GT(due, previous) << "fired late: was due at an earlier advance";
      }
      const Id index = id / 2654435761u;
      ASSERT_EQ(seen[index], 0) << "fired twice";
      seen[index] = 1;
    }
    total += fired.size();
    previous = now;
  }
  EXPECT_EQ(total, kCount);
}

TEST(TimerWheel, RandomOperationsMatchTheReferenceModel) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937_64 rng(seed);
    const Tick start = static_cast<Tick>(rng() % 1'000'000'000) - 500'000'000;
    TimerWheel wheel(start);
    ReferenceWheel ref(start);
    std::unordered_map<Id, Tick> dues;
    std::uniform_int_distribution<int> op(0, 99);
    std::uniform_int_distribution<Id> ids(1, 3000);
    // Offsets from now at every scale: past, same tick, each level, beyond the wheel.
    std::uniform_int_distribution<int> scale(0, 6);
    auto offset = [&] {
      static constexpr Tick kScales[] = {0, 1, 64, 4096, 262144, kWheelSpan, 50 * kWheelSpan};
      const Tick s = kScales[scale(rng)];
      const Tick o = static_cast<Tick>(rng() % static_cast<std::uint64_t>(2 * s + 1));
      return o - s / 4;  // some in the past
    };
    for (int i = 0; i < 20000; ++i) {
      const int what = op(rng);
      if (what < 55) {
        const Id id = ids(rng);
        const Tick due = ref.now() + offset();
        dues[id] = due;
        wheel.insert(id, due);
        ref.insert(id, due);
      } else if (what < 75) {
        const Id id = ids(rng);
        ASSERT_EQ(wheel.cancel(id), ref.cancel(id));
      } else if (what < 97) {
        const Tick now = ref.now() + offset();
        ASSERT_EQ(advance_checked(wheel, now, dues), ref.advance(now));
        ASSERT_EQ(wheel.now(), ref.now());
      } else {
        const Id id = ids(rng);
        ASSERT_EQ(wheel.due_of(id), ref.due_of(id));
        ASSERT_EQ(wheel.contains(id), ref.due_of(id).has_value());
      }
      ASSERT_EQ(wheel.size(), ref.size());
      ASSERT_EQ(wheel.next_due(), ref.next_due()) << "op " << i;
    }
    ASSERT_EQ(advance_checked(wheel, std::numeric_limits<Tick>::max(), dues),
              ref.advance(std::numeric_limits<Tick>::max()));
    EXPECT_EQ(wheel.size(), 0u);
  }
}

TEST(TimerWheel, ReserveKeepsEveryEntryAndTheirOrder) {
  TimerWheel wheel(0);
  ReferenceWheel ref(0);
  std::unordered_map<Id, Tick> dues;
  // Entries before and after a reserve (which rebuilds the id index), then a reserve that is
  // smaller than what is held (a no-op).
  for (Id i = 1; i <= 100; ++i) {
    wheel.insert(i * 7919, static_cast<Tick>(i % 13) * 50);
    ref.insert(i * 7919, static_cast<Tick>(i % 13) * 50);
    dues[i * 7919] = static_cast<Tick>(i % 13) * 50;
  }
  wheel.reserve(10'000);
  EXPECT_GE(wheel.memory_bytes(), 10'000 * sizeof(std::uint32_t) * 2);
  for (Id i = 101; i <= 5'000; ++i) {
    wheel.insert(i * 7919, static_cast<Tick>(i % 97) * 3);
    ref.insert(i * 7919, static_cast<Tick>(i % 97) * 3);
    dues[i * 7919] = static_cast<Tick>(i % 97) * 3;
  }
  wheel.reserve(10);
  EXPECT_EQ(wheel.size(), 5'000u);
  for (Id i = 1; i <= 5'000; ++i) ASSERT_EQ(wheel.due_of(i * 7919), dues[i * 7919]);
  EXPECT_TRUE(wheel.cancel(42 * 7919));
  ref.cancel(42 * 7919);
  dues.erase(42 * 7919);
  EXPECT_EQ(advance_checked(wheel, 1'000, dues), ref.advance(1'000));
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, RemoveIfTakesOutTheChosenEntriesWhereverTheyWait) {
  TimerWheel wheel(0);
  for (Id id = 1; id <= 300; ++id) wheel.insert(id, static_cast<TimerWheel::Tick>(id * 1000));  // all levels
  wheel.insert(1'000'000, 1LL << 40);                                                           // the overflow
  EXPECT_EQ(wheel.remove_if([](Id id) { return id % 2 == 0; }), 151u);
  EXPECT_EQ(wheel.size(), 150u);
  EXPECT_FALSE(wheel.contains(2));
  EXPECT_TRUE(wheel.contains(3));
  const auto fired = wheel.advance(1LL << 41);
  EXPECT_EQ(fired.size(), 150u);
  for (Id id : fired) EXPECT_EQ(id % 2, 1u);
}

TEST(TimerWheel, AWheelThatGaveMostEntriesAwayGivesTheirMemoryBackAndKeepsTheRest) {
  TimerWheel wheel(100);
  std::map<Id, TimerWheel::Tick> dues;
  for (Id id = 1; id <= 40'000; ++id) {
    const auto due = static_cast<TimerWheel::Tick>(50 + (id * 7) % 5'000);  // some already due
    wheel.insert(id, due);
    dues[id] = due;
  }
  wheel.insert(999'999, 1LL << 40);  // the overflow
  dues[999'999] = 1LL << 40;
  const auto before = wheel.memory_bytes();
  // Two thirds go, as when an instance gives partitions to two others.
  EXPECT_EQ(wheel.remove_if([](Id id) { return id % 3 != 0; }), 26'667u);
  std::erase_if(dues, [](const auto& kv) { return kv.first % 3 != 0; });
  EXPECT_EQ(wheel.size(), dues.size());
  EXPECT_LT(wheel.memory_bytes(), before / 2) << "the removed entries' nodes and index slots are freed";
  for (const auto& [id, due] : dues) ASSERT_EQ(wheel.due_of(id), due) << id;
  // What stays fires as before: the ones already due first, each at its tick.
  std::vector<Id> fired = wheel.advance(100);
  for (Id id : fired) EXPECT_LE(dues[id], 100);
  for (TimerWheel::Tick t = 101; t <= 6'000; t += 37) {
    for (Id id : wheel.advance(t)) {
      EXPECT_LE(dues[id], t);
      EXPECT_GT(dues[id], t - 37);
      fired.push_back(id);
    }
  }
  EXPECT_EQ(fired.size(), dues.size() - 1);  // all but the overflow's
  EXPECT_EQ(wheel.advance(1LL << 41), std::vector<Id>{999'999});
}
