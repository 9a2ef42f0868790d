"""Benchmarks of the running stack (gunicorn + nginx + PostgreSQL) against its own ceilings.

`make bench` (or `python -m bench`) runs every workload; `python -m bench.<workload> --quick`
runs one with small sizes. docs/performance.md explains the workloads and holds the results.
"""
