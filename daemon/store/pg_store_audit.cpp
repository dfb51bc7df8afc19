// PgStore: the audit trail (mediax.audit, migration 0014). Appends only; the table's trigger
// refuses any other change but setting a missing result and deleting rows older than 7 days.
#include <nlohmann/json.hpp>

#include "store/pg_store.hpp"
#include "store/pg_util.hpp"

namespace mediax::pg {

namespace {

constexpr const char* kAuditColumns =
    "SELECT id, " MEDIAX_EPOCH_US("at") " AS at_us, who, what, app, grant_id, result, peer, count FROM mediax.audit ";

AuditEntry audit_from_row(const pqxx::row& r) {
  AuditEntry e;
  e.id = r["id"].as<std::int64_t>();
  e.at = from_epoch_us(r["at_us"].as<std::int64_t>());
  e.who = opt<std::string>(r["who"]).value_or("");
  e.what = r["what"].as<std::string>();
  e.app = opt<std::string>(r["app"]).value_or("");
  e.grant = opt<std::string>(r["grant_id"]).value_or("");
  e.result = opt<std::string>(r["result"]).value_or("");
  e.peer = opt<std::string>(r["peer"]).value_or("");
  e.count = r["count"].as<std::int64_t>();
  return e;
}

// The rows as one JSON array for jsonb_to_recordset: one statement whatever their number.
std::string rows_param(const std::vector<AuditEntry>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : rows) {
    nlohmann::json j{{"who", e.who}, {"what", e.what}, {"app", e.app}, {"grant_id", e.grant},
                     {"result", e.result}, {"peer", e.peer}, {"count", e.count}};
    if (e.at) j["at"] = time_param(*e.at);
    out.push_back(std::move(j));
  }
  return out.dump();
}

}  // namespace

std::int64_t PgStore::begin_audit(const AuditEntry& e) {
  return pool_.run("begin_audit", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const auto row = tx.exec_params1(
        "INSERT INTO mediax.audit (who, what, app, grant_id, peer) "
        "VALUES (NULLIF($1, ''), $2, NULLIF($3, ''), NULLIF($4, ''), NULLIF($5, '')) RETURNING id",
        e.who, e.what, e.app, e.grant, e.peer);
    tx.commit();
    return row[0].as<std::int64_t>();
  });
}

void PgStore::finish_audit(std::int64_t id, const std::string& result) {
  pool_.run("finish_audit", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec_params("UPDATE mediax.audit SET result = $2 WHERE id = $1 AND result IS NULL", id, result);
    tx.commit();
  });
}

void PgStore::append_audit(const std::vector<AuditEntry>& rows) {
  if (rows.empty()) return;
  pool_.run("append_audit", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO mediax.audit (at, who, what, app, grant_id, result, peer, count) "
        "SELECT COALESCE(to_timestamp(r.at::float8), now()), NULLIF(r.who, ''), r.what, NULLIF(r.app, ''), "
        "NULLIF(r.grant_id, ''), NULLIF(r.result, ''), NULLIF(r.peer, ''), r.count "
        "FROM jsonb_to_recordset($1::jsonb) AS r(at text, who text, what text, app text, grant_id text, "
        "result text, peer text, count int)",
        rows_param(rows));
    tx.commit();
  });
}

std::vector<AuditEntry> PgStore::list_audit(const AuditQuery& q) {
  return pool_.run("list_audit", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    std::vector<AuditEntry> out;
    const auto res = tx.exec_params(
        std::string(kAuditColumns) +
            "WHERE ($1::text IS NULL OR at >= to_timestamp($1::float8)) "
            "AND ($2::text IS NULL OR at < to_timestamp($2::float8)) "
            "AND ($3 = '' OR who = $3) AND ($4 = '' OR app = $4) "
            "AND ($5::int8 IS NULL OR id < $5::int8) ORDER BY id DESC LIMIT $6",
        nullable(time_param(q.since)), nullable(time_param(q.until)), q.who, q.app, nullable(id_param(q.before_id)),
        q.limit);
    for (const auto& r : res) out.push_back(audit_from_row(r));
    tx.commit();
    return out;
  });
}

std::int64_t PgStore::purge_audit(TimePoint older_than) {
  return pool_.run("purge_audit", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const auto res = tx.exec_params("DELETE FROM mediax.audit WHERE at < to_timestamp($1)", time_param(older_than));
    tx.commit();
    return static_cast<std::int64_t>(res.affected_rows());
  });
}

}  // namespace mediax::pg
