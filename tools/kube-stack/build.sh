#!/usr/bin/env bash
# Build kube-apiserver and kube-controller-manager once, offline, from Debian's
# `kubernetes` source package, into a cache outside the checkout:
#   ${SHIPWAY_KUBE_CACHE:-/var/cache/shipway-k8s}/bin/
# Reused when present and built from the same source and recipe (bin/BUILD_STAMP), so only
# the first run on a machine pays for the build (about 5-11 minutes on 2 cores). Binaries
# from an older recipe (a cache without that stamp or with another one) are rebuilt.
# Safe to run twice at once: the second waits for the first (flock) and reuses its work.
#
# Why from source: no cluster or release binary can be downloaded here, but Debian ships
# the full 1.20 tree with vendored dependencies, which builds with Debian's golang-go in
# GOPATH mode. etcd comes from the etcd-server package.
#
# One vendored dependency is swapped before building: Kubernetes 1.20 vendors
# github.com/modern-go/reflect2 1.0.1, which reads Go runtime internals that changed in
# Go 1.18; built with Debian's Go 1.19 the API server dies at random with
# `fatal error: fault` (SIGSEGV in aeshashbody under cacher.Watch). reflect2 1.0.2, the
# release that fixed it, comes from Debian's golang-github-modern-go-reflect2-dev.
set -euo pipefail

CACHE="${SHIPWAY_KUBE_CACHE:-/var/cache/shipway-k8s}"
SOURCE_VERSION="1.20.5+really1.20.2"   # upstream part of Debian bookworm's kubernetes
# Bump RECIPE whenever how the binaries are built changes: caches of another recipe rebuild.
# 2: github.com/modern-go/reflect2 1.0.2 from Debian instead of the vendored 1.0.1.
RECIPE=2
BUILD_STAMP="kubernetes $SOURCE_VERSION recipe $RECIPE"
BINARIES=(kube-apiserver kube-controller-manager)
APT_PACKAGES=(golang-go etcd-server dpkg-dev rsync jq openssl golang-github-modern-go-reflect2-dev)
REFLECT2_SOURCE=/usr/share/gocode/src/github.com/modern-go/reflect2
REFLECT2_VERSION=1.0.2
DEB_SRC_LIST=/etc/apt/sources.list.d/shipway-deb-src.sources

say() { printf '[kube-stack build] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

cached() {
    [ "$(cat "$CACHE/bin/BUILD_STAMP" 2>/dev/null)" = "$BUILD_STAMP" ] || return 1
    for binary in "${BINARIES[@]}"; do [ -x "$CACHE/bin/$binary" ] || return 1; done
}

if cached; then
    say "reusing $CACHE/bin ($BUILD_STAMP)"
    exit 0
fi
if [ -e "$CACHE/bin/kube-apiserver" ]; then
    say "$CACHE/bin was built by another recipe ($(cat "$CACHE/bin/BUILD_STAMP" 2>/dev/null ||
        echo "no BUILD_STAMP: vendored reflect2 1.0.1")): rebuilding as $BUILD_STAMP"
fi

if ! mkdir -p "$CACHE" 2>/dev/null || [ ! -w "$CACHE" ]; then
    as_root mkdir -p "$CACHE"
    as_root chown "$(id -u):$(id -g)" "$CACHE"
fi

exec 9>"$CACHE/build.lock"
say "waiting for the build lock $CACHE/build.lock"
flock 9
if cached; then  # another run built it while we waited
    say "reusing $CACHE/bin, built meanwhile by another run"
    exit 0
fi

