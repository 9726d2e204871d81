"""Real servers for the fault tests, each bounded in time and bound to 127.0.0.1 only:
gunicorn (the project's gunicorn.conf.py), a throw-away PostgreSQL cluster, and nginx."""
import glob
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_for(check, *, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def patience(seconds: float) -> int:
    """A time limit for a server to start or stop, stretched by how loaded the machine is now:
    `seconds` on an idle machine, up to four times that when every core has several runnable
    processes (a busy 2-core CI box runs the suite next to other work)."""
    per_core = os.getloadavg()[0] / (os.cpu_count() or 1)
    return int(seconds * min(4.0, max(1.0, per_core)))


def _children(pid: int) -> list[int]:
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(Path(stat).parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:  # a zombie (state Z) is dead for our purposes
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# -- HTTP ---------------------------------------------------------------------------------------

class Reply:
    """One HTTP exchange: a status with headers and body, or the transport error instead."""

    def __init__(self, status=None, headers=None, body=None, error=None, seconds=0.0):
        self.status, self.headers, self.body, self.error, self.seconds = status, headers or {}, body, error, seconds

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def json(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def __repr__(self):
        return f"Reply({self.status or self.error!r}, {self.body[:200] if self.body else b''!r})"


def call(base, method, path, *, token=None, body=None, headers=None, timeout=20.0, raw=None,
         content_type=None) -> Reply:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else
                                        (b"" if method == "POST" else None))
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    if body is not None:
        hdrs["Content-Type"] = "application/json"
    if content_type:
        hdrs["Content-Type"] = content_type
    request = urllib.request.Request(base + path, method=method, data=data, headers=hdrs)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, dict(response.headers), response.read(), seconds=time.monotonic() - started)
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, dict(exc.headers), exc.read(), seconds=time.monotonic() - started)
    except (OSError, http.client.HTTPException) as exc:  # reset, refused, timed out, cut off mid-answer
        return Reply(error=f"{type(exc).__name__}: {exc}", seconds=time.monotonic() - started)


# -- gunicorn -----------------------------------------------------------------------------------

class Gunicorn:
    """`gunicorn -c gunicorn.conf.py wsgi:app` on a free loopback port, stopped by stop()."""

    def __init__(self, tmp: Path, name: str, database_url: str, *, workers=2, extra_env=None, upload_dir=None,
                 app_module="wsgi:app"):
        self.port = free_port()
        self.base = f"http://{LOOPBACK}:{self.port}"
        self.log_path = tmp / f"gunicorn-{name}.log"
        instance = tmp / f"instance-{name}"
        self.env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test",
                    "BAODAO_INSTANCE_PATH": str(instance),
                    "BAODAO_UPLOAD_DIR": str(upload_dir or tmp / f"uploads-{name}"),
                    "BIND": f"{LOOPBACK}:{self.port}", "WEB_CONCURRENCY": str(workers), "TIMEOUT": "30",
                    **(extra_env or {})}
        self.app_module = app_module
        self.proc = None

    def start(self, timeout=30):
        self._log = open(self.log_path, "ab")
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.proc = subprocess.Popen([gunicorn, "-c", "gunicorn.conf.py", self.app_module], cwd=ROOT, env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT)

        def healthy():
            if self.proc.poll() is not None:
                pytest.fail(f"gunicorn exited: {self.log()[-3000:]}")
            return call(self.base, "GET", "/healthz", timeout=2).status == 200

        wait_for(healthy, timeout=timeout, what=f"gunicorn on {self.base}")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> set[int]:
        pids = set()
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                pids.add(int(Path(stat).parent.name))
        return pids

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()
        self.proc = None

    def flask(self, *args, timeout=60) -> subprocess.CompletedProcess:
        """A `flask --app wsgi …` command with this node's environment (its CLI)."""
        return subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", *args], cwd=ROOT,
                              env=self.env, capture_output=True, text=True, timeout=timeout)


# -- a throw-away PostgreSQL cluster ------------------------------------------------------------

def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: [int(x) for x in p.split("/")[4].split(".") if x.isdigit()])
    return Path(found[-1]).parent if found else None


