"""localaws.patches.speedups.json_text: state data as JSON text, the same text (or error) as moto's."""

from __future__ import annotations

import ast
import datetime
import decimal
from pathlib import Path
from typing import Any

import pytest
from moto.stepfunctions import parser as moto_parser
from moto.stepfunctions.parser.asl.utils import encoding
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str as moto_to_json_str

from localaws.patches import registry, speedups
from localaws.patches.speedups.json_text import TO_JSON_STR_USERS, to_json_str
from tests.localaws.patches.test_speedups import CHOICE_PASS_TASK, make_table, run

pytestmark = pytest.mark.usefixtures("stock_moto")  # moto without our speed-ups around each test


class _Named:
    """An object JSON has no form for: moto's encoder writes its ``str()``."""

    def __str__(self) -> str:
        return "named-object"


_MOMENT = datetime.datetime(2026, 11, 29, 13, 40, 1, 123_456, tzinfo=datetime.UTC)
_VALUES: list[Any] = [
    {"orderId": "order-000123", "amount": "133", "large": False, "nested": {"list": [1, 2.5, None, True]}},
    'a plain string with \u00e9 and "quotes"',
    ["a", 1, {"b": []}],
    {"when": _MOMENT, "day": _MOMENT.date(), "then": [_MOMENT]},  # dates: moto's default writes them
    {"object": _Named(), "decimal": decimal.Decimal("1.10")},  # str() of what JSON cannot write
    {"nan": float("nan"), "inf": float("inf")},  # allowed by both encoders
    {1: "int key", 2.5: "float key", None: "null key", False: "bool key"},
    (1, 2, 3),
    12.5,
    None,
]


@pytest.mark.parametrize("value", _VALUES, ids=repr)
def test_the_same_text_as_moto_s_encoder(value: Any) -> None:
    # Given a value moto writes as text, When both write it, Then the text is the same
    assert to_json_str(value) == moto_to_json_str(value)


@pytest.mark.parametrize("separators", [(",", ":"), (", ", ": ")])
def test_separators_are_moto_s_own(separators: tuple[str, str]) -> None:
    value = {"a": [1, 2], "when": _MOMENT}
    assert to_json_str(value, separators) == moto_to_json_str(value, separators)


def _error_of(write: Any, value: Any) -> tuple[type[BaseException], str]:
    with pytest.raises(Exception) as raised:
        write(value)
    return raised.type, str(raised.value)


def test_the_same_errors_as_moto_s_encoder() -> None:
    # Given values neither encoder can write: a cycle (before and after a date), a key JSON cannot have
    cycle: list[Any] = []
    cycle.append(cycle)
    dated_cycle: dict[str, Any] = {"when": _MOMENT}
    dated_cycle["self"] = dated_cycle
    bad_key = {(1, 2): "tuple key"}

    # When both write them, Then both raise the same error
    for value in (cycle, dated_cycle, bad_key):
        assert _error_of(to_json_str, value) == _error_of(moto_to_json_str, value)


def _imports_to_json_str(path: Path) -> bool:
    """Whether the module's source imports ``to_json_str`` from moto's encoding module by name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == encoding.__name__
        and any(alias.name == "to_json_str" and alias.asname is None for alias in node.names)
        for node in ast.walk(tree)
    )


def test_every_module_that_binds_to_json_str_is_patched() -> None:
    # Given every module of moto's Step Functions parser, read as source
    root = Path(moto_parser.__file__).parent
    binding = {
        f"{moto_parser.__name__}.{'.'.join(path.relative_to(root).with_suffix('').parts)}.to_json_str"
        for path in root.rglob("*.py")
        if _imports_to_json_str(path)
    }

    # Then the speed-up lists exactly those that import it by name
    assert binding == set(TO_JSON_STR_USERS)


def test_installed_in_every_user_and_removed_on_uninstall() -> None:
    speedups.install(["json_text"])
    assert all(registry.resolve(path) is to_json_str for path in TO_JSON_STR_USERS)
    assert encoding.to_json_str is to_json_str
    speedups.uninstall()
    assert all(registry.resolve(path) is moto_to_json_str for path in TO_JSON_STR_USERS)


def test_an_execution_s_history_is_the_same_with_and_without_it() -> None:
    # Given inputs that take each branch of a Task -> Choice -> Pass workflow, run on stock moto
    inputs = [{"orderId": "o-1", "amount": 500, "note": "é"}, {"orderId": "o-2", "amount": 5}]
    stock = run(CHOICE_PASS_TASK, inputs, setup=make_table)

    # When they run again with the speed-up
    speedups.install(["json_text"])
    ours = run(CHOICE_PASS_TASK, inputs, setup=make_table)

    # Then each status, output and event of the history is the same
    assert ours == stock
