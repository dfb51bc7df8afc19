// LISTEN on PostgreSQL channels from a thread of its own, with its own connection, so an
// instance hears what other instances changed. Reconnects with backoff; after each connection
// (the first one too: what changed before it was not heard) it reports that notifications may
// have been missed, so the caller can sweep.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace mediax {

class NotificationListener {
 public:
  using Handler = std::function<void(const std::string& channel, const std::string& payload)>;
  using Reconnected = std::function<void()>;

  NotificationListener(std::string db_url, std::vector<std::string> channels, Handler on_notify,
                       Reconnected on_reconnect);
  ~NotificationListener();
  NotificationListener(const NotificationListener&) = delete;
  NotificationListener& operator=(const NotificationListener&) = delete;

  void start();
  void stop();
  bool connected() const { return connected_; }

 private:
  void loop();

  std::string url_;
  std::vector<std::string> channels_;
  Handler on_notify_;
  Reconnected on_reconnect_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::thread thread_;
};

// libpq connection string with application_name set (keyword form or URI form).
std::string with_application_name(const std::string& db_url, const std::string& name);

}  // namespace mediax
