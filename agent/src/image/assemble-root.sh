#!/usr/bin/env bash
# Assembles the parts of an image root that the build host provides, for an image built on an
# empty base ("scratch"): the shared libraries the jlinked runtime loads, the C.UTF-8 locale, and
# /etc/passwd, /etc/group and /etc/nsswitch.conf. Used by agent/pom.xml and controller/pom.xml
# (phase package, before Jib); see "Images" in agent/README.md.
#
#   assemble-root.sh RUNTIME ROOT HOST_LIBRARIES
#
# RUNTIME         the jlinked runtime (target/jlink-runtime); its symbolic links are replaced by
#                 copies of what they point to, so the runtime holds no link at all.
# ROOT            the directory to fill (target/image-root); emptied first.
# HOST_LIBRARIES  "true": copy the libraries and the locale from this host (an empty base image
#                 has none); "false": only /etc (a base image that has its own C library).
#
# The libraries are exactly what the dynamic linker resolves on this host for every ELF file of
# the runtime (ldd: the transitive closure of DT_NEEDED, and the ELF interpreter), copied as
# regular files to the path ldd names. The image therefore carries this host's glibc, libstdc++,
# libgcc_s and zlib: rebuilding the image on a patched host is how they are patched.
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: assemble-root.sh RUNTIME ROOT HOST_LIBRARIES(true|false)" >&2
  exit 2
fi
runtime=$1
root=$2
host_libraries=$3

fail() {
  echo "image root: $*" >&2
  exit 1
}

[ -x "$runtime/bin/java" ] || fail "$runtime/bin/java is missing: the jlink step did not produce a runtime"

# 1. No symbolic links in the runtime. jlink links legal/<module>/* to legal/java.base/*; a JDK
#    that keeps lib/security/cacerts as a link to /etc would leave a dangling link in an image.
find "$runtime" -type l | sort | while IFS= read -r link; do
  [ -e "$link" ] || fail "$link is a dangling symbolic link ($(readlink "$link")); nothing in the runtime may point outside it"
  cp -L "$link" "$link.deref" && mv -f "$link.deref" "$link"
done
left=$(find "$runtime" -type l | head -n 1)
[ -z "$left" ] || fail "$left is still a symbolic link"

rm -rf "$root"
mkdir -p "$root/etc"

# 2. Users and name lookup. root (0) runs the agent (certs.d on the node is root's);
#    nonroot (65532) runs the controller. Names are looked up in these files only.
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
nonroot:x:65532:
GROUP
# Without this file glibc's defaults apply; with it, host names come from /etc/hosts and then DNS
# (both mounted by the kubelet), users and groups from the files above.
cat > "$root/etc/nsswitch.conf" <<'NSS'
passwd: files
group: files
hosts: files dns
NSS

if [ "$host_libraries" != "true" ]; then
  exit 0
fi

command -v ldd > /dev/null 2>&1 || fail "ldd is not installed: the image's native libraries are found with ldd (glibc's libc-bin); build on a Linux host with glibc, or use a base image with -Djib.from.image=... -Dimage.hostLibraries=false"

# 3. Every ELF file of the runtime: bin/*, lib/**/*.so and helpers such as lib/jspawnhelper.
list=$(mktemp)
trap 'rm -f "$list"' EXIT
find "$runtime" -type f | sort | while IFS= read -r f; do
  case $(head -c 4 "$f" | od -An -c | tr -d " ") in
    177ELF) ;;
    *) continue ;;
  esac
  out=$(ldd "$f" 2>&1) || fail "ldd $f failed: $out"
  printf '%s\n' "$out" | while IFS= read -r line; do
    set -- $line
    case $line in
      *"statically linked"* | *"not a dynamic executable"*) ;;
      *"=> not found"*)
        # libjvm.so: loaded by the launcher before the libraries that name it, from the runtime.
        [ -n "$(find "$runtime" -name "$1" -type f)" ] \
          || fail "$f needs $1, which neither this host nor the runtime has"
        ;;
      *" => /"*) echo "$3" ;;
      *)
        case ${1:-} in
          /*) echo "$1" ;; # the ELF interpreter, e.g. /lib64/ld-linux-x86-64.so.2
          *) ;;            # linux-vdso.so.1: provided by the kernel
        esac
        ;;
    esac
  done
done | sort -u > "$list"

while IFS= read -r lib; do
  case $lib in
    "$runtime"/* | "$(cd "$runtime" && pwd -P)"/*) continue ;;  # the runtime's own libraries
  esac
  [ -f "$lib" ] || fail "ldd named $lib, which is not a file"
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done < "$list"
[ -n "$(find "$root" -name 'libc.so*' -type f)" ] || fail "no libc found by ldd for $runtime/bin/java"

# 4. The C.UTF-8 locale (LANG=C.UTF-8 in the image): with it the JVM's file names and console
#    are UTF-8 (sun.jnu.encoding); glibc 2.35+ keeps it as files, not built in.
locale=/usr/lib/locale/C.utf8
[ -d "$locale" ] || fail "$locale is missing (glibc 2.35+ ships it in libc-bin); without it the JVM in the image would read file names as ASCII"
mkdir -p "$root/usr/lib/locale"
cp -RL "$locale" "$root/usr/lib/locale/"
