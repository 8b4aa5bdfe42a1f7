"""Benchmarks: what the generic interpreter costs against hand-written Temporal workflows.

Run `python -m bench --help` from the repository root; see bench/README.md.
"""
