"""SkyServe through SkyPilot's public client (`sky.serve`): every call goes to the SkyPilot API
server the environment names (SKYPILOT_API_SERVER_ENDPOINT, else SkyPilot's own config or its
local server) and comes back as a request id that `sky.get` waits on."""

from __future__ import annotations

from tuna.errors import ProviderError
from tuna.models import Status
from tuna.providers.skyserve.sky_client import sky, stdout_to_stderr

# sky/serve/serve_state.py ServiceStatus -> tuna's; NO_REPLICA depends on the minimum (below).
STATUSES = {
    "CONTROLLER_INIT": Status.DEPLOYING, "REPLICA_INIT": Status.DEPLOYING,
    "READY": Status.ACTIVE, "SHUTTING_DOWN": Status.DEPLOYING,
    "CONTROLLER_FAILED": Status.FAILED, "FAILED": Status.FAILED,
    "FAILED_CLEANUP": Status.FAILED, "NO_REPLICA": Status.UNHEALTHY,
}


def _call(what: str, start, *args, **kwargs):
    """One SkyPilot request, waited on; its own words when it fails."""
    sky_package = sky()
    try:
        with stdout_to_stderr():
            return sky_package.get(start(*args, **kwargs))
    except sky_package.exceptions.ClusterNotUpError:
        raise
    except Exception as exc:  # SkyPilot raises its server's exception objects as they are
        raise ProviderError(f"SkyPilot could not {what}: {' '.join(str(exc).split())}") from None


def location() -> dict[str, str]:
    """The API server and user the client reaches: where a service lives."""
    from sky.server import common as server_common

    sky_package = sky()
    try:
        with stdout_to_stderr():
            info = sky_package.api_info()
    except Exception as exc:
        raise ProviderError(f"the SkyPilot API server at {server_common.get_server_url()} "
                            f"does not answer ({type(exc).__name__})") from None
    user = info.user.id if info.user else ""
    return {"api_server": server_common.get_server_url(), "user": user}


def up(task, service_name: str) -> str:
    """Start the service; SkyServe's endpoint (its load balancer)."""
    sky_package = sky()
    try:
        with stdout_to_stderr():
            _name, endpoint = sky_package.stream_and_get(sky_package.serve.up(task, service_name))
    except Exception as exc:
        raise ProviderError(f"SkyServe refused {service_name}: "
                            f"{' '.join(str(exc).split())}") from None
    return endpoint


def update(task, service_name: str) -> None:
    sky_package = sky()
    _call(f"update {service_name}", sky_package.serve.update, task, service_name,
          mode=sky_package.serve.UpdateMode.BLUE_GREEN)


def service(service_name: str) -> dict | None:
    """The controller's record of the service; None when it has none (or no controller runs)."""
    sky_package = sky()
    try:
        found = _call("read the service status", sky_package.serve.status, [service_name])
    except sky_package.exceptions.ClusterNotUpError:
        return None
    return next((record for record in found if record["name"] == service_name), None)


def services() -> list[dict]:
    sky_package = sky()
    try:
        return _call("list services", sky_package.serve.status, None)
    except sky_package.exceptions.ClusterNotUpError:
        return []


def down(service_name: str) -> None:
    sky_package = sky()
    try:
        _call(f"take {service_name} down", sky_package.serve.down, service_name)
    except sky_package.exceptions.ClusterNotUpError:
        return  # no controller: nothing of it runs


def word(record: dict) -> str:
    status = record["status"]
    return getattr(status, "value", str(status))


def ready_replicas(record: dict) -> list[dict]:
    return [replica for replica in record.get("replica_info", [])
            if getattr(replica["status"], "value", replica["status"]) == "READY"]
