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
