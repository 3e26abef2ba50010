#!/usr/bin/env bash
# The baseline `invoke up` is compared with: what a typical hand-written deploy script does.
#
#   bench/baseline.sh ROOT NAMESPACE
#
# Sequential plain `docker build` of both Dockerfiles (fixed tag, engine layer cache as usual),
# always `minikube image load`, the Secret from literals (create --dry-run | apply), always
# `helm upgrade --install --wait`, then `kubectl rollout status` for both Deployments.
# The tag is a fixed `baseline` instead of `latest` only because the chart's schema refuses
# `latest`; it behaves the same way (the same tag for every build).
# Its DATABASE_URL names an external database (as the benchmark gives `invoke up` one), so the
# chart's own PostgreSQL is off (database.enabled=false).
# The Secret values are throwaway placeholders, not secrets. Run with PATH/KUBECONFIG pointing at
# the cluster (bench/up.py passes the fake cluster's environment).
set -euo pipefail

ROOT=${1:?usage: baseline.sh ROOT NAMESPACE}
NAMESPACE=${2:?usage: baseline.sh ROOT NAMESPACE}
RELEASE=todo-app
TAG=baseline
DOCKER=${DOCKER:-/usr/bin/docker}

cd "$ROOT"
"$DOCKER" build -q -t "todo-backend:$TAG" -f docker/backend.Dockerfile app/backend >/dev/null
"$DOCKER" build -q -t "todo-frontend:$TAG" -f docker/frontend.Dockerfile app/frontend >/dev/null

minikube image load "todo-backend:$TAG"
minikube image load "todo-frontend:$TAG"

kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n "$NAMESPACE" create secret generic todo-app-secrets \
  --from-literal=COHERE_API_KEY=baseline-placeholder-cohere \
  --from-literal=DATABASE_URL=postgresql://todo:placeholder@db.example.invalid:5432/todo \
  --from-literal=JWT_SECRET=baseline-placeholder-jwt-0123456789abcdef0123456789 \
  --dry-run=client -o yaml | kubectl apply -f - >/dev/null

helm upgrade --install "$RELEASE" charts/todo-app --namespace "$NAMESPACE" --wait --timeout 300s \
  --set secrets.existingSecret=todo-app-secrets --set secrets.version=baseline \
  --set database.enabled=false --set ingress.host="$RELEASE.baseline.local" \
  --set backend.image.tag="$TAG" --set frontend.image.tag="$TAG" >/dev/null

kubectl -n "$NAMESPACE" rollout status deployment/todo-app-backend --timeout=300s >/dev/null
kubectl -n "$NAMESPACE" rollout status deployment/todo-app-frontend --timeout=300s >/dev/null
