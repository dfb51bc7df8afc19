// PgStore: leases and results of scheduled grant refreshes, and events, in batches
// (store/batcher.hpp).
//
// Of a catch-up's work, most is the same two steps for thousands of grants: take the lease
// (and read grant, app and current token), then store the new tokens and release the lease.
// One transaction with five statements per refresh made PostgreSQL's parser and the disk's
// flush rate the limit (bench/RESULTS.md). Here each step is one statement for the whole batch,
// with the same conditions as the one-row statements of pg_store_refresh.cpp, row for row:
//  - lease: the row is active, not leased by another owner (or its lease ran out), still due;
//    the old refresh_in_flight tells whether an earlier holder stopped mid-refresh;
//  - result: only while this owner holds the lease and the row is active; else "lease lost".
// Rows are locked in id order, so two instances' batches (and one-row statements) never wait on
// each other in a cycle.
#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "crypto/crypto.hpp"
#include "store/pg_store.hpp"
#include "store/refresh_sql.hpp"

namespace mediax::pg {

namespace {

// A PostgreSQL array literal of the values ("{"a","b",NULL}"), every element quoted.
std::string array_literal(const std::vector<std::optional<std::string>>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    if (!values[i]) {
      out += "NULL";
      continue;
    }
    out += '"';
    for (char ch : *values[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace

std::optional<RefreshJob> PgStore::acquire_lease(const RefreshKey& key, const std::string& owner, TimePoint now,
                                                 TimePoint lease_until, std::optional<TimePoint> due_by,
                                                 const std::optional<std::string>& rejected_token) {
  if (key.is_app_token() || rejected_token)
    return acquire_lease_one(key, owner, now, lease_until, due_by, rejected_token);
  return leases_.run(LeaseRequest{key.grant_id, owner, now, lease_until, due_by});
}

void PgStore::complete_refresh(const RefreshKey& key, const std::string& owner, const RefreshSuccess& s) {
  if (key.is_app_token()) return complete_refresh_one(key, owner, s);
  completions_.run(CompleteRequest{key.grant_id, owner, &s});
}

void PgStore::flush_leases(std::vector<LeaseBatcher::Item*>& batch) {
  // Ids are unique per batch: the refresher runs one refresh per key at a time. Should one come
  // twice, the later one waits for the next batch's answer by being told "not acquired" (the
  // refresher then follows what the database says, as when another instance holds the lease).
  std::vector<std::optional<std::string>> ids, owners, nows, untils, dues;
  std::set<std::int64_t> seen;
  for (auto* it : batch) {
    const auto& r = it->request;
    if (!seen.insert(r.grant_id).second) {
      it->result = std::optional<RefreshJob>();
      continue;
    }
    ids.push_back(id_param(r.grant_id));
    owners.push_back(r.owner);
    nows.push_back(time_param(r.now));
    untils.push_back(time_param(r.lease_until));
    dues.push_back(time_param(r.due_by));
  }
  if (ids.empty()) return;
  std::unordered_map<std::int64_t, RefreshJob> jobs;
  std::unordered_map<std::int64_t, std::exception_ptr> key_missing_errors;
  pool_.run("acquire_lease", [&](pqxx::connection& c) {
    jobs.clear();
    key_missing_errors.clear();
    pqxx::work tx(c);
    const auto leased = exec_prepared(tx, "mediax_lease", refresh_sql::kLease, array_literal(ids),
                                      array_literal(owners), array_literal(nows), array_literal(untils),
                                      array_literal(dues));
    if (leased.empty()) {
      tx.commit();
      return;
    }
    std::map<std::int64_t, bool> old_in_flight;
    std::vector<std::optional<std::string>> app_ids, grant_ids;
    std::set<std::int64_t> apps_seen;
    for (const auto& row : leased) {
      RefreshJob job;
      job.grant = grant_from_row(row);
      job.interrupted = row["was_in_flight"].as<bool>();
      job.key.app_id = job.grant->app_id;
      job.key.grant_id = job.grant->id;
      old_in_flight[job.grant->id] = row["old_in_flight"].as<bool>();
      grant_ids.push_back(id_param(job.grant->id));
      if (apps_seen.insert(job.key.app_id).second) app_ids.push_back(id_param(job.key.app_id));
      jobs.emplace(job.grant->id, std::move(job));
    }
    std::unordered_map<std::int64_t, App> apps;
    for (auto& a : select_apps_by_ids(tx, array_literal(app_ids), true)) apps.emplace(a.id, std::move(a));
    for (const auto& row : exec_prepared(tx, "mediax_lease_tokens", refresh_sql::tokens(), array_literal(grant_ids))) {
      auto t = token_from_row(row);
      if (auto j = jobs.find(t.grant_id.value_or(0)); j != jobs.end()) j->second.current = std::move(t);
    }
    // Open the secrets now, while the leases can still be given back: a value sealed with a key
    // this instance lacks (a newer daemon wrote it) may open after a restart, so that row is
    // not leased (as the one-row statement rolls back). One that does not open with its own key
    // was changed or moved: the job says so and the refresher gives up on the row.
    std::vector<std::optional<std::string>> give_back, give_back_in_flight;
    for (auto it = jobs.begin(); it != jobs.end();) {
      auto& job = it->second;
      auto app = apps.find(job.key.app_id);
      bool keep = app != apps.end();
      if (keep) {
        job.app = app->second;
        try {
          open_grant_token(*job.grant);
          open_app_secret_or_mark(tx, job.app);  // a refusal marks the app misconfigured (in tx)
        } catch (const SecretUnreadableError& e) {
          if (key_missing(job.grant->refresh_token) || app_secret_key_missing(job.app)) {
            keep = false;
            key_missing_errors[it->first] = std::current_exception();
          } else {
            job.unreadable = e.what();
            crypto::secure_wipe(job.grant->refresh_token);
            wipe_app_secrets(job.app);
          }
        }
      }
      if (keep) {
        ++it;
        continue;
      }
      give_back.push_back(id_param(it->first));
      give_back_in_flight.push_back(old_in_flight[it->first] ? "true" : "false");
      it = jobs.erase(it);
    }
    if (!give_back.empty()) {
      tx.exec_params(
          "UPDATE mediax.grants x SET lease_owner = NULL, lease_until = NULL, refresh_in_flight = i.f"
          " FROM unnest($1::int8[], $2::bool[]) AS i(id, f) WHERE x.id = i.id",
          array_literal(give_back), array_literal(give_back_in_flight));
    }
    tx.commit();
  });
  for (auto* it : batch) {
    if (it->result) continue;
    if (auto e = key_missing_errors.find(it->request.grant_id); e != key_missing_errors.end()) {
      it->error = e->second;
      continue;
    }
    auto j = jobs.find(it->request.grant_id);
    if (j == jobs.end()) {
      it->result = std::optional<RefreshJob>();
    } else {
      it->result = std::optional<RefreshJob>(std::move(j->second));
      jobs.erase(j);
    }
  }
}

void PgStore::flush_completions(std::vector<CompleteBatcher::Item*>& batch) {
  std::vector<std::optional<std::string>> ids, owners, rts, rt_exps, accounts, nexts, patches, access, types, scopes,
      expires, refreshed, reauths, notes;
  std::set<std::int64_t> seen;
  for (auto* it : batch) {
    const auto& r = it->request;
    const RefreshSuccess& s = *r.success;
    if (!seen.insert(r.grant_id).second) {
      it->error =
          std::make_exception_ptr(StoreError("complete_refresh: the result of this grant is being stored already"));
      continue;
    }
    ids.push_back(id_param(r.grant_id));
    owners.push_back(r.owner);
    rts.push_back(s.new_refresh_token ? std::optional<std::string>(seal_field(
                                            "grants.refresh_token", std::to_string(r.grant_id), *s.new_refresh_token))
                                      : std::nullopt);
    rt_exps.push_back(time_param(s.refresh_expires_at));
    accounts.push_back(s.account_id);
    nexts.push_back(time_param(s.next_refresh_at));
    patches.push_back((s.grant_extra_patch.is_object() ? s.grant_extra_patch : nlohmann::json::object()).dump());
    access.push_back(s.token.access_token);
    types.push_back(s.token.token_type);
    scopes.push_back(text_array_param(s.token.scopes));
    expires.push_back(time_param(s.token.expires_at));
    refreshed.push_back(s.token.refreshed_at == TimePoint{}
                            ? std::nullopt
                            : std::optional<std::string>(time_param(s.token.refreshed_at)));
    reauths.push_back(time_param(s.reauth_due_at));
    notes.push_back(s.last_error.substr(0, 2000));
  }
  if (ids.empty()) return;
  std::set<std::int64_t> stored;
  pool_.run("complete_refresh", [&](pqxx::connection& c) {
    stored.clear();
    pqxx::work tx(c);
    const auto res =
        exec_prepared(tx, "mediax_complete", refresh_sql::kComplete, array_literal(ids), array_literal(owners),
                      array_literal(rts), array_literal(rt_exps), array_literal(accounts), array_literal(nexts),
                      array_literal(patches), array_literal(access), array_literal(types), array_literal(scopes),
                      array_literal(expires), array_literal(refreshed), array_literal(reauths), array_literal(notes));
    for (const auto& row : res) stored.insert(row[0].as<std::int64_t>());
    tx.commit();
  });
  for (auto* it : batch) {
    if (it->error) continue;
    if (stored.count(it->request.grant_id) > 0) {
      it->result = true;
    } else {
      it->error = std::make_exception_ptr(StoreError("lease lost"));
    }
  }
}

void PgStore::flush_events(std::vector<EventBatcher::Item*>& batch) {
  std::vector<std::optional<std::string>> apps, grants, kinds, details, ats;
  for (auto* it : batch) {
    const Event& e = *it->request;
    apps.push_back(id_param(e.app_id));
    grants.push_back(id_param(e.grant_id));
    kinds.push_back(e.kind);
    details.push_back((e.detail.is_null() ? nlohmann::json::object() : e.detail).dump());
    ats.push_back(e.at == TimePoint{} ? std::nullopt : std::optional<std::string>(time_param(e.at)));
  }
  pool_.run("add_event", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    exec_prepared(tx, "mediax_events", refresh_sql::kEvents, array_literal(apps), array_literal(grants),
                  array_literal(kinds), array_literal(details), array_literal(ats));
    tx.commit();
  });
  for (auto* it : batch) it->result = true;
}

std::vector<BatchCount> PgStore::batch_counts() const {
  const BatcherCounts lease = leases_.counts(), complete = completions_.counts(), event = events_.counts();
  return {{"lease", lease.batches, lease.requests},
          {"complete", complete.batches, complete.requests},
          {"event", event.batches, event.requests}};
}

}  // namespace mediax::pg
