"""Typed cdk8s constructs and the config model of the GitOps base."""
