// The steps of a start that need no running daemon: the encryption keys, the wait for a migrated
// database, this instance's lease-holder name, and the options the config gives the HTTP clients
// and platforms. Each failure is a StartupError worded for the operator.
#pragma once

#include <stdexcept>
#include <string>

#include "config/config.hpp"
#include "net/http_client.hpp"
#include "net/outbound_guard.hpp"
#include "platforms/registry.hpp"
#include "runtime/seal_keys.hpp"
#include "store/store.hpp"
#include "util/time_source.hpp"

namespace mediax {

// Why the daemon cannot start (logged as critical; the process exits 1).
class StartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// No key, no start: every secret the daemon stores is sealed with it. Logs the keys (never their bytes).
LoadedSealKeys load_keys(const SecurityConfig& security);
// Returns once the database answers with no pending migration. Waits while it is unreachable (it
// may be starting too); throws StartupError when it is reachable but not migrated.
void wait_for_migrated_database(Migrator& m, const TimeSource& time);
// host:pid:instance, the holder of this instance's leases.
std::string make_owner_id(const std::string& instance);

// Both check every destination with `outbound` (which must outlive the clients).
HttpClientOptions platform_http_options(const RefreshConfig& refresh, const OutboundGuard& outbound);
HttpClientOptions webhook_http_options(const Config& config, const OutboundGuard& outbound);  // webhook.timeout_ms
// security.allowed_private_networks parsed (the config checked each entry when it was loaded).
OutboundPolicy outbound_policy(const SecurityConfig& security);
PlatformSettings platform_settings(const Config& config);

}  // namespace mediax
