"""Every exception class is raised where it should be, with the code and
the server's (or verifier's) message."""

import socket

import numpy as np
import pytest

import citadel
from conftest import MODELS


def test_hierarchy():
    assert issubclass(citadel.PolicyError, citadel.AttestationError)
    for cls in (citadel.AttestationError, citadel.ServerError, citadel.UnavailableError,
                citadel.InvalidPolicyError, citadel.ClientClosedError):
        assert issubclass(cls, citadel.CitadelError)
    for cls in (citadel.NotFoundError, citadel.AuthError, citadel.InvalidArgumentError,
                citadel.ResourceExhaustedError, citadel.PermissionDeniedError, citadel.FailedPreconditionError):
        assert issubclass(cls, citadel.ServerError)
    assert issubclass(citadel.PermissionDeniedError, citadel.AuthError)
    assert issubclass(citadel.DeadlineExceededError, TimeoutError)
    assert issubclass(citadel.UnavailableError, ConnectionError)


def test_policy_refusing_simulation(server):
    with pytest.raises(citadel.PolicyError) as e:
        citadel.connect(server.url, policy=server.policy_dict(allow_simulation=False))
    assert e.value.code == "policy_rejected"
    assert "SIMULATION" in e.value.message


def test_wrong_measurement(server):
    with pytest.raises(citadel.PolicyError) as e:
        citadel.connect(server.url, policy=server.write_policy("other.json", measurement="ab" * 48))
    assert e.value.code == "policy_rejected"
    assert "measurement" in e.value.message


def test_malformed_policy(server, tmp_path):
    with pytest.raises(citadel.InvalidPolicyError):
        citadel.connect(server.url, policy={"version": 1, "allow_simulation": True, "measurement": []})
    with pytest.raises(citadel.InvalidPolicyError):
        citadel.connect(server.url, policy=tmp_path / "missing.json")
    with pytest.raises(ValueError):  # InvalidPolicyError is also a ValueError
        citadel.load_policy({"version": 2})
    with pytest.raises(TypeError):
        citadel.connect(server.url, policy=42)


def test_policy_is_keyword_only(server):
    with pytest.raises(TypeError):
        citadel.connect(server.url, server.policy)


def test_unknown_model(client):
    image = np.load(MODELS / "xray_sample.npy")
    with pytest.raises(citadel.NotFoundError) as e:
        client.infer("no_such_model", {"image": image})
    assert e.value.code == "not_found" and "no_such_model" in e.value.message
    with pytest.raises(citadel.NotFoundError):
        client.get_model("no_such_model")
    with pytest.raises(citadel.NotFoundError):
        client.delete_model("no_such_model")
    with pytest.raises(LookupError):
        client.get_model("no_such_model")


def test_bad_input_dtype_and_shape(client, model_name):
    client.upload_model(MODELS / "xray_cnn.onnx", name=model_name)
    image = np.load(MODELS / "xray_sample.npy")
    with pytest.raises(citadel.ServerError) as e:
        client.infer(model_name, {"image": image.astype(np.int32)})
    assert e.value.code == "invalid_argument"
    assert "image" in e.value.message
    assert isinstance(e.value, citadel.InvalidArgumentError)
    with pytest.raises(citadel.ServerError) as e:
        client.infer(model_name, {"image": image[:, :, :32]})
    assert e.value.code == "invalid_argument"
    with pytest.raises(citadel.ServerError) as e:
        client.infer(model_name, {"wrong_name": image})
    assert e.value.code == "invalid_argument"


def test_client_side_type_errors(client, model_name):
    with pytest.raises(TypeError):
        client.infer(model_name, [np.zeros(3)])  # inputs must be named
    with pytest.raises(TypeError):
        client.infer(model_name, {"x": np.zeros(3, dtype=np.complex64)})
    with pytest.raises(TypeError):
        client.upload_model(MODELS / "xray_cnn.onnx", model_name)  # name is keyword-only
    with pytest.raises(TypeError):
        client.infer(model_name, {"image": np.zeros(3)}, True)  # receipt is keyword-only


