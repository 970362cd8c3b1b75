# ruff: noqa: E402, F821, B018
# %% [markdown]
# # 04 · Compare: faster, slower, equivalent, or too early to say?
#
# For every cell (test × message size × pinning) and metric, the effect is the **ratio candidate / baseline** of
# the mean (or median, or geometric mean) of the runs, reported as a % change with a confidence interval:
#
# - the interval comes from the **bootstrap**: the runs of each model are resampled many times and the ratio
#   recomputed, and the spread of those ratios (BCa-corrected) gives the interval;
# - a **permutation test** asks whether the models' labels matter at all; with many cells the p-values are
#   adjusted for multiplicity (Holm by default), and each interval is shown at the matching simultaneous level;
# - an **equivalence test** (TOST, two one-sided tests on the log ratio) asks whether the ratio lies within the
#   margin ±δ; "equivalent" means the data rule out any difference larger than δ.
#
# The verdict follows the metric's direction (lower latency is faster). "Faster but within margin" means the
# difference is real and smaller than δ. An *inconclusive* cell comes with the number of runs per model that would
# likely settle it. When the two models ran at different CPU clocks, the verdict rests on the regression effect
# adjusted for the clock (notebook 05), and the raw and per-GHz ratios are shown beside it.

# %% tags=["parameters"]
# pvfair: parameters compare  (the literal lines: PARAMETER_CELLS in scripts/build_notebooks.py)

# %%
from IPython.display import HTML, display

from analysis.compare import headline_paragraph
from analysis.explore import cell_picker, interactive
from analysis.notebook import multi_size_tests, open_comparison, save_tables, setup_notebook, showcase_row
from analysis.plots import estimation_plot, forest_plot, metric_vs_size_plot
from analysis.present.html import format_html_table, format_notes_html, format_paragraph_html
from analysis.present.verdicts import format_verdict_table
from analysis.rerun import format_plan_html, rerun_plan

setup_notebook()
campaign_path, data, baseline, candidate, result, verdicts = open_comparison(
    campaign, baseline, candidate, metrics=metrics, margin=margin, alpha=alpha, correction=correction,
    statistic=statistic, n_resamples=n_resamples, seed=seed,
)

# %% [markdown]
# ## The verdict in plain words

# %%
display(HTML(format_paragraph_html(headline_paragraph(result))))
from analysis.confound import format_design_html  # noqa: E402  (host / kernel / side confounds, bridges)

display(HTML(format_design_html(verdicts, baseline=baseline, candidate=candidate)))

# %% [markdown]
# ## Verdict table
#
# Change = ratio − 1 of the headline effect, with its simultaneous confidence interval; *basis* says which effect
# the verdict rests on (raw, model-adjusted for the clock, or per GHz), with the raw and per-GHz changes beside it.

# %%
display(HTML(format_html_table(format_verdict_table(verdicts, by=result.by))))

# %% [markdown]
# ## Forest plot
#
# Each cell's ratio with its simultaneous interval, coloured by verdict; the shaded band is the equivalence region
# ±δ, the dotted line "no difference". Hollow markers: the raw ratio; crosses: the per-GHz ratio.

# %%
if len(verdicts):
    display(forest_plot(result))
else:
    display(HTML(format_paragraph_html("No cell could be compared, so there is nothing to plot: the cells and the "
                                       "reasons they were left out are listed at the end.")))

# %% [markdown]
# ## Metric vs message size
#
# Mean per model and message size with 95 % bands, raw (left) and per GHz (right): where the two panels disagree,
# the clock matters.

# %%
for test in multi_size_tests(verdicts):
    display(metric_vs_size_plot(result, test=test))

# %% [markdown]
# ## One cell up close
#
# Estimation plot (Gardner–Altman) of the cell with the strongest evidence: every run per model, and the bootstrap
# distribution of the ratio with its estimate and interval.

# %%
if len(verdicts):
    display(estimation_plot(result, showcase_row(verdicts)))

# %% [markdown]
# ## Any cell up close
#
# In JupyterLab, pick any compared cell to see its runs, its estimation plot and its route (the effect the
# verdict rests on and why, the interval and the test). Batch reports (`pvfair report`) show the cell above only.

# %%
if interactive():
    display(cell_picker(result, initial=showcase_row(verdicts)))

# %% [markdown]
# ## Cells not compared, and notes
#
# Each cell left out with its reason, and the runs that would make it comparable: how many of which model, at which
# pinning and clock.

# %%
display(HTML(format_html_table(result.excluded)))
plan = rerun_plan(data, baseline=baseline, candidate=candidate, by=result.by, excluded=result.excluded)
display(HTML(format_plan_html(plan)))
display(HTML(format_notes_html(list(result.notes), title="Notes")))

# %% [markdown]
# ## Looks and stopping
#
# Campaigns made with `pvfair collect --until-settled` were analysed after every few rounds, and each cell stopped
# once its sequential verdict was reached (alpha spending: the error rate holds over all the looks). Per cell: the
# estimate and its interval at each look's boundary (a cell is faster or slower when that interval leaves 1,
# equivalent when the thin TOST interval lies inside the shaded margin); the coloured marker is the look at which
# it settled. Campaigns collected with a fixed number of runs have no looks.

# %%
from analysis.plots import looks_plot, looks_table
from analysis.settle import read_looks

looks = read_looks(campaign_path)
if looks is None:
    print("no looks recorded: this campaign was collected with a fixed number of runs")
else:
    display(HTML(format_html_table(looks_table(looks))))
    display(looks_plot(looks))

# %%
written = save_tables(output_dir, verdicts=verdicts, excluded_cells=result.excluded, rerun_plan=plan.to_frame())
print("\n".join(f"wrote {p}" for p in written) or "output_dir not set: no tables written")
