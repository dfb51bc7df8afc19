// mediax-bench-gen: writes a psql script that loads N apps and M grants (each with a current
// access token) into a migrated mediax database with COPY, for the benchmarks in bench/.
//
//   mediax-bench-gen --apps 10000 --grants 1000000 --token-url http://127.0.0.1:PORT/token
//                    [--due-from 3600 --due-to 7200] [--valid-after-due 300] [--lifetime 3600]
//                    [--first-id 1] [--seal-key FILE] | psql -v ON_ERROR_STOP=1 ...
//
// Grant g (ids first-id..first-id+M-1) belongs to app ((g - first-id) mod N) + 1 and is due at
// now + due-from + (due-to - due-from) * u, u in [0, 1) spread evenly in a shuffled order; its token
// expires valid-after-due seconds after that and was issued lifetime seconds before it expires
// (or now, if that is earlier).
// Apps use platform "oauth2", client_secret_post, the given token URL (the fake platform in --bulk
// mode accepts every client and refresh token). Triggers (NOTIFY, foreign-key checks) are off
// during the load (session_replication_role = replica, superuser only), so the script is fast.
// With --seal-key (the daemon's security.key_file), client secrets and refresh tokens are sealed
// the way PgStore seals them (crypto::Sealer, associated data crypto::seal_context(column, id); an
// app's client secret also bound to its token endpoint, core/secret_binding.hpp).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "core/secret_binding.hpp"
#include "crypto/sealer.hpp"

namespace {

struct Options {
  std::int64_t apps = 10000;
  std::int64_t grants = 1000000;
  std::int64_t first_id = 1;
  double due_from = 3600;
  double due_to = 7200;
  double valid_after_due = 300;
  double lifetime = 3600;
  std::string token_url = "http://127.0.0.1:9/token";
  std::string seal_key_file;
  bool apps_only_existing = false;  // --no-apps: grants only, for apps loaded before
};

void usage() {
  std::fprintf(stderr,
               "usage: mediax-bench-gen [--apps N] [--grants M] [--first-id ID] [--no-apps]\n"
               "                        [--due-from S] [--due-to S] [--valid-after-due S] [--lifetime S]\n"
               "                        [--token-url URL] [--seal-key FILE]   (script for psql on stdout)\n");
}

bool parse_number(const char* s, double lo, double hi, double& out) {
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  if (end == s || *end != '\0' || !(v >= lo && v <= hi)) return false;
  out = v;
  return true;
}

bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--no-apps") {
      o.apps_only_existing = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    const char* v = argv[++i];
    double d = 0;
    if (a == "--seal-key") {
      o.seal_key_file = v;
    } else if (a == "--token-url") {
      o.token_url = v;
      if (o.token_url.find_first_of("\t\n\\") != std::string::npos) return false;
    } else if (a == "--apps" && parse_number(v, 1, 1e7, d)) {
      o.apps = static_cast<std::int64_t>(d);
    } else if (a == "--grants" && parse_number(v, 0, 1e8, d)) {
      o.grants = static_cast<std::int64_t>(d);
    } else if (a == "--first-id" && parse_number(v, 1, 1e12, d)) {
      o.first_id = static_cast<std::int64_t>(d);
    } else if (a == "--due-from" && parse_number(v, -1e8, 1e8, d)) {
      o.due_from = d;
    } else if (a == "--due-to" && parse_number(v, -1e8, 1e8, d)) {
      o.due_to = d;
    } else if (a == "--valid-after-due" && parse_number(v, -1e8, 1e8, d)) {
      o.valid_after_due = d;
    } else if (a == "--lifetime" && parse_number(v, 1, 1e8, d)) {
      o.lifetime = d;
    } else {
      return false;
    }
  }
  return o.due_to >= o.due_from;
}

// Microseconds since the epoch as a timestamptz literal COPY understands.
std::string timestamp(std::int64_t us) {
  const std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(us % 1000000));
  return buf;
}

// A fixed odd multiplier modulo a power of two is a permutation: spreads due times over ids
// without storing a shuffled array.
std::uint64_t shuffled(std::uint64_t i, std::uint64_t n) {
  std::uint64_t pow2 = 1;
  while (pow2 < n) pow2 <<= 1;
  std::uint64_t x = i;
  do {
    x = (x * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL) & (pow2 - 1);
  } while (x >= n);  // cycle-walking stays a permutation of [0, n)
  return x;
}

