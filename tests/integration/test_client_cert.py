"""Client certificates (--client-cert/--client-key, SASL EXTERNAL) and the two diagnoses of
issue 8 part 5, against real servers on loopback.

Servers (started once for the module):
  TlsListener (tls_listener.py, Python ssl with CERT_REQUIRED, the test CA as client CA; sends
               TLS alerts): implicit TLS 1.3, implicit TLS 1.2, STARTTLS TLS 1.3, STARTTLS TLS 1.2
  AiosmtpdClientCert (aiosmtpd_clientcert.py, CERT_REQUIRED, AUTH EXTERNAL; stores mail):
               TLS 1.3 and TLS 1.2 instances, implicit and STARTTLS ports each
  TlsListener serving a leaf without AIA alone (no intermediate)      -> tls.cert.incomplete-chain

  (a) no client certificate              -> tls.client-cert-required, exit 77 (send, doctor, probe)
  (b) --client-cert/--client-key         -> the mail gets through (aiosmtpd stores it)
  (c) a certificate from another CA      -> "refused the given client certificate", naming the file
  (d) --auth EXTERNAL with the certificate -> AUTH EXTERNAL succeeds (with and without --user)
  (e) lone leaf, no AIA                  -> tls.cert.incomplete-chain (send, doctor, probe)
"""

import shutil
import tempfile
import unittest

import harness
from harness import PosternTestCase, run_postern, write_file

EX_USAGE, EX_NOINPUT, EX_NOPERM, EX_CONFIG = 64, 66, 77, 78

certs = None
listeners = {}
aio = {}


def setUpModule():
    global certs
    harness.require_postern()
    certs = unittest.enterModuleContext(harness.Certs(variants=True))
    harness.make_client_certs(certs)
    lone = harness.make_lone_leaf(certs)
    for name, kw in {
        "tls13": dict(mode="tls", min_version="TLSv1_3"),
        "tls12": dict(mode="tls", max_version="TLSv1_2"),
        "starttls13": dict(mode="starttls", min_version="TLSv1_3"),
        "starttls12": dict(mode="starttls", max_version="TLSv1_2"),
    }.items():
        listeners[name] = unittest.enterModuleContext(harness.TlsListener(certs, require_client_cert=True, **kw))
    listeners["lone_leaf"] = unittest.enterModuleContext(harness.TlsListener(certs, mode="tls", pair=lone))
    aio["tls13"] = unittest.enterModuleContext(harness.AiosmtpdClientCert(certs))
    aio["tls12"] = unittest.enterModuleContext(harness.AiosmtpdClientCert(certs, max_version="TLSv1_2"))


