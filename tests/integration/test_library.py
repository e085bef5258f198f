"""postern as a library: the installed package, and programs outside the tree that use only it.

postern is installed into a temporary prefix (`cmake --install`); each example under
examples/ is configured and built against that prefix alone, then run against the harness's
Postfix (a legacy relay on an implicit-TLS port with RSA key exchange only, and a modern
STARTTLS port): automatic routing must pick strict STARTTLS, the RSA-only port alone must fail
with tls.kx.rsa-only, a remembered stronger route must make a weaker answer plan.downgrade,
the asynchronous call must run several submissions on one io_context and be cancellable, and
several threads must submit at once.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

import harness
from harness import PosternTestCase

SOURCE = os.environ.get("POSTERN_SOURCE_DIR", os.path.normpath(os.path.join(harness.HERE, "..", "..")))
USER, PASSWORD = "alice", "s3cret"  # harness.Aiosmtpd's default account
MSG = b"Subject: library\r\nFrom: a@example.org\r\nTo: b@example.net\r\n\r\nfrom the library\r\n"


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 900), **kw)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}")
    return p


def setUpModule():
    global CERTS, PF, TMP, PREFIX, BIN
    harness.require_postern()
    CERTS = unittest.enterModuleContext(harness.Certs(variants=False))
    PF = unittest.enterModuleContext(harness.Postfix(CERTS, ipv6=False))
    TMP = unittest.enterModuleContext(tempfile.TemporaryDirectory(prefix="postern-library-"))
    PREFIX = os.path.join(TMP, "prefix")
    build = os.path.dirname(harness.postern_bin())
    run(["cmake", "--install", build, "--prefix", PREFIX])
    BIN = {}
    for example in ("send_auto", "send_async"):
        out = os.path.join(TMP, "build-" + example)
        # Only the prefix: no package registry, no path into postern's source or build tree.
        run(["cmake", "-S", os.path.join(SOURCE, "examples", example), "-B", out, "-G", "Ninja",
             "-DCMAKE_BUILD_TYPE=RelWithDebInfo", f"-DCMAKE_PREFIX_PATH={PREFIX}",
             "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF", "-DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF"])
        run(["cmake", "--build", out])
        BIN[example] = os.path.join(out, example)


class ExampleCase(PosternTestCase):
    def run_example(self, cmd, env=None):
        """Runs an example with MSG on stdin in a fresh HOME: (exit code, its JSON, a description)."""
        env, home = harness.hermetic_env(env)
        self.addCleanup(shutil.rmtree, home, ignore_errors=True)
        p = subprocess.run(cmd, input=MSG, capture_output=True, env=env, timeout=300)
        out, err = p.stdout.decode(), p.stderr.decode()
        try:
            j = json.loads(out)
        except ValueError:
            self.fail(f"{os.path.basename(cmd[0])} printed no JSON (exit {p.returncode}):\n{out}\n{err}")
        return p.returncode, j, f"\nexit {p.returncode}\n{out}\n{err}"


class Installed(PosternTestCase):
    def test_the_prefix_holds_headers_libraries_package_pkgconfig_and_the_cli(self):
        for rel in ("include/postern/client/submit.hpp", "include/postern/client/async.hpp",
                    "include/postern/version.hpp", "lib/cmake/postern/postern-config.cmake",
                    "lib/cmake/postern/postern-config-version.cmake", "lib/cmake/postern/postern-targets.cmake",
                    "lib/pkgconfig/postern.pc", "lib/libpostern_client.a", "bin/postern"):
            self.assertTrue(os.path.exists(os.path.join(PREFIX, rel)), rel)
        link = os.path.join(PREFIX, "sbin", "sendmail")
        self.assertTrue(os.path.islink(link))
        self.assertEqual(os.path.realpath(link), os.path.realpath(os.path.join(PREFIX, "bin", "postern")))

    def test_the_installed_package_names_no_path_into_the_source_or_build_tree(self):
        build = os.path.dirname(harness.postern_bin())
        for d in ("lib/cmake/postern", "lib/pkgconfig"):
            for f in os.listdir(os.path.join(PREFIX, d)):
                text = open(os.path.join(PREFIX, d, f)).read()
                self.assertNotIn(os.path.realpath(SOURCE), text, f)
                self.assertNotIn(os.path.realpath(build), text, f)

    def test_version_of_the_header_and_of_the_cli_agree(self):
        header = open(os.path.join(PREFIX, "include/postern/version.hpp")).read()
        [version] = [l.split('"')[1] for l in header.splitlines() if l.startswith("#define POSTERN_VERSION ")]
        out = run([os.path.join(PREFIX, "bin", "postern"), "--version"]).stdout
        self.assertEqual(out.strip(), f"postern {version}")
        self.assertIn(f"## {version}", open(os.path.join(SOURCE, "CHANGELOG.md")).read())

    def test_pkg_config_builds_a_program(self):
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(PREFIX, "lib", "pkgconfig"))
        flags = run(["pkg-config", "--cflags", "--libs", "postern"], env=env).stdout.split()
        exe = os.path.join(TMP, "send_auto_pc")
        run(["c++", "-std=c++20", "-O0", os.path.join(SOURCE, "examples", "send_auto", "main.cpp"), "-o", exe]
            + flags)
        p = subprocess.run([exe], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 64, p.stderr)  # no arguments: its usage error
        self.assertIn("usage: send_auto", p.stderr)


class SendAuto(ExampleCase):
    def send_auto(self, rcpt, *extra, state=None):
        state = state or os.path.join(TMP, rcpt + ".sqlite")
        return self.run_example([BIN["send_auto"], "--server", f"localhost:{PF.rsa_only}", "--from", "a@example.org",
                                 "--to", rcpt, "--ca-file", CERTS.ca_file, "--state", state] + list(extra))

    def test_it_picks_the_strict_starttls_route_over_the_rsa_only_relay(self):
        rcpt = "lib-auto@example.net"
        rc, j, w = self.send_auto(rcpt, "--ports", str(PF.starttls))
        self.assertEqual(rc, 0, w)
        self.assertTrue(j["ok"], w)
        self.assertEqual((j["route"]["port"], j["route"]["mode"], j["route"]["profile"]),
                         (PF.starttls, "starttls", "strict"), w)
        self.assertTrue(j["route"]["automatic"], w)
        tried = {(t["port"], t["mode"]): t["result"] for t in j["route"]["tried"]}
        self.assertEqual(tried[(PF.rsa_only, "tls")], "failed", w)
        self.assertEqual(j["tls"]["profile"], "strict", w)
        [stored] = PF.store.wait_for_messages(1, rcpt=rcpt)
        self.assertIn(b"from the library", stored.data)

    def test_the_rsa_only_relay_alone_fails_with_its_cause(self):
        rcpt = "lib-rsa-only@example.net"
        rc, j, w = self.send_auto(rcpt, "--ports", str(PF.rsa_only))
        self.assertEqual(rc, 77, w)
        self.assertFalse(j["ok"], w)
        self.assertEqual(j["error"]["code"], "tls.kx.rsa-only", w)
        self.assertEqual(j["findings"][0]["code"], "tls.kx.rsa-only", w)
        self.assertIn("use-weaker-profile", [r["action"] for r in j["findings"][0]["remedies"]], w)
        PF.store.assert_no_messages(rcpt=rcpt)

    def test_allow_compat_reaches_the_relay_and_a_remembered_stronger_route_refuses_it(self):
        rcpt = "lib-compat@example.net"
        rc, j, w = self.send_auto(rcpt, "--ports", str(PF.rsa_only), "--allow", "compat")
        self.assertEqual(rc, 0, w)
        self.assertEqual(j["route"]["profile"], "compat", w)
        self.assertEqual(j["tls"]["kx"], "RSA", w)
        PF.store.wait_for_messages(1, rcpt=rcpt)
        # A memory that saw this very service do strict TLS 1.3: the same answer is now weaker.
        state = os.path.join(TMP, "lib-downgrade.sqlite")
        self.send_auto("lib-seed@example.net", "--ports", str(PF.starttls), state=state)
        con = sqlite3.connect(state)
        con.execute("UPDATE services SET port = ?, mode = 'tls', tls_version = 'TLSv1.3', kx = 'ECDHE'",
                    (PF.rsa_only,))
        con.commit()
        con.close()
        rc, j, w = self.send_auto("lib-refused@example.net", "--ports", str(PF.rsa_only), "--allow", "compat",
                                  state=state)
        self.assertEqual(rc, 77, w)
        self.assertEqual(j["error"]["code"], "plan.downgrade", w)
        PF.store.assert_no_messages(rcpt="lib-refused@example.net")

    def test_several_threads_submit_at_once_sharing_one_memory(self):
        state = os.path.join(TMP, "lib-threads.sqlite")
        rc, j, w = self.send_auto("lib-threads@example.net", "--ports", str(PF.starttls), "--threads", "6",
                                  state=state)
        self.assertEqual(rc, 0, w)
        self.assertEqual(len(j), 6, w)
        self.assertTrue(all(r["ok"] for r in j), w)
        stored = PF.store.wait_for_messages(6, rcpt="lib-threads@example.net")
        self.assertEqual(sorted(m.header("X-Send-Thread") for m in stored), [str(i) for i in range(6)])
        con = sqlite3.connect(state)
        rows = con.execute("SELECT port, mode, profile FROM services").fetchall()
        con.close()
        self.assertIn((PF.starttls, "starttls", "strict"), rows)


class Hooks(ExampleCase):
    """The transcript callback and the per-connection secret provider, against aiosmtpd's AUTH."""

    def test_the_transcript_arrives_redacted_and_the_secret_is_asked_for_per_connection(self):
        with harness.Aiosmtpd(CERTS) as server:
            rcpt = "lib-hooks@example.net"
            cmd = [BIN["send_auto"], "--server", f"127.0.0.1:{server.starttls}", "--ports", str(server.starttls),
                   "--from", "a@example.org", "--to", rcpt, "--ca-file", CERTS.ca_file, "--user", USER,
                   "--transcript", "--state", os.path.join(TMP, "hooks.sqlite")]
            rc, j, w = self.run_example(cmd, {"SEND_AUTO_PASSWORD": PASSWORD})
            err = w
            self.assertEqual(rc, 0, w)
            self.assertIsNotNone(j["auth_mechanism"], w)
            [stored] = server.wait_for_messages(1, rcpt=rcpt)
            self.assertEqual(stored.user, USER)
            # one delivery connection: the provider was asked once, for that connection
            self.assertEqual(err.count(f"send_auto: password asked for {USER} at 127.0.0.1:{server.starttls}"), 1, w)
            self.assertRegex(err, r"> EHLO ")
            self.assertRegex(err, r"> STARTTLS")
            self.assertRegex(err, r"> AUTH ")
            self.assertNotIn(PASSWORD, err)
            import base64
            for mech_blob in (f"\0{USER}\0{PASSWORD}", PASSWORD):
                self.assertNotIn(base64.b64encode(mech_blob.encode()).decode(), err)

    def test_a_failing_secret_provider_sends_nothing(self):
        with harness.Aiosmtpd(CERTS) as server:
            rcpt = "lib-hooks-nosecret@example.net"
            cmd = [BIN["send_auto"], "--server", f"127.0.0.1:{server.starttls}", "--ports", str(server.starttls),
                   "--from", "a@example.org", "--to", rcpt, "--ca-file", CERTS.ca_file, "--user", USER,
                   "--state", os.path.join(TMP, "hooks-nosecret.sqlite")]
            os.environ.pop("SEND_AUTO_PASSWORD", None)
            rc, j, w = self.run_example(cmd)
            self.assertEqual(rc, 77, w)
            self.assertEqual(j["error"]["code"], "smtp.auth-failed")
            self.assertIn("SEND_AUTO_PASSWORD is not set", j["error"]["summary"])
            server.store.assert_no_messages(wait=1.0, rcpt=rcpt)


