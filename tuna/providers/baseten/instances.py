"""The workspace's own instance types and prices (GET /v1/instance_type_prices, USD per minute):
what it really offers, which differs by workspace, and what it charges."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuna.catalog import Offer
from tuna.http_errors import ApiError
from tuna.models import Check

if TYPE_CHECKING:
    from tuna.providers.baseten.api import BasetenApi

ON_REQUEST = "H200 and B200 instances are available on request from Baseten"


def shape(entry: dict) -> tuple[str, int]:
    instance = entry["instance_type"]
    return str(instance.get("gpu_type") or ""), int(instance.get("gpu_count") or 0)


def hourly(prices: list[dict], offer: Offer, gpus: int) -> float | None:
    """The cheapest instance of `gpus` x the offer's GPU, per hour; None if there is none."""
    names = {offer.provider_gpu_id, offer.api_gpu_type} - {""}
    found = [float(e["price"]) * 60 for e in prices if shape(e)[0] in names
             and shape(e)[1] == gpus]
    return min(found, default=None)


def listed(prices: list[dict]) -> str:
    shapes = sorted({shape(e) for e in prices if shape(e)[1] > 0})
    return ", ".join(gpu if n == 1 else f"{gpu}:{n}" for gpu, n in shapes) or "no GPU instances"


def price_check(api: BasetenApi, offer: Offer, gpus: int) -> tuple[Check, float | None]:
    """Refuse a GPU or count the workspace does not have; else its price per replica-hour. A
    prices endpoint that does not answer is a warning: the catalog price stands."""
    wanted = offer.provider_gpu_id if gpus == 1 else f"{offer.provider_gpu_id}:{gpus}"
    try:
        prices = api.instance_type_prices()
    except ApiError as exc:
        return Check("instance", True, f"workspace prices not read ({exc}); catalog price "
                     f"{offer.replica_price(gpus)}", warning=True), None
    price = hourly(prices, offer, gpus)
    if price is None:
        extra = f"; {ON_REQUEST}" if offer.note == "available on request" else ""
        return Check("instance", False, f"this workspace has no {wanted} instance (it has: "
                     f"{listed(prices)}){extra}", "choose another --gpu or --tp-size"), None
    return Check("instance", True, f"{wanted} at ${price:.2f}/hour per replica (this "
                 "workspace's price)"), price
