"""Deploy a hybrid service, or render it offline: the serverless leg through the ordinary deploy,
the spot fleet and the router through the spot plugin, each under its own record written before
its remote call, all under a parent record written first. Ctrl-C anywhere leaves records that
`tuna destroy NAME` follows."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace

from tuna import deploying, keys, registry
from tuna.errors import Interrupted, NameTaken, PreflightFailed, TunaError, UsageError
from tuna.hybrid import (PROVIDER, SPOT_PROVIDER, HybridSettings, leg_name, require_leg_name_room,
                         split_options)
from tuna.models import DeploymentResult, DeployRequest, Record, Scaling, Status
from tuna.provider import DeployEvents
from tuna.state import StateStore

# Until the deploy knows them, a dry run's router names its legs' endpoints like this.
KNOWN_AT_DEPLOY = "https://known-at-deploy.invalid"
ROUTER_IDLE_S = 600  # demand reported after the last client request: SkyServe's downscale delay


@dataclass(frozen=True)
class HybridDryRun:
    legs: list  # the legs' DryRun (serverless) and (plan, directory, files, validated_by)
    directory: str

    def to_json(self) -> dict:
        return {"dry_run": True, "hybrid": True, "directory": self.directory,
                "legs": [leg.to_json() for leg in self.legs]}

    def lines(self) -> list[str]:
        out = [f"Rendered hybrid service into {self.directory}/ (nothing deployed):"]
        for leg in self.legs:
            out.append(f"  {leg.plan.request.service_name} ({leg.plan.provider}): "
                       f"{', '.join(leg.written)}; validated by {leg.validated_by}")
            out += [f"      {key}: {value}" for key, value in leg.plan.summary.items()]
        return out


@dataclass(frozen=True)
class HybridDeployed:
    parent: Record
    legs: dict[str, DeploymentResult]
    router_hint: str | None = None

    def to_json(self) -> dict:
        return {**self.parent.to_json(),
                "legs": {leg: result.to_json() for leg, result in self.legs.items()}}

    def lines(self) -> list[str]:
        out = [f"{self.parent.service_name}: hybrid service {self.parent.status.value}"]
        for leg, result in self.legs.items():
            out.append(f"  {leg}: {result.service_name} on {result.provider}, "
                       f"{result.status.value}, {result.endpoint_url or 'no endpoint yet'}")
        if self.parent.endpoint_url:
            out.append(f"OpenAI base URL: {self.parent.endpoint_url} (Authorization: Bearer the "
                       f"router key in {keys.path(leg_name(self.parent.service_name, 'router'))})")
        if self.router_hint:
            out.append(self.router_hint)
        return out


def _serverless_request(request: DeployRequest) -> DeployRequest:
    return replace(split_options(request)[0],
                   service_name=leg_name(request.service_name, "serverless"))


def _spot_request(checked: DeployRequest, original: DeployRequest,
                  settings: HybridSettings) -> DeployRequest:
    """The fleet serves what the serverless leg was checked to serve (pinned revision, weights'
    size), under its own name and scaling."""
    scaling = original.scaling
    return replace(checked, service_name=leg_name(original.service_name, "spot"),
                   options=split_options(original)[1],
                   scaling=Scaling(scaling.concurrency, settings.spot_min_replicas,
                                   settings.spot_max_replicas, max(scaling.scale_down_delay, 60)))


def _router_setup(name: str, request: DeployRequest, settings: HybridSettings, spot_url: str,
                  serverless_url: str):
    from tuna.providers.skyserve.render import RouterSetup

    return RouterSetup(leg_name(name, "router"), spot_url.removesuffix("/v1"),
                       serverless_url, settings.spot_max_replicas * request.scaling.concurrency,
                       ROUTER_IDLE_S)


def dry_run(request: DeployRequest, settings: HybridSettings, directory: str | None,
            force: bool, events: DeployEvents, skip_model_check: bool = False) -> HybridDryRun:
    require_leg_name_room(request.service_name)
    spot = registry.load(SPOT_PROVIDER)
    directory = directory or f"{request.service_name}-hybrid"
    spot.fleet(_spot_request(request, request, settings))  # a malformed fleet flag: refused now
    serverless = deploying.dry_run(
        _serverless_request(request), settings.serverless_provider, os.path.join(directory, "serverless"), force, events,
        skip_model_check)
    spot_request = _spot_request(serverless.plan.request, request, settings)
    legs = [serverless, _written(spot, spot.plan(spot_request), directory, "spot", force)]
    if settings.router == "skyserve":
        setup = _router_setup(request.service_name, spot_request, settings, KNOWN_AT_DEPLOY,
                              KNOWN_AT_DEPLOY)
        legs.append(_written(spot, spot.plan_router(spot_request, setup), directory, "router",
                             force))
    return HybridDryRun(legs, directory)


def _written(provider, plan, directory: str, leg: str, force: bool) -> deploying.DryRun:
    validated_by = provider.validate(plan)
    where = os.path.join(directory, leg)
    return deploying.DryRun(plan, where, deploying.write_files(plan, where, force), validated_by)


def deploy(store: StateStore, request: DeployRequest, settings: HybridSettings,
           ui: DeployEvents, wait_timeout: float | None,
           skip_model_check: bool = False) -> HybridDeployed:
    """Refuse everything that can be refused before anything remote exists, then deploy the
    legs in order: serverless, spot, router (it needs both endpoints)."""
    from tuna.prepare import prepare

    name = request.service_name
    require_leg_name_room(name)
    spot = registry.load(SPOT_PROVIDER)
    # A malformed fleet flag is refused before anything is created.
    spot.fleet(_spot_request(request, request, settings))
    existing = store.get(name)
    if existing is not None and existing.is_live:
        raise NameTaken(name, existing.status.value, existing.request.model, request.model)
    serverless_request = _serverless_request(request)
    prepared = prepare(serverless_request, settings.serverless_provider, need_credentials=True)
    if prepared.provider.client_headers(serverless_request) is None:
        raise UsageError(f"{prepared.provider.name} cannot be a hybrid service's serverless leg "
                         "as asked: the router could not call its endpoint (tuna holds no "
                         "token for its callers); `--public` serves it without one")
    settings = replace(settings, serverless_provider=prepared.provider.name)
    spot_check = spot.preflight(_spot_request(serverless_request, request, settings))
    if spot_check.failed:
        raise PreflightFailed(spot.name, spot_check.failed)
    parent = store.create(Record(name, PROVIDER, Status.PENDING, request,
                                 hybrid=settings.to_json()))
    try:
        return _deploy_legs(store, parent, request, settings, spot, spot_check, ui,
                            wait_timeout, skip_model_check)
    except (KeyboardInterrupt, Interrupted):
        # A leg's own hint would name only that leg: the parent follows them all.
        raise Interrupted(f"interrupted; legs of {name} may still be deploying: `tuna status "
                          f"{name}` shows them, `tuna destroy {name}` removes them all") from None
    except TunaError as exc:
        if not store.legs(parent):  # refused before any leg existed: nothing remote to follow
            store.update(parent.id, status=Status.DESTROYED, error=str(exc))
        raise


def _deploy_legs(store, parent, request, settings, spot, spot_check, ui, wait_timeout,
                 skip_model_check) -> HybridDeployed:
    name = parent.service_name
    serverless = deploying.deploy(store, _serverless_request(request),
                                  settings.serverless_provider, ui, wait_timeout,
                                  skip_model_check=skip_model_check, parent_id=parent.id)
    store.update(parent.id, status=Status.DEPLOYING)
    spot_request = _spot_request(serverless.plan.request, request, settings)
    spot_plan = spot.plan(spot_request)
    spot.validate(spot_plan)
    fleet = deploying.run_recorded(store, spot, spot_plan, ui, wait_timeout, spot_check,
                                   parent_id=parent.id)
    legs = {"serverless": serverless.result, "spot": fleet}
    router_key = keys.make(leg_name(name, "router"))
    hint = None
    if settings.router == "skyserve":
        setup = _router_setup(name, spot_request, settings, fleet.endpoint_url,
                              serverless.result.endpoint_url)
        plan = spot.plan_router(spot_request, setup)
        spot.validate(plan)
        headers = registry.load(settings.serverless_provider).client_headers(
            serverless.plan.request)
        secrets = {"TUNA_ROUTER_KEY": router_key,
                   "TUNA_ROUTER_SPOT_KEY": keys.read(spot_request.service_name),
                   "TUNA_ROUTER_SERVERLESS_HEADERS": json.dumps(headers)}
        legs["router"] = deploying.run_recorded(
            store, spot, plan, ui, wait_timeout, spot_check, parent_id=parent.id,
            run=lambda plan_, events: spot.deploy_router(plan_, secrets, events, wait_timeout))
    else:
        hint = f"Start the router here: `tuna router serve {name}`"
    serving = legs["serverless"].status.deployed and (
        settings.router == "local" or legs["router"].status.deployed)
    endpoint = legs["router"].endpoint_url if "router" in legs else None
    parent = store.update(parent.id, status=Status.ACTIVE if serving else Status.DEPLOYING,
                          endpoint_url=endpoint)
    return HybridDeployed(parent, legs, hint)


def update(store: StateStore, request: DeployRequest, settings: HybridSettings,
           ui: DeployEvents, wait_timeout: float | None, replace_model: bool = False,
           skip_model_check: bool = False) -> HybridDeployed:
    """A new version behind the same endpoints: the serverless leg through its provider's own
    update, the fleet through SkyServe's blue-green update; the router is left as it is (its
    legs' endpoints do not change)."""
    name = request.service_name
    parent = store.require(name)
    if parent.provider != PROVIDER or not parent.is_live:
        raise UsageError(f"--update --hybrid needs a live hybrid service named {name!r}")
    was = HybridSettings.from_json(parent.hybrid)
    if settings.router != was.router:
        raise UsageError(f"{name}'s router runs {was.router}; --update cannot move it "
                         "(destroy and deploy again)")
    settings = replace(settings, serverless_provider=was.serverless_provider)
    legs = {record.service_name: record for record in store.legs(parent)}
    spot_record = legs.get(leg_name(name, "spot"))
    if spot_record is None or not spot_record.is_live:
        raise UsageError(f"{name} has no live spot leg to update; destroy it and deploy again")
    spot = registry.load(SPOT_PROVIDER)
    spot.fleet(_spot_request(request, request, settings))
    serverless = deploying.deploy(store, _serverless_request(request),
                                  was.serverless_provider, ui, wait_timeout, update=True,
                                  replace_model=replace_model, skip_model_check=skip_model_check)
    spot_plan = spot.plan(_spot_request(serverless.plan.request, request, settings))
    spot.validate(spot_plan)
    fleet = deploying.run_recorded(store, spot, spot_plan, ui, wait_timeout,
                                   spot.preflight(spot_plan.request, spot_record),
                                   previous=spot_record)
    parent = store.update(parent.id, request=request, hybrid=settings.to_json())
    return HybridDeployed(parent, {"serverless": serverless.result, "spot": fleet})
