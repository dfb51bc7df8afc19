// mediax-fake-platforms: a real HTTP server acting as Douyin, WeChat or Google for the end-to-end
// tests (and for trying mediaxd by hand). See fake_platform.hpp and the file of each platform.
//
//   mediax-fake-platforms --platform douyin|wechat|google|wechat_component --port 0 [--host 127.0.0.1]
//       [--expires-in S] [--refresh-expires-in S] [--client-expires-in S] [--max-renewals N]
//       [--daily-token-quota N] [--daily-force-quota N] [--force-interval S] [--client-token-limit N]
//
// Prints "LISTENING <port>" on stdout once bound. Control endpoints (all platforms):
//   GET /_fake/health, GET /_fake/stats, POST|DELETE /_fake/fail, GET /_fake/introspect?token=T,
//   GET /_fake/secrets, POST /_fake/clients (and Google: POST /_fake/service_accounts).
// Browser endpoints also take login_hint=ACCOUNT (who logs in) and fake_decision=deny.
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "fake_platform.hpp"
#include "net/http_client.hpp"
#include "http/listen_backlog.hpp"
#include "util/url.hpp"

namespace {

using namespace mediax::fakep;

void usage(std::FILE* to) {
  std::fprintf(
      to,
      "usage: mediax-fake-platforms --platform douyin|wechat|google|wechat_component [--port N] [--host ADDR]\n"
      "         [--expires-in S] [--refresh-expires-in S] [--client-expires-in S] [--max-renewals N]\n"
      "         [--daily-token-quota N] [--daily-force-quota N] [--force-interval S]\n"
      "         [--client-token-limit N]\n");
}

bool parse_long(const char* s, long lo, long hi, long& out) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < lo || v > hi) return false;
  out = v;
  return true;
}

bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    long n = 0;
    auto number = [&](long lo, long hi) { return v != nullptr && parse_long(v, lo, hi, n); };
    if (a == "--platform" && v != nullptr) {
      o.platform = v;
    } else if (a == "--host" && v != nullptr) {
      o.host = v;
    } else if (a == "--port" && number(0, 65535)) {
      o.port = static_cast<int>(n);
    } else if (a == "--expires-in" && number(1, 100000000)) {
      o.expires_in = n;
    } else if (a == "--refresh-expires-in" && number(1, 100000000)) {
      o.refresh_expires_in = n;
    } else if (a == "--client-expires-in" && number(1, 100000000)) {
      o.client_expires_in = n;
    } else if (a == "--max-renewals" && number(0, 1000)) {
      o.max_renewals = static_cast<int>(n);
    } else if (a == "--daily-token-quota" && number(0, 10000000)) {
      o.daily_token_quota = static_cast<int>(n);
    } else if (a == "--daily-force-quota" && number(0, 10000000)) {
      o.daily_force_quota = static_cast<int>(n);
    } else if (a == "--force-interval" && number(0, 86400)) {
      o.force_interval = static_cast<int>(n);
    } else if (a == "--client-token-limit" && number(1, 10000000)) {
      o.client_token_limit = static_cast<int>(n);
    } else {
      return false;
    }
    ++i;
  }
  return o.platform == "douyin" || o.platform == "wechat" || o.platform == "google" || o.platform == "wechat_component";
}

Request to_request(const httplib::Request& req) {
  Request r;
  r.method = req.method;
  r.path = req.path;
  auto q = req.target.find('?');
  if (q != std::string::npos) r.raw_query = req.target.substr(q + 1);
  r.query = mediax::parse_query(r.raw_query);
  r.body = req.body;
  r.content_type = req.get_header_value("Content-Type");
  r.remote_addr = req.remote_addr;
  for (const auto& [k, v] : req.headers) {
    std::string lower = k;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    r.headers.emplace(lower, v);
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Options opts;
  if (!parse_args(argc, argv, opts)) {
    usage(stderr);
    return 2;
  }
  std::unique_ptr<FakePlatform> platform = opts.platform == "douyin"             ? make_douyin_fake(opts)
                                           : opts.platform == "wechat"           ? make_wechat_fake(opts)
                                           : opts.platform == "wechat_component" ? make_wechat_component_fake(opts)
                                                                                 : make_google_fake(opts);
  httplib::Server svr;
  auto handler = [&](const httplib::Request& req, httplib::Response& res) {
    Reply r = platform->handle(to_request(req));
    if (r.hold.count() > 0) std::this_thread::sleep_for(r.hold);
    res.status = r.status;
    for (const auto& [k, v] : r.headers) res.set_header(k, v);
    res.set_content(r.body, r.content_type.c_str());
  };
  svr.Get(".*", handler);
  svr.Post(".*", handler);
  svr.Delete(".*", handler);
  // Logs the path only: queries and bodies carry codes, tokens and secrets.
  svr.set_logger([&](const httplib::Request& req, const httplib::Response& res) {
    std::fprintf(stderr, "fake-%s: %s %s -> %d\n", opts.platform.c_str(), req.method.c_str(), req.path.c_str(),
                 res.status);
  });

  int port = opts.port;
  // A burst of connections must not overflow httplib's accept queue of 5 (http/listen_backlog.hpp).
  mediax::ListenBacklog backlog;
  svr.set_socket_options([&backlog](socket_t sock) {
    mediax::reuse_address(sock);
    backlog.remember(sock);
  });
  if (port == 0) {
    port = svr.bind_to_any_port(opts.host);
    if (port < 0) {
      std::fprintf(stderr, "fake-%s: cannot bind %s\n", opts.platform.c_str(), opts.host.c_str());
      return 1;
    }
  } else if (!svr.bind_to_port(opts.host, port)) {
    std::fprintf(stderr, "fake-%s: cannot bind %s:%d\n", opts.platform.c_str(), opts.host.c_str(), port);
    return 1;
  }
  platform->set_base_url("http://" + opts.host + ":" + std::to_string(port));
  backlog.widen();
  std::printf("LISTENING %d\n", port);
  std::fflush(stdout);
  return svr.listen_after_bind() ? 0 : 1;
}
