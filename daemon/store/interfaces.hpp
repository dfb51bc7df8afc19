// The database, split by who uses it (one interface per consumer): a component takes only the
// slices it needs, and its tests fake only those (tests/support/). PgStore implements them all.
// All methods are thread-safe and throw StoreError when the database cannot be reached.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/partitions.hpp"
#include "store/audit_records.hpp"
#include "store/records.hpp"

namespace mediax {

// The refresh bookkeeping: the schedule, leases and the result of each refresh (Refresher, Scheduler).
class RefreshStore {
 public:
  virtual ~RefreshStore() = default;

  // Every active app token and grant with its next refresh time, in no particular order.
  virtual std::vector<ScheduleEntry> load_schedule() = 0;
  // The entries of load_schedule() in these partitions (core/partitions.hpp).
  virtual std::vector<ScheduleEntry> load_schedule_of(const std::vector<int>& partitions) {
    auto all = load_schedule();
    const PartitionSet only(partitions);
    std::erase_if(all, [&](const ScheduleEntry& e) { return !only.owns(e.key); });
    return all;
  }
  // Sets when an app's token must be fetched (e.g. right after registration).
  virtual void set_next_refresh(const RefreshKey& key, TimePoint at) = 0;
  // Takes the lease on key for owner until lease_until when it is free or expired and the
  // grant/app is active; returns the job, or nothing when another owner holds it or it is gone.
  // With due_by, also only when next_refresh_at <= due_by: a scheduled refresh whose time was
  // moved by another instance (it refreshed first) is not repeated.
  // With rejected_token (a consumer's refused access token), only while the stored access token
  // is still that one (or there is none): reports of one refused token arriving on several
  // instances refresh once; the others find the newer token with get_token.
  virtual std::optional<RefreshJob> acquire_lease(const RefreshKey& key, const std::string& owner, TimePoint now,
                                                  TimePoint lease_until, std::optional<TimePoint> due_by = std::nullopt,
                                                  const std::optional<std::string>& rejected_token = std::nullopt) = 0;
  // Stores the new token (and rotated refresh token), resets failures, sets next refresh,
  // releases the lease and sends NOTIFY, in one transaction.
  virtual void complete_refresh(const RefreshKey& key, const std::string& owner, const RefreshSuccess& s) = 0;
  // Records a failure (failure_count+1, last_error, next retry or new status) and releases the lease.
  virtual void fail_refresh(const RefreshKey& key, const std::string& owner, const RefreshFailure& f) = 0;
  virtual void release_leases(const std::string& owner) = 0;
  // Records that the platform refuses to renew the app's refresh tokens (apps.renew_not_permitted_at)
  // and queues the app.renew_not_permitted webhook, once: true only for the call that set it.
  virtual bool flag_renew_not_permitted(std::int64_t app_id, TimePoint at) = 0;
};

// Stored tokens and what other instances changed: the token cache and cluster sync read these.
class TokenFeed {
 public:
  virtual ~TokenFeed() = default;

  virtual std::optional<Token> get_token(const RefreshKey& key) = 0;
  virtual std::vector<Token> all_tokens() = 0;  // in no particular order
  // Every row of all_tokens(), handed to fn one at a time as it is read (through a cursor, about
  // batch_rows rows at a time). The Token passed is reused for the next row: fn copies what it
  // keeps. A load of a million tokens thus holds one batch of rows and never a vector of Tokens
  // beside the cache's copies: freed, those batches left heap behind that outlived the load.
  virtual void scan_tokens(std::size_t /*batch_rows*/, const std::function<void(const Token&)>& fn) {
    for (const auto& t : all_tokens()) fn(t);
  }
  // The rows of scan_tokens() in these partitions (core/partitions.hpp).
  virtual void scan_tokens_of(const std::vector<int>& partitions, std::size_t batch_rows,
                              const std::function<void(const Token&)>& fn) {
    const PartitionSet only(partitions);
    scan_tokens(batch_rows, [&](const Token& t) {
      if (only.owns(RefreshKey{t.app_id, t.grant_id.value_or(0)})) fn(t);
    });
  }
  // Apps (client credentials) and grants whose row changed at or after `since`, any status.
  virtual std::vector<ScheduleChange> schedule_changes_since(TimePoint since) = 0;
  // Tokens stored at or after `since` that may be served.
  virtual std::vector<Token> tokens_refreshed_since(TimePoint since) = 0;
  // The schedule state of one key; empty when the app or grant no longer exists.
  virtual std::optional<ScheduleChange> schedule_of(const RefreshKey& key) = 0;
};

// Which instance owns which partition (core/partitions.hpp), held on a database session of the
// instance's own: when the instance dies, its session ends and its partitions are free at once.
// Not thread-safe: one keeper (runtime/partition_keeper.hpp) calls it.
class PartitionClaims {
 public:
  virtual ~PartitionClaims() = default;
  // Joins (connecting first, again after a lost connection: what was held then is gone) and
  // reads who holds what.
  virtual PartitionView look() = 0;
  // Tries to take each partition; returns those taken (a partition held by another is not).
  virtual std::vector<int> claim(const std::vector<int>& partitions) = 0;
  virtual void release(const std::vector<int>& partitions) = 0;
  // Releases everything and closes the session, for good (the instance is stopping).
  virtual void leave() = 0;
};

// Daily call budgets counted across instances.
class CallBudgetStore {
 public:
  virtual ~CallBudgetStore() = default;

