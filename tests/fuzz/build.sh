#!/usr/bin/env bash
# Builds the profile loader's fuzzer with Debian's clang: libFuzzer, ASan and UBSan.
#   bash tests/fuzz/build.sh [OUTDIR]        -> OUTDIR/profile_fuzzer (default build/fuzz)
# Run it over the seed corpus (what CI does):   OUTDIR/profile_fuzzer -runs=0 tests/fuzz/corpus
# Fuzz for 10 minutes, keeping what it finds:  mkdir -p /tmp/fc; OUTDIR/profile_fuzzer -jobs=1 \
#   -max_total_time=600 -dict=tests/fuzz/profile.dict /tmp/fc tests/fuzz/corpus
set -eu
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.."
out=${1:-build/fuzz}
cxx=${CXX_FUZZ:-clang++}
command -v "$cxx" >/dev/null || { echo "fuzz/build.sh: $cxx not found (apt-get install clang)" >&2; exit 2; }
mkdir -p "$out"
# The pure library's sources, as meson.build lists them (sandbox-core).
mapfile -t sources < <(sed -n "/^core = static_library('sandbox-core',/,/include_directories/p" meson.build |
  sed -n "s/^ *'\(src\/[^']*\.cpp\)',\$/\1/p")
[ ${#sources[@]} -gt 0 ] || { echo "fuzz/build.sh: no sandbox-core sources found in meson.build" >&2; exit 2; }
# The toml++ settings of meson.build (its asserts off: they abort where the parser reports an error).
flags=(-std=c++20 -g -O1 -Isrc -DTOML_HEADER_ONLY=1 -DTOML_EXCEPTIONS=1 '-DTOML_ASSERT(expr)=static_assert(true)'
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
# Objects built with other flags (or another compiler) are built again.
stamp="$cxx ${flags[*]}"
[ "$(cat "$out/flags" 2>/dev/null)" = "$stamp" ] || rm -f "$out"/*.o
printf '%s\n' "$stamp" >"$out/flags"
objs=()
for src in "${sources[@]}" tests/fuzz/profile_fuzzer.cpp; do
  obj=$out/$(tr / _ <<<"${src%.cpp}").o
  # Rebuild an object when its source or any header is newer.
  if [ ! -f "$obj" ] || [ -n "$(find src tests/fuzz -newer "$obj" \( -name '*.cpp' -o -name '*.hpp' \) -print -quit)" ]; then
    "$cxx" "${flags[@]}" -c "$src" -o "$obj"
  fi
  objs+=("$obj")
done
# The pure library uses libseccomp (the policy names syscalls through it).
"$cxx" "${flags[@]}" "${objs[@]}" -lseccomp -o "$out/profile_fuzzer"
echo "fuzz/build.sh: built $out/profile_fuzzer"
