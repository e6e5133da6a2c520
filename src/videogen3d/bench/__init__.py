"""Benchmarks: ``python -m videogen3d.bench <name> [options] [config overrides]``.

One module per benchmark (``loader``, ``starvation``, ``overhead``, ``step``, ``sweep``,
``synthesis``, ``translate``, ``vae``); each prints a markdown table and writes ``<out>/<name>.json`` with
the machine, the command and the figures (:mod:`videogen3d.bench.runner`).
"""

BENCHMARKS = ("loader", "starvation", "overhead", "step", "sweep", "synthesis", "translate", "vae")
