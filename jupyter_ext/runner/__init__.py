"""The runner: lives on a backend, takes its jobs from the job server, runs them by the data.

It reaches out (nothing connects in), speaks only the job server's HTTP API
(`jupyter_ext.schema`), and imports nothing from `jupyter_ext.jobserver`.
"""
