// Private helpers of the PostgreSQL store: value conversions between C++ and SQL parameters,
// error translation and a redacted description of a connection string.
//
// Conventions used by every query in this folder:
//   - time goes in as unix seconds with microseconds ("1700000000.123456") through
//     to_timestamp($n) and comes out as integer microseconds (EPOCH_US below), so values
//     round-trip exactly;
//   - text[] goes in as a JSON array through ARRAY(SELECT jsonb_array_elements_text($n::jsonb))
//     and comes out through array_to_json(col)::text;
//   - jsonb goes in as text through $n::jsonb and comes out as col::text.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "core/types.hpp"

namespace mediax::pg {

// SQL fragment: the column as integer microseconds since the epoch (NULL stays NULL).
#define MEDIAX_EPOCH_US(col) "(extract(epoch from " col ") * 1000000)::int8"
// The same through float8 (date_part): ~3x cheaper than extract's numeric arithmetic, which is
// most of the server's time when a million rows load at start. Exact to the microsecond for
// every time up to year 2100 (the float8 epoch has < 0.5 us error there and the int8 cast
// rounds): a check over 2,000,000 random microsecond times of 1970-2100 found no difference.
#define MEDIAX_EPOCH_US_F8(col) "(date_part('epoch', " col ") * 1000000)::int8"
// SQL fragment: a text[] parameter given as a JSON array.
#define MEDIAX_TEXT_ARRAY(param) "ARRAY(SELECT jsonb_array_elements_text(" param "::jsonb))"

// libpqxx 6.4 as packaged has no std::optional support (PQXX_HAVE_OPTIONAL is unset), so
// NULLs travel as a null const char* parameter and are read through field::is_null().
inline const char* nullable(const std::optional<std::string>& v) { return v ? v->c_str() : nullptr; }
inline std::optional<std::string> id_param(std::optional<std::int64_t> v) {
  if (!v) return std::nullopt;
  return std::to_string(*v);
}
template <class T>
std::optional<T> opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

// Runs `sql` as the prepared statement `name` of the transaction's connection. For statements run
// many times a second on every pooled connection (the batches of scheduled refreshes): PostgreSQL
// parses and plans them once per connection instead of at every call (bench/RESULTS.md, catch-up).
// libpqxx 6.4 registers the definition with the server on first use, and defining the same name
// with the same text again is a no-op; a new connection (after a reconnect) prepares it anew.
// Not through PgBouncer in transaction pooling mode, where the daemon does not run (README).
template <class... Args>
pqxx::result exec_prepared(pqxx::transaction_base& tx, const char* name, const std::string& sql, Args&&... args) {
  tx.conn().prepare(name, sql);
  return tx.exec_prepared(name, std::forward<Args>(args)...);
}

std::string time_param(TimePoint t);
std::optional<std::string> time_param(const std::optional<TimePoint>& t);
TimePoint from_epoch_us(std::int64_t us);

std::string text_array_param(const std::vector<std::string>& v);
// Parses array_to_json(col)::text; a NULL column gives an empty vector.
std::vector<std::string> parse_text_array(const std::optional<std::string>& json_text);
// Parses a jsonb column read as text; NULL or garbage gives an empty object.
nlohmann::json parse_json_object(const std::optional<std::string>& json_text);

// The connection string or URI with any password removed, for error messages.
std::string describe_db_url(const std::string& url);

// Runs query through a cursor in tx and hands its rows to fn in results of up to batch_rows:
// a big result never sits in memory whole (libpq would hold every row of an exec at once).
// The cursor is planned for all of its rows, as an exec is.
void fetch_in_batches(pqxx::transaction_base& tx, const std::string& cursor, const std::string& query,
                      std::size_t batch_rows, const std::function<void(const pqxx::result&)>& fn);

// An int[] literal ("{1,2,3}"): integers only, nothing to quote.
std::string int_array_literal(const std::vector<int>& values);

// SQL fragment restricting `column` (an app or grant id) to partitions (core/partitions.hpp):
// " AND column % 256 = ANY('{...}'::int[])"; "" when only is null (every partition).
std::string partition_sql(const std::string& column, const std::vector<int>* only);

// The first line of a server error ("ERROR:  ..."): the DETAIL lines may quote row values,
// which can be secrets, so only the primary message is ever shown.
std::string primary_message(const std::string& what);

// Call inside a catch block: rethrows the current exception as StoreError or DuplicateError
// (already translated errors pass through unchanged).
[[noreturn]] void rethrow_translated(const std::string& context);

}  // namespace mediax::pg
