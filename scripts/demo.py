#!/usr/bin/python3
"""postern's demo: a real Postfix on loopback shaped like a legacy relay, and postern sending to it.

Started by scripts/demo.sh after the build. Uses the integration-test harness to run a
private Postfix instance (certificates generated on the spot, nothing from the internet):
  - port A: implicit TLS, TLS 1.2 only, RSA key exchange only (like the cloud relay on 465)
  - port B: STARTTLS with modern TLS (ECDHE, TLS 1.3)
and, for the downgrade step, a small TLS server on one port that answers first with TLS 1.3,
then with TLS 1.2 and RSA key exchange only.
"""
import os
import shutil
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "integration"))
import harness  # noqa: E402

POSTERN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "build", "postern"))


# The demo's own host memory, so that it neither reads nor changes yours.
STATE = tempfile.mkdtemp(prefix="postern-demo-state-")
ENV = dict(os.environ, XDG_STATE_HOME=STATE)


def show(title, args, stdin=None):
    print(f"\n=== {title}")
    print("$ postern " + " ".join(harness._shell_quote(a) for a in args))
    p = subprocess.run([POSTERN] + args, input=stdin, capture_output=True, text=True, timeout=120, env=ENV)
    for line in (p.stdout + p.stderr).rstrip().splitlines():
        print("  " + line)
    print(f"  (exit code {p.returncode})")
    return p.returncode


def main():
    with harness.Certs(variants=False) as certs, harness.Postfix(certs, ipv6=False) as pf:
        relay = f"localhost:{pf.rsa_only}"
        modern = f"localhost:{pf.starttls}"
        common = ["--ca-file", certs.ca_file, "--from", "demo@example.org", "--timeout", "20"]
        print(f"Postfix is up: legacy relay (implicit TLS, TLS 1.2, RSA key exchange only) on {relay},")
        print(f"modern STARTTLS on {modern}. Certificates: a test CA made for this run.")

        rc1 = show("1. strict profile (the default) against the legacy relay: refused",
                   ["send", "--server", relay, "--tls", *common, "--to", "strict@example.net",
                    "--subject", "strict", "--text", "this should not be sent"])
        rcd = show("1b. postern doctor on the relay: the real cause, and what to do, safest first",
                   ["doctor", relay, "--tls", "--ca-file", certs.ca_file, "--timeout", "10",
                    "--ports", f"{pf.rsa_only},{pf.starttls}"])
        rc4 = show("2. automatic routing, no mode given: both ports tried at once under strict; STARTTLS+strict wins (compat is not allowed here)",
                   ["send", "--server", "localhost", "--ports", f"{pf.rsa_only},{pf.starttls}", *common,
                    "--to", "auto@example.net", "--subject", "auto", "--text", "Routed by postern.\n"])
        rc3 = show("3. strict over STARTTLS on the modern port, named explicitly",
                   ["send", "--server", modern, "--starttls", *common, "--to", "modern@example.net",
                    "--subject", "modern", "--text", "TLS 1.3, forward secrecy.\n"])
        rc2 = show("4. compat profile, chosen explicitly for the relay's port: sent, the weaker TLS is named, and a "
                   "warning names the strict route the host memory knows on the other port",
                   ["send", "--server", relay, "--tls", "--tls-profile", "compat", *common,
                    "--to", "legacy@example.net", "--subject", "Grüße über den alten Relay",
                    "--text", "Sent with RSA key exchange, because you said so.\n"])
        # The memory is per service (host, port, mode): a downgrade is the same port answering weaker.
        with harness.TlsListener(certs, "modern") as listener:
            port = listener.port
            same = ["send", "--server", f"localhost:{port}", "--tls", *common, "--to", "same@example.net",
                    "--subject", "same port", "--text", "x\n"]
            rc5a = show(f"5. another server on localhost:{port}, TLS 1.3: sent under strict, remembered for that port",
                        same)
        with harness.TlsListener(certs, "rsa_only", port=port):
            rc5 = show(f"5b. the same port now answers with TLS 1.2 and RSA key exchange, even to compat: refused as "
                       "a possible downgrade",
                       same[:4] + ["--tls-profile", "compat"] + same[4:])
        show("6. what postern remembers, one line per service (a weaker answer from a remembered port is refused)",
             ["hosts"])
        show("7. the strict profile, exactly", ["tls-profile", "show", "strict"])

        print("\n=== 8. what the server received")
        got = pf.store.wait_for_messages(3, timeout=30)
        for m in got:
            print(f"--- envelope {m.sender} -> {', '.join(m.recipients)}")
            print(m.data.decode("utf-8", "replace").rstrip())
        stored_strict = [m for m in got if "strict@example.net" in m.recipients]
        # 5b is refused as a downgrade: 5 taught postern that this port does TLS 1.3
        ok = (rc1 == 77 and rcd == 77 and rc2 == 0 and rc3 == 0 and rc4 == 0 and rc5a == 0 and rc5 == 77
              and not stored_strict)
        shutil.rmtree(STATE, ignore_errors=True)
        print("\ndemo " + ("OK: strict refused the RSA-only relay with its cause; compat and strict STARTTLS "
                           "delivered; automatic routing chose STARTTLS+strict; a port answering weaker than it did was refused"
                           if ok else "FAILED"))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
