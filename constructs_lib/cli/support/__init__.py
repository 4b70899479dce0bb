"""What the `gitops-base` subcommands share; no module here is a subcommand itself.

- `promotion_checks.py`: what `promote` verifies in the source environment's cluster.
- `promotion_record.py`: `--commit` (synth, then one commit with `Gitops-Base-*` trailers) and
  reading the trailers back (`history`).
- `deploy_status_token.py`: the deploy status's token that `bootstrap` writes.
"""
