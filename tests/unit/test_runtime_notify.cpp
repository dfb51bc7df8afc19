// What the daemon tells systemd on SIGHUP (Type=notify-reload, sd_notify(3)).
#include <gtest/gtest.h>

#include "runtime/notify.hpp"
#include "support/manual_time_source.hpp"

namespace mediax {
namespace {

TEST(Notify, ReloadingCarriesTheMonotonicClockInMicroseconds) {
  ManualTimeSource time;  // its monotonic clock starts at 1 h
  EXPECT_EQ(notify::reloading_message(time), "RELOADING=1\nMONOTONIC_USEC=3600000000");
  time.advance(std::chrono::microseconds(1500));
  EXPECT_EQ(notify::reloading_message(time), "RELOADING=1\nMONOTONIC_USEC=3600001500");
}

TEST(Notify, ReloadingUsesClockMonotonicOfTheRealTimeSource) {
  timespec ts{};
  ASSERT_EQ(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
  const long long before = static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
  const std::string m = notify::reloading_message(real_time());
  ASSERT_EQ(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
  const long long after = static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
  const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
  ASSERT_EQ(m.rfind(prefix, 0), 0U) << m;
  const long long usec = std::stoll(m.substr(prefix.size()));
  EXPECT_GE(usec, before);
  EXPECT_LE(usec, after);
}

}  // namespace
}  // namespace mediax
