"""The configuration model: kinds, validation, predicates and renderings."""

from __future__ import annotations

import json

import pytest

from driftdoc.errors import InputError
from driftdoc.model import Conjunction, Diagnosis, Instance, Parameter, Predicate, Space


def test_kind_inference_numbers_and_versions_are_ordered() -> None:
    assert Parameter.of("lr", [0.1, 0.01, 1]).kind == "ordered"
    assert Parameter.of("numpy", ["1.16.3", "1.9.0", "2.0"]).kind == "ordered"
    assert Parameter.of("opt", ["adam", "sgd"]).kind == "categorical"
    assert Parameter.of("flag", [True, False]).kind == "categorical"


def test_ordered_values_sort_naturally() -> None:
    assert Parameter.of("v", ["1.10", "1.9", "1.16.3"]).values == ("1.9", "1.10", "1.16.3")
    assert Parameter.of("lr", [1, 0.1, 0.01]).values == (0.01, 0.1, 1)


@pytest.mark.parametrize(
    ("values", "message"),
    [([], "empty value list"), ([1, 2, 1], "twice"), (["a", None], "unsupported value")],
)
def test_bad_parameters_are_input_errors(values: list[object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        Parameter.of("p", values)  # type: ignore[arg-type]


def test_declared_ordered_must_be_orderable() -> None:
    with pytest.raises(InputError, match="declared ordered"):
        Parameter.of("p", ["a", "b"], "ordered")


def test_space_instance_validation() -> None:
    space = Space.from_dict({"lr": [0.1, 0.01], "opt": ["adam", "sgd"]})
    inst = space.instance({"opt": "adam", "lr": 0.1})
    assert list(inst) == ["lr", "opt"]  # parameter order, not argument order
    with pytest.raises(InputError, match="unknown parameter 'batch'"):
        space.instance({"lr": 0.1, "opt": "adam", "batch": 3})
    with pytest.raises(InputError, match="not a value"):
        space.instance({"lr": 0.5, "opt": "adam"})
    with pytest.raises(InputError, match="lacks"):
        space.instance({"lr": 0.1})
    assert space.size == 4 and len(list(space)) == 4


def test_instance_is_hashable_with_canonical_key() -> None:
    a = Instance([("x", 1), ("y", "b")])
    b = Instance([("y", "b"), ("x", 1)])
    assert a == b and hash(a) == hash(b) and a.key == b.key
    assert {a: 1}[b] == 1
    assert Instance([("x", 1)]) != Instance([("x", "1")])


def test_predicates_and_order_ops() -> None:
    space = Space.from_dict({"lr": [0.01, 0.1, 1.0], "opt": ["adam", "sgd"], "v": ["1.9", "1.10"]})
    cfg = {"lr": 0.1, "opt": "adam", "v": "1.10"}
    assert Predicate("lr", ">=", 0.1).holds(cfg)
    assert not Predicate("lr", "<", 0.1).holds(cfg)
    assert Predicate("v", ">=", "1.9").holds(cfg)  # 1.10 > 1.9 as versions
    assert Predicate("opt", "!=", "sgd").holds(cfg)
    with pytest.raises(InputError, match="ordered"):
        Predicate("opt", "<", "sgd").check(space)
    with pytest.raises(InputError, match="unknown operator"):
        Predicate("lr", ">", 0.1)  # type: ignore[arg-type]
    Predicate("lr", "<", 1.0).check(space)


def test_rendering_text_and_json() -> None:
    cause = Conjunction({Predicate("optimizer", "==", "adam"), Predicate("lr", ">=", 0.1)})
    assert cause.text(["lr", "optimizer"]) == "lr >= 0.1 AND optimizer == adam"
    diag = Diagnosis(causes=(cause,), runs=7, param_order=("lr", "optimizer"))
    assert diag.to_json() == [[["lr", ">=", 0.1], ["optimizer", "==", "adam"]]]
    assert json.loads(json.dumps(diag.to_json()))[0][0][2] == 0.1  # typed, not a string
    assert diag.holds({"lr": 1.0, "optimizer": "adam"})
    assert not diag.holds({"lr": 0.01, "optimizer": "adam"})
