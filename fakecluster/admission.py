"""What the real API server does to an object between the request and storage, beyond storing it:
registry strategies (fields the server sets on create) and the ServiceAccount admission plugin.

Each function is a Store admission hook: (resource, new object, current object or None) -> None,
mutating the new object in place or raising ApiError.
"""

from __future__ import annotations

import asyncio
import random
import string
from decimal import Decimal, InvalidOperation
from typing import Any

from .resources import Resource
from .store import ApiError, Obj, Store

DEFAULT_SERVICE_ACCOUNT = "default"
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
# The admission plugin looks the default ServiceAccount up this many times, 100-200 ms apart, before
# refusing the pod (plugin/pkg/admission/serviceaccount/admission.go, getServiceAccount).
DEFAULT_SA_ATTEMPTS = 10

_SUFFIXES = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}


def quantity(value: Any) -> Decimal:
    """A resource.Quantity ("100m", "128Mi", "1e3", 2) as a number."""
    text = str(value).strip()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if suffix and text.endswith(suffix):
            number, scale = text[: -len(suffix)], _SUFFIXES[suffix]
            break
    else:
        number, scale = text, Decimal(1)
    try:
        return Decimal(number) * scale
    except InvalidOperation:
        return Decimal(0)


def qos_class(pod: Obj) -> str:
    """The pod's QoS class, as kubernetes/kubernetes pkg/apis/core/helper/qos/qos.go (GetPodQOS) decides
    it: cpu and memory only, init containers included; requests default to limits
    (pkg/apis/core/v1/defaults.go)."""
    spec = pod.get("spec") or {}
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        resources = container.get("resources") or {}
        own_limits = {k: quantity(v) for k, v in (resources.get("limits") or {}).items() if k in ("cpu", "memory")}
        own_requests = {k: quantity(v) for k, v in (resources.get("requests") or {}).items() if k in ("cpu", "memory")}
        own_requests = {**own_limits, **own_requests}
        for name, amount in own_requests.items():
            if amount != 0:
                requests[name] = requests.get(name, Decimal(0)) + amount
        for name, amount in own_limits.items():
            if amount != 0:
                limits[name] = limits.get(name, Decimal(0)) + amount
        if not {"cpu", "memory"} <= {k for k, v in own_limits.items() if v != 0}:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and requests == limits:
        return "Guaranteed"
    return "Burstable"


def _probe_defaults(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)):
        probe.setdefault(key, value)
    if isinstance(probe.get("httpGet"), dict):
        probe["httpGet"].setdefault("scheme", "HTTP")


def _container_defaults(container: Obj) -> None:
    image = str(container.get("image", ""))
    last = image.rsplit("/", 1)[-1]
    untagged_or_latest = "@" not in image and (":" not in last or last.endswith(":latest"))
    container.setdefault("imagePullPolicy", "Always" if untagged_or_latest else "IfNotPresent")
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for env in container.get("env") or []:
        field_ref = (env.get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe_defaults(container.get(probe))


def pod_defaults(res: Resource, obj: Obj, current: Obj | None) -> None:
    """The defaults a created Pod comes back with: the v1 defaulting functions
    (kubernetes/kubernetes pkg/apis/core/v1/defaults.go: SetDefaults_PodSpec, _Container, _Probe,
    _ContainerPort, volume defaultMode 420), DefaultTolerationSeconds admission
    (plugin/pkg/admission/defaulttolerationseconds/admission.go: not-ready and unreachable, 300 s) and
    Priority admission (plugin/pkg/admission/priority/admission.go: priority 0, PreemptLowerPriority)."""
    if res.kind != "Pod" or res.group or current is not None:
        return
    spec = obj.setdefault("spec", {})
    for key, value in (
        ("restartPolicy", "Always"),
        ("terminationGracePeriodSeconds", 30),
        ("dnsPolicy", "ClusterFirst"),
        ("securityContext", {}),
        ("schedulerName", "default-scheduler"),
        ("enableServiceLinks", True),
        ("priority", 0),
        ("preemptionPolicy", "PreemptLowerPriority"),
    ):
        spec.setdefault(key, value)
    for field in ("initContainers", "containers"):
        for container in spec.get(field) or []:
            _container_defaults(container)
    for volume in spec.get("volumes") or []:
        for source in ("secret", "configMap"):
            if isinstance(volume.get(source), dict):
                volume[source].setdefault("defaultMode", 420)
    tolerations = spec.setdefault("tolerations", [])
    for taint in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == taint and t.get("effect") in (None, "", "NoExecute") for t in tolerations):
            tolerations.append({"key": taint, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})


def pod_status_on_create(res: Resource, obj: Obj, current: Obj | None) -> None:
    """A new Pod's status is the server's, whatever the client sent: Pending with its QoS class
    (kubernetes/kubernetes pkg/registry/core/pod/strategy.go, PrepareForCreate)."""
    if res.kind != "Pod" or res.group or current is not None:
        return
    obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj)}