  // Counts one call of `kind` for the app on the platform's day of `now` (limit.utc_offset_hours)
  // when spend_verdict allows it; otherwise counts nothing and says why. Atomic across instances.
  virtual CallSpend try_spend_call(std::int64_t app_id, const std::string& kind, const CallLimit& limit,
                                   TimePoint now) = 0;
  // Calls counted for the app on the day of `now` at UTC+utc_offset_hours.
  virtual int calls_today(std::int64_t app_id, const std::string& kind, TimePoint now, int utc_offset_hours) = 0;
};

// The event log (mediax.events): what happened to apps and grants, never a token or secret.
class EventLog {
 public:
  virtual ~EventLog() = default;

  virtual void add_event(const Event& e) = 0;
  virtual std::vector<Event> list_events(std::optional<std::int64_t> app_id, std::optional<std::int64_t> grant_id,
                                         int limit) = 0;
};

// Admin API keys (only their hashes).
class ApiKeyStore {
 public:
  virtual ~ApiKeyStore() = default;

  // Inserts a key; DuplicateError when the name (or hash) is taken, even by a revoked key. apps:
  // the reader key's scope (checked by the caller), empty for every app; StoreError for apps on an
  // admin key.
  virtual ApiKeyRecord create_api_key(const std::string& name, const std::string& role, const std::string& hash_hex,
                                      const std::vector<std::string>& apps = {}) = 0;
  virtual std::vector<ApiKeyRecord> list_api_keys() = 0;  // every key, revoked ones too, by name
  // Sets revoked_at; false when no unrevoked key has that name.
  virtual bool revoke_api_key(const std::string& name, TimePoint at) = 0;
  // Sets last_used_at of the named keys.
  virtual void touch_api_keys(const std::vector<std::string>& names, TimePoint at) = 0;
};

// The durable outbox of webhook events (pg_store_webhooks.cpp), filled by the daemon, emptied by its sender.
class WebhookOutbox {
 public:
  virtual ~WebhookOutbox() = default;

  // Queues an event for the app's webhook; its id, or nothing when the app has no webhook.
  virtual std::optional<std::int64_t> enqueue_webhook(std::int64_t app_id, const std::string& event,
                                                      const nlohmann::json& payload) = 0;
  // Leases up to `limit` undelivered events due at `now` to owner until lease_until and counts an
  // attempt for each; rows another instance is claiming are skipped (FOR UPDATE SKIP LOCKED), so
  // each attempt is made by one instance. Returned with the webhook's URL and secret.
  virtual std::vector<WebhookDelivery> claim_webhook_deliveries(const std::string& owner, TimePoint now,
                                                                TimePoint lease_until, int limit) = 0;
  // Records the outcome of a claimed attempt: delivered (error empty), to retry at retry_at, or
  // given up (error and no retry_at). False when owner no longer holds the lease.
  virtual bool finish_webhook_delivery(std::int64_t id, const std::string& owner, TimePoint at,
                                       const std::string& error, std::optional<TimePoint> retry_at) = 0;
  // When the earliest undelivered event may be claimed; empty when there is none.
  virtual std::optional<TimePoint> next_webhook_due() = 0;
  // Queues grant.reauth_due for active grants whose reauth_due_at is within `notice` of now, once
  // per reauth_due_at (a new refresh token's date is noticed again); the number queued.
  virtual int queue_reauth_notices(TimePoint now, Seconds notice) = 0;
  // The app's latest events, newest first (without secrets).
  virtual std::vector<WebhookDelivery> list_webhook_deliveries(std::int64_t app_id, int limit) = 0;
};

// WeChat third-party platform tickets.
class ComponentTicketStore {
 public:
  virtual ~ComponentTicketStore() = default;

  // Keeps t when it is newer (create_time) than the stored one; true when stored. NOTIFY so that
  // every instance can fetch a component token with it.
  virtual bool put_component_ticket(const ComponentTicket& t) = 0;
  virtual std::optional<ComponentTicket> latest_component_ticket(std::int64_t app_id) = 0;
};

// What the admin API reads and writes: apps, authorization requests, grants and webhook settings.
class AdminStore {
 public:
  virtual ~AdminStore() = default;