// 43 characters of base64url, unique per (kind, id): looks like a real token to the daemon.
std::string token_value(char kind, std::int64_t id) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string s(1, kind);
  s += '_';
  std::uint64_t x = static_cast<std::uint64_t>(id) * 0xD1B54A32D192ED03ULL + static_cast<unsigned char>(kind);
  while (s.size() < 43) {
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 32;
    s += alphabet[x & 63];
  }
  return s + "." + std::to_string(id);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse_args(argc, argv, o)) {
    usage();
    return 2;
  }
  std::unique_ptr<mediax::crypto::Sealer> sealer;
  if (!o.seal_key_file.empty()) {
    try {
      sealer = std::make_unique<mediax::crypto::Sealer>(
          std::vector<mediax::crypto::SealKey>{mediax::crypto::load_seal_key(o.seal_key_file)});
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mediax-bench-gen: %s\n", e.what());
      return 1;
    }
  }
  // The stored form of a secret: sealed for its row when a key is given.
  auto stored = [&sealer](const char* column, std::int64_t id, const std::string& plain) {
    if (!sealer) return plain;
    return sealer->seal(plain, mediax::crypto::seal_context(column, std::to_string(id)));
  };
  // An app's secret is bound to its endpoints too (core/secret_binding.hpp), as PgStore seals it.
  auto stored_app_secret = [&sealer, &o](std::int64_t id, const std::string& plain) {
    if (!sealer) return plain;
    mediax::App app;
    app.id = id;
    app.platform = "oauth2";
    app.endpoints.token_url = o.token_url;
    return sealer->seal_bound(plain, mediax::crypto::seal_context("apps.client_secret", std::to_string(id)),
                              mediax::secret_binding(app));
  };
  std::timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  const std::int64_t now_us = static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;

  std::FILE* out = stdout;
  static char buffer[1 << 20];
  std::setvbuf(out, buffer, _IOFBF, sizeof buffer);
  std::fprintf(out, "\\set ON_ERROR_STOP 1\nBEGIN;\nSET LOCAL session_replication_role = replica;\n");
  if (!o.apps_only_existing) {
    std::fprintf(
        out,
        "COPY mediax.apps (id, name, platform, client_id, client_secret, token_url, token_auth_method, token_usage)"
        " FROM stdin;\n");
    for (std::int64_t a = 1; a <= o.apps; ++a) {
      std::fprintf(
          out,
          "%lld\tbench-app-%lld\toauth2\tbench-client-%lld\t%s\t%s\tclient_secret_post\theader:Authorization:Bearer\n",
          static_cast<long long>(a), static_cast<long long>(a), static_cast<long long>(a),
          stored_app_secret(a, token_value('s', a)).c_str(), o.token_url.c_str());
    }
    std::fprintf(out, "\\.\n");
  }
  const auto n = static_cast<std::uint64_t>(o.grants);
  std::fprintf(out, "COPY mediax.grants (id, app_id, account_id, refresh_token, next_refresh_at) FROM stdin;\n");
  for (std::uint64_t i = 0; i < n; ++i) {
    const auto id = o.first_id + static_cast<std::int64_t>(i);
    const double u = n > 1 ? static_cast<double>(shuffled(i, n)) / static_cast<double>(n) : 0.0;
    const auto due = now_us + static_cast<std::int64_t>((o.due_from + (o.due_to - o.due_from) * u) * 1e6);
    std::fprintf(out, "%lld\t%lld\tbench-account-%lld\t%s\t%s\n", static_cast<long long>(id),
                 static_cast<long long>(static_cast<std::int64_t>(i) % o.apps + 1), static_cast<long long>(id),
                 stored("grants.refresh_token", id, token_value('r', id)).c_str(), timestamp(due).c_str());
  }
  std::fprintf(out, "\\.\n");
  std::fprintf(
      out, "COPY mediax.tokens (app_id, grant_id, access_token, token_type, expires_at, refreshed_at) FROM stdin;\n");
  for (std::uint64_t i = 0; i < n; ++i) {
    const auto id = o.first_id + static_cast<std::int64_t>(i);
    const double u = n > 1 ? static_cast<double>(shuffled(i, n)) / static_cast<double>(n) : 0.0;
    const auto due = now_us + static_cast<std::int64_t>((o.due_from + (o.due_to - o.due_from) * u) * 1e6);
    const auto expires = due + static_cast<std::int64_t>(o.valid_after_due * 1e6);
    // Never issued in the future: a refreshed_at ahead of now would make every sweep of the
    // daemons (refreshed since the last sweep) re-read the token, which no real row does.
    const auto issued = std::min(now_us, expires - static_cast<std::int64_t>(o.lifetime * 1e6));
    std::fprintf(out, "%lld\t%lld\t%s\tBearer\t%s\t%s\n",
                 static_cast<long long>(static_cast<std::int64_t>(i) % o.apps + 1), static_cast<long long>(id),
                 token_value('a', id).c_str(), timestamp(expires).c_str(), timestamp(issued).c_str());
  }
  std::fprintf(out, "\\.\n");
  std::fprintf(out,
               "SELECT setval('mediax.apps_id_seq', GREATEST((SELECT max(id) FROM mediax.apps), 1));\n"
               "SELECT setval('mediax.grants_id_seq', GREATEST((SELECT max(id) FROM mediax.grants), 1));\n"
               "SELECT setval('mediax.tokens_id_seq', GREATEST((SELECT max(id) FROM mediax.tokens), 1));\n"
               "COMMIT;\nANALYZE mediax.apps;\nANALYZE mediax.grants;\nANALYZE mediax.tokens;\n");
  if (std::fflush(out) != 0) {
    std::perror("mediax-bench-gen: write");
    return 1;
  }
  return 0;
}
