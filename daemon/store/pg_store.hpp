// PgStore: the Store interface on PostgreSQL (schema "mediax", see migrations/). Every method
// is one transaction on a pooled connection and uses parameterized statements only.
// Split over pg_store.cpp (apps, auth requests, events), pg_store_grants.cpp (grants, tokens)
// and pg_store_refresh.cpp (schedule, leases); secrets at rest in pg_store_seal.cpp.
//
// Secrets are sealed (crypto/sealer.hpp, AES-256-GCM) before they are written and opened after
// they are read; the associated data is "<table>.<column>:<row key>" (seal_context), so a value
// copied to another row or column does not open. Empty values stay empty. An app's secrets
// (client_secret, secret_options) are bound to where they may be sent as well (v2,
// core/secret_binding.hpp): a token_url changed in the database makes them refused, the app
// marked misconfigured. A value without a "v1:"/"v2:" prefix is plain text from before encryption,
// and a v1 app secret is bound to nothing: neither is ever used; the upgrade step of `mediaxd
// migrate` (reseal_all(upgrade)) seals and binds them.
#pragma once

#include <memory>
#include <string_view>

#include <pqxx/pqxx>

#include "store/batcher.hpp"
#include "store/group_commit.hpp"
#include "store/pg_pool.hpp"
#include "store/store.hpp"

namespace mediax::pg {

// A column that holds sealed secrets: rotation, the start-up key check and the census walk
// this list. A table that does not exist (yet) is skipped.
struct SealedColumn {
  std::string table;       // in schema mediax: "grants"
  std::string key_column;  // the row identity in the associated data: "id"
  std::string key_type;    // its SQL type: "int8" or "text"
  std::string column;      // "refresh_token"
  bool bound = false;      // an app's secret: v2, bound to the app's endpoints (core/secret_binding.hpp)
  std::string name() const { return table + "." + column; }  // "grants.refresh_token"
};
const std::vector<SealedColumn>& sealed_columns();

// How many non-empty values of a column are sealed with a key (key_id empty: plain text).
struct SealedValueCount {
  std::string column;  // "grants.refresh_token"
  std::string key_id;
  std::int64_t count = 0;
  int version = 0;     // 0 plain text, 1 or 2 (crypto/sealer.hpp)
  bool bound = false;  // the column's values must be v2 (SealedColumn::bound)
  // What the upgrade step of `mediaxd migrate` changes, and the daemon never uses.
  bool needs_upgrade() const { return version == 0 || (bound && version == 1); }
};

// What `reseal_all` did to one column.
struct ResealCounts {
  std::string column;
  std::int64_t resealed = 0;              // were sealed under another key, now under the current one
  std::int64_t sealed_plain = 0;          // were plain text, now sealed
  std::int64_t bound = 0;                 // app secrets sealed before binding (v1), now bound (v2)
  std::int64_t changed_concurrently = 0;  // a daemon rewrote the value meanwhile (or another pass did it)
  std::vector<std::string> unreadable;    // rows whose value does not open: "grants.refresh_token of row 12: why"
};

// reseal_all: rotate-key puts every value under the current key; the upgrade (`mediaxd migrate`)
// only seals plain text and binds v1 app secrets, whatever key the rest is under.
enum class ResealMode { rotate, upgrade };

class PgStore final : public Store {
 public:
  PgStore(const std::string& db_url, int pool_size, std::shared_ptr<const crypto::Sealer> sealer = nullptr);
  ~PgStore() override;