def test_bad_model_bytes_and_name(client, model_name):
    with pytest.raises(citadel.ServerError) as e:
        client.upload_model(b"this is not an ONNX model", name=model_name)
    assert e.value.code in ("invalid_argument", "unsupported")
    with pytest.raises(citadel.InvalidArgumentError):
        client.upload_model(MODELS / "xray_cnn.onnx", name="../etc/passwd")


def test_rollback_refused(client, model_name):
    client.upload_model(MODELS / "xray_cnn.onnx", name=model_name, version=5)
    with pytest.raises(citadel.ServerError) as e:
        client.upload_model(MODELS / "xray_cnn.onnx", name=model_name, version=3)
    assert e.value.code not in ("ok", "internal")


def test_bad_and_missing_token(locked_server, user_token, model_name, owner_key):
    image = np.load(MODELS / "xray_sample.npy")
    with citadel.connect(locked_server.url, policy=locked_server.policy, token=user_token) as c:
        c.upload_model(MODELS / "xray_cnn.onnx", name=model_name, owner_key=owner_key)
        assert c.infer(model_name, {"image": image})["probabilities"].shape == (1, 4)
    with citadel.connect(locked_server.url, policy=locked_server.policy, token="0" * 64) as c:
        with pytest.raises(citadel.AuthError) as e:
            c.infer(model_name, {"image": image})
        assert e.value.code == "unauthenticated"
    with citadel.connect(locked_server.url, policy=locked_server.policy) as c:
        with pytest.raises(citadel.AuthError):
            c.infer(model_name, {"image": image})


def test_unsigned_or_foreign_owner_upload(locked_server, user_token, model_name, tmp_path):
    with citadel.connect(locked_server.url, policy=locked_server.policy, token=user_token) as c:
        with pytest.raises(citadel.AuthError) as e:
            c.upload_model(MODELS / "xray_cnn.onnx", name=model_name)
        assert e.value.code == "unauthenticated"
        stranger = citadel.generate_owner_key(tmp_path / "stranger.key")
        with pytest.raises(citadel.PermissionDeniedError) as e:
            c.upload_model(MODELS / "xray_cnn.onnx", name=model_name, owner_key=stranger)
        assert e.value.code == "permission_denied"
        assert isinstance(e.value, citadel.AuthError)


def test_unsigned_delete_refused(locked_server, user_token, owner_key, model_name):
    with citadel.connect(locked_server.url, policy=locked_server.policy, token=user_token) as c:
        c.upload_model(MODELS / "xray_cnn.onnx", name=model_name, owner_key=owner_key)
        with pytest.raises(citadel.AuthError):
            c.delete_model(model_name)
        c.delete_model(model_name, owner_key=owner_key)


def test_unreachable_server():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(citadel.UnavailableError) as e:
        citadel.connect(f"https://127.0.0.1:{port}", policy={"version": 1, "accept_any_measurement": True},
                        timeout=5)
    assert e.value.code == "unavailable"
    assert not isinstance(e.value, citadel.DeadlineExceededError)


def test_bad_url_and_timeout(server):
    with pytest.raises(citadel.InvalidArgumentError):
        citadel.connect("http://127.0.0.1:1", policy=server.policy)
    with pytest.raises(ValueError):
        citadel.connect(server.url, policy=server.policy, timeout=0)
    with pytest.raises(TypeError):
        citadel.connect(server.url, policy=server.policy, timeout="10")


def test_closed_client(server):
    c = citadel.connect(server.url, policy=server.policy)
    c.close()
    c.close()  # idempotent
    with pytest.raises(citadel.ClientClosedError):
        c.models()
    with citadel.connect(server.url, policy=server.policy) as c2:
        pass
    with pytest.raises(citadel.ClientClosedError):
        c2.infer("x", {})
