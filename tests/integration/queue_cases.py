"""Queue tests that hold for every store: a mixin, parametrised by where the queue is.

A test class mixes QueueCases into a PosternTestCase and gives `queue_location(name)` (a fresh,
empty queue: a SQLite file, or a PostgreSQL database URL) and `smtp` (a harness.Aiosmtpd whose
plain port receives the mail). test_queue_postgresql.py runs them on PostgreSQL; the SQLite twin is
the same mixin with a file path:

    class DrainSqlite(queue_cases.QueueCases, PosternTestCase):
        def queue_location(self, name):
            return os.path.join(self.tmp, name + ".sqlite")

Messages are counted by Message-ID at the server: every one arrives exactly once, or (after a
kill) is listed as unknown and arrived at most once; none is left queued.
"""
import collections
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time

import harness


class QueueCases:
    """Needs queue_location(name) and self.smtp (harness.Aiosmtpd); sets up self.tmp."""

    DRAIN_MESSAGES = 5000
    DRAIN_WORKERS = 3
    KILL_MESSAGES = 500
    secret = None  # a password in the queue location: must appear in no output of postern

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="postern-queue-cases-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    # -- helpers -----------------------------------------------------------
    def write_config(self, location):
        """A config whose account `q` queues every message (queue always) for aiosmtpd's plain port."""
        path = os.path.join(self.tmp, "config")
        with open(path, "w") as f:
            f.write(f"account q\n  host 127.0.0.1\n  port {self.smtp.plain}\n  mode plain\n"
                    f"  from queue-test@example.org\n  queue always\n  queue-location {location}\n")
        return path

    def enqueue(self, location, tag, n):
        """Queues n messages with Message-ID <tag-i@queue.test> through `postern send --account q`;
        returns the set of Message-IDs."""
        config = self.write_config(location)
        folder = os.path.join(self.tmp, tag)
        os.makedirs(folder)
        files, ids = [], set()
        for i in range(n):
            mid = f"<{tag}-{i:05d}@queue.test>"
            ids.add(mid)
            p = os.path.join(folder, f"{i:05d}.eml")
            with open(p, "wb") as f:
                f.write(f"From: queue-test@example.org\r\nTo: {tag}@example.net\r\nSubject: {tag} {i}\r\n"
                        f"Message-ID: {mid}\r\n\r\nmessage {i} of {n}\r\n".encode())
            files.append(p)
        # One process queues them all, as many files over one send.
        r = harness.run_postern(["send", "--config", config, "--account", "q", "--to", f"{tag}@example.net"] + files,
                                timeout=1800)
        self.assertExit(r, 0)
        self.assertEqual(r.stderr.count("postern: queued "), n, r.describe())
        self.assert_no_secret(r.stdout + r.stderr)
        return ids

    def queue_list(self, location):
        r = harness.run_postern(["queue", "list", "--queue", location, "--all", "--json"], timeout=600)
        self.assertExit(r, 0)
        self.assert_no_secret(r.stdout + r.stderr)
        return self.assertJson(r)["messages"]

    def start_worker(self, location, *extra):
        env, home = harness.hermetic_env()
        self.addCleanup(shutil.rmtree, home, True)
        log = open(os.path.join(self.tmp, f"worker-{time.monotonic_ns()}.log"), "wb")
        self.addCleanup(log.close)
        cmd = [harness.require_postern(), "queue", "run", "--queue", location] + list(extra)
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        p.log_path = log.name
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        return p

    def worker_output(self, p):
        with open(p.log_path, errors="replace") as f:
            out = f.read()
        self.assert_no_secret(out)
        return out[-4000:]

    def assert_no_secret(self, text):
        if self.secret:
            self.assertNotIn(self.secret, text, "postern printed the queue's password")

    def arrived(self, tag):
        """Message-ID → how many copies the server stored, for messages of @tag."""
        counts = collections.Counter()
        for name in os.listdir(self.smtp.store_dir):
            if not name.endswith(".eml"):
                continue
            with open(os.path.join(self.smtp.store_dir, name), "rb") as f:
                head = f.read(4096).split(b"\r\n\r\n", 1)[0].decode(errors="replace")
            for line in head.split("\r\n"):
                if line.lower().startswith("message-id:"):
                    mid = line.split(":", 1)[1].strip()
                    if mid.startswith(f"<{tag}-"):
                        counts[mid] += 1
        return counts

    # -- the cases ---------------------------------------------------------
    def test_three_workers_drain_5000_messages(self):
        tag = "drain"
        location = self.queue_location(tag)
        ids = self.enqueue(location, tag, self.DRAIN_MESSAGES)
        workers = [self.start_worker(location) for _ in range(self.DRAIN_WORKERS)]
        for w in workers:
            w.wait(timeout=3600)
        for w in workers:
            out = self.worker_output(w)
            self.assertEqual(w.returncode, 0, out)
        arrived = self.arrived(tag)
        twice = {m: c for m, c in arrived.items() if c > 1}
        self.assertEqual(twice, {}, "delivered more than once")
        self.assertEqual(set(arrived), ids, f"missing: {sorted(ids - set(arrived))[:10]}")
        states = collections.Counter(m["state"] for m in self.queue_list(location))
        self.assertEqual(states, {"delivered": self.DRAIN_MESSAGES})

    def test_worker_killed_at_random_points(self):
        tag = "kill"
        location = self.queue_location(tag)
        ids = self.enqueue(location, tag, self.KILL_MESSAGES)
        seed = int(os.environ.get("POSTERN_KILL_SEED", random.randrange(1 << 30)))
        rng = random.Random(seed)
        killed_mid_run = 0
        lease = "3"  # a killed worker's messages are due again 3 s later
        for _ in range(12):
            w = self.start_worker(location, "--lease", lease)
            time.sleep(rng.uniform(0.05, 1.5))
            if w.poll() is None:
                w.send_signal(signal.SIGKILL)
                killed_mid_run += 1
            w.wait(timeout=600)
            if not any(m["state"] == "queued" for m in self.queue_list(location)):
                break
        self.assertGreater(killed_mid_run, 0, f"no worker was killed while running (seed {seed})")
        # Restarted without kills until nothing is queued (leases of the killed ones expire first).
        deadline = time.monotonic() + 1800
        while any(m["state"] == "queued" for m in self.queue_list(location)):
            self.assertLess(time.monotonic(), deadline, f"messages still queued (seed {seed})")
            w = self.start_worker(location, "--lease", lease)
            w.wait(timeout=1800)
            self.assertEqual(w.returncode, 0, self.worker_output(w))
            time.sleep(1)
        arrived = self.arrived(tag)
        listed = {m["message_id"]: m for m in self.queue_list(location)}
        self.assertEqual(set(listed), ids)
        problems = []
        for mid in sorted(ids):
            state, copies = listed[mid]["state"], arrived.get(mid, 0)
            if state == "delivered" and copies != 1:
                problems.append(f"{mid} delivered, {copies} copies")
            elif state == "unknown" and copies > 1:
                problems.append(f"{mid} unknown, {copies} copies")
            elif state not in ("delivered", "unknown"):
                problems.append(f"{mid} {state}, {copies} copies: {listed[mid]['last_summary']}")
        self.assertEqual(problems, [], f"seed {seed}, {killed_mid_run} kills")
        unknown = sum(1 for m in listed.values() if m["state"] == "unknown")
        print(f"\nkill test (seed {seed}): {killed_mid_run} kills, {len(ids) - unknown} delivered once, "
              f"{unknown} unknown", flush=True)
