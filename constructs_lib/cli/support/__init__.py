"""What the `gitops-base` subcommands share; no module here is a subcommand itself.

- `common.py`: the checkout a command works on, exit codes, one-line problems, the synth run.
- `config_edit.py`: comment-preserving text edits of `config/app-config.yaml`.
- `config_file.py`: reading, checking and writing back the config (set-image, promote).
- `generate_merge.py`: how `generate` combines a payload with what the config already says.
- `environment.py`: an environment's settings and rendered files (bootstrap, status).
- `kube.py`: the cluster as bootstrap and status see it (lightkube, imported only there).
- `applications.py`: Argo CD's Applications as bootstrap and status show them.
"""
