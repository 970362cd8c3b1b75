"""compare plots (see analysis.plots)."""

__all__: list[str] = []
