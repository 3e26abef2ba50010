"""A fake minikube cluster for end-to-end tests: a real HTTP Kubernetes API stand-in with simulated
controllers, scripted scenarios, NodePort/ingress reachability and a fake `minikube` command.

    with FakeCluster(scenario="healthy") as cluster:
        subprocess.run(["helm", "upgrade", "--install", ...], env=cluster.env, check=True)

Command line: `python -m fakecluster --scenario NAME -- COMMAND...`
"""

from .apiserver import RecordedRequest
from .cluster import FakeCluster
from .scenarios import Scenario, Timings

__all__ = ["FakeCluster", "RecordedRequest", "Scenario", "Timings"]