class SendAsync(ExampleCase):
    def send_async(self, server, rcpt, *extra):
        return self.run_example([BIN["send_async"], "--server", server, "--from", "a@example.org", "--to", rcpt,
                                 "--ca-file", CERTS.ca_file, "--state", os.path.join(TMP, rcpt + ".sqlite")]
                                + list(extra))

    def test_several_submissions_run_concurrently_on_one_io_context(self):
        rcpt = "lib-async@example.net"
        rc, j, w = self.send_async(f"localhost:{PF.rsa_only}", rcpt, "--ports", str(PF.starttls), "--count", "5")
        self.assertEqual(rc, 0, w)
        self.assertEqual(len(j), 5, w)
        for r in j:
            self.assertTrue(r["ok"], w)
            self.assertEqual((r["route"]["port"], r["route"]["profile"]), (PF.starttls, "strict"), w)
        stored = PF.store.wait_for_messages(5, rcpt=rcpt)
        self.assertEqual(sorted(m.header("X-Send-Async") for m in stored), [str(i) for i in range(5)])

    def test_the_rsa_only_relay_alone_fails_with_its_cause(self):
        rc, j, w = self.send_async(f"localhost:{PF.rsa_only}", "lib-async-rsa@example.net",
                                   "--ports", str(PF.rsa_only), "--count", "2")
        self.assertEqual(rc, 77, w)
        self.assertEqual([r["error"]["code"] for r in j], ["tls.kx.rsa-only"] * 2, w)

    def test_cancellation_ends_a_submission_that_would_wait_for_its_timeout(self):
        # A server that accepts and never greets: without cancellation the reports would be
        # net.greeting-timeout (or a diagnosis) after 60 s per step.
        with harness.Faulty("silent") as silent:
            rc, j, w = self.send_async(f"127.0.0.1:{silent.port}", "lib-cancel@example.net", "--ports",
                                       str(silent.port), "--count", "3", "--timeout", "60",
                                       "--cancel-after", "1500")
        self.assertEqual(rc, 75, w)
        self.assertEqual([r["error"]["code"] for r in j], ["net.cancelled"] * 3, w)


if __name__ == "__main__":
    unittest.main()
