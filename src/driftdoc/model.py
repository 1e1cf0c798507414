"""The configuration model shared by both halves: parameters, instances, outcomes, causes.

Predicates are values rather than strings so that algorithms can compare, merge
and minimise them; text and JSON are only renderings.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from packaging.version import InvalidVersion, Version

from driftdoc.errors import InputError
from driftdoc.schema import stamped

Value = str | int | float | bool
Kind = Literal["categorical", "ordered"]
Op = Literal["==", "!=", "<", ">="]
OPS: tuple[Op, ...] = ("==", "!=", "<", ">=")
ORDER_OPS: frozenset[str] = frozenset({"<", ">="})

_VERSION_RE = re.compile(r"^v?\d+(\.\d+)*((a|b|rc|\.post|\.dev)\d*)?$", re.IGNORECASE)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def looks_like_version(value: object) -> bool:
    """True for strings such as ``"1.16.3"`` or ``"3.7"`` that order as releases."""
    if not isinstance(value, str) or not _VERSION_RE.match(value):
        return False
    try:
        Version(value)
    except InvalidVersion:
        return False
    return True


def order_key(value: Value) -> tuple[int, Any]:
    """A sort key that orders numbers numerically and version strings as releases."""
    if _is_number(value):
        return (0, float(value))
    if isinstance(value, str) and looks_like_version(value):
        return (1, Version(value))
    return (2, str(value))


def infer_kind(values: Sequence[Value]) -> Kind:
    """Numbers and version strings are ordered; anything else is categorical."""
    if values and all(_is_number(v) for v in values):
        return "ordered"
    if values and all(looks_like_version(v) for v in values):
        return "ordered"
    return "categorical"


def format_value(value: Value) -> str:
    """Render a value for text output: bare strings, shortest exact numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return repr(value)
    return str(value)


@dataclass(frozen=True)
class Parameter:
    """A named parameter and its finite list of values (sorted when ordered)."""

    name: str
    values: tuple[Value, ...]
    kind: Kind = "categorical"

    @classmethod
    def of(cls, name: str, values: Iterable[Value], kind: Kind | None = None) -> Parameter:
        """Validate and build a parameter, inferring its kind when not given."""
        if not isinstance(name, str) or not name:
            raise InputError(f"parameter names must be non-empty strings, got {name!r}")
        vals = tuple(values)
        if not vals:
            raise InputError(f"parameter {name!r} has an empty value list")
        for v in vals:
            if not isinstance(v, str | int | float | bool) or (
                isinstance(v, float) and not math.isfinite(v)
            ):
                raise InputError(f"parameter {name!r} has an unsupported value {v!r}")
        seen: set[str] = set()
        for v in vals:
            k = json.dumps(v)
            if k in seen:
                raise InputError(f"parameter {name!r} lists the value {v!r} twice")
            seen.add(k)
        if kind is None:
            kind = infer_kind(vals)
        elif kind not in ("categorical", "ordered"):
            raise InputError(f"parameter {name!r}: kind must be categorical or ordered")
        elif kind == "ordered" and infer_kind(vals) != "ordered":
            raise InputError(f"parameter {name!r} is declared ordered but its values are not")
        if kind == "ordered":
            vals = tuple(sorted(vals, key=order_key))
            keys = [order_key(v) for v in vals]
            if len(set(keys)) != len(keys):
                raise InputError(f"parameter {name!r} has values that compare equal")
        return cls(name, vals, kind)

    @property
    def ordered(self) -> bool:
        return self.kind == "ordered"

    def index(self, value: Value) -> int:
        """Position of ``value`` in the list; raises InputError for unknown values."""
        for i, v in enumerate(self.values):
            if v == value and type(v) is type(value):
                return i
        for i, v in enumerate(self.values):
            if v == value:
                return i
        raise InputError(f"{value!r} is not a value of parameter {self.name!r}")

    def __len__(self) -> int:
        return len(self.values)


