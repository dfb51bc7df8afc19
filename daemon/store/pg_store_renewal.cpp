// PgStore: what the platform says about a refresh token's end (migrations/0008_douyin_renewal.sql).
//
// apps.renew_not_permitted_at is set once, by the first refresh that learns of it, with its
// app.renew_not_permitted webhook in the same transaction: of several instances (or grants)
// learning it at once, the conditional UPDATE lets one through. grant.reauth_due notices are
// queued by one UPDATE that marks the date noticed (reauth_notice_for) in the same statement,
// so each refresh token's end is noticed once whichever instance runs it.
#include "store/pg_store.hpp"

namespace mediax::pg {

bool PgStore::flag_renew_not_permitted(std::int64_t app_id, TimePoint at) {
  return pool_.run("flag_renew_not_permitted", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const auto res = tx.exec_params(
        "UPDATE mediax.apps SET renew_not_permitted_at = to_timestamp($2), updated_at = now()"
        " WHERE id = $1 AND renew_not_permitted_at IS NULL RETURNING name",
        app_id, time_param(at));
    if (!res.empty()) {
      tx.exec_params(
          "INSERT INTO mediax.webhook_deliveries (app_id, event, payload, next_attempt_at)"
          " SELECT w.app_id, 'app.renew_not_permitted', jsonb_build_object('event', 'app.renew_not_permitted',"
          "   'app', $2::text, 'reason', 'renew_not_permitted', 'class', 'app_misconfigured',"
          "   'at', to_char(to_timestamp($3) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')), now()"
          " FROM mediax.webhooks w WHERE w.app_id = $1",
          app_id, res[0][0].as<std::string>(), time_param(at));
    }
    tx.commit();
    return !res.empty();
  });
}

int PgStore::queue_reauth_notices(TimePoint now, Seconds notice) {
  return pool_.run("queue_reauth_notices", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    // Grants of apps without a webhook are marked too: a webhook set later does not replay old dates.
    const auto res = tx.exec_params(
        "WITH due AS (UPDATE mediax.grants g SET reauth_notice_for = g.reauth_due_at"
        "   WHERE g.status = 'active' AND g.reauth_due_at IS NOT NULL"
        "     AND g.reauth_due_at <= to_timestamp($1) + make_interval(secs => $2)"
        "     AND g.reauth_notice_for IS DISTINCT FROM g.reauth_due_at"
        "   RETURNING g.id, g.app_id, g.account_id, g.reauth_due_at)"
        " INSERT INTO mediax.webhook_deliveries (app_id, event, payload, next_attempt_at)"
        " SELECT due.app_id, 'grant.reauth_due', jsonb_build_object('event', 'grant.reauth_due', 'app', a.name,"
        "   'grant_id', due.id, 'account_id', due.account_id, 'reason', 'reauth_due', 'class', 'needs_reauth',"
        "   'reauth_due_at', to_char(due.reauth_due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        "   'at', to_char(to_timestamp($1) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')), now()"
        " FROM due JOIN mediax.apps a ON a.id = due.app_id JOIN mediax.webhooks w ON w.app_id = due.app_id"
        " ORDER BY due.id",
        time_param(now), static_cast<double>(notice.count()));
    tx.commit();
    return static_cast<int>(res.affected_rows());
  });
}

}  // namespace mediax::pg
