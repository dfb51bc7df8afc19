// The running daemon: one object whose members are built in the order they depend on each other
// (keys, store, platforms, cache, refresher, scheduler, webhooks, services, servers, the janitor),
// started once, reloaded on SIGHUP and stopped on SIGTERM. Threads and what each owns:
// ARCHITECTURE.md, "Threads".
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "fiber/carriers.hpp"
#include "util/time_source.hpp"
#include "net/http_client.hpp"
#include "net/outbound_guard.hpp"
#include "obs/metrics.hpp"
#include "platforms/registry.hpp"
#include "runtime/cluster_sync.hpp"
#include "runtime/http_edge.hpp"
#include "runtime/janitor.hpp"
#include "runtime/metrics_collector.hpp"
#include "runtime/partition_keeper.hpp"
#include "runtime/migrate.hpp"  // run_migrate, find_migrations_dir (main.cpp)
#include "runtime/seal_keys.hpp"
#include "runtime/startup.hpp"
#include "runtime/webhook_dispatcher.hpp"
#include "schedule/circuit_breaker.hpp"
#include "schedule/refresh_policy.hpp"
#include "schedule/refresher.hpp"
#include "schedule/scheduler.hpp"
#include "schedule/token_cache.hpp"
#include "service/api_keys.hpp"
#include "service/apps.hpp"
#include "service/audit_trail.hpp"
#include "service/component_events.hpp"
#include "service/connect_flow.hpp"
#include "service/grants.hpp"
#include "service/new_grant_store.hpp"
#include "service/store_call_budget.hpp"
#include "service/store_component_credentials.hpp"
#include "service/token_reads.hpp"
#include "service/webhooks.hpp"
#include "store/notification_listener.hpp"
#include "store/store.hpp"

namespace mediax {

// Runs until SIGTERM/SIGINT; returns the process exit code.
int run_daemon(const Config& config, const std::string& migrations_dir);

class Daemon {
 public:
  // Builds every part without touching the network. Throws StartupError (no encryption key).
  Daemon(const Config& config, std::string migrations_dir);
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Waits for a migrated database, loads the tokens and the schedule, binds the listeners and
  // starts serving, refreshing and the janitor; READY=1. Throws StartupError.
  void start();
  // Serves until SIGTERM/SIGINT (SIGHUP reloads).
  void run();
  // SIGHUP: the reloadable settings from the config file, or the running ones if it is invalid.
  void reload();
  // Stops serving, lets refreshes in flight finish (refresh.shutdown_grace_seconds), joins every
  // thread and releases this instance's leases.
  void stop();

 private:
  void load_tokens_and_schedule(std::chrono::steady_clock::time_point started);
  void add_janitor_tasks();
  void wait_signal();
  void ping_database();
  void check_readiness();
  void check_open_file_limit();
  // Partitions taken over after start: their schedule and tokens into memory.
  void adopt_partitions(const std::vector<int>& partitions);
  void forget_partitions(const std::vector<int>& partitions);

  const Config& config_;
  const std::string migrations_dir_;
  RealTimeSource time_;
  const LoadedSealKeys keys_;
  const std::string instance_;  // random, in every connection's application_name and NOTIFY payload
  const std::string app_name_;
  const std::string db_url_;
  const std::string owner_;  // host:pid:instance, the holder of leases
  Migrator migrator_;
  std::unique_ptr<Store> store_;
  // Where outbound calls may go (security.allowed_private_networks): both clients and the admin
  // API's URL checks ask it.
  std::unique_ptr<Resolver> resolver_;
  OutboundGuard outbound_;
  std::unique_ptr<HttpClient> http_;
  StoreCallBudget call_budget_;
  // The WeChat third-party platform's ticket and component token: the platform needs them, and
  // the refresher that fetches the token needs the platforms; bound to the refresher below.
  StoreComponentCredentials component_credentials_;
  PlatformRegistry platforms_;
  // The partitions of the refresh work this instance owns (core/partitions.hpp): the cache, the
  // scheduler, cluster sync and token reads follow it; the keeper below changes it.
  PartitionSet owned_;
  TokenCache cache_;
  RefreshPolicy policy_;
  metrics::Registry metrics_;  // the daemon's one registry; outlives everything that records into it
  PlatformGuards guards_;      // circuit breakers per platform endpoint
  Refresher refresher_;
  boost::asio::io_context io_;
  Scheduler scheduler_;
  // The scheduled refreshes' fibers, one carrier per core. After the scheduler (destroyed before
  // it) and stopped in stop() once the scheduler has: a fiber still parked then is unwound.
  fiber::Carriers carriers_{std::max(1u, std::thread::hardware_concurrency())};
  std::unique_ptr<HttpClient> hook_http_;  // webhooks: their own timeouts (webhook.timeout_ms)
  webhooks::Sender hook_sender_;
  WebhookDispatcher hooks_;
  RejectedLimits rejected_limits_;  // token/rejected per key and per token (before token_reads_, which uses it)
  TokenReads token_reads_;
  Apps apps_;
  NewGrantStore new_grants_;
  Grants grants_;
  ConnectFlow connect_flow_;
  MetricsCollector metrics_collector_;
  ClusterSync sync_;
  NotificationListener listener_;            // LISTEN mediax_tokens: news for sync_
  std::unique_ptr<PartitionClaims> claims_;  // on a database session of its own
  PartitionKeeper keeper_;
  std::atomic<bool> loaded_{false};  // the start-up load is done: partitions taken later load themselves
  ApiKeyRegistry api_keys_;
  AuditTrail audit_;  // mediax.audit: the Dispatcher's records, token read counts (flushed by the janitor)
  ComponentEventReceiver component_events_;  // POST /wechat/component/{app}/events
  std::atomic<bool> db_reachable_{true};     // while false, tokens are served from memory marked stale
  std::atomic<bool> ready_{false};           // /readyz: database reachable, LISTEN connected, migrations current
  // The HTTP edge: one server, admin.listen and (when set) admin.token_listen its listeners.
  HttpEdge edge_;
  // Blocking janitor work (database, webhooks) runs here; joined by stop() before what it uses goes.
  boost::asio::thread_pool blocking_;
  Janitor janitor_;
  Janitor::TaskId hooks_task_ = 0, resync_task_ = 0, sweep_task_ = 0, ready_task_ = 0;
  // Made at the end of start(): until then SIGTERM ends the process (e.g. while it waits for the database).
  std::optional<boost::asio::signal_set> signals_;
};

}  // namespace mediax
