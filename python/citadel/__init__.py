"""Citadel: the Python client of the Citadel confidential inference server.

A native client over the C++ SDK: attestation, key pinning and receipt checks
are the same code as the C++ client's. Quick start::

    import numpy as np
    import citadel

    with citadel.connect("https://10.0.0.5:8443", policy="policy.json") as client:
        print(client.attestation)                  # verified claims
        client.upload_model("xray_cnn.onnx", name="xray")
        outputs, receipt = client.infer("xray", {"image": image}, receipt=True)
        print(outputs["probabilities"])
    citadel.verify_receipt(receipt, policy="policy.json", outputs=outputs)

See docs/python.md for the whole API and citadel.errors for the exceptions.
"""

import base64
import dataclasses
import datetime
import json
import os
import sys
import warnings
from collections.abc import Mapping
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from . import _citadel
from .errors import *  # noqa: F401,F403  (the exception classes are part of the API)
from .errors import (
    CitadelError,
    ClientClosedError,
    InvalidPolicyError,
)
from . import errors

__version__ = "0.1.0"

__all__ = [
    "connect",
    "Client",
    "ModelInfo",
    "TensorSpec",
    "OwnerKey",
    "generate_owner_key",
    "load_owner_key",
    "load_policy",
    "verify_receipt",
    "verify_evidence",
    "tensor_digest",
    "SimulationWarning",
] + errors.__all__

PathLike = Union[str, "os.PathLike[str]"]


class SimulationWarning(UserWarning):
    """The server runs on the SIMULATION platform: it protects nothing."""


# ---- Data classes -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """A model input or output as the server declares it (-1: dynamic dim)."""

    name: str
    dtype: str
    shape: Tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """A model held by the server."""

    name: str
    version: int
    id: str  # SHA-256 of the ONNX bytes, hex
    signer: str  # owner key id; "" when the server accepts unsigned uploads
    size_bytes: int
    inputs: Tuple[TensorSpec, ...]
    outputs: Tuple[TensorSpec, ...]

    @classmethod
    def _from_native(cls, d):
        def specs(items):
            return tuple(TensorSpec(i["name"], i["dtype"], tuple(i["shape"])) for i in items)

        return cls(
            name=d["name"],
            version=d["version"],
            id=d["id"],
            signer=d["signer"],
            size_bytes=d["size_bytes"],
            inputs=specs(d["inputs"]),
            outputs=specs(d["outputs"]),
        )


# ---- Keys and policies --------------------------------------------------------


class OwnerKey:
    """A model owner's signing key (ECDSA P-256). Owner-signed uploads and
    deletions are required by servers whose configuration lists owners."""

    def __init__(self, native):
        self._native = native

    @classmethod
    def load(cls, path: PathLike) -> "OwnerKey":
        """Loads a PKCS#8 PEM private key (as written by generate_owner_key
        or `citadel keygen`)."""
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"owner key file not found: {path}")
        try:
            return cls(_citadel.OwnerKey.load(path))
        except CitadelError as e:
            raise ValueError(f"cannot load owner key {path}: {e.message}") from None

    @property
    def key_id(self) -> str:
        """SHA-256 of the public key (SPKI DER), hex: how servers name the key."""
        return self._native.key_id

    @property
    def public_key(self) -> str:
        """The public key, base64 SPKI DER (what the server configuration lists)."""
        return self._native.public_key

    def config_entry(self, name: str) -> Dict[str, str]:
        """The entry to put in the server configuration's "owners" list."""
        return {"name": name, "public_key": self.public_key}

    def __repr__(self):
        return f"<citadel.OwnerKey {self.key_id[:16]}...>"


def generate_owner_key(path: PathLike, *, overwrite: bool = False) -> OwnerKey:
    """Creates a new owner key, writes its private key (PEM, mode 0600) to
    `path` and returns it. Keep that file off the server."""
    path = os.fspath(path)
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace the key")
    key = _citadel.OwnerKey.generate()
    try:
        key.save(path)
    except CitadelError as e:
        raise OSError(f"cannot write owner key {path}: {e.message}") from None
    return OwnerKey(key)


