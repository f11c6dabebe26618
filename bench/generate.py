"""Generate a large, realistic synthetic Backstage catalogue for benchmarks.

Usage::

    python bench/generate.py N DIR [--seed 42] [--force]

writes exactly ``N`` catalogue entities (plus the Location files that tie them
together) under ``DIR``:

* ``DIR/all.yaml`` - the root Location; its ``targets`` list one
  ``./repos/<bucket>/location.yaml`` per bucket;
* ``DIR/repos/<bucket>/location.yaml`` - a Location with
  ``target: ./**/catalog-info.yaml``;
* ``DIR/repos/<bucket>/repo-<i>/catalog-info.yaml`` - 1 to 5 descriptor
  documents each (about N/3 files, at most 1000 files per bucket).

The mix is roughly 60% Components, 12% APIs, 10% Users, 8% Resources,
4% Systems, 3% Groups, 2% Domains and 1% Templates, with at least one of each
kind. Every relation (owner, system, domain, providesApis, consumesApis,
dependsOn, parent/children, memberOf and the ``backstage.io/source-template``
annotation) points at an entity that exists in the generated catalogue.
About 30% of Components were "created from a template" and carry
``backstage.io/source-template``, ``backstage.io/template-version`` and
``backstage.io/createdAt``.

Output depends only on ``N`` and the seed (timestamps are relative to a fixed
anchor date, not to the clock). YAML text is produced by a small block-style
emitter below rather than ``yaml.dump`` - it is several times faster, and any
scalar that PyYAML would not read back as the same string is written
double-quoted. Standard library + PyYAML (used only to decide quoting).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

CORE_API_VERSION = "backstage.io/v1alpha1"
TEMPLATE_API_VERSION = "scaffolder.backstage.io/v1beta3"

#: Share of each kind; Components take whatever is left so the total is exact.
KIND_SHARES: dict[str, float] = {
    "API": 0.12,
    "User": 0.10,
    "Resource": 0.08,
    "System": 0.04,
    "Group": 0.03,
    "Domain": 0.02,
    "Template": 0.01,
}
MIN_ENTITIES = len(KIND_SHARES) + 1
FILES_PER_BUCKET = 1000
MAX_DOCS_PER_FILE = 5
TEMPLATED_SHARE = 0.30
#: createdAt timestamps fall in the year before this fixed date (keeps output deterministic).
ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
ORG = "acme"

AREAS = [
    "payments",
    "checkout",
    "search",
    "catalog",
    "inventory",
    "shipping",
    "identity",
    "marketing",
    "pricing",
    "support",
    "analytics",
    "risk",
    "personalization",
    "logistics",
    "billing",
    "ads",
    "messaging",
    "media",
    "partners",
    "compliance",
    "loyalty",
    "reviews",
    "orders",
    "fulfilment",
    "notifications",
    "onboarding",
    "growth",
    "experimentation",
    "forecasting",
    "recommendations",
    "fraud",
    "observability",
    "storage",
    "networking",
]
SYSTEM_NOUNS = ["platform", "core", "engine", "hub", "suite", "gateway", "backbone", "portal"]
TEAM_NOUNS = ["core", "platform", "squad", "enablement", "foundations", "insights", "ml", "infra", "web", "data"]
DEPARTMENTS = ["engineering", "data-science", "product", "infrastructure", "security", "ml-ai"]
COMPONENT_NOUNS = {
    "service": ["service", "api", "worker", "gateway", "backend", "processor", "scheduler", "adapter"],
    "website": ["web", "ui", "portal", "dashboard", "console", "admin"],
    "library": ["sdk", "lib", "client", "utils", "commons"],
    "model": ["model", "classifier", "ranker", "forecaster", "embedder", "llm-agent"],
    "pipeline": ["pipeline", "etl", "ingest", "batch", "stream", "backfill"],
}
COMPONENT_TYPES = ["service", "website", "library", "model", "pipeline"]
COMPONENT_TYPE_WEIGHTS = [50, 12, 14, 12, 12]
LIFECYCLES = ["production", "experimental", "deprecated"]
LIFECYCLE_WEIGHTS = [65, 25, 10]
LANGUAGE_TAGS = {
    "service": ["python", "java", "go", "kotlin", "typescript", "rust"],
    "website": ["typescript", "react", "nextjs", "vue"],
    "library": ["python", "java", "typescript", "go"],
    "model": ["python", "pytorch", "xgboost", "scikit-learn", "tensorflow", "huggingface"],
    "pipeline": ["python", "spark", "airflow", "dbt", "flink", "scala"],
}
EXTRA_TAGS = ["grpc", "rest", "kafka", "postgres", "redis", "k8s", "serverless", "pci", "gdpr", "tier-1", "c++", "c#"]
RESOURCE_TYPES = {
    "database": "db",
    "s3-bucket": "bucket",
    "kafka-topic": "events",
    "feature-store": "features",
    "model-registry": "models",
    "cache": "cache",
    "queue": "queue",
    "vector-database": "vectors",
}
RESOURCE_TAGS = {
    "database": ["postgres", "mysql", "aws"],
    "s3-bucket": ["aws", "s3"],
    "kafka-topic": ["kafka"],
    "feature-store": ["feast", "ai"],
    "model-registry": ["mlflow", "ai"],
    "cache": ["redis"],
    "queue": ["sqs", "aws"],
    "vector-database": ["pgvector", "ai"],
}
API_TYPES = ["openapi", "asyncapi", "grpc", "graphql"]
API_TYPE_WEIGHTS = [60, 20, 15, 5]
TEMPLATE_KINDS = [
    ("python-fastapi-service", "service", ["python", "fastapi"]),
    ("java-spring-service", "service", ["java", "spring-boot"]),
    ("go-grpc-service", "service", ["go", "grpc"]),
    ("ml-model-service", "model", ["python", "ai", "mlflow"]),
    ("llm-agent", "model", ["python", "ai", "llm"]),
    ("batch-data-pipeline", "pipeline", ["python", "airflow", "spark"]),
    ("streaming-pipeline", "pipeline", ["flink", "kafka"]),
    ("react-website", "website", ["typescript", "react"]),
    ("python-library", "library", ["python"]),
    ("typescript-library", "library", ["typescript"]),
]
FIRST_NAMES = [
    "ada",
    "ben",
    "chloe",
    "dmitri",
    "elena",
    "farid",
    "grace",
    "hiro",
    "isla",
    "jonas",
    "kofi",
    "lena",
    "mateo",
    "nadia",
    "oscar",
    "priya",
    "quinn",
    "rosa",
    "sven",
    "tara",
    "umar",
    "vera",
    "wen",
    "ximena",
    "yusuf",
    "zoe",
    "amir",
    "bea",
    "carlos",
    "dana",
    "emeka",
    "freya",
    "gabriel",
    "hana",
    "ivan",
    "jia",
    "kai",
    "lucia",
    "mei",
    "nils",
]
LAST_NAMES = [
    "okafor",
    "hartley",
    "nguyen",
    "volkov",
    "garcia",
    "haddad",
    "kim",
    "tanaka",
    "murphy",
    "berg",
    "mensah",
    "schulz",
    "rossi",
    "khan",
    "larsen",
    "patel",
    "silva",
    "dubois",
    "novak",
    "ito",
    "kowalski",
    "fischer",
    "moreau",
    "costa",
    "ahmed",
    "jensen",
    "santos",
    "weber",
    "olsen",
    "chen",
    "lopez",
    "meyer",
    "ward",
    "adeyemi",
    "sato",
    "horvat",
    "ricci",
    "brennan",
    "lindqvist",
    "mbeki",
]
DESCRIPTION_VERBS = [
    "Handles",
    "Serves",
    "Computes",
    "Stores",
    "Publishes",
    "Aggregates",
    "Validates",
    "Orchestrates",
    "Indexes",
    "Scores",
    "Routes",
    "Tracks",
]
DESCRIPTION_OBJECTS = [
    "customer orders",
    "payment authorisations",
    "product listings",
    "search queries",
    "shipment updates",
    "user sessions",
    "pricing rules",
    "fraud signals",
    "recommendation candidates",
    "inventory levels",
    "marketing campaigns",
    "support tickets",
    "feature vectors",
    "model predictions",
    "audit events",
]
DESCRIPTION_TAILS = [
    "for the storefront.",
    "for internal tools.",
    "across all regions.",
    "in near real time.",
    "on a nightly schedule.",
    "for partner integrations.",
    "behind the public API.",
    "for the mobile apps.",
]


# --------------------------------------------------------------------------- YAML emitter

#: Letter-first strings made of these characters are plain-safe unless they are a YAML 1.1
#: bool/null word or contain ': ' / ' #' (checked separately).
_SIMPLE_PLAIN = re.compile(r"[A-Za-z][-A-Za-z0-9 _./@+#:,()']*\Z")
#: Anything else is tried against this, then against PyYAML's implicit resolvers.
_PLAIN_CANDIDATE = re.compile(r"[A-Za-z0-9_./$][-A-Za-z0-9 _./@+#:,=()'$&*!?%]*\Z")
_SPECIAL_WORDS = frozenset(
    w for word in ("yes", "no", "true", "false", "on", "off", "null") for w in (word, word.title(), word.upper())
)
_RESOLVER = yaml.resolver.Resolver()
_SCALARS: dict[str, str] = {}


def _plain_safe(text: str) -> bool:
    """True if `text` can be written unquoted and still loads as this very string."""
    if not text or text[-1] in ": " or ": " in text or " #" in text:
        return False
    if _SIMPLE_PLAIN.match(text):
        return text not in _SPECIAL_WORDS
    if not _PLAIN_CANDIDATE.match(text) or text[0] == " ":
        return False
    return _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str"


def _str(text: str) -> str:
    """A one-line string as a YAML scalar: plain when safe, else JSON-style double-quoted."""
    out = _SCALARS.get(text)
    if out is None:
        out = text if _plain_safe(text) else json.dumps(text, ensure_ascii=False)
        if len(_SCALARS) < 100_000:
            _SCALARS[text] = out
    return out


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _block(text: str, pad: str) -> tuple[str, list[str]]:
    """A multi-line string as a literal block: (indicator, indented lines)."""
    if text.endswith("\n"):
        indicator, text = "|", text[:-1]
    else:
        indicator = "|-"
    return indicator, [pad + line if line else "" for line in text.split("\n")]


def _emit_mapping(mapping: dict[str, Any], pad: str, out: list[str]) -> None:
    for key, value in mapping.items():
        head = f"{pad}{_str(key)}:"
        kind = type(value)
        if kind is str:
            if "\n" in value:
                indicator, lines = _block(value, pad + "  ")
                out.append(f"{head} {indicator}")
                out.extend(lines)
            else:
                out.append(f"{head} {_str(value)}")
        elif kind is dict:
            if value:
                out.append(head)
                _emit_mapping(value, pad + "  ", out)
            else:
                out.append(f"{head} {{}}")
        elif kind is list:
            if value:
                out.append(head)
                _emit_sequence(value, pad + "  ", out)
            else:
                out.append(f"{head} []")
        else:
            out.append(f"{head} {_scalar(value)}")


def _emit_sequence(items: list[Any], pad: str, out: list[str]) -> None:
    for item in items:
        kind = type(item)
        if kind is dict and item:
            # Emit the mapping indented past the dash, then put the dash on its first line.
            first = len(out)
            _emit_mapping(item, pad + "  ", out)
            out[first] = f"{pad}- {out[first][len(pad) + 2 :]}"
        elif kind is dict:
            out.append(f"{pad}- {{}}")
        elif kind is str and "\n" in item:
            indicator, lines = _block(item, pad + "  ")
            out.append(f"{pad}- {indicator}")
            out.extend(lines)
        elif kind is list:
            raise ValueError("nested lists are not used by catalogue descriptors")
        else:
            out.append(f"{pad}- {_scalar(item)}")


def to_yaml(documents: Sequence[dict[str, Any]]) -> str:
    """Block-style multi-document YAML for a list of descriptor dicts."""
    out: list[str] = []
    for i, doc in enumerate(documents):
        if i:
            out.append("---")
        _emit_mapping(doc, "", out)
    out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------- entities


@dataclass
class Names:
    """Hands out unique entity names: `base`, then `base-2`, `base-3`, ..."""

    taken: set[str] = field(default_factory=set)
    last: dict[str, int] = field(default_factory=dict)

    def take(self, base: str) -> str:
        n = self.last.get(base, 0)
        while True:
            n += 1
            name = base if n == 1 else f"{base}-{n}"
            if name not in self.taken:
                break
        self.last[base] = n
        self.taken.add(name)
        return name


def _entity(kind: str, name: str, metadata: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    api_version = TEMPLATE_API_VERSION if kind == "Template" else CORE_API_VERSION
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, **metadata}, "spec": spec}


class Generator:
    """Builds the entity dicts for one catalogue; all randomness flows from one seeded RNG."""

    def __init__(self, total: int, seed: int) -> None:
        if total < MIN_ENTITIES:
            raise ValueError(f"need at least {MIN_ENTITIES} entities (one of each kind), got {total}")
        self.rng = random.Random(seed)
        self.total = total
        self.counts = {kind: max(1, round(total * share)) for kind, share in KIND_SHARES.items()}
        self.counts["Component"] = total - sum(self.counts.values())
        self.names = Names()
        self.domains: list[str] = []
        self.systems: list[str] = []
        self.groups: list[str] = []
        self.teams: list[str] = []
        self.users: list[str] = []
        self.templates: list[tuple[str, str, str]] = []  # (name, spec.type, current version)
        self.resources: list[str] = []
        self.apis: list[str] = []
        self.components: list[str] = []

    # ---------------------------------------------------------------- shared metadata

    def _description(self) -> str:
        r = self.rng
        return f"{r.choice(DESCRIPTION_VERBS)} {r.choice(DESCRIPTION_OBJECTS)} {r.choice(DESCRIPTION_TAILS)}"

    def _tags(self, pool: Sequence[str], low: int = 0, high: int = 4) -> list[str]:
        k = min(len(pool), self.rng.randint(low, high))
        return self.rng.sample(list(pool), k)

    def _annotation(self, key: str, name: str) -> str:
        if key == "github.com/project-slug" or key == "github.com/team-slug":
            return f"{ORG}/{name}"
        if key == "backstage.io/techdocs-ref":
            return "dir:."
        if key == "backstage.io/source-location":
            return f"url:https://github.com/{ORG}/{name}/tree/main/"
        if key == "pagerduty.com/service-id":
            return f"P{self.rng.getrandbits(28):07X}"
        if key == "sonarqube.org/project-key":
            return f"{ORG}_{name}"
        if key == "github.com/user-login":
            return name.replace(".", "-")
        if key == "grafana/dashboard-selector":
            return f"tags @> '{name}'"
        return name  # backstage.io/kubernetes-id and the like

    def _annotations(self, name: str, pool: Sequence[str]) -> dict[str, str]:
        chosen = self.rng.sample(pool, self.rng.randint(1, min(4, len(pool))))
        return {key: self._annotation(key, name) for key in chosen}

    def _links(self, name: str) -> list[dict[str, str]]:
        options = [
            {"url": f"https://grafana.{ORG}.example.com/d/{name}", "title": "Dashboard", "icon": "dashboard"},
            {"url": f"https://runbooks.{ORG}.example.com/{name}", "title": "Runbook", "icon": "docs"},
            {"url": f"https://{ORG}.slack.com/channels/{name}", "title": "Slack channel", "icon": "chat"},
        ]
        return self.rng.sample(options, self.rng.randint(0, 2))

    def _metadata(self, name: str, tag_pool: Sequence[str], ann_pool: Sequence[str], **extra: Any) -> dict[str, Any]:
        md: dict[str, Any] = {"description": self._description()}
        md.update(extra)
        annotations = self._annotations(name, ann_pool)
        if annotations:
            md["annotations"] = annotations
        tags = self._tags(tag_pool)
        if tags:
            md["tags"] = tags
        links = self._links(name)
        if links:
            md["links"] = links
        return md

    def _ref(self, kind: str, name: str) -> str:
        """A reference in one of the spellings seen in real catalogues (all resolve the same way)."""
        roll = self.rng.random()
        if roll < 0.85:
            return f"{kind}:{name}"
        if roll < 0.95:
            return name
        return f"{kind}:default/{name}"

    def _owner(self) -> str:
        return self._ref("group", self.rng.choice(self.teams))

    # ---------------------------------------------------------------- kinds

    def gen_groups(self) -> Iterator[dict[str, Any]]:
        n = self.counts["Group"]
        r = self.rng
        names = [ORG]
        self.names.take(ORG)
        n_departments = min(n - 1, max(1, math.isqrt(n) // 2))
        departments = [self.names.take(DEPARTMENTS[i % len(DEPARTMENTS)]) for i in range(n_departments)]
        names += departments
        parents: dict[str, str | None] = {ORG: None}
        types = {ORG: "organization"}
        for d in departments:
            parents[d], types[d] = ORG, "department"
        for _ in range(n - 1 - n_departments):
            team = self.names.take(f"{r.choice(AREAS)}-{r.choice(TEAM_NOUNS)}")
            names.append(team)
            # Most teams sit under a department; some are sub-teams of an earlier team.
            if self.teams and r.random() < 0.2:
                parents[team] = r.choice(self.teams)
            else:
                parents[team] = r.choice(departments) if departments else ORG
            types[team] = "team"
            self.teams.append(team)
        if not self.teams:  # tiny catalogues: the org owns everything
            self.teams = names[-1:]
        children: dict[str, list[str]] = {g: [] for g in names}
        for g in names:
            parent = parents[g]
            if parent is not None:
                children[parent].append(g)
        self.groups = names
        for g in names:
            spec: dict[str, Any] = {
                "type": types[g],
                "profile": {"displayName": g.replace("-", " ").title(), "email": f"{g}@{ORG}.example.com"},
            }
            if parents[g] is not None:
                spec["parent"] = parents[g]
            spec["children"] = children[g]
            md = self._metadata(g, [], ["github.com/team-slug"])
            yield _entity("Group", g, md, spec)

    def gen_users(self) -> Iterator[dict[str, Any]]:
        r = self.rng
        for _ in range(self.counts["User"]):
            first, last = r.choice(FIRST_NAMES), r.choice(LAST_NAMES)
            name = self.names.take(f"{first}.{last}")
            self.users.append(name)
            member_of = r.sample(self.teams, min(len(self.teams), r.choice([1, 1, 1, 2])))
            spec = {
                "profile": {"displayName": f"{first.title()} {last.title()}", "email": f"{name}@{ORG}.example.com"},
                "memberOf": member_of,
            }
            md: dict[str, Any] = {"annotations": self._annotations(name, ["github.com/user-login"])}
            yield _entity("User", name, md, spec)

    def gen_domains(self) -> Iterator[dict[str, Any]]:
        for _ in range(self.counts["Domain"]):
            name = self.names.take(self.rng.choice(AREAS))
            self.domains.append(name)
            md = self._metadata(
                name, ["ai", "tier-1", "pci", "gdpr"], ["backstage.io/techdocs-ref", "github.com/project-slug"]
            )
            yield _entity("Domain", name, md, {"owner": self._owner()})

    def gen_systems(self) -> Iterator[dict[str, Any]]:
        r = self.rng
        for _ in range(self.counts["System"]):
            name = self.names.take(f"{r.choice(AREAS)}-{r.choice(SYSTEM_NOUNS)}")
            self.systems.append(name)
            md = self._metadata(
                name, ["ai", "tier-1", "pci", "gdpr", "k8s"], ["backstage.io/techdocs-ref", "github.com/project-slug"]
            )
            spec = {"owner": self._owner(), "domain": self._ref("domain", r.choice(self.domains))}
            yield _entity("System", name, md, spec)

    def gen_templates(self) -> Iterator[dict[str, Any]]:
        r = self.rng
        for i in range(self.counts["Template"]):
            base, spec_type, tags = TEMPLATE_KINDS[i % len(TEMPLATE_KINDS)]
            name = self.names.take(base)
            version = f"{r.randint(0, 3)}.{r.randint(0, 9)}.{r.randint(0, 5)}"
            self.templates.append((name, spec_type, version))
            tag_list = (["golden-path"] if r.random() < 0.6 else []) + tags
            md = {
                "title": name.replace("-", " ").capitalize(),
                "description": f"Scaffolds a new {spec_type} with CI, docs and catalogue registration.",
                "annotations": {
                    "backstage.io/template-version": version,
                    "backstage.io/techdocs-ref": "dir:.",
                    "github.com/project-slug": f"{ORG}/software-templates",
                },
                "tags": tag_list,
            }
            spec = {
                "owner": self._owner(),
                "type": spec_type,
                "parameters": [
                    {
                        "title": "Details",
                        "required": ["name", "owner"],
                        "properties": {
                            "name": {"title": "Name", "type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                            "description": {"title": "Description", "type": "string"},
                            "owner": {
                                "title": "Owner",
                                "type": "string",
                                "ui:field": "OwnerPicker",
                                "ui:options": {"catalogFilter": {"kind": "Group"}},
                            },
                        },
                    },
                    {
                        "title": "Repository",
                        "required": ["repoUrl"],
                        "properties": {
                            "repoUrl": {
                                "title": "Repository location",
                                "type": "string",
                                "ui:field": "RepoUrlPicker",
                                "ui:options": {"allowedHosts": ["github.com"]},
                            }
                        },
                    },
                ],
                "steps": [
                    {
                        "id": "fetch",
                        "name": "Fetch skeleton",
                        "action": "fetch:template",
                        "input": {
                            "url": f"https://github.com/{ORG}/software-templates/tree/main/{name}/skeleton",
                            "values": {
                                "name": "${{ parameters.name }}",
                                "owner": "${{ parameters.owner }}",
                                "templateRef": f"template:default/{name}",
                                "templateVersion": version,
                            },
                        },
                    },
                    {
                        "id": "publish",
                        "name": "Publish",
                        "action": "publish:github",
                        "input": {"repoUrl": "${{ parameters.repoUrl }}", "defaultBranch": "main"},
                    },
                    {
                        "id": "register",
                        "name": "Register",
                        "action": "catalog:register",
                        "input": {
                            "repoContentsUrl": "${{ steps['publish'].output.repoContentsUrl }}",
                            "catalogInfoPath": "/catalog-info.yaml",
                        },
                    },
                ],
                "output": {
                    "links": [
                        {"title": "Repository", "url": "${{ steps['publish'].output.remoteUrl }}"},
                        {
                            "title": "Open in catalogue",
                            "icon": "catalog",
                            "entityRef": "${{ steps['register'].output.entityRef }}",
                        },
                    ]
                },
            }
            yield _entity("Template", name, md, spec)

    def gen_resources(self) -> Iterator[dict[str, Any]]:
        r = self.rng
        types = list(RESOURCE_TYPES)
        for _ in range(self.counts["Resource"]):
            rtype = r.choice(types)
            name = self.names.take(f"{r.choice(AREAS)}-{RESOURCE_TYPES[rtype]}")
            md = self._metadata(name, RESOURCE_TAGS[rtype], ["github.com/project-slug", "backstage.io/kubernetes-id"])
            spec: dict[str, Any] = {
                "type": rtype,
                "owner": self._owner(),
                "system": self._ref("system", r.choice(self.systems)),
            }
            if self.resources and r.random() < 0.2:
                spec["dependsOn"] = [f"resource:{r.choice(self.resources)}"]
            self.resources.append(name)
            yield _entity("Resource", name, md, spec)

    def _api_definition(self, api_type: str, name: str) -> str:
        title = name.replace("-", " ").title()
        version = f"{self.rng.randint(1, 4)}.{self.rng.randint(0, 12)}.0"
        if api_type == "openapi":
            return (
                f"openapi: 3.0.3\ninfo:\n  title: {title}\n  version: {version}\npaths:\n"
                f"  /{name}/items:\n    get:\n      summary: List items\n      responses:\n"
                f'        "200":\n          description: OK\n'
            )
        if api_type == "asyncapi":
            return (
                f"asyncapi: 2.6.0\ninfo:\n  title: {title}\n  version: {version}\nchannels:\n"
                f"  {name}.v1:\n    subscribe:\n      message:\n        payload:\n          type: object\n"
            )
        if api_type == "grpc":
            svc = "".join(part.title() for part in name.split("-"))
            return (
                f'syntax = "proto3";\n\npackage {ORG}.{name.replace("-", "_")}.v1;\n\n'
                f"service {svc} {{\n  rpc Get(GetRequest) returns (GetResponse);\n}}\n\n"
                "message GetRequest {\n  string id = 1;\n}\n\n"
                "message GetResponse {\n  string id = 1;\n  string payload = 2;\n}\n"
            )
        return "type Query {\n  item(id: ID!): Item\n}\n\ntype Item {\n  id: ID!\n  name: String\n}\n"

    def gen_apis(self) -> Iterator[dict[str, Any]]:
        r = self.rng
        for _ in range(self.counts["API"]):
            api_type = r.choices(API_TYPES, API_TYPE_WEIGHTS)[0]
            suffix = "events" if api_type == "asyncapi" else "api"
            name = self.names.take(f"{r.choice(AREAS)}-{r.choice(SYSTEM_NOUNS)}-{suffix}")
            self.apis.append(name)
            tag_pool = ["rest", "grpc", "events", "public", "internal", "ai"]
            md = self._metadata(name, tag_pool, ["github.com/project-slug"])
            spec = {
                "type": api_type,
                "lifecycle": r.choices(LIFECYCLES, LIFECYCLE_WEIGHTS)[0],
                "owner": self._owner(),
                "system": self._ref("system", r.choice(self.systems)),
                "definition": self._api_definition(api_type, name),
            }
            yield _entity("API", name, md, spec)

    def gen_components(self) -> Iterator[dict[str, Any]]:
        r = self.rng
        n = self.counts["Component"]
        # Every API is provided by exactly one component.
        provided: list[list[str]] = [[] for _ in range(n)]
        for api in self.apis:
            provided[r.randrange(n)].append(api)
        templates_by_type: dict[str, list[tuple[str, str, str]]] = {}
        for t in self.templates:
            templates_by_type.setdefault(t[1], []).append(t)
        ann_pool = [
            "github.com/project-slug",
            "backstage.io/techdocs-ref",
            "backstage.io/source-location",
            "pagerduty.com/service-id",
            "sonarqube.org/project-key",
            "backstage.io/kubernetes-id",
            "grafana/dashboard-selector",
        ]
        tag_pools = {
            ctype: sorted({*LANGUAGE_TAGS[ctype], *EXTRA_TAGS, "ai", *(["llm"] if ctype == "model" else [])})
            for ctype in COMPONENT_TYPES
        }
        for i in range(n):
            ctype = r.choices(COMPONENT_TYPES, COMPONENT_TYPE_WEIGHTS)[0]
            name = self.names.take(f"{r.choice(AREAS)}-{r.choice(COMPONENT_NOUNS[ctype])}")
            md = self._metadata(name, tag_pools[ctype], ann_pool)
            if ctype == "model" and "ai" not in md.get("tags", []):
                md["tags"] = ["ai", *md.get("tags", [])][:4]
            if r.random() < TEMPLATED_SHARE:
                tname, _, current = r.choice(templates_by_type.get(ctype) or self.templates)
                annotations = md.setdefault("annotations", {})
                annotations["backstage.io/source-template"] = f"template:default/{tname}"
                annotations["backstage.io/template-version"] = current if r.random() < 0.6 else self._older(current)
                created = ANCHOR - timedelta(seconds=r.randrange(365 * 24 * 3600))
                annotations["backstage.io/createdAt"] = created.strftime("%Y-%m-%dT%H:%M:%SZ")
            spec: dict[str, Any] = {
                "type": ctype,
                "lifecycle": r.choices(LIFECYCLES, LIFECYCLE_WEIGHTS)[0],
                "owner": self._owner(),
            }
            if r.random() < 0.9:
                spec["system"] = self._ref("system", r.choice(self.systems))
            if provided[i]:
                spec["providesApis"] = [self._ref("api", a) for a in provided[i]]
            consumable = [a for a in r.sample(self.apis, min(len(self.apis), 3)) if a not in provided[i]]
            consumes = consumable[: r.choice([0, 0, 1, 1, 2, 3])]
            if consumes:
                spec["consumesApis"] = [self._ref("api", a) for a in consumes]
            depends: list[str] = []
            for _ in range(r.choice([0, 1, 1, 2, 3])):
                if self.components and r.random() < 0.4:
                    ref = f"component:{r.choice(self.components)}"
                else:
                    ref = f"resource:{r.choice(self.resources)}"
                if ref not in depends:
                    depends.append(ref)
            if depends:
                spec["dependsOn"] = depends
            self.components.append(name)
            yield _entity("Component", name, md, spec)

    def _older(self, version: str) -> str:
        major, minor, patch = (int(p) for p in version.split("."))
        if minor > 0:
            return f"{major}.{self.rng.randrange(minor)}.{self.rng.randint(0, 5)}"
        if major > 0:
            return f"{major - 1}.{self.rng.randint(0, 9)}.{self.rng.randint(0, 5)}"
        if patch > 0:
            return f"0.0.{self.rng.randrange(patch)}"
        return "0.0.0-beta"  # nothing older than 0.0.0 exists; a pre-release sorts below it

    def entities(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for gen in (
            self.gen_groups,
            self.gen_users,
            self.gen_domains,
            self.gen_systems,
            self.gen_templates,
            self.gen_resources,
            self.gen_apis,
            self.gen_components,
        ):
            out.extend(gen())
        assert len(out) == self.total, (len(out), self.total)
        return out


# --------------------------------------------------------------------------- layout


def _units(entities: list[dict[str, Any]], rng: random.Random) -> list[list[dict[str, Any]]]:
    """Group each component with the APIs it provides (same repo), then shuffle the groups."""
    by_api = {e["metadata"]["name"]: e for e in entities if e["kind"] == "API"}
    units: list[list[dict[str, Any]]] = []
    for e in entities:
        if e["kind"] == "API":
            continue
        unit = [e]
        if e["kind"] == "Component":
            for ref in e["spec"].get("providesApis", []):
                unit.append(by_api[ref.rsplit("/", 1)[-1].rsplit(":", 1)[-1]])
        units.append(unit)
    rng.shuffle(units)
    return units


def _files(entities: list[dict[str, Any]], rng: random.Random) -> list[list[dict[str, Any]]]:
    """Split the entities into files of 1-5 documents."""
    flat = [e for unit in _units(entities, rng) for e in unit]
    files: list[list[dict[str, Any]]] = []
    i = 0
    while i < len(flat):
        size = rng.randint(1, MAX_DOCS_PER_FILE)
        files.append(flat[i : i + size])
        i += size
    return files


def _location(name: str, description: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": CORE_API_VERSION,
        "kind": "Location",
        "metadata": {"name": name, "description": description},
        "spec": spec,
    }


def generate(total: int, out_dir: Path, seed: int = 42) -> tuple[int, int]:
    """Write the catalogue; returns (files written including Locations, entities written)."""
    rng = random.Random(seed)
    entities = Generator(total, seed).entities()
    files = _files(entities, rng)
    n_buckets = (len(files) + FILES_PER_BUCKET - 1) // FILES_PER_BUCKET
    width = max(3, len(str(n_buckets - 1)))
    buckets = [f"bucket-{b:0{width}d}" for b in range(n_buckets)]
    out_dir.mkdir(parents=True, exist_ok=True)
    repos = out_dir / "repos"
    for b, bucket in enumerate(buckets):
        bucket_dir = repos / bucket
        bucket_dir.mkdir(parents=True, exist_ok=True)
        first = b * FILES_PER_BUCKET
        description = f"Repositories {first}-{first + FILES_PER_BUCKET - 1}"
        loc = _location(bucket, description, target="./**/catalog-info.yaml")
        (bucket_dir / "location.yaml").write_text(to_yaml([loc]), encoding="utf-8")
    repos_str = str(repos)
    for i, docs in enumerate(files):
        repo_dir = f"{repos_str}/{buckets[i // FILES_PER_BUCKET]}/repo-{i}"
        os.mkdir(repo_dir)
        with open(f"{repo_dir}/catalog-info.yaml", "w", encoding="utf-8") as fh:
            fh.write(to_yaml(docs))
    root = _location(
        "generated-catalog",
        f"Synthetic catalogue of {total} entities (seed {seed}).",
        targets=[f"./repos/{bucket}/location.yaml" for bucket in buckets],
    )
    (out_dir / "all.yaml").write_text(to_yaml([root]), encoding="utf-8")
    return len(files) + n_buckets + 1, len(entities)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, metavar="N", help=f"number of entities to write (>= {MIN_ENTITIES})")
    parser.add_argument("dir", type=Path, metavar="DIR", help="output directory (created if missing)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--force", action="store_true", help="replace DIR/all.yaml and DIR/repos if DIR is not empty")
    args = parser.parse_args(argv)
    if args.n < MIN_ENTITIES:
        parser.error(f"N must be at least {MIN_ENTITIES} (one entity of each kind)")
    out_dir: Path = args.dir
    if out_dir.exists() and any(out_dir.iterdir()):
        if not args.force:
            parser.error(f"{out_dir} is not empty; pass --force to replace its all.yaml and repos/")
        shutil.rmtree(out_dir / "repos", ignore_errors=True)
        (out_dir / "all.yaml").unlink(missing_ok=True)
    start = time.perf_counter()
    n_files, n_entities = generate(args.n, out_dir, args.seed)
    elapsed = time.perf_counter() - start
    print(f"files={n_files} entities={n_entities} seconds={elapsed:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
