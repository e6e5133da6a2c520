"""``videogen3d report``: gather the runs of a trial grid into one table, one figure and one W&B table.

    videogen3d report logs/multiruns/<date>_<time>            # a multirun folder
    videogen3d report logs/A-1/runs/<run> logs/A-5/runs/<run> # or run folders

Writes ``report.md``, ``report.csv``, ``report.json``, ``score.png`` (score per trial, lower is better,
grouped by family), ``history.png`` (validation score per epoch, one line per run) and
``contact_sheet.png`` (condition, generated, target per trial) to ``--out``; ``notebooks/trial_grid.ipynb``
reads them back (``report.build.load_report``).
Every run is a row: failed, stopped and incomplete runs are listed with their status and error.
The work is in ``report.build`` (imported on use, so ``videogen3d --help`` stays instant).
"""
