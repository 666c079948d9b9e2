"""The rewrite rules one by one, on small sources: names, keywords, values, imports,
and the notes left where a person has to look."""

from __future__ import annotations

import codecs
import importlib.util
import textwrap

import pytest

from shipway.migrate import Migration, NotPython, migrate_source

# The core installs without libcst (an extra: shipway[migrate]); its tests must pass there.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("libcst") is None,
    reason="shipway migrate needs libcst: pip install 'shipway[migrate]'",
)


def migrate(source: str) -> Migration:
    return migrate_source(textwrap.dedent(source).lstrip("\n"))


def code(source: str) -> str:
    return textwrap.dedent(source).lstrip("\n")


def messages(migration: Migration) -> list[tuple[int, str]]:
    return [(note.line, note.message) for note in migration.notes]


# -- names and keywords ----------------------------------------------------------------


def test_aliased_runner_keeps_its_alias_and_gets_its_fields_renamed() -> None:
    migration = migrate(
        """
        from prefect.flow_runners import SubprocessFlowRunner as Runner
        runner = Runner(condaenv="etl")
        """
    )
    assert migration.code == code(
        """
        from shipway.infrastructure import Process as Runner
        runner = Runner(conda_env="etl")
        """
    )


def test_an_unused_import_is_rewritten_too() -> None:
    migration = migrate("from prefect.flow_runners import DockerFlowRunner\n")
    assert migration.code == "from shipway.infrastructure import DockerContainer\n"


def test_a_use_other_than_a_call_keeps_the_old_name_and_is_noted() -> None:
    migration = migrate(
        """
        from prefect.flow_runners import SubprocessFlowRunner

        runner = SubprocessFlowRunner()
        assert isinstance(runner, SubprocessFlowRunner)
        """
    )
    assert migration.code == code(
        """
        from shipway.infrastructure import Process
        from shipway.flow_runners import SubprocessFlowRunner

        runner = Process()
        assert isinstance(runner, SubprocessFlowRunner)
        """
    )
    [(line, message)] = messages(migration)
    assert line == 4
    assert "replace this use by hand (the new spelling: Process from shipway.infrastructure)" in (
        message
    )


@pytest.mark.parametrize(
    ("runner", "given", "expected"),
    [
        ("DockerFlowRunner", '"ALWAYS"', '"always"'),
        ("DockerFlowRunner", "'IfNotPresent'", "'if_not_present'"),
        ("DockerFlowRunner", '"never"', '"never"'),
        ("KubernetesFlowRunner", '"IF_NOT_PRESENT"', '"IfNotPresent"'),
        ("KubernetesFlowRunner", '"Never"', '"Never"'),
    ],
)
def test_pull_policy_strings_get_the_new_spelling(runner: str, given: str, expected: str) -> None:
    migration = migrate(
        f"from prefect.flow_runners import {runner}\nx = {runner}(image_pull_policy={given})\n"
    )
    new = {"DockerFlowRunner": "DockerContainer", "KubernetesFlowRunner": "KubernetesJob"}[runner]
    assert migration.code.splitlines()[1] == f"x = {new}(image_pull_policy={expected})"


def test_pull_policy_members_become_strings_wherever_they_are() -> None:
    migration = migrate(
        """
        from prefect.flow_runners import ImagePullPolicy, KubernetesImagePullPolicy

        DOCKER_POLICY = ImagePullPolicy.ALWAYS
        POLICIES = {"k8s": KubernetesImagePullPolicy.IF_NOT_PRESENT}
        """
    )
    # The import is gone; the blank line after it belongs to the next statement.
    assert migration.code == '\nDOCKER_POLICY = "always"\nPOLICIES = {"k8s": "IfNotPresent"}\n'


def test_a_pull_policy_enum_used_otherwise_stays_imported_from_shipway() -> None:
    migration = migrate(
        """
        from prefect.flow_runners import ImagePullPolicy
        policy = ImagePullPolicy("ALWAYS")
        """
    )
    assert migration.code.startswith("from shipway.flow_runners import ImagePullPolicy\n")
    assert "the strings 'if_not_present', 'always', 'never'" in migration.notes[0].message


def test_a_string_that_is_no_pull_policy_is_left_and_noted() -> None:
    migration = migrate(
        """
        from prefect.flow_runners import DockerFlowRunner
        DockerFlowRunner(image_pull_policy="sometimes")
        """
    )
    assert 'DockerContainer(image_pull_policy="sometimes")' in migration.code
    assert messages(migration) == [(2, "image_pull_policy='sometimes' is not an image pull policy")]


