"""Benchmarks, studies and maintenance tools of skpneumo (run with ``python -m``)."""
