// AuditTally (service/audit_tally.hpp): token reads counted per who, what, app, grant, result, peer
// and minute; only ended minutes taken (all at stop); counts a failed flush gives back merged; the
// bound on entries. And audit_query_from: GET /v1/audit's query.
#include <gtest/gtest.h>

#include "service/audit_tally.hpp"
#include "service/audit_trail.hpp"

namespace mediax {
namespace {

using std::chrono::seconds;

const TimePoint kMinute = from_unix(1'900'000'020 / 60 * 60);  // the start of a minute

AuditEntry read_of(const std::string& who, const std::string& grant, const std::string& result = "200") {
  AuditEntry e;
  e.who = who;
  e.what = "getGrantToken";
  e.grant = grant;
  e.result = result;
  e.peer = "10.0.0.1";
  return e;
}

TEST(AuditTally, ReadsOfOneKeyGrantAndMinuteBecomeOneCount) {
  AuditTally tally(100);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(tally.add(read_of("crm", "7"), kMinute + seconds(i % 60)));
  tally.add(read_of("crm", "8"), kMinute + seconds(5));
  tally.add(read_of("crm", "7", "404"), kMinute + seconds(5));
  tally.add(read_of("bi", "7"), kMinute + seconds(59));
  tally.add(read_of("crm", "7"), kMinute + seconds(60));  // the next minute
  EXPECT_EQ(tally.size(), 5U) << "keys x grants x results x minutes, not reads";

  const auto rows = tally.take(kMinute + seconds(60));
  ASSERT_EQ(rows.size(), 4U) << "only the minute that ended";
  std::int64_t total = 0;
  for (const auto& r : rows) {
    EXPECT_EQ(r.at, kMinute);
    total += r.count;
    if (r.who == "crm" && r.grant == "7" && r.result == "200") {
      EXPECT_EQ(r.count, 1000);
    }
  }
  EXPECT_EQ(total, 1003);
  EXPECT_EQ(tally.size(), 1U);
  EXPECT_TRUE(tally.take(kMinute + seconds(119)).empty()) << "the next minute is not over";
  const auto last = tally.take(kMinute + seconds(119), true);
  ASSERT_EQ(last.size(), 1U) << "everything, at stop";
  EXPECT_EQ(last[0].at, kMinute + seconds(60));
  EXPECT_EQ(tally.size(), 0U);
}

TEST(AuditTally, CountsGivenBackAreMergedWithReadsCountedMeanwhile) {
  AuditTally tally(100);
  for (int i = 0; i < 3; ++i) tally.add(read_of("crm", "7"), kMinute);
  auto rows = tally.take(kMinute + seconds(61));
  ASSERT_EQ(rows.size(), 1U);
  tally.add(read_of("crm", "7"), kMinute + seconds(30));  // late in the same minute, while the flush failed
  tally.give_back(rows);
  const auto again = tally.take(kMinute + seconds(61));
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(again[0].count, 4);
  EXPECT_EQ(again[0].at, kMinute);
}

TEST(AuditTally, IsBoundedAndSaysWhatItDropped) {
  AuditTally tally(2);
  EXPECT_TRUE(tally.add(read_of("a", "1"), kMinute));
  EXPECT_TRUE(tally.add(read_of("a", "2"), kMinute));
  EXPECT_FALSE(tally.add(read_of("a", "3"), kMinute)) << "a third entry does not fit";
  EXPECT_TRUE(tally.add(read_of("a", "1"), kMinute)) << "an existing one still counts";
  EXPECT_EQ(tally.take_dropped(), 1U);
  EXPECT_EQ(tally.take_dropped(), 0U);

  // A failed flush of an older minute gives back more than fits: the oldest go.
  auto older = read_of("a", "9");
  older.at = kMinute - seconds(60);
  older.count = 7;
  tally.give_back({older});
  EXPECT_EQ(tally.size(), 2U);
  EXPECT_EQ(tally.take_dropped(), 7U);
}

TEST(AuditTally, MinutesAreFloored) {
  EXPECT_EQ(AuditTally::minute_of(kMinute + seconds(59)), kMinute);
  EXPECT_EQ(AuditTally::minute_of(kMinute), kMinute);
  EXPECT_EQ(AuditTally::minute_of(kMinute - std::chrono::microseconds(1)), kMinute - seconds(60));
}

TEST(AuditQueryFrom, ReadsEveryFilter) {
  const auto q = audit_query_from({{"since", "2030-01-01T00:00:00Z"},
                                   {"until", "2030-01-02T08:00:00+08:00"},
                                   {"who", "ops"},
                                   {"app", "shop"},
                                   {"before", "42"},
                                   {"limit", "5"}});
  ASSERT_TRUE(q) << q.error().what();
  EXPECT_EQ(q->since, parse_iso8601("2030-01-01T00:00:00Z"));
  EXPECT_EQ(q->until, parse_iso8601("2030-01-02T00:00:00Z"));
  EXPECT_EQ(q->who, "ops");
  EXPECT_EQ(q->app, "shop");
  EXPECT_EQ(q->before_id, 42);
  EXPECT_EQ(q->limit, 5);
  EXPECT_EQ(audit_query_from({})->limit, kAuditDefaultLimit);
}

TEST(AuditQueryFrom, RefusesWhatItCannotRead) {
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"since", "yesterday"}, {"until", "2030-01-01"}, {"before", "0"}, {"before", "x"}, {"limit", "0"},
           {"limit", "1001"}, {"limit", "5x"}, {"state", "abc"}}) {
    const auto q = audit_query_from({{name, value}});
    ASSERT_FALSE(q) << name << "=" << value;
    EXPECT_EQ(q.error().status(), 400);
    EXPECT_EQ(q.error().code(), "invalid_query");
    EXPECT_EQ(std::string(q.error().what()).rfind(name + ":", 0), 0U) << q.error().what();
    if (name == "state") {
      EXPECT_EQ(std::string(q.error().what()).find(value), std::string::npos) << "not echoed";
    }
  }
}

}  // namespace
}  // namespace mediax
