"""Upstream Backstage test vectors and real descriptor files from the shared corpus, read in place."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog import validation as v
from catalog.refs import RefError, entity_ref, parse_ref, split_ref
from catalog.validation import validate_entity

# The corpus lives beside the repository (…/shared/corpus), wherever the repo is cloned.
REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT.parent / "shared" / "corpus"
if not CORPUS.is_dir():
    pytest.skip(f"shared corpus not found at {CORPUS} (expected beside the repo)", allow_module_level=True)

VECTORS: dict[str, Any] = yaml.safe_load((CORPUS / "validation-vectors.yaml").read_text(encoding="utf-8"))

# Upstream validator name (from each section's `validator:`) -> our function.
VALIDATORS = {
    "isValidApiVersion": v.is_valid_api_version,
    "isValidKind": v.is_valid_kind,
    "isValidObjectName": v.is_valid_entity_name,
    "isValidNamespace": v.is_valid_namespace,
    "isValidLabelKey": v.is_valid_label_key,
    "isValidLabelValue": v.is_valid_label_value,
    "isValidAnnotationKey": v.is_valid_annotation_key,
    "isValidAnnotationValue": v.is_valid_annotation_value,
    "isValidDnsSubdomain": v.is_valid_dns_subdomain,
    "isValidDnsLabel": v.is_valid_dns_label,
    "isValidUrl": v.is_valid_url,
    "isValidString": v.is_valid_string,
}
FIELD_SECTIONS = {name: sec for name, sec in VECTORS.items() if not name.startswith("entity_ref")}


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}...<{len(text)} chars>"


def _upstream_name(section: dict[str, Any]) -> str:
    match = re.search(r"ValidatorFunctions\.(\w+)", section["validator"])
    assert match, section["validator"]
    return match.group(1)


def _field_cases() -> list[Any]:
    cases = []
    for name, section in FIELD_SECTIONS.items():
        validators = [VALIDATORS.get(_upstream_name(section))]
        # Tags now have their own, wider rule; it must agree on these legacy DNS-label vectors.
        if any(target.startswith("metadata.tags") for target in section.get("applies_to", [])):
            validators.append(v.is_valid_tag)
        for validator in validators:
            label = getattr(validator, "__name__", "missing")
            for expected in (True, False):
                values = section["valid" if expected else "invalid"]
                for i, value in enumerate(values):
                    case_id = f"{name}|{label}|{'valid' if expected else 'invalid'}[{i}]={_short(value)}"
                    cases.append(pytest.param(validator, value, expected, id=case_id))
    return cases


def test_every_field_section_maps_to_a_validator():
    assert FIELD_SECTIONS, "no field sections found in validation-vectors.yaml"
    unmapped = {
        name: _upstream_name(sec) for name, sec in FIELD_SECTIONS.items() if _upstream_name(sec) not in VALIDATORS
    }
    assert unmapped == {}


@pytest.mark.parametrize(("validator", "value", "expected"), _field_cases())
def test_field_vector(validator, value, expected):
    assert validator is not None
    assert validator(value) is expected


# --- entity references ---------------------------------------------------------------------------

PLAIN = VECTORS["entity_ref (string form, no defaults)"]
DEFAULTS = VECTORS["entity_ref (with defaults)"]
COMPARISON = VECTORS["entity_ref comparison (case-insensitive)"]
MODERN: dict[str, Any] = PLAIN["modern_parser_derived"]


def _triple(parts: dict[str, Any]) -> tuple[Any, Any, Any]:
    return parts["kind"], parts["namespace"], parts["name"]


@pytest.mark.parametrize("text", PLAIN["valid"])
def test_legacy_valid_ref_parses_as_documented(text):
    assert split_ref(text) == _triple(PLAIN["parsed"][text])


@pytest.mark.parametrize(("text", "expected"), list(MODERN.items()), ids=[repr(t) for t in MODERN])
def test_modern_parser_vector(text, expected):
    if expected == "throws":
        with pytest.raises(RefError):
            split_ref(text)
    else:
        assert split_ref(text) == _triple(expected)


def test_modern_block_covers_every_legacy_string():
    strings = [t for t in PLAIN["valid"] + PLAIN["invalid"] if isinstance(t, str)]
    assert set(strings) <= set(MODERN)


@pytest.mark.parametrize("value", [x for x in PLAIN["invalid"] if not isinstance(x, str)], ids=repr)
def test_non_string_refs_raise(value):
    with pytest.raises(RefError):
        split_ref(value)
    with pytest.raises(RefError):
        parse_ref(value, default_kind="x", default_namespace="y")


@pytest.mark.parametrize("text", list(DEFAULTS["parsed_with_defaults_x_y"]))
def test_ref_with_defaults(text):
    parsed = parse_ref(text, default_kind="x", default_namespace="y")
    assert (parsed.kind, parsed.namespace, parsed.name) == _triple(DEFAULTS["parsed_with_defaults_x_y"][text])


@pytest.mark.parametrize("text", DEFAULTS["invalid_for_parseEntityName_without_defaultKind"])
def test_ref_without_kind_or_default_kind_raises(text):
    with pytest.raises(RefError, match="kind"):
        parse_ref(text)


@pytest.mark.parametrize(
    "text", [t for t in DEFAULTS["invalid"] if isinstance(t, str) and MODERN[t] == "throws"], ids=repr
)
def test_defaults_do_not_rescue_malformed_refs(text):
    with pytest.raises(RefError):
        parse_ref(text, default_kind="x", default_namespace="y")


def _entity_canonical(spec: str) -> str:
    # "K:ns/n", or "K:n (no namespace)" for an entity whose namespace is left to the default.
    kind, namespace, name = split_ref(spec.removesuffix(" (no namespace)"))
    assert kind is not None
    return entity_ref(kind, namespace, name)


def _ref_canonical(case: dict[str, Any]) -> str:
    context = case.get("context") or {}
    kwargs = {"default_namespace": context["defaultNamespace"]} if "defaultNamespace" in context else {}
    return parse_ref(case["ref"], default_kind=context.get("defaultKind"), **kwargs).ref


@pytest.mark.parametrize("case", COMPARISON["valid"], ids=lambda c: f"{c['entity']}~{c['ref']}")
def test_ref_matches_entity_case_insensitively(case):
    assert _ref_canonical(case) == _entity_canonical(case["entity"])


def test_listed_non_matches_do_not_match():
    # The section's `invalid` list is empty today; a plain loop keeps that from showing up as a skip.
    for case in COMPARISON["invalid"]:
        assert _ref_canonical(case) != _entity_canonical(case["entity"]), case


# --- real descriptor files -----------------------------------------------------------------------

INVALID_COMPONENT = CORPUS / "backstage__backstage/packages/catalog-model/examples/components/invalid-component.yaml"


def _is_templated(path: Path) -> bool:
    # Scaffolder skeletons hold Nunjucks/cookiecutter text (`${{ values.name }}`) until rendered:
    # anything in a skeleton(s)/ folder, and the `template/catalog-info.yaml` files of
    # backstage/software-templates. A real Template entity kept in a template/ folder is still checked.
    parts = path.relative_to(CORPUS).parts
    in_skeleton = bool({"skeleton", "skeletons"} & set(parts[:-1]))
    return in_skeleton or parts[-2:] == ("template", "catalog-info.yaml")


def _corpus_files() -> list[Path]:
    files = (p for p in CORPUS.rglob("*") if p.suffix in (".yaml", ".yml"))
    return sorted(p for p in files if p.name != "validation-vectors.yaml")


def _load(path: Path) -> list[Any] | None:
    try:
        return list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except yaml.YAMLError:
        return None


def _real_documents() -> list[Any]:
    cases = []
    for path in _corpus_files():
        if path == INVALID_COMPONENT or _is_templated(path):
            continue
        for i, doc in enumerate(_load(path) or []):
            if isinstance(doc, dict):
                cases.append(pytest.param(doc, id=f"{path.relative_to(CORPUS)}#{i}"))
    return cases


REAL_DOCUMENTS = _real_documents()


def test_corpus_files_were_found():
    # Guard against a broken glob making the parametrized test below vacuous.
    assert len(REAL_DOCUMENTS) >= 80


def test_only_templated_skeletons_fail_to_parse():
    unparseable = [p.relative_to(CORPUS) for p in _corpus_files() if _load(p) is None]
    assert all(_is_templated(CORPUS / p) for p in unparseable), unparseable


def test_invalid_component_names_its_problems():
    docs = _load(INVALID_COMPONENT)
    assert docs is not None and len(docs) == 1
    problems = validate_entity(docs[0])
    assert len(problems) == 2
    assert problems[0].startswith('"metadata.name" is not valid;')
    assert problems[0].endswith('but found "invalid component"')
    assert problems[1].startswith('"metadata.tags.1" is not valid;')
    assert problems[1].endswith('but found "go 1.15.3"')


# RoadieHQ's sample/invalid-catalog-info.yml is included here on purpose: what it gets wrong
# (`source-location` without `url:`, `snyk.io/org-name`) breaks Roadie's own annotation checks,
# not Backstage's core rules, which only require annotation values to be strings.
@pytest.mark.parametrize("doc", REAL_DOCUMENTS)
def test_real_document_is_valid(doc):
    assert validate_entity(doc) == []