class Instance(Mapping[str, Value]):
    """One configuration: an immutable, hashable mapping with a canonical key."""

    __slots__ = ("_hash", "_items", "_key")

    def __init__(self, items: Iterable[tuple[str, Value]]) -> None:
        self._items: tuple[tuple[str, Value], ...] = tuple(items)
        self._key = json.dumps(dict(sorted(self._items)), sort_keys=True, separators=(",", ":"))
        self._hash = hash(self._key)

    @property
    def key(self) -> str:
        """Canonical JSON: the same configuration always gives the same key."""
        return self._key

    def __getitem__(self, name: str) -> Value:
        for n, v in self._items:
            if n == name:
                return v
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (n for n, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[Instance], tuple[tuple[tuple[str, Value], ...]]]:
        # str hashes are salted per process: rebuild rather than ship the cached hash
        return (Instance, (self._items,))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Instance):
            return self._key == other._key
        return NotImplemented

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={v!r}" for n, v in self._items)
        return f"Instance({inner})"

    def replace(self, **changes: Value) -> Instance:
        """A copy with some values changed (names must already exist)."""
        for name in changes:
            if name not in self:
                raise InputError(f"unknown parameter {name!r}")
        return Instance((n, changes.get(n, v)) for n, v in self._items)

    def values_list(self) -> list[Value]:
        return [v for _, v in self._items]


