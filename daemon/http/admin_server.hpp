// The admin HTTP API (/v1, the OAuth callback, health). cpp-httplib stays inside the .cpp.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "http/admin_services.hpp"
#include "obs/metrics.hpp"

namespace mediax {

class Apps;
class ConnectFlow;
class Grants;
class TokenReads;
class ApiKeyRegistry;
class ComponentEventReceiver;

class AdminServer {
 public:
  // ready: whether the database is reachable and migrated (for /readyz).
  AdminServer(const AdminServices& services, const AdminConfig& config, std::function<bool()> ready,
              metrics::Registry& metrics);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds the listen address; throws std::runtime_error naming it when that fails.
  void bind();
  // Every route but the public ones (health, metrics, OAuth callback, console files) then needs
  // a bearer API key known to `keys` (see http/auth.hpp). Call before serve().
  void require_api_keys(ApiKeyRegistry& keys);
  // Whether the database answers now. While it does not, tokens served from memory carry
  // "Warning: 110 - \"Response is stale\"" and "X-Mediax-Stale: database-unreachable". Call before serve().
  void set_database_reachable(std::function<bool()> reachable);
  // Serves POST /wechat/component/{app}/events with `receiver` (outlives the server). Without
  // one that route answers 404. Call before serve().
  void set_component_events(ComponentEventReceiver& receiver);
  int port() const;
  // Serves until stop(); blocks the calling thread.
  void serve();
  // Whether serve() accepts connections yet: a stop() before that has nothing to stop.
  bool serving() const;
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mediax
