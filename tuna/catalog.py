"""GPU catalog: specs and provider prices, loaded from data/catalog.toml."""

from __future__ import annotations

import os  # not pathlib: it costs light commands more to import than the catalog takes to read
import re
from dataclasses import dataclass
from functools import cache

from tuna.errors import InvalidValue, TunaError


@dataclass(frozen=True)
class Gpu:
    name: str
    vram_gb: int
    architecture: str
    compute_capability: float  # CUDA's: decides which quantization kernels run


@dataclass(frozen=True)
class Offer:
    gpu: str
    provider: str
    provider_gpu_id: str
    price_per_gpu_hour: float
    billing_unit: str
    source: str
    date: str
    vram_gb: int
    note: str = ""  # what the price leaves out, or how it is offered
    # GPUs -> the whole instance's price per hour, where it is not N x one GPU's; when given,
    # only these counts (and 1) are offered.
    count_prices: tuple[tuple[int, float], ...] = ()
    api_gpu_type: str = ""  # the provider's API's name for the GPU, where it differs

    def counts(self) -> tuple[int, ...] | None:
        """The GPU counts offered, None when any the provider allows."""
        return (1, *dict(self.count_prices)) if self.count_prices else None

    def replica_hourly(self, gpus: int) -> float | None:
        """One replica of `gpus` GPUs per hour; None when the provider has no such instance."""
        if gpus == 1:
            return self.price_per_gpu_hour
        if self.count_prices:
            return dict(self.count_prices).get(gpus)
        return self.price_per_gpu_hour * gpus

    def replica_price(self, gpus: int, per: str = "replica",
                      account_hourly: float | None = None) -> str:
        """What one replica of `gpus` GPUs costs, for summaries: the account's own price when
        the provider told it, else the catalog's."""
        hourly = self.replica_hourly(gpus) if account_hourly is None else account_hourly
        price = "no such instance" if hourly is None else f"${hourly:.2f}/hour"
        whose = "" if account_hourly is None else ", the account's own price"
        return f"{price} per {per} ({gpus} x {self.gpu}{whose}), billed per {self.billing_unit}"

    def to_json(self) -> dict:
        return {
            "gpu": self.gpu,
            "provider": self.provider,
            "provider_gpu_id": self.provider_gpu_id,
            "price_per_gpu_hour": self.price_per_gpu_hour,
            "billing_unit": self.billing_unit,
            "vram_gb": self.vram_gb,
            "source": self.source,
            "date": self.date,
            "note": self.note or None,
            "instance_prices": {str(n): price for n, price in self.count_prices} or None,
        }


def _key(name: str) -> str:
    return re.sub(r"[\s_-]", "", name).upper()


@dataclass(frozen=True)
class Catalog:
    gpus: dict[str, Gpu]
    offers: tuple[Offer, ...]
    aliases: dict[str, str]  # normalised spelling -> canonical GPU name

    @classmethod
    def from_toml(cls, text: str) -> Catalog:
        import tomllib  # `list` imports this module without reading the catalog

        data = tomllib.loads(text)
        gpus, aliases = {}, {}
        for name, spec in data["gpus"].items():
            gpus[name] = Gpu(name, spec["vram_gb"], spec["architecture"],
                             float(spec["compute_capability"]))
            for spelling in [name, *spec.get("aliases", [])]:
                aliases[_key(spelling)] = name
        offers = []
        for provider, entry in data["providers"].items():
            for offer in entry["offers"]:
                if offer["gpu"] not in gpus:
                    raise ValueError(f"catalog: {provider} offers unknown GPU {offer['gpu']!r}")
                counts = tuple(sorted((int(n), float(price))
                                      for n, price in offer.get("counts", {}).items()))
                # A provider's own id for the GPU (as show-gpus prints it) names it too.
                aliases.setdefault(_key(offer["id"]), offer["gpu"])
                offers.append(
                    Offer(offer["gpu"], provider, offer["id"], float(offer["price"]),
                          entry["billing_unit"], offer.get("source", entry["source"]),
                          offer.get("date", entry["date"]), gpus[offer["gpu"]].vram_gb,
                          offer.get("note", entry.get("note", "")), counts,
                          offer.get("api_gpu_type", ""))
                )
        return cls(gpus, tuple(offers), aliases)

    def resolve(self, name: str) -> str:
        """The canonical name for what the user typed; an unknown name suggests close ones."""
        canonical = self.aliases.get(_key(name))
        if canonical:
            return canonical
        from tuna.suggest import close_matches  # only unknown names need it

        names = sorted({self.aliases[c] for c in close_matches(_key(name), list(self.aliases))})
        hint = f" (did you mean {' or '.join(names)}?)" if names else ""
        raise InvalidValue("gpu", f"unknown GPU {name!r}{hint}; `tuna show-gpus` lists them")

    def providers(self) -> list[str]:
        return sorted({o.provider for o in self.offers})

    def offers_for(self, gpu: str | None = None, provider: str | None = None) -> list[Offer]:
        """Matching offers, cheapest first."""
        found = [o for o in self.offers
                 if (gpu is None or o.gpu == gpu) and (provider is None or o.provider == provider)]
        return sorted(found, key=lambda o: (o.price_per_gpu_hour, o.provider, o.gpu))

    def offer(self, gpu: str, provider: str) -> Offer | None:
        found = self.offers_for(gpu, provider)
        return found[0] if found else None

    def require_offer(self, gpu: str, provider: str) -> Offer:
        offer = self.offer(gpu, provider)
        if offer is None:
            raise TunaError(f"the catalog has no {provider} price for {gpu}")
        return offer


@cache
def load() -> Catalog:
    with open(os.path.join(os.path.dirname(__file__), "data", "catalog.toml"), "rb") as data:
        return Catalog.from_toml(data.read().decode())
