// The current tokens in memory, so token reads never wait for the database.
// Many readers (HTTP threads), few writers (refresh workers): a shared mutex per partition.
// With several instances each caches the tokens of its own partitions only (restrict_to): a
// token of another partition is not kept, since its owner refreshes it and this copy would age.
// Each partition's tokens live in memory of their own (schedule/partition_tokens.hpp), given
// back to the operating system when the partition is given away.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <vector>

#include "core/partitions.hpp"
#include "core/types.hpp"

namespace mediax {

class PartitionTokens;

class TokenCache {
 public:
  TokenCache();
  ~TokenCache();
  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  // From now on only tokens of these partitions are kept (outlives the cache; none: every token).
  void restrict_to(const PartitionSet* owned) { owned_ = owned; }
  void put(const Token& t);
  // Puts t unless the cache holds a token of the same key refreshed later: what a database read
  // brings in (the sweep, a NOTIFY, a lost lease race) may be older than the token a refresh of
  // this instance put there while the read was on its way. false: kept the newer one.
  bool put_if_newer(const Token& t);
  void erase(const RefreshKey& key);
  void erase_app(std::int64_t app_id);  // the app token and every grant token of the app
  // Forgets every token of these partitions (given up to another instance) and gives their
  // memory back; returns how many.
  std::size_t erase_partitions(const std::vector<int>& partitions);
  std::optional<Token> get(const RefreshKey& key) const;
  // The app of the cached token for key (a grant key does not carry it), without copying the token.
  std::optional<std::int64_t> app_id(const RefreshKey& key) const;
  std::size_t size() const;
  // The earliest expires_at of the tokens in memory; empty when there are none.
  std::optional<TimePoint> earliest_expiry() const;
  // Bytes mapped for the tokens in memory (for tests).
  std::size_t mapped_bytes() const;

 private:
  struct Shelf {
    mutable std::shared_mutex mu;
    std::unique_ptr<PartitionTokens> tokens;  // created by the first token put
  };
  static RefreshKey key_of(const Token& t);
  bool kept(const RefreshKey& key) const { return owned_ == nullptr || owned_->owns(key); }
  Shelf& shelf_of(const RefreshKey& key) { return shelves_[static_cast<std::size_t>(partition_of(key))]; }
  const Shelf& shelf_of(const RefreshKey& key) const { return shelves_[static_cast<std::size_t>(partition_of(key))]; }
  static PartitionTokens& tokens_of(Shelf& s);
  // Adds up of(tokens) over the partitions holding any.
  template <class F>
  std::size_t sum(F of) const;
  const PartitionSet* owned_ = nullptr;
  std::array<Shelf, kPartitionCount> shelves_;
};

}  // namespace mediax
