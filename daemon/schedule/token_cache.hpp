// The current tokens in memory, so token reads never wait for the database.
// Many readers (HTTP threads), few writers (refresh workers): a shared mutex.
// With several instances each caches the tokens of its own partitions only (restrict_to): a
// token of another partition is not kept, since its owner refreshes it and this copy would age.
#pragma once

#include <optional>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "core/partitions.hpp"
#include "core/types.hpp"

namespace mediax {

class TokenCache {
 public:
  // From now on only tokens of these partitions are kept (outlives the cache; none: every token).
  void restrict_to(const PartitionSet* owned) { owned_ = owned; }
  void put(const Token& t);
  // Puts t unless the cache holds a token of the same key refreshed later: what a database read
  // brings in (the sweep, a NOTIFY, a lost lease race) may be older than the token a refresh of
  // this instance put there while the read was on its way. false: kept the newer one.
  bool put_if_newer(const Token& t);
  void erase(const RefreshKey& key);
  void erase_app(std::int64_t app_id);  // the app token and every grant token of the app
  // Forgets every token of these partitions (given up to another instance); returns how many.
  std::size_t erase_partitions(const std::vector<int>& partitions);
  std::optional<Token> get(const RefreshKey& key) const;
  void replace_all(const std::vector<Token>& tokens);
  // Puts every token of a batch (moved in) under one lock: the start-up load, batch by batch.
  void put_all(std::vector<Token>&& tokens);
  // put_if_newer for every token of a batch, moved in under one lock: partitions taken over while
  // refreshes run. Moved, not copied: copies would interleave with the batch's freed strings on
  // the heap and keep twice the pages resident.
  void put_all_if_newer(std::vector<Token>&& tokens);
  std::size_t size() const;
  // The earliest expires_at of the tokens in memory; empty when there are none.
  std::optional<TimePoint> earliest_expiry() const;

 private:
  static RefreshKey key_of(const Token& t);
  bool kept(const RefreshKey& key) const { return owned_ == nullptr || owned_->owns(key); }
  const PartitionSet* owned_ = nullptr;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::uint64_t, Token> tokens_;
};

}  // namespace mediax
