#!/usr/bin/env bash
# Measures a drive with fio and calibrates the simulator's SSD model to it.
#
#   bench/fio_calibrate.sh [DIR] [OUT_PREFIX]
#
# DIR: a directory on the drive to measure (default: a temp dir); a test file
# of SIZE (default 256M) is written there and removed afterwards. Writes
# OUT_PREFIX.fio.json (fio's output), OUT_PREFIX.spec (for
# `memext-sim replay --device model:@OUT_PREFIX.spec`) and OUT_PREFIX.fit.json
# (measured against modelled figures); OUT_PREFIX defaults to ./drive.
# Environment: MEMEXT_SIM (default build/sim/memext-sim), RUNTIME seconds per
# job (default 3), SIZE (default 256M), FIO (default fio).
#
# The jobs run one after another (stonewall): QD1 random reads and sequential
# writes at 4k and 16k (fixed service time and unit rates), random 4k reads at
# depths 4, 16, 64 (units and the IOPS cap), 128k random reads at depth 16
# (read bandwidth), random 4k writes at depth 32, sequential 1m writes at
# depth 8 (write bandwidth), and a 70/30 random mix at depth 16.
set -euo pipefail

dir=${1:-}
prefix=${2:-drive}
sim=${MEMEXT_SIM:-build/sim/memext-sim}
runtime=${RUNTIME:-3}
size=${SIZE:-256M}
fio=${FIO:-fio}

command -v "$fio" >/dev/null || { echo "fio_calibrate: '$fio' not found (apt-get install fio)" >&2; exit 1; }
[[ -x $sim ]] || { echo "fio_calibrate: memext-sim not found at '$sim' (set MEMEXT_SIM)" >&2; exit 1; }

cleanup_dir=""
if [[ -z $dir ]]; then
  dir=$(mktemp -d)
  cleanup_dir=$dir
fi
file="$dir/memext-fio-calibrate.dat"
trap 'rm -f "$file"; [[ -n $cleanup_dir ]] && rm -rf "$cleanup_dir"' EXIT

# O_DIRECT measures the drive, not the page cache; some filesystems (tmpfs)
# refuse it, and then the figures describe the page cache: say so.
direct=1
if ! "$fio" --name=probe --filename="$file" --size=1M --rw=write --bs=4k --direct=1 \
    --ioengine=libaio --output=/dev/null >/dev/null 2>&1; then
  direct=0
  echo "fio_calibrate: O_DIRECT refused in $dir; measuring buffered IO (page cache, not the drive)" >&2
fi

jobfile=$(mktemp)
trap 'rm -f "$file" "$jobfile"; [[ -n $cleanup_dir ]] && rm -rf "$cleanup_dir"' EXIT
cat >"$jobfile" <<JOBS
[global]
filename=$file
size=$size
ioengine=libaio
direct=$direct
time_based=1
runtime=$runtime
ramp_time=0.5
group_reporting=1
stonewall
randrepeat=0
clat_percentiles=0

[read-4k-qd1]
rw=randread
bs=4k
iodepth=1

[read-16k-qd1]
rw=randread
bs=16k
iodepth=1

[read-4k-qd4]
rw=randread
bs=4k
iodepth=4

[read-4k-qd16]
rw=randread
bs=4k
iodepth=16

[read-4k-qd64]
rw=randread
bs=4k
iodepth=64

[read-128k-qd16]
rw=randread
bs=128k
iodepth=16

[write-4k-qd1]
rw=write
bs=4k
iodepth=1

[write-16k-qd1]
rw=write
bs=16k
iodepth=1

[randwrite-4k-qd32]
rw=randwrite
bs=4k
iodepth=32

[write-1m-qd8]
rw=write
bs=1m
iodepth=8

[mix70-4k-qd16]
rw=randrw
rwmixread=70
bs=4k
iodepth=16
JOBS

# Lay the file out first so the reads read written blocks.
"$fio" --name=layout --filename="$file" --size="$size" --rw=write --bs=1m --direct=$direct \
  --ioengine=libaio --iodepth=8 --output=/dev/null >/dev/null
"$fio" --output-format=json --output="$prefix.fio.json" "$jobfile"
"$sim" calibrate "$prefix.fio.json" --out "$prefix.spec" --json "$prefix.fit.json"
