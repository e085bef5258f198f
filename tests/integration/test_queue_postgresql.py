"""The queue on PostgreSQL (docs/queue.md), against a private server (harness_postgresql.PostgreSQL).

StoreSemantics runs tests/queue_store/store_test.cpp (the queue_store_test program, built with
postern) against the server: add / take_due / committing / finish, an expired lease due again,
an expired lease after committing → unknown, concurrent takers on separate connections, the
schema created once by processes opening at once, a lost connection, and passwords kept out of
every message.

QueueOnPostgreSQL is test_queue.Queue (the queue's integration tests, written for SQLite) with the
queue in a fresh PostgreSQL database per test instead of a file: the same commands must behave the
same. Among them: three `postern queue run` processes drain 5,000 messages (none twice, none left
behind, counted by Message-ID at the server), and `queue run` killed with SIGKILL at random points
during 500 deliveries, restarted: each message delivered once or listed unknown. On top, nothing
postern prints holds the password of the URL it was given.
"""
import itertools
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
import test_queue
from harness_postgresql import PASSWORD, PostgreSQL

DATABASES = itertools.count(1)


def setUpModule():
    global PG
    harness.require_postern()
    PG = unittest.enterModuleContext(PostgreSQL())


def store_test_bin():
    return os.path.join(os.path.dirname(harness.postern_bin()), "tests", "queue_store_test")


class StoreSemantics(unittest.TestCase):
    def test_store_contract_on_postgresql(self):
        exe = store_test_bin()
        self.assertTrue(os.access(exe, os.X_OK), f"{exe} is missing: build the queue_store_test target")
        url = PG.create_database("store_semantics")
        env, home = harness.hermetic_env({"POSTERN_TEST_QUEUE": url})
        self.addCleanup(shutil.rmtree, home, True)
        p = subprocess.run([exe, "--gtest_color=no"], capture_output=True, text=True, env=env, timeout=600)
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 0, out[-8000:] + PG.log_tail())
        m = re.search(r"\[  PASSED  \] (\d+) tests?\.", out)
        self.assertIsNotNone(m, out[-4000:])
        # Every test of the program ran (none filtered out or skipped).
        listed = subprocess.run([exe, "--gtest_list_tests"], capture_output=True, text=True, env=env, timeout=60)
        count = sum(1 for line in listed.stdout.splitlines() if line.startswith("  "))
        self.assertGreaterEqual(count, 12, listed.stdout)
        self.assertEqual(int(m.group(1)), count, out[-4000:])
        self.assertNotIn("SKIPPED", out)


class QueueOnPostgreSQL(test_queue.Queue):
    """Every test of test_queue.Queue, on PostgreSQL."""

    def setUp(self):
        super().setUp()
        self.database = f"queue_{next(DATABASES)}"
        self.qfile = PG.create_database(self.database)  # a URL where Queue has a file

    def assert_not_stored(self, secret: bytes):
        rows = PG.psql(self.database, "SELECT count(*) FROM postern_queue")
        self.assertNotEqual(rows, "0", "nothing queued: the check would prove nothing")
        text = secret.decode()
        found = PG.psql(self.database, f"SELECT count(*) FROM postern_queue q WHERE strpos(q::text, '{text}') > 0 "
                                       f"OR position('{text}'::bytea in content) > 0")
        self.assertEqual(found, "0", f"a row of the queue holds {secret!r}")

    def test_database_crash_during_deliveries(self):
        """PostgreSQL crashes and comes back while a worker delivers 300 messages: the worker stops
        with queue.store naming the lost connection; restarted, it delivers the rest, and every
        message arrived exactly once or is listed unknown."""
        port = harness.free_port()
        ids = self.queue_many(300, port)
        with test_queue.FaultyAt("reject-some", port) as server:
            p = self.run_proc("--lease", "3")
            while len(os.listdir(server.store.path)) < 60 and p.poll() is None:
                time.sleep(0.02)
            self.assertIsNone(p.poll(), "the worker finished before the crash: the test proved nothing")
            PG.crash_and_restart()
            _, err = p.communicate(timeout=600)
            err = err.decode(errors="replace")
            self.assertNotIn(PASSWORD, err)
            if p.returncode != 0:
                self.assertIn("[queue.store]", err)
                self.assertIn("connection", err)
            for _ in range(20):
                if not any(m["state"] == "queued" for m in self.listing()):
                    break
                time.sleep(3.5)  # leases of the stopped worker expire
                self.assertOk(self.queue("run", "--lease", "3"))
            listed = {m["message_id"]: m["state"] for m in self.listing("--all")}
            stored = self.stored_ids(server)
            self.assertEqual([k for k, v in stored.items() if v > 1], [], "delivered twice")
            self.assertEqual(set(listed), set(ids))
            wrong = {k: (v, stored.get(k, 0)) for k, v in listed.items()
                     if not (v == "delivered" and stored.get(k) == 1 or v == "unknown")}
            self.assertEqual(wrong, {}, "neither delivered once nor unknown")
            print(f"\n  crash test: worker exit {p.returncode}, "
                  f"{sum(v == 'delivered' for v in listed.values())} delivered, "
                  f"{sum(v == 'unknown' for v in listed.values())} unknown; {err.strip()[:300]}", flush=True)

    def postern(self, args, data=None, timeout=600):
        res = super().postern(args, data, timeout)
        self.assertNotIn(PASSWORD, res.stdout + res.stderr, "postern printed the queue's password" + res.describe())
        return res

class DatabaseDown(harness.PosternTestCase):
    """A queue whose database cannot be reached: the cause is named, the password is not, and a
    message that could not be queued is not reported as accepted (sendmail mode exits 75)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="postern-pg-down-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        closed = harness.closed_port()
        self.url = f"postgresql://postern:{PASSWORD}@127.0.0.1:{closed}/queue?connect_timeout=5"
        self.shown = f"postgresql://postern@127.0.0.1:{closed}/queue?connect_timeout=5"

    def assertNamesCause(self, res):
        self.assertNotIn(PASSWORD, res.stdout + res.stderr, res.describe())
        self.assertIn(self.shown, res.stderr, res.describe())
        self.assertIn("refused", res.stderr, res.describe())

    def test_queue_list_names_the_database_and_its_reason(self):
        res = harness.run_postern(["queue", "list", "--queue", self.url])
        self.assertFailure(res, 75, "queue.unavailable")
        self.assertNamesCause(res)

    def test_sendmail_with_relay_and_database_down_does_not_claim_queued(self):
        config = os.path.join(self.tmp, "config")
        with open(config, "w") as f:
            f.write(f"account local\n  host 127.0.0.1\n  port {harness.closed_port()}\n  mode plain\n"
                    f"  from sender@example.org\n  queue on-failure\n  queue-location {self.url}\n"
                    "default local\n")
        msg = b"From: sender@example.org\r\nTo: r@example.net\r\nSubject: down\r\n\r\nbody\r\n"
        res = harness.run_postern(["-C", config, "-t", "-i"], input=msg)
        self.assertFailure(res, 75, "queue.unavailable")
        self.assertNotIn("queued ", res.stderr, res.describe())
        self.assertNamesCause(res)


if __name__ == "__main__":
    unittest.main()
