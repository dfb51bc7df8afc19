// mediax-bench-sql: prints the database work of one scheduled grant refresh as a pgbench script,
// with the daemon's own statements (daemon/store/refresh_sql.hpp) and each array parameter made a
// one-element array of pgbench variables: :id (the grant) and :app (its app), which the caller
// sets with \set. bench/run.sh catchup replays it with pgbench to measure the database's limit.
// The transactions are PgStore's: lease and reads, then the result, then the event.
// With --batch N each statement takes N grants (:id .. :id+N-1), as the daemon's batches do
// (store/batcher.hpp): what the database spends per refresh at the batch sizes the daemon forms.
#include <cstdlib>
#include <iostream>
#include <regex>
#include <string>
#include <vector>

#include "store/refresh_sql.hpp"

namespace {

// $1..$n of `sql` replaced by values[0..n-1].
std::string bind(const std::string& sql, const std::vector<std::string>& values) {
  static const std::regex param(R"(\$(\d+))");
  std::string out;
  auto last = sql.cbegin();
  for (std::sregex_iterator it(sql.begin(), sql.end(), param), end; it != end; ++it) {
    out.append(last, sql.cbegin() + it->position());
    out += values.at(std::stoul((*it)[1]) - 1);
    last = sql.cbegin() + it->position() + it->length();
  }
  out.append(last, sql.cend());
  return out + ";\n";
}

const std::string kNow = "extract(epoch from now())";

// Every array parameter for a batch of `n` grants with consecutive ids from :id (the caller sets
// :napps, the number of apps, as the generator spreads grants over them): `n` = 1 gives the
// one-element arrays of a batch of one.
struct Batch {
  int n = 1;
  std::string ids() const {
    return n == 1 ? "ARRAY[:id]"
                  : "(SELECT array_agg(g::int8) FROM generate_series(:id, :id + " + std::to_string(n - 1) + ") g)";
  }
  std::string apps() const {
    return n == 1 ? "ARRAY[:app]"
                  : "(SELECT array_agg(DISTINCT ((g - 1) % :napps) + 1) FROM generate_series(:id, :id + " +
                        std::to_string(n - 1) + ") g)";
  }
  // `n` copies of a value (an SQL expression evaluated per element: random() differs each time).
  std::string each(const std::string& value, const std::string& type) const {
    if (n == 1) return "ARRAY[" + value + "]";
    return "(SELECT array_agg((" + value + ")::" + type + ") FROM generate_series(1, " + std::to_string(n) + "))";
  }
};

bool parse_args(int argc, char** argv, Batch& b) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--batch" && i + 1 < argc) {
      char* end = nullptr;
      const long v = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 1 || v > 4096) return false;
      b.n = static_cast<int>(v);
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mediax::pg;
  Batch b;
  if (!parse_args(argc, argv, b)) {
    std::cerr << "usage: mediax-bench-sql [--batch N]   (N grants per statement, 1..4096; default 1)\n";
    return 2;
  }
  const std::string id = b.ids(), app = b.apps();
  const std::string no_time = b.each("NULL", "float8"), no_text = b.each("NULL", "text");
  std::cout << "BEGIN;\n"
            // due_s NULL: the grants pgbench takes need not be due.
            << bind(refresh_sql::kLease, {id, b.each("'pgbench'", "text"), b.each(kNow, "float8"),
                                          b.each(kNow + " + 60", "float8"), no_time})
            << bind(refresh_sql::apps(), {app}) << bind(refresh_sql::tokens(), {id}) << "COMMIT;\n"
            << "BEGIN;\n"
            // A refresh that keeps its refresh token (the common case) and gets a new access token.
            << bind(refresh_sql::kComplete,
                    {id, b.each("'pgbench'", "text"), no_text, no_time, b.each("''", "text"),
                     b.each(kNow + " + 2880", "float8"), b.each("'{}'", "text"),
                     b.each("md5(random()::text) || md5(random()::text)", "text"), b.each("'Bearer'", "text"),
                     b.each("'[]'", "text"), b.each(kNow + " + 3600", "float8"), no_time, no_time, no_text})
            << "COMMIT;\n"
            << bind(refresh_sql::kEvents,
                    {b.n == 1 ? app
                              : "(SELECT array_agg(((g - 1) % :napps) + 1) FROM "
                                "generate_series(:id, :id + " +
                                    std::to_string(b.n - 1) + ") g)",
                     id, b.each("'refreshed'", "text"), b.each("'{\"rotated\": false}'", "text"), no_time});
  return std::cout ? 0 : 1;
}
