// Partitions: partition_of and PartitionSet (core), the PartitionPlanner's rule (schedule), and
// the keeper (runtime) against a fake of the database's locks, with the time given.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "core/partitions.hpp"
#include "runtime/partition_keeper.hpp"
#include "schedule/partition_plan.hpp"
#include "store/records.hpp"
#include "support/manual_time_source.hpp"

namespace mediax {
namespace {

using namespace std::chrono_literals;

const TimePoint kT0 = from_unix(1'800'000'000);

TEST(Partitions, AGrantGoesByItsIdAndAnAppTokenByItsApp) {
  EXPECT_EQ(partition_of(RefreshKey{7, 300}), 300 % kPartitionCount);
  EXPECT_EQ(partition_of(RefreshKey{0, 300}), partition_of(RefreshKey{99, 300}))
      << "the app of a grant key is not needed";
  EXPECT_EQ(partition_of(RefreshKey{513, 0}), 513 % kPartitionCount);
  // A packed key (the timer wheel's) lands in the same partition.
  EXPECT_EQ(partition_of(RefreshKey::unpack(RefreshKey{5, 1000}.pack())), partition_of(RefreshKey{5, 1000}));
  EXPECT_EQ(partition_of(RefreshKey::unpack(RefreshKey{1000, 0}.pack())), partition_of(RefreshKey{1000, 0}));
  EXPECT_TRUE(PartitionSet({1, 2}).owns(RefreshKey{0, 258}));
  EXPECT_FALSE(PartitionSet({1, 2}).owns(RefreshKey{0, 259}));
}

TEST(Partitions, ANewSetOwnsEverythingAndTracksChanges) {
  PartitionSet s;
  EXPECT_EQ(s.count(), kPartitionCount);
  s.set_all(false);
  EXPECT_EQ(s.count(), 0);
  EXPECT_FALSE(s.owns(RefreshKey{0, 65}));
  s.set(65, true);
  s.set(200, true);
  EXPECT_TRUE(s.owns(RefreshKey{0, 65 + kPartitionCount}));
  EXPECT_EQ(s.list(), (std::vector<int>{65, 200}));
  s.set(65, false);
  EXPECT_EQ(s.list(), (std::vector<int>{200}));
  EXPECT_FALSE(s.owns(-1));
  EXPECT_FALSE(s.owns(kPartitionCount));
}

// Who holds what: members and partition -> holder.
PartitionView view_of(std::int64_t me, std::vector<std::int64_t> members, const std::map<std::int64_t, int>& counts) {
  PartitionView v;
  v.me = me;
  v.members = std::move(members);
  int p = 0;
  for (const auto& [who, n] : counts) {
    for (int i = 0; i < n; ++i) v.holders[static_cast<std::size_t>(p++)] = who;
  }
  return v;
}

TEST(PartitionPlanner, ALoneInstanceTakesEverything) {
  PartitionPlanner plan;
  const auto m = plan.next(view_of(1, {1}, {}), kT0);
  EXPECT_EQ(m.take.size(), static_cast<std::size_t>(kPartitionCount));
  EXPECT_TRUE(m.give.empty());
}

TEST(PartitionPlanner, TwoStartingTogetherTakeAShareEach) {
  PartitionPlanner a, b;
  const auto ma = a.next(view_of(1, {1, 2}, {}), kT0);
  const auto mb = b.next(view_of(2, {1, 2}, {}), kT0);
  EXPECT_EQ(ma.take.size(), 128u);
  EXPECT_EQ(mb.take.size(), 128u);
  // Each in an order of its own: they mostly want different partitions.
  std::set<int> both(ma.take.begin(), ma.take.end());
  both.insert(mb.take.begin(), mb.take.end());
  EXPECT_GT(both.size(), 170u);
}

TEST(PartitionPlanner, ANewcomerGetsItsShareFromTheOthers) {
  PartitionPlanner a;
  // a and b split the work; c joined and holds nothing: a gives its surplus (128 - 86).
  auto m = a.next(view_of(1, {1, 2, 3}, {{1, 128}, {2, 128}}), kT0);
  EXPECT_TRUE(m.take.empty());
  EXPECT_EQ(m.give.size(), 42u);
  // Not again right away (the newcomer is still taking them).
  EXPECT_TRUE(a.next(view_of(1, {1, 2, 3}, {{1, 86}, {2, 128}}), kT0 + 500ms).give.empty());
  // The newcomer takes up to its share of what is free.
  PartitionPlanner c;
  PartitionView v = view_of(3, {1, 2, 3}, {{1, 86}, {2, 86}});
  m = c.next(v, kT0 + 1s);
  EXPECT_EQ(m.take.size(), 84u);
  for (int p : m.take) EXPECT_EQ(v.holders[static_cast<std::size_t>(p)], 0) << "only free partitions are taken";
}

TEST(PartitionPlanner, AFairSplitStaysPut) {
  PartitionPlanner a;
  // 86 + 86 + 84: nobody is above a share while someone is short.
  for (int i = 0; i < 10; ++i) {
    const auto m = a.next(view_of(1, {1, 2, 3}, {{1, 86}, {2, 86}, {3, 84}}), kT0 + i * 1s);
    EXPECT_TRUE(m.take.empty());
    EXPECT_TRUE(m.give.empty());
  }
}

TEST(PartitionPlanner, ADeadMembersPartitionsAreTakenByTheOthersAtOnce) {
  PartitionPlanner a;
  // c (86 partitions) died: its session and its member lock are gone; a's share is now 128.
  PartitionView v = view_of(1, {1, 2}, {{1, 85}, {2, 85}});
  const auto m = a.next(v, kT0);
  EXPECT_EQ(m.take.size(), 43u);
}

TEST(PartitionPlanner, APartitionFreeForLongIsTakenEvenBeyondTheShare) {
  PartitionPlanner a;
  // Member 3 joined but takes nothing (wedged): 2 partitions stay free.
  const auto v = view_of(1, {1, 2, 3}, {{1, 127}, {2, 127}});
  EXPECT_TRUE(a.next(v, kT0).take.empty()) << "a is over its share of 86 and the partitions are new free ones";
  EXPECT_TRUE(a.next(v, kT0 + 1s).take.empty());
  const auto m = a.next(v, kT0 + 2s);
  EXPECT_EQ(m.take, (std::vector<int>{254, 255})) << "orphans after orphan_after";
}

TEST(PartitionPlanner, FairShare) {
  EXPECT_EQ(PartitionPlanner::fair_share(0), 256);
  EXPECT_EQ(PartitionPlanner::fair_share(1), 256);
  EXPECT_EQ(PartitionPlanner::fair_share(3), 86);
  EXPECT_EQ(PartitionPlanner::fair_share(300), 1);
}

// The database's advisory locks, for several members: who holds what, sessions that end.
class FakeLocks {
 public:
  class Member final : public PartitionClaims {
   public:
    Member(FakeLocks& db, std::int64_t session) : db_(db), session_(session) {}
    PartitionView look() override {
      if (db_.down) throw StoreError("database unreachable");
      db_.members.insert(session_);
      PartitionView v;
      v.me = session_;
      v.members.assign(db_.members.begin(), db_.members.end());
      for (const auto& [p, who] : db_.holders) v.holders[static_cast<std::size_t>(p)] = who;
      return v;
    }
    std::vector<int> claim(const std::vector<int>& ps) override {
      if (db_.down) throw StoreError("database unreachable");
      std::vector<int> got;
      for (int p : ps) {
        if (db_.holders.emplace(p, session_).second) got.push_back(p);
      }
      return got;
    }
    void release(const std::vector<int>& ps) override {
      for (int p : ps) {
        if (auto it = db_.holders.find(p); it != db_.holders.end() && it->second == session_) db_.holders.erase(it);
      }
    }
    void leave() override { db_.end_session(session_); }

   private:
    FakeLocks& db_;
    std::int64_t session_;
  };

  void end_session(std::int64_t s) {
    members.erase(s);
    std::erase_if(holders, [&](const auto& kv) { return kv.second == s; });
  }

  bool down = false;
  std::set<std::int64_t> members;
  std::map<int, std::int64_t> holders;
};

struct KeeperUnderTest {
  KeeperUnderTest(FakeLocks& db, std::int64_t session, const TimeSource& clock)
      : claims(db, session),
        keeper(claims, owned,
               PartitionWork{[this](const std::vector<int>& p) { adopted.insert(adopted.end(), p.begin(), p.end()); },
                             [this](const std::vector<int>& p) { forgot.insert(forgot.end(), p.begin(), p.end()); }},
               clock, metrics) {}
  FakeLocks::Member claims;
  PartitionSet owned;
  metrics::Registry metrics;
  std::vector<int> adopted, forgot;
  PartitionKeeper keeper;
};

TEST(PartitionKeeper, InstancesShareThePartitionsAndTakeOverFromOneThatDies) {
  ManualTimeSource clock(kT0);
  FakeLocks db;
  KeeperUnderTest a(db, 1, clock), b(db, 2, clock), c(db, 3, clock);
  EXPECT_EQ(a.owned.count(), 0) << "the keeper starts with nothing";
  ASSERT_TRUE(a.keeper.round());
  EXPECT_EQ(a.owned.count(), kPartitionCount);
  EXPECT_EQ(a.adopted.size(), static_cast<std::size_t>(kPartitionCount));

  // b and c join; rounds every 500 ms until the split settles.
  for (int i = 0; i < 8; ++i) {
    clock.advance(500ms);
    for (auto* k : {&a, &b, &c}) ASSERT_TRUE(k->keeper.round());
  }
  EXPECT_EQ(a.owned.count() + b.owned.count() + c.owned.count(), kPartitionCount);
  for (auto* k : {&a, &b, &c}) {
    EXPECT_GE(k->owned.count(), 84);
    EXPECT_LE(k->owned.count(), 86);
    for (int p : k->owned.list()) EXPECT_EQ(db.holders.at(p), k == &a ? 1 : k == &b ? 2 : 3);
  }
  EXPECT_EQ(a.forgot.size(), static_cast<std::size_t>(kPartitionCount - a.owned.count())) << "what a gave, it forgot";

  // c dies: its session ends; one round later a and b own everything between them.
  db.end_session(3);
  clock.advance(500ms);
  ASSERT_TRUE(a.keeper.round());
  ASSERT_TRUE(b.keeper.round());
  clock.advance(500ms);
  ASSERT_TRUE(a.keeper.round());
  ASSERT_TRUE(b.keeper.round());
  EXPECT_EQ(a.owned.count() + b.owned.count(), kPartitionCount);
  EXPECT_EQ(db.holders.size(), static_cast<std::size_t>(kPartitionCount));
}

// As the daemon starts (Daemon::start): join, a round later claim. Three starting together each
// load a share only: nothing is loaded by one and given to another.
TEST(PartitionKeeper, InstancesThatJoinBeforeClaimingEachLoadOnlyTheirShare) {
  ManualTimeSource clock(kT0);
  FakeLocks db;
  KeeperUnderTest a(db, 1, clock), b(db, 2, clock), c(db, 3, clock);
  for (auto* k : {&a, &b, &c}) ASSERT_TRUE(k->keeper.join());
  EXPECT_TRUE(db.holders.empty()) << "joining claims nothing";
  EXPECT_EQ(db.members.size(), 3u);
  clock.advance(500ms);
  for (auto* k : {&a, &b, &c}) ASSERT_TRUE(k->keeper.round());
  for (int i = 0; i < 8; ++i) {
    clock.advance(500ms);
    for (auto* k : {&a, &b, &c}) ASSERT_TRUE(k->keeper.round());
  }
  EXPECT_EQ(db.holders.size(), static_cast<std::size_t>(kPartitionCount));
  for (auto* k : {&a, &b, &c}) {
    EXPECT_GE(k->owned.count(), 84);
    EXPECT_LE(k->owned.count(), 86);
    EXPECT_EQ(k->adopted.size(), static_cast<std::size_t>(k->owned.count())) << "loaded its share, nothing more";
    EXPECT_TRUE(k->forgot.empty()) << "nothing given away";
  }
  db.down = true;
  EXPECT_FALSE(a.keeper.join()) << "the database away: joining fails (the daemon does not start)";
}

TEST(PartitionKeeper, KeepsItsPartitionsWhileTheDatabaseIsAwayAndForgetsOnlyThoseTakenMeanwhile) {
  ManualTimeSource clock(kT0);
  FakeLocks db;
  KeeperUnderTest a(db, 1, clock);
  ASSERT_TRUE(a.keeper.round());
  db.down = true;
  EXPECT_FALSE(a.keeper.round());
  EXPECT_EQ(a.owned.count(), kPartitionCount) << "the leases still guard each refresh meanwhile";
  EXPECT_TRUE(a.forgot.empty());
  // The session was lost meanwhile; nobody took anything: all is claimed again, nothing forgotten.
  db.down = false;
  db.end_session(1);
  a.adopted.clear();
  ASSERT_TRUE(a.keeper.round());
  EXPECT_TRUE(a.forgot.empty());
  EXPECT_TRUE(a.adopted.empty()) << "claimed again, never out of memory";
  EXPECT_EQ(db.holders.size(), static_cast<std::size_t>(kPartitionCount));
  // Lost again, and this time another instance took ten partitions meanwhile.
  db.end_session(1);
  db.members.insert(2);
  for (int p = 0; p < 10; ++p) db.holders[p] = 2;
  ASSERT_TRUE(a.keeper.round());
  ASSERT_GE(a.forgot.size(), 10u);
  EXPECT_EQ(std::vector<int>(a.forgot.begin(), a.forgot.begin() + 10), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}))
      << "what another instance holds now is forgotten first";
  EXPECT_TRUE(a.adopted.empty());
  EXPECT_EQ(a.owned.count(), 128) << "then the surplus goes to the other instance (a share each)";
  EXPECT_EQ(a.forgot.size(), static_cast<std::size_t>(kPartitionCount - 128));
}

TEST(PartitionKeeper, PartitionsThatCannotBeLoadedAreGivenBack) {
  ManualTimeSource clock(kT0);
  FakeLocks db;
  FakeLocks::Member claims(db, 1);
  PartitionSet owned;
  metrics::Registry metrics;
  PartitionKeeper keeper(claims, owned,
                         PartitionWork{[](const std::vector<int>&) { throw StoreError("cannot read the schedule"); },
                                       [](const std::vector<int>&) {}},
                         clock, metrics);
  EXPECT_FALSE(keeper.round());
  EXPECT_EQ(owned.count(), 0);
  EXPECT_TRUE(db.holders.empty()) << "released: a later round or another instance loads them";
}

TEST(PartitionKeeper, LeavingGivesEverythingUp) {
  ManualTimeSource clock(kT0);
  FakeLocks db;
  KeeperUnderTest a(db, 1, clock);
  ASSERT_TRUE(a.keeper.round());
  a.keeper.leave();
  EXPECT_EQ(a.owned.count(), 0);
  EXPECT_TRUE(db.holders.empty());
  EXPECT_TRUE(db.members.empty());
}

}  // namespace
}  // namespace mediax
