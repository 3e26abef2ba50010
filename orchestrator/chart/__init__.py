"""The Helm chart's checks: the project's own policy rules and the validation tools around them.

policy  the project's rules over rendered manifests (each with an id, a message and a fix)
tools   helm lint, kubernetes-validate, the policy, checkov and hadolint: `invoke validate`
"""
