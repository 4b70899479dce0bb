"""What the Makefile runs beside the `gitops-base` command; nothing in the package imports it.
Each module's line is in docs/reference/architecture.md."""
