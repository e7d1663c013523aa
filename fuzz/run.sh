#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan + UBSan) into build-fuzz/ and runs each one for a fixed
# number of inputs, starting from a scratch copy of its seed corpus (fuzz/corpus/<target>/).
#
#   fuzz/run.sh [runs] [target...]     runs defaults to 1000000; targets default to all of them
#
# Prints one line per target: target, runs, seconds, exec/s, corpus size (inputs kept), result ("ok" or the
# path of the input that failed). Exits 1 when any target found something, 2 when it cannot run.
# Environment: BUILD_DIR (default build-fuzz), FUZZ_OUT (where findings are kept, default $BUILD_DIR/findings).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(dirname "$here")
runs=${1:-1000000}
shift || true
build_dir=${BUILD_DIR:-$source_dir/build-fuzz}
findings=${FUZZ_OUT:-$build_dir/findings}

if ! [[ $runs =~ ^[0-9]+$ ]]; then
  echo "usage: fuzz/run.sh [runs] [target...]" >&2
  exit 2
fi
if ! command -v clang++-14 >/dev/null || ! command -v clang-14 >/dev/null; then
  echo "fuzz/run.sh needs clang 14 and its libFuzzer runtime: sudo apt-get install clang-14 libclang-rt-14-dev" >&2
  exit 2
fi
if ! compgen -G "/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a" >/dev/null; then
  echo "fuzz/run.sh needs libFuzzer's runtime: sudo apt-get install libclang-rt-14-dev" >&2
  exit 2
fi

# Longest input per target, near what each parser meets: webhook forms and answers of a few KiB, JSON batches
# and configurations larger, a contact or a date a line.
declare -A max_len=(
  [twilio_callback]=4096 [twilio_message]=4096 [email_events]=8192 [email_signature]=8192
  [carrier_jasmin]=2048 [carrier_aggregator]=8192 [kakao_poll]=4096 [kakao_push]=8192
  [intake_body]=16384 [intake_contact]=256 [config_toml]=8192 [query_params]=2048 [core_text]=128
)
all_targets=(twilio_callback twilio_message email_events email_signature carrier_jasmin carrier_aggregator
             kakao_poll kakao_push intake_body intake_contact config_toml query_params core_text)
if (($#)); then targets=("$@"); else targets=("${all_targets[@]}"); fi
for t in "${targets[@]}"; do
  [[ -n ${max_len[$t]:-} ]] || { echo "unknown target $t (one of: ${all_targets[*]})" >&2; exit 2; }
done

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$findings"

echo "building the fuzz targets in $build_dir (clang-14, ASan + UBSan)" >&2
if ! { CC=clang-14 CXX=clang++-14 cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
         -DDELIVERYD_FUZZ=ON -DDELIVERYD_SANITIZE=address,undefined -DBUILD_TESTING=OFF "${launcher[@]}" &&
       cmake --build "$build_dir" -j "$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}"); } >"$scratch/build.log" 2>&1
then
  tail -40 "$scratch/build.log" >&2
  echo "fuzz/run.sh: the build failed (above)" >&2
  exit 2
fi

# One target: its seeds copied into a scratch corpus, run from a scratch working directory (config_toml reads
# relative *_file paths from there), stdin closed.
run_target() {
  local t=$1 corpus=$scratch/$1/corpus work=$scratch/$1/work log=$scratch/$1.log
  mkdir -p "$corpus" "$work" "$findings/$t"
  cp "$here/corpus/$t"/* "$corpus"/
  local dict=()
  [[ -f $here/$t.dict ]] && dict=(-dict="$here/$t.dict")
  local start end status=0
  start=$(date +%s.%N)
  (cd "$work" && "$build_dir/fuzz/fuzz_$t" -runs="$runs" -max_len="${max_len[$t]}" -timeout=10 -rss_limit_mb=2048 \
     -print_final_stats=1 -artifact_prefix="$findings/$t/" "${dict[@]}" "$corpus" </dev/null >"$log" 2>&1) || status=$?
  end=$(date +%s.%N)
  local done_runs exec_s corp result seconds
  seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
  done_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  exec_s=$(awk -v n="${done_runs:-0}" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }')
  corp=$(ls "$corpus" | wc -l)
  if [[ $status -eq 0 ]]; then
    result=ok
  else
    result=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    cp "$log" "$findings/$t/last.log"
    result="FOUND ${result:-(no input written; see $findings/$t/last.log)} (log: $findings/$t/last.log)"
  fi
  printf '%-19s %9s %7s %8s %7s  %s\n' "$t" "${done_runs:-?}" "${seconds}s" "${exec_s:-?}" "$corp" "$result"
  [[ $status -eq 0 ]]
}

printf '%-19s %9s %7s %8s %7s  %s\n' target runs time exec/s corpus result
failed=0
for t in "${targets[@]}"; do
  run_target "$t" || failed=1
done
exit "$failed"
