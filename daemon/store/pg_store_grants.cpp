// PgStore: grants and tokens. Every write to mediax.tokens fires the NOTIFY trigger of
// migrations/0001_init.sql, so readers of the view learn about it after COMMIT.
#include "store/pg_store.hpp"

namespace mediax::pg {

namespace {

std::string grant_select(bool with_refresh_token) {
  return std::string("SELECT id, app_id, account_id, array_to_json(scopes)::text AS scopes, ") +
         (with_refresh_token ? "refresh_token" : "''::text") +
         " AS refresh_token, " MEDIAX_EPOCH_US("refresh_expires_at") " AS refresh_expires_us, status, status_reason,"
         " failure_count, last_error, " MEDIAX_EPOCH_US("next_refresh_at") " AS next_refresh_us, extra::text AS extra, "
         MEDIAX_EPOCH_US("created_at") " AS created_us, " MEDIAX_EPOCH_US("updated_at") " AS updated_us, "
         MEDIAX_EPOCH_US("reauth_due_at") " AS reauth_due_us FROM mediax.grants ";
}

}  // namespace

Grant grant_from_row(const pqxx::row& r) {
  Grant g;
  g.id = r["id"].as<std::int64_t>();
  g.app_id = r["app_id"].as<std::int64_t>();
  g.account_id = r["account_id"].as<std::string>();
  g.scopes = parse_text_array(opt<std::string>(r["scopes"]));
  g.refresh_token = r["refresh_token"].as<std::string>();
  if (auto us = opt<std::int64_t>(r["refresh_expires_us"])) g.refresh_expires_at = from_epoch_us(*us);
  g.status = grant_status_from_string(r["status"].as<std::string>()).value_or(GrantStatus::disabled);
  g.status_reason = r["status_reason"].as<std::string>();
  g.failure_count = r["failure_count"].as<int>();
  g.last_error = r["last_error"].as<std::string>();
  if (auto us = opt<std::int64_t>(r["next_refresh_us"])) g.next_refresh_at = from_epoch_us(*us);
  g.extra = parse_json_object(opt<std::string>(r["extra"]));
  g.created_at = from_epoch_us(r["created_us"].as<std::int64_t>());
  g.updated_at = from_epoch_us(r["updated_us"].as<std::int64_t>());
  if (auto us = opt<std::int64_t>(r["reauth_due_us"])) g.reauth_due_at = from_epoch_us(*us);
  return g;
}

const char* const kTokenSelect =
    "SELECT t.app_id, t.grant_id, t.access_token, t.token_type, array_to_json(t.scopes)::text AS scopes, "
    MEDIAX_EPOCH_US("t.expires_at") " AS expires_us, " MEDIAX_EPOCH_US("t.refreshed_at") " AS refreshed_us"
    " FROM mediax.tokens t ";

Token token_from_row(const pqxx::row& r) {
  Token t;
  t.app_id = r["app_id"].as<std::int64_t>();
  t.grant_id = opt<std::int64_t>(r["grant_id"]);
  t.access_token = r["access_token"].as<std::string>();
  t.token_type = r["token_type"].as<std::string>();
  t.scopes = parse_text_array(opt<std::string>(r["scopes"]));
  t.expires_at = from_epoch_us(r["expires_us"].as<std::int64_t>());
  t.refreshed_at = from_epoch_us(r["refreshed_us"].as<std::int64_t>());
  return t;
}

namespace {

nlohmann::json object_or_empty(const nlohmann::json& j) { return j.is_object() ? j : nlohmann::json::object(); }

}  // namespace

std::optional<Grant> select_grant(pqxx::work& tx, std::int64_t id, bool with_refresh_token) {
  const auto res = tx.exec_params(grant_select(with_refresh_token) + "WHERE id = $1", id);
  if (res.empty()) return std::nullopt;
  return grant_from_row(res[0]);
}

std::optional<Token> select_token(pqxx::work& tx, const RefreshKey& key) {
  const std::string sql = std::string(kTokenSelect) +
                          (key.is_app_token() ? "WHERE t.app_id = $1 AND t.grant_id IS NULL" : "WHERE t.grant_id = $1");
  const auto res = tx.exec_params(sql, key.is_app_token() ? key.app_id : key.grant_id);
  if (res.empty()) return std::nullopt;
  return token_from_row(res[0]);
}

void upsert_token(pqxx::work& tx, std::int64_t app_id, std::optional<std::int64_t> grant_id, const Token& t) {
  // The two unique indexes are partial, so each kind of row names its own conflict target.
  // Empty scopes mean "as before" (TokenResult): the stored ones are kept.
  const std::string conflict = grant_id ? "ON CONFLICT (grant_id) WHERE grant_id IS NOT NULL"
                                        : "ON CONFLICT (app_id) WHERE grant_id IS NULL";
  const std::optional<std::string> refreshed =
      t.refreshed_at == TimePoint{} ? std::nullopt : std::optional<std::string>(time_param(t.refreshed_at));
  tx.exec_params(
      "INSERT INTO mediax.tokens AS t (app_id, grant_id, access_token, token_type, scopes, expires_at, refreshed_at)"
      " VALUES ($1, $2, $3, $4, " MEDIAX_TEXT_ARRAY("$5") ", to_timestamp($6), COALESCE(to_timestamp($7), now())) " +
          conflict +
          " DO UPDATE SET access_token = EXCLUDED.access_token, token_type = EXCLUDED.token_type,"
          " scopes = CASE WHEN cardinality(EXCLUDED.scopes) = 0 THEN t.scopes ELSE EXCLUDED.scopes END,"
          " expires_at = EXCLUDED.expires_at, refreshed_at = EXCLUDED.refreshed_at",
      app_id, nullable(id_param(grant_id)), t.access_token, t.token_type, text_array_param(t.scopes),
      time_param(t.expires_at), nullable(refreshed));
}

Grant PgStore::upsert_grant(const Grant& g, const Token& token) {
  return pool_.run("upsert_grant", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    // The sealed refresh token names its row, so the id comes first: the row of this account if
    // there is one, else a new one. Should another connect of the same account insert in
    // between, the row keeps that one's id and the token is sealed again for it below.
    const auto existing =
        tx.exec_params("SELECT id FROM mediax.grants WHERE app_id = $1 AND account_id = $2", g.app_id, g.account_id);
    const auto guess =
        existing.empty()
            ? tx.exec("SELECT nextval(pg_get_serial_sequence('mediax.grants', 'id'))")[0][0].as<std::int64_t>()
            : existing[0][0].as<std::int64_t>();
    // A reconnected account starts afresh: new refresh token, failures and reason cleared, and
    // any lease dropped so a refresh still running with the old refresh token cannot store.
    const auto row = tx.exec_params1(
        "INSERT INTO mediax.grants AS g (id, app_id, account_id, scopes, refresh_token, refresh_expires_at,"
        " next_refresh_at, extra, reauth_due_at)"
        " VALUES ($8, $1, $2, " MEDIAX_TEXT_ARRAY("$3") ", $4, to_timestamp($5), to_timestamp($6), $7::jsonb,"
        " to_timestamp($9::float8))"
        " ON CONFLICT (app_id, account_id) DO UPDATE SET scopes = EXCLUDED.scopes,"
        " refresh_token = EXCLUDED.refresh_token, refresh_expires_at = EXCLUDED.refresh_expires_at,"
        " status = 'active', status_reason = '', failure_count = 0, last_error = '',"
        " next_refresh_at = EXCLUDED.next_refresh_at, extra = EXCLUDED.extra, lease_owner = NULL,"
        " reauth_due_at = EXCLUDED.reauth_due_at, reauth_notice_for = NULL,"  // a new refresh token"
        " lease_until = NULL, refresh_in_flight = false, updated_at = now()"
        " RETURNING id",
        g.app_id, g.account_id, text_array_param(g.scopes),
        seal_field("grants.refresh_token", std::to_string(guess), g.refresh_token),
        nullable(time_param(g.refresh_expires_at)), nullable(time_param(g.next_refresh_at)),
        object_or_empty(g.extra).dump(), guess, nullable(time_param(g.reauth_due_at)));
    const auto id = row[0].as<std::int64_t>();
    if (id != guess) {
      tx.exec_params("UPDATE mediax.grants SET refresh_token = $2 WHERE id = $1", id,
                     seal_field("grants.refresh_token", std::to_string(id), g.refresh_token));
    }
    upsert_token(tx, g.app_id, id, token);
    auto stored = select_grant(tx, id, false);
    tx.commit();
    return *stored;
  });
}

