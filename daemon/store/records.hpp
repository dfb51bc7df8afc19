// What the store reads and writes, as plain values, and the errors it throws. No SQL here.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/call_limit.hpp"
#include "core/types.hpp"

namespace mediax {

class StoreError : public std::runtime_error {  // database unreachable or failed
 public:
  using std::runtime_error::runtime_error;
};
// The database could not be reached: no connection could be opened or none freed up in time, or
// the connection was lost. Not a refusal of the statement (that is a plain StoreError).
class DatabaseUnreachableError : public StoreError {
 public:
  using StoreError::StoreError;
};
class DuplicateError : public std::runtime_error {  // unique constraint, e.g. app name taken
 public:
  using std::runtime_error::runtime_error;
};
// create_app: another app fetches its app token with the same credential (App::credential_key).
class CredentialInUseError : public DuplicateError {
 public:
  CredentialInUseError(const std::string& what, std::string holder_app)
      : DuplicateError(what), holder(std::move(holder_app)) {}
  std::string holder;  // the app that holds the credential; empty if it went away meanwhile
};
// A stored secret (client secret, refresh token, PKCE verifier) does not decrypt: its key is not
// loaded, or the value was changed or copied from another row. what() names the row, never the
// value. A StoreError, so callers that only know StoreError still fail cleanly.
class SecretUnreadableError : public StoreError {
 public:
  using StoreError::StoreError;
};

struct AuthRequest {
  std::string state;
  std::int64_t app_id = 0;
  std::string code_verifier;
  std::string redirect_uri;
  TimePoint expires_at{};
  // SHA-256 (hex) of the connect cookie of the browser the flow was started in; "" = none (a request
  // from before migration 0012, which the callback refuses).
  std::string browser_hash{};
};

// A one-time connect link (mediax.connect_tickets): only the ticket's SHA-256 is stored.
struct ConnectTicket {
  std::string ticket_hash;  // hex SHA-256 of the ticket
  std::int64_t app_id = 0;
  std::string choices;  // the admin's per-connection choices, a JSON object as text
  TimePoint expires_at{};
};

enum class ConsumeResult { ok, unknown, expired, used };

struct Event {
  std::int64_t id = 0;
  std::optional<std::int64_t> app_id;
  std::optional<std::int64_t> grant_id;
  std::string kind;       // "app_registered", "grant_connected", "refreshed", "refresh_failed", ...
  nlohmann::json detail;  // never a token or secret
  TimePoint at{};
};

// One entry of the schedule loaded at start: what to refresh and when.
struct ScheduleEntry {
  RefreshKey key;
  TimePoint next_refresh_at{};
};

// Rows by platform and status, for metrics. kind: "grant" (a connected account) or
// "app_token" (an app's client-credentials token); leased: rows whose refresh lease is held now.
struct StatusCount {
  std::string kind;
  std::string platform;
  std::string status;
  std::int64_t count = 0;
  std::int64_t leased = 0;
};

// How one kind of batched statement has fared (store/batcher.hpp): statement "lease", "complete"
// or "event"; requests / batches is the mean batch size.
struct BatchCount {
  std::string statement;
  std::uint64_t batches = 0;
  std::uint64_t requests = 0;
};

// Stored access tokens by platform; state "valid" (not expired) or "expired".
struct TokenCount {
  std::string platform;
  std::string state;
  std::int64_t count = 0;
};

// The schedule state of one key as another instance may have left it.
struct ScheduleChange {
  RefreshKey key;
  GrantStatus status = GrantStatus::active;
  std::optional<TimePoint> next_refresh_at;  // empty: nothing to schedule
  // Until when an instance holds the refresh lease (empty: nobody). A due row that another
  // instance leased is looked at again right after this: a dead holder is taken over promptly.
  std::optional<TimePoint> lease_until;
};

// What a refresh needs, read under the lease.
struct RefreshJob {
  RefreshKey key;
  App app;                       // with client_secret
  std::optional<Grant> grant;    // with refresh_token; empty for app tokens
  std::optional<Token> current;  // the current access token, if any
  // An earlier holder of the lease stopped in the middle of a refresh (crashed): the platform
  // may have rotated the refresh token without the new one being stored.
  bool interrupted = false;
  // Not empty: a secret of this job (the app's client secret or the grant's refresh token) was
  // changed or copied from another row and does not decrypt; says which row, never the value.
  // The refresh cannot run: the key needs a human (re-register the app or reconnect the account).
  std::string unreadable;
};

// The result of a refresh to be stored and published in one transaction.
struct RefreshSuccess {
  Token token;
  std::optional<std::string> new_refresh_token;  // rotate; empty keeps the old one
  std::optional<TimePoint> refresh_expires_at;   // when new_refresh_token is given
  std::optional<std::string> account_id;
  nlohmann::json grant_extra_patch = nlohmann::json::object();  // merged into grants.extra
  TimePoint next_refresh_at{};
  std::optional<TimePoint> reauth_due_at;  // grants: set (or cleared when empty) with the result
  std::string last_error;                  // grants: a follow-up step that failed ("" clears)
};

struct RefreshFailure {
  OutcomeKind kind = OutcomeKind::retry_later;
  std::string code;
  std::string message;
  std::optional<TimePoint> next_refresh_at;  // retry time; empty when the grant stops (needs_reauth)
  std::optional<GrantStatus> new_status;     // e.g. needs_reauth
};

// An admin API key (mediax.api_keys). Only the SHA-256 of the key is stored.
struct ApiKeyRecord {
  std::int64_t id = 0;
  std::string name;
  std::string role;      // "admin" or "reader"
  std::string hash_hex;  // hex SHA-256 of the whole key
  // The apps a reader key may use: names and glob patterns (service/api_key_scope.hpp); empty:
  // every app (admin keys, unscoped readers).
  std::vector<std::string> apps;
  TimePoint created_at{};
  std::optional<TimePoint> last_used_at;
  std::optional<TimePoint> revoked_at;
};

// The webhook of an app (mediax.webhooks). secret is only filled when the store was asked for it.
struct Webhook {
  std::int64_t app_id = 0;
  std::string url;
  std::string secret;
  TimePoint created_at{};
  TimePoint updated_at{};
};

// One event in the webhook outbox (mediax.webhook_deliveries).
struct WebhookDelivery {
  std::int64_t id = 0;
  std::int64_t app_id = 0;
  std::string event;       // "grant.needs_reauth", "app.misconfigured"
  nlohmann::json payload;  // the body without delivery_id; never a token or secret
  int attempts = 0;        // made so far (a claim counts one)
  std::string url;         // claimed deliveries: the app's webhook URL now
  std::string secret;      // claimed deliveries: the HMAC key
  TimePoint created_at{};
  std::optional<TimePoint> next_attempt_at;  // empty once delivered or given up
  std::optional<TimePoint> delivered_at;
  std::optional<TimePoint> failed_at;  // given up after the last attempt
  std::string last_error;              // "http_500", "timeout", ... no response bodies
};

// The latest component_verify_ticket WeChat pushed for a wechat_component app
// (mediax.component_tickets). ticket is sealed at rest.
struct ComponentTicket {
  std::int64_t app_id = 0;
  std::string ticket;
  TimePoint create_time{};  // CreateTime of the push
  TimePoint received_at{};
};

// What update_app_secrets did.
struct AppSecretsUpdated {
  bool found = false;        // false: no such app
  bool rescheduled = false;  // its app token had stopped (needs_reauth) and is active and due again
};

}  // namespace mediax