# deb-src entry mirroring the configured Debian deb entries (URIs and suites read here,
# never written into the repository).
add_deb_src() {
    local sources=/etc/apt/sources.list.d/debian.sources
    [ -f "$DEB_SRC_LIST" ] && return 0
    if [ ! -f "$sources" ]; then
        say "no $sources: add a deb-src entry for Debian bookworm main yourself"
        return 0
    fi
    say "adding $DEB_SRC_LIST (from the URIs and suites of $sources)"
    awk 'BEGIN { RS = ""; ORS = "\n\n" }
         /(^|\n)Types:[^\n]*deb/ && /(^|\n)Suites:[^\n]*bookworm( |\n|$)/ && !done {
             gsub(/(^|\n)Types:[^\n]*/, "\nTypes: deb-src"); sub(/^\n/, "");
             gsub(/(^|\n)#[^\n]*/, ""); print; done = 1 }' "$sources" |
        sed -E 's/^Suites:.*/Suites: bookworm/' | as_root tee "$DEB_SRC_LIST" >/dev/null
}

missing_packages() {
    local package
    for package in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
            printf '%s ' "$package"
    done
}

source_dir="$CACHE/src/kubernetes-$SOURCE_VERSION"
if [ ! -d "$source_dir" ] || [ -n "$(missing_packages)" ]; then
    add_deb_src
    say "apt-get update"
    as_root apt-get update -qq
    packages="$(missing_packages)"
    if [ -n "$packages" ]; then
        say "installing $packages"
        # shellcheck disable=SC2086
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages
    fi
fi

if [ ! -d "$source_dir" ]; then
    mkdir -p "$CACHE/src"
    say "apt-get source kubernetes into $CACHE/src"
    (cd "$CACHE/src" && apt-get source -qq kubernetes)
    if [ ! -d "$source_dir" ]; then
        say "apt-get source did not unpack kubernetes-$SOURCE_VERSION (found: $(ls "$CACHE/src"))"
        say "update SOURCE_VERSION in $0 if Debian moved to another version"
        exit 1
    fi
fi

# The reflect2 swap (see the top of this file), checked by version before every build.
reflect2_version="$(dpkg-query -W -f='${Version}' golang-github-modern-go-reflect2-dev 2>/dev/null || true)"
case "$reflect2_version" in
    "$REFLECT2_VERSION"-*) ;;
    *)
        say "golang-github-modern-go-reflect2-dev is ${reflect2_version:-not installed}, need $REFLECT2_VERSION"
        exit 1
        ;;
esac
vendored_reflect2="$source_dir/vendor/github.com/modern-go/reflect2"
rsync -a --delete --exclude=BUILD "$REFLECT2_SOURCE/" "$vendored_reflect2/"

# Outputs in the source tree count only when built by this recipe (a tree built by an
# older one is rebuilt; Go's build cache in $CACHE/go-home keeps that incremental).
built() {
    local directory
    [ "$(cat "$source_dir/_output/BUILD_STAMP" 2>/dev/null)" = "$BUILD_STAMP" ] || return 1
    for directory in _output/bin _output/local/bin/linux/amd64; do
        if [ -x "$source_dir/$directory/kube-apiserver" ] &&
            [ -x "$source_dir/$directory/kube-controller-manager" ]; then
            printf '%s\n' "$source_dir/$directory"
            return 0
        fi
    done
    return 1
}

if ! output="$(built)"; then
    say "building ${BINARIES[*]} (GOPATH mode, offline; about 11 minutes on 2 cores)"
    started=$(date +%s)
    (
        cd "$source_dir"
        mkdir -p .go/src/k8s.io
        ln -sfn ../../.. .go/src/k8s.io/kubernetes
        mkdir -p "$CACHE/go-home"
        env GOPATH="$PWD/.go" CGO_ENABLED=0 GO111MODULE=off GOFLAGS= HOME="$CACHE/go-home" \
            make WHAT="cmd/kube-apiserver cmd/kube-controller-manager"
    ) >"$CACHE/build.log" 2>&1 || {
        say "build failed; last lines of $CACHE/build.log:"
        tail -n 40 "$CACHE/build.log" >&2
        exit 1
    }
    say "built in $(($(date +%s) - started)) s (log: $CACHE/build.log)"
    printf '%s\n' "$BUILD_STAMP" >"$source_dir/_output/BUILD_STAMP"
    output="$(built)"
fi

mkdir -p "$CACHE/bin"
for binary in "${BINARIES[@]}"; do
    install -m 0755 "$output/$binary" "$CACHE/bin/$binary.tmp"
    mv -f "$CACHE/bin/$binary.tmp" "$CACHE/bin/$binary"
done
rm -f "$CACHE/bin/SOURCE_VERSION"  # the stamp of recipe 1
printf '%s\n' "$BUILD_STAMP" >"$CACHE/bin/BUILD_STAMP"
say "installed ${BINARIES[*]} into $CACHE/bin ($BUILD_STAMP)"
