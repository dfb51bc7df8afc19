// PgStore: aggregate counts for GET /metrics (one read-only statement each).
#include "store/pg_store.hpp"

namespace mediax::pg {

std::vector<StatusCount> PgStore::count_grants_by_platform_status() {
  return pool_.run("count_grants_by_platform_status", [](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    auto res = tx.exec(
        "SELECT 'grant' AS kind, a.platform, g.status, count(*) AS n,"
        "       count(*) FILTER (WHERE g.lease_until > now()) AS leased"
        "  FROM mediax.grants g JOIN mediax.apps a ON a.id = g.app_id"
        " GROUP BY a.platform, g.status"
        " UNION ALL "
        "SELECT 'app_token', platform, status, count(*), count(*) FILTER (WHERE lease_until > now())"
        "  FROM mediax.apps WHERE client_credentials"
        " GROUP BY platform, status"
        " ORDER BY 1, 2, 3");
    std::vector<StatusCount> out;
    for (const auto& r : res) {
      StatusCount sc;
      sc.kind = r[0].as<std::string>();
      sc.platform = r[1].as<std::string>();
      sc.status = r[2].as<std::string>();
      sc.count = r[3].as<std::int64_t>();
      sc.leased = r[4].as<std::int64_t>();
      out.push_back(std::move(sc));
    }
    return out;
  });
}

std::vector<TokenCount> PgStore::count_tokens_by_platform() {
  return pool_.run("count_tokens_by_platform", [](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    auto res = tx.exec(
        "SELECT a.platform, CASE WHEN t.expires_at > now() THEN 'valid' ELSE 'expired' END AS state, count(*)"
        "  FROM mediax.tokens t JOIN mediax.apps a ON a.id = t.app_id"
        " GROUP BY 1, 2 ORDER BY 1, 2");
    std::vector<TokenCount> out;
    for (const auto& r : res) out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::int64_t>()});
    return out;
  });
}

std::vector<std::pair<std::string, std::int64_t>> PgStore::count_grants_missing_scopes() {
  return pool_.run("count_grants_missing_scopes", [](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    // Every app appears (0 when none lacks anything) so a gauge goes back to 0 once fixed.
    auto res = tx.exec(
        "SELECT a.name, count(g.id) FILTER (WHERE g.status = 'active'"
        "         AND jsonb_typeof(g.extra->'missing_scopes') = 'array'"
        "         AND jsonb_array_length(g.extra->'missing_scopes') > 0)"
        "  FROM mediax.apps a LEFT JOIN mediax.grants g ON g.app_id = a.id"
        " WHERE NOT a.client_credentials OR EXISTS (SELECT 1 FROM mediax.grants x WHERE x.app_id = a.id)"
        " GROUP BY a.name ORDER BY a.name");
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (const auto& r : res) out.emplace_back(r[0].as<std::string>(), r[1].as<std::int64_t>());
    return out;
  });
}

std::vector<App> PgStore::app_gauge_states() {
  return pool_.run("app_gauge_states",
                   [](pqxx::connection& c) {
                     pqxx::read_transaction tx(c);
                     auto res = tx.exec(
        "SELECT a.id, a.name, a.platform, a.last_error, a.misconfigured, " MEDIAX_EPOCH_US("ct.create_time")
        "  FROM mediax.apps a LEFT JOIN mediax.component_tickets ct ON ct.app_id = a.id ORDER BY a.id");
                     std::vector<App> out;
                     out.reserve(res.size());
                     for (const auto& r : res) {
                       App a;
                       a.id = r[0].as<std::int64_t>();
                       a.name = r[1].as<std::string>();
                       a.platform = r[2].as<std::string>();
                       a.last_error = r[3].as<std::string>();
                       a.misconfigured = r[4].as<std::string>();
                       if (auto us = opt<std::int64_t>(r[5])) a.component_ticket_at = from_epoch_us(*us);
                       out.push_back(std::move(a));
                     }
                     return out;
                   });
}

}  // namespace mediax::pg
