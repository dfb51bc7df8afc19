// mediax-fake-oauth2: a real HTTP server acting as a strict OAuth 2.0 / OpenID provider for the
// end-to-end tests (and for trying mediaxd by hand). See fake_provider.hpp for the rules it enforces.
//
//   mediax-fake-oauth2 --port 0 [--host 127.0.0.1] [--expires-in 4] [--rotate-refresh] [--issuer-path /x]
//                      [--latency-ms 20] [--bulk] [--threads 64] [--iss-response]
// --latency-ms delays every /token answer; --bulk accepts any client (with a secret) and any refresh
// token, for benchmarks whose grants were written straight into the database (bench/).
//
// Prints "LISTENING <port>" on stdout once bound. Control endpoints under /_fake/:
//   POST   /_fake/clients     {"client_id","client_secret","auth_method","redirect_uris":[...]}
//   GET    /_fake/stats       counters (quick_refreshes: a grant refreshed again within a quarter of
//                              the token lifetime, i.e. a double refresh; min_refresh_gap_ms)
//   POST   /_fake/fail        {"mode":"500|429|invalid_grant|invalid_client|garbage|hang|trickle|close","count":N,
//                              "retry_after":S,"seconds":S,"grant_type":"refresh_token"} for the next N /token calls
//                              (trickle: the body at one byte per second; close: headers, then the connection closes)
//   DELETE /_fake/fail        drops pending failures
//   GET    /_fake/introspect?token=T   {"active": bool, ...}
//   GET    /_fake/secrets     every code, token and client secret it knows (to check logs for leaks)
// GET /authorize also takes fake_decision=deny (the user says no) and login_hint=ACCOUNT.
#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "fake_provider.hpp"
#include "http/listen_backlog.hpp"

namespace {

using mediax::fake::Form;
using mediax::fake::FormRequest;
using mediax::fake::Options;
using mediax::fake::Provider;
using mediax::fake::Reply;

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: mediax-fake-oauth2 [--port N] [--host ADDR] [--expires-in SECONDS] [--rotate-refresh]\n"
               "                          [--issuer-path /PATH] [--latency-ms MS] [--bulk] [--threads N]\n"
               "                          [--iss-response]\n");
}

bool parse_int(const char* s, long lo, long hi, long& out) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < lo || v > hi) return false;
  out = v;
  return true;
}

bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    long v = 0;
    if (a == "--port") {
      const char* s = next();
      if (s == nullptr || !parse_int(s, 0, 65535, v)) return false;
      o.port = static_cast<int>(v);
    } else if (a == "--host") {
      const char* s = next();
      if (s == nullptr) return false;
      o.host = s;
    } else if (a == "--expires-in") {
      const char* s = next();
      if (s == nullptr || !parse_int(s, 1, 100000000, v)) return false;
      o.expires_in = v;
    } else if (a == "--latency-ms") {
      const char* s = next();
      if (s == nullptr || !parse_int(s, 0, 60000, v)) return false;
      o.latency_ms = static_cast<int>(v);
    } else if (a == "--threads") {
      const char* s = next();
      if (s == nullptr || !parse_int(s, 1, 4096, v)) return false;
      o.threads = static_cast<int>(v);
    } else if (a == "--bulk") {
      o.bulk = true;
    } else if (a == "--rotate-refresh") {
      o.rotate_refresh = true;
    } else if (a == "--iss-response") {
      o.iss_response = true;
    } else if (a == "--issuer-path") {
      const char* s = next();
      if (s == nullptr || s[0] != '/' || std::string(s).size() < 2) return false;
      o.issuer_path = s;
      if (o.issuer_path.back() == '/') o.issuer_path.pop_back();
    } else {
      return false;
    }
  }
  return true;
}

void send(const Reply& r, httplib::Response& res) {
  if (r.delay_seconds > 0) std::this_thread::sleep_for(std::chrono::seconds(r.delay_seconds));
  res.status = r.status;
  for (const auto& [k, v] : r.headers) res.set_header(k, v);
  if (r.transport == "trickle") {
    auto body = std::make_shared<std::string>(r.body);
    res.set_content_provider(body->size(), r.content_type.c_str(),
                             [body](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                               std::this_thread::sleep_for(std::chrono::seconds(1));
                               return sink.write(body->data() + offset, 1);
                             });
    return;
  }
  if (r.transport == "close") {
    // Promises a body, then gives up: the client sees the connection close mid-answer.
    res.set_content_provider(1024, "application/json",
                             [](std::size_t, std::size_t, httplib::DataSink&) { return false; });
    return;
  }
  res.set_content(r.body, r.content_type.c_str());
}

