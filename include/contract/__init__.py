"""The raw data contract (raw_contract.yml), loaded once and shared by ingestion, quality and tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CONTRACT_PATH = Path(__file__).with_name("raw_contract.yml")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    pii: bool = False
    accepted_values: tuple[Any, ...] | None = None
    min: Any = None
    max: Any = None
    description: str = ""
    # A source may lack the column altogether: it loads as NULL and is not reported as drift.
    source_optional: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    watermark: str | None = None
    partition: str | None = None
    foreign_keys: dict[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def core_column_names(self) -> list[str]:
        """The columns every source delivers (all but the ``source_optional`` ones)."""
        return [c.name for c in self.columns if not c.source_optional]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.pii]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r} in the raw contract")


@dataclass(frozen=True)
class Contract:
    version: int
    tables: dict[str, Table]

    def table(self, name: str) -> Table:
        try:
            return self.tables[name]
        except KeyError:
            raise KeyError(
                f"unknown raw table {name!r}; the contract defines: {', '.join(sorted(self.tables))}"
            ) from None

    @property
    def pii_columns(self) -> dict[str, list[str]]:
        return {t.name: t.pii_columns for t in self.tables.values() if t.pii_columns}


def _column(spec: dict[str, Any]) -> Column:
    values = spec.get("accepted_values")
    return Column(
        name=spec["name"],
        type=spec["type"],
        required=bool(spec.get("required", False)),
        pii=bool(spec.get("pii", False)),
        accepted_values=tuple(values) if values is not None else None,
        min=spec.get("min"),
        max=spec.get("max"),
        description=spec.get("description", ""),
        source_optional=bool(spec.get("source_optional", False)),
    )


def parse_contract(document: dict[str, Any]) -> Contract:
    tables = {}
    for name, spec in document["tables"].items():
        tables[name] = Table(
            name=name,
            description=spec.get("description", ""),
            primary_key=tuple(spec["primary_key"]),
            columns=tuple(_column(c) for c in spec["columns"]),
            watermark=spec.get("watermark"),
            partition=spec.get("partition"),
            foreign_keys=dict(spec.get("foreign_keys", {})),
        )
    return Contract(version=int(document["version"]), tables=tables)


@lru_cache(maxsize=4)
def load_contract(path: Path = CONTRACT_PATH) -> Contract:
    with open(path, encoding="utf-8") as fh:
        return parse_contract(yaml.safe_load(fh))
