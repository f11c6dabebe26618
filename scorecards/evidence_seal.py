"""Sealing an evidence pack: its canonical form (the pack without `integrity` and `signature`, as JSON
with keys sorted, no whitespace, UTF-8, instants in ISO-8601 UTC "...Z"; orjson with OPT_SORT_KEYS),
the SHA-256 of those bytes, and an Ed25519 signature over the same bytes when a key is configured.
A verifier parses the file and canonicalises it again, so a pack may be re-indented or re-ordered on
its way and still verify; a changed value does not."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from catalog.provenance import to_utc

SCHEMA = "stairway.evidence-pack/v1"
KEY_ENV = "STAIRWAY_EVIDENCE_KEY"  # the path of a PEM file holding the Ed25519 private key packs are signed with
SEALS = ("integrity", "signature")
_JSON = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


class EvidenceKeyError(ValueError):
    """A signing or verifying key that cannot be read."""


def instant(moment: datetime) -> str:
    """A moment as the pack writes it: ISO-8601 in UTC with a Z."""
    return to_utc(moment).isoformat().replace("+00:00", "Z")


def canonical(pack: Mapping[str, Any]) -> bytes:
    """The canonical form: JSON, keys sorted, no whitespace, UTF-8, instants in ISO-8601 UTC."""
    return orjson.dumps(pack, default=_plain, option=_JSON)


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return instant(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def content(document: Mapping[str, Any]) -> dict[str, Any]:
    """The pack without its seals: what the digest and signature cover."""
    return {key: value for key, value in document.items() if key not in SEALS}


def seal(pack: Mapping[str, Any], signing_key: Ed25519PrivateKey | None = None) -> dict[str, Any]:
    """The pack with `integrity` (the SHA-256 of its canonical form) and, given a key, an Ed25519 `signature`."""
    data = canonical(content(pack))
    sealed: dict[str, Any] = orjson.loads(data)  # plain JSON values: it serialises back to the same bytes
    sealed["integrity"] = {"algorithm": "sha256", "digest": hashlib.sha256(data).hexdigest()}
    if signing_key is not None:
        sealed["signature"] = {
            "algorithm": "ed25519",
            "keyId": key_id(signing_key.public_key()),
            "value": base64.b64encode(signing_key.sign(data)).decode(),
        }
    return sealed


def key_id(public_key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of the SHA-256 of the raw public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def verify(document: object, public_key: Ed25519PublicKey | None = None) -> list[str]:
    """What is wrong with a sealed pack (nothing: verified). Without `public_key` only the digest is
    checked; with one, the pack must also carry a valid signature by that key."""
    if not isinstance(document, Mapping):
        return ["not an evidence pack: a JSON object is expected"]
    try:
        data = canonical(content(document))
    except orjson.JSONEncodeError as error:  # e.g. an integer past 64 bits
        return [f"the pack has no canonical form: {error}"]
    problems = [] if document.get("schema") == SCHEMA else [f"not an evidence pack: its schema is not {SCHEMA}"]
    problems += _digest_problems(document.get("integrity"), hashlib.sha256(data).hexdigest())
    if public_key is not None:
        problems += _signature_problems(document.get("signature"), data, public_key)
    return problems


def _digest_problems(integrity: object, actual: str) -> list[str]:
    if not isinstance(integrity, Mapping) or not isinstance(integrity.get("digest"), str):
        return ["the pack has no integrity digest"]
    if integrity.get("algorithm") != "sha256":
        return [f"unknown digest algorithm {integrity.get('algorithm')!r}: sha256 is expected"]
    if integrity["digest"].lower() != actual:
        return [
            f"the pack was changed after it was made: its digest says sha256:{integrity['digest']}, "
            f"its content is sha256:{actual}"
        ]
    return []


def _signature_problems(signature: object, data: bytes, public_key: Ed25519PublicKey) -> list[str]:
    expected = key_id(public_key)
    if not isinstance(signature, Mapping):
        return [f"the pack is not signed (key {expected} was expected to sign it)"]
    if signature.get("algorithm") != "ed25519":
        return [f"unknown signature algorithm {signature.get('algorithm')!r}: ed25519 is expected"]
    if signature.get("keyId") != expected:
        return [f"signed by another key: {signature.get('keyId')}, not {expected}"]
    try:
        public_key.verify(base64.b64decode(str(signature.get("value")), validate=True), data)
    except (InvalidSignature, ValueError):
        return [f"the signature is not valid for the pack's content under key {expected}"]
    return []


def load_signing_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """The Ed25519 private key in a PEM file (unencrypted PKCS#8); EvidenceKeyError when it is not one."""
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError as error:
        raise EvidenceKeyError(f"{path}: cannot read the signing key: {error.strerror}") from None
    except (ValueError, TypeError) as error:  # TypeError: the key is encrypted
        raise EvidenceKeyError(f"{path}: not a PEM private key Stairway can use: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise EvidenceKeyError(f"{path}: the key is {type(key).__name__.removeprefix('_')}, not Ed25519")
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """The Ed25519 public key in a PEM file: a public key, or the private key it belongs to."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise EvidenceKeyError(f"{path}: cannot read the public key: {error.strerror}") from None
    if b"PRIVATE KEY" in data:
        return load_signing_key(path).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as error:
        raise EvidenceKeyError(f"{path}: not a PEM public key: {error}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise EvidenceKeyError(f"{path}: the key is {type(key).__name__.removeprefix('_')}, not Ed25519")
    return key


def configured_signing_key(environ: Mapping[str, str] = os.environ, name: str = KEY_ENV) -> Ed25519PrivateKey | None:
    """The signing key whose PEM file the variable `name` names; None when it is unset or empty."""
    path = environ.get(name, "").strip()
    return load_signing_key(path) if path else None
