"""What is verified before anything is created on Baseten: the account, the truss CLI, the
workspace's secrets and the model name. Each failed check says how to fix it."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING

from tuna import catalog
from tuna.models import Check, DeployRequest, Record
from tuna.provider import Preflight
from tuna.providers.baseten import instances, push, render
from tuna.providers.baseten.credentials import KEY_HINT, api_key, client
from tuna.http_errors import ApiError, KeyRejected

if TYPE_CHECKING:
    from tuna.providers.baseten.api import BasetenApi

def truss_fix() -> str:
    from tuna import registry

    return registry.install_hint("baseten")


def truss_installed() -> Check:
    """The truss CLI is there (no process started: a deploy runs it soon enough)."""
    executable = push.truss_executable()
    if executable is None:
        return Check("truss", False, "truss CLI not found", truss_fix())
    return Check("truss", True, executable)


def truss_runs() -> Check:
    """The truss CLI starts and says its version."""
    found = truss_installed()
    if not found.ok:
        return found
    try:
        version = subprocess.run([found.detail, "--version"], capture_output=True, text=True,
                                 timeout=60, check=True,
                                 env={**os.environ, "TRUSS_NO_UPDATE_CHECK": "1"}).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return Check("truss", False, f"{found.detail} does not run ({type(exc).__name__})",
                     "reinstall it: " + truss_fix())
    return Check("truss", True, version.strip())


def account() -> tuple[Check, BasetenApi | None, list[dict]]:
    """The API key is set and accepted; on success, a client and the workspace's teams."""
    key = api_key()
    if key is None:
        return Check("API key", False, "BASETEN_API_KEY is not set", KEY_HINT), None, []
    api = client(key)
    try:
        teams = api.teams()
    except KeyRejected:
        return Check("API key", False, "key rejected by Baseten (HTTP 401/403)",
                     "use a workspace API key with management access: " + KEY_HINT), None, []
    except ApiError as exc:
        return Check("Baseten API", False, str(exc),
                     f"check the network and BASETEN_API_URL ({api.base_url})"), None, []
    return Check("API key", True, f"accepted by {api.base_url}"), api, teams


def hf_secret(request: DeployRequest, secrets: set[str]) -> tuple[DeployRequest, Check | None]:
    """The secret the weights authenticate with: the one asked for, which must exist, or the
    workspace's hf_access_token when it has one (so gated models work without a flag)."""
    if request.hf_secret is None:
        if render.DEFAULT_HF_SECRET in secrets:
            request = replace(request, hf_secret=render.DEFAULT_HF_SECRET)
            return request, Check("secret", True, f"weights authenticate with workspace secret "
                                                  f"{render.DEFAULT_HF_SECRET}")
        return request, None
    found = request.hf_secret in secrets
    return request, Check(
        "secret", found, f"workspace secret {request.hf_secret!r} "
        + ("exists" if found else "is missing"),
        "add it with your Hugging Face token at https://app.baseten.co/settings/secrets "
        f"(name: {request.hf_secret})")


def team(teams: list[dict], request: DeployRequest) -> tuple[dict | None, Check | None]:
    """The team the model goes to: truss cannot choose among several without a prompt, and a
    name must exist. None when there is no such team."""
    names = [t["name"] for t in teams]
    available = ", ".join(names) or "none"
    if request.team is not None:
        chosen = next((t for t in teams if t["name"] == request.team), None)
        return chosen, Check("team", chosen is not None, f"team {request.team!r} " + (
            "exists" if chosen else f"is not in this workspace (available: {available})"),
            f"pass --team with one of: {available}")
    if len(teams) > 1:
        return None, Check("team", False, f"this workspace has {len(teams)} teams ({available})",
                           f"pass --team NAME with one of: {available}")
    return (teams[0] if teams else None), None


def model_name(found: set[str], request: DeployRequest, update: Record | None) -> Check:
    """tuna never pushes into a Baseten model it did not create; `found`: the ids of the
    team's models of that name."""
    ours = {update.provider_ids["model_id"]} if update else set()
    return Check(
        "model name", found <= ours,
        f"{request.service_name!r} " + ("is already a model in the workspace"
                                         if found - ours else "is free or ours"),
        "choose another --service-name: tuna does not push into a model it did not create")


def location(api: BasetenApi, teams: list[dict], team_id: str | None = None) -> dict[str, str]:
    """Where a model lives: the API's address and the workspace (its default team's id, which
    every key of the workspace sees), and the team it is in. A 404 from anywhere else says
    nothing about the model."""
    default = next((t for t in teams if t.get("default")), None) or min(
        teams, key=lambda t: t["id"], default={"id": "unknown"})
    where = {"api_url": api.base_url, "workspace": default["id"]}
    return {**where, "team_id": team_id} if team_id else where


def preflight(request: DeployRequest, update: Record | None) -> Preflight:
    key, api, teams = account()
    checks = [key, truss_installed()]
    if api is None:
        return Preflight(checks, request)
    chosen, team_check = team(teams, request)
    checks += [team_check] if team_check else []
    if chosen is None:
        return Preflight(checks, request, location(api, teams))
    offer = catalog.load().require_offer(request.gpu, "baseten")
    # Independent reads, at once: each is a round trip the user waits for before the push.
    with ThreadPoolExecutor(max_workers=3) as pool:
        secrets = pool.submit(api.team_secret_names, chosen["id"])
        models = pool.submit(api.team_models_named, chosen["id"], request.service_name)
        prices = pool.submit(instances.price_check, api, offer, request.gpu_count)
        request, secret = hf_secret(request, secrets.result())
        found = {m["id"] for m in models.result()}
        instance, price = prices.result()
    checks += [check for check in (secret, model_name(found, request, update), instance) if check]
    return Preflight(checks, request, location(api, teams, chosen["id"]), price)
