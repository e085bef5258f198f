"""TLS profiles and certificate verification against Postfix listeners.

The rsa_only listener accepts only TLS 1.2 with RSA key exchange
(AES128-GCM-SHA256, AES256-GCM-SHA384), like a certain cloud provider's relay:
the strict profile (rustls-equivalent) must fail with a handshake failure and
the compat profile must get the message through.
"""

import shutil
import tempfile
import unittest

import harness
from harness import PosternTestCase, run_postern, write_file

certs = postfix = None


def setUpModule():
    global certs, postfix
    harness.require_postern()
    certs = unittest.enterModuleContext(harness.Certs(variants=True))
    postfix = unittest.enterModuleContext(harness.Postfix(certs))


class TlsProfiles(PosternTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="postern-test-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.rcpt = f"{self._testMethodName}@example.net".lower()
        self.data = (f"From: sender@example.org\r\nTo: {self.rcpt}\r\nSubject: {self._testMethodName}\r\n\r\n"
                     "TLS profile test\r\n").encode()
        self.file = write_file(self.tmp, "m.eml", self.data)

    def send(self, port, mode="--tls", profile=None, ca=True, extra=()):
        args = ["send", "--server", f"127.0.0.1:{port}", mode, "--from", "sender@example.org",
                "--to", self.rcpt, "--timeout", "20"]
        if profile:
            args += ["--tls-profile", profile]
        if ca:
            args += ["--ca-file", certs.ca_file]
        return run_postern(args + list(extra) + [self.file])

    # -- RSA key exchange only ----------------------------------------------------
    def test_rsa_only_strict_fails_with_handshake_failure(self):
        res = self.send(postfix.rsa_only, profile="strict")
        # Until diagnosis lands the code is the generic one; afterwards tls.kx.rsa-only.
        self.assertFailure(res, 77, ("tls.handshake-failed", "tls.kx.rsa-only"))
        self.assertRegex(res.stderr.lower(), r"handshake|rsa key exchange|forward secrecy", res.describe())
        postfix.store.assert_no_messages(wait=1.0, rcpt=self.rcpt)

    def test_rsa_only_strict_json(self):
        res = self.send(postfix.rsa_only, profile="strict", extra=["--json"])
        j = self.assertJsonError(res, 77, ("tls.handshake-failed", "tls.kx.rsa-only"))
        self.assertEqual(j["mode"], "tls")
        self.assertTrue(j["error"]["summary"], res.describe())
        self.assertFalse(any(m.get("delivered") for m in j.get("messages") or []), res.describe())

    def test_rsa_only_compat_succeeds(self):
        res = self.send(postfix.rsa_only, profile="compat", extra=["--json"])
        self.assertOk(res)
        j = self.assertJson(res)
        tls = j["tls"]
        self.assertEqual(tls["profile"], "compat", res.describe())
        self.assertEqual(tls["kx"], "RSA", res.describe())
        self.assertRegex(tls["version"], r"^TLS ?v?1\.2$", res.describe())
        self.assertRegex(tls["cipher"], r"^TLS_RSA_WITH_AES_(128|256)_GCM_SHA(256|384)$", res.describe())
        [stored] = postfix.wait_for_messages(1, rcpt=self.rcpt)
        self.assertSameMessage(self.data, stored)
        # Postfix's own Received: header confirms the RSA suite.
        self.assertRegex(stored.raw.split(b"\n\n", 1)[0].decode(), r"using TLSv1\.2 with cipher AES(128|256)-GCM-SHA(256|384)")

    def test_modern_listener_strict_and_compat_both_ecdhe(self):
        # compat must not pick RSA key exchange when ECDHE is available.
        res = self.send(postfix.implicit, profile="compat", extra=["--json"])
        self.assertOk(res)
        j = self.assertJson(res)
        self.assertNotEqual(j["tls"]["kx"], "RSA", res.describe())
        postfix.wait_for_messages(1, rcpt=self.rcpt)

    # -- certificate verification -------------------------------------------------
    def test_wrong_tls_name_is_hostname_mismatch(self):
        res = self.send(postfix.implicit, extra=["--tls-name", "mail.example.com"])
        self.assertFailure(res, 77, "tls.cert.hostname-mismatch")
        postfix.store.assert_no_messages(wait=1.0, rcpt=self.rcpt)

    def test_right_tls_name_connects(self):
        res = self.send(postfix.implicit, extra=["--tls-name", "localhost"])
        self.assertOk(res)
        postfix.wait_for_messages(1, rcpt=self.rcpt)

    def test_certificate_for_other_name(self):
        # The certificate names only mail.example.net; we ask for localhost.
        res = self.send(postfix.cert_ports["wrong_name"], extra=["--tls-name", "localhost"])
        self.assertFailure(res, 77, "tls.cert.hostname-mismatch")

    def test_ip_address_not_in_certificate(self):
        # Connecting by IP without --tls-name checks the IP against the SAN:
        # the wrong_name certificate has no IP SAN, so that is a name mismatch too.
        res = self.send(postfix.cert_ports["wrong_name"])
        self.assertFailure(res, 77, "tls.cert.hostname-mismatch")

    def test_no_ca_file_is_untrusted(self):
        # The test CA is not in the system store, and Postfix sends the leaf alone: a lone
        # leaf that is not self-signed is tls.cert.incomplete-chain (issue 8 part 5).
        res = self.send(postfix.implicit, ca=False)
        self.assertFailure(res, 77, ("tls.cert.incomplete-chain",))
        postfix.store.assert_no_messages(wait=1.0, rcpt=self.rcpt)

    def test_no_ca_file_starttls_is_untrusted(self):
        res = self.send(postfix.starttls, mode="--starttls", ca=False)
        self.assertFailure(res, 77, ("tls.cert.incomplete-chain",))

    def test_insecure_succeeds_without_ca(self):
        res = self.send(postfix.implicit, ca=False, extra=["--insecure"])
        self.assertOk(res)
        [stored] = postfix.wait_for_messages(1, rcpt=self.rcpt)
        self.assertSameMessage(self.data, stored)

    def test_insecure_does_not_weaken_the_profile(self):
        # --insecure turns off verification only: strict still refuses RSA kx.
        res = self.send(postfix.rsa_only, profile="strict", ca=False, extra=["--insecure"])
        self.assertFailure(res, 77, ("tls.handshake-failed", "tls.kx.rsa-only"))

    # -- wrong mode -------------------------------------------------------------
    def test_implicit_tls_to_starttls_port(self):
        res = self.send(postfix.starttls, mode="--tls")
        self.assertFailure(res, 77, ("mode.tls-on-plaintext-port", "tls.handshake-failed"))
        postfix.store.assert_no_messages(wait=0.5, rcpt=self.rcpt)


class CertificateVariants(PosternTestCase):
    """Listeners presenting broken certificates; each has its own cause code."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="postern-test-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.file = write_file(self.tmp, "m.eml", b"Subject: cert\r\n\r\nx\r\n")

    def send(self, variant, extra=()):
        return run_postern(["send", "--server", f"127.0.0.1:{postfix.cert_ports[variant]}", "--tls",
                            "--ca-file", certs.ca_file, "--from", "a@example.org", "--to", "cert@example.net",
                            "--timeout", "20"] + list(extra) + [self.file])

    def test_expired(self):
        self.assertFailure(self.send("expired"), 77, "tls.cert.expired")

    def test_self_signed(self):
        self.assertFailure(self.send("self_signed"), 77, ("tls.cert.self-signed", "tls.cert.untrusted"))

    def test_incomplete_chain(self):
        self.assertFailure(self.send("incomplete"), 77, ("tls.cert.incomplete-chain",))

    def test_full_chain_with_intermediate_succeeds(self):
        self.assertOk(self.send("full_chain"))

    def test_expired_insecure_succeeds(self):
        self.assertOk(self.send("expired", extra=["--insecure"]))


if __name__ == "__main__":
    unittest.main()