def load_owner_key(path: PathLike) -> OwnerKey:
    """Same as OwnerKey.load(path)."""
    return OwnerKey.load(path)


def _owner(owner_key) -> Optional[Any]:
    if owner_key is None:
        return None
    if isinstance(owner_key, OwnerKey):
        return owner_key._native
    if isinstance(owner_key, (str, os.PathLike)):
        return OwnerKey.load(owner_key)._native
    raise TypeError("owner_key must be a citadel.OwnerKey, a path to its PEM file, or None")


def load_policy(policy) -> "_citadel.Policy":
    """Parses a client policy (docs/policy.md) from a file path or a dict.

    Parsing is strict: an unknown key or a bad value raises InvalidPolicyError.
    """
    if isinstance(policy, _citadel.Policy):
        return policy
    try:
        if isinstance(policy, Mapping):
            return _citadel.Policy.from_json(json.dumps(dict(policy)))
        if isinstance(policy, (str, os.PathLike)):
            return _citadel.Policy.load_file(os.fspath(policy))
    except CitadelError as e:
        raise InvalidPolicyError(e.code, e.message) from None
    raise TypeError("policy must be a path to a policy file, a dict, or the result of load_policy()")


# ---- Tensors ------------------------------------------------------------------


def _to_native(name, value):
    """A numpy-convertible value -> what _citadel takes: a C-contiguous,
    native-byte-order array, or ("strings", shape, [bytes]) for text."""
    if not isinstance(name, str):
        raise TypeError(f"tensor names must be str, got {type(name).__name__}")
    arr = np.asarray(value)
    kind = arr.dtype.kind
    if kind in "USO":
        items = []
        for x in arr.reshape(-1).tolist():
            if isinstance(x, str):
                items.append(x.encode("utf-8"))
            elif isinstance(x, (bytes, bytearray)):
                items.append(bytes(x))
            else:
                raise TypeError(f"input '{name}': object arrays must hold str or bytes, got {type(x).__name__}")
        return ("strings", list(arr.shape), items)
    if kind not in "fiub":
        raise TypeError(f"input '{name}': numpy dtype {arr.dtype} is not supported")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if not arr.flags.c_contiguous:
        arr = arr.copy(order="C")
    return arr


def _tensors_to_native(tensors, what) -> list:
    if tensors is None:
        return []
    if not isinstance(tensors, Mapping):
        raise TypeError(f"{what} must be a dict mapping tensor names to numpy arrays")
    return [(name, _to_native(name, value)) for name, value in tensors.items()]


def tensor_digest(name: str, array) -> str:
    """The SHA-256 digest (hex) a receipt records for a named tensor."""
    return _citadel.tensor_digest(name, _to_native(name, array))


# ---- Progress -----------------------------------------------------------------


def _size(n):
    if n >= 2**30:
        return f"{n / 2**30:.2f} GiB"
    if n >= 2**20:
        return f"{n / 2**20:.1f} MiB"
    return f"{n / 2**10:.0f} KiB"


class _ProgressBar:
    """progress=True: a one-line text bar on stderr."""

    def __init__(self, label):
        self.label = label
        self.last = -1

    def __call__(self, sent, total):
        percent = 100 if total == 0 else sent * 100 // total
        if percent == self.last:
            return
        self.last = percent
        filled = percent * 30 // 100
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {percent:3d}% "
            f"({_size(sent)} of {_size(total)})"
        )
        if sent >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


# ---- Client -------------------------------------------------------------------


def _paths(value, what: str) -> List[str]:
    """None, one path, or an iterable of paths -> a list of str paths."""
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    try:
        items = list(value)
    except TypeError:
        raise TypeError(f"{what} must be a path or a list of paths") from None
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise TypeError(f"{what} must be a path or a list of paths")
    return [os.fspath(item) for item in items]


