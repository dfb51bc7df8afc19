// ListenBacklog: a socket listening with httplib's backlog of 5 is widened, so a burst of
// connections completes its handshakes before anyone accepts them.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <vector>

#include "http/listen_backlog.hpp"

namespace mediax {
namespace {

// A loopback socket listening the way cpp-httplib 0.11 does (backlog 5); returns its port.
int listen_like_httplib(ListenBacklog& backlog, int& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  reuse_address(fd);
  backlog.remember(fd);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd, 5) != 0) return -1;
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

// Opens n connections at once without the server accepting any; returns how many completed
// their handshake within the wait. A dropped handshake is resent by the kernel only after 1 s.
int connections_completed(int port, int n, int wait_ms) {
  std::vector<int> fds;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  std::vector<pollfd> polls;
  for (int i = 0; i < n; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    fds.push_back(fd);
  }
  // A connect in progress becomes writable once the handshake completes.
  for (int fd : fds) polls.push_back(pollfd{fd, POLLOUT, 0});
  ::poll(polls.data(), polls.size(), wait_ms);
  int done = 0;
  for (const auto& p : polls) {
    int err = 1;
    socklen_t len = sizeof(err);
    if ((p.revents & POLLOUT) != 0 && ::getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) ++done;
  }
  for (int fd : fds) ::close(fd);
  return done;
}

TEST(ListenBacklog, ABurstOfConnectionsCompletesItsHandshakesOnceWidened) {
  ListenBacklog backlog;
  int port = 0;
  const int fd = listen_like_httplib(backlog, port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(backlog.widen());
  EXPECT_EQ(connections_completed(port, 64, 500), 64);
  ::close(fd);
}

TEST(ListenBacklog, WithoutItTheSixthAndLaterConnectionsWait) {
  // The control: shows that the test above can fail.
  ListenBacklog backlog;
  int port = 0;
  const int fd = listen_like_httplib(backlog, port);
  ASSERT_GE(fd, 0);
  EXPECT_LT(connections_completed(port, 64, 500), 64);
  ::close(fd);
}

TEST(ListenBacklog, NothingToWidenWithoutASocket) {
  ListenBacklog backlog;
  EXPECT_FALSE(backlog.widen());
}

}  // namespace
}  // namespace mediax
