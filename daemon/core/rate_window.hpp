// Counts events per id (an API key's name, a token, a peer address) in fixed windows and says how
// long an id that reached its limit must wait. Pure: the caller gives the time (monotonic) and
// holds any lock; used for the token/rejected limits (service/rejected_limits.hpp) and the failed
// authentications per peer (http/auth_guard.hpp). Memory is bounded: at most max_ids ids are
// remembered; past that, ids whose window is over go first, then the one whose window began first.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/time_source.hpp"

namespace mediax {

class RateWindows {
 public:
  // limit events per window and id; the limit-th event holds the id until its window ends.
  RateWindows(int limit, std::chrono::seconds window, std::size_t max_ids);

  // How long id must still wait (rounded up to whole seconds); 0 when it may go on.
  std::chrono::seconds wait(std::string_view id, MonoTime now) const;
  // Counts one event of id. True when this event reached the limit (the id waits from now on):
  // the moment to log it, once per window.
  bool count(std::string_view id, MonoTime now);

  std::size_t size() const { return ids_.size(); }
  int limit() const { return limit_; }

 private:
  struct Window {
    MonoTime start{};
    int events = 0;
  };
  bool over(const Window& w, MonoTime now) const { return now - w.start >= window_; }
  // Makes room for one more id (ids_.size() < max_ids_ afterwards).
  void make_room(MonoTime now);

  int limit_;
  std::chrono::seconds window_;
  std::size_t max_ids_;
  std::unordered_map<std::string, Window> ids_;
};

}  // namespace mediax
