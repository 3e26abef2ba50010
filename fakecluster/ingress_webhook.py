"""The ingress addon's validating admission webhook, as the API server runs it for Ingresses.

`minikube addons enable ingress` installs a ValidatingWebhookConfiguration `ingress-nginx-admission`
(webhook `validate.nginx.ingress.kubernetes.io`, failurePolicy Fail, CREATE/UPDATE of
networking.k8s.io/v1 ingresses) that calls the Service `ingress-nginx-controller-admission` on the
controller pods (kubernetes/minikube deploy/addons/ingress/ingress-deploy.yaml.tmpl). So:

- while no controller pod is ready, the Service has no endpoints, the API server's call is refused
  and, because of failurePolicy Fail, the write fails with 500 InternalError `failed calling webhook
  ...: connect: connection refused` (kubernetes/kubernetes
  staging/src/k8s.io/apiserver/pkg/util/webhook/error.go, ErrCallingWebhook; kubernetes/minikube#13799);
- once it is ready, the controller refuses an Ingress whose host and path another Ingress of its class
  already routes, in any namespace (kubernetes/ingress-nginx internal/ingress/controller/controller.go,
  checkOverlap; the answer is a 400 Status, internal/admission/controller/main.go), and the API
  server words it `admission webhook "..." denied the request: ...` (kubernetes/kubernetes
  staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/errors/statuserror.go, ToStatusErr).

Writes that leave `spec` unchanged (the status subresource, which the webhook's rules do not list)
are not sent to the webhook here.
"""

from __future__ import annotations

from collections.abc import Callable

from .addons import CONTROLLER_SELECTOR, INGRESS_CLASS, INGRESS_NAMESPACE, WEBHOOK_CONFIGURATION, WEBHOOK_NAME
from .resources import Resource
from .store import ApiError, Obj, Store

WEBHOOK_SERVICE = "ingress-nginx-controller-admission"
WEBHOOK_PATH = "/networking/v1/ingresses"

ReadyCheck = Callable[[Store, str, dict[str, str]], bool]


def _rules(ing: Obj) -> list[tuple[str, str]]:
    """(host, path) pairs an Ingress routes to a Service; "" host is the catch-all server `_`."""
    out = []
    for rule in (ing.get("spec") or {}).get("rules") or []:
        if not rule.get("http"):
            continue
        for path in rule["http"].get("paths") or []:
            if not (path.get("backend") or {}).get("service"):
                continue  # resource backends go to the default backend: not an overlap
            out.append((rule.get("host") or "_", path.get("path") or "/"))
    return out


def _of_nginx_class(ing: Obj) -> bool:
    # The addon's IngressClass is the default one: an Ingress without a class is the controller's too.
    return (ing.get("spec") or {}).get("ingressClassName") in (None, "", INGRESS_CLASS)


def ingress_webhook(store: Store, ready: ReadyCheck) -> Callable[[Resource, Obj, Obj | None], None]:
    """A Store admission hook; `ready(store, namespace, selector)` says whether a Service has endpoints."""

    def admit(res: Resource, obj: Obj, current: Obj | None) -> None:
        if res.kind != "Ingress":
            return
        if current is not None and obj.get("spec") == current.get("spec"):
            return
        configurations = store.table.by_kind("ValidatingWebhookConfiguration")
        if store.find(configurations, "", WEBHOOK_CONFIGURATION) is None or not _of_nginx_class(obj):
            return
        if not ready(store, INGRESS_NAMESPACE, CONTROLLER_SELECTOR):
            services = store.table.by_kind("Service")
            svc = store.find(services, INGRESS_NAMESPACE, WEBHOOK_SERVICE) or {}
            address = (svc.get("spec") or {}).get("clusterIP", "10.96.0.100")
            raise ApiError(
                500,
                "InternalError",
                (
                    f'Internal error occurred: failed calling webhook "{WEBHOOK_NAME}": failed to call webhook: '
                    f'Post "https://{WEBHOOK_SERVICE}.{INGRESS_NAMESPACE}.svc:443{WEBHOOK_PATH}?timeout=10s": '
                    f"dial tcp {address}:443: connect: connection refused"
                ),
            )
        meta = obj.get("metadata") or {}
        mine = set(_rules(obj))
        for other in store.list(res):
            other_meta = other["metadata"]
            if (other_meta.get("namespace"), other_meta.get("name")) == (meta.get("namespace"), meta.get("name")):
                continue
            if not _of_nginx_class(other):
                continue
            for host, path in _rules(other):
                if (host, path) in mine:
                    raise ApiError(
                        400,
                        "BadRequest",
                        (
                            f'admission webhook "{WEBHOOK_NAME}" denied the request: host "{host}" and path '
                            f'"{path}" is already defined in ingress {other_meta["namespace"]}/{other_meta["name"]}'
                        ),
                    )

    return admit