def _instant(at) -> str:
    """None, an RFC 3339 UTC string, or a datetime (naive = UTC) -> RFC 3339 text."""
    if at is None:
        return ""
    if isinstance(at, str):
        return at
    if isinstance(at, datetime.datetime):
        if at.tzinfo is not None:
            at = at.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return at.strftime("%Y-%m-%dT%H:%M:%SZ")
    raise TypeError("at must be None, an RFC 3339 string or a datetime")


def connect(
    url: str,
    *,
    policy,
    token: Optional[str] = None,
    timeout: float = 120,
    collateral=None,
    roots=None,
    at=None,
) -> "Client":
    """Connects to a Citadel server and attests it before sending any data.

    Args:
        url: "https://host:port".
        policy: path to a policy file, or a dict (docs/policy.md).
        token: bearer token for servers that configure users (or None).
        timeout: seconds each call may take (connect, upload, inference...).
        collateral: for hardware evidence (SGX, TDX, SEV-SNP, NVIDIA): a path
            or list of paths, each a Citadel collateral bundle or any file
            `citadel verify --collateral` imports (TCB Info, QE Identity,
            CRLs, VCEK/VLEK, AMD chains, SEV-SNP certificate tables).
        roots: a path or list of paths of root certificates to trust INSTEAD
            of the built-in vendor roots (PEM/DER).
        at: judge validity windows at this instant (RFC 3339 UTC string or
            datetime) instead of now.

    Raises:
        PolicyError: the evidence verified but the policy refuses it.
        AttestationError: the evidence did not verify.
        UnavailableError / DeadlineExceededError: the server is unreachable.
        InvalidPolicyError: the policy is malformed.
    """
    return Client(url, policy=policy, token=token, timeout=timeout, collateral=collateral, roots=roots, at=at)


