"""Which cluster the Kubernetes tests use: a developer's ambient KUBECONFIG must never
send the default run to their cluster; ``-m real_cluster`` or SHIPWAY_TEST_KUBECONFIG
does."""

from __future__ import annotations

import pytest
from _kube_stack import real_cluster_kubeconfig, selects_real_cluster


@pytest.mark.parametrize(
    ("markexpr", "selected"),
    [
        ("", False),
        ("real_cluster", True),
        ("real_cluster and not slow", True),
        ("(real_cluster)", True),
        ("not real_cluster", False),
        ("slow", False),
        ("real_cluster or not slow", False),  # selects unmarked tests too
    ],
)
def test_the_marker_expression_decides_whether_real_cluster_is_selected(
    markexpr: str, selected: bool
) -> None:
    assert selects_real_cluster(markexpr) is selected


def test_an_ambient_kubeconfig_is_used_only_when_the_marker_is_selected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SHIPWAY_TEST_KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBECONFIG", "/home/dev/.kube/prod")

    assert real_cluster_kubeconfig("") is None
    assert real_cluster_kubeconfig("not real_cluster") is None
    assert real_cluster_kubeconfig("real_cluster") == "/home/dev/.kube/prod"


def test_shipway_test_kubeconfig_is_always_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPWAY_TEST_KUBECONFIG", "/ci/cluster.kubeconfig")
    monkeypatch.setenv("KUBECONFIG", "/home/dev/.kube/prod")

    assert real_cluster_kubeconfig("") == "/ci/cluster.kubeconfig"
    assert real_cluster_kubeconfig("real_cluster") == "/ci/cluster.kubeconfig"


def test_without_either_variable_the_local_stack_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SHIPWAY_TEST_KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)

    assert real_cluster_kubeconfig("real_cluster") is None
