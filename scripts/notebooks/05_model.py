# ruff: noqa: E402, F821, B018
# %% [markdown]
# # 05 · Model: how much of the difference do the clock and the pinning explain?
#
# Dividing by GHz assumes the work is CPU-bound. Instead of trusting that, a regression is fitted per test on the
# **log** of the metric, with the PV model, the message size, the log of the CPU clock (its slope may differ by
# message size) and the pinning as terms, with heteroscedasticity-robust (HC3) standard errors (HC1 in a test where
# a run has leverage 1, e.g. the only run at its pinning: HC3 does not exist there, and the notes say so); when the
# campaign has several sessions, boots or hosts, a mixed model adds a random intercept for them.
#
# - the **model effect** per message size is the ratio candidate / baseline at equal clock and pinning;
# - the **clock elasticity** is the % change of the metric per % change of the clock: about 1 means CPU-bound (a
#   per-GHz division is right), about 0 means wire-bound (a per-GHz division would invent a difference);
# - **raw vs adjusted** shows how much of the raw difference the covariates explain;
# - diagnostics: residuals, Breusch–Pagan heteroscedasticity test, influential runs (Cook's distance).

# %% tags=["parameters"]
campaign: str = "data/raw/demo"  # campaign folder, relative to the current folder or the repository root
baseline: "Optional[str]" = None  # baseline PV model; None infers it (manifest role column, else first row)
candidate: "Optional[str]" = None  # candidate PV model; None infers it (the campaign's other model)
metrics: "Optional[list[str]]" = None  # metrics to model; None takes the primary rate metrics measured
alpha: float = 0.05  # error rate: intervals are at confidence 1 - alpha
output_dir: str = ""  # folder for the CSV tables written by this notebook; empty writes nothing

# %%
from IPython.display import HTML, display

from analysis.ingest import load_campaign
from analysis.model import fit_models
from analysis.normalize import normalize
from analysis.notebook import infer_models, resolve_campaign, save_tables, setup_notebook
from analysis.plots import model_diagnostics_plot
from analysis.present.html import format_html_table, format_notes_html, format_paragraph_html

setup_notebook()
campaign_path = resolve_campaign(campaign)
data = normalize(load_campaign(campaign_path))
baseline, candidate = infer_models(data, baseline, candidate)
models = fit_models(data, baseline=baseline, candidate=candidate, metrics=metrics, confidence_level=1 - alpha)

# %% [markdown]
# ## What was fitted
#
# Every metric and test either has a fit below or is listed here with the reason it has none (measured by one model
# only, no message size both models ran, a fit that failed).

# %%
not_fitted = models.not_fitted
fitted_list = ", ".join(models.results) or "none"
display(HTML(format_paragraph_html(f"Fitted: {fitted_list}. Not fitted: {len(not_fitted)} metric/test pair(s).")))
if len(not_fitted):
    display(HTML(format_html_table(not_fitted)))

# %% [markdown]
# ## Model effects and clock elasticities
#
# One row per metric, test and message size: the model ratio (candidate / baseline at equal clock and pinning) with
# its interval, and the clock elasticity with its reading.

# %%
effects = models.to_frame()
display(HTML(format_html_table(effects)))

# %% [markdown]
# ## Raw vs adjusted
#
# The raw ratio (geometric means, no covariates) beside the adjusted one, and the share of the raw log difference
# that the clock and pinning explain.

# %%
display(HTML(format_html_table(models.raw_vs_adjusted)))

# %% [markdown]
# ## Diagnostics and notes

# %%
display(HTML(format_html_table(models.diagnostics)))
for fitted in models.results.values():
    for test in fitted.tests:
        display(model_diagnostics_plot(fitted, test=test))
display(HTML(format_notes_html(list(models.notes), title="Notes")))

# %%
written = save_tables(
    output_dir,
    model_effects=effects,
    model_raw_vs_adjusted=models.raw_vs_adjusted,
    model_diagnostics=models.diagnostics,
    model_not_fitted=not_fitted,
)
print("\n".join(f"wrote {p}" for p in written) or "output_dir not set: no tables written")
