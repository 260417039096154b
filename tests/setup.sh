# Sourced by the quick-start and test scripts: install what is missing, build.
# Debian 12 packages only; needs root (or sudo) the first time.

RW_PACKAGES="build-essential cmake pkg-config libevent-dev libcurl4-openssl-dev libjson-c-dev
libhiredis-dev libssl-dev redis-server redis-tools curl python3-redis systemd man-db clang libclang-rt-dev"

rw_install_deps() {
    local missing="" p
    for p in $RW_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing="$missing $p"
    done
    # the Node.js example needs node and npm: Debian's packages unless some other node is there
    command -v node >/dev/null && command -v npm >/dev/null || missing="$missing nodejs npm"
    [ -z "$missing" ] && return 0
    echo "installing:$missing"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
}

# rw_build DIR [cmake options...]: configure and build everything (or $RW_TARGETS only)
rw_build() {
    local dir=$1 t targets=()
    shift
    for t in ${RW_TARGETS:-}; do targets+=(--target "$t"); done
    cmake -S "$RW_TOP" -B "$dir" "$@" >/dev/null
    cmake --build "$dir" -j"$(nproc)" "${targets[@]}"
}

RW_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