  // Seals `plaintext` for column `column` ("webhooks.secret") of the row `row_key` under the
  // current key; "" stays "". Throws StoreError when no key is loaded.
  std::string seal_field(std::string_view column, std::string_view row_key, std::string_view plaintext) const;
  // Opens what seal_field stored. Throws SecretUnreadableError naming column and row (never the
  // value) when it does not open or is plain text (never accepted).
  std::string open_field(std::string_view column, std::string_view row_key, std::string_view stored) const;
  // The same for an app's secrets ("apps.client_secret", "apps.secret_options"): bound to the
  // app's secret_binding (its id, platform, token_url, revocation_url and options.base_url).
  // Opening refuses a value bound to other endpoints (a refusal that says which changed), a v1
  // value and plain text.
  std::string seal_app_field(std::string_view column, const App& app, std::string_view plaintext) const;
  std::string open_app_field(std::string_view column, const App& app, std::string_view stored) const;
  // Non-empty values per column and key id. With skip_key_id, values sealed with that key are
  // left out (not counted): the start-up check, where the current key's values are nearly all
  // and grouping a million of them by key id is most of the work.
  std::vector<SealedValueCount> count_sealed_values(const std::string& skip_key_id = "");
  // Re-seals every value of every sealed column that is not under the current key (plain text
  // included), in small transactions, each row with a compare-and-set on its old value so a
  // daemon writing at the same time is never overwritten. Safe while daemons run.
  // ResealMode::upgrade is the step `mediaxd migrate` runs after the SQL migrations: plain text
  // sealed, v1 app secrets bound to their app's endpoints as the row says now. Idempotent.
  std::vector<ResealCounts> reseal_all(int batch_size = 100, ResealMode mode = ResealMode::rotate);
  // Values the upgrade would change (plain text anywhere, v1 app secrets): 0 once it has run.
  std::int64_t count_values_to_upgrade();

  App create_app(const App& app) override;
  AppSecretsUpdated update_app_secrets(std::int64_t app_id, const std::optional<std::string>& client_secret,
                                       const std::optional<nlohmann::json>& secret_options,
                                       std::optional<TimePoint> restart_at) override;
  std::vector<App> list_apps() override;
  std::optional<App> get_app(const std::string& name, bool with_secret) override;
  std::optional<App> get_app_by_id(std::int64_t id, bool with_secret) override;
  bool delete_app(const std::string& name) override;

  CallSpend try_spend_call(std::int64_t app_id, const std::string& kind, const CallLimit& limit,
                           TimePoint now) override;
  int calls_today(std::int64_t app_id, const std::string& kind, TimePoint now, int utc_offset_hours) override;

  void create_auth_request(const AuthRequest& r) override;
  ConsumeResult consume_auth_request(const std::string& state, TimePoint now, AuthRequest& out) override;
  int purge_auth_requests(TimePoint older_than) override;
  void create_connect_ticket(const ConnectTicket& t) override;
  ConsumeResult consume_connect_ticket(const std::string& ticket_hash, TimePoint now, ConnectTicket& out) override;

  Grant upsert_grant(const Grant& g, const Token& token) override;
  std::vector<Grant> list_grants(std::int64_t app_id) override;
  std::optional<Grant> get_grant(std::int64_t id, bool with_refresh_token) override;
  bool revoke_grant(std::int64_t id, const std::string& reason) override;
  std::optional<std::int64_t> revoke_grant_of_account(std::int64_t app_id, const std::string& account_id,
                                                      const std::string& reason) override;  // pg_store_component.cpp
  bool put_component_ticket(const ComponentTicket& t) override;
  std::optional<ComponentTicket> latest_component_ticket(std::int64_t app_id) override;

  std::optional<Token> get_token(const RefreshKey& key) override;
  std::vector<Token> all_tokens() override;
  void scan_tokens(std::size_t batch_rows, const std::function<void(const Token&)>& fn) override;
  void scan_tokens_of(const std::vector<int>& partitions, std::size_t batch_rows,
                      const std::function<void(const Token&)>& fn) override;

  std::vector<ScheduleEntry> load_schedule() override;
  std::vector<ScheduleEntry> load_schedule_of(const std::vector<int>& partitions) override;
  void set_next_refresh(const RefreshKey& key, TimePoint at) override;
  std::optional<RefreshJob> acquire_lease(const RefreshKey& key, const std::string& owner, TimePoint now,
                                          TimePoint lease_until, std::optional<TimePoint> due_by,
                                          const std::optional<std::string>& rejected_token) override;
  void complete_refresh(const RefreshKey& key, const std::string& owner, const RefreshSuccess& s) override;
  void fail_refresh(const RefreshKey& key, const std::string& owner, const RefreshFailure& f) override;
  void release_leases(const std::string& owner) override;
  bool flag_renew_not_permitted(std::int64_t app_id, TimePoint at) override;
  int queue_reauth_notices(TimePoint now, Seconds notice) override;

  void add_event(const Event& e) override;
  std::vector<Event> list_events(std::optional<std::int64_t> app_id, std::optional<std::int64_t> grant_id,
                                 int limit) override;