def test_path_values_become_the_strings_process_takes() -> None:
    """The flow runner took Path objects for its environments; Process takes strings."""
    migration = migrate(
        """
        import pathlib
        from pathlib import Path
        from prefect.flow_runners import SubprocessFlowRunner
        a = SubprocessFlowRunner(virtualenv=Path("/opt/venvs/etl"))
        b = SubprocessFlowRunner(condaenv=pathlib.Path.home() / "envs" / "etl")
        c = SubprocessFlowRunner(condaenv="etl", env={"Path": "kept"})
        d = SubprocessFlowRunner(virtualenv=venv_dir)  # a string, maybe: left alone
        """
    )
    assert migration.code.splitlines()[2:] == [
        "from shipway.infrastructure import Process",
        'a = Process(virtualenv=str(Path("/opt/venvs/etl")))',
        'b = Process(conda_env=str(pathlib.Path.home() / "envs" / "etl"))',
        'c = Process(conda_env="etl", env={"Path": "kept"})',
        "d = Process(virtualenv=venv_dir)  # a string, maybe: left alone",
    ]
    assert migrate_source(migration.code).changed is False


def test_docker_networks_with_network_mode_is_noted() -> None:
    migration = migrate(
        """
        from prefect.flow_runners import DockerFlowRunner
        DockerFlowRunner(networks=["backend"], network_mode="bridge")
        DockerFlowRunner(network_mode="host")
        """
    )
    assert 'DockerContainer(networks=["backend"], network_mode="bridge")' in migration.code
    assert messages(migration) == [
        (
            2,
            "DockerContainer takes networks or network_mode, not both (network_mode "
            "replaces the container's networking): remove one of them",
        )
    ]


def test_unknown_runner_keywords_and_double_star_are_noted() -> None:
    migration = migrate(
        """
        from prefect.flow_runners import SubprocessFlowRunner
        SubprocessFlowRunner(condaenv="a", restart_policy="OnFailure")
        SubprocessFlowRunner(**settings)
        """
    )
    notes = messages(migration)
    assert notes[0][0] == 2
    assert notes[0][1].startswith("SubprocessFlowRunner has no field 'restart_policy'")
    assert notes[1] == (
        3,
        "keyword arguments passed to SubprocessFlowRunner with ** are not rewritten: "
        "rename condaenv to conda_env in them by hand",
    )


# -- deployments -----------------------------------------------------------------------


def test_deployment_spec_keywords_without_equivalent_are_noted() -> None:
    migration = migrate(
        """
        from prefect.deployments import DeploymentSpec
        DeploymentSpec(
            name="nightly",
            flow_location="./flows/etl.py",
            flow_name="etl",
            schedule=IntervalSchedule(interval=timedelta(days=1)),
        )
        """
    )
    assert migration.code.startswith("from shipway import Deployment\nDeployment(\n")
    assert 'flow_name="etl"' in migration.code  # kept while the entrypoint is not found
    notes = messages(migration)
    assert [line for line, _ in notes] == [2]
    assert notes[0][1].startswith("flow_location=: ./flows/etl.py is relative and the file's")
    assert "flow='path/to/file.py:function'" in notes[0][1]


def test_flow_runner_and_infrastructure_together_are_left_and_noted() -> None:
    source = code(
        """
        from shipway import Deployment
        Deployment(name="x", flow=f, infrastructure="process", flow_runner=runner)
        """
    )
    migration = migrate_source(source)
    assert not migration.changed
    assert "remove flow_runner=" in migration.notes[0].message


def test_deployment_through_a_module_attribute_gets_infrastructure() -> None:
    migration = migrate(
        """
        import shipway
        shipway.Deployment(name="x", flow=f, flow_runner=runner)
        """
    )
    assert 'shipway.Deployment(name="x", flow=f, infrastructure=runner)' in migration.code


def test_flow_runner_keyword_of_other_calls_is_left_alone() -> None:
    source = "configure(flow_runner=runner)\n"
    assert migrate_source(source).code == source


# -- imports ---------------------------------------------------------------------------


def test_flow_task_and_the_run_logger_move_to_shipway_and_the_rest_stays() -> None:
    migration = migrate(
        """
        from prefect import flow, task, get_run_logger, pause_flow_run
        pause_flow_run()
        """
    )
    assert migration.code == code(
        """
        from shipway import flow, task, get_run_logger
        from prefect import pause_flow_run
        pause_flow_run()
        """
    )
    assert migration.notes[0].message.startswith(
        "pause_flow_run is still imported from prefect (the file needs prefect installed)"
    )


def test_new_names_are_merged_into_an_existing_multiline_import() -> None:
    migration = migrate(
        """
        from shipway.infrastructure import (
            Process,  # local
        )
        from prefect.flow_runners import DockerFlowRunner
        """
    )
    assert migration.code == code(
        """
        from shipway.infrastructure import (
            DockerContainer,
            Process,  # local
        )
        """
    )


