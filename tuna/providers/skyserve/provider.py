"""The SkyServe plugin: a hybrid service's spot fleet (and its router) as SkyServe services,
through SkyPilot's own client. A SkyServe name is unique per API server and user, so the name is
the id and the record's location is that server and user: an answer from any other server never
writes a service off. `import sky` (2-4 s) happens only on these paths."""

from __future__ import annotations

import os
from dataclasses import replace

from tuna import keys, waiting
from tuna.errors import ProviderError
from tuna.models import (Check, DeploymentResult, DeployRequest, Feature, LogLine, Plan, Record,
                         RemoteService, Scaling, ServiceStatus, Status)
from tuna.provider import (DeployEvents, InferenceProvider, Option, Preflight,
                           require_same_location)
from tuna.providers.skyserve import remote, render, sky_client

DOWN_TIMEOUT_S = 600.0
# Names tuna gives the services of a hybrid NAME; SkyServe keeps no labels of its own.
LEGS = ("-spot", "-router")
# SkyServe's replica logs are plain lines without timestamps, which `--since` and `--follow`
# need; `sky serve logs` reads them.
LOGS_REASON = ("SkyServe's logs carry no timestamps for --since: `sky serve logs NAME-spot 1` "
               "shows replica 1's")


def accelerator_name(gpu: str) -> str:
    """SkyPilot's accelerator name for a catalog GPU (A100_80GB -> A100-80GB)."""
    import tomllib

    with open(os.path.join(os.path.dirname(__file__), "..", "..", "data", "skyserve.toml"),
              "rb") as data:
        return tomllib.load(data)["accelerators"].get(gpu, gpu)


