#!/usr/bin/env python3
"""mediaxd benchmarks (issue 7). Run through bench/run.sh; see bench/README.md.

Every benchmark starts its own throwaway PostgreSQL (initdb + pg_ctl in a temp dir), the fake
OAuth 2.0 platform (tests/fakes, --bulk) and mediaxd, measures, stops everything and writes its
section of bench/RESULTS.md (not with --smoke, which checks the scripts and counts only).
Python standard library only.
"""
import argparse
import json
import os
import pwd
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import http.client

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("MEDIAX_BUILD_DIR", os.path.join(ROOT, "build"))
BIN = os.path.join(BUILD, "bin")
RESULTS = os.path.join(ROOT, "bench", "RESULTS.md")
PG_PORT = 5432  # names the socket file only; no TCP listener


class BenchError(Exception):
    pass


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt(x, digits=1):
    return f"{x:,.{digits}f}"


# ---------------------------------------------------------------------------------------------
# Machine and load


def cpu_times():
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts), idle


class LoadMeter:
    """Whole-machine CPU use between start() and stop(): how busy the (shared) machine was."""

    def start(self):
        self.t0 = cpu_times()
        self.load0 = os.getloadavg()[0]
        return self

    def stop(self):
        total1, idle1 = cpu_times()
        total = total1 - self.t0[0]
        idle = idle1 - self.t0[1]
        self.busy = 100.0 * (total - idle) / total if total else 0.0
        self.load1 = os.getloadavg()[0]
        return self

    def text(self):
        return f"machine CPU busy {self.busy:.0f}% of {os.cpu_count()} cores, load average {self.load0:.2f} -> {self.load1:.2f}"


def machine_info():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    free = subprocess.run(["free", "-m"], capture_output=True, text=True).stdout.strip()
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True).stdout.strip()
        if dirty:
            commit += " + uncommitted changes"
    except OSError:
        commit = "?"
    return {
        "nproc": os.cpu_count(),
        "model": model,
        "free": free,
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "commit": commit,
        "kernel": os.uname().release,
    }


# ---------------------------------------------------------------------------------------------
# PostgreSQL


def pg_bindir():
    env = os.environ.get("MEDIAX_PG_BIN")
    if env:
        return env
    best = None
    for d in os.listdir("/usr/lib/postgresql"):
        if os.path.exists(f"/usr/lib/postgresql/{d}/bin/initdb") and d.isdigit():
            if best is None or int(d) > int(best):
                best = d
    if best is None:
        raise BenchError("no PostgreSQL under /usr/lib/postgresql (set MEDIAX_PG_BIN)")
    return f"/usr/lib/postgresql/{best}/bin"