class ClientCertBase(PosternTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="postern-test-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.rcpt = f"{self._testMethodName}@example.net".lower()
        self.data = (f"From: sender@example.org\r\nTo: {self.rcpt}\r\nSubject: {self._testMethodName}\r\n\r\n"
                     "client certificate test\r\n").encode()
        self.file = write_file(self.tmp, "m.eml", self.data)

    def send(self, port, mode="--tls", extra=(), ca=True):
        args = ["send", "--server", f"127.0.0.1:{port}", mode, "--from", "sender@example.org",
                "--to", self.rcpt, "--timeout", "15", "--state", f"{self.tmp}/hosts.sqlite"]
        if ca:
            args += ["--ca-file", certs.ca_file]
        return run_postern(args + list(extra) + [self.file])

    def doctor(self, port, mode="--tls", extra=(), ca=True):
        args = ["doctor", f"127.0.0.1:{port}", mode, "--json", "--timeout", "10", "--ports", str(port)]
        if ca:
            args += ["--ca-file", certs.ca_file]
        return run_postern(args + list(extra))

    def probe(self, port, extra=(), ca=True):
        args = ["probe", f"127.0.0.1:{port}", "--json", "--timeout", "10"]
        if ca:
            args += ["--ca-file", certs.ca_file]
        res = run_postern(args + list(extra))
        j = self.assertJson(res)
        self.assertEqual(len(j["targets"]), 1, res.describe())
        return res, j["targets"][0]

    def client(self):
        return ["--client-cert", certs.client.cert, "--client-key", certs.client.key]

    def foreign(self):
        return ["--client-cert", certs.foreign_client.cert, "--client-key", certs.foreign_client.key]

    def main_finding(self, res, code):
        j = self.assertJson(res)
        self.assertEqual(res.exit_code, EX_NOPERM, res.describe())
        self.assertTrue(j["findings"], res.describe())
        main = j["findings"][0]
        self.assertEqual(main["code"], code, res.describe())
        return main


# -- (a) no client certificate --------------------------------------------------------------
class RequiredWithoutCertificate(ClientCertBase):

    def check_send(self, name, mode):
        res = self.send(listeners[name].port, mode)
        self.assertFailure(res, EX_NOPERM, "tls.client-cert-required")
        self.assertIn("--client-cert", res.stderr, res.describe())
        self.assertNotIn("net.closed", res.stderr, res.describe())

    def check_doctor(self, name, mode):
        res = self.doctor(listeners[name].port, mode)
        main = self.main_finding(res, "tls.client-cert-required")
        acts = [r["action"] for r in main["remedies"]]
        self.assertIn("add-client-cert", acts, res.describe())
        self.assertIn("--client-cert", self.remedy(main, "add-client-cert")["command"], res.describe())
        self.assertNotIn("use-insecure", acts, res.describe())

    @staticmethod
    def remedy(main, action):
        return next(r for r in main["remedies"] if r["action"] == action)

    def test_send_tls13_implicit(self):
        self.check_send("tls13", "--tls")

    def test_send_tls12_implicit(self):
        self.check_send("tls12", "--tls")

    def test_send_tls13_starttls(self):
        self.check_send("starttls13", "--starttls")

    def test_send_tls12_starttls(self):
        self.check_send("starttls12", "--starttls")

    def test_send_tls13_aiosmtpd_no_alert(self):
        # asyncio closes without the alert: the CertificateRequest alone must carry the diagnosis.
        res = self.send(aio["tls13"].implicit, "--tls")
        self.assertFailure(res, EX_NOPERM, "tls.client-cert-required")

    def test_doctor_tls13_implicit(self):
        self.check_doctor("tls13", "--tls")

    def test_doctor_tls12_implicit(self):
        self.check_doctor("tls12", "--tls")

    def test_doctor_tls13_starttls(self):
        self.check_doctor("starttls13", "--starttls")

    def test_doctor_tls12_starttls(self):
        self.check_doctor("starttls12", "--starttls")

    def check_probe(self, name):
        res, t = self.probe(listeners[name].port)
        self.assertNotEqual(t["mode"], "closed", res.describe())
        self.assertIs(t.get("client_cert_required"), True, res.describe())
        codes = [f["code"] for f in t["findings"]]
        self.assertIn("tls.client-cert-required", codes, res.describe())
        self.assertNotIn("net.closed", codes, res.describe())
        # The raw-hello scan is not affected by the client-certificate demand.
        want = "TLSv1.3" if name.endswith("13") else "TLSv1.2"
        accepted = {v["version"] for v in t["versions"] if v["accepted"]}
        self.assertEqual(accepted, {want}, res.describe())
        self.assertTrue(t["suites"], res.describe())
        self.assertTrue(all(not c["ok"] and c["code"] == "tls.client-cert-required"
                            for c in t["clients"] if c["code"] != "tls.handshake-failed"), res.describe())
        self.assertIsNone(t.get("chain_problem"), res.describe())

    def test_probe_tls13_implicit(self):
        self.check_probe("tls13")

    def test_probe_tls12_implicit(self):
        self.check_probe("tls12")

    def test_probe_tls13_starttls(self):
        self.check_probe("starttls13")


# -- (b) with a client certificate the mail gets through ------------------------------------
class WithCertificate(ClientCertBase):

    def check_delivered(self, server, port, mode, extra):
        res = self.send(port, mode, extra)
        self.assertOk(res)
        got = server.wait_for_messages(1, rcpt=self.rcpt)[0]
        self.assertEqual(got.meta.get("client_cn"), "postern test client", got.meta)
        return res, got

    def test_tls13_implicit(self):
        self.check_delivered(aio["tls13"], aio["tls13"].implicit, "--tls", self.client())

    def test_tls12_implicit(self):
        self.check_delivered(aio["tls12"], aio["tls12"].implicit, "--tls", self.client())

    def test_tls13_starttls(self):
        self.check_delivered(aio["tls13"], aio["tls13"].starttls, "--starttls", self.client())

    def test_key_in_the_certificate_file(self):
        self.check_delivered(aio["tls13"], aio["tls13"].implicit, "--tls", ["--client-cert", certs.client.both])

    def test_doctor_healthy_with_certificate(self):
        res = self.doctor(listeners["tls13"].port, "--tls", self.client())
        self.assertExit(res, 0)
        self.assertIs(self.assertJson(res)["ok"], True, res.describe())

    def test_probe_with_certificate(self):
        res, t = self.probe(listeners["tls12"].port, self.client())
        self.assertIs(t.get("client_cert_required"), False, res.describe())
        self.assertTrue(any(c["ok"] for c in t["clients"]), res.describe())
        self.assertIs(t.get("chain_verifies"), True, res.describe())


# -- (c) a certificate from another CA ------------------------------------------------------
class ForeignCertificate(ClientCertBase):

    def check(self, port, mode):
        res = self.send(port, mode, self.foreign())
        self.assertFailure(res, EX_NOPERM, "tls.client-cert-required")
        self.assertIn("refused the given client certificate", res.stderr, res.describe())
        self.assertIn(certs.foreign_client.cert, res.stderr, res.describe())
        return res

    def test_send_tls13(self):
        self.check(listeners["tls13"].port, "--tls")

    def test_send_tls12(self):
        self.check(listeners["tls12"].port, "--tls")

    def test_send_tls13_starttls(self):
        self.check(listeners["starttls13"].port, "--starttls")

    def test_doctor(self):
        res = self.doctor(listeners["tls13"].port, "--tls", self.foreign())
        main = self.main_finding(res, "tls.client-cert-required")
        self.assertIn("refused the given client certificate", main["summary"], res.describe())
        acts = [r["action"] for r in main["remedies"]]
        self.assertIn("replace-client-cert", acts, res.describe())

    def test_probe(self):
        res, t = self.probe(listeners["tls12"].port, self.foreign())
        self.assertIs(t.get("client_cert_required"), True, res.describe())
        self.assertIn("tls.client-cert-required", [f["code"] for f in t["findings"]], res.describe())


# -- (d) SASL EXTERNAL ----------------------------------------------------------------------
class SaslExternal(ClientCertBase):

    def test_external_without_user_sends_empty_authzid(self):
        s = aio["tls13"]
        res = self.send(s.implicit, "--tls", self.client() + ["--auth", "EXTERNAL", "--json"])
        self.assertOk(res)
        self.assertEqual(res.json.get("auth_mechanism"), "EXTERNAL", res.describe())
        got = s.wait_for_messages(1, rcpt=self.rcpt)[0]
        self.assertEqual(got.meta.get("auth_cn"), "postern test client", got.meta)
        self.assertEqual(got.meta.get("authzid"), "", got.meta)

    def test_external_with_user_as_authzid(self):
        s = aio["tls12"]
        res = self.send(s.starttls, "--starttls",
                        self.client() + ["--auth", "external", "--user", "alice@example.org"])
        self.assertOk(res)
        got = s.wait_for_messages(1, rcpt=self.rcpt)[0]
        self.assertEqual(got.meta.get("authzid"), "alice@example.org", got.meta)
        self.assertEqual(got.meta.get("auth_cn"), "postern test client", got.meta)

    def test_external_needs_a_client_certificate(self):
        res = self.send(aio["tls13"].implicit, "--tls", ["--auth", "EXTERNAL"])
        self.assertFailure(res, EX_USAGE, "usage")
        self.assertIn("--client-cert", res.stderr, res.describe())

    def test_external_is_never_chosen_unasked(self):
        # The server offers only EXTERNAL; --user with a password must not turn into EXTERNAL.
        before = len(aio["tls13"].auth_attempts())
        res = run_postern(["send", "--server", f"127.0.0.1:{aio['tls13'].implicit}", "--tls",
                           "--ca-file", certs.ca_file, "--from", "sender@example.org", "--to", self.rcpt,
                           "--user", "alice", "--timeout", "15", "--state", f"{self.tmp}/hosts.sqlite"]
                          + self.client() + [self.file], env={"POSTERN_PASSWORD": "s3cret"})
        self.assertNotEqual(res.exit_code, 0, res.describe())
        self.assertEqual(len(aio["tls13"].auth_attempts()), before, res.describe())
        self.assertFalse(any(self.rcpt in m.recipients for m in aio["tls13"].store.messages()))


# -- usage and file errors before connecting ------------------------------------------------
class BadFiles(ClientCertBase):

    def test_unreadable_certificate(self):
        res = self.send(listeners["tls13"].port, "--tls", ["--client-cert", "/nonexistent/me.pem"])
        self.assertFailure(res, EX_NOINPUT, "input")
        self.assertIn("/nonexistent/me.pem", res.stderr, res.describe())

    def test_key_does_not_match(self):
        res = self.send(listeners["tls13"].port, "--tls",
                        ["--client-cert", certs.client.cert, "--client-key", certs.foreign_client.key])
        self.assertFailure(res, EX_CONFIG, "config")
        self.assertIn(certs.foreign_client.key, res.stderr, res.describe())

    def test_not_a_certificate(self):
        res = self.send(listeners["tls13"].port, "--tls", ["--client-cert", certs.client.key])
        self.assertFailure(res, EX_CONFIG, "config")

    def test_key_without_certificate(self):
        res = self.send(listeners["tls13"].port, "--tls", ["--client-key", certs.client.key])
        self.assertFailure(res, EX_USAGE, "usage")

    def test_doctor_and_probe_check_too(self):
        for args in (["doctor", f"127.0.0.1:{listeners['tls13'].port}"], ["probe", f"127.0.0.1:{listeners['tls13'].port}"]):
            res = run_postern(args + ["--client-cert", "/nonexistent/me.pem"])
            self.assertFailure(res, EX_NOINPUT, "input")

    def test_account_keys(self):
        cfg = write_file(self.tmp, "config", (
            "account cc\n"
            f"  host 127.0.0.1\n  port {aio['tls13'].implicit}\n  mode tls\n"
            f"  ca-file {certs.ca_file}\n  client-cert {certs.client.cert}\n  client-key {certs.client.key}\n"
            "  from sender@example.org\n").encode())
        res = run_postern(["send", "--config", cfg, "--account", "cc", "--to", self.rcpt,
                           "--state", f"{self.tmp}/hosts.sqlite", self.file])
        self.assertOk(res)
        aio["tls13"].wait_for_messages(1, rcpt=self.rcpt)


# -- (e) a lone leaf without AIA ------------------------------------------------------------
class LoneLeaf(ClientCertBase):

    def test_send(self):
        res = self.send(listeners["lone_leaf"].port, "--tls")
        self.assertFailure(res, EX_NOPERM, "tls.cert.incomplete-chain")
        self.assertIn("lacks the intermediate", res.stderr, res.describe())

    def test_doctor(self):
        res = self.doctor(listeners["lone_leaf"].port, "--tls")
        main = self.main_finding(res, "tls.cert.incomplete-chain")
        self.assertIn("private CA", main["summary"], res.describe())
        acts = [r["action"] for r in main["remedies"]]
        self.assertIn("fix-server", acts, res.describe())
        self.assertIn("add-ca-file", acts, res.describe())
        self.assertLess(acts.index("fix-server"), acts.index("add-ca-file"), res.describe())

    def test_probe(self):
        res, t = self.probe(listeners["lone_leaf"].port)
        self.assertEqual(t.get("chain_problem"), "tls.cert.incomplete-chain", res.describe())
        self.assertEqual(len(t.get("chain", [])), 1, res.describe())


if __name__ == "__main__":
    unittest.main()
