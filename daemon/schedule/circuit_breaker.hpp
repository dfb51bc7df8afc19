// Per-endpoint protection against a broken platform: a circuit breaker and a cap on calls in
// flight. Pure code: the caller passes the time in, randomness comes from a seeded generator, so
// tests drive it with a fake clock.
//
// An endpoint is a platform plus the host of its token endpoint ("oauth2" apps on different
// providers are different endpoints; Douyin, WeChat and Google are one endpoint each unless an
// app overrides the URL). Every call ends in one of two ways for the breaker: the platform
// answered (a token, invalid_grant, 429 ... — it is up), or it failed (no answer, 5xx, garbage:
// OutcomeKind::retry_later).
//
// States: closed (calls pass; `failure_threshold` consecutive failures open it) -> open (no calls
// until `open_until`; the cool-down doubles with each opening, from `cooldown` up to
// `max_cooldown`) -> half-open (one probe call; its success closes the circuit, its failure opens
// it again for longer). A key whose token would expire before the circuit closes is urgent: it
// may probe while the circuit is open, at most once per `cooldown`, so a token near expiry is
// retried more often than the growing cool-down alone would allow.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "fiber/condition.hpp"
#include "util/time_source.hpp"
#include "core/types.hpp"

namespace mediax {

struct BreakerSettings {
  int failure_threshold = 5;      // consecutive failures that open the circuit
  Seconds cooldown{30};           // first open period; also the least time between urgent probes
  Seconds max_cooldown{600};      // longest open period
  int max_in_flight = 8;          // calls to one endpoint at once while it fails (or always, when set)
  int healthy_max_in_flight = 8;  // calls to one endpoint at once while its last call answered
  Seconds busy_retry{2};          // when the in-flight cap is reached, look again after ~this
};

// From the [refresh] settings: breaker_*, max_in_flight_per_endpoint. 0 (the default): a healthy
// endpoint may use every worker but one (a catch-up against one platform runs at full speed, and
// one worker is always left for the others); from its first failure on, half of max_concurrent.
BreakerSettings breaker_settings(const RefreshConfig& cfg);

enum class CircuitState { closed, open, half_open };
std::string to_string(CircuitState s);

// One endpoint's state machine. Not thread-safe (PlatformGuards serialises access).
class CircuitBreaker {
 public:
  struct Admission {
    bool allowed = true;
    bool probe = false;    // this call decides whether the circuit closes
    TimePoint retry_at{};  // when refused: when to look again (before jitter)
  };

  explicit CircuitBreaker(const BreakerSettings& s) : settings_(s) {}
  void update(const BreakerSettings& s) { settings_ = s; }

  // May a call start now? token_expires_at: the caller's current token (empty: it has none).
  Admission admit(TimePoint now, std::optional<TimePoint> token_expires_at);
  // The platform answered (whatever it said).
  void on_answer(TimePoint now);
  // No usable answer (transport error, 5xx, garbage).
  void on_failure(TimePoint now);
  // An admitted call that was never made (lease not taken, result held): frees a probe slot.
  void on_abandoned(bool probe);

  CircuitState state(TimePoint now) const;
  int consecutive_failures() const { return failures_; }
  int openings() const { return openings_; }
  TimePoint open_until() const { return open_until_; }

 private:
  void open(TimePoint now);

  BreakerSettings settings_;
  bool open_ = false;  // open or half-open
  int failures_ = 0;   // consecutive, while closed
  int openings_ = 0;   // consecutive openings without a success: grows the cool-down
  TimePoint open_until_{};
  bool probe_in_flight_ = false;
  std::optional<TimePoint> last_probe_at_;
};

// Every endpoint's breaker and in-flight count. Thread-safe.
class PlatformGuards {
 public:
  struct Endpoint {
    std::string platform;  // "oauth2", "douyin", ...
    std::string host;      // host[:port] of the token endpoint; "" = the platform's default
    std::string id() const { return host.empty() ? platform : platform + " " + host; }
  };
  enum class Refusal { none, circuit_open, endpoint_busy };

  // A call's right to go ahead. Report the outcome with done(); destroying it without done()
  // abandons the call (frees its slot, a probe slot too). Movable, not copyable.
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& o) noexcept;
    Permit& operator=(Permit&& o) noexcept;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit();

    bool ok() const { return refusal_ == Refusal::none; }
    Refusal refusal() const { return refusal_; }
    // When refused: when to try again (jitter included).
    TimePoint retry_at() const { return retry_at_; }
    const Endpoint& endpoint() const { return endpoint_; }
    // The call ended: answered (true) or failed (false).
    void done(bool answered, TimePoint now);

   private:
    friend class PlatformGuards;
    PlatformGuards* guards_ = nullptr;  // set while the permit holds a slot
    Endpoint endpoint_;
    Refusal refusal_ = Refusal::none;
    TimePoint retry_at_{};
    bool probe_ = false;
  };

  struct Snapshot {
    Endpoint endpoint;
    CircuitState state = CircuitState::closed;
    int in_flight = 0;
    int waiting = 0;  // workers waiting in admit() for a slot
    int consecutive_failures = 0;
    std::optional<TimePoint> open_until;  // while open
  };

  // Slot waits are measured on `time` (util/waits.hpp), which must outlive the guards.
  PlatformGuards(const BreakerSettings& s, const TimeSource& time, std::uint64_t seed = std::random_device{}());
  void update(const BreakerSettings& s);
  BreakerSettings settings() const;

  // slot_wait: while the endpoint answers but has its cap of calls in flight, wait up to this
  // long (on the TimeSource) for one of them to end before refusing with endpoint_busy. A worker that
  // is refused takes the next due key at once, so without a wait a saturated endpoint makes the
  // spare workers defer key after key (bench/RESULTS.md, catch-up). A failing endpoint is never
  // waited for: deferring is the point there. Nor is one that has made no progress (no call
  // ended, no first call started) for slot_wait: calls that all hang look healthy until the first
  // times out, and waiting on them would hold the last free worker too, one slot_wait per key,
  // while other platforms' keys wait behind (the wait is cut to what is left of that window).
  Permit admit(const Endpoint& e, TimePoint now, std::optional<TimePoint> token_expires_at,
               std::chrono::milliseconds slot_wait = std::chrono::milliseconds(0));
  std::vector<Snapshot> snapshot(TimePoint now) const;

 private:
  struct Slot {
    CircuitBreaker breaker;
    Endpoint endpoint;
    int in_flight = 0;
    int waiting = 0;
    TimePoint last_progress{};  // a call ended, or the first of a burst started
  };
  void finish(const Endpoint& e, bool probe, std::optional<bool> answered, TimePoint now);
  Slot& slot(const Endpoint& e);  // mu_ held
  Seconds jitter(Seconds up_to);  // mu_ held

  mutable std::mutex mu_;
  fiber::Condition slot_freed_;  // refresh fibers wait here too: they must park, not block their carrier
  const TimeSource& time_;
  BreakerSettings settings_;
  std::map<std::string, Slot> slots_;
  std::mt19937_64 rng_;
};

std::string to_string(PlatformGuards::Refusal r);

}  // namespace mediax
