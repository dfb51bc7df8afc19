// PgStore: the Store interface on PostgreSQL (schema "mediax", see migrations/). Every method
// is one transaction on a pooled connection and uses parameterized statements only.
// Split over pg_store.cpp (apps, auth requests, events), pg_store_grants.cpp (grants, tokens)
// and pg_store_refresh.cpp (schedule, leases).
#pragma once

#include <pqxx/pqxx>

#include "store/pg_pool.hpp"
#include "store/store.hpp"

namespace mediax::pg {

class PgStore final : public Store {
 public:
  PgStore(const std::string& db_url, int pool_size) : pool_(db_url, pool_size) {}

  App create_app(const App& app) override;
  std::vector<App> list_apps() override;
  std::optional<App> get_app(const std::string& name, bool with_secret) override;
  std::optional<App> get_app_by_id(std::int64_t id, bool with_secret) override;
  bool delete_app(const std::string& name) override;

  bool try_spend_call(std::int64_t app_id, const std::string& kind, int daily_limit, TimePoint now) override;
  int calls_today(std::int64_t app_id, const std::string& kind, TimePoint now) override;

  void create_auth_request(const AuthRequest& r) override;
  ConsumeResult consume_auth_request(const std::string& state, TimePoint now, AuthRequest& out) override;
  int purge_auth_requests(TimePoint older_than) override;

  Grant upsert_grant(const Grant& g, const Token& token) override;
  std::vector<Grant> list_grants(std::int64_t app_id) override;
  std::optional<Grant> get_grant(std::int64_t id, bool with_refresh_token) override;
  bool revoke_grant(std::int64_t id, const std::string& reason) override;

  std::optional<Token> get_token(const RefreshKey& key) override;
  std::vector<Token> all_tokens() override;

  std::vector<ScheduleEntry> load_schedule() override;
  void set_next_refresh(const RefreshKey& key, TimePoint at) override;
  std::optional<RefreshJob> acquire_lease(const RefreshKey& key, const std::string& owner, TimePoint now,
                                          TimePoint lease_until, std::optional<TimePoint> due_by) override;
  void complete_refresh(const RefreshKey& key, const std::string& owner, const RefreshSuccess& s) override;
  void fail_refresh(const RefreshKey& key, const std::string& owner, const RefreshFailure& f) override;
  void release_leases(const std::string& owner) override;

  void add_event(const Event& e) override;
  std::vector<Event> list_events(std::optional<std::int64_t> app_id, std::optional<std::int64_t> grant_id,
                                 int limit) override;

  ApiKeyRecord create_api_key(const std::string& name, const std::string& role, const std::string& hash_hex) override;
  std::vector<ApiKeyRecord> list_api_keys() override;
  bool revoke_api_key(const std::string& name, TimePoint at) override;
  void touch_api_keys(const std::vector<std::string>& names, TimePoint at) override;

  bool ping() override;
  std::vector<StatusCount> count_grants_by_platform_status() override;  // pg_store_metrics.cpp
  std::vector<TokenCount> count_tokens_by_platform() override;

  std::vector<ScheduleChange> schedule_changes_since(TimePoint since) override;
  std::vector<Token> tokens_refreshed_since(TimePoint since) override;
  std::optional<ScheduleChange> schedule_of(const RefreshKey& key) override;

 private:
  Pool pool_;
};

// Reads shared by the three source files; all run inside the caller's transaction.
std::optional<App> select_app_by_id(pqxx::work& tx, std::int64_t id, bool with_secret);
std::optional<Grant> select_grant(pqxx::work& tx, std::int64_t id, bool with_refresh_token);
std::optional<Token> select_token(pqxx::work& tx, const RefreshKey& key);
// "SELECT <token columns> FROM mediax.tokens t " and the row reader that goes with it.
extern const char* const kTokenSelect;
Token token_from_row(const pqxx::row& r);
// Inserts or replaces the token of an app (grant_id empty) or grant.
void upsert_token(pqxx::work& tx, std::int64_t app_id, std::optional<std::int64_t> grant_id, const Token& t);

}  // namespace mediax::pg
