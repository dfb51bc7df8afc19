#include "schedule/partition_tokens.hpp"

#include <cassert>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace mediax {

namespace {

// The packed layout: a fixed head (app id, expires_at and refreshed_at as TimePoint ticks, then
// the sizes of the access token and the token type and the number of scopes), then the access
// token, the token type and the scopes (each a 32-bit size and its bytes). Read and written with
// memcpy: the bytes have no alignment. The grant id is the key's.
constexpr std::size_t kAppIdAt = 0;
constexpr std::size_t kExpiresAt = 8;
constexpr std::size_t kRefreshedAt = 16;
constexpr std::size_t kSizesAt = 24;  // three uint32
constexpr std::size_t kHeadSize = 36;

std::uint32_t size32(std::size_t n) {
  if (n > UINT32_MAX) throw std::length_error("token field too long to cache");
  return static_cast<std::uint32_t>(n);
}

std::int64_t read_i64(const char* at) {
  std::int64_t v;
  std::memcpy(&v, at, sizeof v);
  return v;
}

std::uint32_t read_u32(const char* at) {
  std::uint32_t v;
  std::memcpy(&v, at, sizeof v);
  return v;
}

char* write(char* at, const void* what, std::size_t n) {
  if (n != 0) std::memcpy(at, what, n);
  return at + n;
}

TimePoint time_of(std::int64_t ticks) { return TimePoint(TimePoint::duration(ticks)); }

// The pool's size classes go up to 4 KiB; larger tokens go to the arena's own mappings.
std::pmr::pool_options pool_options() {
  std::pmr::pool_options o;
  o.largest_required_pool_block = util::PageArena::kSmall;
  return o;
}

}  // namespace

PartitionTokens::PartitionTokens() : pool_(pool_options(), &arena_), packed_(&pool_) {
  // What the pool does not keep in its pools it must hand to the arena's large mappings, which
  // are freed one by one; smaller blocks cut by the arena are freed only with it.
  assert(pool_.options().largest_required_pool_block >= util::PageArena::kSmall);
}

// The packed tokens are not freed one by one: they go with the pool and the arena.
PartitionTokens::~PartitionTokens() = default;

PartitionTokens::Packed PartitionTokens::pack(const Token& t) {
  std::size_t size = kHeadSize + t.access_token.size() + t.token_type.size();
  for (const auto& s : t.scopes) size += 4 + s.size();
  Packed p;
  p.size = size32(size);
  p.bytes = static_cast<char*>(pool_.allocate(p.size, 1));
  const std::int64_t app_id = t.app_id;
  const std::int64_t expires = t.expires_at.time_since_epoch().count();
  const std::int64_t refreshed = t.refreshed_at.time_since_epoch().count();
  const std::uint32_t sizes[3] = {size32(t.access_token.size()), size32(t.token_type.size()), size32(t.scopes.size())};
  char* at = p.bytes;
  at = write(at, &app_id, 8);
  at = write(at, &expires, 8);
  at = write(at, &refreshed, 8);
  at = write(at, sizes, sizeof sizes);
  static_assert(kSizesAt + sizeof sizes == kHeadSize);
  at = write(at, t.access_token.data(), t.access_token.size());
  at = write(at, t.token_type.data(), t.token_type.size());
  for (const auto& s : t.scopes) {
    const std::uint32_t n = size32(s.size());
    at = write(at, &n, 4);
    at = write(at, s.data(), s.size());
  }
  return p;
}

void PartitionTokens::release(Packed p) {
  if (p.bytes != nullptr) pool_.deallocate(p.bytes, p.size, 1);
}

Token PartitionTokens::unpack(std::uint64_t key, const Packed& p) {
  const char* at = p.bytes;
  Token t;
  t.app_id = read_i64(at + kAppIdAt);
  const RefreshKey k = RefreshKey::unpack(key);
  if (!k.is_app_token()) t.grant_id = k.grant_id;
  t.expires_at = time_of(read_i64(at + kExpiresAt));
  t.refreshed_at = time_of(read_i64(at + kRefreshedAt));
  const std::uint32_t access_size = read_u32(at + kSizesAt);
  const std::uint32_t type_size = read_u32(at + kSizesAt + 4);
  const std::uint32_t scope_count = read_u32(at + kSizesAt + 8);
  at += kHeadSize;
  t.access_token.assign(at, access_size);
  at += access_size;
  t.token_type.assign(at, type_size);
  at += type_size;
  t.scopes.reserve(scope_count);
  for (std::uint32_t i = 0; i < scope_count; ++i) {
    const std::uint32_t n = read_u32(at);
    t.scopes.emplace_back(at + 4, n);
    at += 4 + n;
  }
  return t;
}

std::int64_t PartitionTokens::app_id_of(const Packed& p) { return read_i64(p.bytes + kAppIdAt); }
TimePoint PartitionTokens::refreshed_at_of(const Packed& p) { return time_of(read_i64(p.bytes + kRefreshedAt)); }
TimePoint PartitionTokens::expires_at_of(const Packed& p) { return time_of(read_i64(p.bytes + kExpiresAt)); }

void PartitionTokens::put(std::uint64_t key, const Token& t) {
  const Packed fresh = pack(t);
  auto [it, inserted] = packed_.try_emplace(key, fresh);
  if (inserted) return;
  release(it->second);
  it->second = fresh;
}

bool PartitionTokens::put_if_newer(std::uint64_t key, const Token& t) {
  auto it = packed_.find(key);
  if (it != packed_.end() && refreshed_at_of(it->second) > t.refreshed_at) return false;
  const Packed fresh = pack(t);
  if (it == packed_.end()) {
    packed_.emplace(key, fresh);
  } else {
    release(it->second);
    it->second = fresh;
  }
  return true;
}

std::optional<Token> PartitionTokens::get(std::uint64_t key) const {
  auto it = packed_.find(key);
  if (it == packed_.end()) return std::nullopt;
  return unpack(key, it->second);
}

std::optional<std::int64_t> PartitionTokens::app_id(std::uint64_t key) const {
  auto it = packed_.find(key);
  if (it == packed_.end()) return std::nullopt;
  return app_id_of(it->second);
}

void PartitionTokens::erase(std::uint64_t key) {
  auto it = packed_.find(key);
  if (it == packed_.end()) return;
  release(it->second);
  packed_.erase(it);
}

std::size_t PartitionTokens::erase_app(std::int64_t app_id) {
  std::size_t n = 0;
  for (auto it = packed_.begin(); it != packed_.end();) {
    if (app_id_of(it->second) == app_id) {
      release(it->second);
      it = packed_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

std::optional<TimePoint> PartitionTokens::earliest_expiry() const {
  std::optional<TimePoint> earliest;
  for (const auto& [key, p] : packed_) {
    const TimePoint e = expires_at_of(p);
    if (!earliest || e < *earliest) earliest = e;
  }
  return earliest;
}

}  // namespace mediax
