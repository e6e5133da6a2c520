"""Label-driven video synthesis (seed 003): objectives, checkpoints, outputs, the automated judge,
Table 1, and the stage chain that ``synth.py`` runs."""
