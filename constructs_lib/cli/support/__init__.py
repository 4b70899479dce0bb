"""What the `gitops-base` subcommands share; no module here is a subcommand itself. Each
module's line is in docs/reference/architecture.md."""
