"""pvfair: is the measured difference between two paravirtual I/O models real, or an artifact of the runs?

Data flows one way; each stage is a module with a small public API (its own ``__all__``)::

    analysis.collect.collect(plan, out_dir)              run a fair, interleaved campaign -> data/raw/<name>
    analysis.settle.collect_until_settled(plan, out_dir, design=SequentialDesign())  rounds until each cell settles
    analysis.sequential   look_statistics, sequential_look: alpha-spending verdicts at each look (stats.sequential)
    analysis.parsers.parse_file(path, tool=None)          one raw netperf/iperf3/iperf2/sockperf file -> ParsedRun
    analysis.ingest.load_campaign(path) -> Campaign      runs, measurements, intervals, rejects (tidy, SI units)
    analysis.normalize.normalize(campaign) -> Campaign   + per-GHz rates, packets/s, cycles per byte/transaction
    analysis.audit.audit(campaign) -> AuditResult        balance, coverage, drift, order, Simpson, outliers ...
    analysis.compare.compare(campaign, baseline=, candidate=) -> CompareResult   verdict per cell and metric
    analysis.cells   Cell, the route rule and one strategy per headline basis (what compare decides with)
    analysis.blocking.complete_rounds(cell, ...)          which runs pair up in rounds (audit and compare)
    analysis.model.fit_model(campaign, metric=, baseline=, candidate=) -> ModelResult  OLS/MixedLM on log metric
    analysis.crosstool.tool_agreement(compare_result) -> ToolAgreementResult  do two tools on one test agree?
    analysis.vocabulary  verdicts, the cell key, canonical test names across tools (one place each)
    analysis.model.fit_models(campaign, baseline=, candidate=) -> ModelSetResult   fit_model per metric, or why not
    analysis.notebook     what the notebooks share: resolve_campaign, infer_models, open_comparison, save_tables, ...
    analysis.runner.run_report(campaign_dir) -> ReportResult   notebooks via papermill in one kernel, HTML, summary.pdf
    analysis.fanout.run_reports(dirs, scheduler=|jobs=)   several campaigns as Dask distributed tasks, the index
    analysis.parameters   notebook_parameters(notebook), parse_parameter: the parameters cells, -p text typed
    analysis.export       export_html, export_pdf (WeasyPrint), write_index;  analysis.provenance  provenance.json
    analysis.archive.add(dirs, archive) / query(archive, sql) / load_campaign(archive, name)   Parquet + DuckDB
    analysis.history.history(archive, baseline=, candidate=, order_by=) -> HistoryResult   change points, verdicts
    analysis.rerun.rerun_plan(campaign, baseline=, candidate=, excluded=) -> RerunPlanResult  what to run next
    analysis.stats   ratio_ci, permutation_test_ratio, welch_log, log_t, paired_log_t, tost_ratio, adjust_pvalues,
                     runs_needed, moderated_variances, permutation_min_pvalue
    analysis.plots   love_plot, drift_plot, cpu_mhz_plot, coverage_matrix_plot, forest_plot, ...
    analysis.explore.cell_picker(result)                 JupyterLab: pick any cell, see its runs, plot and route
    analysis.simulate.simulate_campaign(out_dir, CampaignSpec(...), seed=0)     campaigns with a known truth
    analysis.simulate.simulate_archive(out_dir, ArchiveSpec(...), seed=0)       many, with a planted change
    analysis.memo    one memo rule: load_campaign, normalize, audit, compare and the fits memoize inside themselves
    analysis.present verdict_summary(result), findings_summary(result) -> Summary: as_text/markdown/csv/json;
                     the notebooks' tables and HTML per result (.verdicts, .findings, .campaign, .html)
    analysis.sides.load_campaigns([dir_a, dir_b], as_one=NAME) -> Campaign   one comparison from each side's folder
    analysis.confound   design factors (host, kernels, side, ...) confounded with the model: verdict "confounded"
    analysis.bridge.bridge_ratio(c, b, {ref: (ref_c, ref_b)}) -> BridgeResult   ratio of ratios via a shared reference
    analysis.published.assess_published(read_published(path), campaign, ...)   published figures as one side

The command line (``pvfair ingest|report|collect|compare|audit|archive|history``) is a thin layer over the
same functions (:mod:`analysis.cli`), and so are the notebooks in ``notebooks/``. ``docs/ARCHITECTURE.md`` maps the
stages to their modules and lists the files each common change touches.
"""

__version__ = "0.1.0"
