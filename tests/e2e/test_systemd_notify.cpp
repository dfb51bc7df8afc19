// What mediaxd tells systemd (sd_notify(3)), end to end: a datagram socket named in NOTIFY_SOCKET
// stands in for systemd. READY=1 once it serves; on SIGHUP RELOADING=1 with MONOTONIC_USEC (the
// Type=notify-reload protocol) and READY=1 after the reload, also when the new file is refused;
// STOPPING=1 on SIGTERM.
#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness.hpp"

namespace mediax::e2e {
namespace {

long long monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// The receiving end of NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    require(path.size() < sizeof addr.sun_path, "socket path too long: " + path);
    std::copy(path.begin(), path.end(), addr.sun_path);
    require(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "cannot bind " + path);
  }
  ~NotifySocket() { ::close(fd_); }

  // The next message, or "" when none comes within timeout.
  std::string next(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return "";
    char buf[4096];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return "";
    std::string m(buf, static_cast<std::size_t>(n));
    seen_ += "[" + m + "] ";
    return m;
  }
  // Every message received so far, for failure messages.
  const std::string& seen() const { return seen_; }
  // Messages until one contains `needle`; that one, or "" when it does not come within timeout.
  std::string until(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      const std::string m = next(left);
      if (m.find(needle) != std::string::npos) return m;
    }
    return "";
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::string seen_;
};

long long monotonic_usec_of(const std::string& message) {
  const std::string field = "MONOTONIC_USEC=";
  const auto at = message.find(field);
  if (at == std::string::npos) return -1;
  return std::stoll(message.substr(at + field.size()));
}

TEST(SystemdNotify, ReadyThenReloadingWithMonotonicUsecAndReadyOnSighupThenStopping) {
  const std::string dir = test::make_temp_dir("mediax-e2e-notify");
  const std::string db_url = cluster().create_migrated_database(random_hex("e2e_notify_", 8));
  const std::string config = dir + "/mediaxd.toml";
  write_daemon_config(config, db_url, test::free_port());
  NotifySocket systemd(dir + "/notify.sock");
  test::ProcessOptions opts;
  opts.log_dir = dir;
  opts.env = {"NOTIFY_SOCKET=" + dir + "/notify.sock"};
  test::Process daemon(mediaxd_bin(), {"--config", config}, opts);

  const std::string ready = systemd.until("READY=1", 30s);
  ASSERT_NE(ready, "") << systemd.seen() << "\n" << daemon.stderr_text();
  EXPECT_NE(ready.find("STATUS=serving"), std::string::npos) << ready;

  // A valid file: RELOADING=1 stamped with CLOCK_MONOTONIC, then READY=1.
  long long before = monotonic_usec();
  ASSERT_EQ(::kill(daemon.pid(), SIGHUP), 0);
  std::string reloading = systemd.until("RELOADING=1", 10s);
  long long after = monotonic_usec();
  ASSERT_NE(reloading, "") << systemd.seen() << "\n" << daemon.stderr_text();
  EXPECT_GE(monotonic_usec_of(reloading), before) << reloading;
  EXPECT_LE(monotonic_usec_of(reloading), after) << reloading;
  EXPECT_EQ(systemd.next(10s), "READY=1") << systemd.seen() << "\n" << daemon.stderr_text();
  EXPECT_TRUE(daemon.wait_for_output("configuration reloaded", 10s, true)) << daemon.stderr_text();

  // A file that does not validate: refused, and still RELOADING=1 then READY=1.
  std::ofstream(config, std::ios::app) << "\n[refresh]\nno_such_key = 1\n";
  before = monotonic_usec();
  ASSERT_EQ(::kill(daemon.pid(), SIGHUP), 0);
  reloading = systemd.until("RELOADING=1", 10s);
  after = monotonic_usec();
  ASSERT_NE(reloading, "") << systemd.seen() << "\n" << daemon.stderr_text();
  EXPECT_GE(monotonic_usec_of(reloading), before) << reloading;
  EXPECT_LE(monotonic_usec_of(reloading), after) << reloading;
  EXPECT_EQ(systemd.next(10s), "READY=1") << systemd.seen() << "\n" << daemon.stderr_text();
  EXPECT_TRUE(daemon.wait_for_output("reload failed, keeping the running configuration", 10s, true))
      << daemon.stderr_text();

  EXPECT_EQ(daemon.terminate(15s), 0) << daemon.stderr_text();
  EXPECT_NE(systemd.until("STOPPING=1", 5s), "") << systemd.seen();
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mediax::e2e
