# ruff: noqa: E402, F821, B018
# %% [markdown]
# # 02 · Normalize: per-GHz rates, packets per second, CPU cycles per byte
#
# Two PV models measured at different CPU clocks cannot be compared on raw throughput: a run at 1.6 GHz does less
# work per second than one at 2.4 GHz. This notebook **adds** normalized metrics beside the raw ones (never
# instead of them):
#
# - **per-GHz rates**: throughput or transactions per second divided by the run's effective clock (the mean of the
#   clock before and after the run, where both are known). This is right only for CPU-bound work; notebook 05 tests
#   that assumption instead of trusting it.
# - **packets per second**: bits per second ÷ (8 × message size), the rate small-message tests really measure.
# - **CPU cycles per byte / per transaction**: CPU utilization × CPUs × clock ÷ rate, the cost of moving data.
#
# The provenance table says, run by run, which clock was used, where it came from and which formula was applied;
# a run without a clock gets no per-GHz value (nothing is imputed) and the reason is shown.

# %% tags=["parameters"]
campaign: str = "data/raw/demo"  # campaign folder, relative to the current folder or the repository root
output_dir: str = ""  # folder for the CSV tables written by this notebook; empty writes nothing

# %%
from IPython.display import display

from analysis.ingest import load_campaign
from analysis.normalize import normalization_table, normalize
from analysis.notebook import resolve_campaign, save_tables, setup_notebook
from analysis.plots import cpu_mhz_plot

setup_notebook()
campaign_path = resolve_campaign(campaign)
data = normalize(load_campaign(campaign_path))
provenance = normalization_table(data)

# %% [markdown]
# ## Where each run's clock came from
#
# Counts of runs per PV model and clock source (`manifest-before-after`: the mean of the clocks recorded before
# and after the run; `manifest` or `tool`: one reported clock; empty: unknown, so no per-GHz values).

# %%
provenance.groupby(["pv_model", "cpu_mhz_source"], dropna=False).size().rename("runs").reset_index()

# %% [markdown]
# ## The CPU clock of every run, per model
#
# If one model's runs sit at a lower clock (an `ondemand` governor, a thermal limit), its raw rates are understated
# wherever the work is CPU-bound.

# %%
display(cpu_mhz_plot(data))

# %% [markdown]
# ## Normalization provenance, run by run
#
# The clock, the number of CPUs behind the utilization figure, the formulas applied and, where a normalized metric
# could not be computed, why.

# %%
provenance.head(20)

# %%
written = save_tables(output_dir, normalization=provenance)
print("\n".join(f"wrote {p}" for p in written) or "output_dir not set: no tables written")
