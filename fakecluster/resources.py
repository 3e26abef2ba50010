"""The resource kinds the fake API server serves, and the discovery documents built from them."""

from __future__ import annotations

from dataclasses import dataclass, field

KUBERNETES_VERSION = {
    "major": "1",
    "minor": "35",
    "gitVersion": "v1.35.0",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-12-17T00:00:00Z",
    "goVersion": "go1.25.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def version_document(git_version: str) -> dict[str, str]:
    """`GET /version` for a server of `git_version` (e.g. v1.28.3, minikube v1.32's default Kubernetes:
    kubernetes/minikube pkg/minikube/constants/constants.go, DefaultKubernetesVersion). The fields are
    those of kubernetes/kubernetes staging/src/k8s.io/apimachinery/pkg/version/types.go (Info)."""
    major, minor = git_version.lstrip("v").split(".")[:2]
    return {**KUBERNETES_VERSION, "major": major, "minor": minor, "gitVersion": git_version}


VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Resource:
    """One API resource: where it lives in the URL space and what its objects are called."""

    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


RESOURCES: tuple[Resource, ...] = (
    Resource(
        "", "v1", "namespaces", "Namespace", namespaced=False, short_names=("ns",), subresources=("status", "finalize")
    ),
    Resource("", "v1", "nodes", "Node", namespaced=False, short_names=("no",), subresources=("status",)),
    Resource("", "v1", "secrets", "Secret"),
    Resource("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    Resource("", "v1", "services", "Service", short_names=("svc",), subresources=("status",), categories=("all",)),
    Resource("", "v1", "endpoints", "Endpoints", short_names=("ep",)),
    Resource(
        "",
        "v1",
        "pods",
        "Pod",
        short_names=("po",),
        subresources=("status", "log", "binding", "portforward", "exec", "attach"),
        categories=("all",),
    ),
    Resource("", "v1", "events", "Event", short_names=("ev",)),
    Resource("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",)),
    Resource(
        "", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short_names=("pvc",), subresources=("status",)
    ),
    Resource("", "v1", "resourcequotas", "ResourceQuota", short_names=("quota",), subresources=("status",)),
    Resource("", "v1", "limitranges", "LimitRange", short_names=("limits",)),
    Resource(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        short_names=("deploy",),
        subresources=("status", "scale"),
        categories=("all",),
    ),
    Resource(
        "apps",
        "v1",
        "replicasets",
        "ReplicaSet",
        short_names=("rs",),
        subresources=("status", "scale"),
        categories=("all",),
    ),
    Resource(
        "apps",
        "v1",
        "statefulsets",
        "StatefulSet",
        short_names=("sts",),
        subresources=("status", "scale"),
        categories=("all",),
    ),
    Resource(
        "apps", "v1", "daemonsets", "DaemonSet", short_names=("ds",), subresources=("status",), categories=("all",)
    ),
    Resource("batch", "v1", "jobs", "Job", subresources=("status",), categories=("all",)),
    Resource("networking.k8s.io", "v1", "ingresses", "Ingress", short_names=("ing",), subresources=("status",)),
    Resource("networking.k8s.io", "v1", "ingressclasses", "IngressClass", namespaced=False),
    Resource("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short_names=("netpol",)),
    Resource(
        "policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short_names=("pdb",), subresources=("status",)
    ),
    Resource(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        short_names=("hpa",),
        subresources=("status",),
        categories=("all",),
    ),
    Resource(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        namespaced=False,
    ),
    Resource("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    Resource("events.k8s.io", "v1", "events", "Event", short_names=("ev",)),
    # coordination.k8s.io/v1 Lease (kubernetes/kubernetes staging/src/k8s.io/api/coordination/v1/types.go):
    # a plain object whose spec (holderIdentity, leaseDurationSeconds, acquireTime, renewTime,
    # leaseTransitions) is all clients' business; no status subresource. Mutual exclusion comes from the
    # generic optimistic concurrency: a PUT carrying a stale resourceVersion is a 409 Conflict, which
    # client-go's LeaseLock.Update (tools/leaderelection/resourcelock/leaselock.go) relies on.
    Resource("coordination.k8s.io", "v1", "leases", "Lease"),
)


@dataclass
class ResourceTable:
    resources: tuple[Resource, ...] = RESOURCES
    _by_path: dict[tuple[str, str, str], Resource] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_path = {(r.group, r.version, r.plural): r for r in self.resources}

    def find(self, group: str, version: str, plural: str) -> Resource | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, kind: str, group: str | None = None) -> Resource:
        for res in self.resources:
            if res.kind == kind and (group is None or res.group == group):
                return res
        raise KeyError(kind)

    def groups(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for res in self.resources:
            if res.group:
                versions = found.setdefault(res.group, [])
                if res.version not in versions:
                    versions.append(res.version)
        return found

    # Discovery documents (legacy, unaggregated JSON: every client falls back to these).
    def core_versions(self, server_address: str) -> dict:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        }

    def group_list(self) -> dict:
        groups = []
        for name, versions in self.groups().items():
            gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
            groups.append({"name": name, "versions": gvs, "preferredVersion": gvs[0]})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def group(self, name: str) -> dict | None:
        versions = self.groups().get(name)
        if not versions:
            return None
        gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": gvs, "preferredVersion": gvs[0]}

    def resource_list(self, group: str, version: str) -> dict | None:
        entries = []
        for res in self.resources:
            if res.group != group or res.version != version:
                continue
            entry = {
                "name": res.plural,
                "singularName": res.singular,
                "namespaced": res.namespaced,
                "kind": res.kind,
                "verbs": VERBS,
            }
            if res.short_names:
                entry["shortNames"] = list(res.short_names)
            if res.categories:
                entry["categories"] = list(res.categories)
            entries.append(entry)
            for sub in res.subresources:
                sub_kind = {
                    "log": "Pod",
                    "scale": "Scale",
                    "portforward": "PodPortForwardOptions",
                    "exec": "PodExecOptions",
                    "attach": "PodAttachOptions",
                    "binding": "Binding",
                }.get(sub, res.kind)
                sub_verbs = {
                    "log": ["get"],
                    "portforward": ["create", "get"],
                    "exec": ["create", "get"],
                    "attach": ["create", "get"],
                    "binding": ["create"],
                    "finalize": ["update"],
                }.get(sub, ["get", "patch", "update"])
                entries.append(
                    {
                        "name": f"{res.plural}/{sub}",
                        "singularName": "",
                        "namespaced": res.namespaced,
                        "kind": sub_kind,
                        "verbs": sub_verbs,
                    }
                )
        if not entries:
            return None
        group_version = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries}


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_v3_index(table: ResourceTable) -> dict:
    """`/openapi/v3`: where each group-version's document lives."""
    gvs = {(r.group, r.version) for r in table.resources}
    return {
        "paths": {
            _gv_path(g, v): {"serverRelativeURL": f"/openapi/v3/{_gv_path(g, v)}?hash=fake{len(gvs)}"}
            for g, v in sorted(gvs)
        }
    }


def openapi_v3_document(table: ResourceTable, gv_path: str) -> dict | None:
    """A minimal OpenAPI v3 document per group-version: enough for clients to learn that PATCH takes
    `fieldValidation` (so kubectl and helm leave validation to the server instead of downloading
    the v2 schema), with no object schemas."""
    paths: dict = {}
    for res in table.resources:
        if _gv_path(res.group, res.version) != gv_path:
            continue
        gvk = {"group": res.group, "version": res.version, "kind": res.kind}
        base = f"/{gv_path}/namespaces/{{namespace}}/{res.plural}" if res.namespaced else f"/{gv_path}/{res.plural}"
        operation = {
            "x-kubernetes-group-version-kind": gvk,
            "x-kubernetes-action": "patch",
            "parameters": [
                {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
            ],
            "responses": {"200": {"description": "OK"}},
        }
        post = {**operation, "x-kubernetes-action": "post"}
        paths[f"{base}/{{name}}"] = {"patch": operation}
        paths[base] = {"post": post}
    if not paths:
        return None
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": {}},
    }
