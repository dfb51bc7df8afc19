// The statements of a scheduled grant refresh, as PgStore runs them for a batch of grants
// (pg_store_batch.cpp): the lease with the reads that go with it, the result, the event. They live
// here, in one place, because the benchmark replays them too: mediax-bench-sql (bench/refresh_sql.cpp)
// prints them as the pgbench script that measures the database's own limit (bench/run.sh catchup).
// Every parameter is an array with one element per grant of the batch.
#pragma once

#include <string>

namespace mediax::pg::refresh_sql {

// Takes the leases and returns the leased grants: $1 ids int8[], $2 owners text[], $3 now_s,
// $4 until_s, $5 due_s float8[] (epoch seconds; due_s NULL: due or not).
extern const char* const kLease;
// The leased grants' apps, with their secrets: $1 app ids int8[].
std::string apps();
// The leased grants' current tokens: $1 grant ids int8[].
std::string tokens();
// Stores the new tokens and releases the leases of the grants this owner still holds: $1..$14,
// named by the unnest's column list.
extern const char* const kComplete;
// The refreshes' events: $1 app ids int8[], $2 grant ids int8[], $3 kinds text[], $4 details
// text[] (JSON objects), $5 times float8[] (NULL: now()).
extern const char* const kEvents;

}  // namespace mediax::pg::refresh_sql
