"""The job server: who may do what, which workspaces exist, which jobs were asked for."""
