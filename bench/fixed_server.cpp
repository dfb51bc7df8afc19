// mediax-bench-fixed: the smallest cpp-httplib server, answering every GET with a fixed JSON
// string. The token-read benchmark (bench/run.sh reads) runs the same wrk load against it to
// show the HTTP library's own limit next to mediaxd's.
//
//   mediax-bench-fixed [--threads 8] [--port 0] [--nodelay 0|1]   prints "LISTENING <port>" once bound
// Server settings as in mediaxd's AdminServer (keep-alive up to 1000 requests, 10 s timeouts).
#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "http/listen_backlog.hpp"

int main(int argc, char** argv) {
  int threads = 8;  // mediaxd's admin.threads default
  int port = 0;
  int nodelay = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (a == "--threads" && v >= 1 && v <= 1024) {
      threads = v;
    } else if (a == "--port" && v >= 0 && v <= 65535) {
      port = v;
    } else if (a == "--nodelay" && (v == 0 || v == 1)) {
      nodelay = v;
    } else {
      std::fprintf(stderr, "usage: mediax-bench-fixed [--threads N] [--port N] [--nodelay 0|1]\n");
      return 2;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "usage: mediax-bench-fixed [--threads N] [--port N] [--nodelay 0|1]\n");
    return 2;
  }
  httplib::Server svr;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  svr.set_read_timeout(10, 0);
  svr.set_write_timeout(10, 0);
  svr.set_keep_alive_max_count(1000);
  svr.set_tcp_nodelay(nodelay == 1);
  // About the size of mediaxd's token answer.
  const std::string body = R"({"access_token":"a_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG.1","token_type":"Bearer",)"
                           R"("expires_at":"2026-01-01T00:00:00Z","scopes":[]})";
  svr.Get(R"(/.*)",
          [&body](const httplib::Request&, httplib::Response& res) { res.set_content(body, "application/json"); });
  // A burst of connections must not overflow httplib's accept queue of 5 (http/listen_backlog.hpp).
  mediax::ListenBacklog backlog;
  svr.set_socket_options([&backlog](socket_t sock) {
    mediax::reuse_address(sock);
    backlog.remember(sock);
  });
  if (port == 0) {
    port = svr.bind_to_any_port("127.0.0.1");
  } else if (!svr.bind_to_port("127.0.0.1", port)) {
    port = -1;
  }
  if (port < 0) {
    std::fprintf(stderr, "mediax-bench-fixed: cannot bind\n");
    return 1;
  }
  backlog.widen();
  std::printf("LISTENING %d\n", port);
  std::fflush(stdout);
  return svr.listen_after_bind() ? 0 : 1;
}
