"""What the `gitops-base` subcommands share; no module here is a subcommand itself.

- `common.py`: the checkout a command works on, exit codes, one-line problems.
- `synth_run.py`: the checkout's app.py run as `make synth` runs it (synth, diff, --commit).
- `config_edit.py`: comment-preserving text edits of `config/app-config.yaml`.
- `config_file.py`: reading, checking and writing back the config (set-image, promote).
- `generate_merge.py`: how `generate` combines a payload with what the config already says.
- `environment.py`: an environment's settings and rendered files (bootstrap, status, wait,
  promote's checks).
- `kube.py`: the cluster as bootstrap, status, wait and promote's checks see it (lightkube,
  imported only there).
- `applications.py`: Argo CD's Applications as bootstrap, status and wait show them.
- `promotion_checks.py`: what `promote` verifies in the source environment's cluster.
- `promotion_record.py`: `--commit` (synth, then one commit with `Gitops-Base-*` trailers) and
  reading the trailers back (`history`).
- `deploy_status_token.py`: the deploy status's token that `bootstrap` writes.
"""
