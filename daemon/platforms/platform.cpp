#include "platforms/platform.hpp"

#include "crypto/crypto.hpp"

namespace mediax {

std::string Platform::pkce_challenge(const App& /*app*/, const std::string& verifier) const {
  return crypto::pkce_challenge_s256(verifier);
}

}  // namespace mediax