std::vector<Grant> PgStore::list_grants(std::int64_t app_id) {
  return pool_.run("list_grants", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    std::vector<Grant> out;
    for (const auto& r : tx.exec_params(grant_select(false) + "WHERE app_id = $1 ORDER BY id", app_id)) {
      out.push_back(grant_from_row(r));
    }
    tx.commit();
    return out;
  });
}

std::optional<Grant> PgStore::get_grant(std::int64_t id, bool with_refresh_token) {
  return pool_.run("get_grant", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto g = select_grant(tx, id, with_refresh_token);
    tx.commit();
    if (g && with_refresh_token) open_grant_token(*g);
    return g;
  });
}

bool revoke_grant_row(pqxx::work& tx, std::int64_t id, const std::string& reason) {
  // The refresh token is wiped: a revoked grant never refreshes again, so keeping it would
  // only keep a secret around.
  const auto res = tx.exec_params(
      "UPDATE mediax.grants SET status = 'revoked', status_reason = $2, refresh_token = '',"
      " next_refresh_at = NULL, lease_owner = NULL, lease_until = NULL, refresh_in_flight = false,"
      " updated_at = now() WHERE id = $1 RETURNING id",
      id, reason);
  if (res.empty()) return false;
  tx.exec_params("DELETE FROM mediax.tokens WHERE grant_id = $1", id);
  return true;
}

