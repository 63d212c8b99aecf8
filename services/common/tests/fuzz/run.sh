#!/bin/sh
# run.sh [SECONDS]: builds the libFuzzer targets (clang, ASan + UBSan) in build-fuzz and runs
# each for SECONDS (default 60) on top of its saved inputs in
# services/<folder>/tests/fuzz/corpus/<target>/ (the targets of every library: common's request
# bodies and WebSocket messages, mllp's HL7 parser and MLLP framer, fhir's Observation and
# Encounter parsers). Exits non-zero
# when any target finds a crash, leak, timeout or broken invariant; the input that did it is
# left in build-fuzz/fuzz-artifacts/<target>/ (commit it to corpus/<target>/ once fixed).
# New interesting inputs go to build-fuzz/fuzz-corpus/<target>/, never to the saved corpus;
# merge the good ones by hand with -merge=1. Environment: ED_FUZZ_BUILD_DIR, ED_FUZZ_JOBS.
set -eu

seconds=${1:-60}
case $seconds in
'' | *[!0-9]*)
    echo "usage: $0 [SECONDS]" >&2
    exit 2
    ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
build=${ED_FUZZ_BUILD_DIR:-$root/build-fuzz}
# <folder>/<target>: the target's source, binary and corpus are under services/<folder>/tests/.
fuzzers="common/fuzz_http_body common/fuzz_ws_message mllp/fuzz_hl7_parse mllp/fuzz_mllp_frame
    fhir/fuzz_fhir_parse"
targets=""
for f in $fuzzers; do targets="$targets ${f#*/}"; done

mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DED_FUZZ=ON \
    -DED_SANITIZE=address,undefined -DED_WERROR=ON >"$build/fuzz-configure.log" 2>&1 ||
    { cat "$build/fuzz-configure.log" >&2; exit 1; }
# shellcheck disable=SC2086 # targets is a word list
cmake --build "$build" -j"${ED_FUZZ_JOBS:-2}" --target $targets

failed=""
for fuzzer in $fuzzers; do
    folder=${fuzzer%%/*}
    target=${fuzzer#*/}
    work="$build/fuzz-corpus/$target"
    artifacts="$build/fuzz-artifacts/$target"
    mkdir -p "$work" "$artifacts"
    echo "== $target: ${seconds}s"
    if ! "$build/services/$folder/tests/$target" -max_len=20000 -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$work" "$root/services/$folder/tests/fuzz/corpus/$target"; then
        echo "== $target FAILED: see $artifacts/" >&2
        failed="$failed $target"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzzing found problems in:$failed" >&2
    exit 1
fi
echo "fuzzing: no crash in$targets (${seconds}s each)"
