"""``--override KEY=VALUE`` parsing and the merge rules shared with ``overrides:``."""

from __future__ import annotations

import pytest

from shipway.deployments import merge_overrides, parse_override_args
from shipway.errors import ConfigError


class TestParse:
    def test_dot_keys_build_nested_mappings(self) -> None:
        assert parse_override_args(["env.FOO=bar", "working_dir=/tmp", "env.BAZ=qux"]) == {
            "env": {"FOO": "bar", "BAZ": "qux"},
            "working_dir": "/tmp",
        }

    def test_deeper_keys(self) -> None:
        assert parse_override_args(["resources.limits.cpu=2"]) == {
            "resources": {"limits": {"cpu": 2}}
        }

    @pytest.mark.parametrize(
        ("raw", "value"),
        [
            ("2", 2),
            ("2.5", 2.5),
            ("true", True),
            ("false", False),
            ("null", None),
            ("~", None),
            ("debug", "debug"),
            ("'2'", "2"),
            ("[a, b]", ["a", "b"]),
            ("{a: 1}", {"a": 1}),
            ("", ""),
            ("a=b", "a=b"),
            ("[unclosed", "[unclosed"),
        ],
    )
    def test_values_are_yaml_scalars(self, raw: str, value: object) -> None:
        assert parse_override_args([f"field={raw}"]) == {"field": value}

    @pytest.mark.parametrize("raw", ["2", "true", "1.0", "[a]", "", "'quoted'"])
    def test_env_values_stay_the_exact_string(self, raw: str) -> None:
        assert parse_override_args([f"env.RETRIES={raw}"]) == {"env": {"RETRIES": raw}}

    def test_env_null_unsets(self) -> None:
        assert parse_override_args(["env.HOME=null"]) == {"env": {"HOME": None}}

    def test_null_at_top_level(self) -> None:
        assert parse_override_args(["command=null"]) == {"command": None}

    def test_later_value_wins(self) -> None:
        assert parse_override_args(["name=a", "name=b"]) == {"name": "b"}

    def test_whitespace_around_key_is_ignored(self) -> None:
        assert parse_override_args([" name =x"]) == {"name": "x"}

    @pytest.mark.parametrize("arg", ["env.FOO", "=value", "  =x", ""])
    def test_bad_format(self, arg: str) -> None:
        with pytest.raises(ConfigError) as caught:
            parse_override_args([arg])
        assert f"--override {arg!r} must look like KEY=VALUE" in str(caught.value)

    @pytest.mark.parametrize(
        "args",
        [["env.A=1", "env={B: 2}"], ["env={B: 2}", "env.A=1"]],
        ids=["dot key first", "whole mapping first"],
    )
    def test_env_given_whole_and_by_dot_is_merged_either_way(self, args: list[str]) -> None:
        assert parse_override_args(args) == {"env": {"A": "1", "B": 2}}

    def test_other_fields_given_whole_later_replace_earlier_values(self) -> None:
        assert parse_override_args(["command=[a]", "command=[b]"]) == {"command": ["b"]}

    def test_conflicting_keys(self) -> None:
        with pytest.raises(ConfigError, match="conflicts with an earlier --override env"):
            parse_override_args(["env=x", "env.FOO=bar"])


class TestMerge:
    def test_layers_apply_in_order(self) -> None:
        merged = merge_overrides(
            {"type": "t", "name": "base", "stream_output": True},
            {"name": "file"},
            {"name": "cli", "stream_output": False},
        )
        assert merged == {"type": "t", "name": "cli", "stream_output": False}

    def test_env_and_labels_merge_key_by_key(self) -> None:
        merged = merge_overrides(
            {"env": {"A": "1", "B": "1"}, "labels": {"team": "a", "tier": "1"}},
            {"env": {"B": "2", "C": "2"}, "labels": {"tier": "2"}},
            {"env": {"C": "3"}},
        )
        assert merged == {
            "env": {"A": "1", "B": "2", "C": "3"},
            "labels": {"team": "a", "tier": "2"},
        }

    def test_other_mappings_are_replaced_whole(self) -> None:
        merged = merge_overrides(
            {"resources": {"cpu": 1, "memory": "1Gi"}}, {"resources": {"cpu": 2}}
        )
        assert merged == {"resources": {"cpu": 2}}

    def test_null_at_top_level_resets_the_field(self) -> None:
        merged = merge_overrides({"name": "x", "command": ["run"]}, {"command": None})
        assert merged == {"name": "x"}

    def test_env_none_is_kept_as_the_unset_marker(self) -> None:
        merged = merge_overrides({"env": {"HOME": "/root", "A": "1"}}, {"env": {"HOME": None}})
        assert merged == {"env": {"HOME": None, "A": "1"}}

    def test_labels_null_removes_the_label(self) -> None:
        merged = merge_overrides({"labels": {"team": "a", "tier": "1"}}, {"labels": {"tier": None}})
        assert merged == {"labels": {"team": "a"}}

    def test_env_null_as_a_whole_resets_env(self) -> None:
        assert merge_overrides({"env": {"A": "1"}, "name": "n"}, {"env": None}) == {"name": "n"}

    def test_merging_into_a_missing_env(self) -> None:
        assert merge_overrides({"type": "t"}, {"env": {"A": "1"}}) == {
            "type": "t",
            "env": {"A": "1"},
        }

    def test_inputs_are_not_modified(self) -> None:
        base = {"env": {"A": "1"}}
        layer = {"env": {"B": "2"}}
        merge_overrides(base, layer)
        assert base == {"env": {"A": "1"}}
        assert layer == {"env": {"B": "2"}}

    def test_cli_arguments_through_merge(self) -> None:
        cli = parse_override_args(["env.RETRIES=2", "env.DEBUG=null", "labels.team=null"])
        merged = merge_overrides(
            {"env": {"DEBUG": "1", "KEEP": "x"}, "labels": {"team": "a", "tier": "1"}}, cli
        )
        assert merged == {
            "env": {"DEBUG": None, "KEEP": "x", "RETRIES": "2"},
            "labels": {"tier": "1"},
        }
