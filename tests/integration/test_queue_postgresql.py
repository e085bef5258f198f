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
        self.qfile = PG.create_database(f"queue_{next(DATABASES)}")  # a URL where Queue has a file

    def postern(self, args, data=None, timeout=600):
        res = super().postern(args, data, timeout)
        self.assertNotIn(PASSWORD, res.stdout + res.stderr, "postern printed the queue's password" + res.describe())
        return res

if __name__ == "__main__":
    unittest.main()
