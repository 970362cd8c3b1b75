# ruff: noqa: E402, F821, B018
# %% [markdown]
# # pvfair history: the verdict across versions
#
# Every campaign of a lab's archive compared on its own (same margin, level and seed), the campaigns put in
# version order, and for every cell and metric the candidate/baseline ratio followed across versions: where it
# changed (change points, Apache Otava's E-divisive) and what the verdict was before and after.

# %% tags=["parameters"]
archive: str = "data/archive"  # archive folder (pvfair archive add)
baseline: str = "virtio-net+vhost"  # baseline PV model
candidate: str = "venet"  # candidate PV model
order_by: str = "guest_kernel"  # campaign ordering key(s), comma-separated: guest_kernel, host_kernel, date, ...
metrics: "Optional[list[str]]" = None  # metrics to follow; None takes the rates and mean latency measured
margin: float = 0.05  # equivalence margin: equivalent when the ratio lies within 1/(1+margin) and 1+margin
alpha: float = 0.05  # family-wise error rate of each campaign's faster/slower verdicts
n_resamples: int = 9999  # bootstrap and permutation resamples per cell
seed: int = 2009  # random seed of every campaign's comparison
max_pvalue: float = 0.0001  # significance threshold of a change point
scheduler: str = ""  # Dask scheduler address to fan the comparisons out on; empty runs them here
output_dir: str = ""  # folder for the CSV tables written by this notebook; empty writes nothing

# %%
import html
import warnings

warnings.filterwarnings("ignore")

from IPython.display import HTML, display

from analysis.archive import list_campaigns
from analysis.history import history
from analysis.notebook import save_tables, setup_notebook
from analysis.plots import history_plot, verdict_heatmap
from analysis.present.html import format_html_table, format_notes_html

setup_notebook(dpi=110)
keys = [k.strip() for k in order_by.split(",") if k.strip()]
client = None
if scheduler:
    from distributed import Client

    client = Client(scheduler)
result = history(archive, baseline=baseline, candidate=candidate, order_by=keys, metrics=metrics, margin=margin,
                 alpha=alpha, n_resamples=n_resamples, seed=seed, max_pvalue=max_pvalue, client=client)
campaigns = list_campaigns(archive)
display(HTML(f"<p><b>{result.effects['campaign'].nunique()}</b> campaigns of <code>{html.escape(archive)}</code> "
             f"({len(campaigns)} in the archive), ordered by {html.escape(', '.join(keys))}: "
             f"{html.escape(candidate)} vs {html.escape(baseline)}, "
             f"margin ±{100 * margin:g} %, change points at p &lt; {max_pvalue:g}.</p>"))

# %% [markdown]
# ## The verdict over time

# %%
display(HTML("<ul>" + "".join(f"<li><b>{html.escape(r.cell)}</b> ({html.escape(r.metric)}): "
                              f"{html.escape(r.statement)}</li>"
                              for r in result.statements.itertuples()) + "</ul>"))

# %% [markdown]
# ## Change points
#
# The first version after each change, the mean ratio on either side, and the detector's p-value.

# %%
display(HTML(format_html_table(result.changes.drop(columns=["position"]))) if len(result.changes)
        else HTML("<p>No change point in any series.</p>"))

# %% [markdown]
# ## The ratio over versions
#
# Each point is one campaign's ratio, coloured by its verdict, with its confidence interval as a band; the shaded
# region is the equivalence margin; dashed lines mark the change points.

# %%
display(history_plot(result))

# %% [markdown]
# ## Verdicts: cells × versions

# %%
display(verdict_heatmap(result))

# %% [markdown]
# ## Segments
#
# Between change points: versions covered, campaigns, geometric mean ratio and the verdict most campaigns got.

# %%
display(HTML(format_html_table(result.segments.drop(columns=["label", "segment"]))))

# %%
display(HTML(format_notes_html(list(result.notes), title="Campaigns not compared")))
written = save_tables(output_dir, history_effects=result.effects, history_changes=result.changes,
                      history_segments=result.segments, history_statements=result.statements)
