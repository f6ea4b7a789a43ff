"""C2PA: with a key and certificate configured, the MP4 carries a signed manifest saying
Gioconda generated it; without, no manifest and no error. The pair is made here."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from gioconda.errors import GiocondaError
from gioconda.eval.provenance_attacks import decode, encode
from gioconda.provenance import Payload, Watermarker, read_credentials, sign_if_configured, verify
from gioconda.provenance.content_credentials import CERT_ENV, KEY_ENV


def _key_and_chain(folder) -> tuple[str, str]:
    """An EC P-256 signing key and its chain (leaf, then a test CA), as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Gioconda tests"),
            ]
        )

    def certificate(subject, issuer, public, signing, ca: bool) -> x509.Certificate:
        unused = ("content_commitment", "key_encipherment", "data_encipherment",
                  "key_agreement", "encipher_only", "decipher_only")  # fmt: skip
        usage = dict.fromkeys(unused, False)
        builder = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=ca, crl_sign=ca,
                                         **usage), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        )  # fmt: skip
        if not ca:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
            ).add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signing.public_key()),
                critical=False,
            )
        return builder.sign(signing, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate(name("Gioconda test CA"), name("Gioconda test CA"), ca_key.public_key(),
                     ca_key, True)  # fmt: skip
    leaf = certificate(name("Gioconda test signer"), ca.subject, key.public_key(), ca_key, False)
    key_path, cert_path = folder / "key.pem", folder / "chain.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    cert_path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, ca)))
    return str(key_path), str(cert_path)


@pytest.fixture
def video(mona_lisa, tmp_path):
    import cv2

    frame = cv2.resize(mona_lisa[:1354, :1354], (512, 512), interpolation=cv2.INTER_AREA)
    mark = Watermarker(512, 512, Payload(1, 0xC2FA))
    path = tmp_path / "clip.mp4"
    encode([mark(frame)] * 12, path, crf=20)
    return path


def test_signed_manifest_round_trip(video, tmp_path, monkeypatch):
    key, chain = _key_and_chain(tmp_path)
    monkeypatch.setenv(KEY_ENV, key)
    monkeypatch.setenv(CERT_ENV, chain)
    before = decode(video)
    assert sign_if_configured(video)
    credentials = read_credentials(video)
    assert credentials.present and credentials.generator == "Gioconda"
    assert credentials.ai_generated
    assert credentials.validation == "Valid"
    assert "Gioconda test signer" in credentials.signer
    # The video itself is untouched: same frames, same watermark.
    after = decode(video)
    assert len(after) == len(before) and all(
        np.array_equal(a, b) for a, b in zip(after, before, strict=True)
    )
    result = verify(video)
    assert result.exit_code == 0 and result.watermark.payload == Payload(1, 0xC2FA)
    assert not list(tmp_path.glob(".*.part"))


def test_tampered_video_fails_validation(video, tmp_path, monkeypatch):
    key, chain = _key_and_chain(tmp_path)
    monkeypatch.setenv(KEY_ENV, key)
    monkeypatch.setenv(CERT_ENV, chain)
    sign_if_configured(video)
    data = bytearray(video.read_bytes())
    where = data.index(b"mdat") + 2000  # inside the coded frames
    data[where] ^= 0xFF
    video.write_bytes(bytes(data))
    assert read_credentials(video).validation != "Valid"


def test_no_key_means_no_manifest_and_no_error(video, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(CERT_ENV, raising=False)
    assert not sign_if_configured(video)
    assert not read_credentials(video).present


def test_half_configured_or_bad_key_is_a_one_line_error(video, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "key.pem"))
    monkeypatch.delenv(CERT_ENV, raising=False)
    with pytest.raises(GiocondaError, match=CERT_ENV):
        sign_if_configured(video)
    (tmp_path / "key.pem").write_text("not a key")
    (tmp_path / "chain.pem").write_text("not a certificate")
    monkeypatch.setenv(CERT_ENV, str(tmp_path / "chain.pem"))
    with pytest.raises(GiocondaError, match="C2PA"):
        sign_if_configured(video)
    assert not read_credentials(video).present  # the video is as it was
