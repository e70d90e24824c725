"""Collateral, trust anchors and the appraisal instant in the Python client
(connect / verify_evidence): the inputs of `citadel verify`, judged by the
same C++ code. Hardware evidence comes from the real SEV-SNP vectors in
../shared/testdata/attestation (skipped with a message when absent); the
client end to end against an SEV-SNP server runs in C++
(tests/client/attested_snp_test.cc), since `citadel serve` cannot run on fake
hardware."""

import base64
import datetime
import os
import ssl
import struct
from pathlib import Path

import pytest

import citadel
from conftest import SOURCE_DIR

VECTORS = Path(os.environ.get("CITADEL_ATTEST_TESTDATA", SOURCE_DIR.parent / "shared" / "testdata" / "attestation"))

VCEK_GUID = bytes.fromhex("63da758de6644564adc5f4b93be8accd")
ASK_GUID = bytes.fromhex("4ab7b379bbac4fe4a02f05aef327c782")
ARK_GUID = bytes.fromhex("c0b406a4a803495297433fb6014cd0ae")


def need_vectors():
    if not VECTORS.is_dir():
        pytest.skip(f"SKIPPED: real attestation vectors not found at {VECTORS} (set CITADEL_ATTEST_TESTDATA)")


def pem_to_der(text):
    body = text.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    return base64.b64decode("".join(body.split()))


def cert_table(entries):
    """An SEV-SNP certificate table: {GUID, offset, length} entries, a zero entry, the DER data."""
    header = (len(entries) + 1) * 24
    out, data, off = b"", b"", header
    for guid, der in entries:
        out += guid + struct.pack("<II", off, len(der))
        off += len(der)
        data += der
    return out + bytes(24) + data


def envelope(kind, evidence, endorsements=b""):
    """The evidence envelope (docs/protocol.md): version 2 when endorsements follow."""
    version = 2 if endorsements else 1
    out = b"CTDLEVID" + struct.pack("<HB", version, kind) + struct.pack("<I", len(evidence)) + evidence
    if endorsements:
        out += struct.pack("<I", len(endorsements)) + endorsements
    return out


def snp_envelope(with_table):
    report = bytes.fromhex((VECTORS / "sev-snp/virtee-sev/report_milan.hex").read_text().strip())
    table = b""
    if with_table:
        table = cert_table([
            (VCEK_GUID, (VECTORS / "sev-snp/virtee-sev/vcek_milan.der").read_bytes()),
            (ASK_GUID, pem_to_der((VECTORS / "sev-snp/virtee-sev/builtin_milan_ask.pem").read_text())),
            (ARK_GUID, pem_to_der((VECTORS / "sev-snp/virtee-sev/builtin_milan_ark.pem").read_text())),
        ])
    return envelope(4, report, table)


def test_snp_evidence_with_its_certificate_table():
    need_vectors()
    claims = citadel.verify_evidence(snp_envelope(True), at="2025-01-01T00:00:00Z")
    assert claims["platform"] == "snp"
    assert claims["snp.vek_source"] == "evidence certificate table"
    assert claims["snp.tcb.microcode"] == "115"
    # A datetime works as the instant too (aware or naive UTC).
    at = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    assert citadel.verify_evidence(snp_envelope(True), at=at)["platform"] == "snp"


def test_snp_evidence_needs_collateral_without_table():
    need_vectors()
    with pytest.raises(citadel.AttestationError) as e:
        citadel.verify_evidence(snp_envelope(False), at="2025-01-01T00:00:00Z")
    assert "snp.vek_missing" in e.value.message and "--collateral" in e.value.message
    claims = citadel.verify_evidence(snp_envelope(False), at="2025-01-01T00:00:00Z",
                                     collateral=VECTORS / "sev-snp/virtee-sev/vcek_milan.der")
    assert claims["snp.vek_source"] == "collateral"


def test_snp_evidence_with_wrong_root_or_outside_validity():
    need_vectors()
    with pytest.raises(citadel.AttestationError) as e:
        citadel.verify_evidence(snp_envelope(True), at="2025-01-01T00:00:00Z",
                                roots=[VECTORS / "roots/amd_genoa_ark.pem"])
    assert "snp.untrusted_root" in e.value.message
    # The right root given explicitly.
    claims = citadel.verify_evidence(snp_envelope(True), at="2025-01-01T00:00:00Z",
                                     roots=VECTORS / "roots/amd_milan_ark.pem")
    assert claims["snp.product"] == "Milan"
    with pytest.raises(citadel.AttestationError) as e:
        citadel.verify_evidence(snp_envelope(True), at="2000-01-01T00:00:00Z")
    assert "not yet valid" in e.value.message


def test_connect_takes_collateral_roots_and_instant(server, tmp_path):
    # Simulation evidence ignores them; connecting still works, and the
    # collateral file is read and parsed before any connection.
    bundle = tmp_path / "bundle.json"
    bundle.write_text('{"format": "citadel-collateral", "version": 1, "items": []}')
    root = tmp_path / "root.pem"
    root.write_text(ssl.get_server_certificate(("127.0.0.1", server.port)))
    with citadel.connect(server.url, policy=server.policy, collateral=bundle, roots=[root],
                         at=datetime.datetime.now(datetime.timezone.utc)) as client:
        assert client.attestation["platform"] == "sim"


def test_connect_refuses_bad_attestation_inputs(server, tmp_path):
    with pytest.raises(citadel.CitadelError) as e:
        citadel.connect(server.url, policy=server.policy, collateral=tmp_path / "missing.json")
    assert "missing.json" in e.value.message
    with pytest.raises(citadel.CitadelError) as e:
        citadel.connect(server.url, policy=server.policy, at="yesterday")
    assert "RFC 3339" in e.value.message
    with pytest.raises(TypeError):
        citadel.connect(server.url, policy=server.policy, collateral=123)
    with pytest.raises(TypeError):
        citadel.connect(server.url, policy=server.policy, at=12.5)
