# ruff: noqa: E402, F821, B018
# %% [markdown]
# # 01 · Ingest: what is in the campaign folder?
#
# The raw campaign folder (`data/raw/<name>`) holds the benchmark tools' own output files and a `manifest.csv`
# that says which paravirtual (PV) model each run used. This notebook reads every file with the parser for its
# tool, checks it against the manifest and lists what was **rejected** and why, and which files are **not runs**
# (a README, logs, scripts, paths in `.pvfairignore`). Nothing is dropped silently: a file that does not parse, a
# manifest row without a file, a run without a manifest row and every ignored file all appear below; files seen =
# ingested + rejected + ignored.

# %% tags=["parameters"]
campaign: str = "data/raw/demo"  # campaign folder, relative to the current folder or the repository root
output_dir: str = ""  # folder for the CSV tables written by this notebook; empty writes nothing

# %%
from analysis.ingest import format_ingest_summary, load_campaign
from analysis.notebook import campaign_overview, resolve_campaign, save_tables, setup_notebook

setup_notebook()
campaign_path = resolve_campaign(campaign)
data = load_campaign(campaign_path)
print(format_ingest_summary(data, max_rejects=0))

# %% [markdown]
# ## The campaign at a glance
#
# One row per PV model: how many runs it has, which tools, tests, message sizes and CPU pinnings were used, the
# range of CPU clocks seen, and the hosts and kernels named by the manifest or the output files. Differences
# between the two rows are the first hint of an unfair comparison; notebook 03 checks them formally and shows
# which model measured which cell (test / message size / pinning).

# %%
overview = campaign_overview(data)
overview

# %% [markdown]
# ## Rejected inputs
#
# Each rejected file or manifest row with its reason (`parse_error`, `tool_error`, `missing_file`,
# `no_manifest_row`, `manifest_mismatch`, ...) and the detail: for a parse error, the file, line and what the
# parser expected there.

# %%
data.rejects

# %% [markdown]
# ## Ignored files (not runs)
#
# Files no manifest row names and no parser reads as a run (documentation, console logs, scripts, images), names
# that are never runs (README, metadata), and paths the campaign's `.pvfairignore` excludes; each with its reason.
# They are not rejected runs.

# %%
data.ignored

# %% [markdown]
# ## The runs table
#
# One row per accepted run, with the columns every later stage uses (PV model, tool, canonical test and the
# tool's own mode, message size, pinning,
# CPU clock, host, kernels, trial, run order, source file and its sha256). The first rows:

# %%
data.runs.head(10)

# %%
written = save_tables(output_dir, runs=data.runs, rejects=data.rejects, ignored=data.ignored, overview=overview)
print("\n".join(f"wrote {p}" for p in written) or "output_dir not set: no tables written")
