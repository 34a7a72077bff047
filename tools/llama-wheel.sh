#!/usr/bin/env bash
# Build (once per machine) and install a portable wheel of llama-cpp-python, the local model runtime.
#
# PyPI ships llama-cpp-python as a source package, and ggml's default build (GGML_NATIVE=ON)
# compiles for the build host with -march=native. That wheel is not portable, and on AVX-512
# hosts the native build of the pinned version segfaults in llama_decode (issue 11). We build
# for x86-64-v3 instead: AVX, AVX2, FMA and F16C, which every x86-64 CPU since Intel Haswell
# (2013) and AMD Zen 1 (2017) has, with AVX-512 off. ggml's runtime-dispatch build
# (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS) would also cover older CPUs, but llama-cpp-python
# 0.3.x loads libggml directly and never calls ggml_backend_load_all(), so it finds no CPU
# backend; it also builds ~8 variants, which does not fit the 15-minute budget on 2 cores.
#
# pip's own wheel cache keys a source build on the sdist alone, not on CMAKE_ARGS, so it could
# hand back a wheel built with other flags. This script keeps its wheels in a directory keyed
# on the version, the architecture and the exact flags, and installs only from there.
#
# PROMPTYARD_LLAMA_CMAKE_ARGS replaces the flags (e.g. for a CPU without AVX2); the key follows them.
#
# usage: tools/llama-wheel.sh PYTHON VERSION
set -euo pipefail
PY=$1
VERSION=$2
ARCH=$(uname -m)
case "$ARCH" in
  x86_64)
    FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF" ;;
  *)
    # aarch64 and others: ggml's generic, non-native baseline for the architecture.
    FLAGS="-DGGML_NATIVE=OFF" ;;
esac
FLAGS=${PROMPTYARD_LLAMA_CMAKE_ARGS:-$FLAGS}
PYTAG=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
KEY=$(printf '%s %s %s %s' "$VERSION" "$ARCH" "$PYTAG" "$FLAGS" | sha256sum | cut -c1-16)
CACHE=${PROMPTYARD_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/promptyard/wheels}
DIR="$CACHE/llama-cpp-python-$VERSION-$KEY"

if ! ls "$DIR"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $VERSION for $ARCH ($FLAGS); one time per machine, about 5-10 min on 2 cores"
  mkdir -p "$CACHE"
  TMP=$(mktemp -d "$CACHE/.build.XXXXXX")
  trap 'rm -rf "$TMP"' EXIT
  START=$(date +%s)
  CMAKE_ARGS="$FLAGS" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} FORCE_CMAKE=1 \
    "$PY" -m pip wheel -q --no-deps --no-cache-dir --no-binary llama-cpp-python \
    "llama-cpp-python==$VERSION" -w "$TMP"
  rm -rf "$DIR"
  mv "$TMP" "$DIR"
  trap - EXIT
  printf '%s\n' "$FLAGS" >"$DIR/FLAGS"
  echo "llama-cpp-python $VERSION built in $(( $(date +%s) - START )) s -> $DIR"
fi
"$PY" -m pip install -q --force-reinstall --no-deps --no-index --find-links "$DIR" "llama-cpp-python==$VERSION"
echo "llama-cpp-python $VERSION installed from $DIR (flags: $(cat "$DIR/FLAGS"))"
