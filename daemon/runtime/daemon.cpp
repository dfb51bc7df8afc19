#include "runtime/daemon.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "core/time_source.hpp"
#include "crypto/crypto.hpp"
#include "http/admin_server.hpp"
#include "http/token_listener.hpp"
#include "obs/metrics.hpp"
#include "platforms/registry.hpp"
#include "runtime/cluster_sync.hpp"
#include "runtime/logging.hpp"
#include "runtime/metrics_collector.hpp"
#include "runtime/webhook_dispatcher.hpp"
#include "runtime/rotate_key.hpp"
#include "runtime/seal_keys.hpp"
#include "schedule/circuit_breaker.hpp"
#include "schedule/refresh_policy.hpp"
#include "schedule/refresher.hpp"
#include "schedule/scheduler.hpp"
#include "platforms/wechat_component_events.hpp"
#include "service/api_keys.hpp"
#include "service/apps.hpp"
#include "service/component_events.hpp"
#include "service/connect_flow.hpp"
#include "service/grants.hpp"
#include "service/new_grant_store.hpp"
#include "service/store_component_credentials.hpp"
#include "service/store_call_budget.hpp"
#include "schedule/token_cache.hpp"
#include "service/token_reads.hpp"
#include "store/notification_listener.hpp"
#include "store/store.hpp"
#include "util/host_port.hpp"

namespace mediax {

namespace fs = std::filesystem;

std::string find_migrations_dir(const std::string& given) {
  if (!given.empty()) return given;
  for (const std::string& d : {std::string(MEDIAX_SOURCE_DIR) + "/migrations", std::string("/usr/share/mediax/migrations"),
                               std::string("/usr/local/share/mediax/migrations")}) {
    if (fs::is_directory(d)) return d;
  }
  return std::string(MEDIAX_SOURCE_DIR) + "/migrations";
}

int run_migrate(const Config& config, const std::string& migrations_dir) {
  try {
    Migrator m(config.database.url, migrations_dir);
    auto applied = m.apply();
    if (applied.empty()) {
      spdlog::info("database is up to date ({} migrations)", m.available().size());
    } else {
      for (const auto& name : applied) spdlog::info("applied migration {}", name);
    }
    return 0;
  } catch (const std::exception& e) {
    spdlog::error("migrate failed: {}", e.what());
    return 1;
  }
}

namespace {

std::string make_owner_id(const std::string& instance) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + instance;
}

// Checks the database schema at start. Waits while the database is unreachable (it may be
// starting too); returns false when it is reachable but not migrated.
bool wait_for_migrated_database(Migrator& m, const std::atomic<bool>& stopping) {
  for (int attempt = 0; !stopping; ++attempt) {
    try {
      auto pending = m.pending();
      if (pending.empty()) return true;
      spdlog::critical("the database is not migrated: {} pending migration(s), first {}. Run `mediaxd migrate --config FILE` first.",
                       pending.size(), pending.front());
      return false;
    } catch (const std::exception& e) {
      if (attempt == 0 || attempt % 15 == 0) spdlog::error("database unreachable, retrying: {}", e.what());
      sd_notifyf(0, "STATUS=waiting for the database (attempt %d)", attempt + 1);
      std::this_thread::sleep_for(std::chrono::seconds(2));
    }
  }
  return false;
}

}  // namespace