  ApiKeyRecord create_api_key(const std::string& name, const std::string& role, const std::string& hash_hex,
                              const std::vector<std::string>& apps = {}) override;
  std::vector<ApiKeyRecord> list_api_keys() override;
  bool revoke_api_key(const std::string& name, TimePoint at) override;
  void touch_api_keys(const std::vector<std::string>& names, TimePoint at) override;

  void set_webhook(std::int64_t app_id, const std::string& url, const std::string& secret) override;
  bool delete_webhook(std::int64_t app_id) override;  // pg_store_webhooks.cpp
  std::optional<Webhook> get_webhook(std::int64_t app_id, bool with_secret) override;
  std::optional<std::int64_t> enqueue_webhook(std::int64_t app_id, const std::string& event,
                                              const nlohmann::json& payload) override;
  std::vector<WebhookDelivery> claim_webhook_deliveries(const std::string& owner, TimePoint now, TimePoint lease_until,
                                                        int limit) override;
  bool finish_webhook_delivery(std::int64_t id, const std::string& owner, TimePoint at, const std::string& error,
                               std::optional<TimePoint> retry_at) override;
  std::optional<TimePoint> next_webhook_due() override;
  std::vector<WebhookDelivery> list_webhook_deliveries(std::int64_t app_id, int limit) override;

  bool ping() override;
  std::vector<StatusCount> count_grants_by_platform_status() override;  // pg_store_metrics.cpp
  std::vector<TokenCount> count_tokens_by_platform() override;
  std::vector<std::pair<std::string, std::int64_t>> count_grants_missing_scopes() override;
  std::vector<App> app_gauge_states() override;
  std::vector<BatchCount> batch_counts() const override;

  std::int64_t begin_audit(const AuditEntry& e) override;  // pg_store_audit.cpp
  void finish_audit(std::int64_t id, const std::string& result) override;
  void append_audit(const std::vector<AuditEntry>& rows) override;
  std::vector<AuditEntry> list_audit(const AuditQuery& q) override;
  std::int64_t purge_audit(TimePoint older_than) override;

  std::vector<ScheduleChange> schedule_changes_since(TimePoint since) override;
  std::vector<Token> tokens_refreshed_since(TimePoint since) override;
  std::optional<ScheduleChange> schedule_of(const RefreshKey& key) override;

 private:
  // Partitions: null reads every one (load_schedule, scan_tokens).
  std::vector<ScheduleEntry> load_schedule_where(const std::vector<int>* only);
  void scan_tokens_where(const std::vector<int>* only, std::size_t batch_rows,
                         const std::function<void(const Token&)>& fn);
  // One row, its own transaction (pg_store_refresh.cpp): forced refreshes, rejected tokens and
  // app tokens. acquire_lease / complete_refresh batch scheduled grant refreshes (pg_store_batch.cpp).
  std::optional<RefreshJob> acquire_lease_one(const RefreshKey& key, const std::string& owner, TimePoint now,
                                              TimePoint lease_until, std::optional<TimePoint> due_by,
                                              const std::optional<std::string>& rejected_token);
  void complete_refresh_one(const RefreshKey& key, const std::string& owner, const RefreshSuccess& s);
  // Open the secret of a row read with it; throw SecretUnreadableError.
  void open_app_secret(App& a) const;
  // open_app_secret, and when the row is at fault (not a key this instance lacks) the app is
  // marked misconfigured in tx (mark_app_misconfigured) before the error goes on.
  void open_app_secret_or_mark(pqxx::work& tx, App& a) const;
  bool app_secret_key_missing(const App& a) const;
  // open_app_secret_or_mark for reads that fail on a refusal: tx is committed (the mark kept)
  // before the error goes on.
  void open_secret_committing(pqxx::work& tx, App& a) const;
  void open_grant_token(Grant& g) const;
  std::string open_verifier(const std::string& state, const std::string& stored) const;
  // The value is sealed with a key this store has not loaded (a daemon with a newer key wrote
  // it): opening may work after a restart with the right keys, so it is not the row's fault.
  bool key_missing(std::string_view stored) const;

  Pool pool_;
  // complete_refresh and add_event of concurrent refreshes share transactions (one COMMIT for
  // many): what bounds a catch-up after an outage otherwise is the disk's flush rate.
  GroupCommit group_{pool_};

