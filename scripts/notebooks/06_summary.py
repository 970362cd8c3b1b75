# ruff: noqa: E402, F821, B018
# %% [markdown]
# # pvfair summary

# %% tags=["parameters"]
# pvfair: parameters compare  (the literal lines: PARAMETER_CELLS in scripts/build_notebooks.py)

# %%
import warnings

warnings.filterwarnings("ignore")  # the PDF is for readers of the verdicts; the other notebooks show warnings

from IPython.display import HTML, display  # noqa: E402

from analysis.model import fit_models
from analysis.notebook import campaign_overview, open_comparison, save_tables, setup_notebook
from analysis.plots import forest_plot
from analysis.present.campaign import format_header_html, format_overview_table
from analysis.present.findings import format_confounds_html, format_findings_table
from analysis.present.html import (
    format_figure_html,
    format_html_table,
    format_notes_html,
    format_paragraph_html,
)
from analysis.present.verdicts import (
    format_effects_table,
    format_excluded_table,
    format_verdict_bullets_html,
    format_verdict_table,
)
from analysis.rerun import format_plan_html, no_comparison_paragraph, rerun_plan

setup_notebook(dpi=110)  # print quality for the PDF
campaign_path, data, baseline, candidate, result, verdicts = open_comparison(
    campaign, baseline, candidate, metrics=metrics, margin=margin, alpha=alpha, correction=correction,
    statistic=statistic, n_resamples=n_resamples, seed=seed,
)
overview = campaign_overview(data)
settings = {
    "margin": margin,
    "alpha": alpha,
    "correction": correction,
    "statistic": statistic,
    "n_resamples": n_resamples,
    "seed": seed,
}
display(HTML(format_header_html(data.name, baseline, candidate, overview, settings)))

# %% [markdown]
# ## Verdict in brief

# %%
plan = rerun_plan(data, baseline=baseline, candidate=candidate, by=result.by, excluded=result.excluded)
if len(verdicts):
    display(HTML(format_verdict_bullets_html(result)))
else:
    display(HTML(format_paragraph_html(no_comparison_paragraph(plan))))

# %% [markdown]
# ## Two sides: design factors, bridges, published numbers
#
# A cell whose two models never shared a host (kernel, qemu, firmware, side) is "confounded with" it: its effect is
# shown, not attributed to the model. Where a reference ran on both hosts, the cell is bridged through it. Published
# figures are marked "published, not raw".

# %%
import pandas as pd  # noqa: E402

from analysis.confound import format_design_html  # noqa: E402
from analysis.published import assess_published, find_published, format_published_html, read_published  # noqa: E402

display(HTML(format_design_html(verdicts, baseline=baseline, candidate=candidate)))
published = [assess_published(read_published(f), data, baseline=baseline, candidate=candidate,
                              confidence_level=result.confidence_level, margin=margin)
             for f in find_published(campaign_path)]
for assessed in published:
    display(HTML(format_published_html(assessed)))
if published:  # every row marked "published, not raw" (column kind)
    save_tables(output_dir, published=pd.concat([p.to_frame() for p in published], ignore_index=True))

# %% [markdown]
# ## Confounds found by the audit

# %%
display(HTML(format_confounds_html(result.audit.findings)))

# %% [markdown]
# ## Verdict table

# %%
display(HTML(format_html_table(format_verdict_table(verdicts, by=result.by))))

# %% [markdown]
# ## Forest plot

# %%
if len(verdicts):
    display(HTML(format_figure_html(forest_plot(result))))  # at the full text width of the PDF
else:
    display(HTML(format_paragraph_html("No cell could be compared: nothing to plot.")))

# %%
from analysis.settle import looks_summary  # noqa: E402  (collected until settled: the look each cell settled at)

if (looks := looks_summary(campaign_path)) is not None:
    display(HTML(format_html_table(looks.to_frame())), HTML(format_figure_html(looks.figure())))

# %% [markdown]
# ## Cells not compared
#
# Every cell or metric left out of the comparison, with the reason (the audit's findings say more).

# %%
if len(result.excluded):
    display(HTML(format_html_table(format_excluded_table(result.excluded, by=result.by))))
else:
    display(HTML("<p>Every cell was compared.</p>"))

# %% [markdown]
# ## Audit findings
#
# Every error and warning of the audit (notebook 03 lists the notes too).

# %%
display(HTML(format_findings_table(result.audit.findings, severities=("error", "warn"), suggestion=False)))

# %% [markdown]
# ## Raw, per-GHz and clock-adjusted effects
#
# The regression effect at equal clock and pinning beside the raw and per-GHz ratios, with the clock elasticity
# (about 1: CPU-bound, a per-GHz division is right; about 0: wire-bound, it is not).

# %%
display(HTML(format_html_table(format_effects_table(verdicts, by=result.by))))
models = fit_models(data, baseline=baseline, candidate=candidate, metrics=metrics, confidence_level=1 - alpha)
not_fitted = models.not_fitted
display(HTML(format_paragraph_html(
    "Regression models fitted: " + (", ".join(models.results) or "none") + "; not fitted: "
    + (f"{len(not_fitted)} metric/test pair(s), listed with the reason." if len(not_fitted) else "none.")
)))
if len(not_fitted):
    display(HTML(format_html_table(not_fitted)))

# %% [markdown]
# ## The campaign
#
# Runs per PV model, with the tools, tests, sizes, pinnings, clocks, hosts and kernels they were measured with.

# %%
display(HTML(format_html_table(format_overview_table(overview))))

# %% [markdown]
# ## Method notes
#
# - **Reading the tables**: *change* = ratio candidate / baseline − 1 of the effect the verdict rests on
#   (*basis*: raw, or adjusted for the clock by the regression, or per GHz), with its simultaneous confidence
#   interval; the raw and per-GHz changes are shown beside it. *Runs needed*: runs per model that would likely
#   settle an inconclusive cell. Forest plot: each cell's ratio and interval coloured by verdict; shaded, the
#   equivalence band ±δ; hollow markers, raw ratios; crosses, per-GHz ratios.
# - **Effect**: ratio candidate / baseline of the chosen location statistic per cell (test × message size ×
#   pinning); pinnings are strata, never pooled.
# - **Intervals**: bootstrap (BCa) with the two models' runs resampled separately, at the simultaneous level that
#   matches the multiplicity correction across all cells.
# - **Faster / slower**: the adjusted permutation p-value is below α and the interval excludes 1 on that side.
#   **Equivalent**: the two one-sided tests (TOST) on the log ratio reject a difference beyond the margin.
#   **Inconclusive**: neither; the runs needed come from the observed spread.
# - **Clock**: where the models ran at different CPU clocks, the verdict rests on the log-linear regression effect
#   (HC3 errors; mixed model with a random intercept for sessions when there are several), because a per-GHz
#   division is only right for CPU-bound work.
# - **Audit**: standardized mean differences above 0.1, any difference in a category mix, one-model cells, drift
#   with run order, Simpson's paradox, outliers (robust z > 3.5) and warm-up runs are reported, never dropped
#   silently.

# %%
display(HTML(format_notes_html(list(result.notes), title="Notes from this comparison")))
written = save_tables(output_dir, summary_verdicts=format_verdict_table(verdicts, by=result.by),
                      summary_rerun_plan=plan.to_frame())

# %% [markdown]
# ## What to run next
#
# The cells left out or confounded, and the runs that would make them comparable: how many runs of which model, at
# which pinning and CPU clock.

# %%
display(HTML(format_plan_html(plan)))
