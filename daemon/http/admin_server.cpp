#include "http/admin_server.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <stdexcept>
#include <string_view>
#include <type_traits>

#include "http/answers.hpp"
#include "http/auth.hpp"
#include "http/callback_page.hpp"
#include "http/console_routes.hpp"
#include "http/json_body.hpp"
#include "http/json_mapping.hpp"
#include "http/listen_backlog.hpp"
#include "http/metrics_routes.hpp"
#include "http/wechat_component_routes.hpp"
#include "service/app_request.hpp"
#include "service/apps.hpp"
#include "service/token_reads.hpp"
#include "service/connect_flow.hpp"
#include "service/grants.hpp"
#include "util/host_port.hpp"

namespace mediax {

namespace {

constexpr const char* kJson = "application/json";

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(json_text(body), kJson);
}

void send_error(httplib::Response& res, int status, const std::string& code, const std::string& message,
                const nlohmann::json& details = nlohmann::json::object()) {
  send_json(res, status, error_body(code, message, details));
}

// httplib applies admin.max_body_bytes to Content-Length only: a chunked body is read whole whatever
// its size, and a gzip or brotli body is inflated without a limit (a 1 MiB bomb becomes 1 GiB).
// Such requests are refused before their body is read; the connection is closed after the answer.
bool refuse_unbounded_body(const httplib::Request& req, httplib::Response& res) {
  int status = 0;
  const char* code = "";
  const char* message = "";
  if (req.has_header("Transfer-Encoding")) {
    status = 411;
    code = "length_required";
    message = "a request body needs Content-Length; chunked transfer encoding is not accepted";
  } else if (req.has_header("Content-Encoding") && req.get_header_value("Content-Encoding") != "identity") {
    status = 415;
    code = "unsupported_encoding";
    message = "compressed request bodies (Content-Encoding) are not accepted";
  } else {
    return false;
  }
  res.set_header("Connection", "close");
  send_error(res, status, code, message);
  return true;
}

// A service's ApiError as the admin API answers it (http/answers.hpp: error_answer).
void send_api_error(httplib::Response& res, const ApiError& e) {
  const auto a = error_answer(e);
  send_json(res, a.status, a.body);
}

// A service's outcome: its value handed to `ok`, or its ApiError answered.
template <typename T, typename Ok>
void reply(httplib::Response& res, const Expected<T>& r, Ok&& ok) {
  if (!r) return send_api_error(res, r.error());
  if constexpr (std::is_void_v<T>) {
    ok();
  } else {
    ok(*r);
  }
}

// Parses a JSON request body; throws ApiError 400 with the parser's position on bad JSON.
nlohmann::json parse_body(const httplib::Request& req) { return parse_json_body(req.body); }

}  // namespace

struct AdminServer::Impl {
  Apps& apps;
  ConnectFlow& connect;
  Grants& grants;
  TokenReads& reads;
  AdminConfig config;
  std::function<bool()> ready;
  metrics::Registry& metric_registry;
  std::function<bool()> database_reachable;                        // empty: assumed reachable
  ApiKeyRegistry* api_keys = nullptr;                              // set: every non-public route needs a key
  std::atomic<ComponentEventReceiver*> component_events{nullptr};  // POST /wechat/component/{app}/events
  std::unique_ptr<httplib::Server> server_holder;                  // an SSLServer when admin.tls_cert_file is set
  httplib::Server& server;
  std::string host;
  int port = 0;
  ListenBacklog backlog;  // httplib listens with a backlog of 5 (http/listen_backlog.hpp)

  Impl(const AdminServices& s, const AdminConfig& c, std::function<bool()> r, metrics::Registry& m)
      : apps(s.apps),
        connect(s.connect),
        grants(s.grants),
        reads(s.reads),
        config(c),
        ready(std::move(r)),
        metric_registry(m),
        server_holder(make_server(c)),
        server(*server_holder) {}

  static std::unique_ptr<httplib::Server> make_server(const AdminConfig& c) {
    if (c.tls_cert_file.empty()) return std::make_unique<httplib::Server>();
    auto tls = std::make_unique<httplib::SSLServer>(c.tls_cert_file.c_str(), c.tls_key_file.c_str());
    if (!tls->is_valid()) {
      throw std::runtime_error("admin TLS: cannot load the certificate " + c.tls_cert_file + " and key " +
                               c.tls_key_file + " (missing, unreadable or not matching)");
    }
    return tls;
  }

