"""The documentation site builds with ``mkdocs build --strict`` (a broken link, anchor or
snippet, or a page missing from the nav, fails it), and the reference pages generated at
build time document every field and every command that exists."""

from __future__ import annotations

import html
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from shipway import Deployment
from shipway.cli import cli
from shipway.infrastructure import Infrastructure
from shipway.plugins import PluginPolicy, PluginRegistry

ROOT = Path(__file__).resolve().parents[2]

# Pages the site must have, whatever else it grows (the list).
REQUIRED_PAGES = [
    "index.html",
    "getting-started/index.html",
    "concepts/index.html",
    "configuration/index.html",
    "reference/configuration/index.html",
    "reference/cli/index.html",
    "plugins/process/index.html",
    "tutorial/index.html",
    "writing-a-plugin/index.html",
    "hooks/index.html",
    "plugins/docker/index.html",
    "testing-plugins/index.html",
    "migrating-from-flow-runners/index.html",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("mkdocs") is None:
        pytest.fail(
            "mkdocs is not installed, so the documentation site cannot be built: "
            "pip install -r requirements-dev.txt"
        )
    out = tmp_path_factory.mktemp("site")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr}"
    return out


def _page(site: Path, path: str) -> str:
    return (site / path).read_text(encoding="utf-8")


def _section(page: str, anchor: str) -> str:
    """The HTML from the heading with id ``anchor`` to the next heading of its level
    or above."""
    match = re.search(rf'<h([1-6]) id="{re.escape(anchor)}"', page)
    assert match, f"no heading with id {anchor!r}"
    level = int(match.group(1))
    end = re.compile(rf"<h[1-{level}][ >]").search(page, match.end())
    return page[match.start() : end.start() if end else len(page)]


def _text(fragment: str) -> str:
    """Visible text, with the whitespace of wrapped lines collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def _plain(markdown: str) -> str:
    """A description as it reads once rendered: no backticks, one line."""
    return " ".join(markdown.replace("`", "").split())


def test_the_site_builds_in_strict_mode_with_every_required_page(site: Path) -> None:
    missing = [page for page in REQUIRED_PAGES if not (site / page).is_file()]
    assert not missing


def test_generated_pages_are_not_committed() -> None:
    assert not (ROOT / "docs" / "reference").exists(), (
        "docs/reference/ is generated at build time by docs/_hooks/; do not commit it"
    )


# -- the configuration reference ---------------------------------------------------------


def _installed_infrastructure() -> dict[str, type[Infrastructure]]:
    registry = PluginRegistry(PluginPolicy())
    return {name: registry.resolve(name) for name in registry.installed_type_names()}


def _assert_fields_documented(section: str, model: type[Infrastructure] | type[Deployment]) -> None:
    text = _text(section)
    for name, field in model.model_fields.items():
        assert f"<code>{name}</code>" in section, f"{model.__name__}.{name} is not in the table"
        if field.description:
            assert _plain(field.description) in text


def test_configuration_reference_has_every_deployment_and_base_field(site: Path) -> None:
    page = _page(site, "reference/configuration/index.html")
    _assert_fields_documented(_section(page, "deployment"), Deployment)
    _assert_fields_documented(_section(page, "infrastructure"), Infrastructure)


def test_configuration_reference_has_every_process_field(site: Path) -> None:
    page = _page(site, "reference/configuration/index.html")
    process = _installed_infrastructure()["process"]
    section = _section(page, "process")
    _assert_fields_documented(section, process)
    assert "stream_output" in section and "conda_env" in section
    assert "shipway-process" in section


def test_configuration_reference_has_every_installed_infrastructure_type(site: Path) -> None:
    page = _page(site, "reference/configuration/index.html")
    installed = _installed_infrastructure()
    assert "process" in installed
    for type_name, cls in installed.items():
        section = _section(page, type_name)
        _assert_fields_documented(section, cls)
        assert f'"{type_name}"' in _text(section)  # the type name is its `type` default


# -- the command-line reference ----------------------------------------------------------


def _commands(command: click.Command, path: str = "shipway") -> Iterator[tuple[str, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path)
        for name in command.list_commands(ctx):  # a lazy group loads its commands here
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _commands(sub, f"{path} {name}")


COMMANDS = list(_commands(cli))


def test_the_cli_tree_is_walked() -> None:
    paths = [path for path, _ in COMMANDS]
    assert {"shipway run", "shipway plugins", "shipway infra preview"} <= set(paths)


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[path for path, _ in COMMANDS])
def test_cli_reference_documents_the_command_and_its_options(
    site: Path, path: str, command: click.Command
) -> None:
    page = _page(site, "reference/cli/index.html")
    section = _section(page, path.replace(" ", "-"))
    text = _text(section)
    assert f"Usage: {path}" in text
    if command.help:
        first_line = command.help.strip().splitlines()[0]
        assert " ".join(first_line.split()) in text
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            for opt in param.opts:
                assert opt in text, f"{opt} of {path!r} is not documented"


def test_cli_reference_lists_every_command_in_its_summary(site: Path) -> None:
    page = _page(site, "reference/cli/index.html")
    summary = page[: page.index('<h2 id="shipway"')]
    for path, _ in COMMANDS:
        assert f'href="#{path.replace(" ", "-")}"' in summary


# -- the tutorial ------------------------------------------------------------------------


def test_the_tutorial_shows_its_tested_code(site: Path) -> None:
    page = _page(site, "tutorial/index.html")
    text = _text(page)
    code = ROOT / "docs" / "tutorial" / "code"
    assert "--8&lt;--" not in page and "--8<--" not in text, "a snippet was not included"
    assert 'sandbox = "shipway_sandbox.plugin"' in text  # pyproject.toml
    assert "class Sandbox(Infrastructure):" in text
    assert "def shipway_infrastructure_types()" in text
    for line in (code / "project" / "shipway.yaml").read_text(encoding="utf-8").splitlines():
        assert " ".join(line.split()) in text



# -- broken links fail the build ---------------------------------------------------------


@pytest.mark.parametrize(
    ("addition", "reported"),
    [
        ("See [the missing page](no-such-page.md).", "no-such-page.md"),
        ("See [a missing heading](cli.md#no-such-heading).", "no-such-heading"),
        ('```text\n--8<-- "shipway-sandbox/no-such-file.py"\n```', "no-such-file.py"),
    ],
    ids=["page", "anchor", "snippet"],
)
def test_a_broken_link_or_include_fails_the_docs_build(
    tmp_path: Path, addition: str, reported: str
) -> None:
    """The settings in mkdocs.yml really turn a broken link into a failed build."""
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    index = tmp_path / "docs" / "index.md"
    index.write_text(index.read_text(encoding="utf-8") + f"\n{addition}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}

    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "s")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode != 0, result.stderr[-3000:]
    assert reported in result.stderr, result.stderr[-3000:]


_RELATIVE_LINK = re.compile(r"\]\((?!https?:|mailto:|#)([^)\s]+)\)")


def test_links_in_the_readmes_point_to_files_that_exist() -> None:
    """The Markdown outside the site (README files, the plugin template's README) is not
    checked by mkdocs: its relative links are checked here."""
    pages = [
        ROOT / "README.md",
        *sorted((ROOT / "plugins").glob("*/README.md")),
        ROOT / "bench" / "README.md",
    ]
    broken = [
        f"{page.relative_to(ROOT)}: {target}"
        for page in pages
        for target in _RELATIVE_LINK.findall(page.read_text(encoding="utf-8"))
        if not (page.parent / target.partition("#")[0]).exists()
    ]

    assert broken == []
