#!/usr/bin/env python3
"""Renders a `tmux capture-pane -e -p` capture to a PNG with its colours.

usage: render.py CAPTURE.ansi COLS ROWS OUT.png

Needs pyte and Pillow (`python3 -m pip install pyte pillow`) and DejaVu Sans Mono
(Debian: `apt-get install fonts-dejavu-core`).
"""
import sys

import pyte
from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = ["/usr/share/fonts/truetype/dejavu/", "/usr/share/fonts/dejavu/"]
SIZE = 14
BG = (24, 26, 33)
FG = (208, 208, 208)
# xterm's 16 colours, as pyte names them.
NAMED = {
    "black": (0, 0, 0), "red": (205, 49, 49), "green": (13, 188, 121),
    "brown": (229, 229, 16), "blue": (36, 114, 200), "magenta": (188, 63, 188),
    "cyan": (17, 168, 205), "white": (229, 229, 229),
    "brightblack": (102, 102, 102), "brightred": (241, 76, 76),
    "brightgreen": (35, 209, 139), "brightbrown": (245, 245, 67),
    "brightblue": (59, 142, 234), "brightmagenta": (214, 112, 214),
    "brightcyan": (41, 184, 219), "brightwhite": (255, 255, 255),
}


def font(bold):
    name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
    for d in FONT_DIRS:
        try:
            return ImageFont.truetype(d + name, SIZE)
        except OSError:
            pass
    sys.exit(f"render.py: {name} not found (apt-get install fonts-dejavu-core)")


def colour(c, default):
    if c == "default":
        return default
    if c in NAMED:
        return NAMED[c]
    try:
        return tuple(int(c[i:i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        return default


def block(draw, ch, px, py, cw, h, fg):
    """Draws block elements as exact rectangles (fonts leave gaps between rows)."""
    o = ord(ch)
    if 0x2581 <= o <= 0x2588:  # lower eighths .. full block
        top = py + h - round(h * (o - 0x2580) / 8)
        draw.rectangle([px, top, px + cw - 1, py + h - 1], fill=fg)
    elif 0x2589 <= o <= 0x258F:  # left seven eighths .. left eighth
        w = round(cw * (0x2590 - o) / 8)
        draw.rectangle([px, py, px + w - 1, py + h - 1], fill=fg)
    elif o == 0x2580:  # upper half
        draw.rectangle([px, py, px + cw - 1, py + h // 2 - 1], fill=fg)
    elif o == 0x2590:  # right half
        draw.rectangle([px + cw // 2, py, px + cw - 1, py + h - 1], fill=fg)
    elif o == 0x2594:  # upper eighth
        draw.rectangle([px, py, px + cw - 1, py + max(1, h // 8) - 1], fill=fg)
    elif o == 0x2595:  # right eighth
        draw.rectangle([px + cw - max(1, cw // 8), py, px + cw - 1, py + h - 1], fill=fg)
    else:
        return False
    return True


def main():
    capture, cols, rows, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    screen = pyte.Screen(cols, rows)
    screen.set_mode(pyte.modes.LNM)  # capture lines end in \n only
    stream = pyte.Stream(screen)
    with open(capture, encoding="utf-8", errors="replace") as f:
        text = f.read()
    stream.feed(text.rstrip("\n"))
    regular, bold = font(False), font(True)
    left, top, right, bottom = regular.getbbox("M")
    cw = round(regular.getlength("M"))
    ch = SIZE + 4
    pad = 8
    img = Image.new("RGB", (cols * cw + 2 * pad, rows * ch + 2 * pad), BG)
    draw = ImageDraw.Draw(img)
    for y in range(rows):
        line = screen.buffer[y]
        for x in range(cols):
            cell = line[x]
            fg = colour(cell.fg, FG)
            bg = colour(cell.bg, BG)
            if cell.reverse:
                fg, bg = bg, fg
            px, py = pad + x * cw, pad + y * ch
            if bg != BG:
                draw.rectangle([px, py, px + cw - 1, py + ch - 1], fill=bg)
            if cell.data.strip() and not block(draw, cell.data[0], px, py, cw, ch, fg):
                draw.text((px, py + 1), cell.data, fill=fg, font=bold if cell.bold else regular)
    img.save(out, optimize=True)


if __name__ == "__main__":
    main()