bool PgStore::revoke_grant(std::int64_t id, const std::string& reason) {
  return pool_.run("revoke_grant", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    if (!revoke_grant_row(tx, id, reason)) return false;
    tx.commit();
    return true;
  });
}

std::optional<Token> PgStore::get_token(const RefreshKey& key) {
  return pool_.run("get_token", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto t = select_token(tx, key);
    tx.commit();
    return t;
  });
}

namespace {

// The same rows as the mediax.access_tokens view (what may be served), for the cache at start:
// a grant's token unless its grant is revoked or disabled (the foreign key ties a token to its
// grant and the grant's app), an app's token while the app is active or needs re-authorization.
// Shaped for a million rows: the grants are only searched for the few rows that are not
// servable (an anti-join; a join would hash every grant), no ORDER BY (the cache is keyed),
// times through float8 and empty scopes as NULL (the cheap conversions).
constexpr const char* kLoadTokenColumns =
    "SELECT t.app_id, t.grant_id, t.access_token, t.token_type,"
    " CASE WHEN cardinality(t.scopes) = 0 THEN NULL ELSE array_to_json(t.scopes)::text END,"
    " " MEDIAX_EPOCH_US_F8("t.expires_at") ", " MEDIAX_EPOCH_US_F8("t.refreshed_at") " FROM mediax.tokens t ";
// The rows to load; `only` restricts them to some partitions (partition_sql: "" for all).
std::string load_tokens_sql(const std::vector<int>* only) {
  return std::string(kLoadTokenColumns) +
         "WHERE t.grant_id IS NOT NULL AND NOT EXISTS (SELECT FROM mediax.grants g WHERE g.id = t.grant_id"
         " AND g.status NOT IN ('active', 'needs_reauth'))" +
         partition_sql("t.grant_id", only) + " UNION ALL " + kLoadTokenColumns +
         "JOIN mediax.apps a ON a.id = t.app_id WHERE t.grant_id IS NULL AND a.status IN ('active', 'needs_reauth')" +
         partition_sql("t.app_id", only);
}

// A row of kLoadTokens, by position, into t (every field set: t may hold the previous row).
void read_loaded_token(const pqxx::row& r, Token& t) {
  t.app_id = r[0].as<std::int64_t>();
  t.grant_id = opt<std::int64_t>(r[1]);
  t.access_token.assign(r[2].c_str(), r[2].size());
  t.token_type.assign(r[3].c_str(), r[3].size());
  if (r[4].is_null()) {
    t.scopes.clear();
  } else {
    t.scopes = parse_text_array(r[4].as<std::string>());
  }
  t.expires_at = from_epoch_us(r[5].as<std::int64_t>());
  t.refreshed_at = from_epoch_us(r[6].as<std::int64_t>());
}

}  // namespace

std::vector<Token> PgStore::all_tokens() {
  return pool_.run("all_tokens", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    std::vector<Token> out;
    fetch_in_batches(tx, "mediax_load_tokens", load_tokens_sql(nullptr), 50000, [&](const pqxx::result& res) {
      for (const auto& r : res) read_loaded_token(r, out.emplace_back());
    });
    tx.commit();
    return out;
  });
}

// A connection lost mid-way is retried once by the pool: fn may then see rows again (the
// cache's put is idempotent).
void PgStore::scan_tokens(std::size_t batch_rows, const std::function<void(const Token&)>& fn) {
  scan_tokens_where(nullptr, batch_rows, fn);
}

void PgStore::scan_tokens_of(const std::vector<int>& partitions, std::size_t batch_rows,
                             const std::function<void(const Token&)>& fn) {
  scan_tokens_where(&partitions, batch_rows, fn);
}

void PgStore::scan_tokens_where(const std::vector<int>* only, std::size_t batch_rows,
                                const std::function<void(const Token&)>& fn) {
  pool_.run("all_tokens", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    Token t;  // one for every row: its strings keep their capacity from row to row
    fetch_in_batches(tx, "mediax_load_tokens", load_tokens_sql(only), batch_rows, [&](const pqxx::result& res) {
      for (const auto& r : res) {
        read_loaded_token(r, t);
        fn(t);
      }
    });
    tx.commit();
  });
}

}  // namespace mediax::pg