class Space:
    """An ordered collection of parameters; the domain the algorithms search."""

    def __init__(self, parameters: Iterable[Parameter]) -> None:
        self.parameters: tuple[Parameter, ...] = tuple(parameters)
        if not self.parameters:
            raise InputError("a space needs at least one parameter")
        names = [p.name for p in self.parameters]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise InputError(f"parameter {sorted(dupes)[0]!r} is declared twice")
        self._by_name = {p.name: p for p in self.parameters}

    @classmethod
    def from_dict(cls, spec: Mapping[str, Sequence[Value]]) -> Space:
        """Build from ``{"name": [values, ...]}``; key order is parameter order."""
        if not isinstance(spec, Mapping) or not spec:
            raise InputError("a space must be a non-empty mapping of parameter -> values")
        params = []
        for name, values in spec.items():
            if isinstance(values, str | bytes) or not isinstance(values, Sequence):
                raise InputError(f"parameter {name!r} must map to a list of values")
            params.append(Parameter.of(name, values))
        return cls(params)

    @classmethod
    def from_json(cls, data: Any) -> Space:
        """Accept either the plain mapping or ``{"parameters": [{name, values, kind}]}``."""
        if isinstance(data, Mapping) and isinstance(data.get("parameters"), list):
            params = []
            for entry in data["parameters"]:
                if not isinstance(entry, Mapping) or "name" not in entry or "values" not in entry:
                    raise InputError("each parameter needs a 'name' and a 'values' list")
                values = entry["values"]
                if not isinstance(values, list):
                    raise InputError(f"parameter {entry['name']!r}: 'values' must be a list")
                params.append(Parameter.of(entry["name"], values, entry.get("kind")))
            return cls(params)
        if isinstance(data, Mapping):
            return cls.from_dict(data)
        raise InputError("a space must be a JSON object")

    def to_json(self) -> dict[str, Any]:
        return {
            "parameters": [
                {"name": p.name, "values": list(p.values), "kind": p.kind} for p in self.parameters
            ]
        }

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    def __getitem__(self, name: str) -> Parameter:
        try:
            return self._by_name[name]
        except KeyError:
            raise InputError(f"unknown parameter {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self.parameters)

    @property
    def size(self) -> int:
        """Number of instances in the full cartesian product."""
        return math.prod(len(p) for p in self.parameters)

    def instance(self, values: Mapping[str, Value]) -> Instance:
        """Validate a configuration and return it as an Instance in parameter order."""
        unknown = [n for n in values if n not in self._by_name]
        if unknown:
            raise InputError(f"unknown parameter {unknown[0]!r}")
        missing = [p.name for p in self.parameters if p.name not in values]
        if missing:
            raise InputError(f"configuration lacks parameter {missing[0]!r}")
        items = []
        for p in self.parameters:
            idx = p.index(values[p.name])
            items.append((p.name, p.values[idx]))
        return Instance(items)

    def from_indices(self, indices: Sequence[int]) -> Instance:
        pairs = zip(self.parameters, indices, strict=True)
        return Instance((p.name, p.values[i]) for p, i in pairs)

    def indices(self, instance: Mapping[str, Value]) -> tuple[int, ...]:
        return tuple(p.index(instance[p.name]) for p in self.parameters)

    def __iter__(self) -> Iterator[Instance]:
        for combo in itertools.product(*(p.values for p in self.parameters)):
            yield Instance(zip(self.names, combo, strict=True))

    def __repr__(self) -> str:
        return f"Space({', '.join(f'{p.name}[{len(p)}]' for p in self.parameters)})"


@dataclass(frozen=True)
class Outcome:
    """What one run produced: the verdict plus enough detail to explain it."""

    succeeded: bool
    category: str = ""
    message: str = ""
    duration: float = 0.0
    details: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def of(cls, verdict: bool | Outcome) -> Outcome:
        if isinstance(verdict, Outcome):
            return verdict
        return cls(succeeded=bool(verdict), category="" if verdict else "failed")


@dataclass(frozen=True, order=True)
class Predicate:
    """``param op value``; order ops are only meaningful on ordered parameters."""

    param: str
    op: Op
    value: Value

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise InputError(f"unknown operator {self.op!r}; use one of {', '.join(OPS)}")

    def holds(self, config: Mapping[str, Value]) -> bool:
        """Evaluate on a configuration (an Instance or a plain dict)."""
        actual = config[self.param]
        if self.op == "==":
            return bool(actual == self.value)
        if self.op == "!=":
            return bool(actual != self.value)
        if self.op == "<":
            return order_key(actual) < order_key(self.value)
        return order_key(actual) >= order_key(self.value)

    def check(self, space: Space) -> None:
        """Raise InputError if this predicate does not fit ``space``."""
        param = space[self.param]
        if self.op in ORDER_OPS and not param.ordered:
            raise InputError(f"{self.op} needs an ordered parameter; {self.param!r} is categorical")
        param.index(self.value)

    def negate(self) -> Predicate:
        inverse: dict[str, Op] = {"==": "!=", "!=": "==", "<": ">=", ">=": "<"}
        return Predicate(self.param, inverse[self.op], self.value)

    def text(self) -> str:
        return f"{self.param} {self.op} {format_value(self.value)}"

    def to_json(self) -> list[Value]:
        return [self.param, self.op, self.value]

    def __str__(self) -> str:
        return self.text()


class Conjunction(frozenset[Predicate]):
    """A set of predicates that must all hold: one candidate root cause."""

    def holds(self, config: Mapping[str, Value]) -> bool:
        return all(p.holds(config) for p in self)

    def sorted(self, order: Sequence[str] = ()) -> list[Predicate]:
        """Predicates in parameter order (then by op/value), for stable output."""
        rank = {name: i for i, name in enumerate(order)}
        return sorted(
            self,
            key=lambda p: (rank.get(p.param, len(rank)), p.param, OPS.index(p.op),
                           order_key(p.value)),
        )

    def text(self, order: Sequence[str] = ()) -> str:
        if not self:
            return "TRUE"
        return " AND ".join(p.text() for p in self.sorted(order))

    def to_json(self, order: Sequence[str] = ()) -> list[list[Value]]:
        return [p.to_json() for p in self.sorted(order)]

    def __repr__(self) -> str:
        return f"Conjunction({self.text()})"


def detection_bound(draws: int, confidence: float = 0.95) -> float | None:
    """Smallest share of a region that ``draws`` uniform draws from it, none of which
    failed, would have hit with probability ``confidence`` (None without draws)."""
    if draws <= 0:
        return None
    return float(1.0 - (1.0 - confidence) ** (1.0 / draws))


@dataclass(frozen=True)
class Coverage:
    """What an answer rests on: "nothing else fails" as a measured claim, not a silence."""

    space: int  # configurations in the space
    known: int  # configurations with a verdict
    outside: int  # of those, outside every reported cause (successes, unless listed)
    uniform: int  # of ``outside``, drawn uniformly at random
    every_value: bool  # every value possible outside the causes was run there
    every_pair: bool = False  # every pair of values possible outside the causes, likewise
    designs: tuple[str, ...] = ()  # covering designs completed with no failure
    searched: bool = True  # False in find-one mode: other causes were not looked for

    @property
    def p95(self) -> float | None:
        return detection_bound(self.uniform)

    def text(self, causes: int) -> str:
        if "exhaustive" in self.designs or (self.known >= self.space and not causes):
            return f"every one of the {self.space:,} configurations was run"
        where = "outside the found causes" if causes else f"of {self.space:,}"
        parts = [f"no failure in {self.outside:,} configuration(s) {where}"]
        if not self.searched:
            parts = [f"find-one: stopped at the first confirmed cause; {parts[0]}"]
        covered = []
        if "three-way" in self.designs:
            covered.append("every triple of values (so no cause of 3 or fewer literals)")
        elif "pairwise" in self.designs or self.every_pair:
            covered.append("every pair of values possible there (so no further cause of 1 "
                           "or 2 literals)" if causes else
                           "every pair of values (so no cause of 1 or 2 literals)")
        elif self.every_value or "each-value" in self.designs:
            covered.append("every value possible there" if causes else "every value")
        detail = covered + ([f"{self.uniform} drawn at random"] if self.uniform else [])
        if detail:
            parts[0] += f" ({'; '.join(detail)})"
        p = self.p95
        if p is not None:
            region = "the configurations outside them" if causes else "the space"
            parts.append(f"a further cause covering at least {100 * p:.1f} % of {region} "
                         "would have been seen with 95 % probability")
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"space": self.space, "known": self.known, "outside_causes": self.outside,
                "uniform_outside": self.uniform, "every_value": self.every_value,
                "every_pair": self.every_pair,
                "designs": list(self.designs), "searched_for_more": self.searched,
                "p95": self.p95}


