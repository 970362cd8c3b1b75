# ruff: noqa: E402, F821, B018
# %% [markdown]
# # 03 · Audit: what makes this comparison unfair?
#
# Before any verdict, the design of the comparison is checked. Two PV models can only be compared fairly when
# everything else about their runs is alike. The audit names every difference it finds, with the cell it affects
# and what to do about it:
#
# - **covariate balance**: did both models run at the same CPU clock, with the same pinning, governor, host,
#   kernels, MTU? Numbers are compared with the *standardized mean difference* (difference of the means in units of
#   their spread; above 0.1 is a visible imbalance), categories by their mix;
# - **coverage**: cells measured by one model only cannot be compared and are excluded (and listed); cells with
#   fewer than 3 runs of a model are excluded, fewer than 5 are flagged;
# - **drift and order**: does the metric trend with run order (a warming machine, a filling disk)? Were the two
#   models interleaved, or run in blocks, so that time and model are confounded?
# - **Simpson's paradox**: a pooled effect whose sign differs from every stratum's (pinning, clock band);
# - **outliers and warm-up runs** (robust z, reported, never dropped silently), netperf's own "confidence not
#   achieved" flags, clocks that changed during a run, missing frequency or pinning information, rejected inputs.

# %% tags=["parameters"]
campaign: str = "data/raw/demo"  # campaign folder, relative to the current folder or the repository root
baseline: "Optional[str]" = None  # baseline PV model; None infers it (manifest role column, else first row)
candidate: "Optional[str]" = None  # candidate PV model; None infers it (the campaign's other model)
output_dir: str = ""  # folder for the CSV tables written by this notebook; empty writes nothing

# %%
from IPython.display import HTML, display

from analysis.audit import audit
from analysis.ingest import load_campaign
from analysis.model import primary_metrics
from analysis.normalize import normalize
from analysis.notebook import infer_models, resolve_campaign, save_tables, setup_notebook
from analysis.plots import coverage_matrix_plot, drift_plot, love_plot
from analysis.present.findings import format_findings_table
from analysis.present.html import format_html_table

setup_notebook()
campaign_path = resolve_campaign(campaign)
data = normalize(load_campaign(campaign_path))
baseline, candidate = infer_models(data, baseline, candidate)
result = audit(data, baseline=baseline, candidate=candidate)  # memoized inside: compare (04) reuses it
print(f"baseline: {baseline}   candidate: {candidate}")

# %% [markdown]
# ## Findings
#
# Errors first, then warnings, then notes. Each finding names the check, the cell (test × message size × pinning,
# or the whole campaign), the model where one applies, what was found and a suggestion.

# %%
display(HTML(format_findings_table(result.findings, severities=("error", "warn", "info"), suggestion=True)))

# %% [markdown]
# ## Covariate balance
#
# One row per covariate: the standardized mean difference (numbers) or the difference in the mix (categories)
# between the two models, and whether it is flagged.

# %%
display(HTML(format_html_table(result.balance)))

# %% [markdown]
# The same as a Love plot: one dot per covariate, its absolute standardized difference; right of the dashed line
# (0.1) is an imbalance worth naming. Notebook 02 plots the CPU clock of every run per model.

# %%
display(love_plot(result))

# %% [markdown]
# ## Drift with run order
#
# Each run's metric as % from the mean of its cell, model and clock band, against its position in the run order,
# per model. A slope means the machine changed while the campaign ran.

# %%
for metric in primary_metrics(data):
    display(drift_plot(data, metric, models=[baseline, candidate]))

# %% [markdown]
# ## Coverage and excluded cells
#
# Runs per model in every cell; the cells the comparison must leave out, and why.

# %%
display(coverage_matrix_plot(data, models=[baseline, candidate]))
display(HTML(format_html_table(result.coverage)))
display(HTML(format_html_table(result.excluded_cells)))

# %%
written = save_tables(
    output_dir,
    audit_findings=result.findings,
    audit_balance=result.balance,
    audit_coverage=result.coverage,
    audit_excluded_cells=result.excluded_cells,
)
print("\n".join(f"wrote {p}" for p in written) or "output_dir not set: no tables written")
