"""The Python client against a real server: attest, upload, infer (float,
integer, bool, float16/float64, multiple inputs and outputs), models, delete,
receipts, offline evidence checks, the GIL, context management."""

import base64
import json
import socket
import threading
import time

import numpy as np
import pytest

import citadel
from conftest import MODELS


def test_connect_attests_and_pins(server):
    with pytest.warns(citadel.SimulationWarning, match="SIMULATION"):
        client = citadel.connect(server.url, policy=server.policy)
    with client:
        claims = client.attestation
        assert claims["platform"] == "sim"
        assert claims["simulation"] == "true"
        assert claims["measurement"] == server.measurement
        assert client.simulation is True
        assert client.measurement == server.measurement
        assert isinstance(client.tls_public_key, bytes) and len(client.tls_public_key) > 60
        assert "SIMULATION" in repr(client)
        # The attestation dict is a copy: changing it changes nothing.
        claims["measurement"] = "00"
        assert client.attestation["measurement"] == server.measurement

        fresh = client.attest()
        assert fresh["measurement"] == server.measurement
        nonce = bytes(range(32))
        assert client.attest(nonce=nonce)["nonce"] == nonce.hex()
    assert client.closed


def test_policy_as_dict(server):
    with citadel.connect(server.url, policy=server.policy_dict()) as c:
        assert c.measurement == server.measurement


def test_upload_infer_float_model(client, model_name):
    info = client.upload_model(MODELS / "xray_cnn.onnx", name=model_name)
    assert isinstance(info, citadel.ModelInfo)
    assert info.name == model_name and info.version == 1 and len(info.id) == 64
    assert info.inputs[0].name == "image" and info.inputs[0].dtype == "float32"
    assert tuple(info.inputs[0].shape) == (1, 1, 64, 64)

    image = np.load(MODELS / "xray_sample.npy")
    expected = np.load(MODELS / "xray_expected.npy")
    outputs = client.infer(model_name, {"image": image})
    assert list(outputs) == ["probabilities"]
    probs = outputs["probabilities"]
    assert probs.dtype == np.float32 and probs.shape == expected.shape
    np.testing.assert_allclose(probs, expected, atol=1e-4, rtol=0)

    names = [m.name for m in client.models()]
    assert model_name in names
    assert client.get_model(model_name).id == info.id

    # Non-contiguous and big-endian inputs are normalised, not rejected.
    wide = np.zeros((1, 1, 64, 128), dtype=np.float32)
    wide[..., ::2] = image
    np.testing.assert_allclose(client.infer(model_name, {"image": wide[..., ::2]})["probabilities"], expected,
                               atol=1e-4, rtol=0)
    np.testing.assert_allclose(client.infer(model_name, {"image": image.astype(">f4")})["probabilities"],
                               expected, atol=1e-4, rtol=0)

    client.delete_model(model_name)
    assert model_name not in [m.name for m in client.models()]


def test_upload_from_bytes_and_versions(client, model_name):
    data = (MODELS / "mlp_dynamic.onnx").read_bytes()
    assert client.upload_model(data, name=model_name).version == 1
    assert client.upload_model(data, name=model_name).version == 2
    assert client.upload_model(data, name=model_name, version=7).version == 7
    sample = np.load(MODELS / "mlp_sample.npy")
    expected = np.load(MODELS / "mlp_expected.npy")
    info = client.get_model(model_name)
    out = client.infer(model_name, {info.inputs[0].name: sample})
    np.testing.assert_allclose(out[info.outputs[0].name], expected, atol=1e-4, rtol=0)
    client.delete_model(model_name)


def test_integer_model_multiple_inputs_and_outputs(client, model_name, int_model):
    client.upload_model(int_model, name=model_name)
    a = np.array([1, 5, -3, 2**40], dtype=np.int64)
    b = np.array([2, 4, -3, 1], dtype=np.int64)
    out = client.infer(model_name, {"a": a, "b": b})
    assert set(out) == {"sum", "gt", "scaled"}
    assert out["sum"].dtype == np.int64
    np.testing.assert_array_equal(out["sum"], a + b)
    assert out["gt"].dtype == np.bool_
    np.testing.assert_array_equal(out["gt"], a > b)
    assert out["scaled"].dtype == np.int32
    np.testing.assert_array_equal(out["scaled"][:3], ((a + b) * 3).astype(np.int32)[:3])


def test_float16_and_float64_outputs(client, model_name, half_model):
    client.upload_model(half_model, name=model_name)
    x = np.array([[0.5, 1.25, -2], [3, 65504 / 4, 1e-3]], dtype=np.float16)
    out = client.infer(model_name, {"x": x})
    assert out["y"].dtype == np.float16
    np.testing.assert_array_equal(out["y"], x)
    assert out["y64"].dtype == np.float64
    np.testing.assert_array_equal(out["y64"], x.astype(np.float64))


