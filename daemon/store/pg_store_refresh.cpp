// PgStore: the refresh schedule and leases.
//
// A lease is (lease_owner, lease_until) on the apps row (app token) or the grants row. Taking
// it is one conditional UPDATE, so of several instances racing for the same key exactly one
// gets a row back. complete_refresh and fail_refresh only write while the caller still holds
// the lease; a reconnect or revoke in between clears it, and the stale result is refused.
#include "crypto/crypto.hpp"
#include "store/pg_store.hpp"

namespace mediax::pg {

namespace {

std::string error_text(const std::string& code, const std::string& message) {
  std::string s = code.empty() ? message : message.empty() ? code : code + ": " + message;
  if (s.size() > 2000) s.resize(2000);
  return s;
}

[[noreturn]] void lease_lost() { throw StoreError("lease lost"); }

}  // namespace

std::vector<ScheduleEntry> PgStore::load_schedule() { return load_schedule_where(nullptr); }

std::vector<ScheduleEntry> PgStore::load_schedule_of(const std::vector<int>& partitions) {
  return load_schedule_where(&partitions);
}

std::vector<ScheduleEntry> PgStore::load_schedule_where(const std::vector<int>* only) {
  return pool_.run("load_schedule", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    // An active client-credentials app without a time has never had a token: due now. No ORDER
    // BY (the timer wheel orders); float8 times (MEDIAX_EPOCH_US_F8): a million rows at start.
    // Read through a cursor in batches: the rows are never all held by libpq at once. Batches of
    // 5,000 rows (~0.5 MB of query result each, up to three in flight) rather than 100,000: the
    // results are malloc's heap, and the heap a load grows stays resident after it (held in place
    // by what other threads allocated meanwhile). The vector grows by doubling (mmap'd, given back
    // when freed): reserving batch by batch copied it at every batch.
    const std::string sql =
        "SELECT id AS app_id, 0::int8 AS grant_id, " MEDIAX_EPOCH_US_F8("COALESCE(next_refresh_at, now())") " AS due_us"
        " FROM mediax.apps WHERE status = 'active' AND (client_credentials OR next_refresh_at IS NOT NULL)" +
        partition_sql("id", only) +
        " UNION ALL"
        " SELECT app_id, id, " MEDIAX_EPOCH_US_F8("next_refresh_at") " FROM mediax.grants"
        " WHERE status = 'active' AND next_refresh_at IS NOT NULL" +
        partition_sql("id", only);
    std::vector<ScheduleEntry> out;
    fetch_in_batches(tx, "mediax_load_schedule", sql, 5000, [&](const pqxx::result& res) {
      for (const auto& r : res) {
        ScheduleEntry e;
        e.key.app_id = r[0].as<std::int64_t>();
        e.key.grant_id = r[1].as<std::int64_t>();
        e.next_refresh_at = from_epoch_us(r[2].as<std::int64_t>());
        out.push_back(e);
      }
    });
    tx.commit();
    return out;
  });
}

void PgStore::set_next_refresh(const RefreshKey& key, TimePoint at) {
  pool_.run("set_next_refresh", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    if (key.is_app_token()) {
      tx.exec_params("UPDATE mediax.apps SET next_refresh_at = to_timestamp($2), updated_at = now() WHERE id = $1",
                     key.app_id, time_param(at));
    } else {
      tx.exec_params("UPDATE mediax.grants SET next_refresh_at = to_timestamp($2), updated_at = now() WHERE id = $1",
                     key.grant_id, time_param(at));
    }
    tx.commit();
  });
}

