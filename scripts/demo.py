#!/usr/bin/python3
"""postern's demo: a real Postfix on loopback shaped like a legacy relay, and postern sending to it.

Started by scripts/demo.sh after the build. Uses the integration-test harness to run a
private Postfix instance (certificates generated on the spot, nothing from the internet):
  - port A: implicit TLS, TLS 1.2 only, RSA key exchange only (like the cloud relay on 465)
  - port B: STARTTLS with modern TLS (ECDHE, TLS 1.3)
"""
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "integration"))
import harness  # noqa: E402

POSTERN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "build", "postern"))


def show(title, args, stdin=None):
    print(f"\n=== {title}")
    print("$ postern " + " ".join(harness._shell_quote(a) for a in args))
    p = subprocess.run([POSTERN] + args, input=stdin, capture_output=True, text=True, timeout=120)
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
        rc2 = show("2. compat profile, allowed explicitly for this relay: sent, and the weaker TLS is named",
                   ["send", "--server", relay, "--tls", "--tls-profile", "compat", *common,
                    "--to", "legacy@example.net", "--subject", "Grüße über den alten Relay",
                    "--text", "Sent with RSA key exchange, because you said so.\n"])
        rc3 = show("3. strict over STARTTLS on the modern port",
                   ["send", "--server", modern, "--starttls", *common, "--to", "modern@example.net",
                    "--subject", "modern", "--text", "TLS 1.3, forward secrecy.\n"])
        show("4. the strict profile, exactly", ["tls-profile", "show", "strict"])

        print("\n=== 5. what the server received")
        got = pf.store.wait_for_messages(2, timeout=30)
        for m in got:
            print(f"--- envelope {m.sender} -> {', '.join(m.recipients)}")
            print(m.data.decode("utf-8", "replace").rstrip())
        stored_strict = [m for m in got if "strict@example.net" in m.recipients]
        ok = rc1 == 77 and rcd == 77 and rc2 == 0 and rc3 == 0 and not stored_strict
        print("\ndemo " + ("OK: strict refused the RSA-only relay, compat and strict STARTTLS delivered"
                           if ok else "FAILED"))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
