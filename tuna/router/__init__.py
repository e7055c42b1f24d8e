"""The hybrid router (`python -m tuna.router` on its SkyServe VM, `tuna router serve NAME` here)."""
