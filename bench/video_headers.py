"""What refusing a clip whose headers lie costs the API: time and peak memory of a fresh process that reads
the clip's headers (`read_video_header` with the service's default limits), against one that only imports.

    python -m bench.video_headers            # the hostile files of tests/video/boxes.py
    python -m bench.video_headers --packets 280000   # plus a Matroska clip of that many tiny audio packets

Each file runs in its own child, so one file's peak does not hide another's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.hostile_clips import fragmented_mp4, lying_mkv, lying_mp4, many_audio_packets

_CHILD = """
import json, sys, time
from app.media.errors import DomainError
from app.media.video_probe import VideoLimits, read_video_header
limits = VideoLimits(300, 18_000, 3840 * 2160, 25_000_000)
# This process's own high-water mark (ru_maxrss would start at the parent's size at fork).
peak_kb = lambda: next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
answer, seconds = None, 0.0
if sys.argv[1] != "-":
    data = open(sys.argv[1], "rb").read()
    started = time.perf_counter()
    try:
        info = read_video_header(data, sys.argv[2], limits, count_frames=sys.argv[3] == "count")
        answer = f"accepted, {info.frames} frames"
    except DomainError as exc:
        answer = exc.code
    seconds = time.perf_counter() - started
print(json.dumps([answer, seconds, peak_kb()]))
"""


def _run(path: str, container: str = "mp4", mode: str = "count") -> tuple[str | None, float, int]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, path, container, mode], capture_output=True, text=True, check=True
    )
    answer, seconds, peak_kb = json.loads(done.stdout.strip().splitlines()[-1])
    return answer, seconds, peak_kb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--packets", type=int, default=0, help="also a Matroska clip of this many audio packets"
    )
    args = parser.parse_args()
    cases: list[tuple[str, bytes, str, str]] = [
        ("MP4, 20,000,000 frames claimed", lying_mp4(20_000_000), "mp4", "count"),
        ("MP4, 50,000,000 frames claimed", lying_mp4(50_000_000), "mp4", "count"),
        ("MP4, 20,000,000 audio samples claimed", lying_mp4(24, audio_samples=20_000_000), "mp4", "count"),
        ("fragmented MP4, 20,000,000 frames in one run", fragmented_mp4(20_000_000), "mp4", "count"),
        (
            "MP4, 8192x8192 HEVC claimed",
            lying_mp4(24, width=8192, height=8192, codec=b"hvc1"),
            "mp4",
            "count",
        ),
        ("Matroska, 8192x8192 claimed", lying_mkv(width=8192, height=8192), "mkv", "count"),
    ]
    with tempfile.TemporaryDirectory() as folder:
        if args.packets:
            data = many_audio_packets(Path(folder) / "tiny.mkv", args.packets)
            label = f"Matroska, {args.packets:,} audio packets"
            cases += [(label, data, "mkv", "count"), (label + " (header alone)", data, "mkv", "header")]
        _, _, baseline_kb = _run("-")
        print(f"{'file':<52} {'bytes':>9} {'answer':<24} {'seconds':>8} {'peak MB over imports':>21}")
        for index, (label, data, container, mode) in enumerate(cases):
            path = Path(folder) / f"{index}.{container}"
            path.write_bytes(data)
            answer, seconds, peak_kb = _run(str(path), container, mode)
            extra_mb = (peak_kb - baseline_kb) / 1024
            print(f"{label:<52} {len(data):>9,} {answer or '':<24} {seconds:>8.3f} {extra_mb:>21.1f}")


if __name__ == "__main__":
    main()
