"""Experiment tooling: DVC's experiments and queue (dvc_experiments), the grid and the sweep that queues it
(grid, queue, sweep), the results table (results), the resplit study (resplit), and the Optuna search with
its parts (search, search_options, search_space, search_study, search_clone)."""