def test_unsorted_imports_get_new_names_at_the_end() -> None:
    migration = migrate(
        """
        from shipway import flow, Deployment
        from prefect.flow_runners import KubernetesFlowRunner
        from shipway.infrastructure import Process, DockerContainer
        from prefect.deployments import DeploymentSpec
        """
    )
    assert migration.code == code(
        """
        from shipway import flow, Deployment
        from shipway.infrastructure import Process, DockerContainer, KubernetesJob
        """
    )


def test_comments_above_a_removed_import_are_kept() -> None:
    migration = migrate(
        """
        from prefect.flow_runners import ImagePullPolicy, DockerFlowRunner  # runners
        # the policy every container uses
        from prefect.flow_runners import ImagePullPolicy as Policy
        POLICY = Policy.ALWAYS
        """
    )
    assert migration.code == code(
        """
        from shipway.infrastructure import DockerContainer  # runners
        # the policy every container uses
        POLICY = "always"
        """
    )


def test_an_import_that_was_all_a_block_held_becomes_pass() -> None:
    migration = migrate(
        """
        if TYPE_CHECKING:
            from prefect.flow_runners import KubernetesImagePullPolicy
        """
    )
    assert migration.code == code(
        """
        if TYPE_CHECKING:
            pass
        """
    )


def test_imports_inside_functions_are_rewritten_in_place() -> None:
    migration = migrate(
        """
        def deployments():
            from prefect.deployments import Deployment
            from prefect.flow_runners import SubprocessFlowRunner

            return [Deployment(name="a", flow=f, flow_runner=SubprocessFlowRunner())]
        """
    )
    assert migration.code == code(
        """
        def deployments():
            from shipway import Deployment
            from shipway.infrastructure import Process

            return [Deployment(name="a", flow=f, infrastructure=Process())]
        """
    )


def test_import_forms_it_cannot_rewrite_are_noted() -> None:
    migration = migrate(
        """
        import prefect.flow_runners
        from prefect.flow_runners import *
        prefect.flow_runners.SubprocessFlowRunner()
        """
    )
    notes = messages(migration)
    assert [line for line, _ in notes] == [1, 2, 3]
    assert notes[0][1].startswith("import prefect.flow_runners: shipway migrate rewrites names")
    assert notes[1][1].startswith("from prefect.flow_runners import *: import the names")
    assert notes[2][1].startswith("prefect.flow_runners.SubprocessFlowRunner(...) is not")
    assert not migration.changed


def test_an_import_sharing_a_line_with_other_statements() -> None:
    migration = migrate("import os; from prefect import flow\n")
    assert migration.code == "import os; from shipway import flow\n"
    migration = migrate("import os; from prefect.deployments import Deployment, run_deployment\n")
    assert not migration.changed
    assert any("several statements" in note.message for note in migration.notes)


# -- source text -----------------------------------------------------------------------


def test_windows_newlines_are_kept() -> None:
    source = "from prefect import flow\r\n\r\n@flow\r\ndef f():\r\n    pass\r\n"
    assert migrate_source(source).code == source.replace("prefect", "shipway")


def test_the_encoding_declared_in_the_file_is_used_and_kept() -> None:
    source = (
        "# -*- coding: latin-1 -*-\n"
        "from prefect.flow_runners import SubprocessFlowRunner\n"
        "runner = SubprocessFlowRunner(env={'GREETING': 'Grüß dich'})\n"
    ).encode("latin-1")
    migration = migrate_source(source)
    assert codecs.lookup(migration.encoding) == codecs.lookup("latin-1")
    assert migration.code.encode("latin-1").endswith(
        "runner = Process(env={'GREETING': 'Grüß dich'})\n".encode("latin-1")
    )


def test_a_syntax_error_says_where() -> None:
    with pytest.raises(NotPython) as caught:
        migrate_source("from prefect import flow\n\ndef broken(:\n    pass\n")
    assert (caught.value.line, caught.value.column) == (3, 12)
    assert caught.value.message == "invalid syntax"


def test_flow_serve_and_deploy_are_noted() -> None:
    migration = migrate(
        """
        from prefect import flow

        @flow
        def hello():
            pass

        if __name__ == "__main__":
            hello.serve(name="hello", cron="0 * * * *")
        """
    )
    assert migration.code.startswith("from shipway import flow\n")
    assert [(note.line, note.message[:48]) for note in migration.notes] == [
        (8, "hello.serve(...) (Prefect 2.10+) is not rewritte")
    ]
