#include "support/self_signed_cert.hpp"

#include <chrono>
#include <vector>

#include "support/process.hpp"

namespace mediax::test {

SelfSignedCert make_self_signed_cert(const std::string& dir, const std::string& subject_cn, const std::string& san) {
  SelfSignedCert out{dir + "/cert.pem", dir + "/key.pem", ""};
  std::vector<std::string> args = {"req",  "-x509",  "-newkey", "rsa:2048", "-nodes", "-keyout",          out.key,
                                   "-out", out.cert, "-days",   "2",        "-subj",  "/CN=" + subject_cn};
  if (!san.empty()) {
    args.push_back("-addext");
    args.push_back("subjectAltName=" + san);
  }
  ProcessOptions opts;
  opts.log_dir = dir;
  opts.name = "openssl";
  const auto gen = run_process("/usr/bin/openssl", args, opts, std::chrono::seconds(60));
  if (gen.exit_code != 0) out.error = "openssl req failed: " + gen.err;
  return out;
}

}  // namespace mediax::test
