#!/usr/bin/env bash
# Runs memext's uring_read_bench and fio (io_uring engine) on the same file
# with random 4 KB O_DIRECT reads at each queue depth, and prints the IOPS of
# each and memext's share of fio's. Usage:
#   bench/uring_vs_fio.sh [--file PATH] [--size 1g] [--seconds 10] [--bench BIN]
#                         [--depths "1 4 16 64"] [--bs 4k]
set -euo pipefail

file=/work/memext-uring-bench.dat
size=1g
seconds=10
depths="1 4 16 64"
bs=4k
bench=""
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; }

while (($#)); do
  case "$1" in
    --file) file="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --depths) depths="$2"; shift 2 ;;
    --bs) bs="$2"; shift 2 ;;
    --bench) bench="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "uring_vs_fio.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if [[ -z "$bench" ]]; then
  for candidate in "$here"/../build*/bench/uring_read_bench; do
    [[ -x "$candidate" ]] && bench="$candidate" && break
  done
fi
[[ -x "$bench" ]] || { echo "uring_vs_fio.sh: uring_read_bench not found; build it or pass --bench" >&2; exit 2; }
command -v fio >/dev/null || { echo "uring_vs_fio.sh: fio is not installed (apt-get install fio)" >&2; exit 2; }

# One short run first so the file exists and holds real data.
"$bench" --file "$file" --size "$size" --bs "$bs" --depths 1 --seconds 0.2 --csv >/dev/null

printf '%-6s %12s %12s %8s\n' depth memext_IOPS fio_IOPS ratio
for depth in $depths; do
  memext_iops=$("$bench" --file "$file" --size "$size" --bs "$bs" --depths "$depth" \
    --seconds "$seconds" --csv | cut -d, -f3)
  fio_iops=$(fio --name=r --filename="$file" --size="$size" --direct=1 --rw=randread --bs="$bs" \
    --ioengine=io_uring --iodepth="$depth" --runtime="$seconds" --time_based \
    --output-format=json | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["jobs"][0]["read"]["iops"]))')
  ratio=$(python3 -c "print(f'{$memext_iops / max($fio_iops, 1):.2f}')")
  printf '%-6s %12s %12s %8s\n' "$depth" "$memext_iops" "$fio_iops" "$ratio"
done
