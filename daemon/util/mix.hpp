// splitmix64's finaliser: spreads integers that are often sequential (ids) over all 64 bits, for
// hash tables and for orders that should look random but be repeatable.
#pragma once

#include <cstdint>

namespace mediax::util {

constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace mediax::util
