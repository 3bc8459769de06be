"""Benchmarks and studies of the project: `python -m benchmarks NAME [ARGS]` runs benchmarks/NAME.py,
`python -m benchmarks --list` lists them. What they share lives in mlkit/testing/bench.py."""
