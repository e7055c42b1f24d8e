"""Hybrid services: a spot fleet on SkyServe and a serverless deployment behind one router.

A hybrid NAME is a parent record and three legs, each an ordinary record with its own
provider: NAME-serverless (the chosen serverless provider), NAME-spot (the spot fleet plugin)
and NAME-router (a SkyServe service, or `tuna router serve NAME` on this machine)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from tuna.errors import InvalidValue, UsageError

PROVIDER = "hybrid"  # the parent record's provider
SPOT_PROVIDER = "skyserve"
ROUTERS = ("skyserve", "local")
LEGS = ("serverless", "spot", "router")


def leg_name(service_name: str, leg: str) -> str:
    return f"{service_name}-{leg}"


@dataclass(frozen=True)
class HybridSettings:
    """What `--hybrid` adds to a deploy; kept on the parent record."""

    serverless_provider: str
    router: str = "skyserve"
    spot_min_replicas: int = 0
    spot_max_replicas: int = 2

    def __post_init__(self):
        if self.router not in ROUTERS:
            raise InvalidValue("router", f"expected {' or '.join(ROUTERS)}, got {self.router!r}")
        if not 0 <= self.spot_min_replicas <= self.spot_max_replicas <= 100:
            raise InvalidValue("spot_max_replicas", "expected 0 <= --spot-min-replicas <= "
                               f"--spot-max-replicas <= 100, got {self.spot_min_replicas} and "
                               f"{self.spot_max_replicas}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> HybridSettings:
        return cls(**data)


def split_options(request):
    """(the serverless leg's request, the spot fleet's options): each provider gets its own."""
    from dataclasses import replace

    spot = {owners: given for owners, given in request.options.items()
            if SPOT_PROVIDER in owners.split(",")}
    rest = {owners: given for owners, given in request.options.items() if owners not in spot}
    return replace(request, options=rest), {SPOT_PROVIDER: {
        name: value for given in spot.values() for name, value in given.items()}}


def require_leg_name_room(service_name: str) -> None:
    """Each leg's name is NAME-<leg>, which must still be a service name."""
    from tuna.models import is_service_name

    if not all(is_service_name(leg_name(service_name, leg)) for leg in LEGS):
        raise UsageError(f"--service-name: {service_name!r} is too long for a hybrid service "
                         "(its legs are NAME-serverless, NAME-spot and NAME-router): at most 52 "
                         "characters")
