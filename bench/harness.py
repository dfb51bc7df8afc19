"""The benchmarks' harness: processes (a throwaway PostgreSQL, the fake platform, mediaxd), the
machine's load, timing and medians, histograms from /metrics, and bench/RESULTS.md. The
scenarios (bench/scenarios/) measure with it; bench.py runs them. Python standard library only.
"""
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


def processes():
    """{pid: (ppid, name, CPU ticks)} of every process now."""
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                head, rest = f.read().rsplit(")", 1)
            fields = rest.split()
            out[int(p)] = (int(fields[1]), head.split("(", 1)[1], int(fields[11]) + int(fields[12]))
        except (OSError, IndexError, ValueError):
            pass
    return out


class OthersMeter(threading.Thread):
    """CPU used by processes that are not the benchmark's (compilers of a shared machine, kernel
    threads) while it measures: samples /proc twice a second. Ours are the descendants of this
    script and of the roots given (PostgreSQL's postmaster, which pg_ctl detaches)."""

    def __init__(self, roots=()):
        super().__init__(daemon=True)
        self.roots = {os.getpid(), *roots}
        self.first, self.last, self.names = {}, {}, {}
        self.stopping = threading.Event()

    def sample(self, initial=False):
        procs = processes()
        children = {}
        for pid, (ppid, _, _) in procs.items():
            children.setdefault(ppid, []).append(pid)
        ours, todo = set(), [r for r in self.roots if r in procs]
        while todo:
            pid = todo.pop()
            if pid not in ours:
                ours.add(pid)
                todo += children.get(pid, [])
        for pid, (_, name, ticks) in procs.items():
            if pid in ours:
                continue
            # A process seen first after the start began within the window: all its CPU counts.
            self.first.setdefault(pid, ticks if initial else 0)
            self.last[pid] = ticks
            self.names[pid] = name

    def run(self):
        while not self.stopping.wait(0.5):
            self.sample()

    def start(self):
        self.t0 = time.monotonic()
        self.sample(initial=True)
        super().start()
        return self

    def stop(self):
        self.stopping.set()
        self.join()
        self.sample()
        self.seconds = time.monotonic() - self.t0
        by_name = {}
        for pid, ticks in self.last.items():
            by_name[self.names[pid]] = by_name.get(self.names[pid], 0) + ticks - self.first[pid]
        tck = os.sysconf("SC_CLK_TCK")
        self.cpu = sum(by_name.values()) / tck
        self.top = sorted(((v / tck, k) for k, v in by_name.items() if v > 0), reverse=True)[:4]
        return self

    def text(self):
        cores = os.cpu_count() or 1
        share = 100.0 * self.cpu / (self.seconds * cores) if self.seconds else 0.0
        top = ", ".join(f"{name} {100.0 * c / self.seconds:.0f}%" for c, name in self.top)
        return f"other processes used {share:.1f}% of the {cores} cores" + (f" ({top} of a core)" if top else "")


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

    def postmaster_pid(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

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
    """mediax-bench-platform (bench/fake_platform.cpp): the fake provider's bulk mode (any client with a
    secret, any refresh token, fixed latency) on event loops; threads: how many."""

    def __init__(self, workdir, latency_ms=20, expires_in=3600, threads=2):
        self.log_path = os.path.join(workdir, "fake.log")
        self.proc = subprocess.Popen(
            [binary("mediax-bench-platform"), "--port", "0", "--bulk", "--latency-ms", str(latency_ms), "--expires-in",
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


def tree_cpu_seconds(pid):
    """CPU seconds of a process and all its descendants, the exited ones included (a parent's
    cutime/cstime count the children it reaped): PostgreSQL's postmaster and its backends."""
    def stat(p):
        with open(f"/proc/{p}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields
    try:
        fields = stat(pid)
    except OSError:
        return 0.0
    ticks = sum(int(x) for x in fields[11:15])
    children = []
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        pass
    return ticks / os.sysconf("SC_CLK_TCK") + sum(tree_cpu_seconds(c) for c in children)


def metric_sum(text, name):
    """The sum of a metric's samples (every label set) in a /metrics text."""
    return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
               if l.startswith(name + "{") or l.startswith(name + " "))


def proc_rss_mb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


class Daemon:
    """mediaxd with its own config, key file and admin API key; READY from sd_notify."""

    def __init__(self, workdir, pg, settings=None, key_file=None):
        """key_file: another instance's (instances on one database share the key); default: made here."""
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.port = free_port()
        self.token_port = free_port()  # admin.token_listen, the event-driven token-read listener
        self.key_file = key_file or os.path.join(workdir, "bench.key")
        if not os.path.exists(self.key_file):
            with open(self.key_file, "w") as f:
                f.write(os.urandom(32).hex() + "\n")
            os.chmod(self.key_file, 0o600)
        self.config = os.path.join(workdir, "mediaxd.toml")
        # --set section.key=value overrides (TOML values as written, e.g. refresh.max_concurrent=128).
        tables = {"database": {"url": f'"{pg.url}"'},
                  "admin": {"listen": f'"127.0.0.1:{self.port}"', "public_url": f'"http://127.0.0.1:{self.port}"',
                            "token_listen": f'"127.0.0.1:{self.token_port}"'},
                  # The fake platform listens on loopback: outbound calls may go there.
                  "security": {"key_file": f'"{self.key_file}"',
                               "allowed_private_networks": '["127.0.0.0/8", "::1/128"]'},
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

    def get(self, path, timeout=10, port=None):
        req = urllib.request.Request(f"http://127.0.0.1:{port or self.port}{path}",
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
