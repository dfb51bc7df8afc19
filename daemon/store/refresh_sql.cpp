#include "store/refresh_sql.hpp"

#include "store/pg_store.hpp"
#include "store/pg_util.hpp"

namespace mediax::pg::refresh_sql {

#define MEDIAX_X_EPOCH(col) MEDIAX_EPOCH_US("x." col) " AS "

const char* const kLease =
    "WITH i AS (SELECT * FROM unnest($1::int8[], $2::text[], $3::float8[], $4::float8[], $5::float8[])"
    "           AS i(id, owner, now_s, until_s, due_s)),"
    " o AS (SELECT g.id, g.refresh_in_flight AS old_in_flight,"
    "              g.refresh_in_flight AND g.lease_owner IS DISTINCT FROM i.owner AS was_in_flight"
    "       FROM mediax.grants g JOIN i ON i.id = g.id ORDER BY g.id FOR UPDATE OF g)"
    " UPDATE mediax.grants x SET lease_owner = i.owner, lease_until = to_timestamp(i.until_s), refresh_in_flight = true"
    " FROM o JOIN i ON i.id = o.id"
    " WHERE x.id = o.id AND x.status = 'active'"
    " AND (x.lease_until IS NULL OR x.lease_until <= to_timestamp(i.now_s) OR x.lease_owner = i.owner)"
    " AND (i.due_s IS NULL OR x.next_refresh_at <= to_timestamp(i.due_s))"
    " RETURNING o.was_in_flight, o.old_in_flight, x.id, x.app_id, x.account_id,"
    " array_to_json(x.scopes)::text AS scopes, x.refresh_token, " MEDIAX_X_EPOCH("refresh_expires_at") "refresh_expires_us,"
    " x.status, x.status_reason, x.failure_count, x.last_error, " MEDIAX_X_EPOCH("next_refresh_at") "next_refresh_us,"
    " x.extra::text AS extra, " MEDIAX_X_EPOCH("created_at") "created_us, " MEDIAX_X_EPOCH("updated_at") "updated_us,"
    " " MEDIAX_X_EPOCH("reauth_due_at") "reauth_due_us";

const char* const kComplete =
    "WITH i AS (SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::float8[], $5::text[], $6::float8[],"
    "                                $7::text[], $8::text[], $9::text[], $10::text[], $11::float8[], $12::float8[],"
    "                                $13::float8[], $14::text[])"
    "           AS i(id, owner, rt, rt_exp, account, next_s, patch, access_token, token_type, scopes, expires_s,"
    "                refreshed_s, reauth_s, note)),"
    " l AS (SELECT g.id FROM mediax.grants g JOIN i ON i.id = g.id ORDER BY g.id FOR UPDATE OF g),"
    " u AS (UPDATE mediax.grants x SET refresh_token = COALESCE(i.rt, x.refresh_token),"
    "         refresh_expires_at = CASE WHEN i.rt IS NULL THEN x.refresh_expires_at ELSE to_timestamp(i.rt_exp) END,"
    "         account_id = COALESCE(NULLIF(i.account, ''), x.account_id), failure_count = 0,"
    "         last_error = COALESCE(i.note, ''), reauth_due_at = to_timestamp(i.reauth_s),"
    "         status_reason = '', next_refresh_at = to_timestamp(i.next_s), extra = x.extra || i.patch::jsonb,"
    "         lease_owner = NULL, lease_until = NULL, refresh_in_flight = false, updated_at = now()"
    "       FROM i JOIN l ON l.id = i.id"
    "       WHERE x.id = i.id AND x.lease_owner = i.owner AND x.status = 'active' RETURNING x.id, x.app_id)"
    " INSERT INTO mediax.tokens AS t (app_id, grant_id, access_token, token_type, scopes, expires_at, refreshed_at)"
    " SELECT u.app_id, i.id, i.access_token, i.token_type, ARRAY(SELECT jsonb_array_elements_text(i.scopes::jsonb)),"
    "        to_timestamp(i.expires_s), COALESCE(to_timestamp(i.refreshed_s), now())"
    " FROM u JOIN i ON i.id = u.id ORDER BY i.id"
    " ON CONFLICT (grant_id) WHERE grant_id IS NOT NULL"
    " DO UPDATE SET access_token = EXCLUDED.access_token, token_type = EXCLUDED.token_type,"
    " scopes = CASE WHEN cardinality(EXCLUDED.scopes) = 0 THEN t.scopes ELSE EXCLUDED.scopes END,"
    " expires_at = EXCLUDED.expires_at, refreshed_at = EXCLUDED.refreshed_at"
    " RETURNING t.grant_id";

#undef MEDIAX_X_EPOCH

std::string apps() { return apps_by_ids_sql(true); }

std::string tokens() { return std::string(kTokenSelect) + "WHERE t.grant_id = ANY($1::int8[])"; }

const char* const kEvents =
    "INSERT INTO mediax.events (app_id, grant_id, kind, detail, at)"
    " SELECT a, g, k, d::jsonb, COALESCE(to_timestamp(t), now())"
    " FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[], $5::float8[]) WITH ORDINALITY AS i(a, g, k, d, t, n)"
    " ORDER BY n";

}  // namespace mediax::pg::refresh_sql
