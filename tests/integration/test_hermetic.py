"""The suite never reads the invoking user's files.

A user who has used postern has ~/.config/postern/config and ~/.local/state/postern/hosts.sqlite;
tests that let postern find them failed for that user (a remembered host made the suite's
servers look like a downgrade). Here a HOME is planted with a config and a host memory that
break any postern run that reads them, the poison is shown to work on a run that does read it,
and then the sendmail tests (the sendmail link and git send-email, which start postern
indirectly) run under that HOME: they must pass and leave it untouched.
"""

import contextlib
import hashlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

import harness
from harness import PosternResult, PosternTestCase, write_file

HOSTS = ("127.0.0.1", "localhost", "::1")


def plant_poison(home, server_port):
    """A config whose default account goes to `server_port` on loopback, and a host memory that
    remembers every port of the loopback names with a certificate issuer no test server has, so
    that any handshake a reader makes is refused as plan.downgrade."""
    cfg = os.path.join(home, ".config", "postern")
    os.makedirs(cfg)
    write_file(cfg, "config", f"""\
# planted by test_hermetic.py: a test that reads this is not hermetic
account poison
  host 127.0.0.1
  port {server_port}
  mode starttls
  from poison@example.org
default poison
""".encode())
    state = os.path.join(home, ".local", "state", "postern")
    os.makedirs(state)
    db = os.path.join(state, "hosts.sqlite")
    # postern creates the database in its own current schema; the rows are filled by column
    # name, so the poison fits whichever schema (per host or per service) the binary has.
    res = harness.run_postern(["hosts", "--state", db])
    assert res.exit_code == 0, res.describe()
    con = sqlite3.connect(db)
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    [(table, cols)] = [(t, c) for t in tables for c in [[r[1] for r in con.execute(f"PRAGMA table_info({t})")]]
                       if "host" in c and "issuer" in c]
    values = {"profile": "strict", "tls_version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384",
              "kx": "ECDHE", "grp": "X25519", "issuer": "CN=Planted Poison CA", "key_sha256": "00" * 32,
              "seen_at": 1}
    rows = []
    for host in HOSTS:
        for mode in ("starttls", "tls"):
            for port in range(1, 65536):
                row = dict(values, host=host, port=port, mode=mode)
                rows.append(tuple(row.get(c, "") for c in cols))
    con.executemany(f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    rows)
    con.commit()
    con.close()


def tree_digest(root):
    """Every file under root with its content hash: any write, new file or removal changes it."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return out


class PoisonedHome(PosternTestCase):

    @classmethod
    def setUpClass(cls):
        harness.require_postern()
        cls._stack = contextlib.ExitStack()
        cls.certs = cls._stack.enter_context(harness.Certs(variants=False))
        cls.server = cls._stack.enter_context(harness.Aiosmtpd(cls.certs))

    @classmethod
    def tearDownClass(cls):
        cls._stack.close()

    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="postern-poisoned-home-")
        self.addCleanup(shutil.rmtree, self.home, ignore_errors=True)
        plant_poison(self.home, self.server.starttls)

    def poisoned_env(self, with_xdg):
        e = dict(os.environ, HOME=self.home)
        e.pop("POSTERN_PASSWORD", None)
        for var, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_STATE_HOME", ".local/state"),
                         ("XDG_CACHE_HOME", ".cache"), ("XDG_DATA_HOME", ".local/share")):
            if with_xdg:
                e[var] = os.path.join(self.home, sub)
            else:
                e.pop(var, None)
        return e

    def test_the_poison_breaks_a_run_that_reads_it(self):
        # Without the harness: postern started with the poisoned HOME finds the account and the memory.
        cmd = [harness.postern_bin(), "send", "--ca-file", self.certs.ca_file, "--to", "rcpt@example.net",
               "--subject", "poison", "--text", "x"]
        proc = subprocess.run(cmd, capture_output=True, env=self.poisoned_env(with_xdg=False), timeout=120)
        res = PosternResult(cmd, proc, 0)
        self.assertFailure(res, 77, "plan.downgrade")
        self.assertIn("Planted Poison CA", res.stderr)

    def test_sendmail_tests_pass_under_the_poisoned_home(self):
        before = tree_digest(self.home)
        for with_xdg in (False, True):
            proc = subprocess.run([harness.DEBIAN_PYTHON, "-m", "unittest", "test_sendmail"], cwd=harness.HERE,
                                  capture_output=True, text=True, env=self.poisoned_env(with_xdg), timeout=900)
            self.assertEqual(proc.returncode, 0,
                             f"test_sendmail under a poisoned HOME (XDG set: {with_xdg}):\n{proc.stderr[-6000:]}")
            self.assertRegex(proc.stderr, r"\nOK")
            self.assertNotRegex(proc.stderr, r"skipped=")  # git send-email and the link ran for real
            self.assertEqual(tree_digest(self.home), before, "something wrote into the poisoned HOME")


if __name__ == "__main__":
    unittest.main()
