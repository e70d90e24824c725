"""Fixtures: real `citadel serve` processes on loopback, policies written
with `citadel measure`, and small ONNX models built on the fly.

Environment (ctest sets them, see python/CMakeLists.txt):
    CITADEL_CLI         path to the `citadel` binary
    CITADEL_SOURCE_DIR  the repository (for models/)
    PYTHONPATH          the build's python/ directory (the `citadel` package)
"""

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("CITADEL_SOURCE_DIR", Path(__file__).resolve().parents[2]))
MODELS = SOURCE_DIR / "models"


def _find_cli():
    cli = os.environ.get("CITADEL_CLI")
    if cli:
        return cli
    for build in ("build", "build-py"):
        candidate = SOURCE_DIR / build / "src" / "cli" / "citadel"
        if candidate.exists():
            return str(candidate)
    pytest.exit("set CITADEL_CLI to the citadel binary (ctest does this)", returncode=2)


def pytest_configure(config):
    # Every test server is a simulation server; the warning is tested once,
    # explicitly, in test_client.py.
    config.addinivalue_line("filterwarnings", "ignore::citadel.SimulationWarning")


class Server:
    """A `citadel serve` subprocess with its own state dir and policies."""

    def __init__(self, cli, root, config=None):
        self.cli = cli
        self.dir = Path(root)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config_path = None
        args = [cli, "serve", "--listen", "127.0.0.1:0", "--state-dir", str(self.dir / "state"),
                "--platform", "sim", "--port-file", str(self.dir / "port")]
        measure = [cli, "measure"]
        if config is not None:
            self.config_path = self.dir / "config.json"
            self.config_path.write_text(json.dumps(config))
            args += ["--config", str(self.config_path)]
            measure += ["--config", str(self.config_path)]
        self.log = open(self.dir / "server.log", "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.log)
        port_file = self.dir / "port"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("citadel serve did not start:\n" + (self.dir / "server.log").read_text())
            time.sleep(0.05)
        self.port = int(port_file.read_text().strip())
        self.url = f"https://127.0.0.1:{self.port}"
        self.measurement = subprocess.run(measure, check=True, capture_output=True, text=True).stdout.split()[0]
        self.policy = self.write_policy("policy.json", allow_simulation=True)

    def policy_dict(self, *, allow_simulation=True, measurement=None):
        return {"version": 1, "allow_simulation": allow_simulation,
                "measurements": [measurement or self.measurement]}

    def write_policy(self, name, **kwargs):
        path = self.dir / name
        path.write_text(json.dumps(self.policy_dict(**kwargs)))
        return str(path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="session")
def cli():
    return _find_cli()


@pytest.fixture(scope="session")
def workdir():
    d = tempfile.mkdtemp(prefix="citadel-pytest-")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def server(cli, workdir):
    """An open server: no owners, no users (uploads unsigned, inference open)."""
    s = Server(cli, workdir / "open")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def owner_key(workdir):
    import citadel
    return citadel.generate_owner_key(workdir / "owner.key")


@pytest.fixture(scope="session")
def user_token():
    return secrets.token_hex(32)


@pytest.fixture(scope="session")
def locked_server(cli, workdir, owner_key, user_token):
    """A server whose configuration names an owner key and a user token."""
    config = {
        "version": 1,
        "owners": [owner_key.config_entry("vendor")],
        "users": [{"name": "clinic", "token_sha256": hashlib.sha256(user_token.encode()).hexdigest()}],
    }
    s = Server(cli, workdir / "locked", config=config)
    yield s
    s.stop()


@pytest.fixture
def client(server):
    import citadel
    with citadel.connect(server.url, policy=server.policy, timeout=60) as c:
        yield c


@pytest.fixture
def model_name(request):
    """A model name unique to the test (the servers are shared)."""
    return "m_" + request.node.name.replace("[", "_").replace("]", "").replace("-", "_")[:60]


@pytest.fixture(scope="session")
def int_model(workdir):
    """ONNX model with two int64 inputs and int64, bool and int32 outputs:
    sum = a + b, gt = a > b, scaled = Cast<int32>(sum * k)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    k = helper.make_tensor("k", TensorProto.INT64, [1], [3])
    graph = helper.make_graph(
        [
            helper.make_node("Add", ["a", "b"], ["sum"]),
            helper.make_node("Greater", ["a", "b"], ["gt"]),
            helper.make_node("Mul", ["sum", "k"], ["prod"]),
            helper.make_node("Cast", ["prod"], ["scaled"], to=TensorProto.INT32),
        ],
        "int_ops",
        [helper.make_tensor_value_info("a", TensorProto.INT64, ["n"]),
         helper.make_tensor_value_info("b", TensorProto.INT64, ["n"])],
        [helper.make_tensor_value_info("sum", TensorProto.INT64, ["n"]),
         helper.make_tensor_value_info("gt", TensorProto.BOOL, ["n"]),
         helper.make_tensor_value_info("scaled", TensorProto.INT32, ["n"])],
        initializer=[k],
    )
    model = helper.make_model(graph, producer_name="citadel-tests",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    path = workdir / "int_ops.onnx"
    path.write_bytes(model.SerializeToString())
    return path


@pytest.fixture(scope="session")
def half_model(workdir):
    """ONNX model: float16 in, y = Identity(x) (float16) and y64 = Cast<double>(x)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"]),
         helper.make_node("Cast", ["x"], ["y64"], to=TensorProto.DOUBLE)],
        "half_ops",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT16, [2, 3]),
         helper.make_tensor_value_info("y64", TensorProto.DOUBLE, [2, 3])],
    )
    model = helper.make_model(graph, producer_name="citadel-tests", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    path = workdir / "half_ops.onnx"
    path.write_bytes(model.SerializeToString())
    return path
