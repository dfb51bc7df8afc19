#include "store/notification_listener.hpp"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <chrono>

namespace mediax {

namespace {

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection& c, const std::string& channel, const NotificationListener::Handler& h)
      : pqxx::notification_receiver(c, channel), handler_(h) {}
  void operator()(const std::string& payload, int /*backend_pid*/) override {
    try {
      handler_(channel(), payload);
    } catch (const std::exception& e) {
      spdlog::warn("notification on {} not handled: {}", channel(), e.what());
    }
  }

 private:
  const NotificationListener::Handler& handler_;
};

}  // namespace

std::string with_application_name(const std::string& db_url, const std::string& name) {
  if (db_url.rfind("postgresql://", 0) == 0 || db_url.rfind("postgres://", 0) == 0) {
    return db_url + (db_url.find('?') == std::string::npos ? "?" : "&") + "application_name=" + name;
  }
  return db_url + " application_name='" + name + "'";
}

NotificationListener::NotificationListener(std::string db_url, std::vector<std::string> channels, Handler on_notify,
                                           Reconnected on_reconnect)
    : url_(std::move(db_url)),
      channels_(std::move(channels)),
      on_notify_(std::move(on_notify)),
      on_reconnect_(std::move(on_reconnect)) {}

NotificationListener::~NotificationListener() { stop(); }

void NotificationListener::start() {
  thread_ = std::thread([this] { loop(); });
}

void NotificationListener::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void NotificationListener::loop() {
  int failures = 0;
  while (!stop_) {
    try {
      pqxx::connection conn(url_);
      std::vector<std::unique_ptr<Receiver>> receivers;
      for (const auto& ch : channels_) receivers.push_back(std::make_unique<Receiver>(conn, ch, on_notify_));
      connected_ = true;
      failures = 0;
      if (on_reconnect_) on_reconnect_();
      while (!stop_) {
        // Wakes at least every second to notice stop().
        conn.await_notification(1, 0);
      }
    } catch (const std::exception& e) {
      connected_ = false;
      if (failures == 0) spdlog::warn("LISTEN connection lost, reconnecting: {}", e.what());
      ++failures;
      auto wait = std::chrono::milliseconds(std::min(500 * (1 << std::min(failures, 5)), 10000));
      for (auto waited = std::chrono::milliseconds(0); waited < wait && !stop_;
           waited += std::chrono::milliseconds(100)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }
  connected_ = false;
}

}  // namespace mediax
