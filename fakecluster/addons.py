"""What `minikube addons enable ingress` installs into the cluster (the objects only)."""

from __future__ import annotations

from .store import Obj

INGRESS_NAMESPACE = "ingress-nginx"
INGRESS_IMAGE = "registry.k8s.io/ingress-nginx/controller:v1.13.2"


def ingress_objects() -> list[tuple[str, str, Obj]]:
    """(kind, namespace, object) in creation order."""
    labels = {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": "ingress-nginx",
              "app.kubernetes.io/component": "controller"}
    return [
        ("Namespace", "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": INGRESS_NAMESPACE, "labels": {"app.kubernetes.io/name": "ingress-nginx"}}}),
        ("IngressClass", "", {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {
            "name": "nginx", "labels": labels,
            "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
            "spec": {"controller": "k8s.io/ingress-nginx"}}),
        ("Deployment", INGRESS_NAMESPACE, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
            "name": "ingress-nginx-controller", "namespace": INGRESS_NAMESPACE, "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "controller", "image": INGRESS_IMAGE,
                                         "imagePullPolicy": "IfNotPresent",
                                         "ports": [{"name": "http", "containerPort": 80, "hostPort": 80}]}]}}}}),
    ]
