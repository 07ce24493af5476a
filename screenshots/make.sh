#!/usr/bin/env bash
# Makes the README's screenshots of the real dashboard, repeatably: fixed seeds, sizes and
# timings, run in tmux (a private server), captured with `tmux capture-pane -e -N -p` (-N keeps the coloured blanks that end a row), rendered
# to PNG by render.py (pyte + Pillow + DejaVu Sans Mono). And the browser page's: a served site
# (paused once it has run a while) in Debian's headless Chromium, driven over WebDriver with curl.
#
#   screenshots/make.sh            # builds the release binary, writes screenshots/*.png
#   WALLWATCH=path/to/wallwatch screenshots/make.sh
#
# Needs tmux, python3 with pyte and Pillow, fonts-dejavu-core, curl, chromium and
# chromium-driver; missing Python modules are installed with pip (--user), the font and the
# browser with apt-get when run as root.
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

if ! command -v chromedriver >/dev/null && [[ $(id -u) == 0 ]]; then
    apt-get install -y -q chromium chromium-driver >/dev/null
fi
command -v chromedriver >/dev/null && command -v curl >/dev/null ||
    { echo "make.sh: needs curl and chromedriver (apt-get install -y chromium chromium-driver)" >&2; exit 1; }

work="$(mktemp -d)"
sock="wallwatch-shots-$$"
pids=()
cleanup() {
    tmux -L "$sock" kill-server 2>/dev/null || true
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
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

# The page. A loopback port that is free now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# site NAME SECONDS -- ARGS...: serves a site with ARGS for SECONDS, then pauses it; its address
# in $addr.
site() {
    local name=$1 secs=$2
    shift 3
    local dir="$work/$name" port
    port=$(free_port)
    mkdir -p "$dir"
    "$WALLWATCH" serve --socket "$dir/site.sock" --http "127.0.0.1:$port" "$@" \
        >"$dir/serve.out" 2>"$dir/serve.err" &
    pids+=($!)
    until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.1; done
    sleep "$secs"
    "$WALLWATCH" pause --socket "$dir/site.sock" >/dev/null
    addr="127.0.0.1:$port"
}

driver_port=$(free_port)
chromedriver --port="$driver_port" >"$work/chromedriver.log" 2>&1 &
pids+=($!)
until curl -sf "http://127.0.0.1:$driver_port/status" >/dev/null; do sleep 0.1; done
wd() { curl -sf -X "$1" "http://127.0.0.1:$driver_port$2" ${3:+-H 'Content-Type: application/json' -d "$3"}; }

# page_shot NAME ADDR WIDTH HEIGHT SCHEME: the page at WIDTH x HEIGHT CSS pixels (under 600 wide:
# a phone, 2 device pixels a pixel), SCHEME light or dark, once it has drawn.
page_shot() {
    local name=$1 addr=$2 width=$3 height=$4 scheme=$5 session mobile=false scale=1
    [[ $width -lt 600 ]] && { mobile=true; scale=2; }
    mkdir -p "$work/profile-$name"
    session=$(wd POST /session '{"capabilities":{"alwaysMatch":{"goog:chromeOptions":{"binary":"'"$(command -v chromium)"'","args":["--headless","--no-sandbox","--disable-gpu","--disable-quic","--disable-background-networking","--disable-component-update","--disable-sync","--no-first-run","--hide-scrollbars","--user-data-dir='"$work/profile-$name"'"]}}}}' |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["value"]["sessionId"])')
    wd POST "/session/$session/goog/cdp/execute" '{"cmd":"Emulation.setDeviceMetricsOverride","params":{"width":'"$width"',"height":'"$height"',"deviceScaleFactor":'"$scale"',"mobile":'"$mobile"'}}' >/dev/null
    wd POST "/session/$session/goog/cdp/execute" '{"cmd":"Emulation.setEmulatedMedia","params":{"features":[{"name":"prefers-color-scheme","value":"'"$scheme"'"}]}}' >/dev/null
    wd POST "/session/$session/url" '{"url":"http://'"$addr"'/"}' >/dev/null
    until [[ $(wd POST "/session/$session/execute/sync" '{"script":"return document.body.dataset.drawn === \"true\"","args":[]}') == *true* ]]; do
        sleep 0.1
    done
    sleep 0.5
    wd GET "/session/$session/screenshot" |
        python3 -c 'import base64, json, sys; open(sys.argv[1], "wb").write(base64.b64decode(json.load(sys.stdin)["value"]))' "$here/$name.png"
    wd DELETE "/session/$session" >/dev/null
    echo "screenshots/$name.png ($(stat -c %s "$here/$name.png") bytes)"
}

# A desktop browser on the big wall, light; a phone on the defaults, dark.
site web-big 8 -- --seed 42 --store memory: --speed 40 \
    --profiles "$shared/profiles/medium_20x200.txt" --crews 40 --sensors 12 \
    --sensor-kinds default,thermometer,strain,seismometer
page_shot web "$addr" 1280 900 light
site web-small 6 -- --seed 42 --store memory: --speed 10
page_shot web-phone "$addr" 390 844 dark
