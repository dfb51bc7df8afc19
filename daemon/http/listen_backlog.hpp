// cpp-httplib 0.11 listens with a backlog of 5. A burst of new connections (64 readers starting
// at once, a refresh burst opening keep-alive connections to a platform) overflows the accept
// queue; the kernel then drops the handshakes and clients resend them only after 1 s, 3 s, 7 s...
// Linux lets listen() be called again on a listening socket to change its backlog, so the
// socket httplib creates is remembered in its socket-options hook and widened after bind.
// Header-only and without httplib.h: the test fakes and bench servers use it too.
#pragma once

#include <sys/socket.h>

namespace mediax {

// SO_REUSEADDR only: httplib's default hook also sets SO_REUSEPORT, which lets a second server
// bind the same port silently.
inline void reuse_address(int fd) {
  int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

class ListenBacklog {
 public:
  // Call from httplib::Server::set_socket_options (which replaces httplib's defaults, so set
  // SO_REUSEADDR there too when wanted). The last socket seen is the one that got bound.
  void remember(int fd) { fd_ = fd; }
  // After a successful bind_to_port / bind_to_any_port. False when there is no socket or the
  // kernel refused (the server still works, with httplib's backlog).
  bool widen(int backlog = SOMAXCONN) const { return fd_ >= 0 && ::listen(fd_, backlog) == 0; }

 private:
  int fd_ = -1;
};

}  // namespace mediax
