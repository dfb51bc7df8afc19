// The threads fibers run on: each a single-threaded Asio io_context (fiber.hpp says why one
// thread each), with a work guard so it idles instead of returning. The platform calls' sockets
// live on the io_context of the fiber that makes them (net/async_http_client.hpp).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "fiber/fiber.hpp"

namespace mediax::fiber {

class AsioCarrier final : public Carrier {
 public:
  AsioCarrier();
  ~AsioCarrier() override;
  AsioCarrier(const AsioCarrier&) = delete;
  AsioCarrier& operator=(const AsioCarrier&) = delete;

  void post(std::function<void()> fn) override;
  void post_after(std::chrono::steady_clock::duration d, std::function<void()> fn) override;
  boost::asio::io_context& io() { return io_; }
  // Stops the loop and joins its thread: fibers still parked are destroyed with the carrier
  // (their stacks unwound), so stop only once nothing is running on it.
  void stop();

 private:
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

// A fixed set of carriers; new fibers go to them in turn.
class Carriers {
 public:
  explicit Carriers(std::size_t count);
  ~Carriers();
  Carriers(const Carriers&) = delete;
  Carriers& operator=(const Carriers&) = delete;

  AsioCarrier& next();
  std::size_t size() const { return carriers_.size(); }
  void stop();

 private:
  std::vector<std::unique_ptr<AsioCarrier>> carriers_;
  std::atomic<std::size_t> next_{0};
};

// The Asio loop of the fiber the caller runs on; null when not on a fiber of an AsioCarrier.
boost::asio::io_context* current_io();

}  // namespace mediax::fiber
