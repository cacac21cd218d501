#!/usr/bin/env bash
# 04_file_transfer/bench.sh - how fast is our GET? Side by side, in one run, on loopback:
#   ours      client get of a 1 GiB file (sendfile on the server, SHA-256 on both ends)
#   ours-rw   the same with the server's --no-sendfile (read()+send() loop)
#   socat     socat piping the same file from one socket to another file (no digest), with the
#             same 1 MiB buffer as our client (socat's default 8 KiB would handicap it)
#   iperf3    one TCP stream, memory to memory (the ceiling: no file, no digest)
# and prints each one's throughput and its ratio to iperf3 and to socat, and for our two
# server modes the server's CPU time per GET (user+system, from /proc): what sendfile() saves.
#
# Usage: 04_file_transfer/bench.sh [BUILD_DIR]     (default: build; e.g. /tmp/b-04)
#        SIZE_MIB=256 RUNS=5 04_file_transfer/bench.sh build
# Not a test: figures depend on the machine. The file is read from /tmp after a warm-up read,
# so it is in the page cache; received copies go to /dev/shm (tmpfs) when it exists, so the
# client's fsync() measures the network path, not the disk. Everything is removed at exit.
set -euo pipefail

BUILD_DIR=${1:-build}
SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-3}
SERVER=$BUILD_DIR/04_file_transfer/server
CLIENT=$BUILD_DIR/04_file_transfer/client
[[ -x $SERVER && -x $CLIENT ]] || { echo "bench: build first ($SERVER not found)" >&2; exit 2; }

# ss (Debian package iproute2) tells us when a listener is ready; the rest are measured.
for tool in iperf3 socat python3 ss; do
  if ! command -v "$tool" >/dev/null; then
    package=$tool
    [[ $tool == ss ]] && package=iproute2
    echo "bench: installing $package (for $tool)" >&2
    sudo=$([[ $(id -u) == 0 ]] && echo "" || echo sudo)
    $sudo apt-get install -y "$package" >/dev/null
  fi
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing and could not be installed" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/sbs-bench.XXXXXX)
DEST=$WORK/received
[[ -d /dev/shm && -w /dev/shm ]] && DEST=$(mktemp -d /dev/shm/sbs-bench.XXXXXX)
mkdir -p "$WORK/root" "$DEST"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK" "$DEST"
}
trap cleanup EXIT

BIG=$WORK/root/big.bin
BYTES=$((SIZE_MIB * 1024 * 1024))
echo "bench: writing a $SIZE_MIB MiB file of random bytes to $BIG" >&2
head -c "$BYTES" /dev/urandom >"$BIG"
cat "$BIG" >/dev/null  # warm the page cache

now() { date +%s.%N; }
best=()  # "name seconds"

# Starts our server (extra flags in $@) and sets PORT to the port it listens on.
start_server() {
  local log=$WORK/server.$RANDOM.log
  "$SERVER" --root "$WORK/root" --port 0 --quiet "$@" >"$log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    if grep -q 'listening on' "$log"; then
      PORT=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$log")
      return
    fi
    sleep 0.05
  done
  echo "bench: the server did not start" >&2
  exit 1
}

time_get() {  # port -> seconds of the fastest of $RUNS downloads
  local port=$1 fastest=""
  for _ in $(seq "$RUNS"); do
    rm -f "$DEST/big.bin"
    local start end
    start=$(now)
    "$CLIENT" --quiet --port "$port" get big.bin "$DEST/big.bin" >/dev/null
    end=$(now)
    fastest=$(python3 -c "print(min(float('${fastest:-inf}'), $end - $start))")
  done
  rm -f "$DEST/big.bin"
  echo "$fastest"
}

time_socat() {
  local fastest=""
  for _ in $(seq "$RUNS"); do
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    socat -u -b 1048576 "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" "OPEN:$DEST/socat.bin,creat,trunc" &
    local receiver=$!
    for _ in $(seq 100); do ss -ltn | grep -q ":$port " && break; sleep 0.02; done
    local start end
    start=$(now)
    socat -u -b 1048576 "OPEN:$BIG" "TCP:127.0.0.1:$port"
    wait "$receiver"
    end=$(now)
    fastest=$(python3 -c "print(min(float('${fastest:-inf}'), $end - $start))")
  done
  rm -f "$DEST/socat.bin"
  echo "$fastest"
}

time_iperf3() {  # seconds for $BYTES at the best single-stream rate of $RUNS runs
  local fastest=""
  for _ in $(seq "$RUNS"); do
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    iperf3 -s -1 -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
    local server=$!
    for _ in $(seq 100); do ss -ltn | grep -q ":$port " && break; sleep 0.02; done
    local seconds
    seconds=$(iperf3 -c 127.0.0.1 -p "$port" -n "$BYTES" -P 1 -J |
      python3 -c "import json,sys; print($BYTES * 8 / json.load(sys.stdin)['end']['sum_received']['bits_per_second'])")
    wait "$server" || true
    fastest=$(python3 -c "print(min(float('${fastest:-inf}'), $seconds))")
  done
  echo "$fastest"
}

cpu_seconds() {  # pid -> user+system CPU seconds it has used so far
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}

echo "bench: $RUNS runs each, best run counts" >&2
cpu=()  # "name seconds-per-GET"
start_server
best+=("ours(sendfile) $(time_get "$PORT")")
cpu+=("sendfile $(python3 -c "print($(cpu_seconds "${PIDS[-1]}") / $RUNS)")")
start_server --no-sendfile
best+=("ours(read/write) $(time_get "$PORT")")
cpu+=("read/write $(python3 -c "print($(cpu_seconds "${PIDS[-1]}") / $RUNS)")")
best+=("socat $(time_socat)")
best+=("iperf3 $(time_iperf3)")

python3 - "$BYTES" "${best[@]}" "--" "${cpu[@]}" <<'EOF'
import sys
size = int(sys.argv[1])
split = sys.argv.index("--")
rows = [(name, float(seconds)) for name, seconds in (arg.split() for arg in sys.argv[2:split])]
cpu = [(name, float(seconds)) for name, seconds in (arg.split() for arg in sys.argv[split + 1:])]
rate = {name: size / seconds / 1e6 for name, seconds in rows}
print(f"GET of {size / 2**20:.0f} MiB over loopback (best of the runs):")
print(f"  {'':18} {'seconds':>8} {'MB/s':>8} {'x iperf3':>9} {'x socat':>8}")
for name, seconds in rows:
    print(f"  {name:18} {seconds:8.3f} {rate[name]:8.0f} {rate[name] / rate['iperf3']:9.2f} "
          f"{rate[name] / rate['socat']:8.2f}")
print("server CPU time per GET (user+system; includes its SHA-256 of the file):")
for name, seconds in cpu:
    print(f"  {name:18} {seconds:8.3f} s")
EOF
