"""Scanning mounts, turning pending work into batches, and running them on an executor."""