  // Scheduled refreshes of grants (the bulk of the work in a catch-up) take their leases and
  // store their results (and events) in batches: one multi-row statement for all callers waiting at that
  // moment (pg_store_batch.cpp). Forced refreshes, rejected tokens and app tokens go one by one.
  struct LeaseRequest {
    std::int64_t grant_id = 0;
    std::string owner;
    TimePoint now;
    TimePoint lease_until;
    std::optional<TimePoint> due_by;
  };
  struct CompleteRequest {
    std::int64_t grant_id = 0;
    std::string owner;
    const RefreshSuccess* success = nullptr;
  };
  using LeaseBatcher = Batcher<LeaseRequest, std::optional<RefreshJob>>;
  using CompleteBatcher = Batcher<CompleteRequest, bool>;
  void flush_leases(std::vector<LeaseBatcher::Item*>& batch);
  void flush_completions(std::vector<CompleteBatcher::Item*>& batch);
  using EventBatcher = Batcher<const Event*, bool>;
  void flush_events(std::vector<EventBatcher::Item*>& batch);
  // One batch of a kind at a time: the next one gathers everything that queued meanwhile. With
  // two, batches were a third smaller and PostgreSQL spent ~45 % more CPU per refresh for the
  // same catch-up rate (bench/RESULTS.md, catch-up of 2026-12-07).
  static constexpr int kFlushers = 1;
  EventBatcher events_{[this](std::vector<EventBatcher::Item*>& b) { flush_events(b); }, kFlushers};
  LeaseBatcher leases_{[this](std::vector<LeaseBatcher::Item*>& b) { flush_leases(b); }, kFlushers};
  CompleteBatcher completions_{[this](std::vector<CompleteBatcher::Item*>& b) { flush_completions(b); }, kFlushers};
  std::shared_ptr<const crypto::Sealer> sealer_;
};

// Records on the app why its secrets were refused (apps.misconfigured; shown by GET app, counted in
// /metrics), in the caller's transaction; logged once, when it changes.
void mark_app_misconfigured(pqxx::work& tx, const App& app, const std::string& why);
// Wipes (crypto::secure_wipe) and empties the app's secrets, opened or not.
void wipe_app_secrets(App& app);

// Reads shared by the three source files; all run inside the caller's transaction.
std::optional<App> select_app_by_id(pqxx::work& tx, std::int64_t id, bool with_secret);
std::optional<Grant> select_grant(pqxx::work& tx, std::int64_t id, bool with_refresh_token);
// The apps of a list of ids (an int8[] literal, see array_literal), and its statement ($1 the ids).
std::vector<App> select_apps_by_ids(pqxx::work& tx, const std::string& ids, bool with_secret);
std::string apps_by_ids_sql(bool with_secret);
// A row with the columns of a grant under the names grant_select gives them.
Grant grant_from_row(const pqxx::row& r);
std::optional<Token> select_token(pqxx::work& tx, const RefreshKey& key);
// "SELECT <token columns> FROM mediax.tokens t " and the row reader that goes with it.
extern const char* const kTokenSelect;
Token token_from_row(const pqxx::row& r);
// Inserts or replaces the token of an app (grant_id empty) or grant.
void upsert_token(pqxx::work& tx, std::int64_t app_id, std::optional<std::int64_t> grant_id, const Token& t);
// Queues the webhook event a failed refresh that stops the key causes (grant.needs_reauth or
// app.misconfigured) when the app has a webhook, in the caller's transaction (pg_store_webhooks.cpp).
void enqueue_refresh_failure_webhook(pqxx::work& tx, const RefreshKey& key, const RefreshFailure& f);
// Queues `event` about the app token (grant_id empty) or a grant when the app has a webhook, in the
// caller's transaction: {event, app, grant_id, account_id, reason, class, at}; class left out when empty.
void enqueue_key_webhook(pqxx::work& tx, const std::string& event, std::int64_t app_id,
                         std::optional<std::int64_t> grant_id, const std::string& reason,
                         const std::optional<std::string>& klass = std::nullopt);
// Marks grant `id` revoked with `reason`, wipes its refresh token and deletes its token (the
// tokens trigger sends NOTIFY); false when there is no such grant.
bool revoke_grant_row(pqxx::work& tx, std::int64_t id, const std::string& reason);
// The app's webhook URL, "" when none.
std::string select_webhook_url(pqxx::work& tx, std::int64_t app_id);

}  // namespace mediax::pg
