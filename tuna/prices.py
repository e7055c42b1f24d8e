"""What `show-gpus` shows: catalog offers, with which providers tuna can deploy to here."""

from __future__ import annotations

from dataclasses import dataclass

from tuna import catalog, registry
from tuna.errors import UsageError


@dataclass(frozen=True)
class PriceList:
    cat: catalog.Catalog
    gpu: catalog.Gpu | None  # one GPU asked for, or None for the whole matrix
    offers: list[catalog.Offer]  # cheapest first
    unavailable: dict[str, str]  # provider -> why tuna cannot deploy there, with the fix
    provider: str | None = None  # the one provider asked for, if any

    def deployable(self, offer: catalog.Offer) -> bool:
        return offer.provider not in self.unavailable

    def cheapest_deployable(self, gpu: str) -> catalog.Offer | None:
        return next((o for o in self.offers if o.gpu == gpu and self.deployable(o)), None)

    def to_json(self) -> list[dict]:
        return [{**offer.to_json(), "deployable": self.deployable(offer),
                 "unavailable": self.unavailable.get(offer.provider)} for offer in self.offers]


def _unavailable(providers: list[str]) -> dict[str, str]:
    """Providers whose plugin is here but whose extra is not (those without a plugin are not
    offered at all)."""
    why = {}
    for name in providers:
        hint = registry.missing_requirements(name)
        if hint:
            why[name] = f"not installed: {hint}"
    return why


def price_list(gpu: str | None, provider: str | None) -> PriceList:
    cat = catalog.load()
    canonical = cat.resolve(gpu) if gpu else None
    if provider:
        provider = provider.lower()
        if provider not in cat.providers():
            from tuna.suggest import did_you_mean

            raise UsageError(f"unknown provider {provider!r}{did_you_mean(provider, cat.providers())}"
                             f"; the catalog has {', '.join(cat.providers())}")
    offers = registry.with_plugins(cat.offers_for(gpu=canonical, provider=provider))
    return PriceList(cat, cat.gpus[canonical] if canonical else None, offers,
                     _unavailable(sorted({o.provider for o in offers})), provider)


@dataclass(frozen=True)
class SpotPriceList:
    """`show-gpus --spot`: what the spot fleet providers' own catalogs say, or why they cannot."""

    gpu: str
    offers: dict[str, list[dict]]  # spot provider -> its offers, cheapest first
    unavailable: dict[str, str]  # spot provider (and cloud) -> why no price

    def to_json(self) -> dict:
        return {"gpu": self.gpu, "spot": self.offers, "unavailable": self.unavailable}

    def lines(self) -> list[str]:
        out = []
        for provider, offers in self.offers.items():
            if not offers:
                out.append(f"{provider}: its catalog lists no {self.gpu} with a spot price")
                continue
            out.append(f"{self.gpu} spot prices ({provider}), USD per instance-hour:")
            out += [f"  {o['cloud']:<6} {o['instance_type']:<16} {o['gpus']} x {self.gpu}  "
                    f"spot ${o['spot_per_hour']:.4f}  on-demand ${o['on_demand_per_hour']:.4f}  "
                    f"({o['region']})" for o in offers]
            out += sorted({f"  source: {o['source']}" for o in offers})
        out += [f"{provider}: no spot prices: {why}" for provider, why in self.unavailable.items()]
        return out


def spot_price_list(gpu: str | None, clouds: tuple[str, ...]) -> SpotPriceList:
    """Spot prices where a spot fleet provider's catalog has them; imports its SDK."""
    from tuna.errors import TunaError

    if not gpu:
        raise UsageError("show-gpus --spot needs --gpu (e.g. --gpu L4): SkyPilot's catalog is "
                         "read per GPU")
    canonical = catalog.load().resolve(gpu)
    offers, unavailable = {}, {}
    for name in registry.names(registry.SPOT_GROUP):
        try:
            offers[name], missing = registry.load(name).spot_offers(canonical, clouds)
        except TunaError as exc:
            unavailable[name] = str(exc)
            continue
        unavailable.update({f"{name} {cloud}": why for cloud, why in missing.items()})
    if not offers and not unavailable:
        unavailable["spot"] = "no spot fleet provider is installed: uv sync --extra hybrid"
    return SpotPriceList(canonical, offers, unavailable)
