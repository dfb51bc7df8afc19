#include "runtime/startup.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <thread>

#include "runtime/notify.hpp"
#include "util/ip_address.hpp"
#include "util/waits.hpp"

namespace mediax {

using std::chrono::milliseconds;

std::string make_owner_id(const std::string& instance) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + instance;
}

LoadedSealKeys load_keys(const SecurityConfig& security) {
  LoadedSealKeys keys;
  try {
    keys = load_seal_keys(security);
  } catch (const SealKeyError& e) {
    throw StartupError(e.what());
  }
  for (const auto& w : keys.warnings) spdlog::warn("{}", w);
  for (const auto& d : keys.described) spdlog::info("encryption key {}", d);
  return keys;
}

HttpClientOptions platform_http_options(const RefreshConfig& refresh, const OutboundGuard& outbound) {
  HttpClientOptions o;
  o.outbound = &outbound;
  o.connect_timeout = milliseconds(refresh.connect_timeout_ms);
  o.read_timeout = milliseconds(refresh.request_timeout_ms);
  o.total_timeout = milliseconds(refresh.request_timeout_ms);
  o.keep_alive = std::chrono::seconds(refresh.keep_alive_seconds);
  o.max_idle_per_origin = static_cast<std::size_t>(refresh.max_concurrent);
  o.user_agent = std::string("mediaxd/") + MEDIAX_VERSION;
  return o;
}

HttpClientOptions webhook_http_options(const Config& config, const OutboundGuard& outbound) {
  HttpClientOptions o = platform_http_options(config.refresh, outbound);
  o.connect_timeout = milliseconds(config.webhook.timeout_ms);
  o.read_timeout = milliseconds(config.webhook.timeout_ms);
  return o;
}

OutboundPolicy outbound_policy(const SecurityConfig& security) {
  OutboundPolicy p;
  for (const auto& text : security.allowed_private_networks) {
    std::string problem;
    auto network = util::parse_network(text, problem);
    if (!network) throw StartupError("security.allowed_private_networks: " + problem);
    p.allowed_private_networks.push_back(*network);
  }
  return p;
}

PlatformSettings platform_settings(const Config& config) {
  PlatformSettings s;
  s.default_expires_in = Seconds(config.refresh.default_expires_in);
  s.urls = config.platforms;
  return s;
}

void wait_for_migrated_database(Migrator& m, const TimeSource& time) {
  for (int attempt = 0;; ++attempt) {
    std::vector<std::string> pending;
    try {
      pending = m.pending();
    } catch (const std::exception& e) {
      if (attempt == 0 || attempt % 15 == 0) spdlog::error("database unreachable, retrying: {}", e.what());
      notify::status("waiting for the database (attempt " + std::to_string(attempt + 1) + ")");
      sleep_for(time, std::chrono::seconds(2));
      continue;
    }
    if (pending.empty()) return;
    throw StartupError("the database is not migrated: " + std::to_string(pending.size()) +
                       " pending migration(s), first " + pending.front() +
                       ". Run `mediaxd migrate --config FILE` first.");
  }
}

}  // namespace mediax
