"""TLS: a non-loopback listener needs a certificate (or an explicit opt-out), and with
one the real SDK talks HTTPS to the server."""

from __future__ import annotations

import subprocess

import boto3
import pytest
from botocore.config import Config

from sightline_support import free_port, sightline_bin

pytestmark = pytest.mark.timeout(60)


def test_non_loopback_without_tls_refuses_to_start(tmp_path):
    proc = subprocess.run(
        [sightline_bin(), "server", "--data-dir", str(tmp_path / "d"), "--listen", f"0.0.0.0:{free_port()}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode != 0
    assert "--tls-cert" in proc.stderr


def test_https_with_certificate(server_factory, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    srv = server_factory.new(extra_args=["--tls-cert", str(cert), "--tls-key", str(key)])
    srv.scheme = "https"
    srv.start()
    creds = srv.root
    sts = boto3.client(
        "sts",
        endpoint_url=f"https://127.0.0.1:{srv.port}",
        region_name="us-east-1",
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        verify=str(cert),
        config=Config(retries={"total_max_attempts": 1}),
    )
    assert sts.get_caller_identity()["Arn"].endswith(":root")
