"""Exception classes of the Citadel Python client.

Every failure the C++ SDK reports carries a stable code (``status.h``:
``"not_found"``, ``"policy_rejected"``, ...); it is mapped to one class below.
Each exception keeps that code in ``.code`` and the server's (or verifier's)
message in ``.message``::

    CitadelError
    ├── AttestationError          evidence, receipt or key binding did not verify
    │   └── PolicyError           evidence verified, but your policy refuses it
    ├── InvalidPolicyError        the policy you gave is malformed (also ValueError)
    ├── UnavailableError          server unreachable (also ConnectionError)
    │   └── DeadlineExceededError the call ran past its timeout (also TimeoutError)
    ├── ClientClosedError         the client was closed
    └── ServerError               the server refused or failed a request
        ├── InvalidArgumentError  bad request: wrong dtype/shape, bad name (also ValueError)
        ├── NotFoundError         no such model (also LookupError)
        ├── AlreadyExistsError
        ├── AuthError             missing or wrong token / signature
        │   └── PermissionDeniedError  authenticated, but not allowed
        ├── FailedPreconditionError    e.g. a version that would roll back
        ├── UnsupportedError      e.g. an ONNX operator the engine lacks
        ├── ResourceExhaustedError     a server limit was hit
        ├── DataLossError         stored state was corrupt or tampered with
        └── InternalError

``PolicyError`` is an ``AttestationError``, so ``except AttestationError``
catches every "this server is not trusted" case. A few ``ServerError``
subclasses (``InvalidArgumentError`` for a malformed model name) can be
raised before a request is sent, because the client applies the server's own
validation rules first.
"""

__all__ = [
    "CitadelError",
    "AttestationError",
    "PolicyError",
    "InvalidPolicyError",
    "UnavailableError",
    "DeadlineExceededError",
    "ClientClosedError",
    "ServerError",
    "InvalidArgumentError",
    "NotFoundError",
    "AlreadyExistsError",
    "AuthError",
    "PermissionDeniedError",
    "FailedPreconditionError",
    "UnsupportedError",
    "ResourceExhaustedError",
    "DataLossError",
    "InternalError",
]


class CitadelError(Exception):
    """Base class of every error raised by the Citadel client.

    Attributes:
        code: the stable Citadel status code, e.g. ``"not_found"``.
        message: the human-readable reason (from the server when it sent one).
    """

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class AttestationError(CitadelError):
    """The server's evidence, a receipt or a key binding did not verify."""


class PolicyError(AttestationError):
    """The evidence verified, but the client policy refuses it (simulation
    not allowed, unexpected measurement, unknown signer)."""


class InvalidPolicyError(CitadelError, ValueError):
    """The policy given to the client is malformed (see docs/policy.md)."""


class UnavailableError(CitadelError, ConnectionError):
    """The server could not be reached or the connection broke."""


class DeadlineExceededError(UnavailableError, TimeoutError):
    """The call did not complete within the client's timeout."""


class ClientClosedError(CitadelError):
    """The client was closed (``close()`` or the end of a ``with`` block)."""


class ServerError(CitadelError):
    """The server refused or failed the request; ``.code`` says why."""


class InvalidArgumentError(ServerError, ValueError):
    """The request was malformed: wrong dtype or shape, bad name, ..."""


class NotFoundError(ServerError, LookupError):
    """The named model (or other resource) does not exist."""


class AlreadyExistsError(ServerError):
    pass


class AuthError(ServerError):
    """No or wrong credentials (bearer token, owner signature)."""


class PermissionDeniedError(AuthError):
    """Authenticated, but not allowed (e.g. a key that is not a model owner)."""


class FailedPreconditionError(ServerError):
    """The server is not in a state to do this (e.g. a rollback without an
    owner-signed downgrade)."""


class UnsupportedError(ServerError):
    """Valid, but not implemented (e.g. an ONNX operator)."""


class ResourceExhaustedError(ServerError):
    """A configured limit was hit (upload size, model count, tensor size)."""


class DataLossError(ServerError):
    """Stored data was corrupt or tampered with."""


class InternalError(ServerError):
    """A bug on the server (or client): an invariant did not hold."""


_BY_CODE = {
    "attestation_failed": AttestationError,
    "policy_rejected": PolicyError,
    "unavailable": UnavailableError,
    "invalid_argument": InvalidArgumentError,
    "not_found": NotFoundError,
    "already_exists": AlreadyExistsError,
    "unauthenticated": AuthError,
    "permission_denied": PermissionDeniedError,
    "failed_precondition": FailedPreconditionError,
    "unsupported": UnsupportedError,
    "resource_exhausted": ResourceExhaustedError,
    "data_loss": DataLossError,
    "internal": InternalError,
}


def _from_status(code, message, offline=False, timed_out=False):
    """Builds the exception for a failed C++ Status (called by _citadel).

    offline: the failure came from a local check (receipt, evidence, policy
    or key file), never from a server: a malformed or mismatching receipt or
    evidence is then an AttestationError, not a ServerError. (Policy and key
    files are re-raised by the package as InvalidPolicyError / ValueError.)
    """
    if timed_out:
        return DeadlineExceededError(code, message)
    if offline:
        if code == "policy_rejected":
            return PolicyError(code, message)
        if code == "failed_precondition" and message == "the client is closed":
            return ClientClosedError(code, message)
        if code in ("invalid_argument", "attestation_failed", "data_loss"):
            return AttestationError(code, message)
        return CitadelError(code, message)
    return _BY_CODE.get(code, ServerError)(code, message)
