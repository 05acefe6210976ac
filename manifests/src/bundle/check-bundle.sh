#!/usr/bin/env bash
# Checks the air-gapped bundle the build just wrote (run by the manifests module at verify):
# it unpacks to what INSTALL.md describes, each image archive is an OCI layout naming the image
# the manifests run, and, where kubectl is installed, the pre-rendered registry-policy.yaml is
# exactly what `kubectl kustomize manifests/` renders from the bundled directory.
#
# usage: check-bundle.sh BUNDLE.tar.gz ROOT-DIRECTORY PROJECT-VERSION
set -euo pipefail

bundle=$1
root_name=$2
# The images' tag: the project version without -SNAPSHOT.
tag=${3%-SNAPSHOT}

fail() {
  echo "bundle check: $bundle: $*" >&2
  exit 1
}

[ -f "$bundle" ] || fail "no such file"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One top-level directory, nothing outside it.
outside=$(tar -tzf "$bundle" | grep -v "^$root_name/" || true)
[ -z "$outside" ] || fail "entries outside $root_name/: $outside"
tar -xzf "$bundle" -C "$work"
root=$work/$root_name

# Everything INSTALL.md tells the reader to use.
for f in INSTALL.md registry-policy.yaml \
  images/registry-policy-agent-image.tar images/registry-policy-controller-image.tar \
  manifests/kustomization.yaml manifests/node-layout.yaml manifests/policy-configmap.yaml \
  manifests/examples/policy-configmap.yaml manifests/node-layouts/apply/kustomization.yaml \
  manifests/node-layouts/k3s/kustomization.yaml manifests/node-layouts/rke2/kustomization.yaml \
  manifests/uninstall-cleanup.yaml manifests/README.md; do
  [ -f "$root/$f" ] || fail "$f is missing"
  case $f in
    INSTALL.md | manifests/node-layouts/* | manifests/uninstall-cleanup.yaml) ;;
    *) grep -qF "$f" "$root/INSTALL.md" || fail "INSTALL.md does not mention $f" ;;
  esac
done
for f in pom.xml src target; do
  [ ! -e "$root/manifests/$f" ] || fail "manifests/$f is build input and must not be in the bundle"
done
grep -q '\${' "$root/INSTALL.md" && fail "INSTALL.md has an unfiltered \${...}: $(grep -o '\${[^}]*}' "$root/INSTALL.md" | head -1)"

# Each image archive: an OCI image layout whose index names the image the manifests run.
for name in agent controller; do
  archive=$root/images/registry-policy-$name-image.tar
  ref=registry-policy.invalid/$name:$tag
  tar -xOf "$archive" oci-layout | grep -q '"imageLayoutVersion"' ||
    fail "images/registry-policy-$name-image.tar has no oci-layout: not an OCI image archive"
  tar -xOf "$archive" index.json | grep -qF "\"$ref\"" ||
    fail "the index.json of images/registry-policy-$name-image.tar does not name $ref"
  grep -qF "$ref" "$root/manifests/$([ $name = agent ] && echo agent-daemonset.yaml || echo controller.yaml)" ||
    fail "manifests/ do not run $ref"
done

# The pre-rendered file against kustomize's rendering of the bundled directory. kustomize
# renders both, so both come out in the same order and format.
if command -v kubectl >/dev/null 2>&1; then
  kubectl kustomize "$root/manifests" >"$work/kustomized.yaml"
  mkdir "$work/prerendered"
  cp "$root/registry-policy.yaml" "$work/prerendered/"
  printf 'resources: [registry-policy.yaml]\n' >"$work/prerendered/kustomization.yaml"
  kubectl kustomize "$work/prerendered" >"$work/prerendered.yaml"
  diff -u "$work/kustomized.yaml" "$work/prerendered.yaml" >"$work/diff" ||
    fail "registry-policy.yaml differs from kubectl kustomize manifests/: $(head -40 "$work/diff")"
  echo "bundle check: registry-policy.yaml is what kubectl kustomize manifests/ renders"
else
  echo "bundle check: SKIPPED comparing registry-policy.yaml with kubectl kustomize manifests/:" \
    "kubectl is not installed" >&2
fi
echo "bundle check: $bundle holds INSTALL.md, both OCI image archives ($tag), manifests/ and registry-policy.yaml"
