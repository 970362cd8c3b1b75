"""pvfair: is the measured difference between two paravirtual I/O models real, or an artifact of the runs?

Data flows one way; each stage is a module with a small public API (its own ``__all__``)::

    analysis.collect.collect(plan, out_dir)              run a fair, interleaved campaign -> data/raw/<name>
    analysis.parsers.parse_file(path, tool=None)          one raw netperf/iperf3/iperf2/sockperf file -> ParsedRun
    analysis.ingest.load_campaign(path) -> Campaign      runs, measurements, intervals, rejects (tidy, SI units)
    analysis.normalize.normalize(campaign) -> Campaign   + per-GHz rates, packets/s, cycles per byte/transaction
    analysis.audit.audit(campaign) -> AuditResult        balance, coverage, drift, order, Simpson, outliers ...
    analysis.compare.compare(campaign, baseline=, candidate=) -> CompareResult   verdict per cell and metric
    analysis.cells   Cell, the route rule and one strategy per headline basis (what compare decides with)
    analysis.blocking.complete_rounds(cell, ...)          which runs pair up in rounds (audit and compare)
    analysis.model.fit_model(campaign, metric=, baseline=, candidate=) -> ModelResult  OLS/MixedLM on log metric
    analysis.rerun.rerun_plan(campaign, baseline=, candidate=, excluded=) -> RerunPlanResult  what to run next
    analysis.report.run_report(campaign_dir) -> ReportResult   notebooks via papermill, HTML, tables, summary.pdf
    analysis.stats   ratio_ci, permutation_test_ratio, welch_log, log_t, paired_log_t, tost_ratio, adjust_pvalues,
                     runs_needed, moderated_variances, permutation_min_pvalue
    analysis.plots   love_plot, drift_plot, cpu_mhz_plot, coverage_matrix_plot, forest_plot, ...
    analysis.simulate.simulate_campaign(out_dir, CampaignSpec(...), seed=0)     campaigns with a known truth
    analysis.memo    content-keyed memos (load_campaign, compare, audit, fits) shared by a report's notebooks

The command line (``pvfair ingest|report|collect``) is a thin layer over the same functions, and so are the
notebooks in ``notebooks/``.
"""

__version__ = "0.1.0"
