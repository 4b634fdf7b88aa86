"""HTTPS: boto3 (trusting the certificate, then with verify=False) and the aws CLI
(--no-verify-ssl) against `trailwatch serve --tls-cert --tls-key`; every call's
CloudTrail record carries tlsDetails."""

import datetime
import ipaddress
import json
import os
import re
import signal
import subprocess
import threading

import boto3
import pytest
from botocore.exceptions import SSLError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import REGION, client_config, venv_tool

HTTPS_LISTENING = re.compile(r"^Trailwatch listening on (https://127\.0\.0\.1:(\d+)) ")


def self_signed(directory):
    """A P-256 certificate for localhost and 127.0.0.1, and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_server(trailwatch_bin, tmp_path_factory):
    """A `--dev` server on HTTPS: (endpoint, port, certificate path)."""
    base = tmp_path_factory.mktemp("tls-server")
    cert, key = self_signed(base)
    proc = subprocess.Popen(
        [str(trailwatch_bin), "serve", "--listen", "127.0.0.1:0", "--data-dir",
         str(base / "data"), "--dev", "--tls-cert", str(cert), "--tls-key", str(key)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, bufsize=1,
    )
    found = None
    for line in proc.stdout:
        found = HTTPS_LISTENING.match(line)
        if found:
            break
    # Keep draining stdout so the server never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    if not found:
        proc.kill()
        pytest.fail("the server did not say it listens on https://")
    yield found.group(1), found.group(2), cert
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0


def client(service, endpoint, verify):
    session = boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name=REGION
    )
    return session.client(service, endpoint_url=endpoint, verify=verify, config=client_config())


def records_of(cloudtrail, group):
    events = cloudtrail.lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": group}]
    )["Events"]
    return [json.loads(e["CloudTrailEvent"]) for e in events]


# The verify=False call warns, as it should.
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_boto3_over_https_is_recorded_with_tls_details(tls_server):
    endpoint, port, cert = tls_server
    logs = client("logs", endpoint, str(cert))
    logs.create_log_group(logGroupName="over-https")
    [record] = records_of(client("cloudtrail", endpoint, str(cert)), "over-https")
    tls = record["tlsDetails"]
    assert tls["tlsVersion"] in ("TLSv1.2", "TLSv1.3"), tls
    assert tls["cipherSuite"], tls
    assert tls["clientProvidedHostHeader"] == f"127.0.0.1:{port}"

    # verify=False is accepted; the system's trust store does not know the certificate.
    client("logs", endpoint, False).create_log_group(logGroupName="unverified")
    with pytest.raises(SSLError):
        client("logs", endpoint, True).create_log_group(logGroupName="never")


def test_cli_no_verify_ssl(tls_server, tmp_path):
    endpoint, port, _ = tls_server
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "HOME"}
    env.update(
        HOME=str(tmp_path),
        AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY="secret",
        AWS_EC2_METADATA_DISABLED="true",
    )

    def aws(*args):
        proc = subprocess.run(
            [str(venv_tool("aws")), *args, "--endpoint-url", endpoint, "--region", REGION,
             "--no-verify-ssl", "--output", "json"],
            env=env, capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    aws("logs", "create-log-group", "--log-group-name", "cli-over-https")
    out = aws("cloudtrail", "lookup-events", "--lookup-attributes",
              "AttributeKey=ResourceName,AttributeValue=cli-over-https")
    [event] = out["Events"]
    record = json.loads(event["CloudTrailEvent"])
    assert record["tlsDetails"]["clientProvidedHostHeader"] == f"127.0.0.1:{port}"
    assert record["userAgent"].startswith("aws-cli/")