Form query_of(const httplib::Request& req) {
  Form f;
  for (const auto& [k, v] : req.params) f.emplace_back(k, v);
  return f;
}

FormRequest form_request(const httplib::Request& req) {
  return FormRequest{req.body, req.get_header_value("Content-Type"), req.get_header_value("Authorization")};
}

}  // namespace

int main(int argc, char** argv) {
  Options opts;
  if (!parse_args(argc, argv, opts)) {
    usage(stderr);
    return 2;
  }
  Provider provider(opts);
  httplib::Server svr;
  // Injected hangs hold a worker each; keep enough for concurrent tests.
  const auto threads = static_cast<std::size_t>(opts.threads);
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Benchmarks: a kept-alive connection serves many refreshes, as nginx's 1,000 per connection
  // (cpp-httplib's default closes after 5). A kept connection holds a worker thread while open.
  if (opts.bulk) svr.set_keep_alive_max_count(1000);

  const std::string p = opts.issuer_path;
  auto discovery = [&](const httplib::Request&, httplib::Response& res) { send(provider.discovery(), res); };
  svr.Get(p + "/.well-known/openid-configuration", discovery);
  svr.Get(p + "/.well-known/oauth-authorization-server", discovery);
  if (!p.empty()) svr.Get("/.well-known/oauth-authorization-server" + p, discovery);  // RFC 8414 §3.1

  svr.Get(p + "/authorize",
          [&](const httplib::Request& req, httplib::Response& res) { send(provider.authorize(query_of(req)), res); });
  svr.Post(p + "/token", [&](const httplib::Request& req, httplib::Response& res) {
    if (opts.latency_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(opts.latency_ms));
    send(provider.token(form_request(req)), res);
  });
  svr.Post(p + "/revoke",
           [&](const httplib::Request& req, httplib::Response& res) { send(provider.revoke(form_request(req)), res); });
  svr.Get(p + "/userinfo", [&](const httplib::Request& req, httplib::Response& res) {
    send(provider.resource(req.get_header_value("Authorization")), res);
  });
  svr.Get(p + "/jwks", [&](const httplib::Request&, httplib::Response& res) { send(provider.jwks(), res); });

  svr.Post("/_fake/clients",
           [&](const httplib::Request& req, httplib::Response& res) { send(provider.register_client(req.body), res); });
  svr.Get("/_fake/stats", [&](const httplib::Request&, httplib::Response& res) { send(provider.stats(), res); });
  svr.Post("/_fake/fail",
           [&](const httplib::Request& req, httplib::Response& res) { send(provider.inject_failure(req.body), res); });
  svr.Delete("/_fake/fail",
             [&](const httplib::Request&, httplib::Response& res) { send(provider.clear_failures(), res); });
  svr.Get("/_fake/introspect", [&](const httplib::Request& req, httplib::Response& res) {
    send(provider.introspect(req.get_param_value("token")), res);
  });
  svr.Get("/_fake/secrets", [&](const httplib::Request&, httplib::Response& res) { send(provider.secrets(), res); });
  svr.Get("/_fake/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });

  // Logs the path only: queries and bodies carry codes and tokens. Benchmarks log nothing per request.
  if (!opts.bulk)
    svr.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      std::fprintf(stderr, "fake-oauth2: %s %s -> %d\n", req.method.c_str(), req.path.c_str(), res.status);
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
      std::fprintf(stderr, "fake-oauth2: cannot bind %s\n", opts.host.c_str());
      return 1;
    }
  } else if (!svr.bind_to_port(opts.host, port)) {
    std::fprintf(stderr, "fake-oauth2: cannot bind %s:%d\n", opts.host.c_str(), port);
    return 1;
  }
  provider.set_base_url("http://" + opts.host + ":" + std::to_string(port));
  backlog.widen();
  std::printf("LISTENING %d\n", port);
  std::fflush(stdout);
  return svr.listen_after_bind() ? 0 : 1;
}
