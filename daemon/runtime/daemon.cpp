#include "runtime/daemon.hpp"
#include "runtime/credentials.hpp"

#include <spdlog/spdlog.h>
#include <malloc.h>

#include <thread>
#include <vector>

#include "crypto/crypto.hpp"
#include "platforms/wechat_component_events.hpp"
#include "runtime/http_edge_settings.hpp"
#include "runtime/logging.hpp"
#include "runtime/notify.hpp"
#include "runtime/open_files.hpp"
#include "runtime/rotate_key.hpp"
#include "util/host_port.hpp"
#include "util/ip_address.hpp"

namespace mediax {

namespace {

using std::chrono::milliseconds;

// How often the janitor does each housekeeping task (besides pokes). Why these numbers: a revoked
// API key stops working within 2 s; readiness follows the database within 2 s; database gauges
// are at most 10 s old; authorization requests live 10 minutes, so purging them as often is enough.
constexpr auto kDatabasePing = std::chrono::seconds(1);
constexpr auto kReadiness = std::chrono::seconds(2);
constexpr auto kApiKeyReload = std::chrono::seconds(2);
constexpr auto kMetricsRead = std::chrono::seconds(10);
constexpr auto kAuthRequestPurge = std::chrono::minutes(10);
// Token read counts are written once their minute has ended: within 10 s of it. The audit purge
// deletes what security.audit_retention_days no longer keeps; hourly is fine-grained enough.
constexpr auto kAuditFlush = std::chrono::seconds(10);
constexpr auto kAuditPurge = std::chrono::hours(1);
// Who owns which partition is read twice a second: a killed instance's partitions are taken
// over within a round and their load (issue 22: within 2 s).
constexpr auto kPartitionRound = std::chrono::milliseconds(500);
// What malloc holds freed goes back to the operating system this often (heap trim, below).
constexpr auto kHeapTrim = std::chrono::seconds(10);
constexpr int kBlockingThreads = 4;  // webhooks, a sweep, and the short database tasks side by side
// Rows per fetch when tokens are loaded (start-up, partitions taken over). The rows go straight
// into the cache; a batch's query results (up to three in flight, fetch_in_batches) are the
// load's heap, and what malloc keeps of them outlives the load (bench/RESULTS.md, memory per
// instance).
constexpr std::size_t kTokenBatchRows = 5000;

// host:port as bound (a configured port 0 becomes the one the kernel chose).
std::string bound(const std::string& listen, int port) {
  const auto address = util::parse_host_port(listen);  // checked by the config
  return util::format_host_port(address ? address->host : listen, port);
}

long long ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

Daemon::Daemon(const Config& config, std::string migrations_dir)
    : config_(config),
      migrations_dir_(std::move(migrations_dir)),
      keys_(load_keys(config.security)),
      instance_(crypto::to_hex(crypto::random_bytes(4))),
      app_name_("mediaxd/" + instance_),
      db_url_(with_application_name(database_url(config), app_name_)),
      owner_(make_owner_id(instance_)),
      migrator_(database_url(config), migrations_dir_),
      store_(make_pg_store(db_url_, config.database.pool_size, keys_.sealer)),
      resolver_(make_system_resolver()),
      outbound_(outbound_policy(config.security), *resolver_),
      http_(make_http_client(platform_http_options(config.refresh, outbound_))),
      call_budget_(*store_, time_),
      component_credentials_(*store_, time_),
      platforms_(*http_, platform_settings(config), &call_budget_, &component_credentials_),
      policy_(config.refresh),
      guards_(breaker_settings(config.refresh), time_),
      refresher_(*store_, *store_, *store_, platforms_, cache_, policy_, time_, owner_, metrics_),
      scheduler_(io_, refresher_, time_, config.refresh.max_concurrent, metrics_),
      hook_http_(make_http_client(webhook_http_options(config, outbound_))),
      hook_sender_(*store_, *hook_http_, time_, config.webhook, owner_, metrics_),
      hooks_(hook_sender_, *store_, time_, Seconds(config.webhook.poll_seconds),
             Seconds(config.webhook.reauth_notice_days * 24 * 3600)),
      rejected_limits_(rejected_limits_config(config.security), time_, &metrics_),
      token_reads_(*store_, cache_, refresher_, time_, &rejected_limits_),
      apps_(*store_, *store_, *store_, *store_, platforms_, cache_, token_reads_, scheduler_, config, time_, outbound_),
      new_grants_(*store_, *store_, cache_, scheduler_, policy_, time_),
      grants_(*store_, *store_, platforms_, cache_, scheduler_, apps_, new_grants_, time_),
      connect_flow_(*store_, *store_, platforms_, grants_, new_grants_, config, time_),
      metrics_collector_(*store_, cache_, scheduler_, time_, metrics_),
      sync_(*store_, cache_,
            WheelUpdates{[this](const RefreshKey& k, TimePoint at) { scheduler_.schedule(k, at); },
                         [this](const RefreshKey& k) { scheduler_.cancel(k); },
                         [this](const RefreshKey& k) { refresher_.inputs_changed(k); }},
            time_, app_name_),
      // mediax_component_tickets: a WeChat third-party platform's app got a new ticket
      // (store/pg_store_component.cpp); its app token's state is read again like a token's.
      listener_(
          db_url_, {"mediax_tokens", "mediax_component_tickets"},
          [this](const std::string&, const std::string& payload) {
            if (sync_.on_notify(payload)) janitor_.poke(resync_task_);
          },
          [this] {  // (re)connected: what was said meanwhile is lost, sweep
            janitor_.poke(sweep_task_);
            janitor_.poke(ready_task_);
          }),
      claims_(make_partition_claims(db_url_)),
      keeper_(*claims_, owned_,
              PartitionWork{[this](const std::vector<int>& p) {
                              if (loaded_) adopt_partitions(p);  // before: the start-up load reads them
                            },
                            [this](const std::vector<int>& p) { forget_partitions(p); }},
              time_, metrics_),
      api_keys_(*store_, time_),
      audit_(*store_, time_),
      component_events_(
          *store_, cache_,
          ComponentEventActions{[this](const RefreshKey& k, TimePoint at) { scheduler_.schedule(k, at); },
                                [this](const RefreshKey& k) { scheduler_.cancel(k); },
                                [this](const App& app, const std::string& code, const std::string& event) {
                                  return connect_flow_.connect_with_code(app, code, event);
                                },
                                [this](const RefreshKey& k) { refresher_.inputs_changed(k); }},
          Seconds(config.wechat.event_max_age_seconds), &wechat_component::open_component_push, metrics_),
      edge_({apps_, connect_flow_, grants_, token_reads_, &audit_}, config.admin,
            HttpEdgeHooks{[this] { return ready_.load(); }, [this] { return db_reachable_.load(); }}, api_keys_,
            component_events_, time_, metrics_, edge_gate(config)),
      blocking_(kBlockingThreads),
      janitor_(io_, blocking_.get_executor(), time_) {
  cache_.restrict_to(&owned_);
  scheduler_.restrict_to(&owned_);
  scheduler_.run_on(carriers_);
  sync_.restrict_to(&owned_);
  token_reads_.read_through(store_.get(), &owned_);
  refresher_.set_platform_guards(&guards_);
  component_credentials_.bind(cache_, refresher_);
  std::string allowed;
  for (const auto& n : outbound_.policy().allowed_private_networks) {
    allowed += (allowed.empty() ? "" : ", ") + util::to_string(n);
  }
  spdlog::info("outbound calls may reach public addresses{}",
               allowed.empty() ? " only (security.allowed_private_networks is empty)" : " and " + allowed);
  refresher_.set_next_listener([this](const RefreshKey& key, std::optional<TimePoint> next) {
    if (next) {
      scheduler_.schedule(key, *next);
    } else {
      scheduler_.cancel(key);
      janitor_.poke(hooks_task_);  // it stopped (e.g. needs_reauth): an event may have been queued
    }
  });
}

// The tokens (into the cache) and the schedule (into the timer wheel) load side by side, each on a
// pooled connection of its own, the tokens batch by batch through a cursor; meanwhile a scan of the
// grants checks that every stored secret is sealed with a loaded key. Nothing serves or refreshes
// before all three are done.
void Daemon::load_tokens_and_schedule(std::chrono::steady_clock::time_point started) {
  const auto load_started = std::chrono::steady_clock::now();
  std::string key_problem;
  long long key_plain = 0;
  std::jthread key_check([&] {
    try {
      key_problem = check_stored_key_ids(database_url(config_), *keys_.sealer, key_plain);
    } catch (const std::exception& e) {
      key_problem = std::string("cannot check the stored secrets' keys: ") + e.what();
    }
  });
  notify::status("loading tokens and schedule");
  // The partitions claimed by the first round (all of them when this instance is alone).
  const auto partitions = owned_.list();
  const bool all = partitions.size() == static_cast<std::size_t>(kPartitionCount);
  std::string token_error;
  std::jthread token_loader([&] {
    try {
      const auto put = [this](const Token& t) { cache_.put(t); };
      if (all) {
        store_->scan_tokens(kTokenBatchRows, put);
      } else {
        store_->scan_tokens_of(partitions, kTokenBatchRows, put);
      }
      spdlog::info("loaded {} tokens in {} ms", cache_.size(), ms_since(load_started));
    } catch (const std::exception& e) {
      token_error = e.what();
    }
  });
  std::size_t scheduled = 0;
  std::string schedule_error;
  try {
    auto entries = all ? store_->load_schedule() : store_->load_schedule_of(partitions);
    const auto read_ms = ms_since(load_started);
    scheduler_.load(entries);
    scheduled = entries.size();
    const auto total_ms = ms_since(load_started);
    spdlog::info("schedule of {} entries in {} ms (read {} ms, timer wheel {} ms)", scheduled, total_ms, read_ms,
                 total_ms - read_ms);
  } catch (const std::exception& e) {
    schedule_error = e.what();
  }
  token_loader.join();
  key_check.join();
  if (!key_problem.empty()) throw StartupError(key_problem);
  if (key_plain > 0) {
    spdlog::warn(
        "{} stored secret(s) are in plain text or are app secrets not bound to their token endpoint: they are never "
        "used (the apps and grants they belong to fail to refresh) until `mediaxd migrate --config FILE` re-seals "
        "them",
        key_plain);
  }
  if (!token_error.empty() || !schedule_error.empty()) {
    throw StartupError(std::string("cannot load the ") + (token_error.empty() ? "schedule" : "tokens") + ": " +
                       (token_error.empty() ? schedule_error : token_error));
  }
  // bench/scenarios/scale.py reads this line.
  spdlog::info("loaded {} tokens and {} schedule entries in {} ms ({} ms since start; {} of {} partitions)",
               cache_.size(), scheduled, ms_since(load_started), ms_since(started), partitions.size(), kPartitionCount);
  loaded_ = true;
  // The query results and batches of the load are freed now; without a trim glibc keeps their
  // pages, and a million grants leave hundreds of MB resident that nothing uses (bench/RESULTS.md).
  malloc_trim(0);
}

void Daemon::start() {
  const auto started = std::chrono::steady_clock::now();
  wait_for_migrated_database(migrator_, time_);
  // Claim a share of the partitions first (all of them when no other instance runs), then load
  // what they hold. The keeper's janitor task moves them later. With other members, joined a
  // round before claiming: instances started together each load a share, not one of them
  // everything (PartitionKeeper::join). Alone, there is nobody to wait for: an instance that
  // joins later gets its share given (and the memory of what is given goes back, TokenCache).
  const auto members = keeper_.join();
  if (!members) throw StartupError("cannot join the instances sharing the refresh work (database unreachable)");
  if (*members > 1) std::this_thread::sleep_for(kPartitionRound);
  if (!keeper_.round()) throw StartupError("cannot claim partitions of the refresh work (database unreachable)");
  load_tokens_and_schedule(started);
  try {
    api_keys_.load();
  } catch (const StoreError& e) {
    throw StartupError(std::string("cannot load the API keys: ") + e.what());
  }
  if (api_keys_.size() == 0) {
    spdlog::warn(
        "no API keys exist: the admin API refuses every request until one is made with "
        "`mediaxd create-api-key --name NAME --role admin --config FILE`");
  }
  check_open_file_limit();
  std::vector<int> ports;  // admin.listen's, then admin.token_listen's when set
  try {
    ports = edge_.listen();
  } catch (const std::exception& e) {
    throw StartupError(e.what());  // names the key and the address
  }

  add_janitor_tasks();  // before anything that may poke them runs
  janitor_.start();
  edge_.start();
  scheduler_.start();
  listener_.start();
  signals_.emplace(io_, SIGTERM, SIGINT, SIGHUP);
  wait_signal();
  spdlog::info("mediaxd {} listening on {} (instance {})", MEDIAX_VERSION, bound(config_.admin.listen, ports.at(0)),
               owner_);
  if (ports.size() > 1) {
    spdlog::info("token reads on {} ({} threads)", bound(config_.admin.token_listen, ports.at(1)),
                 config_.admin.event_threads);
  }
  notify::ready("serving " + std::to_string(cache_.size()) + " tokens");
}

void Daemon::adopt_partitions(const std::vector<int>& partitions) {
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t tokens = 0;
  store_->scan_tokens_of(partitions, kTokenBatchRows, [&](const Token& t) {
    ++tokens;
    cache_.put_if_newer(t);  // a refresh of this instance may be newer
  });
  auto entries = store_->load_schedule_of(partitions);
  const auto scheduled = entries.size();
  scheduler_.add(std::move(entries));
  spdlog::info("partitions: loaded {} tokens and {} schedule entries of {} partitions in {} ms", tokens, scheduled,
               partitions.size(), ms_since(t0));
  // The load's batches were freed in this pool thread's malloc arena: give the pages back, as
  // after the start-up load (a third of a million grants left ~100 MB resident otherwise).
  if (tokens + scheduled > 10000) malloc_trim(0);
}

void Daemon::forget_partitions(const std::vector<int>& partitions) {
  const auto entries = scheduler_.drop_partitions(partitions);
  const auto tokens = cache_.erase_partitions(partitions);
  spdlog::debug("partitions: forgot {} schedule entries and {} tokens of {} partitions", entries, tokens,
                partitions.size());
  if (tokens > 10000) malloc_trim(0);  // give the freed pages back (as after the start-up load)
}

// Every listener may hold admin.max_connections connections: a soft limit of 1024 (a shell's
// default) would make accepts fail long before that, so it goes up to the hard limit, and what
// still does not fit is said once.
void Daemon::check_open_file_limit() {
  const OpenFileLimit limit = raise_open_file_limit();
  if (const auto warning = open_file_warning(config_, open_files_needed(config_), limit); !warning.empty()) {
    spdlog::warn("{}", warning);
  }
}

void Daemon::add_janitor_tasks() {
  using On = Janitor::On;
  if (auto period = notify::watchdog_period()) janitor_.add("watchdog", *period, On::loop, [] { notify::watchdog(); });
  janitor_.add("partitions", kPartitionRound, On::pool, [this] { keeper_.round(); });
  const auto db_ping = janitor_.add("database ping", kDatabasePing, On::pool, [this] { ping_database(); });
  ready_task_ = janitor_.add("readiness", kReadiness, On::pool, [this] { check_readiness(); });
  sweep_task_ = janitor_.add("schedule sweep", std::chrono::seconds(config_.refresh.sweep_seconds), On::pool,
                             [this] { sync_.sweep(); });
  resync_task_ = janitor_.add("notified changes", std::nullopt, On::pool, [this] { sync_.resync_pending(); });
  janitor_.add("API key reload", kApiKeyReload, On::pool, [this] { api_keys_.refresh(); });
  hooks_task_ = janitor_.add("webhooks", hooks_.poll(), On::pool, [this] {
    // Come back when the earliest event is due, if that is before the next poll.
    if (const auto next = hooks_.deliver_due(); next < hooks_.poll()) janitor_.poke(hooks_task_, next);
  });
  const auto notices = janitor_.add("reauth notices", hooks_.poll(), On::pool, [this] {
    if (hooks_.queue_reauth_notices() > 0) janitor_.poke(hooks_task_);
  });
  const auto metrics =
      janitor_.add("database metrics", kMetricsRead, On::pool, [this] { metrics_collector_.read_database(); });
  janitor_.add("authorization request purge", kAuthRequestPurge, On::pool, [this] {
    try {
      store_->purge_auth_requests(time_.system() - std::chrono::hours(24));
    } catch (const std::exception& e) {
      spdlog::debug("purge of old authorization requests skipped: {}", e.what());
    }
  });
  janitor_.add("audit token read counts", kAuditFlush, On::pool, [this] { audit_.flush_counts(); });
  // A load or a partition given away is followed by a trim, but the heap it leaves (freed pages
  // between chunks still in use) is touched again by what runs afterwards (a /metrics scrape
  // allocates a series per app, the rounds' query results) and stays resident, freed: ~5 MB of
  // an instance holding a third of a million tokens (bench/RESULTS.md, memory per instance). A
  // trim walks the free chunks of a heap of a few MB: 1.1 ms median in the partitions benchmark
  // (27 ms at most, right after a load), 0.01 % of a core every 10 s.
  janitor_.add("heap trim", kHeapTrim, On::pool, [] { malloc_trim(0); });
  const auto audit_purge = janitor_.add("audit purge", kAuditPurge, On::pool, [this] {
    try {
      const auto n = audit_.purge(std::chrono::hours(24) * config_.security.audit_retention_days);
      if (n > 0) spdlog::info("audit: purged {} records older than {} days", n, config_.security.audit_retention_days);
    } catch (const std::exception& e) {
      spdlog::warn("audit: purge of old records skipped: {}", e.what());
    }
  });
  janitor_.poke(audit_purge);
  // At once rather than one period after start.
  for (auto id : {db_ping, ready_task_, hooks_task_, notices, metrics}) janitor_.poke(id);
}

void Daemon::ping_database() {
  bool up = false;
  try {
    up = store_->ping();
  } catch (const std::exception&) {
    up = false;
  }
  if (db_reachable_.exchange(up) != up) {
    if (up) {
      spdlog::info("database reachable again");
    } else {
      spdlog::error("database unreachable: serving the tokens in memory (marked stale), refreshes wait");
    }
  }
}

void Daemon::check_readiness() {
  try {
    ready_ = store_->ping() && listener_.connected() && migrator_.pending().empty();
  } catch (const std::exception&) {
    ready_ = false;
  }
}

void Daemon::wait_signal() {
  signals_->async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      reload();
      wait_signal();
      return;
    }
    spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    notify::stopping();
    janitor_.stop();
    io_.stop();
  });
}

