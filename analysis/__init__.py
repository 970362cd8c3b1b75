"""pvfair: is the measured difference between two paravirtual I/O models real, or an artifact of the runs?

Data flows one way; each stage is a module with a small public API (its own ``__all__``)::

    analysis.collect.collect(plan, out_dir)              run a fair, interleaved campaign -> data/raw/<name>
    analysis.parsers.parse_file(path, tool=None)          one raw netperf/iperf3/iperf2/sockperf file -> ParsedRun
    analysis.ingest.load_campaign(path) -> Campaign      runs, measurements, intervals, rejects (tidy, SI units)
    analysis.normalize.normalize(campaign) -> Campaign   + per-GHz rates, packets/s, cycles per byte/transaction
    analysis.audit.audit(campaign) -> AuditResult        balance, coverage, drift, order, Simpson, outliers ...
    analysis.compare.compare(campaign, baseline=, candidate=) -> CompareResult   verdict per cell and metric
    analysis.model.fit_model(campaign, metric=, baseline=, candidate=) -> ModelResult  OLS/MixedLM on log metric
    analysis.report.run_report(campaign_dir) -> ReportResult   notebooks via papermill, HTML, tables, summary.pdf
    analysis.stats   ratio_ci, permutation_test_ratio, welch_log, tost_ratio, adjust_pvalues, runs_needed
    analysis.plots   love_plot, drift_plot, cpu_mhz_plot, coverage_matrix_plot, forest_plot, ...
    analysis.simulate.simulate_campaign(out_dir, CampaignSpec(...), seed=0)     campaigns with a known truth
    analysis.memo    content-keyed memos (load_campaign, compare, audit, fits) shared by a report's notebooks
    analysis.sides.load_campaigns([dir_a, dir_b], as_one=NAME) -> Campaign   one comparison from each side's folder
    analysis.confound   design factors (host, kernels, side, ...) confounded with the model: verdict "confounded"
    analysis.bridge.bridge_ratio(c, b, {ref: (ref_c, ref_b)}) -> BridgeResult   ratio of ratios via a shared reference
    analysis.published.assess_published(read_published(path), campaign, ...)   published figures as one side

The command line (``pvfair ingest|report|collect``) is a thin layer over the same functions, and so are the
notebooks in ``notebooks/``.
"""

__version__ = "0.1.0"
