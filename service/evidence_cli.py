"""The evidence commands of `stairway`: `evidence REF` makes an entity's sealed pack, `evidence verify FILE`
checks one.

Both are one sub-command with a positional `REF|verify` and an optional FILE, because argparse cannot
give a sub-command both sub-commands of its own and a free positional. The word `verify` can never be
a ref: an entity ref needs its kind (`component:verify` is the component named verify).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI module stays light: `stairway ingest` workers import it
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

VERIFY = "verify"
FORMATS = ("json", "markdown")


def add_commands(commands: Any) -> None:
    """Register `evidence` on the `stairway` sub-command parser."""
    evidence = commands.add_parser(
        "evidence",
        help="make an entity's evidence pack (evidence REF), or check one (evidence verify FILE)",
        description="`evidence REF` prints (or writes, --out) the entity's sealed evidence pack, signed when "
        "STAIRWAY_EVIDENCE_KEY names an Ed25519 private key (PEM). `evidence verify FILE` checks a pack's "
        "digest and, with --public-key or STAIRWAY_EVIDENCE_KEY, its signature: exit 0 verified, 1 refused.",
    )
    evidence.add_argument("target", metavar="REF|verify", help="an entity ref such as component:payments-api")
    evidence.add_argument("file", nargs="?", metavar="FILE", help="with verify: the JSON pack to check")
    evidence.add_argument("--out", metavar="FILE", help="write the pack to FILE (default: standard output)")
    evidence.add_argument("--format", choices=FORMATS, default=None, help="json (default, verifiable) or markdown")
    evidence.add_argument(
        "--public-key",
        metavar="PEM",
        help="with verify: the signer's public key, or its private key (default: from STAIRWAY_EVIDENCE_KEY)",
    )
    evidence.set_defaults(run=_evidence)


def _evidence(args: argparse.Namespace) -> int:
    if args.target == VERIFY:
        if args.file is None:
            return _refuse("evidence verify needs the FILE to check")
        if args.out is not None or args.format is not None:
            return _refuse("evidence verify takes --public-key, not --out or --format")
        return verify_file(args.file, args.public_key)
    if args.file is not None:
        return _refuse(f"evidence REF takes no FILE (to check {args.file}: stairway evidence verify {args.file})")
    if args.public_key is not None:
        return _refuse("--public-key is for evidence verify")
    return make_pack(args.target, args.out, args.format or "json", getattr(args, "config", None))


def make_pack(target: str, out: str | None, form: str, config_file: str | None) -> int:
    """Print or write the entity's sealed pack; 2 when the ref, configuration, key or entity is wrong."""
    from catalog.database import create_engine, migrate
    from catalog.refs import RefError, parse_ref
    from catalog.tables import utc_now
    from scorecards.evidence import EntityNotFound, sealed_pack
    from scorecards.evidence_seal import EvidenceKeyError, configured_signing_key
    from service.config import command_config
    from service.scorecard_cli import live_scorecards

    try:
        ref = parse_ref(target).ref
        key = configured_signing_key()
    except (RefError, EvidenceKeyError) as error:
        return _refuse(str(error))
    config = command_config(config_file)
    if config is None:
        return 2
    scorecards = live_scorecards()
    engine = create_engine()
    try:
        migrate(engine)
        pack = sealed_pack(engine, scorecards, ref, utc_now(), config.dora_profile, key)
    except EntityNotFound as error:
        return _refuse(str(error))
    finally:
        engine.dispose()
    _emit(_text(pack, form), out)
    signed = f"signed by key {pack['signature']['keyId']}" if "signature" in pack else "not signed"
    where = f"; written to {out}" if out else ""
    print(f"evidence pack for {ref}: sha256:{pack['integrity']['digest']}, {signed}{where}", file=sys.stderr)
    return 0


def _text(pack: dict[str, Any], form: str) -> str:
    import orjson

    from scorecards.evidence_report import render_markdown

    if form == "markdown":
        return render_markdown(pack)
    return orjson.dumps(pack, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


def _emit(text: str, out: str | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    with open(out, "w", encoding="utf-8") as handle:
        handle.write(text)


def verify_file(path: str, public_key_file: str | None) -> int:
    """Check a pack file: 0 and what was verified, 1 and each problem, 2 when the file or key cannot be read."""
    import orjson

    from scorecards.evidence_seal import EvidenceKeyError, verify

    try:
        with open(path, "rb") as handle:
            document = orjson.loads(handle.read())
    except OSError as error:
        return _refuse(f"{path}: cannot read it: {error.strerror}")
    except orjson.JSONDecodeError as error:
        return _refuse(f"{path}: not JSON: {error}")
    try:
        public_key = _public_key(public_key_file)
    except EvidenceKeyError as error:
        return _refuse(str(error))
    problems = verify(document, public_key)
    for problem in problems:
        print(f"{path}: {problem}", file=sys.stderr)
    if problems:
        print(f"{path}: not verified", file=sys.stderr)
        return 1
    print(f"verified: digest sha256:{document['integrity']['digest']} {_signer(document, public_key)}")
    return 0


def _public_key(given: str | None) -> Ed25519PublicKey | None:
    from scorecards.evidence_seal import configured_signing_key, load_public_key

    if given is not None:
        return load_public_key(given)
    signing_key = configured_signing_key()
    return signing_key.public_key() if signing_key is not None else None


def _signer(document: dict[str, Any], public_key: Ed25519PublicKey | None) -> str:
    from scorecards.evidence_seal import key_id

    if public_key is not None:
        return f"signed by key {key_id(public_key)}"
    signature = document.get("signature")
    if isinstance(signature, dict):
        return f"(signed by key {signature.get('keyId')}: not checked, give --public-key or set STAIRWAY_EVIDENCE_KEY)"
    return "(not signed)"


def _refuse(message: str) -> int:
    print(f"stairway: {message}", file=sys.stderr)
    return 2