int run_daemon(const Config& config, const std::string& migrations_dir) {
  std::atomic<bool> stopping{false};
  // No key, no start: every secret the daemon stores is sealed with it.
  LoadedSealKeys keys;
  try {
    keys = load_seal_keys(config.security);
  } catch (const SealKeyError& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  for (const auto& w : keys.warnings) spdlog::warn("{}", w);
  for (const auto& d : keys.described) spdlog::info("encryption key {}", d);
  const auto started = std::chrono::steady_clock::now();
  Migrator migrator(config.database.url, migrations_dir);
  if (!wait_for_migrated_database(migrator, stopping)) return 1;
  // Whether every stored secret is sealed with a loaded key: a scan of the grants, so it runs on
  // its own connection while the tokens and the schedule load (below), and is waited for before
  // anything else starts. A failure still stops the daemon before it serves or refreshes.
  std::string key_problem;
  long long key_plain = 0;
  std::jthread key_check([&] {
    try {
      key_problem = check_stored_key_ids(config.database.url, *keys.sealer, key_plain);
    } catch (const std::exception& e) {
      key_problem = std::string("cannot check the stored secrets' keys: ") + e.what();
    }
  });
  auto checked_keys = [&] {
    if (key_check.joinable()) key_check.join();
    if (!key_problem.empty()) {
      spdlog::critical("{}", key_problem);
      return false;
    }
    if (key_plain > 0) {
      spdlog::warn("{} stored secret(s) are in plain text (stored before encryption at rest): run `mediaxd rotate-key "
                   "--config FILE` to encrypt them", key_plain);
    }
    return true;
  };

  RealTimeSource clock;
  // Every connection of this instance carries its name, so NOTIFY payloads say who wrote.
  const std::string instance = crypto::to_hex(crypto::random_bytes(4));
  const std::string app_name = "mediaxd/" + instance;
  const std::string db_url = with_application_name(config.database.url, app_name);
  auto store = make_pg_store(db_url, config.database.pool_size, keys.sealer);
  HttpClientOptions http_opts;
  http_opts.connect_timeout = std::chrono::milliseconds(config.refresh.connect_timeout_ms);
  http_opts.read_timeout = std::chrono::milliseconds(config.refresh.request_timeout_ms);
  http_opts.total_timeout = std::chrono::milliseconds(config.refresh.request_timeout_ms);
  http_opts.keep_alive = std::chrono::seconds(config.refresh.keep_alive_seconds);
  http_opts.max_idle_per_origin = static_cast<std::size_t>(config.refresh.max_concurrent);
  http_opts.user_agent = std::string("mediaxd/") + MEDIAX_VERSION;
  auto http = make_http_client(http_opts);
  PlatformSettings platform_settings;
  platform_settings.default_expires_in = Seconds(config.refresh.default_expires_in);
  platform_settings.urls = config.platforms;
  StoreCallBudget call_budget(*store, clock);
  // The WeChat third-party platform's ticket and component token: the platform needs them, and
  // the refresher that fetches the token needs the platforms; bound to the refresher below.
  StoreComponentCredentials component_credentials(*store, clock);
  PlatformRegistry platforms(*http, platform_settings, &call_budget, &component_credentials);
  TokenCache cache;
  RefreshPolicy policy(config.refresh);
  const std::string owner = make_owner_id(instance);
  metrics::Registry metric_registry;  // the daemon's one registry; outlives everything that records into it
  PlatformGuards guards(breaker_settings(config.refresh), clock);  // circuit breakers per platform endpoint
  Refresher refresher(*store, *store, *store, platforms, cache, policy, clock, owner, metric_registry);
  refresher.set_platform_guards(&guards);
  component_credentials.bind(cache, refresher);

  boost::asio::io_context io;
  Scheduler scheduler(io, refresher, clock, config.refresh.max_concurrent, metric_registry);
  // Webhooks: their own HTTP client (webhook.timeout_ms), sent from the outbox in the database.
  HttpClientOptions hook_opts = http_opts;
  hook_opts.connect_timeout = std::chrono::milliseconds(config.webhook.timeout_ms);
  hook_opts.read_timeout = std::chrono::milliseconds(config.webhook.timeout_ms);
  auto hook_http = make_http_client(hook_opts);
  webhooks::Sender hook_sender(*store, *hook_http, clock, config.webhook, owner, metric_registry);
  WebhookDispatcher hooks(io, hook_sender, *store, clock, Seconds(config.webhook.poll_seconds),
                          Seconds(config.webhook.reauth_notice_days * 24 * 3600));
  refresher.set_next_listener([&scheduler, &hooks](const RefreshKey& key, std::optional<TimePoint> next) {
    if (next) {
      scheduler.schedule(key, *next);
    } else {
      scheduler.cancel(key);
      hooks.poke();  // it stopped (e.g. needs_reauth): an event may have been queued
    }
  });

  // The tokens (into the cache) and the schedule (into the timer wheel) load side by side, each
  // on a pooled connection of its own, the tokens batch by batch through a cursor.
  sd_notify(0, "STATUS=loading tokens and schedule");
  const auto ms_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
  };
  const auto load_started = std::chrono::steady_clock::now();
  std::string token_error;
  std::jthread token_loader([&] {
    try {
      store->scan_tokens(20000, [&cache](std::vector<Token>&& batch) { cache.put_all(std::move(batch)); });
      spdlog::info("loaded {} tokens in {} ms", cache.size(), ms_since(load_started));
    } catch (const std::exception& e) {
      token_error = e.what();
    }
  });
  std::size_t scheduled = 0;
  std::string schedule_error;
  try {
    auto entries = store->load_schedule();
    const auto read_ms = ms_since(load_started);
    scheduler.load(entries);
    scheduled = entries.size();
    const auto total_ms = ms_since(load_started);
    spdlog::info("schedule of {} entries in {} ms (read {} ms, timer wheel {} ms)", scheduled, total_ms, read_ms,
                 total_ms - read_ms);
  } catch (const std::exception& e) {
    schedule_error = e.what();
  }
  token_loader.join();
  if (!checked_keys()) return 1;
  if (!token_error.empty() || !schedule_error.empty()) {
    spdlog::critical("cannot load the {}: {}", token_error.empty() ? "schedule" : "tokens",
                     token_error.empty() ? schedule_error : token_error);
    return 1;
  }
  spdlog::info("loaded {} tokens and {} schedule entries in {} ms ({} ms since start)", cache.size(), scheduled,
               ms_since(load_started), ms_since(started));
  // The query results and batches of the load are freed now; without a trim glibc keeps their
  // pages, and a million grants leave hundreds of MB resident that nothing uses (bench/RESULTS.md).
  malloc_trim(0);

  TokenReads token_reads(*store, cache, refresher, clock);
  Apps apps(*store, *store, *store, *store, platforms, cache, token_reads, scheduler, config, clock);
  NewGrantStore new_grants(*store, *store, cache, scheduler, policy);
  Grants grants(*store, *store, platforms, cache, scheduler, apps, new_grants, clock);
  ConnectFlow connect_flow(*store, *store, platforms, grants, new_grants, config, clock);
  MetricsCollector metrics_collector(*store, cache, scheduler, clock, metric_registry);

  ClusterSync sync(*store, cache, scheduler, clock, db_url, app_name, Seconds(config.refresh.sweep_seconds));
  // Whether the database answers, pinged every second from a thread of its own. While it does
  // not, token reads are served from memory marked as possibly stale.
  std::atomic<bool> db_reachable{true};

  // Readiness: database reachable (pool and LISTEN connection) and migrations current, checked
  // at most every 2 s.
  std::mutex ready_mu;
  auto ready_checked = std::chrono::steady_clock::time_point{};
  bool ready_value = false;
  auto ready = [&]() {
    std::lock_guard lk(ready_mu);
    auto now = std::chrono::steady_clock::now();
    if (now - ready_checked > std::chrono::seconds(2)) {
      try {
        ready_value = store->ping() && sync.listening() && migrator.pending().empty();
      } catch (const std::exception&) {
        ready_value = false;
      }
      ready_checked = now;
    }
    return ready_value;
  };

  ApiKeyRegistry api_keys(*store, clock);
  try {
    api_keys.load();
  } catch (const StoreError& e) {
    spdlog::critical("cannot load the API keys: {}", e.what());
    return 1;
  }
  if (api_keys.size() == 0) {
    spdlog::warn("no API keys exist: the admin API refuses every request until one is made with "
                 "`mediaxd create-api-key --name NAME --role admin --config FILE`");
  }

  // POST /wechat/component/{app}/events: tickets and authorization events WeChat pushes.
  ComponentEventActions component_actions;
  component_actions.schedule = [&scheduler](const RefreshKey& k, TimePoint at) { scheduler.schedule(k, at); };
  component_actions.cancel = [&scheduler](const RefreshKey& k) { scheduler.cancel(k); };
  component_actions.connect = [&connect_flow](const App& app, const std::string& code, const std::string& event) {
    return connect_flow.connect_with_code(app, code, event);
  };
  ComponentEventReceiver component_events(*store, cache, std::move(component_actions),
                                          Seconds(config.wechat.event_max_age_seconds),
                                          &wechat_component::open_component_push, metric_registry);

  AdminServer server({apps, connect_flow, grants, token_reads}, config.admin, ready, metric_registry);
  server.require_api_keys(api_keys);
  server.set_component_events(component_events);
  server.set_database_reachable([&db_reachable] { return db_reachable.load(); });
  try {
    server.bind();
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  std::optional<TokenListener> token_listener;
  if (!config.admin.token_listen.empty()) {
    token_listener.emplace(token_reads, api_keys, config.admin, [&db_reachable] { return db_reachable.load(); }, clock);
    try {
      token_listener->bind();
    } catch (const std::exception& e) {
      spdlog::critical("{}", e.what());
      return 1;
    }
  }
  std::thread http_thread([&server] { server.serve(); });
  if (token_listener) token_listener->start();
  scheduler.start();
  hooks.start();
  sync.start();
  std::thread db_monitor([&] {
    while (!stopping) {
      bool up = false;
      try {
        up = store->ping();
      } catch (const std::exception&) {
        up = false;
      }
      if (db_reachable.exchange(up) != up) {
        if (up) {
          spdlog::info("database reachable again");
        } else {
          spdlog::error("database unreachable: serving the tokens in memory (marked stale), refreshes wait");
        }
      }
      for (int i = 0; i < 10 && !stopping; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  // host:port as bound (a configured port 0 becomes the one the kernel chose).
  const auto bound = [](const std::string& listen, int port) {
    const auto address = util::parse_host_port(listen);  // checked by the config
    return util::format_host_port(address ? address->host : listen, port);
  };
  spdlog::info("mediaxd {} listening on {} (instance {})", MEDIAX_VERSION, bound(config.admin.listen, server.port()), owner);
  if (token_listener) {
    spdlog::info("token reads on {} ({} threads)", bound(config.admin.token_listen, token_listener->port()),
                 config.admin.token_threads);
  }

  // Janitor: watchdog pings, expired authorization requests.
  std::uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  auto janitor_period = std::chrono::milliseconds(30000);
  if (watchdog) janitor_period = std::min(janitor_period, std::chrono::milliseconds(watchdog_usec / 2000));
  boost::asio::steady_timer janitor(io);
  int janitor_runs = 0;
  std::function<void()> janitor_tick = [&]() {
    janitor.expires_after(janitor_period);
    janitor.async_wait([&](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      if (watchdog) sd_notify(0, "WATCHDOG=1");
      if (++janitor_runs % std::max<int>(1, static_cast<int>(600000 / janitor_period.count())) == 0) {
        // Purging touches the database: on a worker, never on the event loop.
        std::thread([&store, &clock] {
          try {
            store->purge_auth_requests(clock.system() - std::chrono::hours(24));
          } catch (const std::exception& e) {
            spdlog::debug("purge of old authorization requests skipped: {}", e.what());
          }
        }).detach();
      }
      janitor_tick();
    });
  };
  janitor_tick();

  boost::asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  std::function<void()> wait_signal = [&]() {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        sd_notify(0, "RELOADING=1");
        try {
          Config fresh = load_config(config.path);
          for (const auto& key : non_reloadable_changes(config, fresh)) {
            spdlog::warn("reload: {} changed but only takes effect after a restart", key);
          }
          set_log_level(fresh.log.level);
          policy.update(fresh.refresh);
          guards.update(breaker_settings(fresh.refresh));
          spdlog::info("configuration reloaded: log level {}, refresh settings", fresh.log.level);
        } catch (const std::exception& e) {
          spdlog::error("reload failed, keeping the running configuration: {}", e.what());
        }
        sd_notify(0, "READY=1");
        wait_signal();
        return;
      }
      spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      stopping = true;
      sd_notify(0, "STOPPING=1");
      janitor.cancel();
      io.stop();
    });
  };
  wait_signal();

  sd_notifyf(0, "READY=1\nSTATUS=serving %zu tokens", cache.size());
  io.run();

  if (token_listener) token_listener->stop();
  server.stop();
  if (http_thread.joinable()) http_thread.join();
  stopping = true;
  if (db_monitor.joinable()) db_monitor.join();
  sync.stop();
  scheduler.stop(Seconds(config.refresh.shutdown_grace_seconds));
  hooks.stop();
  try {
    store->release_leases(owner);
  } catch (const std::exception& e) {
    spdlog::warn("could not release leases: {}", e.what());
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace mediax