def service_status(res: Resource, obj: Obj, current: Obj | None) -> None:
    """The Service defaults the server adds (traffic policies, ipFamilyPolicy), and: a Service always has `status.loadBalancer` (an empty struct without omitempty), reset on create
    (kubernetes/kubernetes pkg/registry/core/service/strategy.go, PrepareForCreate;
    staging/src/k8s.io/api/core/v1/types.go, ServiceStatus)."""
    if res.kind != "Service" or res.group:
        return
    spec = obj.setdefault("spec", {})
    # kubernetes/kubernetes pkg/apis/core/v1/defaults.go (SetDefaults_Service) and
    # pkg/registry/core/service/storage/alloc.go (a single-stack cluster defaults ipFamilyPolicy).
    if spec.get("type", "ClusterIP") != "ExternalName":
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if current is None:
        obj["status"] = {"loadBalancer": {}}
    else:
        status = obj.get("status")
        obj["status"] = status if isinstance(status, dict) else {}
        obj["status"].setdefault("loadBalancer", {})


def _forbidden(obj: Obj, reason: str) -> ApiError:
    """admission.NewForbidden: before name generation, a generateName pod is named by its prefix
    (staging/src/k8s.io/apiserver/pkg/admission/errors.go, extractResourceName)."""
    meta = obj.get("metadata") or {}
    name, prefix = meta.get("name", ""), meta.get("generateName", "")
    shown = prefix if prefix and name.startswith(prefix) and len(name) == len(prefix) + 5 else name
    return ApiError(403, "Forbidden", f'pods "{shown}" is forbidden: {reason}', {"name": shown, "kind": "pods"})


def _should_automount(service_account: Obj, spec: Obj) -> bool:
    if spec.get("automountServiceAccountToken") is not None:
        return bool(spec["automountServiceAccountToken"])
    if service_account.get("automountServiceAccountToken") is not None:
        return bool(service_account["automountServiceAccountToken"])
    return True


def _token_volume(name: str) -> Obj:
    """The projected `kube-api-access-*` volume the plugin adds (TokenVolumeSource in admission.go)."""
    return {
        "name": name,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": ROOT_CA_CONFIGMAP, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {
                    "downwardAPI": {
                        "items": [
                            {"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}
                        ]
                    }
                },
            ],
        },
    }


def _mount_token(spec: Obj) -> None:
    volumes = spec.setdefault("volumes", [])
    existing = next(
        (v["name"] for v in volumes if v.get("name", "").startswith("kube-api-access-") and "projected" in v), None
    )
    name = existing or "kube-api-access-" + "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
    needed = False
    for field in ("initContainers", "containers"):
        for container in spec.get(field) or []:
            mounts = container.setdefault("volumeMounts", [])
            if any(m.get("mountPath") == TOKEN_MOUNT_PATH for m in mounts):
                continue
            mounts.append({"name": name, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH})
            needed = True
    if needed and existing is None:
        volumes.append(_token_volume(name))
    if not volumes:
        spec.pop("volumes")


def service_account_admission(store: Store) -> Any:
    """The ServiceAccount admission plugin on Pod create
    (kubernetes/kubernetes plugin/pkg/admission/serviceaccount/admission.go): the pod gets
    serviceAccountName "default" when it names none; a pod whose ServiceAccount does not exist yet
    is refused with 403 (in a brand-new namespace, until the service-account controller has made
    `default`); otherwise the API token volume is mounted and the account's imagePullSecrets copied."""
    accounts = store.table.by_kind("ServiceAccount")

    def admit(res: Resource, obj: Obj, current: Obj | None) -> None:
        if res.kind != "Pod" or res.group or current is not None:
            return
        meta, spec = obj.get("metadata") or {}, obj.setdefault("spec", {})
        if MIRROR_POD_ANNOTATION in (meta.get("annotations") or {}):
            return
        name = spec.get("serviceAccountName") or spec.get("serviceAccount") or DEFAULT_SERVICE_ACCOUNT
        # v1 conversion keeps the deprecated serviceAccount field equal to serviceAccountName.
        spec["serviceAccountName"] = spec["serviceAccount"] = name
        namespace = meta.get("namespace", "")
        account = store.find(accounts, namespace, name)
        if account is None:
            raise _forbidden(
                obj, f'error looking up service account {namespace}/{name}: serviceaccount "{name}" not found'
            )
        if _should_automount(account, spec):
            _mount_token(spec)
        if not spec.get("imagePullSecrets") and account.get("imagePullSecrets"):
            spec["imagePullSecrets"] = [dict(s) for s in account["imagePullSecrets"]]

    return admit


async def wait_for_service_account(store: Store, res: Resource, namespace: str, body: Obj) -> None:
    """Before refusing a pod for want of the `default` ServiceAccount, the real plugin looks it up
    again up to 10 times, 100-200 ms apart (admission.go, getServiceAccount). The store's hooks cannot
    wait, so the API handler does it here, before the create; the simulated controllers do not."""
    if res.kind != "Pod" or res.group or not isinstance(body, dict):
        return
    spec = body.get("spec") or {}
    name = spec.get("serviceAccountName") or spec.get("serviceAccount") or DEFAULT_SERVICE_ACCOUNT
    namespace = namespace or (body.get("metadata") or {}).get("namespace") or "default"
    if name != DEFAULT_SERVICE_ACCOUNT or store.find(store.table.by_kind("Namespace"), "", namespace) is None:
        return  # (a missing namespace is refused at once, before this plugin runs: NamespaceLifecycle)
    accounts = store.table.by_kind("ServiceAccount")
    for _ in range(DEFAULT_SA_ATTEMPTS - 1):
        if store.find(accounts, namespace, name) is not None:
            return
        await asyncio.sleep(random.uniform(0.1, 0.2))


def install(store: Store) -> None:
    store.admission.extend([service_account_admission(store), pod_defaults, pod_status_on_create, service_status])
