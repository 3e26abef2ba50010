"""Everything that talks to the cluster: guard, API access, targets, helm, Secrets, rollout, health.

guard         which kube context may be deployed to; the frozen one-context kubeconfig
api           the kubernetes client: retries, error mapping to exit codes, quiet logging
cluster       Cluster: the clients and names one run uses
targets       how images reach the cluster (minikube, kind, k3d, a registry)
helm          the helm CLI: upgrade, history, rollback, stuck releases
secret_store  the versioned, immutable app Secret
rollout       did the update land and is it healthy (status, hints, wait)
health        the app's /health through the URL that works
"""