  // Runs a handler, turning ApiError and unexpected exceptions into JSON errors.
  template <typename F>
  httplib::Server::Handler guarded(F f) {
    return [f](const httplib::Request& req, httplib::Response& res) {
      try {
        f(req, res);
      } catch (const std::exception&) {
        const auto e = error_for_current_exception(req.method, req.path);
        send_json(res, e.status, e.body);
      }
    };
  }

  // The token, marked stale while the database is unreachable (http/answers.hpp), or the error.
  void send_token(httplib::Response& res, const Expected<Token>& t) {
    if (!t) return send_api_error(res, t.error());
    if (serving_stale(database_reachable)) {
      for (const auto& [name, value] : kStaleHeaders) res.set_header(std::string(name), std::string(value));
    }
    send_json(res, 200, to_json(*t));
  }

  std::optional<TimePoint> grant_token_expiry(const Grant& g) { return reads.token_expiry(RefreshKey{g.app_id, g.id}); }

  // GET /v1/grants/{id}/token with a numeric id, the one route other apps call all the time
  // (bench/RESULTS.md, token reads): answered here, before cpp-httplib tries each route's regex
  // in turn. Anything else, including a malformed id, goes on to the routes below.
  bool serve_token_read(const httplib::Request& req, httplib::Response& res) {
    static constexpr std::string_view kPrefix = "/v1/grants/";
    static constexpr std::string_view kSuffix = "/token";
    const std::string_view path = req.path;
    if (req.method != "GET" || path.size() <= kPrefix.size() + kSuffix.size() ||
        path.substr(0, kPrefix.size()) != kPrefix || path.substr(path.size() - kSuffix.size()) != kSuffix) {
      return false;
    }
    const auto id = grant_id_of(path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size()));
    if (!id) return false;
    guarded([this, id = *id](const httplib::Request&, httplib::Response& r) {
      send_token(r, reads.grant_key(id).and_then([this](const RefreshKey& k) { return reads.current_token(k); }));
    })(req, res);
    return true;
  }

  // Every route of the admin listener, by area. cpp-httplib tries them in the order added.
  void routes() {
    health_routes();
    app_routes();
    connect_routes();
    grant_routes();
    token_routes();
    other_routes();
  }

  // Keys, bodies and the token fast path before routing; health, readiness and /metrics.
  void health_routes() {
    server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      using R = httplib::Server::HandlerResponse;
      if (refuse_unbounded_body(req, res)) return R::Handled;
      if (api_keys != nullptr && refuse_without_api_key(req, res, *api_keys)) return R::Handled;
      if (serve_token_read(req, res)) return R::Handled;
      return R::Unhandled;
    });
    server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200, {{"status", "ok"}});
    });
    server.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
      bool ok = false;
      try {
        ok = ready();
      } catch (const std::exception&) {
        ok = false;
      }
      send_json(res, ok ? 200 : 503, {{"status", ok ? "ready" : "not_ready"}});
    });
    add_metrics_routes(server, metric_registry);
  }

  // /v1/apps: register, list, show, delete, secrets, webhook.
  void app_routes() {
    auto& ap = apps;
    const auto send_app = [](httplib::Response& res, int status) {
      return [&res, status](const App& app) { send_json(res, status, to_json(app)); };
    };
    server.Post("/v1/apps", guarded([&ap, send_app](const httplib::Request& req, httplib::Response& res) {
                  reply(res, ap.register_app(parse_body(req)), send_app(res, 201));
                }));
    server.Get("/v1/apps", guarded([&ap](const httplib::Request&, httplib::Response& res) {
                 reply(res, ap.list_apps(), [&res](const std::vector<App>& list) {
                   nlohmann::json shown = nlohmann::json::array();
                   for (const auto& app : list) shown.push_back(to_json(app));
                   send_json(res, 200, {{"apps", shown}});
                 });
               }));
    server.Get(R"(/v1/apps/([^/]+))", guarded([&ap, send_app](const httplib::Request& req, httplib::Response& res) {
                 reply(res, ap.get_app(req.matches[1]), send_app(res, 200));
               }));
    server.Delete(R"(/v1/apps/([^/]+))", guarded([&ap](const httplib::Request& req, httplib::Response& res) {
                    reply(res, ap.delete_app(req.matches[1]), [&res] { send_json(res, 200, {{"deleted", true}}); });
                  }));
    server.Put(R"(/v1/apps/([^/]+)/secrets)",
               guarded([&ap, send_app](const httplib::Request& req, httplib::Response& res) {
                 reply(res, ap.update_app_secrets(req.matches[1], parse_body(req)), send_app(res, 200));
               }));
    server.Put(R"(/v1/apps/([^/]+)/webhook)",
               guarded([&ap, send_app](const httplib::Request& req, httplib::Response& res) {
                 reply(res, ap.set_webhook(req.matches[1], parse_body(req)), send_app(res, 200));
               }));
    server.Delete(R"(/v1/apps/([^/]+)/webhook)",
                  guarded([&ap, send_app](const httplib::Request& req, httplib::Response& res) {
                    reply(res, ap.delete_webhook(req.matches[1]), send_app(res, 200));
                  }));
    server.Get(R"(/v1/apps/([^/]+)/webhook)", guarded([&ap](const httplib::Request& req, httplib::Response& res) {
                 reply(res, ap.get_webhook(req.matches[1], 20), [&res](const auto& found) {
                   const auto& [hook, deliveries] = found;
                   nlohmann::json list = nlohmann::json::array();
                   for (const auto& d : deliveries) list.push_back(to_json(d));
                   send_json(res, 200,
                             {{"url", hook.url},
                              {"created_at", format_time(hook.created_at)},
                              {"updated_at", format_time(hook.updated_at)},
                              {"deliveries", list}});
                 });
               }));
  }

  // Connecting an account: the authorize URL, the browser redirect, the platform's callback.
  void connect_routes() {
    auto& cf = connect;
    server.Post(
        R"(/v1/apps/([^/]+)/authorize)", guarded([&cf](const httplib::Request& req, httplib::Response& res) {
          // The body is optional: none (or {}) connects with the app's own settings.
          const auto choices = authorize_choices_from_request(req.body.empty() ? nlohmann::json() : parse_body(req));
          reply(res, cf.start_authorization(req.matches[1], choices), [&res](const AuthorizeStart& a) {
            send_json(
                res, 200,
                {{"authorize_url", a.authorize_url}, {"state", a.state}, {"expires_at", format_time(a.expires_at)}});
          });
        }));
    server.Get(R"(/v1/apps/([^/]+)/connect)", guarded([&cf](const httplib::Request& req, httplib::Response& res) {
                 std::map<std::string, std::string> query;
                 for (const auto& [k, v] : req.params) query.emplace(k, v);
                 reply(res, cf.start_authorization(req.matches[1], authorize_choices_from_query(query)),
                       [&res](const AuthorizeStart& a) { res.set_redirect(a.authorize_url, 302); });
               }));
    server.Get("/oauth/callback", [&cf](const httplib::Request& req, httplib::Response& res) {
      std::map<std::string, std::string> params;
      for (const auto& [k, v] : req.params) params.emplace(k, v);
      CallbackResult r;
      try {
        r = cf.handle_callback(params);
      } catch (const std::exception& e) {
        spdlog::error("oauth callback: internal error: {}", e.what());
        r.status = 500;
        r.title = "Internal error";
        r.message = "The token daemon failed; see its log.";
      }
      res.status = r.status;
      res.set_header("Cache-Control", "no-store");
      res.set_header("Referrer-Policy", "no-referrer");
      res.set_content(callback_page(r.title, r.message, r.status == 200), "text/html; charset=utf-8");
    });
  }

  // /v1/apps/{name}/grants and /v1/grants/{id}: list, add, import, show, revoke, recover.
  void grant_routes() {
    auto& ap = apps;
    auto& gr = grants;
    server.Get(R"(/v1/apps/([^/]+)/grants)", guarded([this, &gr](const httplib::Request& req, httplib::Response& res) {
                 const std::string name = req.matches[1];
                 reply(res, gr.list_grants(name), [&](const std::vector<Grant>& list) {
                   nlohmann::json shown = nlohmann::json::array();
                   for (const auto& g : list) shown.push_back(to_json(g, name, grant_token_expiry(g)));
                   send_json(res, 200, {{"grants", shown}});
                 });
               }));
    // A code the creator's own app obtained, or a refresh token from another system: 201 with the
    // new grant, 200 when the account was connected already (its grant replaced).
    auto send_added = [this](httplib::Response& res, const Expected<GrantAdded>& added, const std::string& app) {
      reply(res, added, [&](const GrantAdded& a) {
        send_json(res, a.created ? 201 : 200, to_json(a.grant, app, grant_token_expiry(a.grant)));
      });
    };
    server.Post(R"(/v1/apps/([^/]+)/grants)",
                guarded([&gr, send_added](const httplib::Request& req, httplib::Response& res) {
                  send_added(res, gr.add_grant_from_code(req.matches[1], parse_body(req)), req.matches[1]);
                }));
    server.Post(R"(/v1/apps/([^/]+)/grants/import)",
                guarded([&gr, send_added](const httplib::Request& req, httplib::Response& res) {
                  send_added(res, gr.import_grant(req.matches[1], parse_body(req)), req.matches[1]);
                }));
    // A grant as GET /v1/grants/{id} shows it, with its app's name.
    const auto send_grant = [this, &ap](httplib::Response& res, const Expected<Grant>& grant) {
      reply(res, grant.and_then([&](const Grant& g) { return ap.app_name(g.app_id); }),
            [&](const std::string& app) { send_json(res, 200, to_json(*grant, app, grant_token_expiry(*grant))); });
    };
    server.Get(R"(/v1/grants/([^/]+))", guarded([&gr, send_grant](const httplib::Request& req, httplib::Response& res) {
                 send_grant(res, gr.get_grant(parse_grant_id(req.matches[1].str())));
               }));
    server.Delete(R"(/v1/grants/([^/]+))", guarded([&gr](const httplib::Request& req, httplib::Response& res) {
                    reply(res, gr.revoke_grant(parse_grant_id(req.matches[1].str())),
                          [&res](const std::string& platform) {
                            send_json(res, 200, {{"revoked", true}, {"platform_revocation", platform}});
                          });
                  }));
    // A lost or refused refresh token got going again by the platform's recovery call (admin role).
    server.Post(R"(/v1/grants/([^/]+)/recover)",
                guarded([&gr, send_grant](const httplib::Request& req, httplib::Response& res) {
                  send_grant(res, gr.recover_grant(parse_grant_id(req.matches[1].str())));
                }));
  }

  // Token reads, forced refreshes and rejected tokens, for apps and grants.
  void token_routes() {
    auto& t = reads;
    const auto current = [&t](const RefreshKey& key) { return t.current_token(key); };
    const auto forced = [&t](const RefreshKey& key) { return t.force_refresh(key); };
    server.Get(R"(/v1/apps/([^/]+)/token)",
               guarded([this, &t, current](const httplib::Request& req, httplib::Response& res) {
                 send_token(res, t.app_token_key(req.matches[1]).and_then(current));
               }));
    server.Get(R"(/v1/grants/([^/]+)/token)",
               guarded([this, &t, current](const httplib::Request& req, httplib::Response& res) {
                 send_token(res, t.grant_key(parse_grant_id(req.matches[1].str())).and_then(current));
               }));
    server.Post(R"(/v1/apps/([^/]+)/refresh)",
                guarded([this, &t, forced](const httplib::Request& req, httplib::Response& res) {
                  send_token(res, t.app_token_key(req.matches[1]).and_then(forced));
                }));
    server.Post(R"(/v1/grants/([^/]+)/refresh)",
                guarded([this, &t, forced](const httplib::Request& req, httplib::Response& res) {
                  send_token(res, t.grant_key(parse_grant_id(req.matches[1].str())).and_then(forced));
                }));
    // The body is checked after the key is found (a 404 before a 400), as the routes always did.
    auto rejected = [this, &t](const httplib::Request& req, const Expected<RefreshKey>& key, httplib::Response& res) {
      send_token(res, key.and_then([&](const RefreshKey& k) {
        return t.token_rejected(k, rejected_token_from_request(parse_body(req)));
      }));
    };
    server.Post(R"(/v1/apps/([^/]+)/token/rejected)",
                guarded([&t, rejected](const httplib::Request& req, httplib::Response& res) {
                  rejected(req, t.app_token_key(req.matches[1]), res);
                }));
    server.Post(R"(/v1/grants/([^/]+)/token/rejected)",
                guarded([&t, rejected](const httplib::Request& req, httplib::Response& res) {
                  rejected(req, t.grant_key(parse_grant_id(req.matches[1].str())), res);
                }));
  }

  // The console, the WeChat third-party platform's event URL, and what nothing above routes.
  void other_routes() {
    register_console_routes(server);  // GET /console/: the web console's static files
    add_wechat_component_routes(server, [this] { return component_events.load(); });

    // Everything not routed above, and httplib's own errors (413, 400), as JSON.
    server.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req,
                                                                     httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      switch (res.status) {
        case 404: send_error(res, 404, "not_found", "no route for " + req.method + " " + req.path); break;
        case 413: send_error(res, 413, "too_large", "the request body is larger than the limit"); break;
        case 405: send_error(res, 405, "method_not_allowed", "method not allowed"); break;
        case 400:
          send_error(res, 400, "bad_request", "malformed HTTP request (a POST without a body needs Content-Length: 0)");
          break;
        default: send_error(res, res.status, "http_error", "the request could not be served"); break;
      }
      return httplib::Server::HandlerResponse::Handled;
    }));
    server.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      spdlog::error("{} {}: internal error: {}", req.method, req.path, what);
      send_error(res, 500, "internal_error", "internal error; see the daemon's log");
    });
    server.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      // The path only: query strings carry codes and states.
      spdlog::debug("http {} {} -> {}", req.method, req.path, res.status);
    });
  }
};