class PgCluster:
    """initdb + pg_ctl as the postgres user, data under the test's tmp dir, a free loopback port.
    Never touches the shared server on 5432."""

    def __init__(self, tmp: Path):
        self.bin = postgres_bin()
        if self.bin is None:
            pytest.skip("PostgreSQL server binaries are not installed (scripts/ensure-postgres.sh installs them)")
        self.port = free_port()
        self.dir = tmp / "pgcluster"
        self.data = self.dir / "data"
        self.sockets = self.dir / "sock"
        self.logfile = self.dir / "log"
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args, timeout=60):
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)

    def init(self):
        self.data.mkdir(parents=True)
        self.sockets.mkdir()
        if self.as_postgres:
            pg = pwd.getpwnam("postgres")
            for path in (self.dir, self.data, self.sockets):
                os.chown(path, pg.pw_uid, pg.pw_gid)
            # the postgres user must be able to reach the data dir through pytest's tmp dirs
            for parent in list(self.dir.parents)[:4]:
                if str(parent).startswith(("/tmp/", str(Path(os.environ.get("TMPDIR", "/tmp"))) + "/")):
                    os.chmod(parent, os.stat(parent).st_mode | 0o711)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", timeout=120)
        return self

    def start(self):
        """Start and wait until it accepts connections. On a loaded machine (or after an immediate
        stop, with crash recovery to do) `pg_ctl -w` may give up while the server is still coming
        up: then keep waiting for it rather than fail; if it really did not start, fail with the
        end of its log."""
        limit = patience(30)
        try:
            self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", str(limit), "-o",
                      f"-p {self.port} -k {self.sockets} -c listen_addresses={LOOPBACK} -c fsync=off "
                      "-c max_connections=50", "start", timeout=limit + 30)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            if not self.running():
                raise AssertionError(f"PostgreSQL did not start: {getattr(exc, 'stderr', exc)}\n{self.log_tail()}")
            wait_for(self._accepts_connections, timeout=patience(60),
                     what=f"PostgreSQL on port {self.port} to accept connections:\n{self.log_tail()}", interval=0.5)
        return self

    def _accepts_connections(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=1):
                pass
        except OSError:
            return False
        result = subprocess.run([str(self.bin / "pg_isready"), "-h", LOOPBACK, "-p", str(self.port), "-t", "2"],
                                capture_output=True, text=True, timeout=30)
        return result.returncode == 0

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self, mode="fast", *, timeout: int | None = None) -> str:
        """Stop the server; returns the mode that stopped it.

        `fast` cuts off sessions but still waits for every backend to exit and for the shutdown
        checkpoint; on a loaded machine (or with a backend that cannot run) that outlasts any
        fixed limit, and `pg_ctl` gives up with an error while the server is still going down.
        Then `immediate` (SIGQUIT to every process; PostgreSQL SIGKILLs what does not exit within
        5 s), and as a last resort SIGKILL to the postmaster. The limit of each step is scaled by
        the machine's load unless `timeout` is given."""
        modes = [mode] + (["immediate"] if mode != "immediate" else [])
        self.stop_errors = []
        for current in modes:
            limit = timeout if timeout is not None and current == mode else patience(30)
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", current, "-w", "-t", str(limit), "stop",
                          timeout=limit + 30)
                return current
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                self.stop_errors.append(f"{current}: {getattr(exc, 'stderr', '') or exc}".strip())
                if not self.running():
                    return current  # it went down after all, just later than pg_ctl waited
        self._kill_postmaster()
        return "kill"

    def _kill_postmaster(self):
        """SIGKILL the postmaster and every process it started (a backend outlives its postmaster
        otherwise, and keeps the shared memory a new server needs)."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        family = [pid] + _children(pid)
        for each in family:
            try:
                os.kill(each, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for each in family:
            wait_for(lambda each=each: not _alive(each), timeout=patience(30), what=f"process {each} to die")
        (self.data / "postmaster.pid").unlink(missing_ok=True)

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database="postgres") -> str:
        return f"postgresql://postgres@{LOOPBACK}:{self.port}/{database}"

    def cleanup(self):
        if self.data.exists() and self.running():
            self.stop("immediate")  # falls back to SIGKILL itself
        shutil.rmtree(self.dir, ignore_errors=True)


# -- nginx --------------------------------------------------------------------------------------

def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def ensure_nginx() -> str:
    found = nginx_binary()
    if found:
        return found
    script = ROOT / "scripts" / "ensure-nginx.sh"
    result = subprocess.run([str(script)], capture_output=True, text=True, timeout=300)
    found = nginx_binary()
    if not found:
        pytest.fail(f"nginx is not installed and scripts/ensure-nginx.sh could not install it:\n{result.stderr[-2000:]}")
    return found
