"""Relations between entities, derived from spec fields in both directions as Backstage does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from catalog.refs import RefError, canonical_ref

INVERSE: dict[str, str] = {
    "ownedBy": "ownerOf",
    "partOf": "hasPart",
    "providesApi": "apiProvidedBy",
    "consumesApi": "apiConsumedBy",
    "dependsOn": "dependencyOf",
    "childOf": "parentOf",
    "memberOf": "hasMember",
    "scaffoldedFrom": "scaffolderOf",  # spec.scaffoldedFrom (the community scaffolder relation processor)
}
INVERSE.update({inverse: forward for forward, inverse in list(INVERSE.items())})


@dataclass(frozen=True, slots=True)
class SpecField:
    """A spec field that names other entities: the relation it emits and its default kind."""

    field: str
    relation: str
    default_kind: str | None  # None: the reference must carry its own kind, as upstream requires
    many: bool = False


_OWNER = SpecField("owner", "ownedBy", "group")
_SYSTEM = SpecField("system", "partOf", "system")
_DEPENDS_ON = SpecField("dependsOn", "dependsOn", None, many=True)
_DEPENDENCY_OF = SpecField("dependencyOf", "dependencyOf", None, many=True)

SPEC_FIELDS: dict[str, tuple[SpecField, ...]] = {
    "component": (
        _OWNER,
        _SYSTEM,
        SpecField("subcomponentOf", "partOf", "component"),
        SpecField("providesApis", "providesApi", "api", many=True),
        SpecField("consumesApis", "consumesApi", "api", many=True),
        _DEPENDS_ON,
        _DEPENDENCY_OF,
    ),
    "api": (_OWNER, _SYSTEM),
    "resource": (_OWNER, _SYSTEM, _DEPENDS_ON, _DEPENDENCY_OF),
    "system": (_OWNER, SpecField("domain", "partOf", "domain")),
    "domain": (_OWNER, SpecField("subdomainOf", "partOf", "domain")),
    "group": (
        SpecField("parent", "childOf", "group"),
        SpecField("children", "parentOf", "group", many=True),
        SpecField("members", "hasMember", "user", many=True),
    ),
    "user": (SpecField("memberOf", "memberOf", "group", many=True),),
    "template": (_OWNER,),
}


def spec_references(kind: str, namespace: str, spec: Mapping[str, object]) -> tuple[list[tuple[str, str]], list[str]]:
    """The (relation type, target ref) pairs an entity's spec declares, and problems with them."""
    pairs: list[tuple[str, str]] = []
    problems: list[str] = []
    for spec_field in SPEC_FIELDS.get(kind.lower(), ()):
        value = spec.get(spec_field.field)
        if value is None:
            continue
        values = value if spec_field.many and isinstance(value, list) else [value]
        for index, item in enumerate(values):
            try:
                target = canonical_ref(item, default_kind=spec_field.default_kind, default_namespace=namespace)
            except RefError as error:
                where = f"spec.{spec_field.field}" + (f".{index}" if spec_field.many else "")
                problems.append(f'"{where}" is not a valid entity reference: {error}')
                continue
            pairs.append((spec_field.relation, target))
    return pairs, problems
