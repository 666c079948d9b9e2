"""load_flow: import a flow from 'path/to/file.py:function' or 'package.module:function'."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from shipway import Flow
from shipway.entrypoints import FlowImportError, is_file_entrypoint, load_flow, split_entrypoint
from shipway.errors import FlowLoadError

pytestmark = pytest.mark.usefixtures("isolated_imports")

Write = Callable[[str, str], Path]

HELLO = """
from shipway import flow

@flow
def hello_world(name: str = "world"):
    return f"Hello {name}!"

@flow(name="farewell")
def bye():
    return "bye"

def helper():
    return "not a flow"

ANSWER = 42
"""


def test_file_entrypoint_relative_to_working_dir(
    write: Write,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write("project/flows/hello.py", HELLO)
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    loaded = load_flow("flows/hello.py:hello_world", tmp_path / "project")
    assert isinstance(loaded, Flow)
    assert loaded.name == "hello_world"
    assert loaded(name="Ada") == "Hello Ada!"


def test_working_dir_defaults_to_the_current_directory(
    write: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write("flows/hello.py", HELLO)
    monkeypatch.chdir(tmp_path)
    assert load_flow("flows/hello.py:bye").name == "farewell"


def test_loading_twice_reuses_the_module(write: Write, tmp_path: Path) -> None:
    write("flows/hello.py", HELLO)
    first = load_flow("flows/hello.py:hello_world", tmp_path)
    second = load_flow("flows/hello.py:hello_world", tmp_path)
    assert first is second


def test_module_entrypoint(write: Write, tmp_path: Path) -> None:
    write("mypkg/__init__.py", "")
    write("mypkg/nightly.py", HELLO)
    loaded = load_flow("mypkg.nightly:hello_world", tmp_path)
    assert loaded() == "Hello world!"
    assert sys.modules["mypkg.nightly"].__file__ == str(tmp_path / "mypkg" / "nightly.py")


def test_plain_function_is_wrapped_as_a_flow(write: Write, tmp_path: Path) -> None:
    write("flows/hello.py", HELLO)
    loaded = load_flow("flows/hello.py:helper", tmp_path)
    assert isinstance(loaded, Flow)
    assert loaded.name == "helper"
    assert loaded() == "not a flow"


def test_dotted_attribute(write: Write, tmp_path: Path) -> None:
    write(
        "flows/jobs.py",
        """
        class Jobs:
            @staticmethod
            def nightly():
                return "nightly"
        """,
    )
    assert load_flow("flows/jobs.py:Jobs.nightly", tmp_path)() == "nightly"


def test_flow_imports_a_module_of_the_project(write: Write, tmp_path: Path) -> None:
    write("flows/util.py", "def shout(text):\n    return text.upper()\n")
    write(
        "flows/loud.py",
        """
        from flows.util import shout
        from shipway import flow

        @flow
        def loud():
            return shout("hi")
        """,
    )
    assert load_flow("flows/loud.py:loud", tmp_path)() == "HI"


def test_flow_imports_a_sibling_module_by_bare_name(write: Write, tmp_path: Path) -> None:
    write("flows/greetings.py", "def greet(name):\n    return f'hi {name}'\n")
    write(
        "flows/hello.py",
        """
        import greetings
        from shipway import flow

        @flow
        def hello():
            return greetings.greet("Ada")
        """,
    )
    assert load_flow("flows/hello.py:hello", tmp_path)() == "hi Ada"


def test_root_flow_imports_a_sibling(write: Write, tmp_path: Path) -> None:
    write("helpers.py", "VALUE = 'from helpers'\n")
    write(
        "main.py",
        """
        import helpers
        from shipway import flow

        @flow
        def main():
            return helpers.VALUE
        """,
    )
    assert load_flow("main.py:main", tmp_path)() == "from helpers"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FlowLoadError) as caught:
        load_flow("flows/nope.py:hello", tmp_path)
    error = caught.value
    assert "flow file 'flows/nope.py' not found" in error.message
    assert str(tmp_path / "flows" / "nope.py") in error.message
    assert error.hint is not None and "relative to the deployment file" in error.hint


def test_missing_function_lists_the_flows_defined_there(write: Write, tmp_path: Path) -> None:
    write("flows/hello.py", HELLO)
    with pytest.raises(FlowLoadError) as caught:
        load_flow("flows/hello.py:hello", tmp_path)
    message = caught.value.message
    assert "'hello' not found in flows/hello.py" in message
    assert "flows defined there: bye, hello_world" in message


def test_missing_function_in_a_file_without_flows(write: Write, tmp_path: Path) -> None:
    write("plain.py", "X = 1\n")
    with pytest.raises(FlowLoadError, match="it defines no @flow"):
        load_flow("plain.py:main", tmp_path)


def test_missing_function_in_a_module(write: Write, tmp_path: Path) -> None:
    write("mypkg/__init__.py", "")
    write("mypkg/nightly.py", HELLO)
    with pytest.raises(
        FlowLoadError, match=re.escape("'nope' not found in module 'mypkg.nightly'")
    ):
        load_flow("mypkg.nightly:nope", tmp_path)


def test_missing_module(tmp_path: Path) -> None:
    with pytest.raises(FlowLoadError, match=re.escape("flow module 'no_such_pkg.flows' not found")):
        load_flow("no_such_pkg.flows:main", tmp_path)


def test_attribute_that_is_not_a_function(write: Write, tmp_path: Path) -> None:
    write("flows/hello.py", HELLO)
    with pytest.raises(
        FlowLoadError, match=re.escape("'ANSWER' in flows/hello.py is a int, not a function")
    ):
        load_flow("flows/hello.py:ANSWER", tmp_path)


@pytest.mark.parametrize(
    "entrypoint", ["flows/hello.py", "flows/hello.py:", ":hello_world", "hello_world", ""]
)
def test_bad_entrypoint_format(entrypoint: str, tmp_path: Path) -> None:
    with pytest.raises(FlowLoadError) as caught:
        load_flow(entrypoint, tmp_path)
    assert "must look like 'path/to/file.py:function' or 'package.module:function'" in str(
        caught.value
    )


def test_flow_file_raising_on_import_keeps_the_users_error(write: Write, tmp_path: Path) -> None:
    write("flows/broken.py", "from shipway import flow\n\nraise RuntimeError('bad config')\n")
    with pytest.raises(
        FlowImportError, match=re.escape("importing flows/broken.py raised RuntimeError")
    ) as c:
        load_flow("flows/broken.py:main", tmp_path)
    assert isinstance(c.value.__cause__, RuntimeError)
    assert str(c.value.__cause__) == "bad config"
    assert "flows.broken" not in sys.modules  # a half-imported module is not left behind


def test_missing_dependency_of_a_flow_module_is_not_reported_as_missing_flow(
    write: Write, tmp_path: Path
) -> None:
    write("mypkg/__init__.py", "")
    write("mypkg/needs.py", "import not_installed_dependency_xyz\n")
    with pytest.raises(FlowImportError) as caught:
        load_flow("mypkg.needs:main", tmp_path)
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)
    assert caught.value.__cause__.name == "not_installed_dependency_xyz"


def test_split_entrypoint() -> None:
    assert split_entrypoint("flows/hello.py:hello_world") == ("flows/hello.py", "hello_world")
    assert split_entrypoint("C:/flows/a.py:f") == ("C:/flows/a.py", "f")
    assert split_entrypoint("pkg.mod:Cls.method") == ("pkg.mod", "Cls.method")


@pytest.mark.parametrize(
    ("target", "is_file"),
    [("flows/hello.py", True), ("hello.py", True), ("pkg.mod", False), ("pkg", False)],
)
def test_is_file_entrypoint(target: str, is_file: bool) -> None:
    assert is_file_entrypoint(target) is is_file
