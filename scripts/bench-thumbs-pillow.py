#!/usr/bin/env python3
"""Peer measurement for benches/thumbs.rs: Pillow thumbnails with JPEG draft mode.

Usage: bench-thumbs-pillow.py LIST_FILE MAX_W MAX_H [REPEAT]
LIST_FILE holds one image path per line. Prints `pillow_version=...` and
`pillow_ms_per_image=...` (best pass, single thread). Exit code 3 when Pillow is missing.
"""
import sys
import time

try:
    from PIL import Image
    import PIL
except ImportError:
    print(
        "Pillow is not installed for this python. Make the bench venv with:\n"
        "  python3 -m venv ~/.cache/mask-curator/bench-venv && "
        "~/.cache/mask-curator/bench-venv/bin/pip install Pillow",
        file=sys.stderr,
    )
    sys.exit(3)


def thumb(path, size):
    with Image.open(path) as im:
        # Draft mode asks libjpeg for a DCT-scaled decode (1/2, 1/4, 1/8).
        im.draft("RGB", size)
        im = im.convert("RGBA")
        im.thumbnail(size, Image.Resampling.BILINEAR)
        return im.size


def main():
    list_file, max_w, max_h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    repeat = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    with open(list_file) as f:
        paths = [line.strip() for line in f if line.strip()]
    size = (max_w, max_h)
    first = thumb(paths[0], size)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for p in paths:
            thumb(p, size)
        best = min(best, (time.perf_counter() - start) / len(paths))
    print(f"pillow_version={PIL.__version__}")
    print(f"pillow_thumb_size={first[0]}x{first[1]}")
    print(f"pillow_ms_per_image={best * 1000:.4f}")


if __name__ == "__main__":
    main()
