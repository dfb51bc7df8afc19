#include "runtime/webhook_dispatcher.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace mediax {

WebhookDispatcher::WebhookDispatcher(boost::asio::io_context& io, webhooks::Sender& sender, Store& store,
                                     const TimeSource& clock, std::chrono::seconds poll, std::chrono::seconds reauth_notice)
    : io_(io), sender_(sender), store_(store), clock_(clock), poll_(std::max(poll, std::chrono::seconds(1))),
      reauth_notice_(reauth_notice), timer_(io) {}

WebhookDispatcher::~WebhookDispatcher() { stop(); }

void WebhookDispatcher::start() {
  boost::asio::post(io_, [this] { arm(std::chrono::milliseconds(0)); });
}

void WebhookDispatcher::poke() {
  if (stopping_) return;
  boost::asio::post(io_, [this] {
    if (stopping_) return;
    if (busy_) {
      again_ = true;
    } else {
      arm(std::chrono::milliseconds(0));
    }
  });
}

void WebhookDispatcher::stop() {
  if (stopping_.exchange(true)) return;
  boost::asio::post(io_, [this] { timer_.cancel(); });
  worker_.join();
}

void WebhookDispatcher::arm(std::chrono::steady_clock::duration after) {
  if (stopping_) return;
  timer_.expires_after(after);  // cancels a wait already armed
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_timer();
  });
}

void WebhookDispatcher::on_timer() {
  if (stopping_ || busy_) return;
  busy_ = true;
  again_ = false;
  boost::asio::post(worker_, [this] { work(); });
}

void WebhookDispatcher::work() {
  std::chrono::steady_clock::duration next = poll_;
  try {
    const auto steady = std::chrono::steady_clock::now();
    if (notices_at_ == std::chrono::steady_clock::time_point{} || steady - notices_at_ >= poll_) {
      notices_at_ = steady;
      if (int n = store_.queue_reauth_notices(clock_.system(), reauth_notice_); n > 0) {
        spdlog::info("webhooks: {} grant.reauth_due notice(s) queued", n);
      }
    }
    const int batch = 10;
    // A full batch may mean more is due: take the next one at once, until stopping.
    while (!stopping_ && sender_.run_once(batch) == batch) {
    }
    if (auto due = store_.next_webhook_due()) {
      const auto wait = *due - clock_.system();
      next = std::clamp<std::chrono::steady_clock::duration>(
          std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait), std::chrono::milliseconds(0), poll_);
    }
  } catch (const std::exception& e) {
    spdlog::warn("webhooks: cannot look for due events: {}", e.what());
  }
  boost::asio::post(io_, [this, next] {
    busy_ = false;
    arm(again_ ? std::chrono::steady_clock::duration(0) : next);
  });
}

}  // namespace mediax
