#!/usr/bin/env bash
# Installs what the real-daemon test suites (JUnit tag "containerd") need:
#  - from the machine's own Debian release: containerd, runc, docker-registry,
#    apache2-utils (htpasswd), openssl, ca-certificates;
#  - two more containerd builds, downloaded as .deb files from the next Debian
#    release (trixie, containerd 1.7.x) and from unstable (sid, containerd 2.x,
#    whatever it carries today) through a private apt configuration, and
#    unpacked with dpkg-deb -x under ${RP_LAB_DIR:-/var/cache/registry-policy-lab}.
#
# Layout afterwards (one directory per containerd build, found by LabEnvironment):
#   $RP_LAB_DIR/containerd-<upstream version>/usr/bin/containerd
#   $RP_LAB_DIR/debs/*.deb            cached downloads (re-runs reuse them)
#   $RP_LAB_DIR/apt/                  private apt lists, cache and sources.list
#
# The system's apt sources are never modified and no daemon is started.
# Safe to run again: downloads and extractions are skipped when up to date.
set -euo pipefail

LAB_DIR="${RP_LAB_DIR:-/var/cache/registry-policy-lab}"
APT_DIR="$LAB_DIR/apt"
DEB_DIR="$LAB_DIR/debs"
MARKER=".registry-policy-lab"   # marks directories this script owns

log() { printf '[install-daemons] %s\n' "$*" >&2; }
die() { printf '[install-daemons] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get install, dpkg-deb)"
for tool in apt-get apt-cache apt-config dpkg-deb dpkg; do
  command -v "$tool" >/dev/null 2>&1 || die "required tool '$tool' not found"
done

export DEBIAN_FRONTEND=noninteractive

# --- 1. packages from the machine's own release -------------------------------
# A policy-rc.d that denies every start keeps maintainer scripts from starting
# containerd or the registry on machines that run an init system. It is only
# created (and later removed) if none exists already.
POLICY_RC=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
  if [ "$created_policy" -eq 1 ]; then rm -f "$POLICY_RC"; fi
}
trap cleanup EXIT
if [ ! -e "$POLICY_RC" ]; then
  printf '#!/bin/sh\n# temporary: registry-policy .ci/install-daemons.sh\nexit 101\n' > "$POLICY_RC"
  chmod 0755 "$POLICY_RC"
  created_policy=1
fi

log "apt-get update (system sources)"
apt-get update -q >&2
log "apt-get install containerd runc docker-registry apache2-utils openssl ca-certificates"
apt-get install -y -q --no-install-recommends \
  containerd runc docker-registry apache2-utils openssl ca-certificates >&2

if [ "$created_policy" -eq 1 ]; then rm -f "$POLICY_RC"; created_policy=0; fi

for bin in /usr/bin/containerd /usr/bin/docker-registry /usr/bin/htpasswd /usr/bin/openssl; do
  [ -x "$bin" ] || die "$bin missing after apt-get install"
done

# --- 2. archive URI of the machine's own Debian sources -----------------------
# Asked from apt itself so both the one-line and the deb822 formats work; the
# entry for the release named in /etc/os-release is preferred.
codename="$( . /etc/os-release && printf '%s' "${VERSION_CODENAME:-}" )"
archive_uri=""
targets="$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 2>/dev/null | sort -u || true)"
if [ -n "$codename" ]; then
  archive_uri="$(printf '%s\n' "$targets" | awk -v c="$codename" '$2 == c && $3 == "main" { print $1; exit }')"
fi
if [ -z "$archive_uri" ]; then
  # Fallback: read the source files directly.
  archive_uri="$(
    {
      grep -hE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | sed -E 's/\[[^]]*\]//' | awk '{ print $2 }'
      grep -hiE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{ print $2 }'
    } | grep -vE -- '-security/?$' | grep -E '/debian/?$' | head -n1
  )"
fi
[ -n "$archive_uri" ] || die "could not find the Debian archive URI in the machine's apt sources"
archive_uri="${archive_uri%/}"
log "archive URI from the machine's apt sources: $archive_uri"

# --- 3. private apt configuration for trixie + sid ----------------------------
ARCH="$(dpkg --print-architecture)"
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$DEB_DIR"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || die "$keyring missing (package debian-archive-keyring)"
cat > "$APT_DIR/sources.list" <<EOF
deb [signed-by=$keyring] $archive_uri trixie main
deb [signed-by=$keyring] $archive_uri sid main
EOF
APT_OPTS=(
  -o "Dir::Etc::SourceList=$APT_DIR/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$APT_DIR/lists"
  -o "Dir::Cache=$APT_DIR/cache"
  -o "Dir::Cache::pkgcache="
  -o "Dir::Cache::srcpkgcache="
  -o "Dir::Etc::Preferences=/dev/null"
  -o "Dir::Etc::PreferencesParts=/dev/null"
  -o "APT::Architecture=$ARCH"
)
log "apt-get update (private trixie + sid lists)"
apt-get "${APT_OPTS[@]}" update -q >&2

# Version of containerd that a suite carries, from "apt-cache madison".
suite_version() {
  apt-cache "${APT_OPTS[@]}" madison containerd \
    | awk -F'|' -v s="$1" '{ gsub(/ /, "", $2); if ($3 ~ (" " s "/main ")) { print $2; exit } }'
}
# Upstream part of a Debian version: 1.7.24~ds1-6+deb13u1 -> 1.7.24, 2:1.2+ds-1 -> 1.2
upstream_of() {
  local v="${1#*:}"
  v="${v%-*}"
  v="${v%%~*}"
  v="${v%%+*}"
  printf '%s' "$v"
}