AdminServer::AdminServer(const AdminServices& services, const AdminConfig& config, std::function<bool()> ready,
                         metrics::Registry& metrics)
    : impl_(std::make_unique<Impl>(services, config, std::move(ready), metrics)) {
  auto threads = static_cast<std::size_t>(config.threads);
  impl_->server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  impl_->server.set_payload_max_length(config.max_body_bytes);
  // cpp-httplib sets SO_REUSEPORT by default, which lets a second daemon bind the same port
  // silently. SO_REUSEADDR only: a busy port is an error at start.
  impl_->server.set_socket_options([impl = impl_.get()](socket_t sock) {
    reuse_address(sock);
    impl->backlog.remember(sock);
  });
  impl_->server.set_read_timeout(10, 0);
  impl_->server.set_write_timeout(10, 0);
  impl_->server.set_keep_alive_max_count(1000);
  // Headers and body go out in separate writes: with Nagle's algorithm the body waits for the
  // client's delayed ACK (40 ms per request on Linux, bench/RESULTS.md token reads).
  impl_->server.set_tcp_nodelay(true);
  impl_->routes();
}

AdminServer::~AdminServer() { stop(); }

void AdminServer::bind() {
  const auto& listen = impl_->config.listen;
  const auto address = util::parse_host_port(listen);
  if (!address || !address->port) throw std::runtime_error("admin.listen '" + listen + "' is not host:port");
  const std::string& host = address->host;
  int port = *address->port;
  if (port == 0) {
    port = impl_->server.bind_to_any_port(host);
  } else if (!impl_->server.bind_to_port(host, port)) {
    port = -1;
  }
  if (port <= 0) throw std::runtime_error("cannot listen on " + listen + " (address in use or not available)");
  if (!impl_->backlog.widen()) spdlog::warn("admin.listen {}: could not widen the listen backlog (stays at 5)", listen);
  impl_->host = host;
  impl_->port = port;
}

int AdminServer::port() const { return impl_->port; }

void AdminServer::set_component_events(ComponentEventReceiver& receiver) { impl_->component_events = &receiver; }

void AdminServer::set_database_reachable(std::function<bool()> reachable) {
  impl_->database_reachable = std::move(reachable);
}

void AdminServer::require_api_keys(ApiKeyRegistry& keys) { impl_->api_keys = &keys; }

void AdminServer::serve() { impl_->server.listen_after_bind(); }

bool AdminServer::serving() const { return impl_->server.is_running(); }

void AdminServer::stop() {
  if (impl_->server.is_running()) impl_->server.stop();
}

}  // namespace mediax
