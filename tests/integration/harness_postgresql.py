"""A private PostgreSQL server for the queue tests (the harness' other servers are in harness.py).

    with PostgreSQL() as pg:
        url = pg.create_database("drain")   # postgresql://postern:…@127.0.0.1:PORT/drain
        pg.psql("drain", "SELECT count(*) FROM postern_queue")

initdb + pg_ctl of Debian's postgresql package (/usr/lib/postgresql/15/bin) in a temporary
folder: the server listens on 127.0.0.1 and a free port only, its unix socket stays in that
folder, and the test stops it and removes the folder. PostgreSQL refuses to run as root, and the
tests run as root: the server then runs as the `postgres` system user the package creates
(runuser), in a folder that user owns. Clients (postern, psql) connect over TCP with a password
(scram-sha-256), so a URL carries a password as a real deployment's would.
"""
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import harness

USER = "postern"
PASSWORD = "pg-S3cret-queue"  # tests check it never appears in postern's output


def _bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(found[-1]) if found else None


class PostgreSQL:
    """initdb, pg_ctl start on 127.0.0.1:port; stop and remove on exit. Attributes: port, base, log_file."""

    def __init__(self, max_connections=60):
        self.max_connections = max_connections
        self.base = None
        self.started = False
        self.port = None

    def __enter__(self):
        self.bindir = _bindir()
        if not self.bindir:
            raise unittest.SkipTest("PostgreSQL is not installed (scripts/setup.sh installs postgresql)")
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                import pwd
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise unittest.SkipTest("no postgres system user (the postgresql package creates it)") from None
        self.base = tempfile.mkdtemp(prefix="postern-postgresql-")
        try:
            if self.as_root:
                os.chown(self.base, pw.pw_uid, pw.pw_gid)
            os.chmod(self.base, 0o700)
            self.data = os.path.join(self.base, "data")
            self.socket_dir = os.path.join(self.base, "socket")
            self.log_file = os.path.join(self.base, "postgresql.log")
            self._server(["mkdir", self.socket_dir])
            pwfile = os.path.join(self.base, "pwfile")
            self._server(["sh", "-c", f"umask 077 && printf '%s\\n' '{PASSWORD}' > {pwfile}"])
            self._server([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", USER, "--pwfile", pwfile,
                          "-E", "UTF8", "--locale=C", "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256"])
            self.port = harness.free_port()
            conf = (f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                    f"unix_socket_directories = '{self.socket_dir}'\n"
                    f"max_connections = {self.max_connections}\nshared_buffers = 16MB\n"
                    "log_min_messages = warning\nlog_connections = off\n")
            self._server(["sh", "-c", f"cat >> {os.path.join(self.data, 'postgresql.conf')}"], input=conf.encode())
            self._server([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l", self.log_file, "-w",
                          "-t", "60", "start"])
            self.started = True
            harness.wait_listening(harness.LOOPBACK4, self.port, timeout=30)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        try:
            if self.started:
                subprocess.run(self._as_server([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m",
                                                "fast", "-w", "-t", "30", "stop"]),
                               capture_output=True, timeout=60, cwd=self.base, env=self._env())
        finally:
            self._kill_postmaster()
            if self.base and not os.environ.get("POSTERN_KEEP_TMP"):
                shutil.rmtree(self.base, ignore_errors=True)
        return False

    # -- for tests ---------------------------------------------------------
    def url(self, database, password=True):
        """The libpq URL of @database on this server (with the password unless password=False)."""
        cred = f"{USER}:{PASSWORD}" if password else USER
        return f"postgresql://{cred}@{harness.LOOPBACK4}:{self.port}/{database}"

    def create_database(self, name):
        """CREATE DATABASE @name; returns its URL."""
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        return self.url(name)

    def psql(self, database, sql):
        """Runs @sql with psql over TCP; returns its unaligned, tuples-only output (str)."""
        env = self._env()
        env["PGPASSWORD"] = PASSWORD
        r = subprocess.run([os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-h", harness.LOOPBACK4, "-p", str(self.port), "-U", USER, "-d", database, "-c", sql],
                           capture_output=True, text=True, timeout=120, env=env)
        if r.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed ({r.returncode}): {r.stderr}{self.log_tail()}")
        return r.stdout.strip()

    def crash_and_restart(self):
        """The server stops as in a crash (pg_ctl stop -m immediate: every connection is cut, the
        next start recovers from the WAL) and starts again on the same port."""
        pg_ctl = os.path.join(self.bindir, "pg_ctl")
        self._server([pg_ctl, "-D", self.data, "-m", "immediate", "-w", "-t", "60", "stop"])
        self._server([pg_ctl, "-D", self.data, "-l", self.log_file, "-w", "-t", "60", "start"])
        harness.wait_listening(harness.LOOPBACK4, self.port, timeout=30)

    def log_tail(self, n=40):
        try:
            with open(self.log_file, errors="replace") as f:
                return "\n--- postgresql log (tail) ---\n" + "".join(f.readlines()[-n:])
        except OSError:
            return ""

    # -- internals ---------------------------------------------------------
    def _env(self):
        env, home = harness.hermetic_env()
        shutil.rmtree(home, ignore_errors=True)  # the server user could not read it anyway
        env["HOME"] = self.base
        env["LC_ALL"] = "C"
        return env

    def _as_server(self, cmd):
        return (["runuser", "-u", "postgres", "--"] + cmd) if self.as_root else cmd

    def _server(self, cmd, input=None):
        # cwd: the server user must be able to enter it (initdb and pg_ctl look at it).
        r = subprocess.run(self._as_server(cmd), input=input, capture_output=True, timeout=120, cwd=self.base,
                           env=self._env())
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout.decode(errors='replace')}"
                               f"{r.stderr.decode(errors='replace')}{self.log_tail()}")
        return r

    def _kill_postmaster(self):
        """Last resort when pg_ctl stop did not work: kill OUR postmaster by its pid file."""
        if not self.base:
            return
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                pid = int(f.readline().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"postgres" not in f.read():
                    return
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        except (OSError, ValueError, ProcessLookupError):
            pass