def test_string_tensors(client, model_name):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["s"], ["t"])], "strings",
                              [helper.make_tensor_value_info("s", TensorProto.STRING, [2, 2])],
                              [helper.make_tensor_value_info("t", TensorProto.STRING, [2, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    client.upload_model(model.SerializeToString(), name=model_name)
    s = np.array([["héllo", "wörld"], ["", "x" * 1000]])
    out, receipt = client.infer(model_name, {"s": s}, receipt=True)
    assert out["t"].dtype == object and out["t"].shape == (2, 2)
    assert out["t"].tolist() == s.tolist()
    citadel.verify_receipt(receipt, inputs={"s": s}, outputs=out)
    # bytes elements and object arrays are string tensors too
    as_bytes = np.array([[b"h\xc3\xa9llo", b"w\xc3\xb6rld"], [b"", b"x" * 1000]], dtype=object)
    assert client.infer(model_name, {"s": as_bytes})["t"].tolist() == s.tolist()


def test_upload_progress_callback(client, model_name, capsys):
    calls = []
    client.upload_model(MODELS / "xray_cnn.onnx", name=model_name, progress=lambda s, t: calls.append((s, t)))
    size = (MODELS / "xray_cnn.onnx").stat().st_size
    assert calls and calls[-1] == (size, size)
    assert all(0 < s <= t == size for s, t in calls)

    client.upload_model(MODELS / "xray_cnn.onnx", name=model_name, progress=True)
    assert "100%" in capsys.readouterr().err

    # A big upload reports every MiB (this one is refused after it arrived).
    calls.clear()
    with pytest.raises(citadel.InvalidArgumentError, match="ONNX"):
        client.upload_model(b"\0" * (3 << 20), name=model_name, progress=lambda s, t: calls.append((s, t)))
    assert calls == [(1 << 20, 3 << 20), (2 << 20, 3 << 20), (3 << 20, 3 << 20)]

    def broken(sent, total):
        raise KeyError("from the callback")

    # The callback's exception is not swallowed (the upload itself cannot be
    # cancelled by the C++ SDK, so it completes first).
    with pytest.raises(KeyError, match="from the callback"):
        client.upload_model(MODELS / "xray_cnn.onnx", name=model_name, progress=broken)


def test_receipt_verifies_online_and_offline(client, server, model_name, tmp_path):
    client.upload_model(MODELS / "xray_cnn.onnx", name=model_name)
    image = np.load(MODELS / "xray_sample.npy")
    outputs, receipt = client.infer(model_name, {"image": image}, receipt=True)
    assert isinstance(receipt, dict) and receipt["kind"] == "receipt"

    v = citadel.verify_receipt(receipt, policy=server.policy, inputs={"image": image}, outputs=outputs)
    payload = v["payload"]
    assert payload["model_id"] == client.get_model(model_name).id
    assert payload["simulation"] is True
    assert v["evidence"]["measurement"] == server.measurement
    digests = {d["name"]: d["sha256"] for d in payload["outputs"]}
    assert digests["probabilities"] == citadel.tensor_digest("probabilities", outputs["probabilities"])

    # Saved to a file and checked later; JSON text works too.
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    citadel.verify_receipt(path, outputs=outputs)
    citadel.verify_receipt(json.dumps(receipt), policy=server.policy_dict())

    # An altered output, an altered input, or a dtype change is caught.
    altered = dict(outputs)
    altered["probabilities"] = outputs["probabilities"].copy()
    altered["probabilities"][0, 0] += 1e-3
    with pytest.raises(citadel.AttestationError, match="does not match"):
        citadel.verify_receipt(receipt, outputs=altered)
    with pytest.raises(citadel.AttestationError):
        citadel.verify_receipt(receipt, inputs={"image": image * 2})
    with pytest.raises(citadel.AttestationError):
        citadel.verify_receipt(receipt, outputs={"probabilities": outputs["probabilities"].astype(np.float64)})
    with pytest.raises(citadel.AttestationError):
        citadel.verify_receipt(receipt, outputs={"not_an_output": outputs["probabilities"]})

    # A tampered payload breaks the signature.
    forged = dict(receipt)
    p = json.loads(base64.b64decode(forged["payload"]))
    p["model_version"] = 99
    forged["payload"] = base64.b64encode(json.dumps(p).encode()).decode()
    with pytest.raises(citadel.AttestationError):
        citadel.verify_receipt(forged)

    # A policy that refuses the evidence refuses the receipt.
    with pytest.raises(citadel.PolicyError):
        citadel.verify_receipt(receipt, policy=server.policy_dict(allow_simulation=False))
    with pytest.raises(citadel.PolicyError):
        citadel.verify_receipt(receipt, policy=server.policy_dict(measurement="ab" * 48))


def test_verify_evidence_offline(client, server):
    evidence, nonce = client.fetch_evidence()
    key = client.tls_public_key
    claims = citadel.verify_evidence(evidence, policy=server.policy, nonce=nonce, tls_public_key=key)
    assert claims["measurement"] == server.measurement and claims["simulation"] == "true"
    assert citadel.verify_evidence(base64.b64encode(evidence).decode())["platform"] == "sim"

    with pytest.raises(citadel.AttestationError, match="nonce"):
        citadel.verify_evidence(evidence, nonce=b"\x01" * 32, tls_public_key=key)
    with pytest.raises(citadel.AttestationError):
        citadel.verify_evidence(evidence, tls_public_key=key)  # fresh evidence is not certificate evidence
    with pytest.raises(citadel.PolicyError):
        citadel.verify_evidence(evidence, policy=server.policy_dict(allow_simulation=False))
    tampered = bytearray(evidence)
    tampered[-10] ^= 1
    with pytest.raises(citadel.AttestationError):
        citadel.verify_evidence(bytes(tampered))
    with pytest.raises(citadel.AttestationError):
        citadel.verify_evidence(b"not evidence")


def test_audit_log_verified(client, model_name):
    client.upload_model(MODELS / "xray_cnn.onnx", name=model_name)
    audit = client.audit()
    assert audit["checkpoint_verified"] is True
    assert audit["verified_entries"] == len(audit["entries"]) > 0
    assert any(e["event"] == "model_uploaded" and e["data"].get("name") == model_name for e in audit["entries"])


def test_owner_signed_upload_and_delete(locked_server, owner_key, user_token, model_name):
    with citadel.connect(locked_server.url, policy=locked_server.policy, token=user_token) as c:
        info = c.upload_model(MODELS / "xray_cnn.onnx", name=model_name, owner_key=owner_key)
        assert info.signer == owner_key.key_id
        # The key may also be given as the path of its PEM file.
        info2 = c.upload_model(MODELS / "xray_cnn.onnx", name=model_name,
                               owner_key=locked_server.dir.parent / "owner.key")
        assert info2.version == info.version + 1
        image = np.load(MODELS / "xray_sample.npy")
        np.testing.assert_allclose(c.infer(model_name, {"image": image})["probabilities"],
                                   np.load(MODELS / "xray_expected.npy"), atol=1e-4, rtol=0)
        c.delete_model(model_name, owner_key=owner_key)
        with pytest.raises(citadel.NotFoundError):
            c.get_model(model_name)


def test_gil_released_during_network_calls():
    # A peer that accepts TCP but never answers TLS: the call blocks until
    # its timeout. Meanwhile other Python threads must keep running.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    url = f"https://127.0.0.1:{listener.getsockname()[1]}"
    policy = {"version": 1, "allow_simulation": True, "accept_any_measurement": True}
    errors = []

    def blocked():
        try:
            citadel.connect(url, policy=policy, timeout=2)
        except citadel.CitadelError as e:
            errors.append(e)

    t = threading.Thread(target=blocked)
    start = time.monotonic()
    t.start()
    ticks = 0
    while t.is_alive() and time.monotonic() - start < 10:
        ticks += 1
        time.sleep(0.001)
    t.join()
    listener.close()
    assert ticks > 100, "the main thread was starved: the GIL was held during the call"
    assert len(errors) == 1 and isinstance(errors[0], citadel.DeadlineExceededError)
    assert isinstance(errors[0], TimeoutError) and isinstance(errors[0], citadel.UnavailableError)


def test_concurrent_inference_from_threads(client, model_name):
    client.upload_model(MODELS / "xray_cnn.onnx", name=model_name)
    image = np.load(MODELS / "xray_sample.npy")
    expected = np.load(MODELS / "xray_expected.npy")
    results = []

    def work():
        for _ in range(3):
            results.append(client.infer(model_name, {"image": image})["probabilities"])

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 9
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-4, rtol=0)


def test_owner_key_files(tmp_path):
    path = tmp_path / "k.pem"
    key = citadel.generate_owner_key(path)
    assert len(key.key_id) == 64
    assert (path.stat().st_mode & 0o777) == 0o600
    assert citadel.load_owner_key(path).key_id == key.key_id
    assert base64.b64decode(key.config_entry("v")["public_key"])
    with pytest.raises(FileExistsError):
        citadel.generate_owner_key(path)
    with pytest.raises(FileNotFoundError):
        citadel.OwnerKey.load(tmp_path / "missing.pem")
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(ValueError):
        citadel.OwnerKey.load(tmp_path / "bad.pem")
