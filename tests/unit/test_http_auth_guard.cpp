// AuthFailureGuard (http/auth_guard.hpp): failed authentications per peer on a ManualTimeSource; a
// peer at the limit waits out the window, logged once, counted in the metrics.
#include <gtest/gtest.h>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "http/auth_guard.hpp"
#include "obs/metrics.hpp"
#include "support/manual_time_source.hpp"

namespace mediax {
namespace {

using std::chrono::seconds;

// Captures what the default logger writes while it lives.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(AuthFailureGuard, APeerWaitsOutTheWindowAfterItsLimitOfFailures) {
  ManualTimeSource time;
  metrics::Registry m;
  AuthFailureGuard guard({.failures_per_peer = 3, .window = seconds(60)}, time, &m);
  LogCapture log;
  guard.failed("203.0.113.7", "GET", "/v1/apps");
  guard.failed("203.0.113.7", "GET", "/v1/apps");
  EXPECT_EQ(guard.wait("203.0.113.7"), seconds(0));
  time.advance(seconds(15));
  guard.failed("203.0.113.7", "GET", "/v1/grants/1/token");
  EXPECT_EQ(guard.wait("203.0.113.7"), seconds(45)) << "until 60 s after its first failure";
  EXPECT_EQ(guard.wait("198.51.100.1"), seconds(0)) << "other peers go on";
  EXPECT_EQ(m.counter("mediax_rate_limited_total", "", {{"limit", "auth_failures_per_peer"}}).value(), 1);

  // Logged once, with the peer and the route.
  guard.failed("203.0.113.7", "GET", "/v1/apps");
  const auto text = log.text();
  const std::string line = "3 failed authentications from 203.0.113.7 within 60 s (the last: GET /v1/grants/1/token)";
  const auto first = text.find(line);
  EXPECT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find("failed authentications from", first + line.size()), std::string::npos) << text;

  time.advance(seconds(45));
  EXPECT_EQ(guard.wait("203.0.113.7"), seconds(0)) << "the window is over";
}

TEST(AuthFailureGuard, NoPeerNoLimit) {
  ManualTimeSource time;
  AuthFailureGuard guard({.failures_per_peer = 1, .window = seconds(60)}, time, nullptr);
  guard.failed("", "GET", "/v1/apps");
  guard.failed("", "GET", "/v1/apps");
  EXPECT_EQ(guard.wait(""), seconds(0));
}

}  // namespace
}  // namespace mediax