# Cache file name of a downloaded .deb (epoch dropped).
deb_name() { printf 'containerd_%s_%s.deb' "${1#*:}" "$ARCH"; }

# Checks that <dir>/usr/bin/containerd runs here and reports version <want>.
check_build() {
  local dir="$1" want="$2" out
  [ -x "$dir/usr/bin/containerd" ] || die "$dir/usr/bin/containerd missing"
  out="$("$dir/usr/bin/containerd" --version 2>&1)" || die "$dir/usr/bin/containerd --version failed: $out"
  case "$out" in
    *"$want"*) ;;
    *) die "$dir/usr/bin/containerd reports '$out', expected version $want" ;;
  esac
  printf '%s\n' "$out"
}

declare -a keep_dirs=()
declare -a found=()

fetch_suite() {
  local suite="$1" debver up deb dir
  debver="$(suite_version "$suite")"
  [ -n "$debver" ] || die "no containerd in $suite main"
  up="$(upstream_of "$debver")"
  deb="$DEB_DIR/$(deb_name "$debver")"
  if [ ! -s "$deb" ]; then
    log "downloading containerd $debver from $suite"
    rm -rf "$DEB_DIR/partial"
    mkdir -p "$DEB_DIR/partial"
    ( cd "$DEB_DIR/partial" && apt-get "${APT_OPTS[@]}" -o APT::Sandbox::User=root download -q "containerd=$debver" >&2 )
    mv "$(ls "$DEB_DIR"/partial/*.deb | head -n1)" "$deb"
    rm -rf "$DEB_DIR/partial"
  else
    log "cached: $deb"
  fi
  [ -f "$deb" ] || die "download of containerd $debver failed"
  dpkg-deb --info "$deb" >/dev/null || die "$deb is not a valid .deb"
  dir="$LAB_DIR/containerd-$up"
  if [ ! -f "$dir/$MARKER" ] || [ "$(cat "$dir/$MARKER")" != "deb $debver" ] || [ ! -x "$dir/usr/bin/containerd" ]; then
    log "extracting $(basename "$deb") into $dir"
    rm -rf "$dir.tmp"
    mkdir -p "$dir.tmp"
    dpkg-deb -x "$deb" "$dir.tmp"
    printf 'deb %s\n' "$debver" > "$dir.tmp/$MARKER"
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
  fi
  check_build "$dir" "$up" >/dev/null
  keep_dirs+=("$dir")
  found+=("$suite: containerd $debver -> $dir ($("$dir/usr/bin/containerd" --version))")
}

# --- 4. the system build, made discoverable the same way ----------------------
sys_debver="$(dpkg-query -W -f='${Version}' containerd)"
sys_up="$(upstream_of "$sys_debver")"
sys_dir="$LAB_DIR/containerd-$sys_up"
if [ ! -f "$sys_dir/$MARKER" ] || [ "$(cat "$sys_dir/$MARKER")" != "system $sys_debver" ]; then
  rm -rf "$sys_dir"
  mkdir -p "$sys_dir/usr/bin"
  ln -s /usr/bin/containerd "$sys_dir/usr/bin/containerd"
  printf 'system %s\n' "$sys_debver" > "$sys_dir/$MARKER"
fi
check_build "$sys_dir" "$sys_up" >/dev/null
keep_dirs+=("$sys_dir")
found+=("${codename:-system}: containerd $sys_debver -> $sys_dir ($(/usr/bin/containerd --version))")

fetch_suite trixie
fetch_suite sid

# --- 5. drop builds this script made earlier that are no longer current -------
for d in "$LAB_DIR"/containerd-*; do
  [ -d "$d" ] || continue
  [ -f "$d/$MARKER" ] || continue
  keep=0
  for k in "${keep_dirs[@]}"; do [ "$d" = "$k" ] && keep=1; done
  if [ "$keep" -eq 0 ]; then
    log "removing outdated build $d"
    rm -rf "$d"
  fi
done
# Keep only the .deb files of the current builds.
for f in "$DEB_DIR"/*.deb; do
  [ -e "$f" ] || continue
  used=0
  for k in "${keep_dirs[@]}"; do
    v="$(sed -n 's/^deb //p' "$k/$MARKER")"
    if [ -n "$v" ] && [ "$(basename "$f")" = "$(deb_name "$v")" ]; then used=1; fi
  done
  [ "$used" -eq 1 ] || { log "removing outdated $(basename "$f")"; rm -f "$f"; }
done

# --- 6. report -----------------------------------------------------------------
command -v docker-registry >/dev/null || die "docker-registry not on PATH"
command -v htpasswd >/dev/null || die "htpasswd not on PATH"
command -v openssl >/dev/null || die "openssl not on PATH"
echo "containerd builds under $LAB_DIR:"
for line in "${found[@]}"; do echo "  $line"; done
echo "docker-registry: $(dpkg-query -W -f='${Version}' docker-registry)"
echo "htpasswd: $(dpkg-query -W -f='${Version}' apache2-utils)"
echo "openssl: $(openssl version)"
