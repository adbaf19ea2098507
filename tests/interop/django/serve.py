#!/usr/bin/env python
"""The django-oauth-toolkit test server for grantline's interop suite.

Run it with the venv that tests/interop/setup.sh creates:

    tests/interop/django/.venv/bin/python tests/interop/django/serve.py

It picks a free port on 127.0.0.1, migrates a fresh sqlite database in a temporary directory,
generates the OpenID Connect signing key, creates the test user and one application per grant
(django-oauth-toolkit allows one grant per application), starts
`manage.py runserver 127.0.0.1:PORT --noreload` as a child, waits until its OpenID Connect
discovery answers 200, and prints ONE JSON line on stdout:

    {"issuer": "http://127.0.0.1:PORT/o", "user": {...}, "clients": {"confidential": {...}, ...}}

It then waits for its stdin to close, stops the child and removes the temporary directory. The
child also gets SIGTERM from the kernel if this process dies without cleaning up (SIGKILL), so
the server never outlives the test process. See ../../../../shared/peers.md for the facts this
configuration relies on.
"""

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
START_TIMEOUT = 60.0

# The last one has no port: django-oauth-toolkit then accepts it on any port (RFC 8252 §7.3),
# so `grantline authorize` with its defaults (a free port) is accepted.
REDIRECT_URIS = "http://127.0.0.1:9/callback http://127.0.0.1:8765/callback http://127.0.0.1/callback"
POST_LOGOUT_REDIRECT_URIS = "http://127.0.0.1:9/logged-out"

# The person who logs in at the browser steps and owns the password grant.
USER = {
    "username": "alice",
    "password": "alice pass:+%/&=~!",
    "first_name": "Alice",
    "last_name": "Liddell",
    "email": "alice@grantline.test",
}

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

# One application per grant. The secrets hold characters that must be form-encoded, both in the
# Basic header (RFC 6749 §2.3.1) and in a form body (client_secret_post).
CLIENTS = {
    "confidential": {
        "client_id": "dot-confidential",
        "client_secret": "code secret:+%/&=~!",
        "client_type": "confidential",
        "authorization_grant_type": "authorization-code",
    },
    "public": {
        "client_id": "dot-public",
        "client_type": "public",
        "authorization_grant_type": "authorization-code",
    },
    "client_credentials": {
        "client_id": "dot-service",
        "client_secret": "service secret:+%/&=~!",
        "client_type": "confidential",
        "authorization_grant_type": "client-credentials",
    },
    "password": {
        "client_id": "dot-password",
        "client_secret": "password-client secret:+%/&=~!",
        "client_type": "confidential",
        "authorization_grant_type": "password",
    },
    "device": {
        "client_id": "dot-device",
        "client_type": "public",
        "authorization_grant_type": DEVICE_GRANT,
    },
}


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def signing_key_pem():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def populate():
    """Migrates the database and creates the user and the applications."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)

    from django.contrib.auth import get_user_model
    from django.db import connections
    from oauth2_provider.models import get_application_model

    User = get_user_model()
    Application = get_application_model()
    user = User.objects.create_user(**USER)
    for name, client in CLIENTS.items():
        Application.objects.create(
            name=f"grantline {name}",
            user=user,
            redirect_uris=REDIRECT_URIS if client["authorization_grant_type"] == "authorization-code" else "",
            post_logout_redirect_uris=POST_LOGOUT_REDIRECT_URIS,
            algorithm=Application.RS256_ALGORITHM,
            **client,
        )
    connections.close_all()


def die_with_parent():
    """In the child, before exec: SIGTERM when this launcher dies, however it dies (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def wait_ready(child, url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"runserver exited with {child.returncode} before it was ready")
        try:
            with opener.open(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer 200 within {START_TIMEOUT} s")


def stop(child):
    if child is None or child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout=5)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def main():
    # SIGTERM, SIGHUP and SIGINT run the cleanup below as well.
    def exit_on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, exit_on_signal)

    state = Path(tempfile.mkdtemp(prefix="grantline-dot-"))
    child = None
    try:
        port = free_port()
        (state / "oidc.key").write_text(signing_key_pem())
        os.environ["GRANTLINE_DOT_PORT"] = str(port)
        os.environ["GRANTLINE_DOT_STATE"] = str(state)
        os.environ["DJANGO_SETTINGS_MODULE"] = "grantline_interop.settings"
        sys.path.insert(0, str(HERE))
        # The server starts (imports Django, binds) while this process migrates: it needs no
        # database to answer discovery, and the ready line waits for both.
        child = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
            cwd=HERE,
            stdin=subprocess.DEVNULL,
            # Its banner would not be our one ready line; its errors go to our stderr.
            stdout=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        populate()
        issuer = f"http://127.0.0.1:{port}/o"
        wait_ready(child, f"{issuer}/.well-known/openid-configuration")

        clients = {
            name: {k: v for k, v in client.items() if k in ("client_id", "client_secret")}
            for name, client in CLIENTS.items()
        }
        ready = {
            "issuer": issuer,
            "user": {"username": USER["username"], "password": USER["password"]},
            "clients": clients,
        }
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()

        # Until the process that started us goes away.
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        stop(child)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