class SkyServeProvider(InferenceProvider):
    name = "skyserve"
    unsupported = {Feature.LOGS: LOGS_REASON}
    options = (
        Option("--spots-cloud", "the clouds to run spot replicas on, comma-separated (default "
               "aws)", "CLOUDS"),
        Option("--region", "regions for the spot replicas, comma-separated; CLOUD/REGION when "
               "several clouds are given (default: anywhere in the clouds)", "REGIONS"),
        Option("--spot-target-qps", "requests per second one spot replica takes before SkyServe "
               "adds another (default 2.5)", "QPS"),
        Option("--spot-fallback", "on-demand replicas when spot is short: none, dynamic or "
               "base:N (default none)", "MODE"),
    )
    # SkyPilot reads the clouds' credentials itself; tuna needs an API server to ask.
    credentials = ("SKYPILOT_API_SERVER_ENDPOINT",)
    environment = {
        "SKYPILOT_API_SERVER_ENDPOINT": "the SkyPilot API server (default: SkyPilot's config, "
                                        "else its local server)",
        "HF_TOKEN": "a Hugging Face token for gated models, passed as a SkyPilot secret",
    }

    def has_credentials(self) -> bool:
        # Or an API server named in SkyPilot's own config (`sky api login`).
        return super().has_credentials() or os.path.exists(
            os.path.expanduser("~/.sky/config.yaml"))

    def fleet(self, request: DeployRequest) -> render.SpotFleet:
        def listed(name: str) -> tuple[str, ...]:
            return tuple(filter(None, (self.option(request, name) or "").split(",")))

        qps = self.option(request, "spot_target_qps")
        try:
            target = float(qps) if qps else 2.5
        except ValueError:
            target = float("nan")  # SpotFleet refuses it by its flag
        return render.SpotFleet(clouds=listed("spots_cloud") or ("aws",),
                                regions=listed("region"), target_qps=target,
                                fallback=self.option(request, "spot_fallback") or "none")

    def spot_offers(self, gpu: str, clouds: tuple[str, ...]) -> tuple[list[dict], dict[str, str]]:
        """The GPU's spot prices per instance type from SkyPilot's catalog, and the clouds whose
        catalog is not to be had here, with why."""
        from tuna.providers.skyserve import spot_prices

        return spot_prices.offers(accelerator_name(gpu), clouds)

    # --- offline ---------------------------------------------------------------------------

    def plan(self, request: DeployRequest) -> Plan:
        fleet = self.fleet(request)
        text = render.render_spot(request, accelerator_name(request.gpu), fleet)
        return Plan(self.name, request, {render.SPOT_FILE: text}, {
            "model": request.weights,
            "image": render.image(request),
            "where": ", ".join(place["infra"] for place in fleet.locations("")),
            "replicas": f"{request.scaling.min_replicas}-{request.scaling.max_replicas} spot, "
                        f"{fleet.target_qps:g} requests/s each; on-demand fallback: "
                        f"{fleet.fallback}",
        })

    def plan_router(self, request: DeployRequest, setup: render.RouterSetup) -> Plan:
        """A hybrid service's router as a one-replica CPU service beside the fleet."""
        import aiohttp

        infra = self.fleet(request).locations("")[0]["infra"]
        text = render.render_router(setup, infra, aiohttp.__version__)
        return Plan(self.name, replace(request, service_name=setup.service_name,
                                       scaling=Scaling(min_replicas=1, max_replicas=1)),
                    {render.ROUTER_FILE: text},
                    {"router": f"1 on-demand CPU replica (2+ vCPU, 4+ GB) in {infra}",
                     "spot endpoint": setup.spot_url, "serverless endpoint": setup.serverless_url})

    def validate(self, plan: Plan) -> str:
        (text,) = plan.files.values()
        sky_client.task_from_yaml(text)
        return f"SkyPilot {sky_client.version()} (its YAML parser and SkyServe's validation)"

    # --- checks ----------------------------------------------------------------------------

    def check_account(self) -> list[Check]:
        try:
            where = remote.location()
        except ProviderError as exc:
            return [Check("SkyPilot API server", False, str(exc),
                          "`sky api start`, or set SKYPILOT_API_SERVER_ENDPOINT")]
        return [Check("SkyPilot API server", True,
                      f"{where['api_server']} as user {where['user'] or 'unknown'}")]

    def preflight(self, request: DeployRequest, update: Record | None = None) -> Preflight:
        checks = self.check_account()
        if request.hf_secret:
            checks.append(Check("HF_TOKEN", bool(os.environ.get("HF_TOKEN")),
                                "a gated model: the spot replicas need a Hugging Face token",
                                "export HF_TOKEN=... (sent as a SkyPilot secret)"))
        where = remote.location() if all(check.ok for check in checks[:1]) else {}
        return Preflight(checks, request, where)

    # --- remote ----------------------------------------------------------------------------

    def deploy(self, plan: Plan, events: DeployEvents, wait_timeout: float | None,
               update: Record | None = None) -> DeploymentResult:
        request, name = plan.request, plan.request.service_name
        values = {render.SPOT_KEY: keys.make(name)}
        if request.hf_secret:
            values["HF_TOKEN"] = os.environ["HF_TOKEN"]
        if update is not None:
            return self._update(plan, values, events, wait_timeout)
        endpoint = self._up(plan, values, events)
        if wait_timeout is None:
            return self._result(request, Status.DEPLOYING, endpoint, None)
        return self._wait(request, events, wait_timeout)

    def _update(self, plan: Plan, secrets: dict[str, str], events: DeployEvents,
                wait_timeout: float | None) -> DeploymentResult:
        """`sky serve update` blue-green: the old version serves until the new one is ready, so
        the wait ends when a replica of the new version is."""
        request, name = plan.request, plan.request.service_name
        current = remote.service(name)
        if current is None:
            raise ProviderError(f"SkyServe has no service {name} to update")
        (text,) = plan.files.values()
        events.created({"service": name})
        events.progress(f"Updating SkyServe service {name} (blue-green: the old version serves "
                        "until the new one is ready)")
        remote.update(sky_client.task_from_yaml(text, secrets=secrets), name)
        if wait_timeout is None:
            return self._result(request, Status.DEPLOYING, current.get("endpoint"), None)
        return self._wait(request, events, wait_timeout, newer_than=max(current["active_versions"]))

    def deploy_router(self, plan: Plan, secrets: dict[str, str], events: DeployEvents,
                      wait_timeout: float | None) -> DeploymentResult:
        """The router of plan_router, given its keys (sent as SkyPilot secrets)."""
        endpoint = self._up(plan, secrets, events)
        if wait_timeout is None:
            return self._result(plan.request, Status.DEPLOYING, endpoint, None)
        return self._wait(plan.request, events, wait_timeout)

    def _up(self, plan: Plan, secrets: dict[str, str], events: DeployEvents) -> str:
        """`sky serve up`; SkyServe's endpoint (its load balancer), known at once."""
        name = plan.request.service_name
        (text,) = plan.files.values()
        task = sky_client.task_from_yaml(text, secrets=secrets)
        events.created({"service": name})  # the name is the id: recorded before `serve up`
        events.progress(f"Starting SkyServe service {name}")
        return remote.up(task, name)

    def _result(self, request: DeployRequest, status: Status, endpoint: str | None,
                replicas: int | None) -> DeploymentResult:
        return DeploymentResult(request.service_name, self.name, status,
                                {"service": request.service_name},
                                endpoint and f"{endpoint}/v1", request.model, None, replicas)

    def _wait(self, request: DeployRequest, events: DeployEvents, timeout: float,
              newer_than: int = 0) -> DeploymentResult:
        seen: dict = {}

        def read_status() -> str:
            record = remote.service(request.service_name)
            if record is None:
                return "GONE"
            seen["record"] = record
            state = remote.word(record)
            if newer_than and not any(replica["version"] > newer_than
                                      for replica in remote.ready_replicas(record)):
                return "UPDATING" if state == "READY" else state
            if state == "NO_REPLICA" and request.scaling.min_replicas == 0:
                return "SCALED_TO_ZERO"
            return state

        outcome = waiting.wait_until_ready(
            read_status, events.status, timeout, frozenset({"READY", "SCALED_TO_ZERO"}),
            frozenset({"CONTROLLER_FAILED", "FAILED", "FAILED_CLEANUP", "GONE"}),
            on_error=lambda error: events.progress(f"Warning: {error}; still waiting"))
        if not outcome.ready:
            raise ProviderError(f"SkyServe service {request.service_name} is {outcome.status}: "
                                f"`sky serve logs {request.service_name} --controller` says why")
        record = seen["record"]
        status = Status.ACTIVE if outcome.status == "READY" else Status.COLD
        return self._result(request, status, record.get("endpoint"),
                            len(remote.ready_replicas(record)))

    def wait(self, record: Record, events: DeployEvents, timeout: float) -> DeploymentResult:
        return self._wait(record.request, events, timeout)

    def _same_location(self, record: Record) -> None:
        """Only the record's own API server and user may say its service is gone."""
        require_same_location(record, remote.location(), lambda where: (
            f"SkyPilot API server {where.get('api_server')} (user {where.get('user')})"))

    def status(self, record: Record) -> ServiceStatus:
        name = record.service_name
        found = remote.service(name)
        if found is None:
            self._same_location(record)
            return ServiceStatus(Status.DESTROYED, "NOT_FOUND", None, 0,
                                 {"note": f"SkyServe has no service {name}"})
        state = remote.word(found)
        ready = remote.ready_replicas(found)
        status = remote.STATUSES.get(state, Status.FAILED)
        if state == "NO_REPLICA" and record.request.scaling.min_replicas == 0:
            status, state = Status.ACTIVE, "SCALED_TO_ZERO"
        spot = sum(1 for replica in ready if replica.get("is_spot"))
        details = {"service": name, "spot_replicas": spot, "on_demand_replicas": len(ready) - spot,
                   "replicas": [f"{r.get('replica_id')}: {getattr(r['status'], 'value', r['status'])}"
                                for r in found.get("replica_info", [])]}
        endpoint = found.get("endpoint")
        return ServiceStatus(status, state, endpoint and f"{endpoint}/v1", len(ready), details)

    def find_services(self) -> list[RemoteService]:
        return [RemoteService(record["name"], self.name, {"service": record["name"]},
                              remote.word(record))
                for record in remote.services() if record["name"].endswith(LEGS)]

    def logs(self, record: Record, since_ms: int) -> list[LogLine]:
        self.require(Feature.LOGS)  # always refuses, with LOGS_REASON
        return []

    def destroy(self, record: Record) -> None:
        """`sky serve down`, then read until the record's own server no longer lists it."""
        name = record.service_name
        if remote.service(name) is None:
            self._same_location(record)
            return
        remote.down(name)

        def read_state() -> str:
            found = remote.service(name)
            return "GONE" if found is None else remote.word(found)

        waiting.wait_until_gone(read_state, frozenset({"GONE"}), DOWN_TIMEOUT_S,
                                f"SkyServe has not confirmed that {name} is down")
        self._same_location(record)
        keys.forget(name)
