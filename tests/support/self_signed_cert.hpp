// A throwaway certificate for the tests' TLS servers, made by the openssl command-line tool.
#pragma once

#include <string>

namespace mediax::test {

struct SelfSignedCert {
  std::string cert;   // dir/cert.pem
  std::string key;    // dir/key.pem
  std::string error;  // why openssl failed; empty when it did not
};

// subject_cn: the certificate's CN; san: a subjectAltName ("IP:127.0.0.1", "DNS:x.invalid"), or
// empty for none. Valid for two days.
SelfSignedCert make_self_signed_cert(const std::string& dir, const std::string& subject_cn, const std::string& san);

}  // namespace mediax::test
