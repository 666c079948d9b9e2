"""What the pages' forms do: run a deployment, cancel or re-run a run, set a queue's
limit, sign in and out. Each calls the operation the API calls, then sends the browser
on (303, so a reload does not post again) or shows the form again with what was wrong.

The guard has already checked the principal (the read-only one gets 403) and the CSRF
token of every form posted here, except the login form's (no session exists yet).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from shipway.server import operations as ops
from shipway.server._context import server_context
from shipway.server._errors import ApiError
from shipway.server._inputs import RunInput
from shipway.server.ui._pages import deployment_page, flow_run_page
from shipway.server.ui._parameters import parameter_fields, parse_parameters
from shipway.server.ui._render import render
from shipway.store import StateConflict

__all__ = ["cancel", "log_in", "log_out", "login_form", "run_again", "run_deployment", "set_limit"]


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def run_deployment(request: Request) -> Response:
    name = request.path_params["name"]
    context = server_context(request)
    record = await context.call(context.store.get_deployment, name)
    form = {key: str(value) for key, value in (await request.form()).items()}
    fields = await context.call(
        parameter_fields, record.entrypoint, record.working_dir, record.parameters
    )
    parameters, errors = parse_parameters(fields, form)
    if not errors:
        try:
            run = await ops.create_run(context, name, RunInput(parameters=parameters))
        except ApiError as exc:
            errors = {"": exc.message}
        else:
            return _see(f"/flow-runs/{run['id']}")
    return await deployment_page(request, name, values=form, errors=errors, status_code=422)


async def cancel(request: Request) -> Response:
    run_id = request.path_params["id"]
    try:
        await ops.cancel_run(server_context(request), run_id)
    except StateConflict as exc:
        return await flow_run_page(request, run_id, error=exc.message, status_code=409)
    return _see(f"/flow-runs/{run_id}")


async def run_again(request: Request) -> Response:
    """A new run of the same deployment with the same parameters and overrides."""
    context = server_context(request)
    old = await context.call(context.store.get_flow_run, request.path_params["id"])
    again = RunInput(parameters=old.parameters, overrides=old.overrides)
    run = await ops.create_run(context, old.deployment_name, again)
    return _see(f"/flow-runs/{run['id']}")


async def set_limit(request: Request) -> Response:
    name = request.path_params["name"]
    raw = str((await request.form()).get("limit", "")).strip()
    if raw and (not raw.isdigit()):
        context = server_context(request)
        queues = await ops.list_work_queues(context)
        error = {"queue": name, "message": f"the limit must be a whole number >= 0, not {raw!r}"}
        return render(request, "work_queues.html", 422, queues=queues, error=error)
    await ops.set_work_queue_limit(server_context(request), name, int(raw) if raw else None)
    return _see("/work-queues")


async def login_form(request: Request) -> Response:
    if not server_context(request).auth.required:
        return _see("/")
    return render(request, "login.html", public=True, next=_local(request), error=None)


async def log_in(request: Request) -> Response:
    auth = server_context(request).auth
    if not auth.required:
        return _see("/")
    form = await request.form()
    target = _local(request, str(form.get("next", "/")))
    principal = auth.principal_for_token(str(form.get("token", "")).strip())
    if principal is None:
        message = "That token is not this server's. Check it and try again."
        return render(request, "login.html", 401, public=True, next=target, error=message)
    response = _see(target)
    auth.set_session_cookie(response, principal, request)
    return response


async def log_out(request: Request) -> Response:
    response = _see("/login")
    server_context(request).auth.clear_session_cookie(response)
    return response


def _local(request: Request, target: str | None = None) -> str:
    """Where to go after signing in: a path on this server only (never another site)."""
    target = target if target is not None else request.query_params.get("next", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target:
        return "/"
    return target