class Client:
    """An attested connection to one Citadel server.

    Every call travels over TLS pinned to the key the server proved at
    connect time. Calls release the GIL, so threads may share one client
    (requests are serialised on its connection). Use as a context manager or
    call close().
    """

    def __init__(self, url: str, *, policy, token: Optional[str] = None, timeout: float = 120,
                 collateral=None, roots=None, at=None):
        if not isinstance(url, str):
            raise TypeError("url must be a str such as 'https://127.0.0.1:8443'")
        if token is not None and not isinstance(token, str):
            raise TypeError("token must be a str or None")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError("timeout must be a number of seconds")
        self._url = url
        self._policy = load_policy(policy)
        self._timeout = timeout
        self._native = None
        self._native = _citadel.Client.connect(
            url,
            self._policy,
            (token or "").strip(),
            float(timeout),
            _paths(collateral, "collateral"),
            _paths(roots, "roots"),
            _instant(at),
        )
        self._attestation = self._native.attestation()
        if self.simulation:
            warnings.warn(
                f"{url} runs on the SIMULATION platform: no TEE protects your data or the model",
                SimulationWarning,
                stacklevel=3,
            )

    # -- lifecycle --
    def close(self) -> None:
        """Closes the connection. Later calls raise ClientClosedError."""
        if self._native is not None:
            self._native.close()

    @property
    def closed(self) -> bool:
        return self._native is None or self._native.closed

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        state = "closed" if self.closed else "open"
        sim = " SIMULATION" if self._native is not None and self.simulation else ""
        measurement = self._attestation.get("measurement", "")[:16] if self._native is not None else ""
        return f"<citadel.Client {self._url} {state}{sim} measurement={measurement}...>"

    def _n(self):
        if self._native is None or self._native.closed:
            raise ClientClosedError("failed_precondition", "the client is closed")
        return self._native

    # -- attestation --
    @property
    def attestation(self) -> Dict[str, str]:
        """The claims the server proved at connect time (verified against the
        policy): "platform", "simulation", "measurement", ... (strings)."""
        return dict(self._attestation)

    @property
    def simulation(self) -> bool:
        """True when the server runs on the SIMULATION platform (no protection)."""
        return self._attestation.get("simulation") == "true"

    @property
    def measurement(self) -> str:
        """The attested measurement, hex."""
        return self._attestation.get("measurement", "")

    @property
    def tls_public_key(self) -> bytes:
        """The pinned TLS public key (SPKI DER) that the evidence binds."""
        return self._n().pinned_key()

    @property
    def url(self) -> str:
        return self._url

    @property
    def timeout(self) -> float:
        return self._timeout

    def attest(self, *, nonce: Optional[bytes] = None) -> Dict[str, str]:
        """Asks for fresh evidence over `nonce` (16..64 bytes; random when
        None), verifies it against the policy and the pinned key, and returns
        its claims (plus "nonce", hex)."""
        if nonce is None:
            nonce = _citadel.random_bytes(32)
        return self._n().attest(bytes(nonce))

    def fetch_evidence(self, *, nonce: Optional[bytes] = None) -> Tuple[bytes, bytes]:
        """Fetches fresh evidence without verifying it, for offline checks:
        returns (evidence, nonce). Verify it later with
        citadel.verify_evidence(evidence, nonce=nonce,
        tls_public_key=client.tls_public_key, policy=...)."""
        if nonce is None:
            nonce = _citadel.random_bytes(32)
        return self._n().fetch_evidence(bytes(nonce)), bytes(nonce)

    # -- models --
    def upload_model(
        self,
        path: Union[PathLike, bytes, bytearray, memoryview],
        *,
        name: str,
        version: Optional[int] = None,
        owner_key: Union[OwnerKey, PathLike, None] = None,
        allow_downgrade: bool = False,
        progress: Union[bool, Callable[[int, int], Any], None] = None,
    ) -> ModelInfo:
        """Uploads an ONNX model (a file path, or the model's bytes).

        Args:
            name: the model's name on the server (keyword only).
            version: the version to install (default: the next one).
            owner_key: OwnerKey (or path to its PEM file) that signs the
                upload; required by servers that configure owners.
            allow_downgrade: owner-signed permission to install a lower version.
            progress: True for a text progress bar on stderr, or a callable
                progress(sent_bytes, total_bytes). It cannot cancel the upload:
                an exception it raises is re-raised when the upload returns.
        """
        if isinstance(path, (bytes, bytearray, memoryview)):
            data = bytes(path)
            label = name
        elif isinstance(path, (str, os.PathLike)):
            with open(path, "rb") as f:
                data = f.read()
            label = os.path.basename(os.fspath(path))
        else:
            raise TypeError("path must be a path to an .onnx file or the model's bytes")
        if not isinstance(name, str):
            raise TypeError("name must be a str")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise TypeError("version must be an int or None")
        if progress is True:
            progress = _ProgressBar(f"upload {label}")
        elif progress is False:
            progress = None
        elif progress is not None and not callable(progress):
            raise TypeError("progress must be True, a callable(sent, total) or None")
        info = self._n().upload(name, data, version, _owner(owner_key), bool(allow_downgrade), progress)
        return ModelInfo._from_native(info)

    def get_model(self, name: str) -> ModelInfo:
        """Metadata of one model. Raises NotFoundError if there is none."""
        return ModelInfo._from_native(self._n().get_model(name))

    def models(self) -> List[ModelInfo]:
        """The models the server holds."""
        return [ModelInfo._from_native(m) for m in self._n().list_models()]

    def delete_model(self, name: str, *, owner_key: Union[OwnerKey, PathLike, None] = None) -> None:
        """Deletes a model (owner-signed when owner_key is given, which
        servers that configure owners require)."""
        self._n().delete_model(name, _owner(owner_key))

    # -- inference --
    def infer(self, model: str, inputs: Mapping, *, receipt: bool = False):
        """Runs `model` on named inputs.

        Args:
            model: the model's name.
            inputs: {input name: numpy array}. Dtypes are sent as they are
                (np.asarray of a Python list of floats gives float64).
            receipt: also ask for a signed receipt; it is verified (signature
                by the pinned key, evidence accepted by the policy, digests of
                these inputs and the returned outputs) before it is returned.

        Returns:
            {output name: numpy array} with the model's dtypes (integers stay
            integers), or (outputs, receipt) when receipt=True; the receipt is
            a dict that citadel.verify_receipt can check again later.
        """
        if not isinstance(model, str):
            raise TypeError("model must be the model's name (str)")
        native_inputs = _tensors_to_native(inputs, "inputs")
        outputs, receipt_json = self._n().infer(model, native_inputs, bool(receipt))
        result = dict(outputs)
        if receipt:
            return result, json.loads(receipt_json)
        return result

    def audit(self) -> Dict[str, Any]:
        """The server's audit log with its signed checkpoint, verified
        (hash chain + signature + policy): {"entries", "checkpoint",
        "verified_entries", "head_hash", "checkpoint_verified"}."""
        return self._n().audit()


