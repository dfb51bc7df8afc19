#include "schedule/circuit_breaker.hpp"

#include <algorithm>

#include "fiber/condition.hpp"

namespace mediax {

std::string to_string(CircuitState s) {
  switch (s) {
    case CircuitState::closed: return "closed";
    case CircuitState::open: return "open";
    case CircuitState::half_open: return "half_open";
  }
  return "closed";
}

std::string to_string(PlatformGuards::Refusal r) {
  switch (r) {
    case PlatformGuards::Refusal::none: return "none";
    case PlatformGuards::Refusal::circuit_open: return "circuit_open";
    case PlatformGuards::Refusal::endpoint_busy: return "endpoint_busy";
  }
  return "none";
}

BreakerSettings breaker_settings(const RefreshConfig& cfg) {
  BreakerSettings s;
  s.failure_threshold = cfg.breaker_failures;
  s.cooldown = Seconds(cfg.breaker_cooldown_seconds);
  s.max_cooldown = std::max(Seconds(cfg.breaker_max_cooldown_seconds), s.cooldown);
  s.max_in_flight = cfg.max_in_flight_per_endpoint > 0 ? cfg.max_in_flight_per_endpoint
                                                       : std::max(1, cfg.max_concurrent / 2);
  s.healthy_max_in_flight = cfg.max_in_flight_per_endpoint > 0 ? cfg.max_in_flight_per_endpoint
                                                               : std::max(1, cfg.max_concurrent - 1);
  // A busy endpoint is looked at again after about half a call's timeout (1..5 s).
  s.busy_retry = std::clamp(std::chrono::duration_cast<Seconds>(std::chrono::milliseconds(cfg.request_timeout_ms) / 2),
                            Seconds(1), Seconds(5));
  return s;
}

// ---------------------------------------------------------------------------------------------
// CircuitBreaker

CircuitState CircuitBreaker::state(TimePoint now) const {
  if (!open_) return CircuitState::closed;
  return now >= open_until_ ? CircuitState::half_open : CircuitState::open;
}

void CircuitBreaker::open(TimePoint now) {
  ++openings_;
  // cooldown * 2^(openings-1), capped; the shift is bounded so it cannot overflow.
  const auto shift = std::min(openings_ - 1, 20);
  auto period = settings_.cooldown * (std::int64_t{1} << shift);
  period = std::min(period, std::max(settings_.max_cooldown, settings_.cooldown));
  open_ = true;
  open_until_ = now + period;
  failures_ = 0;
  // The failure that opened it counts as the latest probe: urgent probes wait a cool-down too.
  last_probe_at_ = now;
}

CircuitBreaker::Admission CircuitBreaker::admit(TimePoint now, std::optional<TimePoint> token_expires_at) {
  Admission a;
  if (!open_) return a;
  if (probe_in_flight_) {
    // Someone is finding out whether the platform is back; its answer comes within a call's
    // timeout. Look again a little later.
    a.allowed = false;
    auto wait = std::min(settings_.cooldown, Seconds(5));
    // A token that would expire before then looks again sooner: the probe may close the circuit
    // (at least a second away: the scheduler counts whole seconds).
    if (token_expires_at && *token_expires_at > now) {
      wait = std::min(wait, std::max(Seconds(1), std::chrono::duration_cast<Seconds>((*token_expires_at - now) / 2)));
    }
    a.retry_at = now + wait;
    return a;
  }
  if (now >= open_until_) {
    a.probe = true;
  } else {
    // Urgent: the token would expire before the circuit lets a call through.
    const bool urgent = !token_expires_at || *token_expires_at <= open_until_;
    const bool probe_due = !last_probe_at_ || now >= *last_probe_at_ + settings_.cooldown;
    if (urgent && probe_due) {
      a.probe = true;
    } else {
      a.allowed = false;
      a.retry_at = open_until_;
      if (urgent) a.retry_at = std::min(open_until_, *last_probe_at_ + settings_.cooldown);
      return a;
    }
  }
  probe_in_flight_ = true;
  last_probe_at_ = now;
  return a;
}

void CircuitBreaker::on_answer(TimePoint /*now*/) {
  open_ = false;
  failures_ = 0;
  openings_ = 0;
  probe_in_flight_ = false;
}

void CircuitBreaker::on_failure(TimePoint now) {
  if (open_) {
    // A failed probe opens the circuit again for longer. Calls that started before it opened
    // and fail afterwards say nothing new.
    if (probe_in_flight_) {
      probe_in_flight_ = false;
      open(now);
    }
    return;
  }
  if (++failures_ >= settings_.failure_threshold) open(now);
}

void CircuitBreaker::on_abandoned(bool probe) {
  if (probe) probe_in_flight_ = false;
}

// ---------------------------------------------------------------------------------------------
// PlatformGuards

PlatformGuards::PlatformGuards(const BreakerSettings& s, const TimeSource& time, std::uint64_t seed)
    : time_(time), settings_(s), rng_(seed) {}

void PlatformGuards::update(const BreakerSettings& s) {
  std::lock_guard lk(mu_);
  settings_ = s;
  for (auto& [id, sl] : slots_) sl.breaker.update(s);
}

BreakerSettings PlatformGuards::settings() const {
  std::lock_guard lk(mu_);
  return settings_;
}

PlatformGuards::Slot& PlatformGuards::slot(const Endpoint& e) {
  auto it = slots_.find(e.id());
  if (it == slots_.end()) it = slots_.emplace(e.id(), Slot{CircuitBreaker(settings_), e, 0}).first;
  return it->second;
}

Seconds PlatformGuards::jitter(Seconds up_to) {
  if (up_to.count() <= 0) return Seconds(0);
  std::uniform_int_distribution<std::int64_t> d(0, up_to.count());
  return Seconds(d(rng_));
}

PlatformGuards::Permit PlatformGuards::admit(const Endpoint& e, TimePoint now,
                                             std::optional<TimePoint> token_expires_at,
                                             std::chrono::milliseconds slot_wait) {
  std::unique_lock lk(mu_);
  Slot& s = slot(e);
  Permit p;
  p.endpoint_ = e;
  auto healthy = [&] { return s.breaker.consecutive_failures() == 0 && s.breaker.state(now) == CircuitState::closed; };
  auto cap = [&] {
    return std::max(1, healthy() ? std::max(settings_.max_in_flight, settings_.healthy_max_in_flight)
                                 : settings_.max_in_flight);
  };
  if (s.in_flight >= cap() && healthy() && slot_wait.count() > 0) {
    // Only while the endpoint moves (header): calls ending now and then, or just started.
    const auto since = std::chrono::duration_cast<std::chrono::milliseconds>(now - s.last_progress);
    if (since < slot_wait) {
      // slots_ is a std::map: the reference to s stays valid while mu_ is released.
      ++s.waiting;
      const auto left = slot_wait - std::max(since, std::chrono::milliseconds(0));
      wait_until(slot_freed_, lk, time_, time_.monotonic() + left, [&] { return s.in_flight < cap() || !healthy(); });
      --s.waiting;
    }
  }
  if (s.in_flight >= cap()) {
    // Calls to this endpoint hang or crawl: do not let it take every worker.
    // At least a second away: the scheduler fires by whole seconds, and a time within the
    // current one is due at once (a busy_retry of 1 s halved in whole seconds was 0: a spin).
    p.refusal_ = Refusal::endpoint_busy;
    const auto half = std::chrono::duration_cast<std::chrono::milliseconds>(settings_.busy_retry) / 2;
    std::uniform_int_distribution<std::int64_t> d(0, half.count());
    p.retry_at_ = now + std::max<std::chrono::milliseconds>(half, Seconds(1)) + std::chrono::milliseconds(d(rng_));
    return p;
  }
  auto a = s.breaker.admit(now, token_expires_at);
  if (!a.allowed) {
    // Spread the deferred keys over a quarter of the cool-down so they do not all come back at once,
    // but never a token past its expiry: one expiring just after the circuit reopens is spread over
    // at most half the time it has left then (none when it has under 2 s). At least a second away:
    // the scheduler fires by whole seconds, and a circuit reopening later within the current one
    // would make the key due at once, again and again (a spin) until it does.
    p.refusal_ = Refusal::circuit_open;
    const auto base = std::max(a.retry_at, now);
    auto spread = std::max(Seconds(1), settings_.cooldown / 4);
    if (token_expires_at) {
      const auto room = std::chrono::duration_cast<Seconds>(*token_expires_at - base);
      spread = std::min(spread, room >= Seconds(2) ? room / 2 : Seconds(0));
    }
    p.retry_at_ = std::max(base + jitter(spread), now + Seconds(1));
    return p;
  }
  if (s.in_flight == 0) s.last_progress = now;
  ++s.in_flight;
  p.guards_ = this;
  p.probe_ = a.probe;
  return p;
}

void PlatformGuards::finish(const Endpoint& e, bool probe, std::optional<bool> answered, TimePoint now) {
  std::lock_guard lk(mu_);
  Slot& s = slot(e);
  s.in_flight = std::max(0, s.in_flight - 1);
  s.last_progress = std::max(s.last_progress, now);
  slot_freed_.notify_all();
  if (!answered) {
    s.breaker.on_abandoned(probe);
  } else if (*answered) {
    s.breaker.on_answer(now);
  } else {
    s.breaker.on_failure(now);
  }
}

std::vector<PlatformGuards::Snapshot> PlatformGuards::snapshot(TimePoint now) const {
  std::lock_guard lk(mu_);
  std::vector<Snapshot> out;
  for (const auto& [id, s] : slots_) {
    Snapshot snap;
    snap.endpoint = s.endpoint;
    snap.state = s.breaker.state(now);
    snap.in_flight = s.in_flight;
    snap.waiting = s.waiting;
    snap.consecutive_failures = s.breaker.consecutive_failures();
    if (snap.state != CircuitState::closed) snap.open_until = s.breaker.open_until();
    out.push_back(snap);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Permit

PlatformGuards::Permit::Permit(Permit&& o) noexcept
    : guards_(o.guards_),
      endpoint_(std::move(o.endpoint_)),
      refusal_(o.refusal_),
      retry_at_(o.retry_at_),
      probe_(o.probe_) {
  o.guards_ = nullptr;
}

PlatformGuards::Permit& PlatformGuards::Permit::operator=(Permit&& o) noexcept {
  if (this != &o) {
    if (guards_) guards_->finish(endpoint_, probe_, std::nullopt, TimePoint{});
    guards_ = o.guards_;
    endpoint_ = std::move(o.endpoint_);
    refusal_ = o.refusal_;
    retry_at_ = o.retry_at_;
    probe_ = o.probe_;
    o.guards_ = nullptr;
  }
  return *this;
}

PlatformGuards::Permit::~Permit() {
  if (guards_) guards_->finish(endpoint_, probe_, std::nullopt, TimePoint{});
}

void PlatformGuards::Permit::done(bool answered, TimePoint now) {
  if (!guards_) return;
  guards_->finish(endpoint_, probe_, answered, now);
  guards_ = nullptr;
}

}  // namespace mediax
