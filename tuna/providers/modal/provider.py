"""The Modal plugin: tuna's InferenceProvider contract over the `modal` SDK. vLLM runs as a Modal
web server; the SDK is imported only on Modal's own paths (remote.py)."""

from __future__ import annotations

import os

from tuna import catalog, waiting
from tuna.errors import ProviderError
from tuna.models import (Check, DeploymentResult, DeployRequest, LogLine, Plan, Record,
                         RemoteService, ServiceStatus, Status)
from tuna.provider import (SCALE_DOWN_DELAY, TP_SIZE, DeployEvents, InferenceProvider, Limit,
                           Option, Preflight, chat_example, require_same_location)
# remote imports the modal SDK itself, only when a call needs it.
from tuna.providers.modal import remote, render

STOP_TIMEOUT_S = 120.0
PROXY_AUTH = ("Modal-Key: $MODAL_PROXY_KEY", "Modal-Secret: $MODAL_PROXY_SECRET")
PROXY_AUTH_NOTE = "a proxy auth token: https://modal.com/docs/guide/webhook-proxy-auth"


def _config_path() -> str:
    return os.environ.get("MODAL_CONFIG_PATH") or os.path.expanduser("~/.modal.toml")


def _profile_has_token() -> bool:
    """The SDK also reads a token from a profile in ~/.modal.toml (`modal token new`)."""
    import tomllib

    try:
        with open(_config_path(), "rb") as file:
            profiles = tomllib.load(file)
    except (OSError, ValueError):
        return False
    return any(isinstance(p, dict) and p.get("token_id") for p in profiles.values())


def _example(url: str, model: str, public: bool) -> str:
    if public:
        return chat_example(f"{url}/v1", model)
    return chat_example(f"{url}/v1", model, *PROXY_AUTH, note=PROXY_AUTH_NOTE)