void Daemon::run() { io_.run(); }

void Daemon::reload() {
  notify::reloading(time_);
  try {
    Config fresh = load_config(config_.path);
    load_credentials(fresh);  // as at start, so paths compare as the running ones (and a new password is seen)
    for (const auto& key : non_reloadable_changes(config_, fresh)) {
      spdlog::warn("reload: {} changed but only takes effect after a restart", key);
    }
    set_log_level(fresh.log.level);
    policy_.update(fresh.refresh);
    guards_.update(breaker_settings(fresh.refresh));
    spdlog::info("configuration reloaded: log level {}, refresh settings", fresh.log.level);
  } catch (const std::exception& e) {
    spdlog::error("reload failed, keeping the running configuration: {}", e.what());
  }
  notify::reloaded();
}

void Daemon::stop() {
  edge_.stop();  // first: no request may reach the services below once they stop
  janitor_.stop();
  listener_.stop();
  scheduler_.stop(Seconds(config_.refresh.shutdown_grace_seconds));
  // The refreshes in flight have ended: the leases and partitions go now, so the others take
  // over at once (and find those refreshes' results), not after the webhooks below.
  try {
    store_->release_leases(owner_);
  } catch (const std::exception& e) {
    spdlog::warn("could not release leases: {}", e.what());
  }
  carriers_.stop();  // after the grace: a refresh still parked is unwound (its lease runs out)
  keeper_.leave();   // a round still running on the pool fails: the claims do not join again
  hooks_.stop();
  blocking_.join();  // the janitor's tasks in flight end (a webhook batch: webhook.timeout_ms each)
  // The token reads of the last minutes, this one included (a restart within the minute gives
  // that minute a second row).
  audit_.flush_counts(true);
  spdlog::info("stopped");
}

int run_daemon(const Config& config, const std::string& migrations_dir) {
  try {
    Daemon daemon(config, migrations_dir);
    daemon.start();
    daemon.run();
    daemon.stop();
    return 0;
  } catch (const StartupError& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
}

}  // namespace mediax
