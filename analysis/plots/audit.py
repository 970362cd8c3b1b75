"""audit plots (see analysis.plots)."""

__all__: list[str] = []
