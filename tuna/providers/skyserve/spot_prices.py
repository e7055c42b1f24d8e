"""Spot prices from SkyPilot's own catalog (the CSVs it keeps under ~/.sky/catalogs and refreshes
from its hosted catalog): the cheapest region per instance type, with the catalog's date."""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone

from tuna.providers.skyserve.sky_client import sky, stdout_to_stderr


def offers(accelerator: str, clouds: tuple[str, ...]) -> tuple[list[dict], dict[str, str]]:
    """(offers, cloud -> why it has no prices here)."""
    sky()
    from sky import catalog, sky_logging
    from sky.catalog import common

    found, missing = [], {}
    for cloud in clouds:
        try:
            # Its catalog code is the API server's: silenced, it emits no encoded spinners.
            with stdout_to_stderr(), sky_logging.silent():
                listed = catalog.list_accelerators(
                    gpus_only=True, name_filter=f"^{re.escape(accelerator)}$", clouds=[cloud],
                    case_sensitive=False, all_regions=True, require_price=True)
        except Exception as exc:  # a catalog it could not fetch: said, never guessed
            missing[cloud] = (f"SkyPilot's {cloud} catalog is not on this machine and could not "
                              f"be fetched ({type(exc).__name__}); `sky show-gpus` fetches it "
                              "where the internet is reachable")
            continue
        cheapest: dict[tuple, object] = {}
        for info in (i for items in listed.values() for i in items if i.spot_price == i.spot_price):
            key = (info.instance_type, info.accelerator_count)
            if key not in cheapest or info.spot_price < cheapest[key].spot_price:
                cheapest[key] = info
        path = common.get_catalog_path(f"{cloud}/vms.csv")
        date = (datetime.fromtimestamp(os.path.getmtime(path), timezone.utc).date().isoformat()
                if os.path.exists(path) else "unknown")
        found += [{"cloud": cloud, "instance_type": i.instance_type,
                   "gpus": int(i.accelerator_count), "spot_per_hour": float(i.spot_price),
                   "on_demand_per_hour": float(i.price), "region": i.region,
                   "source": f"SkyPilot's {cloud} catalog ({path}, {date})"}
                  for i in cheapest.values()]
    return sorted(found, key=lambda offer: (offer["gpus"], offer["spot_per_hour"])), missing
