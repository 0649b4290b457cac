"""Attacks on the site, run for real against the job server, the runner and its executors."""