@dataclass(frozen=True)
class Diagnosis:
    """The answer of a search: a disjunction of causes plus what it cost."""

    causes: tuple[Conjunction, ...]
    runs: int
    evaluated: int = 0
    algorithm: str = ""
    mode: str = "all"
    status: str = "found"
    message: str = ""
    param_order: tuple[str, ...] = ()
    nondeterministic: tuple[Instance, ...] = ()
    budget: int | None = None
    coverage: Coverage | None = None
    reruns: int = 0  # re-runs of known configurations (determinism checks), in ``runs``
    withheld: tuple[Conjunction, ...] = ()  # causes resting on flaky or unrepeatable verdicts
    unverified: tuple[Conjunction, ...] = ()  # causes the budget left no room to re-run
    notes: tuple[str, ...] = ()
    repeats: int = 1
    replayed: int = 0  # executions answered from an interrupted attempt's records

    def holds(self, config: Mapping[str, Value]) -> bool:
        """True when some asserted cause explains ``config`` (predicted to fail)."""
        return any(c.holds(config) for c in self.causes)

    def text(self) -> str:
        if not self.causes:
            return self.message or "no root cause found"
        return "\n".join(c.text(self.param_order) for c in self.causes)

    def to_json(self) -> list[list[list[Value]]]:
        return [c.to_json(self.param_order) for c in self.causes]

    def summary(self) -> dict[str, Any]:
        """Everything a report needs, JSON-serialisable (``debug`` in the results schema)."""
        return stamped("debug", {
            "status": self.status,
            "causes": self.to_json(),
            "text": [c.text(self.param_order) for c in self.causes],
            "runs": self.runs,
            "evaluated": self.evaluated,
            "algorithm": self.algorithm,
            "mode": self.mode,
            "budget": self.budget,
            "message": self.message,
            "nondeterministic": [dict(i) for i in self.nondeterministic],
            "reruns": self.reruns,
            "replayed": self.replayed,
            "repeats": self.repeats,
            "withheld": [c.to_json(self.param_order) for c in self.withheld],
            "unverified": [c.to_json(self.param_order) for c in self.unverified],
            "notes": list(self.notes),
            "coverage": None if self.coverage is None else {
                **self.coverage.to_json(), "text": self.coverage.text(len(self.causes))},
        })
