"""Everything tuna prints. With --json, stdout holds exactly one JSON document and human text
goes to stderr. Tables are plain aligned text (tuna.table), coloured on a terminal; rich is
imported only for a deploy's live spinner on a terminal."""

from __future__ import annotations

import contextlib
import sys
import time

from tuna import table
from tuna.table import plural
from tuna.errors import TunaError, UsageError
from tuna.models import Status


def _money(value: float) -> str:
    return f"${value:.2f}"


class Output:
    def __init__(self, json_mode: bool = False):
        self.json_mode = json_mode
        self.stream = sys.stderr if json_mode else sys.stdout
        self.colour = table.colour_wanted(self.stream)

    def _print_table(self, columns: dict[str, list[str]], **options) -> None:
        for line in table.render(columns, self.colour, **options):
            print(line, file=self.stream)

    # --- plain -------------------------------------------------------------------------

    def show(self, result) -> int:
        """Print a result: its own JSON with --json, else its text, chosen here once."""
        if self.json_mode:
            self.json(result.to_json())
        elif hasattr(self, "_text_" + type(result).__name__):
            getattr(self, "_text_" + type(result).__name__)(result)
        else:  # a result that words itself (tuna.hybrid's)
            for line in result.lines():
                self.note(line)
        return 0

    def json(self, document) -> None:
        import json

        print(json.dumps(document, indent=2))

    def note(self, message: str) -> None:
        print(message, file=self.stream)

    def progress_line(self, message: str | None) -> None:
        """A live line on a terminal's stderr, rewritten in place (None ends it); elsewhere
        nothing, so logs and --json stay clean."""
        if not sys.stderr.isatty():
            return
        print("\r\x1b[K" + (message or ""), end="" if message else "", file=sys.stderr,
              flush=True)

    def error(self, message: str) -> None:
        print(f"tuna: error: {message}", file=sys.stderr)

    def fail(self, exc: TunaError) -> None:
        self.error(str(exc))
        for check in getattr(exc, "failed", ()):
            print(f"  - {check.name}: {check.detail}; fix: {check.fix}", file=sys.stderr)

    def confirm(self, question: str) -> bool:
        if not sys.stdin.isatty():
            raise UsageError("stdin is not a terminal, so tuna cannot ask; nothing was destroyed "
                             "(pass --yes to destroy without asking)")
        try:
            return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
        except EOFError:
            raise UsageError("no answer (end of input); nothing was destroyed") from None

    # --- tables --------------------------------------------------------------------------

    def _text_PriceList(self, prices) -> None:
        if prices.gpu:
            self._gpu_offers(prices)
        else:
            self._price_matrix(prices)
        for provider, why in sorted(prices.unavailable.items()):
            self.note(f"{provider}: {why}")

    def _price_matrix(self, prices) -> None:
        providers = sorted({o.provider for o in prices.offers})
        headers = [p if p not in prices.unavailable else f"{p} (n/i)" for p in providers]
        columns: dict[str, list[str]] = {"GPU": [], "VRAM": [], **{h: [] for h in headers}}
        styles = {}
        for gpu in prices.cat.gpus.values():
            mine = {o.provider: o for o in prices.offers if o.gpu == gpu.name}
            if not mine:
                continue
            best = prices.cheapest_deployable(gpu.name)
            columns["GPU"].append(gpu.name)
            columns["VRAM"].append(f"{gpu.vram_gb} GB")
            for provider, header in zip(providers, headers):
                cheapest = best is not None and provider == best.provider
                if cheapest:
                    styles[(len(columns["GPU"]) - 1, header)] = table.GREEN
                columns[header].append(_money(mine[provider].price_per_gpu_hour)
                                       + ("*" if cheapest else " ") if provider in mine else "-")
        self.note("USD per GPU-hour (* cheapest deployable; n/i: not installed)")
        self._print_table(columns, right=tuple(headers), styles=styles)

    def _gpu_offers(self, prices) -> None:
        gpu = prices.gpu
        if not prices.offers:
            from tuna import registry

            offered = registry.with_plugins(prices.cat.offers_for(gpu=gpu.name))
            others = [o.provider for o in offered]
            self.note((f"{prices.provider} does not offer {gpu.name}" if prices.provider else
                       f"No provider in the catalog offers {gpu.name}")
                      + (f"; offered by: {', '.join(others)}." if others else "."))
            return
        best = prices.cheapest_deployable(gpu.name)
        offers = prices.offers
        self.note(f"{gpu.name} ({gpu.vram_gb} GB, {gpu.architecture})")
        self._print_table({
            "provider": [o.provider + ("" if prices.deployable(o) else " (not installed)")
                         for o in offers],
            "provider GPU id": [o.provider_gpu_id for o in offers],
            "$/GPU-hour": [_money(o.price_per_gpu_hour) for o in offers],
            "multi-GPU $/hour": [", ".join(f"{n}: {_money(p)}" for n, p in o.count_prices)
                                 or "N x one" for o in offers],
            "billed per": [o.billing_unit for o in offers],
            "source": [f"{o.source}, {o.date}" + (f" ({o.note})" if o.note else "")
                       for o in offers],
        }, right=("$/GPU-hour",), styles={
            **{(i, "provider"): table.DIM for i, o in enumerate(offers)
               if not prices.deployable(o)},
            **{(i, "$/GPU-hour"): table.GREEN for i, o in enumerate(offers) if o is best}})
        self.note(f"Cheapest deployable: {best.provider} at {_money(best.price_per_gpu_hour)}"
                  "/GPU-hour" if best else "No installed provider offers it.")

    def _text_Listing(self, listing) -> None:
        if not listing.records:
            self.note("No services. Deploy one with `tuna deploy --model ... --gpu ...`.")
            return
        records = listing.records
        columns = {
            "service": [r.service_name for r in records],
            "provider": [r.provider for r in records],
            "status": [r.status.value for r in records],
            "model": [r.request.model for r in records],
            "GPU": [f"{r.request.gpu_count} x {r.request.gpu}" for r in records],
            "endpoint": [r.endpoint_url or "-" for r in records],
        }
        # Whole values only: on a narrow terminal, leave out the columns `status` also shows
        # rather than cut the service name, which is what the user types next.
        left_out, room = [], table.terminal_width(self.stream)
        for optional in ("endpoint", "model"):
            if room is None or table.width(columns) <= room:
                break
            left_out.append(optional)
            del columns[optional]
        self._print_table(columns)
        if left_out:
            self.note(f"Not shown at this width: {', '.join(left_out)} (`tuna list --json` has all).")

    def _text_RemoteListing(self, listing) -> None:
        if listing.services:
            found = listing.services
            self._print_table({
                "service": [s.service_name for s in found],
                "provider": [s.provider for s in found],
                "status": [s.provider_status for s in found],
                "ids": [" ".join(f"{k}={v}" for k, v in s.provider_ids.items()) for s in found],
                "local state": ["tracked" if s.tracked else "UNTRACKED" for s in found],
            }, styles={(i, "local state"): table.YELLOW for i, s in enumerate(found)
                       if not s.tracked})
            if not all(s.tracked for s in listing.services):
                self.note("Untracked services still run and bill: `tuna destroy --service-name "
                          "NAME` removes one.")
        elif listing.searched:
            self.note(f"No services tuna made were found on {', '.join(listing.searched)}.")
        else:
            self.note("No provider was searched (no credentials are set): this says nothing "
                      "about what runs.")
        for provider, why in listing.not_searched.items():
            self.note(f"{provider}: not searched: {why}")

    def _text_Record(self, record) -> None:
        self.note(f"{record.service_name} is {record.status.value} on {record.provider}.")
        if record.endpoint_url:
            self.note(f"OpenAI base URL: {record.endpoint_url}")

    def _text_CheckReport(self, report) -> None:
        for check in report.checks:
            mark = table.style("ok  ", table.GREEN, self.colour) if check.ok else \
                table.style("FAIL", table.RED, self.colour)
            fix = f" -> {check.fix}" if not check.ok and check.fix else ""
            self.note(f"{mark}  {check.name}: {check.detail}{fix}")

    def _text_DestroyReport(self, report) -> None:
        for name in report.destroyed:
            self.note(f"Destroyed {name}.")
        for name, error in report.failed.items():
            self.error(f"{name}: {error} (record kept; retry `tuna destroy --service-name {name}`)")
        if not report.destroyed and not report.failed:
            self.note("Nothing destroyed.")

    # --- deploy ---------------------------------------------------------------------------

    def _text_DryRun(self, dry) -> None:
        self.note(f"Dry run: rendered and validated with {dry.validated_by}; nothing was deployed.")
        self.note(f"Directory: {dry.directory}")
        for path in dry.written:
            self.note(f"  {path}")
        for key, value in dry.plan.summary.items():
            self.note(f"{key:>13}: {value}")
        if dry.model_check:
            self.note("Model checked: " + "; ".join(
                f"{k} {v}" for k, v in dry.model_check.checked.items()))
        else:
            self.note(f"Note: {dry.model_not_checked}.")

    @contextlib.contextmanager
    def deploy_events(self):
        events = _DeployEvents(self.stream, self.json_mode)
        try:
            yield events
        finally:
            events.stop()

    def _text_Deployed(self, deployed) -> None:
        result, plan = deployed.result, deployed.plan
        name, status = result.service_name, result.status
        if status is Status.COLD:
            self.note(f"{name} is deployed on {result.provider}, cold: no replica runs until the "
                      "first request starts one (a cold start); until then nothing has shown the "
                      "model loads.")
        else:
            ready = status is Status.ACTIVE
            self.note(f"{name} is {'ready' if ready else status.value} on {result.provider}."
                      + ("" if ready else f" Follow it with `tuna status --service-name {name}`."))
        self.note(f"OpenAI base URL: {result.endpoint_url}")
        self.note(f"Model name:      {result.served_model_name}")
        self.note(f"Cost:            {plan.summary.get('price', 'see tuna show-gpus')}")
        if deployed.model_check:
            self.note(f"Model checked:   {deployed.model_check.checked.get('memory', 'yes')}")
        if result.example:
            self.note("Try it:")
            self.note(result.example)

    def _text_StatusReport(self, report) -> None:
        record, remote = report.record, report.remote
        self.note(f"{record.service_name} ({record.provider}): {record.status.value}"
                  + (f" [{remote.provider_status}]" if remote else ""))
        if record.error:
            self.note(f"  last error: {record.error}")
        if remote:
            for key, value in remote.details.items():
                if isinstance(value, dict):
                    value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
                self.note(f"  {key.replace('_', ' ')}: {value}")
        if report.burn_rate is not None:
            self.note(f"  burn rate now: {_money(report.burn_rate)}/hour "
                      f"({plural(remote.active_replicas, 'active replica')} x "
                      f"{record.request.gpu_count} x "
                      f"{record.request.gpu})")
        if record.endpoint_url:
            self.note(f"  endpoint: {record.endpoint_url}")

    def _text_CostReport(self, report) -> None:
        from datetime import datetime, timezone

        record, estimate = report.status.record, report.estimate
        since = datetime.fromtimestamp(estimate.since, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        hours = (estimate.until - estimate.since) / 3600
        self.note(f"{record.service_name} on {record.provider}: {estimate.gpu_count} x "
                  f"{record.request.gpu} per replica at "
                  f"{_money(estimate.replica_price_per_hour)}/hour ({estimate.price_source}), "
                  f"billed per {estimate.billing_unit}")
        self.note(f"Estimated cost since {since} ({hours:.2f} h): "
                  f"{_money(estimate.estimated_usd)}")
        self.note(f"  an estimate from the {plural(estimate.observations, 'replica count')} "
                  "tuna observed; replicas that came and went between them are not seen. Your "
                  "provider's bill is the truth.")
        self.note(f"  at most {_money(estimate.at_most_usd)} "
                  f"({plural(record.request.scaling.max_replicas, 'replica')} the whole time)")
        if report.status.burn_rate is not None:
            self.note(f"Burn rate now: {_money(report.status.burn_rate)}/hour")

    def log_line(self, line) -> None:
        if self.json_mode:
            import json

            print(json.dumps(line.to_json()), flush=True)
            return
        from datetime import datetime, timezone

        stamp = datetime.fromtimestamp(line.timestamp_ns / 1e9, timezone.utc)
        replica = f" [{line.replica}]" if line.replica else ""
        print(f"{stamp:%Y-%m-%d %H:%M:%S}{replica} {line.message}", flush=True)


class _DeployEvents:
    """Progress of a deploy: a live spinner with elapsed time on a terminal, plain lines else."""

    def __init__(self, stream, json_mode: bool):
        self.stream, self.json_mode = stream, json_mode
        self.started = time.monotonic()
        self._live = None
        self._task = None

    def _line(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        if self._live is not None:  # through rich, so the spinner stays below the lines
            self._live.console.print(f"[{elapsed:6.1f}s] {message}", markup=False,
                                     highlight=False)
        else:
            print(f"[{elapsed:6.1f}s] {message}", file=self.stream, flush=True)

    def created(self, provider_ids: dict[str, str]) -> None:
        self._line("Created " + ", ".join(f"{k}={v}" for k, v in provider_ids.items()))

    def progress(self, message: str) -> None:
        self._line(message)

    def status(self, provider_status: str, elapsed_s: float) -> None:
        self._line(f"status {provider_status} (after {elapsed_s:.0f}s)")
        if not self.stream.isatty():
            return
        if self._live is None:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._live = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                  TimeElapsedColumn(), transient=True,
                                  console=Console(stderr=self.json_mode, highlight=False))
            self._live.start()
            self._task = self._live.add_task(provider_status)
        self._live.update(self._task, description=f"waiting: {provider_status}")

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
