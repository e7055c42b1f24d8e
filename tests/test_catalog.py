from __future__ import annotations

import re

import pytest

from tuna import catalog
from tuna.errors import InvalidValue

TRUSS_ACCELERATORS = {"B10", "T4", "L4", "A10G", "V100", "A100", "A100_40GB", "H100", "H200",
                      "H100_40GB", "B200", "L40S", "RTX_PRO_6000", "B300", "GB300"}


@pytest.fixture(scope="module")
def cat():
    return catalog.load()


@pytest.mark.parametrize("typed, canonical", [
    ("L4", "L4"), ("l4", "L4"), ("A100", "A100_80GB"), ("a100-80gb", "A100_80GB"),
    ("A100 40GB", "A100_40GB"), ("h100", "H100"), ("H100_40GB", "H100_MIG_40GB"),
    ("h100-mig", "H100_MIG_40GB"), ("rtx 4090", "RTX_4090"), ("RTX_A6000", "A6000"),
])
def test_aliases_resolve_to_one_canonical_name(cat, typed, canonical):
    assert cat.resolve(typed) == canonical


def test_unknown_gpu_suggests_close_names(cat):
    with pytest.raises(InvalidValue, match=r"--gpu: unknown GPU 'H10' \(did you mean .*H100.*\?\)"):
        cat.resolve("H10")
    with pytest.raises(InvalidValue, match=r"unknown GPU 'zzz'; `tuna show-gpus` lists them"):
        cat.resolve("zzz")


def test_baseten_prices_from_the_plan(cat):
    prices = {o.gpu: (o.provider_gpu_id, o.price_per_gpu_hour)
              for o in cat.offers_for(provider="baseten")}
    assert prices == {"T4": ("T4", 0.63), "L4": ("L4", 0.85), "A10G": ("A10G", 1.21),
                      "A100_80GB": ("A100", 4.00), "H100": ("H100", 6.50),
                      "H100_MIG_40GB": ("H100_40GB", 3.75), "B200": ("B200", 9.98),
                      "H200": ("H200", 7.50), "RTX_PRO_6000": ("RTX_PRO_6000", 4.00)}
    assert {o.billing_unit for o in cat.offers_for(provider="baseten")} == {"minute"}


def test_baseten_gpu_ids_are_truss_accelerators(cat):
    assert {o.provider_gpu_id for o in cat.offers_for(provider="baseten")} <= TRUSS_ACCELERATORS


def test_offers_for_a_gpu_are_cheapest_first(cat):
    l4 = cat.offers_for(gpu="L4")
    assert [(o.provider, o.price_per_gpu_hour) for o in l4] == [
        ("runpod", 0.684), ("modal", 0.7992), ("baseten", 0.85), ("cloudrun", 1.42)]


def test_every_offer_has_source_and_date(cat):
    assert all(o.source and o.date and o.billing_unit for o in cat.offers)
    assert cat.providers() == ["baseten", "cloudrun", "modal", "runpod"]


def test_offer_of_unknown_gpu_is_rejected_when_loading():
    text = '[gpus.L4]\nvram_gb = 24\narchitecture = "Ada"\n' \
           'compute_capability = 8.9\n[providers.x]\nbilling_unit = "s"\n' \
           'source = "s"\ndate = "d"\noffers = [{ gpu = "L5", id = "L5", price = 1.0 }]\n'
    with pytest.raises(ValueError, match="unknown GPU 'L5'"):
        catalog.Catalog.from_toml(text)


def test_every_source_is_a_url_with_a_date(cat):
    assert all(o.source.startswith("https://") and re.fullmatch(r"\d{4}-\d\d(-\d\d)?", o.date)
               for o in cat.offers)


def test_runpod_prices_are_its_per_second_flex_prices(cat):
    per_second = {"A4000": 0.00016, "A5000": 0.00019, "L4": 0.00019, "RTX_4090": 0.00031,
                  "A6000": 0.00034, "A40": 0.00034, "L40": 0.00053, "L40S": 0.00053,
                  "A100_80GB": 0.00076, "H100": 0.00116, "B200": 0.00240}
    offers = {o.gpu: o for o in cat.offers_for(provider="runpod")}
    assert set(offers) == set(per_second)
    for gpu, price in per_second.items():
        assert offers[gpu].price_per_gpu_hour == pytest.approx(price * 3600)
        assert offers[gpu].provider_gpu_id.startswith("NVIDIA ")  # REST gpuTypeIds


def test_modal_calls_the_a10g_a10(cat):
    assert cat.offer("A10G", "modal").provider_gpu_id == "A10"