# ---- Offline verification -----------------------------------------------------


def _receipt_text(receipt) -> str:
    if isinstance(receipt, Mapping):
        return json.dumps(dict(receipt))
    if isinstance(receipt, (bytes, bytearray)):
        return bytes(receipt).decode("utf-8")
    if isinstance(receipt, os.PathLike) or (isinstance(receipt, str) and not receipt.lstrip().startswith("{")):
        with open(receipt, "r", encoding="utf-8") as f:
            return f.read()
    if isinstance(receipt, str):
        return receipt
    raise TypeError("receipt must be a dict, JSON text, or a path to a receipt file")


def verify_receipt(receipt, *, policy=None, inputs: Optional[Mapping] = None,
                   outputs: Optional[Mapping] = None) -> Dict[str, Any]:
    """Verifies an inference receipt offline.

    Checks the signature, that the embedded evidence verifies and binds the
    signing key, that `policy` (path or dict; optional) accepts the evidence,
    and that every given input/output array matches its digest in the receipt.
    Pass the policy: without one the check only proves that the receipt is
    consistent with *some* evidence, and anyone can make simulation evidence
    with a key of their own.

    Args:
        receipt: the receipt dict from Client.infer(..., receipt=True), its
            JSON text, or a path to a saved receipt.

    Returns:
        {"payload": the signed statement (model_id, digests, counter, ...),
         "evidence": the evidence claims, "public_key_sha256": signing key}.

    Raises:
        AttestationError: bad signature, evidence or binding, a tensor that
            does not match, or a tensor the receipt does not mention.
        PolicyError: the policy refuses the evidence.
    """
    text = _receipt_text(receipt)
    native_policy = load_policy(policy) if policy is not None else None
    return _citadel.verify_receipt(
        text, native_policy, _tensors_to_native(inputs, "inputs"), _tensors_to_native(outputs, "outputs")
    )


def verify_evidence(evidence: Union[bytes, str], *, policy=None, nonce: Optional[bytes] = None,
                    tls_public_key: Optional[bytes] = None, collateral=None, roots=None,
                    at=None) -> Dict[str, str]:
    """Verifies attestation evidence offline and returns its claims.

    Args:
        evidence: the evidence envelope (bytes, as Client.fetch_evidence
            returns, or its base64 text as /v2/attestation sends it).
        policy: path or dict; when given, it must accept the evidence.
        tls_public_key: SPKI DER of the server's TLS key; when given, the
            evidence must bind it (with `nonce` for fresh evidence, without
            for the evidence in the server's certificate).
        nonce: the nonce the fresh evidence was requested over.
        collateral, roots, at: as for connect() (hardware evidence).

    Raises:
        AttestationError: malformed, bad signature, or not bound to the key/nonce.
        PolicyError: the policy refuses it.
    """
    if isinstance(evidence, str):
        try:
            evidence = base64.b64decode(evidence, validate=True)
        except ValueError:
            raise ValueError("evidence text must be base64") from None
    if not isinstance(evidence, (bytes, bytearray, memoryview)):
        raise TypeError("evidence must be bytes or base64 text")
    if nonce is not None and tls_public_key is None:
        raise ValueError("a nonce can only be checked together with tls_public_key")
    native_policy = load_policy(policy) if policy is not None else None
    return _citadel.verify_evidence(
        bytes(evidence),
        native_policy,
        None if nonce is None else bytes(nonce),
        None if tls_public_key is None else bytes(tls_public_key),
        _paths(collateral, "collateral"),
        _paths(roots, "roots"),
        _instant(at),
    )
