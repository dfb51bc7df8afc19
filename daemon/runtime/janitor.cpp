#include "runtime/janitor.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace mediax {

namespace {

void run_logged(const std::string& name, const Janitor::Task& task) {
  try {
    task();
  } catch (const std::exception& e) {
    spdlog::warn("janitor: {} failed: {}", name, e.what());
  }
}

}  // namespace

Janitor::Janitor(boost::asio::io_context& io, boost::asio::any_io_executor blocking, const TimeSource& time)
    : io_(io), blocking_(std::move(blocking)), time_(time), timer_(io) {}

Janitor::TaskId Janitor::add(std::string name, std::optional<Duration> period, On on, Task task) {
  Entry e;
  e.name = std::move(name);
  e.period = period;
  e.on = on;
  e.task = std::move(task);
  tasks_.push_back(std::move(e));
  return tasks_.size() - 1;
}

void Janitor::start() {
  const auto now = time_.monotonic();
  for (auto& e : tasks_) {
    if (e.period) e.next_due = now + *e.period;
  }
  arm();
}

void Janitor::poke(TaskId id, Duration within) {
  boost::asio::post(io_, [this, id, within] {
    if (stopped_) return;
    auto& e = tasks_.at(id);
    const auto at = time_.monotonic() + within;
    e.poked = e.poked ? std::min(*e.poked, at) : at;
    run_due();
  });
}

void Janitor::run_due() {
  if (stopped_) return;
  const auto now = time_.monotonic();
  for (TaskId id = 0; id < tasks_.size(); ++id) {
    auto& e = tasks_[id];
    if (e.running) continue;  // an overrun: skipped now, started again when it ends
    const bool periodic = e.next_due <= now;
    if (!periodic && !(e.poked && *e.poked <= now)) continue;
    // The period counts from this start, so a late or overrunning task is not run twice to catch up.
    if (periodic) e.next_due = now + *e.period;
    e.poked.reset();  // this run serves the poke too
    launch(id);
  }
  arm();
}

void Janitor::launch(TaskId id) {
  auto& e = tasks_[id];
  if (e.on == On::loop) {
    run_logged(e.name, e.task);
    return;
  }
  e.running = true;
  boost::asio::post(blocking_, [this, id] {
    run_logged(tasks_[id].name, tasks_[id].task);
    boost::asio::post(io_, [this, id] { finished(id); });
  });
}

void Janitor::finished(TaskId id) {
  tasks_[id].running = false;
  run_due();
}

void Janitor::arm() {
  if (stopped_) return;
  auto earliest = MonoTime::max();
  for (const auto& e : tasks_) {
    if (e.running) continue;  // re-armed when it ends
    earliest = std::min(earliest, e.next_due);
    if (e.poked) earliest = std::min(earliest, *e.poked);
  }
  if (earliest == MonoTime::max()) {
    timer_.cancel();
    return;
  }
  timer_.expires_after(std::max(earliest - time_.monotonic(), Duration::zero()));  // cancels the wait armed before
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) run_due();
  });
}

void Janitor::stop() {
  stopped_ = true;
  timer_.cancel();
}

}  // namespace mediax
