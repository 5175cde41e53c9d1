#!/usr/bin/env bash
# A fuzzing campaign: each target in turn for SECONDS (default 600), one core, under a
# 512 MiB allocation cap (an allocation past it is a finding, as are panics, hangs over 10 s
# and 1 GiB of RSS). Appends one line per run to fuzz/campaign.log: date, target, seconds,
# executions, coverage, features, corpus size, CPU seconds the fuzzer used (user + system),
# exit code and the crash file if one was found. Runs at low priority (nice 19), so two
# campaigns side by side and a build share the machine; CPU seconds say what each run got.
#   bash fuzz/campaign.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(open_walk edit writer object_header messages btree fractal_heap chunk_index heaps
             filters selection superblock)
fi
[ -d corpus ] || python3 seed.py
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log=$(mktemp)
    cpu=$(mktemp)
    # Build first (not counted), then time the fuzzer alone.
    cargo +nightly fuzz build -O "$t" >/dev/null 2>&1
    /usr/bin/time -f '%U %S' -o "$cpu" nice -n 19 cargo +nightly fuzz run -O "$t" "corpus/$t" -- \
        -dict=hdf5.dict -max_total_time="$secs" -malloc_limit_mb=512 -rss_limit_mb=1024 \
        -timeout=10 -print_final_stats=1 >"$log" 2>&1
    rc=$?
    cpus=$(tail -1 "$cpu" | awk '{printf "%.0f", $1 + $2}')
    rm -f "$cpu"
    execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(echo "$last" | grep -Eo 'cov: [0-9]+' | grep -Eo '[0-9]+')
    ft=$(echo "$last" | grep -Eo 'ft: [0-9]+' | grep -Eo '[0-9]+')
    corp=$(echo "$last" | grep -Eo 'corp: [0-9]+' | grep -Eo '[0-9]+')
    crash=$(grep -Eo 'Test unit written to [^ ]+' "$log" | tail -1 | sed 's/.* //')
    printf '%s\t%s\t%ss\texecs=%s\tcov=%s\tft=%s\tcorpus=%s\tcpu=%ss\trc=%s\t%s\n' \
        "$(date -u +%FT%TZ)" "$t" "$secs" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" \
        "${cpus:-?}" "$rc" "${crash:-}" >> campaign.log
    if [ $rc -ne 0 ]; then
        cp "$log" "artifacts/$t/last-failure.log"
    fi
    rm -f "$log"
done
