#!/usr/bin/env bash
# Makes the README's screenshots of the real dashboard, repeatably: fixed seeds, sizes and
# timings, run in tmux (a private server), captured with `tmux capture-pane -e -N -p` (-N keeps the coloured blanks that end a row), rendered
# to PNG by render.py (pyte + Pillow + DejaVu Sans Mono).
#
#   screenshots/make.sh            # builds the release binary, writes screenshots/*.png
#   WALLWATCH=path/to/wallwatch screenshots/make.sh
#
# Needs tmux, python3 with pyte and Pillow, and fonts-dejavu-core; missing Python modules are
# installed with pip (--user), the font with apt-get when run as root.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
shared="$(cd "$root/.." && pwd)/shared"

if [[ -z "${WALLWATCH:-}" ]]; then
    (cd "$root" && cargo build --release --quiet)
    WALLWATCH="$root/target/release/wallwatch"
fi
# The sessions run in their own directories: a relative path would not be found there.
WALLWATCH="$(realpath "$WALLWATCH")"
command -v tmux >/dev/null || { echo "make.sh: needs tmux" >&2; exit 1; }
python3 -c 'import pyte, PIL' 2>/dev/null || python3 -m pip install --quiet --user pyte pillow
if [[ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf && $(id -u) == 0 ]]; then
    apt-get install -y -q fonts-dejavu-core >/dev/null
fi

work="$(mktemp -d)"
sock="wallwatch-shots-$$"
cleanup() { tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# shot NAME COLS ROWS SECONDS KEYS -- ARGS...: runs the dashboard for SECONDS, pauses it (so no
# frame is half-way through tmux when it is captured: tmux does not hold frames for synchronized
# output), presses KEYS (tmux key names; "" for none), captures, renders.
shot() {
    local name=$1 cols=$2 rows=$3 secs=$4 keys=$5
    shift 6
    local dir="$work/$name"
    mkdir -p "$dir"
    tmux -L "$sock" -f /dev/null new-session -d -s "$name" -x "$cols" -y "$rows" \
        "cd '$dir' && TERM=xterm-256color COLORTERM= '$WALLWATCH' $* ; sleep 60"
    tmux -L "$sock" set-option -t "$name" status off >/dev/null
    sleep "$secs"
    tmux -L "$sock" send-keys -t "$name" Space
    sleep 0.5
    if [[ -n "$keys" ]]; then
        tmux -L "$sock" send-keys -t "$name" "$keys"
    fi
    sleep 0.5
    tmux -L "$sock" capture-pane -t "$name" -e -N -p > "$dir/capture.ansi"
    tmux -L "$sock" send-keys -t "$name" q
    sleep 0.5
    tmux -L "$sock" kill-session -t "$name"
    python3 "$here/render.py" "$dir/capture.ansi" "$cols" "$rows" "$here/$name.png"
    echo "screenshots/$name.png ($(stat -c %s "$here/$name.png") bytes)"
}

# The dashboard's defaults (built-in wall, 3 crews, 5 sensors), ten times real speed so a
# few days have passed.
shot default 120 40 6 "" -- --seed 42 --store memory: --speed 10
# A big wall: 20 profiles of 200 sections, 40 crews, 12 sensors of every kind.
shot big-wall 200 50 8 "" -- --seed 42 --store memory: --speed 40 \
    --profiles "$shared/profiles/medium_20x200.txt" --crews 40 --sensors 12 \
    --sensor-kinds default,thermometer,strain,seismometer
# The help overlay over the default run.
shot help 120 40 3 "?" -- --seed 42 --store memory: --speed 10
