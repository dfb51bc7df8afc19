// RateWindows (core/rate_window.hpp): events counted per id in fixed windows given the time; an id
// at its limit waits until its window ends (rounded up to seconds); memory stays bounded.
#include <gtest/gtest.h>

#include "core/rate_window.hpp"

namespace mediax {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const MonoTime t0{std::chrono::hours(1)};

TEST(RateWindows, AnIdMayGoOnUntilItsLimitThenWaitsForTheRestOfItsWindow) {
  RateWindows w(3, seconds(60), 100);
  EXPECT_EQ(w.wait("k", t0), seconds(0));
  EXPECT_FALSE(w.count("k", t0));
  EXPECT_FALSE(w.count("k", t0 + seconds(10)));
  EXPECT_EQ(w.wait("k", t0 + seconds(10)), seconds(0)) << "two of three";
  EXPECT_TRUE(w.count("k", t0 + seconds(20))) << "the third reaches the limit: the moment to log";
  EXPECT_EQ(w.wait("k", t0 + seconds(20)), seconds(40));
  EXPECT_EQ(w.wait("k", t0 + seconds(59) + milliseconds(1)), seconds(1)) << "rounded up, never 0 while held";
  EXPECT_EQ(w.wait("k", t0 + seconds(60)), seconds(0)) << "the window is over";
  EXPECT_EQ(w.wait("other", t0 + seconds(20)), seconds(0)) << "ids are counted apart";
}

TEST(RateWindows, ANewWindowStartsAtTheFirstEventAfterTheLastOne) {
  RateWindows w(2, seconds(10), 100);
  w.count("k", t0);
  EXPECT_TRUE(w.count("k", t0 + seconds(1)));
  EXPECT_EQ(w.wait("k", t0 + seconds(5)), seconds(5));
  // Counting on while held (a caller that counts refusals too) reports the limit only once.
  EXPECT_FALSE(w.count("k", t0 + seconds(6)));
  EXPECT_EQ(w.wait("k", t0 + seconds(6)), seconds(4));
  // After the window: counting starts again from one.
  EXPECT_FALSE(w.count("k", t0 + seconds(12)));
  EXPECT_EQ(w.wait("k", t0 + seconds(12)), seconds(0));
  EXPECT_TRUE(w.count("k", t0 + seconds(13)));
  EXPECT_EQ(w.wait("k", t0 + seconds(13)), seconds(9)) << "the new window began at 12 s";
}

TEST(RateWindows, ALimitOfOneHoldsAfterTheFirstEvent) {
  RateWindows w(1, seconds(30), 10);
  EXPECT_TRUE(w.count("k", t0));
  EXPECT_EQ(w.wait("k", t0), seconds(30));
}

TEST(RateWindows, MemoryIsBoundedEndedWindowsGoFirstThenTheOldest) {
  RateWindows w(1, seconds(60), 3);
  w.count("a", t0);
  w.count("b", t0 + seconds(1));
  w.count("c", t0 + seconds(2));
  EXPECT_EQ(w.size(), 3U);
  // All three still running: "a" (the oldest) is forgotten to make room for "d".
  w.count("d", t0 + seconds(3));
  EXPECT_EQ(w.size(), 3U);
  EXPECT_EQ(w.wait("a", t0 + seconds(3)), seconds(0)) << "forgotten";
  EXPECT_GT(w.wait("b", t0 + seconds(3)), seconds(0));
  EXPECT_GT(w.wait("d", t0 + seconds(3)), seconds(0));
  // Later every window has ended: they all go at once when room is needed.
  w.count("e", t0 + seconds(100));
  EXPECT_EQ(w.size(), 1U);
  for (int i = 0; i < 1000; ++i) w.count("flood-" + std::to_string(i), t0 + seconds(100));
  EXPECT_EQ(w.size(), 3U);
}

}  // namespace
}  // namespace mediax
