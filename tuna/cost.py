"""What a service costs: the burn rate now, and an estimate since creation from what tuna saw.

The estimate integrates the replica counts tuna observed (at deploy, `status`, `cost` and
destroy), each held until the next observation. Replicas that came and went between two
observations are invisible to it, so it is labelled an estimate; the provider's bill is the
truth. The upper bound assumes max replicas the whole time.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuna import catalog
from tuna.errors import TunaError
from tuna.models import Record, iso_time


@dataclass(frozen=True)
class CostEstimate:
    price_per_gpu_hour: float
    replica_price_per_hour: float  # the instance's: not always gpu_count x price_per_gpu_hour
    gpu_count: int
    billing_unit: str
    since: float
    until: float
    observations: int
    estimated_usd: float
    at_most_usd: float
    price_source: str = "catalog"  # or the provider's own price for the account, read now

    def to_json(self) -> dict:
        return {"price_per_gpu_hour": self.price_per_gpu_hour,
                "replica_price_per_hour": self.replica_price_per_hour,
                "gpu_count": self.gpu_count,
                "billing_unit": self.billing_unit, "since": iso_time(self.since),
                "until": iso_time(self.until),
                "observations": self.observations,
                "estimated_usd": round(self.estimated_usd, 4),
                "at_most_usd": round(self.at_most_usd, 4), "price_source": self.price_source}


def _offer(record: Record) -> catalog.Offer:
    offer = catalog.load().offer(record.request.gpu, record.provider)
    if offer is None:
        raise TunaError(f"tuna has no price for {record.request.gpu} on {record.provider} "
                        "(a spot fleet's price is its cloud's, read by SkyPilot)")
    return offer


def replica_price(record: Record) -> float | None:
    """USD per hour of one replica of the record's request (its instance at the catalog price;
    a count the catalog no longer lists, at N x one GPU); None when the catalog has no price."""
    if catalog.load().offer(record.request.gpu, record.provider) is None:
        return None
    offer, gpus = _offer(record), record.request.gpu_count
    hourly = offer.replica_hourly(gpus)
    return gpus * offer.price_per_gpu_hour if hourly is None else hourly


def burn_rate(record: Record, active_replicas: int) -> float | None:
    """USD per hour being spent right now; None when the price is not known."""
    price = replica_price(record)
    return None if price is None else active_replicas * price


def estimate(record: Record, observations: list[tuple[float, int, float | None]],
             now: float, live_price: float | None = None) -> CostEstimate:
    """Each period priced at what a replica cost then: an update may have changed the GPU.
    `live_price`: the provider's own price of a replica now, shown instead of the catalog's."""
    offer = _offer(record)
    until = now if record.is_live else record.updated_at
    spent = 0.0
    for (at, replicas, price), (next_at, *_) in zip(observations,
                                                    [*observations[1:], (until, 0, None)]):
        hourly = replica_price(record) if price is None else price
        spent += replicas * max(0.0, min(next_at, until) - at) * hourly / 3600
    lifetime = max(0.0, until - record.created_at)
    dearest = max([replica_price(record), *(price for _, _, price in observations if price)])
    return CostEstimate(
        offer.price_per_gpu_hour, live_price or replica_price(record), record.request.gpu_count,
        offer.billing_unit,
        record.created_at, until, len(observations), spent,
        record.request.scaling.max_replicas * lifetime * dearest / 3600,
        "the account's own price, read now" if live_price else
        f"catalog: {offer.source}, {offer.date}")
