"""@flow and Flow.validate_parameters: names, required parameters, coercion."""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING

import pytest
from pydantic import BaseModel

import shipway
from shipway import Flow, flow
from shipway.errors import ParameterError, ShipwayError


class Point(BaseModel):
    x: int
    y: int


@flow
def greet(name: str, times: int = 1) -> str:
    """Say hello."""
    return " ".join([f"Hello {name}!"] * times)


@flow(name="nightly-report", version="2", description="The nightly report.")
def report(day: str = "today") -> str:
    return f"report for {day}"


@flow
async def fetch(count: int) -> list[int]:
    await asyncio.sleep(0)
    return list(range(count))


@flow(name="async-named")
async def fetch_named() -> str:
    return "done"


@flow
def typed(numbers: list[int], point: Point, ratio: float = 1.0, enabled: bool = False) -> None: ...


@flow
def flexible(required: str, **extra: int) -> dict[str, int]:
    return extra


@flow
def untyped(value, other=None):  # type: ignore[no-untyped-def]
    return value


if TYPE_CHECKING:  # imported for type checkers only: the name is missing at run time
    from decimal import Decimal


class Incomplete(BaseModel):
    """A model pydantic cannot finish building: its field's type is never defined."""

    child: NeverDefined  # type: ignore[name-defined]  # noqa: F821 - unresolvable on purpose


@flow
def partly_resolvable(amount: Decimal, count: int = 1) -> None: ...


@flow
def takes_incomplete(thing: Incomplete) -> None: ...


class TestDecorator:
    def test_bare_decorator_makes_a_flow_named_after_the_function(self) -> None:
        assert isinstance(greet, Flow)
        assert greet.name == "greet"
        assert greet.description == "Say hello."
        assert greet.__name__ == "greet"
        assert greet.__doc__ == "Say hello."

    def test_calling_a_flow_runs_the_function(self) -> None:
        assert greet("Ada", times=2) == "Hello Ada! Hello Ada!"

    def test_decorator_with_arguments(self) -> None:
        assert isinstance(report, Flow)
        assert report.name == "nightly-report"
        assert report.version == "2"
        assert report.description == "The nightly report."
        assert report() == "report for today"

    def test_async_flows(self) -> None:
        assert fetch.is_async
        assert fetch_named.is_async
        assert fetch_named.name == "async-named"
        assert not greet.is_async
        coroutine = fetch(3)
        assert inspect.iscoroutine(coroutine)
        assert asyncio.run(coroutine) == [0, 1, 2]

    def test_flow_is_importable_from_the_package(self) -> None:
        assert shipway.flow is flow
        assert shipway.Flow is Flow

    def test_decorating_a_non_function_is_a_type_error(self) -> None:
        with pytest.raises(TypeError, match="expects a function"):
            flow(42)  # type: ignore[call-overload]

    def test_repr_names_the_function(self) -> None:
        assert "greet" in repr(greet)


class TestValidateParameters:
    def test_valid_parameters_pass_through(self) -> None:
        assert greet.validate_parameters({"name": "Ada"}) == {"name": "Ada"}

    def test_unknown_parameter_lists_the_accepted_ones(self) -> None:
        with pytest.raises(ParameterError) as caught:
            greet.validate_parameters({"name": "Ada", "tiems": 2})
        message = str(caught.value)
        assert "unknown parameter 'tiems'" in message
        assert "the flow accepts: name, times" in message
        assert "'greet'" in message

    def test_flow_without_parameters_says_so(self) -> None:
        with pytest.raises(ParameterError, match="accepts: no parameters"):
            fetch_named.validate_parameters({"x": 1})

    def test_missing_required_parameter(self) -> None:
        with pytest.raises(ParameterError, match="missing required parameter 'name'"):
            greet.validate_parameters({})

    def test_parameter_error_is_a_user_error(self) -> None:
        assert issubclass(ParameterError, ShipwayError)

    def test_string_coerced_to_int(self) -> None:
        assert greet.validate_parameters({"name": "Ada", "times": "3"}) == {
            "name": "Ada",
            "times": 3,
        }
        assert fetch.validate_parameters({"count": "3"}) == {"count": 3}

    def test_json_string_coerced_to_list(self) -> None:
        result = typed.validate_parameters({"numbers": "[1, 2]", "point": {"x": 1, "y": 2}})
        assert result["numbers"] == [1, 2]

    def test_list_elements_coerced(self) -> None:
        result = typed.validate_parameters({"numbers": ["1", 2], "point": {"x": 0, "y": 0}})
        assert result["numbers"] == [1, 2]

    def test_pydantic_model_parameter_from_mapping_and_json(self) -> None:
        from_mapping = typed.validate_parameters({"numbers": [], "point": {"x": "1", "y": 2}})
        assert from_mapping["point"] == Point(x=1, y=2)
        from_json = typed.validate_parameters({"numbers": [], "point": '{"x": 3, "y": 4}'})
        assert from_json["point"] == Point(x=3, y=4)

    def test_scalars_coerced_from_strings(self) -> None:
        result = typed.validate_parameters(
            {"numbers": [], "point": {"x": 0, "y": 0}, "ratio": "0.5", "enabled": "true"}
        )
        assert result["ratio"] == 0.5
        assert result["enabled"] is True

    def test_value_that_cannot_be_coerced_names_the_parameter_and_value(self) -> None:
        with pytest.raises(ParameterError) as caught:
            greet.validate_parameters({"name": "Ada", "times": "often"})
        message = str(caught.value)
        assert "parameter 'times'" in message
        assert "'often'" in message

    def test_all_problems_reported_at_once(self) -> None:
        with pytest.raises(ParameterError) as caught:
            typed.validate_parameters({"numbers": "not a list", "ratio": "x", "colour": "red"})
        lines = str(caught.value).splitlines()
        assert lines[0] == "parameters do not match flow 'typed':"
        problems = [line for line in lines[1:] if line.startswith("  - ")]
        assert len(problems) == 4, lines
        text = "\n".join(problems)
        assert "unknown parameter 'colour'" in text
        assert "missing required parameter 'point'" in text
        assert "parameter 'numbers'" in text
        assert "parameter 'ratio'" in text

    def test_var_keyword_flow_accepts_any_name(self) -> None:
        result = flexible.validate_parameters({"required": "r", "anything": "5", "more": [1]})
        assert result == {"required": "r", "anything": "5", "more": [1]}

    def test_var_keyword_flow_still_checks_required(self) -> None:
        with pytest.raises(ParameterError, match="missing required parameter 'required'"):
            flexible.validate_parameters({"anything": 1})

    def test_unannotated_parameters_are_passed_unchanged(self) -> None:
        value = {"nested": ["a", 1]}
        assert untyped.validate_parameters({"value": value}) == {"value": value}

    def test_an_unresolvable_annotation_leaves_that_parameter_unchecked_only(self) -> None:
        # `Decimal` exists only for type checkers; `count` must still be coerced.
        result = partly_resolvable.validate_parameters({"amount": "1.50", "count": "3"})
        assert result == {"amount": "1.50", "count": 3}
        with pytest.raises(ParameterError, match="parameter 'count'"):
            partly_resolvable.validate_parameters({"amount": "1", "count": "many"})

    def test_a_type_pydantic_cannot_finish_building_is_passed_on_unchecked(self) -> None:
        value = {"child": 1}
        assert takes_incomplete.validate_parameters({"thing": value}) == {"thing": value}

    def test_plain_values_keep_their_identity(self) -> None:
        name = "a string"
        assert greet.validate_parameters({"name": name})["name"] is name