class ModalProvider(InferenceProvider):
    name = "modal"
    limits = (
        Limit(TP_SIZE, {1, 2, 4, 8}, "Modal attaches 1 to 8 GPUs to a container, and vLLM splits "
              "a model over 1, 2, 4 or 8"),
        Limit(TP_SIZE, {1, 2, 4}, "Modal attaches at most 4 A10 GPUs to a container",
              frozenset({"A10G"})),
        Limit(SCALE_DOWN_DELAY, range(2, 3601), "Modal's scaledown window is 2 to 3600 seconds"),
    )
    options = (
        Option("--public", "serve without Modal's proxy auth: anyone with the URL can call the "
               "model (default: callers send a Modal proxy auth token)", env="TUNA_MODAL_PUBLIC",
               switch=True),
    )
    credentials = ("MODAL_TOKEN_ID",)
    environment = {
        "MODAL_TOKEN_ID": "Modal token id (or a profile in ~/.modal.toml: `modal token new`)",
        "MODAL_TOKEN_SECRET": "Modal token secret",
        "MODAL_PROFILE": "the ~/.modal.toml profile to use",
        "MODAL_ENVIRONMENT": "the Modal environment to deploy in",
        "MODAL_SERVER_URL": "Modal's control plane (the SDK's own setting)",
        "TUNA_MODAL_PUBLIC": "set to serve without proxy auth (as --public)",
    }

    def has_credentials(self) -> bool:
        return super().has_credentials() or _profile_has_token()

    # --- offline ---------------------------------------------------------------------------

    def client_headers(self, request: DeployRequest) -> dict[str, str] | None:
        # A private endpoint's callers need a token tuna does not hold: only --public serves.
        return {} if self.switched_on(request, "public") else None

    def plan(self, request: DeployRequest) -> Plan:
        offer = catalog.load().require_offer(request.gpu, self.name)
        public = self.switched_on(request, "public")
        gpus = request.gpu_count
        return Plan(self.name, request, {render.APP_FILE: render.render_app(
            request, offer.provider_gpu_id, public)}, {
            "model": f"{request.weights}; downloaded by vLLM into volume "
                     f"{request.service_name}-hf-cache",
            "image": render.image(request),
            "vllm": request.vllm_version or "unknown (a custom image)",
            "GPU": render.gpu(offer.provider_gpu_id, gpus),
            "access": "public: anyone with the URL" if public else "Modal proxy auth token",
            "price": offer.replica_price(gpus, per="container"),
        })

    def validate(self, plan: Plan) -> str:
        remote.validate(plan)
        return f"modal {remote.sdk().__version__} (its decorators' own checks, offline)"

    # --- checks ----------------------------------------------------------------------------

    def check_account(self) -> list[Check]:
        return self._account()[0]

    def _account(self) -> tuple[list[Check], dict[str, str]]:
        source = ("MODAL_TOKEN_ID/MODAL_TOKEN_SECRET" if os.environ.get("MODAL_TOKEN_ID")
                  else f"a profile in {_config_path()}" if _profile_has_token() else None)
        if source is None:
            return [Check("token", False, "no Modal token found", remote.TOKEN_HINT)], {}
        try:
            where = remote.location()
        except ProviderError as exc:
            return [Check("token", False, f"{source}: {exc}", remote.TOKEN_HINT)], {}
        return [Check("token", True, f"{source}, accepted for workspace {where['workspace']}")], \
            where

    def preflight(self, request: DeployRequest, update: Record | None = None) -> Preflight:
        checks, where = self._account()
        if where and request.hf_secret:
            found = remote.secret_exists(request.hf_secret)
            checks.append(Check("secret", found, f"Modal Secret {request.hf_secret!r} " + (
                "exists" if found else "is missing"),
                f"`modal secret create {request.hf_secret} HF_TOKEN=...`"))
        return Preflight(checks, request, where)

    # --- remote ----------------------------------------------------------------------------

    def deploy(self, plan: Plan, events: DeployEvents, wait_timeout: float | None,
               update: Record | None = None) -> DeploymentResult:
        request, name = plan.request, render.app_name(plan.request)
        app_id = update.provider_ids["app_id"] if update else remote.app_id_for(name)
        events.created({"app_id": app_id})
        events.progress(f"Deploying Modal app {name} ({app_id})"
                        + (": the new version replaces the old one" if update else ""))
        remote.deploy(plan)
        events.progress(self._autoscaling_text(request, remote.autoscaler(
            name, self._autoscaling(request))))
        if wait_timeout is None:
            return self._result(request, app_id, Status.DEPLOYING, None)
        return self._wait(request, app_id, events, wait_timeout)

    @staticmethod
    def _autoscaling(request: DeployRequest) -> dict[str, int]:
        scaling = request.scaling
        return {"min_containers": scaling.min_replicas, "max_containers": scaling.max_replicas,
                "scaledown_window": scaling.scale_down_delay}

    def _autoscaling_text(self, request: DeployRequest, live: dict[str, int]) -> str:
        wanted = self._autoscaling(request)
        text = ", ".join(f"{key}={value}" for key, value in live.items())
        return (f"Autoscaling holds: {text}" if all(live.get(k) == v for k, v in wanted.items())
                else f"Warning: Modal holds {text}; tuna asked "
                     + ", ".join(f"{k}={v}" for k, v in wanted.items()))

    def _result(self, request: DeployRequest, app_id: str, status: Status,
                replicas: int | None) -> DeploymentResult:
        url = remote.web_url(render.app_name(request))
        return DeploymentResult(request.service_name, self.name, status, {"app_id": app_id},
                                f"{url}/v1", request.model,
                                _example(url, request.model,
                                         self.switched_on(request, "public")), replicas)

    def _wait(self, request: DeployRequest, app_id: str, events: DeployEvents,
              timeout: float) -> DeploymentResult:
        name, seen = render.app_name(request), {}

        def read_status() -> str:
            state = remote.app_state(app_id)
            if state != "deployed":
                return (state or "gone").upper()
            found = remote.runners(name)
            if found is None:
                return "NO_FUNCTION"
            seen["runners"] = found[0]
            if seen["runners"]:
                return "RUNNING"
            # Scaled to zero by design: deployed, and cold until the first request.
            return "COLD" if request.scaling.min_replicas == 0 else "STARTING"

        outcome = waiting.wait_until_ready(
            read_status, events.status, timeout, frozenset({"RUNNING", "COLD"}),
            frozenset({"STOPPED", "STOPPING", "GONE", "DISABLED", "DETACHED",
                       "DETACHED_DISCONNECTED", "NO_FUNCTION"}),
            on_error=lambda error: events.progress(f"Warning: {error}; still waiting"))
        if not outcome.ready:
            raise ProviderError(f"Modal app {app_id} is {outcome.status}: `tuna logs` shows why")
        status = Status.ACTIVE if outcome.status == "RUNNING" else Status.COLD
        return self._result(request, app_id, status, seen.get("runners"))

    def wait(self, record: Record, events: DeployEvents, timeout: float) -> DeploymentResult:
        return self._wait(record.candidate or record.request, self._app_id(record), events,
                          timeout)

    def _app_id(self, record: Record) -> str:
        app_id = record.provider_ids.get("app_id")
        if not app_id:
            raise ProviderError(f"tuna never heard back the Modal app of {record.service_name}; "
                                "`tuna list --remote` finds it by its tags")
        return app_id

    def _same_location(self, record: Record) -> None:
        """Only the record's own workspace may say its app is gone."""
        require_same_location(record, remote.location(), lambda where: (
            f"Modal workspace {where.get('workspace')} ({where.get('server_url')})"))

    def status(self, record: Record) -> ServiceStatus:
        app_id, name = self._app_id(record), render.app_name(record.request)
        state = remote.app_state(app_id)
        if state is None or remote.STATES.get(state) is Status.DESTROYED:
            self._same_location(record)
            return ServiceStatus(Status.DESTROYED, (state or "not found").upper(), None, 0,
                                 {"note": f"Modal app {app_id} is {state or 'gone'}"})
        if state != "deployed":
            return ServiceStatus(remote.STATES.get(state, Status.FAILED), state.upper(), None)
        found = remote.runners(name)
        if found is None:
            return ServiceStatus(Status.FAILED, "NO_FUNCTION", None, 0, {
                "app_id": app_id, "note": "the app holds no vLLM server: its deploy failed "
                "before publishing; `tuna deploy --update` or `tuna destroy`"})
        running, backlog = found
        word, status = (("RUNNING", Status.ACTIVE) if running else
                        ("COLD", Status.COLD) if record.request.scaling.min_replicas == 0 else
                        ("STARTING", Status.DEPLOYING))
        details = {"app_id": app_id, "containers": running, "backlog": backlog}
        if word == "COLD":
            details["note"] = "scaled to zero: the first request starts a container (cold start)"
        return ServiceStatus(status, word, f"{remote.web_url(name)}/v1", running, details)

    def logs(self, record: Record, since_ms: int) -> list[LogLine]:
        return remote.logs(self._app_id(record), since_ms)

    def find_services(self) -> list[RemoteService]:
        return remote.services()

    def destroy(self, record: Record) -> None:
        """Stop the app by id and return once Modal reports it stopped."""
        app_id = self._app_id(record)
        if remote.app_state(app_id) is None:
            self._same_location(record)
            return
        remote.stop(app_id)

        def read_state() -> str:
            return (remote.app_state(app_id) or "gone").upper()

        waiting.wait_until_gone(read_state, frozenset({"STOPPED", "GONE"}), STOP_TIMEOUT_S,
                                f"Modal has not confirmed that app {app_id} stopped")
