"""What `minikube addons enable ingress` installs into the cluster (the objects only), after
kubernetes/minikube deploy/addons/ingress/ingress-deploy.yaml.tmpl (abridged: no RBAC, no jobs)."""

from __future__ import annotations

from .store import Obj

INGRESS_NAMESPACE = "ingress-nginx"
INGRESS_IMAGE = "registry.k8s.io/ingress-nginx/controller:v1.13.2"
INGRESS_CLASS = "nginx"
CONTROLLER_SELECTOR = {
    "app.kubernetes.io/name": "ingress-nginx",
    "app.kubernetes.io/instance": "ingress-nginx",
    "app.kubernetes.io/component": "controller",
}
WEBHOOK_CONFIGURATION = "ingress-nginx-admission"
WEBHOOK_NAME = "validate.nginx.ingress.kubernetes.io"


def ingress_objects() -> list[tuple[str, str, Obj]]:
    """(kind, namespace, object) in creation order."""
    labels = dict(CONTROLLER_SELECTOR)
    return [
        (
            "Namespace",
            "",
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": INGRESS_NAMESPACE, "labels": {"app.kubernetes.io/name": "ingress-nginx"}},
            },
        ),
        (
            "IngressClass",
            "",
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "IngressClass",
                "metadata": {
                    "name": INGRESS_CLASS,
                    "labels": labels,
                    "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
                },
                "spec": {"controller": "k8s.io/ingress-nginx"},
            },
        ),
        (
            "Deployment",
            INGRESS_NAMESPACE,
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "ingress-nginx-controller", "namespace": INGRESS_NAMESPACE, "labels": labels},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "containers": [
                                {
                                    "name": "controller",
                                    "image": INGRESS_IMAGE,
                                    "imagePullPolicy": "IfNotPresent",
                                    "ports": [
                                        {"name": "http", "containerPort": 80, "hostPort": 80},
                                        {"name": "webhook", "containerPort": 8443},
                                    ],
                                }
                            ]
                        },
                    },
                },
            },
        ),
        (
            "Service",
            INGRESS_NAMESPACE,
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": "ingress-nginx-controller-admission",
                    "namespace": INGRESS_NAMESPACE,
                    "labels": labels,
                },
                "spec": {
                    "type": "ClusterIP",
                    "selector": dict(CONTROLLER_SELECTOR),
                    "ports": [{"name": "https-webhook", "port": 443, "targetPort": "webhook"}],
                },
            },
        ),
        (
            "ValidatingWebhookConfiguration",
            "",
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingWebhookConfiguration",
                "metadata": {
                    "name": WEBHOOK_CONFIGURATION,
                    "labels": {**labels, "app.kubernetes.io/component": "admission-webhook"},
                },
                "webhooks": [
                    {
                        "name": WEBHOOK_NAME,
                        "admissionReviewVersions": ["v1"],
                        "failurePolicy": "Fail",
                        "matchPolicy": "Equivalent",
                        "sideEffects": "None",
                        "clientConfig": {
                            "service": {
                                "name": "ingress-nginx-controller-admission",
                                "namespace": INGRESS_NAMESPACE,
                                "path": "/networking/v1/ingresses",
                            }
                        },
                        "rules": [
                            {
                                "apiGroups": ["networking.k8s.io"],
                                "apiVersions": ["v1"],
                                "operations": ["CREATE", "UPDATE"],
                                "resources": ["ingresses"],
                            }
                        ],
                    }
                ],
            },
        ),
    ]
