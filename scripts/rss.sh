#!/bin/sh
# Peak RSS (VmHWM) of the dashboard, an attached viewer, the floor binary (examples/rss_floor.rs),
# htop and bottom (if installed), each in its own tmux session at 120x40 for SECONDS (default 20),
# all in one run. Build first: cargo build --release --locked && cargo build --release --locked --example rss_floor
set -eu
secs=${1:-20}
bin=${WALLWATCH:-target/release/wallwatch}
floor=${FLOOR:-target/release/examples/rss_floor}
dir=$(mktemp -d /tmp/rss.XXXXXX)
bin=$(realpath "$bin"); floor=$(realpath "$floor" 2>/dev/null || true)
export XDG_RUNTIME_DIR="$dir/run"; mkdir -m 700 "$XDG_RUNTIME_DIR"
cd "$dir"
"$bin" serve --site rss --store "sqlite:$dir/s.db" >/dev/null 2>&1 &
serve=$!
sleep 1
start() { tmux new-session -d -s "rss-$1" -x 120 -y 40 "exec $2"; }
start dash "$bin --store sqlite:$dir/w.db"
start attach "$bin attach --site rss"
[ -x "$floor" ] && start floor "$floor"
command -v htop >/dev/null && start htop "env TERM=xterm-256color htop"
command -v btm >/dev/null && start btm btm
sleep "$secs"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in dash attach floor htop btm; do
  tmux has-session -t "=rss-$s" 2>/dev/null || continue
  pid=$(tmux display -p -t "=rss-$s:" "#{pane_pid}")
  [ -r /proc/$pid/status ] || { echo "$s: not running"; continue; }
  hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
  anon=$(awk '/RssAnon/ {print $2}' /proc/$pid/status)
  file=$(awk '/RssFile/ {print $2}' /proc/$pid/status)
  thr=$(awk '/Threads/ {print $2}' /proc/$pid/status)
  printf '%-7s peak %6.1f MB  now: anon %5.1f MB, file %5.1f MB, %s threads\n' "$s" \
    "$(echo "$hwm/1024" | bc -l)" "$(echo "$anon/1024" | bc -l)" "$(echo "$file/1024" | bc -l)" "$thr"
  [ -n "${SMAPS:-}" ] && awk '/^[0-9a-f]+-/ {m=$6} /^Rss:/ {r[m]+=$2} END {for (k in r) if (r[k] >= 256) printf "          %6d kB %s\n", r[k], k}' /proc/$pid/smaps | sort -rn
  tmux kill-session -t "=rss-$s"
done
kill "$serve"; wait "$serve" 2>/dev/null || true
rm -rf "$dir"
