"""What to do about each reason a rollout cannot heal: one table, apart from the diagnosis.

A hint is a template filled from the `Diagnosis` fields (pod, container, image, secret, key,
requests, limits). Reasons without an entry get the generic `kubectl describe` advice.
"""

from __future__ import annotations

from orchestrator.kube.rollout.status import Diagnosis

HINTS: dict[str, str] = {
    "ErrImageNeverPull": (
        "the image {image} is not in the cluster: run `invoke up` again (it loads images); "
        "check with `minikube image ls | grep {image_name}`"
    ),
    "ErrImagePull": (
        "the node tried to pull {image} and could not: run `invoke up` again so the image is loaded, "
        "and check `minikube image ls` lists it"
    ),
    "ImagePullBackOff": (
        "the node gave up pulling {image}: run `invoke up` again so the image is loaded, "
        "and check `minikube image ls` lists it"
    ),
    "InvalidImageName": "the image reference {image} is not valid: check backend/frontend image settings",
    "CrashLoopBackOff": (
        "the container {container} exits right after start: read the log lines above or "
        "`kubectl logs {pod} -c {container} --previous`, fix the cause, then `invoke up`"
    ),
    "OOMKilled": (
        "the container {container} needs more memory than its limit ({memory_limit}): raise "
        "resources.limits.memory in the chart values, then `invoke up`"
    ),
    "CreateContainerConfigError:key": "add {key} to your .env then `invoke rotate-secrets`",
    "CreateContainerConfigError:secret": (
        "the Secret {secret} is missing: run `invoke up` (it writes the Secret) or `invoke rotate-secrets`"
    ),
    "CreateContainerConfigError": "check the pod's Secrets and ConfigMaps: `kubectl describe pod {pod}`",
    "RunContainerError": "the runtime could not start {container}: `kubectl describe pod {pod}`",
    "Unschedulable": (
        "no node has room for the pod (requests {requests}): lower resources.requests "
        "or `minikube start --cpus 4 --memory 8g`"
    ),
    "ProgressDeadlineExceeded": "the Deployment stopped progressing: `kubectl describe deployment {pod}`",
}

GENERIC = "look at `kubectl describe pod {pod}` and `kubectl get events --sort-by=.lastTimestamp`"


def _key(diagnosis: Diagnosis) -> str:
    if diagnosis.reason == "CreateContainerConfigError":
        if diagnosis.key:
            return "CreateContainerConfigError:key"
        if diagnosis.secret:
            return "CreateContainerConfigError:secret"
    return diagnosis.reason


def hint_for(diagnosis: Diagnosis) -> str:
    template = HINTS.get(_key(diagnosis), GENERIC)
    image_name = diagnosis.image.rsplit("/", 1)[-1].split(":", 1)[0] if diagnosis.image else ""
    fields = {
        "pod": diagnosis.pod,
        "container": diagnosis.container or "?",
        "image": diagnosis.image or "?",
        "image_name": image_name or "?",
        "secret": diagnosis.secret or "?",
        "key": diagnosis.key or "?",
        "requests": ", ".join(f"{k}={v}" for k, v in sorted(diagnosis.requests.items())) or "none",
        "memory_limit": diagnosis.limits.get("memory", "none"),
    }
    return template.format(**fields)
