"""``DeploymentSpec(flow_location="flows/etl.py", flow_name="etl")`` named a file and a
flow name; shipway names the function: ``flow="flows/etl.py:etl"``. Found by reading
the file (never importing it) for the function the ``@flow`` decorator marks."""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["entrypoint_for"]


def entrypoint_for(location: str, flow_name: str | None, directory: Path | None) -> str:
    """The entrypoint, or ValueError saying why it cannot be found."""
    path = Path(location)
    if not path.is_absolute():
        if directory is None:
            raise ValueError(f"{location} is relative and the file's own place is unknown")
        path = directory / path
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except OSError as exc:
        raise ValueError(f"cannot read {location}: {exc.strerror}") from None
    except SyntaxError as exc:
        raise ValueError(f"{location} is not valid Python ({exc.msg})") from None
    flows = dict(_flows_in(tree))  # flow name -> function name
    if flow_name is not None:
        matches = {fn for name, fn in flows.items() if flow_name in _spellings(name, fn)}
    else:
        matches = set(flows.values())
    if len(matches) != 1:
        found = ", ".join(sorted(flows)) or "none"
        wanted = f"a flow named {flow_name!r}" if flow_name else "exactly one flow"
        raise ValueError(f"{location} does not hold {wanted} (flows found: {found})")
    shown = location[2:] if location.startswith("./") else location
    return f"{shown}:{matches.pop()}"


def _spellings(name: str, function: str) -> set[str]:
    # Prefect named a flow after its function with dashes: load_data -> load-data.
    return {name, function, function.replace("_", "-")}


def _flows_in(tree: ast.Module) -> list[tuple[str, str]]:
    found = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call is not None else decorator
            if _name_of(target) != "flow":
                continue
            name = node.name
            for keyword in call.keywords if call is not None else []:
                if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                    name = str(keyword.value.value)
            found.append((name, node.name))
    return found


def _name_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None
