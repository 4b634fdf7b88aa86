"""Fixtures for the client-compatibility suite: real Trailwatch servers, real clients.

Nothing here is mocked. `server` is a real `trailwatch serve` process (SigV4 verified)
on a free port in a temporary data directory, started once per session; `dev_server`
is the same with `--dev`. Both are stopped with SIGTERM, and their exit status must be 0.
"""

import configparser
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
LISTENING = re.compile(r"^Trailwatch listening on (http://127\.0\.0\.1:(\d+)) \(data in ")
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 60


@dataclass
class Server:
    """One running `trailwatch serve` process."""

    binary: Path
    data_dir: Path
    dev: bool
    endpoint: str = ""
    proc: subprocess.Popen = None
    stdout_lines: list = field(default_factory=list)
    stderr_path: Path = None
    extra: list = field(default_factory=list)
    env: dict = None

    def start(self):
        self.stderr_path = self.data_dir.parent / (self.data_dir.name + ".stderr.log")
        args = [
            str(self.binary),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            str(self.data_dir),
        ]
        if self.dev:
            args.append("--dev")
        args.extend(self.extra)
        stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            bufsize=1,
            env=None if self.env is None else {**os.environ, **self.env},
        )
        stderr.close()
        ready = threading.Event()

        def drain():
            # Keeps reading after the listening line so the pipe never fills up.
            for line in self.proc.stdout:
                self.stdout_lines.append(line.rstrip("\n"))
                m = LISTENING.match(line)
                if m and not self.endpoint:
                    self.endpoint = m.group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(START_TIMEOUT_S) or not self.endpoint:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(
                f"trailwatch did not print its listening line within {START_TIMEOUT_S}s "
                f"(exit {self.proc.returncode}).\nstdout:\n"
                + "\n".join(self.stdout_lines)
                + f"\nstderr:\n{self.stderr()}"
            )
        return self

    def stderr(self):
        try:
            return self.stderr_path.read_text()
        except OSError:
            return ""

    def stop(self):
        """SIGTERM, then the exit status (None if it had to be killed)."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


@dataclass
class Credentials:
    path: Path
    access_key_id: str
    secret_access_key: str


def read_credentials(path):
    parser = configparser.ConfigParser()
    assert parser.read(path) == [str(path)], f"cannot read {path}"
    section = parser["default"]
    return Credentials(
        path=path,
        access_key_id=section["aws_access_key_id"],
        secret_access_key=section["aws_secret_access_key"],
    )


def _start(binary, tmp_path_factory, dev, extra=(), env=None):
    base = tmp_path_factory.mktemp("dev-server" if dev else "server")
    server = Server(
        binary=binary, data_dir=base / "data", dev=dev, extra=list(extra), env=env
    ).start()
    return server


def _stop(server):
    code = server.stop()
    assert code == 0, (
        f"trailwatch exited with {code} after SIGTERM; stderr:\n{server.stderr()}"
    )


@pytest.fixture(scope="session")
def trailwatch_bin():
    path = Path(os.environ.get("TRAILWATCH_BIN") or REPO / "target/debug/trailwatch")
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"no trailwatch binary at {path}: build it (cargo build -p trailwatch) "
            "or set TRAILWATCH_BIN"
        )
    return path


@pytest.fixture(scope="session")
def server(trailwatch_bin, tmp_path_factory):
    """A real server that verifies SigV4, with its admin credentials file."""
    srv = _start(trailwatch_bin, tmp_path_factory, dev=False)
    yield srv
    _stop(srv)


@pytest.fixture(scope="session")
def dev_server(trailwatch_bin, tmp_path_factory):
    """A `--dev` server: any credentials (or none) are accepted."""
    srv = _start(trailwatch_bin, tmp_path_factory, dev=True)
    yield srv
    _stop(srv)


@pytest.fixture(scope="session")
def trail_server(trailwatch_bin, tmp_path_factory):
    """A `--dev` server whose trails deliver every second and digest every two."""
    srv = _start(
        trailwatch_bin,
        tmp_path_factory,
        dev=True,
        extra=["--trail-delivery-secs", "1", "--digest-interval-secs", "2"],
    )
    yield srv
    _stop(srv)


@pytest.fixture(scope="session")
def endpoint(server):
    return server.endpoint


@pytest.fixture(scope="session")
def credentials(server):
    path = server.data_dir / "credentials"
    assert path.is_file(), f"the first start did not write {path}"
    return read_credentials(path)


def client_config():
    return Config(connect_timeout=10, read_timeout=60)


def make_client(service, endpoint, access_key_id, secret_access_key, region=REGION):
    """A boto3 client with explicit credentials, pointed at a Trailwatch endpoint."""
    session = boto3.session.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        region_name=region,
    )
    return session.client(service, endpoint_url=endpoint, config=client_config())


@pytest.fixture(scope="session")
def client_factory(endpoint, credentials):
    """`client_factory(service, access_key_id=..., secret_access_key=..., region=...)`."""

    def factory(service="logs", access_key_id=None, secret_access_key=None, region=REGION):
        return make_client(
            service,
            endpoint,
            access_key_id or credentials.access_key_id,
            secret_access_key or credentials.secret_access_key,
            region,
        )

    return factory


@pytest.fixture(scope="session")
def logs(client_factory):
    """The admin's CloudWatch Logs client."""
    return client_factory("logs")


