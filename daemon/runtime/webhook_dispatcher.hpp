// Works through the webhook outbox for the janitor (runtime/janitor.hpp), on its blocking pool so
// a slow receiver never blocks the event loop. deliver_due() sends what is due and says when the
// earliest event will be (at most webhook.poll_seconds away, since other instances queue events
// too), so the janitor comes back then. queue_reauth_notices() queues the grant.reauth_due
// notices: webhook events that come from the passing of time, not from a refresh.
#pragma once

#include <atomic>
#include <chrono>

#include "util/time_source.hpp"
#include "service/webhooks.hpp"
#include "store/interfaces.hpp"

namespace mediax {

class WebhookDispatcher {
 public:
  WebhookDispatcher(webhooks::Sender& sender, WebhookOutbox& outbox, const TimeSource& clock, std::chrono::seconds poll,
                    std::chrono::seconds reauth_notice = std::chrono::hours(24 * 7));

  // Sends the due events, batch after batch while batches come back full; how long until the next
  // one is due (zero: now), at most poll(). A store failure is logged and answers poll().
  MonoClock::duration deliver_due();
  // Queues grant.reauth_due for grants whose refresh token ends within reauth_notice; the number queued.
  int queue_reauth_notices();
  // Thread-safe: a deliver_due() in progress ends after its current batch.
  void stop() { stopping_ = true; }
  std::chrono::seconds poll() const { return poll_; }

 private:
  webhooks::Sender& sender_;
  WebhookOutbox& outbox_;
  const TimeSource& clock_;
  const std::chrono::seconds poll_;
  const std::chrono::seconds reauth_notice_;  // webhook.reauth_notice_days
  std::atomic<bool> stopping_{false};
};

}  // namespace mediax
