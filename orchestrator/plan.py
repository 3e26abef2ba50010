"""`invoke up --dry-run`: what `up` would do, read from the same sources, with no side effects.

It reads (image tags from the build contexts, what the cluster has, the Secret version, the helm
history) and writes nothing: no build, no load, no Secret, no release.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.errors import OrchestratorError
from orchestrator.events import Reporter

if TYPE_CHECKING:
    from orchestrator.cluster import Cluster
    from orchestrator.config import Settings
    from orchestrator.up import UpOptions


def show_plan(settings: Settings, opts: UpOptions, cluster: Cluster, reporter: Reporter) -> dict[str, Any]:
    from orchestrator import helm as helm_mod
    from orchestrator.images import _image_attrs, connect, default_specs, plan
    from orchestrator.secrets import SecretWrite, read_secret_keys, secret_name, secret_version
    from orchestrator.up import release_values

    client = connect()
    target = cluster.image_target()
    refs: dict[str, str] = {}
    for spec in default_specs():
        p = plan(spec, client)
        refs[spec.name] = p.ref
        exists = _image_attrs(client, p.ref) is not None
        reporter.emit("plan.image", image=spec.name, ref=p.ref, action="skip" if exists else "build")
        has = getattr(target, "has_image", None)
        loaded = bool(has and has(p.ref))
        reporter.emit("plan.load", image=p.ref, action="skip" if loaded else "load")

    version = secret_version(settings.secret_values())
    name = secret_name(settings.release, version)
    try:
        present = bool(read_secret_keys(cluster.core(), settings.namespace, name))
    except OrchestratorError:
        present = False
    reporter.emit("plan.secret", name=name, action="unchanged" if present else "write")

    values = release_values(settings, refs, SecretWrite(name, version, False))
    fp = helm_mod.fingerprint(opts.chart_dir, values)
    history = cluster.helm().history()
    action = helm_mod.decide(history, fp)
    reporter.emit("plan.release", release=settings.release, action=action.value,
                  revision=history[-1].revision if history else None)
    return {"images": refs, "secret": name, "release": action.value}