std::optional<RefreshJob> PgStore::acquire_lease_one(const RefreshKey& key, const std::string& owner, TimePoint now,
                                                     TimePoint lease_until, std::optional<TimePoint> due_by,
                                                     const std::optional<std::string>& rejected_token) {
  return pool_.run("acquire_lease", [&](pqxx::connection& c) -> std::optional<RefreshJob> {
    pqxx::work tx(c);
    // $5 (due_by) NULL: any time (a forced refresh). Otherwise the row must still be due; an app
    // that never had a token (next_refresh_at NULL) is due.
    // $6 (rejected_token) not NULL: only while the stored access token is still that one (or
    // there is none) — checked in the same statement, so of several instances told about one
    // refused token, one refreshes and the others see the new token afterwards.
    // The old row's refresh_in_flight says whether an earlier holder stopped mid-refresh (crash):
    // the platform may have rotated the refresh token without it being stored.
    const char* table_update =
        key.is_app_token()
            ? "UPDATE mediax.apps x SET lease_owner = $2, lease_until = to_timestamp($4), refresh_in_flight = true"
              " FROM (SELECT id, refresh_in_flight AND lease_owner IS DISTINCT FROM $2 AS was_in_flight"
              "       FROM mediax.apps WHERE id = $1 FOR UPDATE) o"
              " WHERE x.id = o.id AND x.status = 'active'"
              " AND (x.lease_until IS NULL OR x.lease_until <= to_timestamp($3) OR x.lease_owner = $2)"
              " AND ($5::float8 IS NULL OR x.next_refresh_at IS NULL OR x.next_refresh_at <= to_timestamp($5::float8))"
              " AND ($6::text IS NULL OR NOT EXISTS (SELECT 1 FROM mediax.tokens t"
              "      WHERE t.app_id = x.id AND t.grant_id IS NULL AND t.access_token IS DISTINCT FROM $6::text))"
              " RETURNING x.id, o.was_in_flight"
            : "UPDATE mediax.grants x SET lease_owner = $2, lease_until = to_timestamp($4), refresh_in_flight = true"
              " FROM (SELECT id, refresh_in_flight AND lease_owner IS DISTINCT FROM $2 AS was_in_flight"
              "       FROM mediax.grants WHERE id = $1 FOR UPDATE) o"
              " WHERE x.id = o.id AND x.status = 'active'"
              " AND (x.lease_until IS NULL OR x.lease_until <= to_timestamp($3) OR x.lease_owner = $2)"
              " AND ($5::float8 IS NULL OR x.next_refresh_at <= to_timestamp($5::float8))"
              " AND ($6::text IS NULL OR NOT EXISTS (SELECT 1 FROM mediax.tokens t"
              "      WHERE t.grant_id = x.id AND t.access_token IS DISTINCT FROM $6::text))"
              " RETURNING x.app_id, o.was_in_flight";
    if (rejected_token) {
      // Lock the row first so that the UPDATE below runs with a snapshot taken after any
      // refresh that held the row has committed: its check of mediax.tokens (another table)
      // would otherwise see the token as it was when the statement started.
      tx.exec_params(key.is_app_token() ? "SELECT 1 FROM mediax.apps WHERE id = $1 FOR UPDATE"
                                        : "SELECT 1 FROM mediax.grants WHERE id = $1 FOR UPDATE",
                     key.is_app_token() ? key.app_id : key.grant_id);
    }
    const auto res = tx.exec_params(table_update, key.is_app_token() ? key.app_id : key.grant_id, owner,
                                    time_param(now), time_param(lease_until), nullable(time_param(due_by)),
                                    nullable(rejected_token));
    if (res.empty()) return std::nullopt;
    RefreshJob job;
    job.key.app_id = res[0][0].as<std::int64_t>();
    job.interrupted = res[0][1].as<bool>();
    job.key.grant_id = key.grant_id;
    if (!key.is_app_token()) {
      job.grant = select_grant(tx, key.grant_id, true);
      if (!job.grant) return std::nullopt;
    }
    auto app = select_app_by_id(tx, job.key.app_id, true);
    if (!app) return std::nullopt;
    job.app = std::move(*app);
    job.current = select_token(tx, job.key);
    // A secret sealed with a key this instance lacks (a newer daemon wrote it) may open after a
    // restart: throw, nothing is leased, the refresh is postponed. One that does not open with
    // its own key was changed or moved: the job says so and the refresher gives up on the row.
    // An app secret refused because the app's row changed (its token endpoint, say) marks the
    // app misconfigured in this transaction; the secret is never sent.
    try {
      if (job.grant) open_grant_token(*job.grant);
      open_app_secret_or_mark(tx, job.app);
    } catch (const SecretUnreadableError& e) {
      if (key_missing(job.grant ? job.grant->refresh_token : "") || app_secret_key_missing(job.app)) throw;
      job.unreadable = e.what();
      if (job.grant) crypto::secure_wipe(job.grant->refresh_token);
      wipe_app_secrets(job.app);
    }
    tx.commit();
    return job;
  });
}

void PgStore::complete_refresh_one(const RefreshKey& key, const std::string& owner, const RefreshSuccess& s) {
  // An app token (grants go in batches, pg_store_batch.cpp).
  group_.run("complete_refresh", [&](pqxx::work& tx) {  // committed with other refreshes' results
    const auto res = tx.exec_params(
        "UPDATE mediax.apps SET failure_count = 0, last_error = '', status_reason = '',"
        " next_refresh_at = to_timestamp($3), lease_owner = NULL, lease_until = NULL, refresh_in_flight = false,"
        " updated_at = now() WHERE id = $1 AND lease_owner = $2 AND status = 'active' RETURNING id",
        key.app_id, owner, time_param(s.next_refresh_at));
    if (res.empty()) lease_lost();
    upsert_token(tx, key.app_id, std::nullopt, s.token);
  });
}

void PgStore::fail_refresh(const RefreshKey& key, const std::string& owner, const RefreshFailure& f) {
  pool_.run("fail_refresh", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const std::optional<std::string> status = f.new_status ? std::optional<std::string>(to_string(*f.new_status))
                                                           : std::nullopt;
    // The error text doubles as the status reason when the status changes.
    const std::string set =
        " SET failure_count = failure_count + 1, last_error = $3, next_refresh_at = to_timestamp($4),"
        " status = COALESCE($5::text, status),"
        " status_reason = CASE WHEN $5::text IS NULL THEN status_reason WHEN $5::text = 'active' THEN '' ELSE $3 END,"
        " lease_owner = NULL, lease_until = NULL, refresh_in_flight = false, updated_at = now()"
        " WHERE id = $1 AND lease_owner = $2 RETURNING id";
    const auto res = tx.exec_params((key.is_app_token() ? "UPDATE mediax.apps" : "UPDATE mediax.grants") + set,
                                    key.is_app_token() ? key.app_id : key.grant_id, owner,
                                    error_text(f.code, f.message), nullable(time_param(f.next_refresh_at)),
                                    nullable(status));
    if (res.empty()) lease_lost();
    enqueue_refresh_failure_webhook(tx, key, f);  // in this transaction: the event goes with the change
    tx.commit();
  });
}

void PgStore::release_leases(const std::string& owner) {
  pool_.run("release_leases", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    for (const char* sql : {"UPDATE mediax.apps SET lease_owner = NULL, lease_until = NULL, refresh_in_flight = false"
                            " WHERE lease_owner = $1",
                            "UPDATE mediax.grants SET lease_owner = NULL, lease_until = NULL, refresh_in_flight = false"
                            " WHERE lease_owner = $1"}) {
      tx.exec_params(sql, owner);
    }
    tx.commit();
  });
}

}  // namespace mediax::pg
