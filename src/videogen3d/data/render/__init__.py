"""Procedural rendering of the synthetic dance datasets: skeleton motion, rasterising, styles."""