class Postgres:
    """A throwaway cluster in a temp dir; as root its binaries run as the postgres user."""

    def __init__(self, fsync=True, shared_buffers="256MB"):
        self.bin = pg_bindir()
        self.dir = tempfile.mkdtemp(prefix="mediax-bench-pg-", dir="/tmp")
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "socket")
        os.makedirs(self.sock)
        self.as_root = os.geteuid() == 0
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            for d in (self.dir, self.sock):
                os.chown(d, pw.pw_uid, pw.pw_gid)
        self.fsync = fsync
        self._run([f"{self.bin}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale",
                   "--no-sync"])
        conf = (
            "\n# mediax bench cluster\n"
            "listen_addresses = ''\n"
            f"unix_socket_directories = '{self.sock}'\n"
            f"port = {PG_PORT}\n"
            f"fsync = {'on' if fsync else 'off'}\n"
            "synchronous_commit = on\n"
            "max_connections = 300\n"
            f"shared_buffers = {shared_buffers}\n"
            "max_wal_size = 4GB\n"
            "log_min_messages = warning\n")
        subprocess.run(self._wrap(["sh", "-c", f"cat >> {self.data}/postgresql.conf"]), input=conf, text=True, check=True)
        self._run([f"{self.bin}/pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "postgres.log"), "-w", "-t", "60",
                   "start"])
        self.running = True
        self.psql("postgres", "CREATE DATABASE mediax TEMPLATE template0")
        self.url = f"host={self.sock} port={PG_PORT} user=postgres dbname=mediax"

    def _wrap(self, argv):
        return (["runuser", "-u", "postgres", "--"] + argv) if self.as_root else argv

    def _run(self, argv):
        r = subprocess.run(self._wrap(argv), capture_output=True, text=True, cwd=self.dir)
        if r.returncode != 0:
            raise BenchError(f"{os.path.basename(argv[0])} failed: {r.stdout}{r.stderr}")

    def conn_args(self, db="mediax"):
        return ["-h", self.sock, "-p", str(PG_PORT), "-U", "postgres", "-d", db]

    def psql(self, db, sql, stdin=None):
        """Runs sql (or stdin as a script) and returns stdout (unaligned, tuples only)."""
        argv = ["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1"] + self.conn_args(db)
        if sql is not None:
            argv += ["-c", sql]
        r = subprocess.run(argv, capture_output=True, text=True, stdin=stdin)
        if r.returncode != 0:
            raise BenchError(f"psql failed: {r.stderr.strip()[:2000]}")
        return r.stdout.strip()

    def scalar(self, sql):
        return self.psql("mediax", sql)

    def pgbench(self, script_text, clients, seconds, threads=2, transactions=None):
        """tps of script_text over seconds; with transactions, each client runs that many instead
        (however long it takes: the smoke runs, which check the script, not the speed)."""
        path = os.path.join(tempfile.gettempdir(), f"mediax-bench-{os.getpid()}-{random.randrange(1 << 30)}.sql")
        with open(path, "w") as f:
            f.write(script_text)
        try:
            length = ["-t", str(transactions)] if transactions else ["-T", str(seconds)]
            argv = (["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(threads, clients))] + length +
                    ["-f", path] + self.conn_args()[:-2] + ["mediax"])
            r = subprocess.run(argv, capture_output=True, text=True)
            if r.returncode != 0:
                raise BenchError(f"pgbench failed: {r.stderr.strip()[-2000:]}")
            m = re.search(r"tps = ([0-9.]+) \((?:without initial connection time|excluding connections establishing)\)", r.stdout)
            if not m:
                raise BenchError(f"pgbench printed no tps: {r.stdout[-1000:]}")
            failed = re.search(r"number of failed transactions: (\d+)", r.stdout)
            if failed and int(failed.group(1)) > 0:
                raise BenchError(f"pgbench: {failed.group(1)} failed transactions")
            return float(m.group(1))
        finally:
            os.unlink(path)

    def stop(self):
        if self.running:
            subprocess.run(self._wrap([f"{self.bin}/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"]),
                           capture_output=True)
            self.running = False
        if not os.environ.get("MEDIAX_KEEP_PG"):
            shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Processes


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary(name):
    path = os.path.join(BIN, name)
    if not os.access(path, os.X_OK):
        raise BenchError(f"{path} is missing: build it (cmake --build {BUILD} --target {name})")
    return path


class Fake:
    """mediax-fake-oauth2 --bulk: any client and refresh token, fixed latency."""

    def __init__(self, workdir, latency_ms=20, expires_in=3600, threads=256):
        self.log_path = os.path.join(workdir, "fake.log")
        self.proc = subprocess.Popen(
            [binary("mediax-fake-oauth2"), "--port", "0", "--bulk", "--latency-ms", str(latency_ms), "--expires-in",
             str(expires_in), "--threads", str(threads)],
            stdout=subprocess.PIPE, stderr=open(self.log_path, "w"), text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"LISTENING (\d+)", line)
        if not m:
            raise BenchError(f"fake platform did not start: {line!r}")
        self.port = int(m.group(1))
        self.token_url = f"http://127.0.0.1:{self.port}/token"

    def stats(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_fake/stats", timeout=30) as r:
            return json.load(r)

    def stop(self):
        stop_process(self.proc)


def stop_process(proc, timeout=30):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


class Daemon:
    """mediaxd with its own config, key file and admin API key; READY from sd_notify."""

    def __init__(self, workdir, pg, settings=None):
        self.workdir = workdir
        self.port = free_port()
        self.token_port = free_port()  # admin.token_listen, the event-driven token-read listener
        self.key_file = os.path.join(workdir, "bench.key")
        if not os.path.exists(self.key_file):
            with open(self.key_file, "w") as f:
                f.write(os.urandom(32).hex() + "\n")
            os.chmod(self.key_file, 0o600)
        self.config = os.path.join(workdir, "mediaxd.toml")
        # --set section.key=value overrides (TOML values as written, e.g. refresh.max_concurrent=128).
        tables = {"database": {"url": f'"{pg.url}"'},
                  "admin": {"listen": f'"127.0.0.1:{self.port}"', "public_url": f'"http://127.0.0.1:{self.port}"',
                            "token_listen": f'"127.0.0.1:{self.token_port}"'},
                  "security": {"key_file": f'"{self.key_file}"'},
                  "log": {"level": '"info"'}}
        for item in settings or []:
            key, _, value = item.partition("=")
            section, _, name = key.partition(".")
            if not section or not name or not value:
                raise BenchError(f"--set wants section.key=value, got {item!r}")
            tables.setdefault(section, {})[name] = value
        listen = tables["admin"].get("token_listen", '""').strip('"')
        self.token_port = int(listen.rpartition(":")[2]) if listen else None
        with open(self.config, "w") as f:
            for section, kv in tables.items():
                f.write(f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in kv.items()) + "\n")
        self.exe = binary("mediaxd")
        self.proc = None
        self.api_key = None

    def command(self, *args):
        r = subprocess.run([self.exe, *args, "--config", self.config], capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"mediaxd {' '.join(args)} failed: {r.stderr.strip()[-2000:]}")
        return r.stdout

    def migrate(self):
        self.command("migrate")

    def create_api_key(self):
        out = self.command("create-api-key", "--name", f"bench-{random.randrange(1 << 30)}", "--role", "admin")
        m = re.search(r"(mxk_[A-Za-z0-9_-]+)", out)
        if not m:
            raise BenchError("create-api-key printed no key")
        self.api_key = m.group(1)
        return self.api_key

    def start(self, ready_timeout=120):
        """Starts mediaxd; returns seconds from exec to READY=1 (schedule and tokens loaded)."""
        sock_path = os.path.join(self.workdir, f"notify-{random.randrange(1 << 30)}.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(sock_path)
        notify.settimeout(0.5)
        env = dict(os.environ, NOTIFY_SOCKET=sock_path)
        self.log_path = os.path.join(self.workdir, "mediaxd.log")
        t0 = time.monotonic()
        self.proc = subprocess.Popen([self.exe, "--config", self.config], env=env, stdout=open(self.log_path, "a"),
                                     stderr=subprocess.STDOUT)
        try:
            while True:
                if self.proc.poll() is not None:
                    raise BenchError(f"mediaxd exited ({self.proc.returncode}) before READY; see {self.log_path}:\n"
                                     + self.log_tail())
                if time.monotonic() - t0 > ready_timeout:
                    raise BenchError(f"mediaxd not READY after {ready_timeout} s")
                try:
                    msg = notify.recv(4096).decode(errors="replace")
                except socket.timeout:
                    continue
                if "READY=1" in msg.split("\n"):
                    self.ready_at = time.monotonic()
                    return self.ready_at - t0
        finally:
            notify.close()
            os.unlink(sock_path)

    def log_tail(self, n=30):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    @property
    def pid(self):
        return self.proc.pid

    def get(self, path, timeout=10):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                     headers={"Authorization": f"Bearer {self.api_key}"} if self.api_key else {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metrics(self):
        status, body = self.get("/metrics")
        if status != 200:
            raise BenchError(f"/metrics answered {status}")
        return body


def histogram(metrics_text, name):
    """Cumulative buckets [(le, count)], sum and count of a Prometheus histogram (labels summed)."""
    buckets = {}
    total = 0.0
    count = 0.0
    for line in metrics_text.splitlines():
        if line.startswith(name + "_bucket"):
            le = re.search(r'le="([^"]+)"', line).group(1)
            buckets[le] = buckets.get(le, 0.0) + float(line.rsplit(" ", 1)[1])
        elif line.startswith(name + "_sum"):
            total += float(line.rsplit(" ", 1)[1])
        elif line.startswith(name + "_count"):
            count += float(line.rsplit(" ", 1)[1])
    order = sorted(buckets.items(), key=lambda kv: float("inf") if kv[0] == "+Inf" else float(kv[0]))
    return order, total, count


def histogram_delta(after, before):
    b = dict(before[0])
    return [(le, c - b.get(le, 0.0)) for le, c in after[0]], after[1] - before[1], after[2] - before[2]


def histogram_quantile(h, q):
    """Upper bound of the bucket holding quantile q (what Prometheus' histogram_quantile bounds)."""
    buckets, _, count = h
    if count <= 0:
        return float("nan")
    for le, c in buckets:
        if c >= q * count:
            return float("inf") if le == "+Inf" else float(le)
    return float("inf")


def histogram_table(h, unit="s"):
    buckets, total, count = h
    rows = ["| ≤ bound | count | cumulative % |", "|---|---|---|"]
    for le, c in buckets:
        rows.append(f"| {le} {unit if le != '+Inf' else ''} | {int(c):,} | {100.0 * c / count if count else 0:.1f} |")
    rows.append(f"\nobservations {int(count):,}, mean {total / count if count else float('nan'):.3f} {unit}")
    return "\n".join(rows)


def generate(pg, daemon, apps, grants, token_url, due_from, due_to, valid_after_due, lifetime, first_id=1, no_apps=False):
    """Loads apps and grants with mediax-bench-gen | psql; returns seconds taken."""
    argv = [binary("mediax-bench-gen"), "--apps", str(apps), "--grants", str(grants), "--first-id", str(first_id),
            "--due-from", str(due_from), "--due-to", str(due_to), "--valid-after-due", str(valid_after_due),
            "--lifetime", str(lifetime), "--token-url", token_url, "--seal-key", daemon.key_file]
    if no_apps:
        argv.append("--no-apps")
    t0 = time.monotonic()
    gen = subprocess.Popen(argv, stdout=subprocess.PIPE)
    try:
        pg.psql("mediax", None, stdin=gen.stdout)
    finally:
        gen.stdout.close()
        rc = gen.wait()
    if rc != 0:
        raise BenchError(f"mediax-bench-gen failed ({rc})")
    took = time.monotonic() - t0
    n = int(pg.scalar("SELECT count(*) FROM mediax.grants"))
    if n < grants:
        raise BenchError(f"generator loaded {n} grants, expected {grants}")
    return took


class Env:
    """A cluster, a migrated database and a daemon config in one temp dir."""

    def __init__(self, args):
        self.workdir = tempfile.mkdtemp(prefix="mediax-bench-")
        self.pg = Postgres(fsync=not args.fsync_off)
        self.daemon = Daemon(self.workdir, self.pg, settings=args.set)
        self.daemon.migrate()
        self.daemon.create_api_key()
        self.fake = None

    def close(self):
        if self.daemon:
            self.daemon.stop()
        if self.fake:
            self.fake.stop()
        self.pg.stop()
        if not os.environ.get("MEDIAX_KEEP_PG"):
            shutil.rmtree(self.workdir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Benchmarks. Each returns (markdown section, ok) where ok says whether the counts were right.


def bench_scale(args, env=None):
    grants = args.grants or (2000 if args.smoke else 1_000_000)
    apps = args.apps or (20 if args.smoke else 10_000)
    runs = args.runs
    idle_s = args.idle_seconds or (3 if args.smoke else 60)
    own = env is None
    env = env or Env(args)
    try:
        d = env.daemon
        load = LoadMeter().start()
        gen_s = generate(env.pg, d, apps, grants, "http://127.0.0.1:9/token", 3600, 7200, 300, 3600)
        env.pg.scalar("CHECKPOINT")
        log(f"scale: generated {apps} apps, {grants} grants with tokens in {gen_s:.1f} s")
        ready, rss, hwm, idle = [], [], [], []
        loaded_ok = True
        for i in range(runs):
            secs = d.start()
            time.sleep(2)
            m = re.findall(r"loaded (\d+) tokens and (\d+) schedule entries in (\d+) ms", open(d.log_path).read())
            if not m or int(m[-1][0]) != grants or int(m[-1][1]) != grants:
                loaded_ok = False
                log(f"scale: daemon loaded {m[-1] if m else 'nothing'}, expected {grants} tokens and entries")
            c0 = proc_cpu_seconds(d.pid)
            t0 = time.monotonic()
            perf_out = os.environ.get("MEDIAX_BENCH_PERF")  # profile the idle daemon of the first run
            if perf_out and i == 0:
                subprocess.run(["perf", "record", "-F", "99", "-g", "-p", str(d.pid), "-o", perf_out, "--", "sleep",
                                str(idle_s)], capture_output=True)
            else:
                time.sleep(idle_s)
            cpu = 100.0 * (proc_cpu_seconds(d.pid) - c0) / (time.monotonic() - t0)
            ready.append(secs)
            rss.append(proc_rss_mb(d.pid))
            hwm.append(proc_rss_mb(d.pid, "VmHWM"))
            idle.append(cpu)
            log(f"scale run {i + 1}: READY {secs:.2f} s, RSS {rss[-1]:.0f} MB (peak {hwm[-1]:.0f}), idle CPU {cpu:.2f} %")
            d.stop()
        load.stop()
        ok = loaded_ok
        md = [f"### 1. Scale and footprint\n",
              f"`bench/run.sh scale` — {apps:,} apps, {grants:,} grants each with a cached access token, due in 1–2 h "
              f"(nothing due while measuring). Generator (`mediax-bench-gen | psql`, COPY, sealed secrets): {gen_s:.1f} s. "
              f"{runs} daemon starts; idle CPU over {idle_s} s each from /proc/PID/stat. {load.text()}.\n",
              "| metric | median | runs | target |", "|---|---|---|---|",
              f"| start → READY (tokens + schedule loaded) | {median(ready):.2f} s | {', '.join(f'{x:.2f}' for x in ready)} | ≤ 5 s |",
              f"| RSS after READY | {median(rss):.0f} MB | {', '.join(f'{x:.0f}' for x in rss)} | ≤ 512 MB |",
              f"| peak RSS (VmHWM) | {median(hwm):.0f} MB | {', '.join(f'{x:.0f}' for x in hwm)} | |",
              f"| idle CPU, % of one core | {median(idle):.2f} % | {', '.join(f'{x:.2f}' for x in idle)} | ≤ 1 % |"]
        if not loaded_ok:
            md.append("\n**The daemon did not report loading every token and schedule entry.**")
        return "\n".join(md) + "\n", ok, {"ready": median(ready), "rss": median(rss), "idle": median(idle)}
    finally:
        if own:
            env.close()


SQL_VIEW = "\\set id random(1, {n})\nSELECT access_token, token_type, expires_at FROM mediax.access_tokens WHERE grant_id = :id;\n"
SQL_TABLE = "\\set id random(1, {n})\nSELECT access_token, token_type, expires_at FROM mediax.tokens WHERE grant_id = :id;\n"


def bench_sql(args, env=None):
    grants = args.grants or (2000 if args.smoke else 1_000_000)
    apps = args.apps or (20 if args.smoke else 10_000)
    clients = args.clients or 8
    seconds = args.seconds or (2 if args.smoke else 15)
    own = env is None
    env = env or Env(args)
    try:
        if int(env.pg.scalar("SELECT count(*) FROM mediax.grants")) < grants:
            generate(env.pg, env.daemon, apps, grants, "http://127.0.0.1:9/token", 3600, 7200, 300, 3600)
        n = int(env.pg.scalar("SELECT count(*) FROM mediax.access_tokens"))
        if n < grants:
            raise BenchError(f"mediax.access_tokens shows {n} tokens, expected {grants}")
        plan = env.pg.scalar("EXPLAIN SELECT access_token FROM mediax.access_tokens WHERE grant_id = 42")
        load = LoadMeter().start()
        view, table = [], []
        for i in range(args.runs):
            view.append(env.pg.pgbench(SQL_VIEW.format(n=grants), clients, seconds))
            table.append(env.pg.pgbench(SQL_TABLE.format(n=grants), clients, seconds))
            log(f"sql run {i + 1}: view {view[-1]:.0f} tps, table {table[-1]:.0f} tps")
        load.stop()
        md = [f"### 5. Database readers\n",
              f"`bench/run.sh sql` — `pgbench -n -M prepared -c {clients} -j 2 -T {seconds} -f` with one random grant per "
              f"transaction over {grants:,} grants; baseline in the same run: the same SELECT on the bare `mediax.tokens` "
              f"table (no joins, no status/expiry filter). {load.text()}.\n",
              "```sql", SQL_VIEW.format(n=grants).strip(), "```\n",
              "| query | median tps | runs | target |", "|---|---|---|---|",
              f"| view `mediax.access_tokens` | {fmt(median(view), 0)} | {', '.join(fmt(x, 0) for x in view)} | ≥ 10,000 |",
              f"| table `mediax.tokens` (baseline) | {fmt(median(table), 0)} | {', '.join(fmt(x, 0) for x in table)} | |",
              f"| ratio view ÷ table | {median(view) / median(table):.2f} | | |",
              "\nPlan of the view query:\n", "```", plan, "```"]
        return "\n".join(md) + "\n", True, {"tps": median(view)}
    finally:
        if own:
            env.close()


WRK_LUA = """
wrk.headers["Authorization"] = "Bearer {key}"
local n = {n}
local counter = 0
request = function()
  counter = counter + 1
  local id = ((counter * 7919) % n) + 1
  return wrk.format("GET", "/v1/grants/" .. id .. "/token")
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d non2xx=%d socket_errors=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def run_wrk(port, script, connections, seconds, threads=2):
    r = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "5s", "-s",
                        script, f"http://127.0.0.1:{port}/"], capture_output=True, text=True)
    m = re.search(r"BENCH (.*)", r.stdout)
    if r.returncode != 0 or not m:
        raise BenchError(f"wrk failed: {r.stdout[-1000:]}{r.stderr[-1000:]}")
    v = {k: int(x) for k, x in (kv.split("=") for kv in m.group(1).split())}
    v["rps"] = v["requests"] / (v["duration_us"] / 1e6)
    return v


def default_setting(key):
    """A default of mediaxd's configuration (the key without its section), from --print-default-config."""
    cfg = subprocess.run([binary("mediaxd"), "--print-default-config"], capture_output=True, text=True).stdout
    m = re.search(rf"^#?{re.escape(key)} = (\S+)", cfg, re.M)
    if not m:
        raise BenchError(f"mediaxd --print-default-config does not show {key}")
    return m.group(1)


def setting(args, key):
    """mediaxd's value of section.key in this run: the --set one, else the default (as TOML text)."""
    return dict(x.split("=", 1) for x in args.set).get(key) or default_setting(key.partition(".")[2])


def bench_reads(args):
    grants = args.grants or (300 if args.smoke else 100_000)
    apps = args.apps or (10 if args.smoke else 100)
    seconds = args.seconds or (2 if args.smoke else 10)
    connections = 64
    threads = int(setting(args, "admin.threads"))
    env = Env(args)
    fixed = None
    try:
        env.fake = Fake(env.workdir, latency_ms=20)
        # Due times spread over the next minutes: refreshes run all through the measurement.
        # --no-refresh: every grant due in 1-2 h instead, the same reads with no refresh competing for
        # the cores (what the refresh load adds to the tail).
        spread = 20 if args.smoke else 900
        due_from, due_to = (3600, 7200) if args.no_refresh else (1, 1 + spread)
        generate(env.pg, env.daemon, apps, grants, env.fake.token_url, due_from, due_to, 300, 3600)
        env.daemon.start()
        status, body = env.daemon.get("/v1/grants/1/token")
        if status != 200 or "access_token" not in body:
            raise BenchError(f"GET /v1/grants/1/token answered {status}")
        script = os.path.join(env.workdir, "reads.lua")
        with open(script, "w") as f:
            f.write(WRK_LUA.format(key=env.daemon.api_key, n=grants))
        fixed_proc = subprocess.Popen([binary("mediax-bench-fixed"), "--threads", str(threads), "--nodelay", "1"], stdout=subprocess.PIPE, text=True)
        fixed = fixed_proc
        fixed_port = int(re.match(r"LISTENING (\d+)", fixed_proc.stdout.readline()).group(1))
        if env.daemon.token_port is None:
            raise BenchError("reads needs admin.token_listen (do not --set it empty)")
        time.sleep(1 if args.smoke else 3)
        load = LoadMeter().start()
        # Three servers, alternating in each run: mediaxd's token listener (admin.token_listen, the
        # figure for the target), mediaxd's admin API (cpp-httplib) and the fixed-string baseline.
        servers = [("token", env.daemon.token_port), ("admin", env.daemon.port), ("fixed", fixed_port)]
        runs = {name: [] for name, _ in servers}
        refreshes = []
        ok = True
        for i in range(args.runs):
            before = env.fake.stats()["refreshes"]
            for name, port in servers:
                runs[name].append(run_wrk(port, script, connections, seconds))
            refreshes.append(env.fake.stats()["refreshes"] - before)
            log(f"reads run {i + 1}: " + "; ".join(
                f"{name} {runs[name][-1]['rps']:.0f} req/s p99 {runs[name][-1]['p99_us'] / 1000:.2f} ms "
                f"(non-2xx {runs[name][-1]['non2xx']}, socket errors {runs[name][-1]['socket_errors']})"
                for name, _ in servers) + f"; {refreshes[-1]} refreshes meanwhile")
            # Socket errors (wrk's 5 s timeouts: connections waiting for a server thread) are load,
            # reported but not a wrong count; a refused or failed token read is.
            for name, _ in servers:
                if runs[name][-1]["requests"] <= 0 or (name != "fixed" and runs[name][-1]["non2xx"] != 0):
                    ok = False
        load.stop()
        if args.no_refresh and sum(refreshes) != 0:
            log(f"reads --no-refresh: {sum(refreshes)} refreshes ran during the measurement")
            ok = False
        if not args.no_refresh and sum(refreshes) <= 0:
            log("reads: no refresh ran during the measurement")
            ok = False
        rps = {name: median([r["rps"] for r in runs[name]]) for name, _ in servers}
        p99 = {name: median([r["p99_us"] / 1000 for r in runs[name]]) for name, _ in servers}
        p50 = {name: median([r["p50_us"] / 1000 for r in runs[name]]) for name, _ in servers}
        p99_runs = {name: ", ".join(f"{r['p99_us'] / 1000:.2f}" for r in runs[name]) for name, _ in servers}
        token_threads = setting(args, "admin.token_threads")
        label = {"token": f"mediaxd, token listener (`admin.token_listen`, Asio, {token_threads} threads)",
                 "admin": f"mediaxd, admin API (`admin.listen`, cpp-httplib, {threads} threads)",
                 "fixed": "fixed-string cpp-httplib (baseline)"}
        md = [f"### 3. Token reads\n",
              f"`bench/run.sh reads` — `wrk -t 2 -c {connections} -d {seconds}s` on `GET /v1/grants/{{id}}/token` with an admin "
              f"API key, cycling over {grants:,} grants (bench/bench.py writes the Lua script), " +
              ("with `--no-refresh`: every grant due in 1-2 h, no refresh during the runs (0 counted at the fake platform). "
               if args.no_refresh else
               f"while the daemon refreshes (grants due all through the run, fake platform at 20 ms): "
               f"{', '.join(str(x) for x in refreshes)} refreshes during the {args.runs} runs. ") +
              f"Each run measures, one after the other, mediaxd's token listener "
              f"(`admin.token_listen`), mediaxd's admin API on the same daemon, and `mediax-bench-fixed` "
              f"(cpp-httplib with the admin API's server settings: {threads} threads like admin.threads, keep-alive, "
              f"TCP_NODELAY; a fixed ~150-byte JSON answer), same wrk settings. "
              f"wrk runs on the same 2 cores. {load.text()}.\n",
              "| server | median req/s | p50 ms | p99 ms | runs (req/s) | runs (p99 ms) | target |", "|---|---|---|---|---|---|---|"]
        for name, _ in servers:
            md.append(f"| {label[name]} | {fmt(rps[name], 0)} | {p50[name]:.2f} | {p99[name]:.2f} | "
                      f"{', '.join(fmt(r['rps'], 0) for r in runs[name])} | "
                      f"{p99_runs[name]} | "
                      f"{'≥ 20,000 req/s, p99 ≤ 5 ms' if name == 'token' else ''} |")
        md += [f"| ratio token listener ÷ fixed | {rps['token'] / rps['fixed']:.2f} | | | | | |",
               f"| ratio admin API ÷ fixed | {rps['admin'] / rps['fixed']:.2f} | | | | | |",
               f"\nNon-2xx answers: token listener {sum(r['non2xx'] for r in runs['token'])}, admin API "
               f"{sum(r['non2xx'] for r in runs['admin'])}; socket errors (wrk's 5 s timeout: a connection waited that long "
               f"for a free server thread): " + ", ".join(f"{name} {sum(r['socket_errors'] for r in runs[name])}" for name, _ in servers) + "."]
        return "\n".join(md) + "\n", ok, {"rps": rps["token"], "p99": p99["token"], "admin_rps": rps["admin"],
                                           "fixed_rps": rps["fixed"]}
    finally:
        if fixed is not None:
            stop_process(fixed)
        env.close()


# The database work of one scheduled refresh of a grant, as PgStore does it (acquire_lease,
# complete_refresh, add_event): three transactions, the same statements, same parameters' shapes.
REFRESH_SQL = """\\set id random(1, {n})
\\set app ((:id - 1) % {apps}) + 1
BEGIN;
UPDATE mediax.grants x SET lease_owner = 'pgbench', lease_until = now() + interval '60 s', refresh_in_flight = true FROM (SELECT id, refresh_in_flight AND lease_owner IS DISTINCT FROM 'pgbench' AS was_in_flight FROM mediax.grants WHERE id = :id FOR UPDATE) o WHERE x.id = o.id AND x.status = 'active' AND (x.lease_until IS NULL OR x.lease_until <= now() OR x.lease_owner = 'pgbench') RETURNING x.app_id, o.was_in_flight;
SELECT id, app_id, account_id, array_to_json(scopes)::text AS scopes, refresh_token, status, status_reason, failure_count, last_error, next_refresh_at, extra::text, created_at, updated_at FROM mediax.grants WHERE id = :id;
SELECT id, name, platform, client_id, client_secret, array_to_json(scopes)::text, client_credentials, issuer, authorize_url, token_url, revocation_url, token_auth_method, redirect_uri, options::text, status, failure_count, last_error, next_refresh_at, created_at FROM mediax.apps WHERE id = :app;
SELECT t.app_id, t.grant_id, t.access_token, t.token_type, array_to_json(t.scopes)::text, t.expires_at, t.refreshed_at FROM mediax.tokens t WHERE t.grant_id = :id;
COMMIT;
BEGIN;
UPDATE mediax.grants SET refresh_token = COALESCE(NULL::text, refresh_token), refresh_expires_at = refresh_expires_at, account_id = COALESCE(NULLIF(''::text, ''), account_id), failure_count = 0, last_error = '', status_reason = '', next_refresh_at = now() + interval '48 minutes', extra = extra || '{{}}'::jsonb, lease_owner = NULL, lease_until = NULL, refresh_in_flight = false, updated_at = now() WHERE id = :id AND lease_owner = 'pgbench' AND status = 'active' RETURNING app_id;
INSERT INTO mediax.tokens AS t (app_id, grant_id, access_token, token_type, scopes, expires_at, refreshed_at) VALUES (:app, :id, md5(random()::text) || md5(random()::text), 'Bearer', '{{}}', now() + interval '1 hour', now()) ON CONFLICT (grant_id) WHERE grant_id IS NOT NULL DO UPDATE SET access_token = EXCLUDED.access_token, token_type = EXCLUDED.token_type, scopes = CASE WHEN cardinality(EXCLUDED.scopes) = 0 THEN t.scopes ELSE EXCLUDED.scopes END, expires_at = EXCLUDED.expires_at, refreshed_at = EXCLUDED.refreshed_at;
COMMIT;
INSERT INTO mediax.events (app_id, grant_id, kind, detail) VALUES (:app, :id, 'refreshed', '{{"rotated": false}}');
"""


class TokenReader(threading.Thread):
    """Reads random grants' tokens over HTTP all along; counts answers that are not a valid token.

    expired: an expired token was served (must never happen); refused: the daemon answered 503
    token_expired instead (its token ran out before the refresh came: a throughput miss, not a
    wrong answer); bad: any other failure."""

    def __init__(self, port, api_key, grants):
        super().__init__(daemon=True)
        self.port, self.key, self.grants = port, api_key, grants
        self.reads = self.bad = self.expired = self.refused = 0
        self.stopping = False

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        rnd = random.Random(7)
        while not self.stopping:
            gid = rnd.randint(1, self.grants)
            # expires_at has whole seconds; the daemon refuses a token with under a second left, so
            # a served token's expires_at (truncated) is always later than the asking second.
            asked = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            try:
                conn.request("GET", f"/v1/grants/{gid}/token", headers={"Authorization": f"Bearer {self.key}"})
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                self.bad += 1
                continue
            self.reads += 1
            if resp.status != 200:
                if resp.status == 503 and b"token_expired" in body:
                    self.refused += 1
                else:
                    self.bad += 1
                continue
            exp = json.loads(body).get("expires_at", "")
            if not exp or asked >= exp:
                self.expired += 1
            time.sleep(0.002)


def bench_catchup(args):
    grants = args.grants or (200 if args.smoke else 100_000)
    apps = args.apps or (10 if args.smoke else 1000)
    timeout = args.timeout or (60 if args.smoke else 300)
    pg_seconds = args.seconds or (2 if args.smoke else 15)
    env = Env(args)
    try:
        env.fake = Fake(env.workdir, latency_ms=20)
        concurrency = int(setting(args, "refresh.max_concurrent"))
        pool = int(setting(args, "database.pool_size"))
        per_endpoint = setting(args, "refresh.max_in_flight_per_endpoint")
        # 0: all workers but one while the endpoint answers (schedule/circuit_breaker.hpp).
        per_endpoint = max(1, concurrency - 1) if per_endpoint == "0" else per_endpoint
        load = LoadMeter().start()
        rows = []
        ok = True
        for run in range(args.runs):
            if run > 0:
                env.pg.scalar("TRUNCATE mediax.tokens, mediax.grants, mediax.events")
            # Every grant due now (the last minute), tokens still valid 2-3 minutes: an outage just ended.
            generate(env.pg, env.daemon, apps, grants, env.fake.token_url, -60, 0, 120, 3600, no_apps=run > 0)
            env.pg.scalar("CHECKPOINT")
            mark = env.pg.scalar("SELECT now()")
            before = env.fake.stats()["refreshes"]
            ready_s = env.daemon.start()
            t0 = env.daemon.ready_at
            reader = TokenReader(env.daemon.port, env.daemon.api_key, grants)
            reader.start()
            done, samples = 0, []
            while time.monotonic() - t0 < timeout:
                done = int(env.pg.scalar(f"SELECT count(*) FROM mediax.tokens WHERE grant_id IS NOT NULL AND refreshed_at > '{mark}'"))
                samples.append((time.monotonic() - t0, done))
                if done >= grants:
                    break
                time.sleep(0.5)
            elapsed = time.monotonic() - t0
            reader.stopping = True
            reader.join()
            expired_rows = int(env.pg.scalar("SELECT count(*) FROM mediax.tokens WHERE expires_at < now()"))
            calls = env.fake.stats()["refreshes"] - before
            mtext = env.daemon.metrics()
            deferred = sum(float(l.rsplit(" ", 1)[1]) for l in mtext.splitlines()
                           if l.startswith("mediax_refreshes_deferred_total"))
            env.daemon.stop()
            # Steady rate between 10 % and 90 % done (start-up and the tail excluded).
            t10 = next((t for t, n in samples if n >= 0.1 * grants), None)
            t90 = next((t for t, n in samples if n >= 0.9 * grants), None)
            n10 = next((n for t, n in samples if n >= 0.1 * grants), 0)
            n90 = next((n for t, n in samples if n >= 0.9 * grants), 0)
            steady = (n90 - n10) / (t90 - t10) if t10 is not None and t90 is not None and t90 > t10 else float("nan")
            rate = done / elapsed
            # The smoke runs a fixed number of transactions: 2 s of 128 clients on a loaded machine
            # (a build beside it) could finish none, and pgbench then prints no tps.
            per_client = 2 if args.smoke else None
            pg_c = env.pg.pgbench(REFRESH_SQL.format(n=grants, apps=apps), concurrency, pg_seconds, transactions=per_client)
            pg_pool = env.pg.pgbench(REFRESH_SQL.format(n=grants, apps=apps), pool, pg_seconds, transactions=per_client)
            rows.append({"done": done, "elapsed": elapsed, "ready": ready_s, "rate": rate, "steady": steady,
                         "pg_c": pg_c, "pg_pool": pg_pool, "reads": reader.reads, "bad": reader.bad,
                         "expired": reader.expired, "refused": reader.refused, "expired_rows": expired_rows, "calls": calls,
                         "deferred": int(deferred)})
            log(f"catchup run {run + 1}: {done}/{grants} refreshed in {elapsed:.1f} s after READY ({rate:.0f}/s, steady "
                f"{steady:.0f}/s); pgbench same work {pg_c:.0f}/s at -c {concurrency}, {pg_pool:.0f}/s at -c {pool}; "
                f"reads {reader.reads} bad {reader.bad} expired {reader.expired} refused (token_expired) {reader.refused}; expired rows {expired_rows}; "
                f"deferred (endpoint busy / circuit) {int(deferred)}")
            if done < grants or reader.bad or reader.expired or calls < grants:
                ok = False
        load.stop()
        md = [f"### 2. Catch-up after an outage\n",
              f"`bench/run.sh catchup` — {grants:,} grants of {apps:,} apps all due at once (due during the last minute, "
              f"tokens still valid 60–120 s), fake platform `--bulk --latency-ms 20`, mediaxd with the default settings "
              f"(refresh.max_concurrent = {concurrency}, refresh.max_in_flight_per_endpoint → {per_endpoint}, "
              f"database.pool_size = {pool}). Time from READY until every grant's "
              f"token row has been rewritten (polled every 0.5 s in SQL); a reader thread meanwhile reads random tokens over "
              f"HTTP. Database limit in the same run: `pgbench -f` running the database work of one refresh (acquire_lease's "
              f"UPDATE and SELECTs, complete_refresh's UPDATE and token upsert, the event INSERT: three transactions, "
              f"bench/bench.py REFRESH_SQL) at -c {concurrency} (the refresh concurrency) and -c {pool} (the daemon's "
              f"connections). {load.text()}.\n",
              f"| run | refreshed | seconds | refreshes/s | steady 10–90 % | pgbench -c {concurrency} | pgbench -c {pool} | "
              f"ratio (vs -c {concurrency}) | reads / failed / expired served / refused as expired |",
              "|---|---|---|---|---|---|---|---|---|"]
        for i, r in enumerate(rows):
            md.append(f"| {i + 1} | {r['done']:,} | {r['elapsed']:.1f} | {r['rate']:.0f} | {r['steady']:.0f} | {r['pg_c']:.0f} | "
                      f"{r['pg_pool']:.0f} | {r['rate'] / r['pg_c']:.2f} | {r['reads']} / {r['bad']} / {r['expired']} / {r['refused']} |")
        md.append(f"| **median** | | **{median([r['elapsed'] for r in rows]):.1f}** | **{median([r['rate'] for r in rows]):.0f}** | "
                  f"{median([r['steady'] for r in rows]):.0f} | {median([r['pg_c'] for r in rows]):.0f} | "
                  f"{median([r['pg_pool'] for r in rows]):.0f} | **{median([r['rate'] / r['pg_c'] for r in rows]):.2f}** | |")
        md.append(f"\nTargets: all refreshed ≤ 30 s; no expired token read; ratio ≥ 0.5. Expired token rows at the end: "
                  f"{', '.join(str(r['expired_rows']) for r in rows)}. Refreshes deferred by the daemon's per-endpoint guard "
                  f"(`mediax_refreshes_deferred_total`): {', '.join(str(r['deferred']) for r in rows)}. A run that stops "
                  f"before every grant is refreshed hit the {timeout} s limit.")
        return "\n".join(md) + "\n", ok, {"elapsed": median([r["elapsed"] for r in rows]),
                                          "rate": median([r["rate"] for r in rows]),
                                          "ratio": median([r["rate"] / r["pg_c"] for r in rows])}
    finally:
        env.close()


def bench_punctuality(args):
    grants = args.grants or (300 if args.smoke else 100_000)
    apps = args.apps or (10 if args.smoke else 1000)
    duration = args.duration or (30 if args.smoke else 120)
    lifetime = 60
    env = Env(args)
    try:
        env.fake = Fake(env.workdir, latency_ms=20, expires_in=lifetime)
        # Tokens issued during the last minute: due (by the default policy, half the lifetime left
        # for so short a token) spread over the next 30 s.
        generate(env.pg, env.daemon, apps, grants, env.fake.token_url, 0, 30, 30, lifetime)
        env.daemon.start()
        lag0 = histogram(env.daemon.metrics(), "mediax_scheduler_lag_seconds")
        left0 = histogram(env.daemon.metrics(), "mediax_refresh_validity_left_seconds")
        before = env.fake.stats()["refreshes"]
        reader = TokenReader(env.daemon.port, env.daemon.api_key, grants)
        reader.start()
        load = LoadMeter().start()
        t0 = time.monotonic()
        expired_max, min_left = 0, float("inf")
        while time.monotonic() - t0 < duration:
            row = env.pg.scalar("SELECT count(*) FILTER (WHERE expires_at < now()), "
                                "COALESCE(EXTRACT(EPOCH FROM min(expires_at) - now()), 0) FROM mediax.tokens")
            n, left = row.split("|")
            expired_max = max(expired_max, int(n))
            min_left = min(min_left, float(left))
            time.sleep(2)
        load.stop()
        reader.stopping = True
        reader.join()
        m = env.daemon.metrics()
        lag = histogram_delta(histogram(m, "mediax_scheduler_lag_seconds"), lag0)
        left = histogram_delta(histogram(m, "mediax_refresh_validity_left_seconds"), left0)
        calls = env.fake.stats()["refreshes"] - before
        expected = grants * duration / (lifetime / 2)
        ok = expired_max == 0 and reader.bad == 0 and reader.expired == 0 and calls > 0
        log(f"punctuality: {calls} refreshes in {duration} s ({calls / duration:.0f}/s, about {expected / duration:.0f}/s needed); "
            f"expired rows (max seen) {expired_max}; min validity left {min_left:.1f} s; reads {reader.reads} bad {reader.bad}")
        md = [f"### 4. Punctuality\n",
              f"`bench/run.sh punctuality{' --duration ' + str(duration) if duration != 120 else ''}` — {grants:,} grants whose tokens "
              f"live {lifetime} s (fake platform `--expires-in {lifetime} --latency-ms 20`), default settings (a {lifetime} s token "
              f"is refreshed with half its life left, minus up to 7 s jitter: about {expected / duration:,.0f} refreshes/s needed), "
              f"measured over {duration} s (`--duration 600` for the full 10 minutes). {load.text()}.\n",
              f"- refreshes done: {calls:,} ({calls / duration:,.0f}/s)",
              f"- token rows expired (max over samples every 2 s): **{expired_max}**; smallest validity left seen in the table: {min_left:.1f} s",
              f"- HTTP reads during the run: {reader.reads:,}; failed {reader.bad}; expired token served {reader.expired}; "
              f"refused as expired (503 token_expired) {reader.refused}",
              "\nSeconds of validity left when a refresh started (`mediax_refresh_validity_left_seconds`):\n",
              histogram_table(left) if left[2] > 0 else "(metric not available in this build)",
              "\nScheduler lag (`mediax_scheduler_lag_seconds`: how late the timer wheel fired after the due time it waited for):\n",
              histogram_table(lag) if lag[2] > 0 else "(no observations)"]
        return "\n".join(md) + "\n", ok, {"expired": expired_max, "calls_per_s": calls / duration}
    finally:
        env.close()


# ---------------------------------------------------------------------------------------------
# RESULTS.md: one section per benchmark between markers, replaced when that benchmark runs again.


def write_results(sections, info, commands):
    text = open(RESULTS).read() if os.path.exists(RESULTS) else ""
    header_end = "<!-- bench:machine -->"
    machine = (f"{header_end}\n## Machine and run\n\n"
               f"- date: {info['date']}; commit: {info['commit']}\n"
               f"- `nproc`: {info['nproc']}; CPU: {info['model']}; kernel {info['kernel']}\n"
               f"- `free -m`:\n\n```\n{info['free']}\n```\n"
               f"- last command: `{commands}`\n<!-- /bench:machine -->")
    if header_end in text:
        text = re.sub(r"<!-- bench:machine -->.*?<!-- /bench:machine -->", lambda _: machine, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + machine + "\n"
    for name, md in sections.items():
        block = f"<!-- bench:{name} -->\n{md}\n_Measured {info['date']}, commit {info['commit']}._\n<!-- /bench:{name} -->"
        pattern = rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->"
        if re.search(pattern, text, flags=re.S):
            text = re.sub(pattern, lambda _: block, text, flags=re.S)
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
    with open(RESULTS, "w") as f:
        f.write(text)


def main():
    p = argparse.ArgumentParser(prog="bench/run.sh", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("benchmark", choices=["scale", "catchup", "reads", "punctuality", "sql", "all"])
    p.add_argument("--smoke", action="store_true", help="tiny and quick: checks the scripts, no RESULTS.md")
    p.add_argument("--runs", type=int, help="repetitions (median reported); default 3, 1 with --smoke")
    p.add_argument("--grants", type=int)
    p.add_argument("--apps", type=int)
    p.add_argument("--seconds", type=int, help="wrk / pgbench duration per run")
    p.add_argument("--idle-seconds", type=int, help="scale: idle CPU window per run (default 60)")
    p.add_argument("--duration", type=int, help="punctuality: seconds measured (default 120; 600 = the full 10 min)")
    p.add_argument("--timeout", type=int, help="catchup: give up a run after this many seconds (default 300)")
    p.add_argument("--clients", type=int, help="sql: pgbench clients (default 8)")
    p.add_argument("--fsync-off", action="store_true", help="PostgreSQL with fsync = off (default: fsync = on)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="mediaxd setting instead of its default (TOML value), e.g. --set refresh.max_concurrent=128")
    p.add_argument("--tag", default="", help="suffix of the RESULTS.md section name (e.g. a tuned variant)")
    p.add_argument("--no-refresh", action="store_true",
                   help="reads: no grant due during the runs (the same reads without refreshes competing)")
    p.add_argument("--no-results", action="store_true", help="do not write bench/RESULTS.md")
    args = p.parse_args()
    if args.runs is None:
        args.runs = 1 if args.smoke else 3
    info = machine_info()
    log(f"{info['nproc']} cores, {info['model']}, commit {info['commit']}, build {BUILD}")
    sections, all_ok = {}, True

    def record(name, result):
        nonlocal all_ok
        md, ok, figures = result
        if args.tag:
            name = f"{name}-{args.tag}"
            flags = ["--set " + x for x in args.set] + (["--no-refresh"] if args.no_refresh else [])
            md = md.replace("\n", f" — **variant `{args.tag}`: {' '.join(flags) or 'defaults'}**\n", 1)
        sections[name] = md
        all_ok = all_ok and ok
        log(f"{name}: {'ok' if ok else 'COUNTS WRONG'} {json.dumps(figures)}")
        if not (args.smoke or args.no_results):
            write_results({name: md}, info, "bench/run.sh " + " ".join(sys.argv[1:]))

    try:
        which = args.benchmark
        if which in ("scale", "sql", "all"):
            env = Env(args) if which == "all" else None
            try:
                if which in ("scale", "all"):
                    record("scale", bench_scale(args, env))
                if which in ("sql", "all"):
                    record("sql", bench_sql(args, env))
            finally:
                if env:
                    env.close()
        if which in ("reads", "all"):
            record("reads", bench_reads(args))
        if which in ("catchup", "all"):
            record("catchup", bench_catchup(args))
        if which in ("punctuality", "all"):
            record("punctuality", bench_punctuality(args))
    except BenchError as e:
        log(f"error: {e}")
        return 1
    if args.smoke:
        for md in sections.values():
            print(md)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
