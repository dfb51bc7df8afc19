// PgStore: what an instance reads to follow changes other instances made (the consistency
// sweep and LISTEN/NOTIFY follow-ups).
#include "store/pg_store.hpp"

namespace mediax::pg {

namespace {

ScheduleChange change_from_row(const pqxx::row& r) {
  ScheduleChange c;
  c.key.app_id = r["app_id"].as<std::int64_t>();
  c.key.grant_id = r["grant_id"].as<std::int64_t>();
  c.status = grant_status_from_string(r["status"].as<std::string>()).value_or(GrantStatus::disabled);
  if (auto us = opt<std::int64_t>(r["due_us"])) c.next_refresh_at = from_epoch_us(*us);
  if (auto us = opt<std::int64_t>(r["lease_us"])) c.lease_until = from_epoch_us(*us);
  return c;
}

// Client-credentials apps (an app that never had a token is due now) and grants.
constexpr const char* kAppSchedule =
    "SELECT id AS app_id, 0::int8 AS grant_id, status,"
    " " MEDIAX_EPOCH_US("COALESCE(next_refresh_at, now())") " AS due_us, " MEDIAX_EPOCH_US("lease_until") " AS lease_us"
    " FROM mediax.apps WHERE client_credentials ";
constexpr const char* kGrantSchedule =
    "SELECT app_id, id AS grant_id, status, " MEDIAX_EPOCH_US("next_refresh_at") " AS due_us,"
    " " MEDIAX_EPOCH_US("lease_until") " AS lease_us FROM mediax.grants ";

}  // namespace

std::vector<ScheduleChange> PgStore::schedule_changes_since(TimePoint since) {
  return pool_.run("schedule_changes_since", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const auto res = tx.exec_params(std::string(kAppSchedule) + " AND updated_at >= to_timestamp($1) UNION ALL " +
                                        kGrantSchedule + " WHERE updated_at >= to_timestamp($1)",
                                    time_param(since));
    tx.commit();
    std::vector<ScheduleChange> out;
    out.reserve(res.size());
    for (const auto& r : res) out.push_back(change_from_row(r));
    return out;
  });
}

std::vector<Token> PgStore::tokens_refreshed_since(TimePoint since) {
  return pool_.run("tokens_refreshed_since", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const auto res =
        tx.exec_params(std::string(kTokenSelect) +
                           "JOIN mediax.apps a ON a.id = t.app_id LEFT JOIN mediax.grants g ON g.id = t.grant_id"
                           " WHERE t.refreshed_at >= to_timestamp($1)"
                           " AND ((t.grant_id IS NULL AND a.status IN ('active', 'needs_reauth'))"
                           " OR (t.grant_id IS NOT NULL AND g.status IN ('active', 'needs_reauth')))",
                       time_param(since));
    tx.commit();
    std::vector<Token> out;
    out.reserve(res.size());
    for (const auto& r : res) out.push_back(token_from_row(r));
    return out;
  });
}

std::optional<ScheduleChange> PgStore::schedule_of(const RefreshKey& key) {
  return pool_.run("schedule_of", [&](pqxx::connection& c) -> std::optional<ScheduleChange> {
    pqxx::work tx(c);
    const auto res = key.is_app_token() ? tx.exec_params(std::string(kAppSchedule) + " AND id = $1", key.app_id)
                                        : tx.exec_params(std::string(kGrantSchedule) + " WHERE id = $1", key.grant_id);
    tx.commit();
    if (res.empty()) return std::nullopt;
    return change_from_row(res[0]);
  });
}

}  // namespace mediax::pg