@pytest.fixture(scope="session")
def iam(client_factory):
    """The admin's IAM client."""
    return client_factory("iam")


@pytest.fixture(scope="session")
def account_id(iam):
    arn = iam.get_user()["User"]["Arn"]
    m = re.fullmatch(r"arn:aws:iam::(\d{12}):user/admin", arn)
    assert m, arn
    return m.group(1)


@pytest.fixture(scope="session")
def client_env(server, credentials, tmp_path_factory):
    """Environment for CLI subprocesses: only the server's credentials file, no other
    AWS configuration, a private HOME."""
    home = tmp_path_factory.mktemp("home")
    config = home / "aws-config"
    config.write_text("[default]\nregion = us-east-1\noutput = json\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k not in ("HOME",)
    }
    env.update(
        HOME=str(home),
        AWS_SHARED_CREDENTIALS_FILE=str(credentials.path),
        AWS_CONFIG_FILE=str(config),
        AWS_EC2_METADATA_DISABLED="true",
        NO_COLOR="1",
    )
    return env


def venv_tool(name):
    """A console script installed next to the running interpreter (the venv's bin/)."""
    path = Path(sys.executable).parent / name
    if not path.is_file():
        pytest.fail(f"{name} is not installed next to {sys.executable}; use run.sh")
    return path


@pytest.fixture
def unique(request):
    """`unique("group")` gives a log group name no other test uses."""
    token = uuid.uuid4().hex[:8]
    test = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)

    def name(kind="g"):
        return f"compat/{test}/{token}/{kind}"

    return name


# ---------------------------------------------------------------------------
# A real S3-compatible store: moto's server, on loopback

MOTO_LISTENING = re.compile(r"Running on (http://127\.0\.0\.1:(\d+))")


@dataclass
class S3Server:
    """A running `moto_server` and how to reach it: any SigV4 credentials are accepted,
    buckets are addressed path style."""

    proc: subprocess.Popen
    endpoint: str
    log_lines: list
    access_key_id: str = "testing"
    secret_access_key: str = "testing"
    region: str = REGION

    def client(self):
        """A boto3 S3 client for this store."""
        session = boto3.session.Session(
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        )
        config = client_config().merge(Config(s3={"addressing_style": "path"}))
        return session.client("s3", endpoint_url=self.endpoint, config=config)

    def serve_args(self):
        """`trailwatch serve` flags that make `s3://` locations name this store."""
        return ["--s3-endpoint", self.endpoint, "--s3-region", self.region, "--s3-path-style"]

    def serve_env(self):
        """The store's credentials the way `trailwatch serve` takes them from the
        environment (kept off the command line, as in production)."""
        return {
            "TRAILWATCH_S3_ACCESS_KEY_ID": self.access_key_id,
            "TRAILWATCH_S3_SECRET_ACCESS_KEY": self.secret_access_key,
        }

    def aws_env(self):
        """Standard AWS variables for a client command reading this store itself
        (`trailwatch validate-logs --s3-endpoint ...`, data-directory commands)."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_REGION": self.region,
        }

    def create_bucket(self, name):
        self.client().create_bucket(Bucket=name)
        return name


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3-compatible server on a free loopback port for the whole session."""
    moto = venv_tool("moto_server")
    proc = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    lines = []
    found = []
    ready = threading.Event()

    def drain():
        # Werkzeug logs every request; keep reading so the pipe never fills up.
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            m = MOTO_LISTENING.search(line)
            if m and not found:
                found.append(m.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    if not ready.wait(START_TIMEOUT_S) or not found:
        proc.kill()
        proc.wait()
        pytest.fail("moto_server did not start:\n" + "\n".join(lines))
    yield S3Server(proc=proc, endpoint=found[0], log_lines=lines)
    proc.terminate()
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_s3_trailwatch(binary, tmp_path_factory, s3, dev=True, extra=()):
    """A `trailwatch serve` whose `s3://` locations are buckets of `s3` (endpoint and
    path style as flags, credentials from the environment). Stop it with `stop_server`."""
    return _start(
        binary, tmp_path_factory, dev=dev, extra=[*s3.serve_args(), *extra], env=s3.serve_env()
    )


def stop_server(server):
    """SIGTERM a server started by a helper here; its exit status must be 0."""
    _stop(server)


# ---------------------------------------------------------------------------
# PySpark (local mode; needs Java 17+)


@pytest.fixture(scope="session")
def spark():
    """One local-mode SparkSession for the whole suite (starting a JVM is the slow part)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("trailwatch-compat")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    yield session
    session.stop()
