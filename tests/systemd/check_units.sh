#!/bin/sh
# Checks the systemd files under systemd/ and what `cmake --install` puts where:
#   1. `systemd-analyze verify` accepts mediaxd.service (ExecStart pointed at the built binary,
#      which verify requires to exist);
#   2. `systemd-analyze security --offline` rates it "OK" or better (exposure below 5.0);
#   3. the example config validates with `mediaxd --check-config`;
#   4. `DESTDIR=… cmake --install BUILD` installs the binary, migrations, unit,
#      sysusers file and example config in the usual places.
# Usage: check_units.sh SOURCE_DIR BUILD_DIR MEDIAXD_BIN
set -eu

src=$1
build=$2
bin=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

unit="$tmp/mediaxd.service"
grep -q '^ExecStart=/usr/bin/mediaxd ' "$src/systemd/mediaxd.service" || fail "ExecStart is not /usr/bin/mediaxd"
sed "s|^ExecStart=/usr/bin/mediaxd |ExecStart=$bin |" "$src/systemd/mediaxd.service" > "$unit"

# 1. verify: any diagnostic on stderr counts as a failure, not only the exit code.
if ! systemd-analyze verify --man=no "$unit" 2> "$tmp/verify.err"; then
  cat "$tmp/verify.err" >&2; fail "systemd-analyze verify"
fi
if [ -s "$tmp/verify.err" ]; then cat "$tmp/verify.err" >&2; fail "systemd-analyze verify printed warnings"; fi
echo "ok: systemd-analyze verify"

# 2. security: --threshold is on the 0..100 scale (exposure × 10); OK means below 5.0.
out=$(systemd-analyze security --offline=true --threshold=49 "$unit" 2>&1) || {
  echo "$out" | tail -5 >&2; fail "systemd-analyze security: exposure worse than OK"; }
level=$(echo "$out" | grep 'Overall exposure level' | tail -1)
echo "$level" | grep -Eq ' (OK|SAFE|PERFECT) ' || fail "unexpected rating: $level"
echo "ok: $level"

# The key file given to LoadCredential= is the one the daemon reads from $CREDENTIALS_DIRECTORY.
grep -q '^LoadCredential=mediax.key:/etc/mediax/mediax.key$' "$unit" || fail "LoadCredential of mediax.key missing"
grep -q '^Type=notify$' "$unit" || fail "Type=notify missing"
grep -q '^WatchdogSec=' "$unit" || fail "WatchdogSec missing"

# LimitNOFILE= fits both listeners' connection caps, the database pool, the refresh workers and
# the margin of runtime/open_files.hpp (256), at the defaults the daemon prints.
nofile=$(sed -n 's/^LimitNOFILE=\([0-9][0-9]*\)$/\1/p' "$unit")
[ -n "$nofile" ] || fail "LimitNOFILE= missing (or not a single number)"
defaults=$("$bin" --print-default-config) || fail "mediaxd --print-default-config"
default_of() { echo "$defaults" | sed -n "s/^$1 = \([0-9][0-9]*\)$/\1/p" | head -1; }
conns=$(default_of max_connections); pool=$(default_of pool_size); workers=$(default_of max_concurrent)
[ -n "$conns" ] && [ -n "$pool" ] && [ -n "$workers" ] || fail "no max_connections/pool_size/max_concurrent in --print-default-config"
need=$((2 * conns + pool + workers + 256))
[ "$nofile" -ge "$need" ] || fail "LimitNOFILE=$nofile < 2 x $conns + $pool + $workers + 256 = $need"
echo "ok: LimitNOFILE=$nofile >= $need (2 x admin.max_connections + database.pool_size + refresh.max_concurrent + 256)"

# No core files of a process holding keys; a memory ceiling, in bytes or with a K/M/G/T suffix,
# of at least 512M (a million grants take about 300 MB resident).
grep -q '^LimitCORE=0$' "$unit" || fail "LimitCORE=0 missing"
mem=$(sed -n 's/^MemoryMax=\([0-9][0-9]*[KMGT]\{0,1\}\)$/\1/p' "$unit")
[ -n "$mem" ] || fail "MemoryMax= missing (or not a size)"
case $mem in
  *K) bytes=$(( ${mem%K} * 1024 ));; *M) bytes=$(( ${mem%M} * 1048576 ));;
  *G) bytes=$(( ${mem%G} * 1073741824 ));; *T) bytes=$(( ${mem%T} * 1099511627776 ));; *) bytes=$mem;;
esac
[ "$bytes" -ge 536870912 ] || fail "MemoryMax=$mem is below 512M"
echo "ok: LimitCORE=0, MemoryMax=$mem"
# The optional credentials the README names are in the unit, as examples.
grep -q '^#LoadCredential=db-password:/etc/mediax/db-password$' "$unit" || fail "db-password credential example missing"
grep -q '^#LoadCredential=admin-tls.key:/etc/mediax/admin-tls.key$' "$unit" || fail "admin-tls.key credential example missing"

# sysusers: one 'u mediax' line, matching User=.
grep -Eq '^u[[:space:]]+mediax[[:space:]]' "$src/systemd/mediaxd.sysusers" || fail "sysusers file does not create mediax"
grep -q '^User=mediax$' "$unit" || fail "User=mediax missing"

# 3. example config
"$bin" --check-config --config "$src/systemd/mediaxd.toml" > /dev/null || fail "systemd/mediaxd.toml does not validate"
echo "ok: example config validates"

# 4. install layout, under the prefix the build was configured with (GNUInstallDirs puts the
#    configuration in /etc when the prefix is /usr, else in PREFIX/etc).
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
[ -n "$prefix" ] || fail "no CMAKE_INSTALL_PREFIX in $build/CMakeCache.txt"
if [ "$prefix" = /usr ]; then sysconf=/etc; else sysconf=$prefix/etc; fi
DESTDIR="$tmp/root" cmake --install "$build" > "$tmp/install.log" || { cat "$tmp/install.log" >&2; fail "cmake --install"; }
for f in "$prefix/bin/mediaxd" "$prefix/lib/systemd/system/mediaxd.service" "$prefix/lib/sysusers.d/mediax.conf" \
         "$sysconf/mediax/mediaxd.toml" "$prefix/share/mediax/migrations/0001_init.sql"; do
  [ -f "$tmp/root$f" ] || fail "cmake --install did not install $f"
done
[ -x "$tmp/root$prefix/bin/mediaxd" ] || fail "$prefix/bin/mediaxd is not executable"
cmp -s "$src/systemd/mediaxd.service" "$tmp/root$prefix/lib/systemd/system/mediaxd.service" || fail "installed unit differs"
cmp -s "$src/systemd/mediaxd.toml" "$tmp/root$sysconf/mediax/mediaxd.toml" || fail "installed config differs"
echo "ok: cmake --install layout under $prefix (config in $sysconf/mediax)"
