// Drives webhooks::Sender from the io_context: one timer armed for the earliest due event (at most
// webhook.poll_seconds away, since other instances queue events too), attempts made on a worker
// thread of its own so a slow receiver never blocks the event loop. The same worker queues the
// grant.reauth_due notices (Store::queue_reauth_notices) at most once per poll: they are webhook
// events that come from the passing of time, not from a refresh.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>

#include "core/time_source.hpp"
#include "service/webhooks.hpp"
#include "store/store.hpp"

namespace mediax {

class WebhookDispatcher {
 public:
  WebhookDispatcher(boost::asio::io_context& io, webhooks::Sender& sender, Store& store, const TimeSource& clock,
                    std::chrono::seconds poll, std::chrono::seconds reauth_notice = std::chrono::hours(24 * 7));
  ~WebhookDispatcher();

  // Arms the timer (first look right away). Call once.
  void start();
  // Thread-safe: look for due events now (e.g. a refresh just queued one).
  void poke();
  // Stops arming; waits for the attempts in flight (each bounded by webhook.timeout_ms).
  void stop();

 private:
  void arm(std::chrono::steady_clock::duration after);  // io thread
  void on_timer();                                       // io thread
  void work();                                           // worker thread

  boost::asio::io_context& io_;
  webhooks::Sender& sender_;
  Store& store_;
  const TimeSource& clock_;
  const std::chrono::seconds poll_;
  const std::chrono::seconds reauth_notice_;  // webhook.reauth_notice_days
  std::chrono::steady_clock::time_point notices_at_{};  // worker thread: the last notice scan
  boost::asio::steady_timer timer_;
  boost::asio::thread_pool worker_{1};
  // Owned by the io thread:
  bool busy_ = false;
  bool again_ = false;  // poked while busy: look again right after
  std::atomic<bool> stopping_{false};
};

}  // namespace mediax
