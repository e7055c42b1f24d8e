"""Modal through its own SDK (`import modal`, ~0.4 s: only on Modal's paths). The app's id is the
record's handle: a later deploy reuses the name, so lookups, status and the stop go by id."""

from __future__ import annotations

import contextlib
import datetime
import importlib
import os
import sys
import tempfile
import uuid
from pathlib import Path

from tuna.errors import ProviderError
from tuna.models import LogLine, Plan, RemoteService, Status
from tuna.providers.modal import render

TOKEN_HINT = ("create a token with `modal token new` (or set MODAL_TOKEN_ID and "
              "MODAL_TOKEN_SECRET)")
# Modal's app states, and what tuna calls them; a deployed app is cold or active by its runners.
STATES = {"initializing": Status.DEPLOYING, "deploying": Status.DEPLOYING,
          "stopping": Status.DESTROYED, "stopped": Status.DESTROYED,
          "disabled": Status.INACTIVE, "detached": Status.FAILED,
          "detached_disconnected": Status.FAILED, "ephemeral": Status.FAILED}


def sdk():
    import modal

    return modal


@contextlib.contextmanager
def modal_errors(doing: str):
    """The SDK's exceptions as one line naming what failed and what to do."""
    modal = sdk()
    try:
        yield
    except modal.exception.AuthError as exc:
        raise ProviderError(f"Modal rejected the token while {doing} ({exc}): {TOKEN_HINT}") \
            from None
    except modal.exception.Error as exc:
        raise ProviderError(f"Modal failed while {doing}: {' '.join(str(exc).split())}") \
            from None


def workspace() -> str:
    with modal_errors("reading the workspace"):
        return sdk().Workspace.from_context().hydrate().name


def location() -> dict[str, str]:
    """Where apps live: the control plane's address and the workspace the token belongs to."""
    from modal.config import config

    return {"server_url": config["server_url"], "workspace": workspace()}


def secret_exists(name: str) -> bool:
    modal = sdk()
    with modal_errors(f"looking up Secret {name!r}"):
        try:
            modal.Secret.from_name(name).hydrate()
        except modal.exception.NotFoundError:
            return False
    return True


def app_id_for(name: str) -> str:
    """The app's id before the slow part of a deploy, so an interrupted deploy leaves an id in
    tuna's state (Modal creates an empty deployed app that the deploy then publishes into)."""
    with modal_errors("creating the app"):
        return sdk().App.lookup(name, create_if_missing=True).app_id


def deploy(plan: Plan) -> None:
    """Publish the rendered app under its name, as `modal deploy` would."""
    name = render.app_name(plan.request)
    with tempfile.TemporaryDirectory(prefix="tuna-modal-") as tmp, _imported(plan, tmp) as module:
        # The SDK sends the working directory's git commit, branch and author with the deploy:
        # deploy from the rendered directory, which is not the user's repository.
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            with modal_errors(f"deploying {name}"):
                module.app.deploy(name=name)
        finally:
            os.chdir(cwd)


@contextlib.contextmanager
def _imported(plan: Plan, directory: str):
    """The rendered app file imported as a plain module (so Modal ships the file with the
    function), under a name of its own; forgotten afterwards."""
    module_name = f"tuna_modal_{uuid.uuid4().hex}"
    path = Path(directory) / f"{module_name}.py"
    path.write_text(plan.files[render.APP_FILE])
    sys.path.insert(0, directory)
    try:
        yield importlib.import_module(module_name)
    finally:
        sys.path.remove(directory)
        sys.modules.pop(module_name, None)


def validate(plan: Plan) -> None:
    """Import the rendered file with no token and no server: Modal's decorators run their own
    checks (GPU count, scaledown window, container bounds, names) and raise InvalidError."""
    modal = sdk()
    with tempfile.TemporaryDirectory(prefix="tuna-modal-") as tmp:
        try:
            with _imported(plan, tmp):
                pass
        except modal.exception.Error as exc:
            raise ProviderError(f"Modal refuses the rendered app: {exc}") from None


def function(name: str):
    return sdk().Function.from_name(name, render.FUNCTION)


def app_state(app_id: str) -> str | None:
    """The app's lifecycle state by id (`deployed`, `stopped`...); None when Modal has no such
    app."""
    modal = sdk()
    with modal_errors(f"reading app {app_id}"):
        try:
            return modal.App.lookup(app_id).info(refresh=True).lifecycle.state.value
        except modal.exception.NotFoundError:
            return None


def runners(name: str) -> tuple[int, int] | None:
    """(containers up, requests waiting), from the control plane: the model is never called.
    None when the app has no such function (its deploy broke before publishing it)."""
    modal = sdk()
    with modal_errors(f"reading {name}'s containers"):
        try:
            stats = function(name).get_current_stats()
        except modal.exception.NotFoundError:
            return None
    return stats.num_total_runners, stats.backlog


def web_url(name: str) -> str:
    with modal_errors(f"reading {name}'s URL"):
        return function(name).get_web_url()


def autoscaler(name: str, wanted: dict[str, int]) -> dict[str, int]:
    """Make the live autoscaler hold `wanted` (a redeploy sets it from the file, and drops
    overrides made since): read it, update what differs, read it back."""
    with modal_errors(f"applying {name}'s autoscaling"):
        settings = function(name).autoscaler
        live = _settings(settings.settings())
        if any(live.get(key) != value for key, value in wanted.items()):
            settings.update(**wanted)
            live = _settings(settings.settings())
    return live


def _settings(settings) -> dict[str, int]:
    return {key: getattr(settings, key) for key in
            ("min_containers", "max_containers", "scaledown_window")
            if getattr(settings, key) is not None}


def logs(app_id: str, since_ms: int) -> list[LogLine]:
    since = datetime.datetime.fromtimestamp(since_ms / 1000, datetime.timezone.utc)
    with modal_errors(f"reading app {app_id}'s logs"):
        entries = sdk().App.lookup(app_id).logs.fetch(since=since)
        return [LogLine(int(entry.timestamp.timestamp() * 1e9), entry.message.rstrip("\n"),
                        entry.source) for entry in entries]


def stop(app_id: str) -> None:
    with modal_errors(f"stopping app {app_id}"):
        sdk().App.lookup(app_id).stop()


def services() -> list[RemoteService]:
    """The apps tuna made in this environment, by the tags on each."""
    found = []
    with modal_errors("listing apps"):
        for app in sdk().Environment.from_context().apps.list():
            tags = app.get_tags()
            if tags.get("managed-by") != render.MANAGED_BY or "tuna-service" not in tags:
                continue
            state = app.info().lifecycle.state.value
            if STATES.get(state) is Status.DESTROYED:
                continue
            found.append(RemoteService(tags["tuna-service"], "modal", {"app_id": app.app_id},
                                       state.upper()))
    return found
