// The cached tokens of one partition (core/partitions.hpp), in memory of their own.
//
// A token is packed into one byte string (its times, lengths, then the access token, type and
// scopes back to back) in a pool that draws on a PageArena (util/page_arena.hpp): a `Token` in a
// map node with its heap strings took ~276 bytes per cached token at a million tokens, and the
// tokens of a partition given to another instance were interleaved with the others on malloc's
// pages, so giving partitions away freed little. Destroying a PartitionTokens unmaps its pages.
// Not thread-safe: TokenCache locks each partition's tokens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <optional>
#include <unordered_map>

#include "core/types.hpp"
#include "util/page_arena.hpp"

namespace mediax {

class PartitionTokens {
 public:
  PartitionTokens();
  ~PartitionTokens();
  PartitionTokens(const PartitionTokens&) = delete;
  PartitionTokens& operator=(const PartitionTokens&) = delete;

  // key: RefreshKey::pack() of the token's key.
  void put(std::uint64_t key, const Token& t);
  // Puts t unless the token held for key was refreshed later; false: kept the one held.
  bool put_if_newer(std::uint64_t key, const Token& t);
  std::optional<Token> get(std::uint64_t key) const;
  // The app of the token held for key, read without unpacking the token.
  std::optional<std::int64_t> app_id(std::uint64_t key) const;
  void erase(std::uint64_t key);
  std::size_t erase_app(std::int64_t app_id);
  std::size_t size() const { return packed_.size(); }
  std::optional<TimePoint> earliest_expiry() const;
  // Bytes this partition's tokens hold mapped (for tests).
  std::size_t mapped_bytes() const { return arena_.mapped_bytes(); }

 private:
  // One token packed (layout in the .cpp); the bytes belong to pool_.
  struct Packed {
    char* bytes = nullptr;
    std::uint32_t size = 0;
  };
  Packed pack(const Token& t);
  void release(Packed p);
  static Token unpack(std::uint64_t key, const Packed& p);
  static std::int64_t app_id_of(const Packed& p);
  static TimePoint refreshed_at_of(const Packed& p);
  static TimePoint expires_at_of(const Packed& p);

  util::PageArena arena_;
  std::pmr::unsynchronized_pool_resource pool_;
  std::pmr::unordered_map<std::uint64_t, Packed> packed_;
};

}  // namespace mediax
