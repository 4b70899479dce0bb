"""What the Makefile runs beside the `gitops-base` command; nothing in the package imports it.

- `schema.py`: `make schema`, the JSON Schemas and the reference pages generated from the model.
- `secret_scan.py`: `make secrets`, detect-secrets over every line of every file.
"""
