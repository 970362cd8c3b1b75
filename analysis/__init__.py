"""pvfair: is the measured difference between two paravirtual I/O models real, or an artifact of the runs?

Data flows one way: ``data/raw`` -> ingest -> normalize -> audit -> compare -> model -> report.
The public API, stage by stage (each module has its own ``__all__``)::

    analysis.parsers.parse_file(path, tool=None)          raw tool output -> ParsedRun
    analysis.ingest.load_campaign(path) -> Campaign      runs, measurements, intervals, rejects
"""

__version__ = "0.1.0"
