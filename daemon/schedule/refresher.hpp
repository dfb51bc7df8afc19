// Performs one refresh of an app token or a grant: lease in the database, platform call,
// store and publish the result. In-process calls for the same key coalesce into one
// platform call; the database lease keeps other instances out.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "fiber/condition.hpp"
#include "util/time_source.hpp"
#include "core/types.hpp"
#include "obs/metrics.hpp"
#include "schedule/circuit_breaker.hpp"
#include "schedule/due_refresher.hpp"
#include "schedule/refresh_policy.hpp"
#include "schedule/token_cache.hpp"
#include "store/interfaces.hpp"

namespace mediax {

class PlatformRegistry;

enum class Trigger { scheduled, forced, rejected };

struct RefreshResult {
  enum class Status {
    refreshed,     // a new token is stored and published
    failed,        // the platform refused or failed; outcome says how
    not_acquired,  // another instance holds the lease, or the grant/app is no longer active
    gone,          // the grant or app no longer exists or is not active
    store_error,   // the database failed
    refused,       // the caller's admission check said no before anything was called
  };
  Status status = Status::failed;
  Outcome outcome;                   // the platform's answer when one was received
  std::optional<Token> token;        // the current token after this call
  std::optional<TimePoint> next_at;  // when to try next; empty: stop scheduling this key
  std::string message;               // short human-readable summary, no secrets
};

class Refresher final : public DueRefresher {
 public:
  // Called after every refresh attempt with the key and when it is due next (empty: unschedule).
  using NextListener = std::function<void(const RefreshKey&, std::optional<TimePoint>)>;

  // Leases and results in `store`, stored tokens and schedule states read from `feed`, what
  // happened written to `events`; waits (a lease held elsewhere, a store retry) measured on `clock`.
  Refresher(RefreshStore& store, TokenFeed& feed, EventLog& events, PlatformRegistry& platforms, TokenCache& cache,
            RefreshPolicy& policy, const TimeSource& clock, std::string owner, metrics::Registry& metrics);

  ~Refresher() override;
  Refresher(const Refresher&) = delete;
  Refresher& operator=(const Refresher&) = delete;

  void set_next_listener(NextListener l) { listener_ = std::move(l); }
  // Circuit breakers and in-flight caps per platform endpoint (outlives the refresher); without
  // them every call goes to the platform. Also exports their state as metrics.
  void set_platform_guards(PlatformGuards* guards);
  // Asked only when this call would start a refresh of its own (not when it joins one in flight
  // or finds the reported token already replaced); false: status refused, nothing is called.
  using Admission = std::function<bool()>;
  // Refreshes key now on the calling thread, or waits for the refresh already in flight for it.
  // With expected_token (a consumer's rejected token): if the current token is already another
  // one, returns it at once without calling the platform.
  RefreshResult refresh(const RefreshKey& key, Trigger trigger,
                        const std::optional<std::string>& expected_token = std::nullopt,
                        const Admission& admit = nullptr);
  const std::string& owner() const { return owner_; }
  void refresh_due(const RefreshKey& key) override { refresh(key, Trigger::scheduled); }
  // What key's refresh is made from changed (a WeChat ticket was stored; an admin asks for a
  // fresh attempt). A refresh of key in flight now may have read the old inputs: if it ends in a
  // failure that may pass (retry_later), it runs once more, forced, and everyone waiting on it
  // gets that result; its failure's retry time does not stand. Call it before the caller's own
  // set_next_refresh/schedule of key: when nothing is in flight, or the attempt ends before it
  // sees the mark, those (written after that attempt's result) start the next one. Only this
  // instance's refreshes see the mark. Returns whether a refresh of key was in flight.
  bool inputs_changed(const RefreshKey& key);

 private:
  // run(), with an unexpected exception turned into a store_error result.
  RefreshResult attempt(const RefreshKey& key, Trigger trigger, const std::optional<std::string>& rejected_token);
  RefreshResult run(const RefreshKey& key, Trigger trigger, const std::optional<std::string>& rejected_token);
  // A rejected token's lease is held by another instance: wait for its result (or for the lease
  // to run out) instead of refreshing a second time. Returns the job when this instance got the
  // lease after all, else fills r.
  std::optional<RefreshJob> await_other_refresh(const RefreshKey& key, const std::string& rejected_token,
                                                RefreshResult& r);
  RefreshResult on_success(const RefreshJob& job, const Outcome& o, TimePoint received_at);
  RefreshResult on_failure(const RefreshJob& job, const Outcome& o, TimePoint now);
  // What a success said beside the token: a follow-up step that failed (an event and a log line;
  // the store keeps it as last_error), and an app the platform refuses to renew for (flagged once).
  void record_platform_notes(const RefreshJob& job, const TokenResult& t, TimePoint at);
  void notify(const RefreshKey& key, std::optional<TimePoint> next);
  // Platform guards: the endpoint of a key learnt from earlier jobs (none before the first).
  std::optional<PlatformGuards::Endpoint> known_endpoint(const RefreshKey& key);
  void learn_endpoint(const RefreshJob& job);
  RefreshResult deferred(const RefreshKey& key, const PlatformGuards::Permit& p, TimePoint now);
  bool holds_result(const RefreshKey& key);
  // When to try again while the database is unreachable: grows with the outage, with jitter.
  TimePoint store_retry_at(TimePoint now);
  void database_answered();

  RefreshStore& store_;
  TokenFeed& feed_;
  EventLog& events_;
  PlatformRegistry& platforms_;
  TokenCache& cache_;
  RefreshPolicy& policy_;
  const TimeSource& clock_;
  std::string owner_;
  metrics::Registry& metrics_;
  NextListener listener_;
  // A refresh in flight: the result its joined callers wait for, and whether its inputs changed
  // since it started (inputs_changed).
  struct InFlight {
    std::shared_ptr<fiber::SharedResult<RefreshResult>> result;
    bool run_again = false;
  };
  std::mutex mu_;  // guards inflight_ and the cache check that goes with it
  std::unordered_map<std::uint64_t, InFlight> inflight_;
  // Results the platform gave that the database has not taken yet (it was down). They are
  // stored before the platform is called again: a rotated refresh token must not be lost.
  std::mutex pending_mu_;
  std::unordered_map<std::uint64_t, RefreshSuccess> pending_;
  PlatformGuards* guards_ = nullptr;
  std::uint64_t metrics_collector_ = 0;
  std::mutex endpoints_mu_;                                                   // guards app_endpoints_
  std::unordered_map<std::int64_t, PlatformGuards::Endpoint> app_endpoints_;  // app id -> endpoint
  std::mutex db_mu_;
  std::optional<TimePoint> db_down_since_;  // first store error of the current outage
};

std::string to_string(RefreshResult::Status s);

}  // namespace mediax
