#include "runtime/webhook_dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace mediax {

WebhookDispatcher::WebhookDispatcher(webhooks::Sender& sender, WebhookOutbox& outbox, const TimeSource& clock,
                                     std::chrono::seconds poll, std::chrono::seconds reauth_notice)
    : sender_(sender),
      outbox_(outbox),
      clock_(clock),
      poll_(std::max(poll, std::chrono::seconds(1))),
      reauth_notice_(reauth_notice) {}

MonoClock::duration WebhookDispatcher::deliver_due() {
  try {
    const int batch = 10;
    // A full batch may mean more is due: take the next one at once, until stopping.
    while (!stopping_ && sender_.run_once(batch) == batch) {
    }
    if (auto due = outbox_.next_webhook_due()) {
      return std::clamp<MonoClock::duration>(std::chrono::duration_cast<MonoClock::duration>(*due - clock_.system()),
                                             MonoClock::duration::zero(), poll_);
    }
  } catch (const std::exception& e) {
    spdlog::warn("webhooks: cannot look for due events: {}", e.what());
  }
  return poll_;
}

int WebhookDispatcher::queue_reauth_notices() {
  try {
    const int n = outbox_.queue_reauth_notices(clock_.system(), reauth_notice_);
    if (n > 0) spdlog::info("webhooks: {} grant.reauth_due notice(s) queued", n);
    return n;
  } catch (const std::exception& e) {
    spdlog::warn("webhooks: cannot look for due events: {}", e.what());
    return 0;
  }
}

}  // namespace mediax