  // Inserts an app (id, created_at filled in); DuplicateError when the name is taken,
  // CredentialInUseError when a non-empty credential_key is another app's.
  virtual App create_app(const App& app) = 0;
  virtual std::vector<App> list_apps() = 0;  // without secrets; webhook_url filled
  virtual std::optional<App> get_app(const std::string& name, bool with_secret = false) = 0;
  virtual std::optional<App> get_app_by_id(std::int64_t id, bool with_secret = false) = 0;
  // Deletes the app with its grants, tokens and auth requests; false when unknown.
  virtual bool delete_app(const std::string& name) = 0;
  // Replaces the given secrets of the app (each sealed for its row as create_app seals them) in one
  // UPDATE; an empty secret_options object clears them. With restart_at, an app token stopped as
  // needs_reauth (a refused secret) becomes active, failure-free and due at restart_at
  // (other instances see it in their next schedule sweep).
  virtual AppSecretsUpdated update_app_secrets(std::int64_t app_id, const std::optional<std::string>& client_secret,
                                               const std::optional<nlohmann::json>& secret_options,
                                               std::optional<TimePoint> restart_at) = 0;
  virtual void create_auth_request(const AuthRequest& r) = 0;
  // Atomically marks the request used and returns it; distinguishes unknown, expired and used.
  virtual ConsumeResult consume_auth_request(const std::string& state, TimePoint now, AuthRequest& out) = 0;
  // Deletes authorization requests and connect tickets that expired or were used before older_than.
  virtual int purge_auth_requests(TimePoint older_than) = 0;
  // Stores a one-time connect link (by its hash); DuplicateError on a hash collision.
  virtual void create_connect_ticket(const ConnectTicket& t) = 0;
  // Atomically marks the ticket with this hash used and returns it; unknown, expired and used apart.
  virtual ConsumeResult consume_connect_ticket(const std::string& ticket_hash, TimePoint now, ConnectTicket& out) = 0;
  // Stores a newly connected account with its first token. An account connected again
  // (same app, same account_id) replaces its grant (same id, status active again).
  // Sends NOTIFY mediax_tokens. Returns the grant.
  virtual Grant upsert_grant(const Grant& g, const Token& token) = 0;
  virtual std::vector<Grant> list_grants(std::int64_t app_id) = 0;  // without refresh tokens
  virtual std::optional<Grant> get_grant(std::int64_t id, bool with_refresh_token = false) = 0;
  // Marks the grant revoked, deletes its token (NOTIFY). False when unknown.
  virtual bool revoke_grant(std::int64_t id, const std::string& reason) = 0;
  // The platform says the account withdrew its authorization (WeChat `unauthorized`): the app's
  // grant of account_id is revoked as revoke_grant does, and a `grant.revoked` webhook is queued in
  // the same transaction. Returns the grant id; nullopt when the app has no such active grant.
  virtual std::optional<std::int64_t> revoke_grant_of_account(std::int64_t app_id, const std::string& account_id,
                                                              const std::string& reason) = 0;
  // Sets or replaces the app's webhook.
  virtual void set_webhook(std::int64_t app_id, const std::string& url, const std::string& secret) = 0;
  // Removes the app's webhook and its undelivered events; false when it had none.
  virtual bool delete_webhook(std::int64_t app_id) = 0;
  virtual std::optional<Webhook> get_webhook(std::int64_t app_id, bool with_secret = false) = 0;
};

// Health and cheap aggregate counts for metrics (the defaults report nothing).
class HealthStore {
 public:
  virtual ~HealthStore() = default;

  virtual bool ping() = 0;  // database reachable
  virtual std::vector<StatusCount> count_grants_by_platform_status() { return {}; }
  virtual std::vector<TokenCount> count_tokens_by_platform() { return {}; }
  // Active grants whose extra records missing scopes (granular consent), by app name.
  virtual std::vector<std::pair<std::string, std::int64_t>> count_grants_missing_scopes() { return {}; }
  // Every app, by id, with only what the per-app gauges read: id, name, platform, last_error,
  // misconfigured and component_ticket_at (list_apps reads and parses every column: too much
  // every few seconds with thousands of apps).
  virtual std::vector<App> app_gauge_states() { return {}; }
  // The batched statements of scheduled refreshes so far (in this process, no database call).
  virtual std::vector<BatchCount> batch_counts() const { return {}; }
};

// The audit trail (mediax.audit): appended to, never changed but for a missing result set once;
// old rows purged. See store/audit_records.hpp.
class AuditLog {
 public:
  virtual ~AuditLog() = default;

  // Appends a write-ahead record (its result empty) before an action runs; its id.
  virtual std::int64_t begin_audit(const AuditEntry& e) = 0;
  // Sets the result of a write-ahead record (once; the table refuses any other change).
  virtual void finish_audit(std::int64_t id, const std::string& result) = 0;
  // Appends complete rows in one statement (token read counts, records after the fact).
  virtual void append_audit(const std::vector<AuditEntry>& rows) = 0;
  virtual std::vector<AuditEntry> list_audit(const AuditQuery& q) = 0;
  // Deletes the rows older than older_than; how many.
  virtual std::int64_t purge_audit(TimePoint older_than) = 0;
};

}  // namespace mediax
