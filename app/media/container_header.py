"""What a video container's own headers claim, read in pure Python before FFmpeg opens the file.

FFmpeg's MP4 demuxer builds its sample index when the file is opened, from the counts in the sample
tables: a 5 KB file whose `stsz` claims 20,000,000 samples made `av.open` allocate about 1.4 GB (50
million: 3.5 GB, 7.7 s). The claims (samples per track, frame size, rotation, length) are read here from
the boxes (MP4, MOV) or EBML elements (Matroska, WebM) without expanding any table, so a clip is refused
before any demuxer sees it, and an MP4's frames are counted without demuxing.

Any bytes are safe: the walk visits at most `_MAX_BOXES` boxes or elements, never nests deeper than the
structures it knows, never copies a table, and raises nothing but `CorruptVideo` and `UnsupportedVideo`.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from app.media.errors import CorruptVideo, UnsupportedVideo

# A fragmented MP4 of one sample per fragment has 7 boxes a sample: 500,000 covers the packet bound.
_MAX_BOXES = 500_000
# Entries of one time-to-sample table read; an honest clip has at most one per frame (18,000).
_MAX_TABLE_ENTRIES = 1_000_000
# Boxes the walk descends into, MP4/MOV: the rest (mdat, free, udta...) is skipped by its size.
# Boxes FFmpeg reads as lists of boxes (`mov_read_default` and its kin), wherever they appear; `trak` and
# `meta` are handled on their own.
_CONTAINERS = {
    b"moov", b"hoov", b"mdia", b"minf", b"stbl", b"dinf", b"edts", b"mvex", b"moof", b"traf", b"tref",
    b"udta", b"sinf", b"schi", b"wave",
}  # fmt: skip
# FFmpeg refuses boxes nested deeper than 10; the walk stops a little past that.
_MAX_DEPTH = 12
_STBL_TABLES = {b"stsd", b"stsz", b"stz2", b"stts", b"stsc", b"stco", b"co64"}
_HANDLERS = {
    b"vide": "video", b"soun": "audio", b"sbtl": "subtitle", b"text": "subtitle", b"subt": "subtitle"
}  # fmt: skip
# Visual sample entries FFmpeg decodes as one of the accepted codecs (their names as FFmpeg's codec ids).
_VISUAL_ENTRIES = {
    b"avc1": "h264", b"avc3": "h264", b"hvc1": "hevc", b"hev1": "hevc", b"vp08": "vp8", b"vp09": "vp9",
    b"av01": "av1",
}  # fmt: skip

_EBML_SEGMENT = 0x18538067
_EBML_INFO, _EBML_TRACKS, _EBML_CLUSTER = 0x1549A966, 0x1654AE6B, 0x1F43B675
_EBML_TIMESTAMP_SCALE, _EBML_DURATION = 0x2AD7B1, 0x4489
_EBML_TRACK_ENTRY, _EBML_TRACK_TYPE, _EBML_CODEC_ID, _EBML_DEFAULT_DURATION = 0xAE, 0x83, 0x86, 0x23E383
_EBML_VIDEO, _EBML_PIXEL_WIDTH, _EBML_PIXEL_HEIGHT = 0xE0, 0xB0, 0xBA
_EBML_PROJECTION, _EBML_POSE_YAW, _EBML_POSE_PITCH, _EBML_POSE_ROLL = 0x7670, 0x7673, 0x7674, 0x7675
_EBML_TRACK_TYPES = {1: "video", 2: "audio", 17: "subtitle"}
_MATROSKA_CODECS = {
    "V_MPEG4/ISO/AVC": "h264", "V_MPEGH/ISO/HEVC": "hevc", "V_VP8": "vp8", "V_VP9": "vp9", "V_AV1": "av1"
}  # fmt: skip


@dataclass
class TrackHeader:
    """One track as its header describes it; zero or None where the header does not say."""

    kind: str = "other"  # video, audio, subtitle or other
    codec: str = ""  # an accepted codec's FFmpeg name, else the sample entry's four letters / CodecID
    width: int = 0  # coded frame size, before rotation
    height: int = 0
    rotation: int = 0  # 0, 90, 180 or 270: the display rotation FFmpeg attaches to frames
    samples: int = 0  # packets the sample tables and fragments claim (MP4); 0 in Matroska
    timed_samples: int = 0  # samples `stts` gives a time to (must equal `stsz`'s count)
    ticks: int = 0  # the samples' total duration in `timescale` units
    timescale: int = 0
    frame_seconds: float = 0.0  # Matroska's DefaultDuration
    raw_audio: bool = False  # uncompressed audio read by chunks: its "samples" are audio samples
    sample_bytes: int = 0  # bytes the samples need when they all have one size (`stsz` sample_size)
    track_id: int = 0
    # Where the tables lie in the file, read only once their counts are within limits: stsz/stz2 (offset,
    # count, bits a size), stco/co64 (offset, count, bytes an offset), stsc (offset, entries).
    _sizes: tuple[int, int, int] | None = field(default=None, repr=False)
    _chunks: tuple[int, int, int] | None = field(default=None, repr=False)
    _stsc: tuple[int, int] | None = field(default=None, repr=False)

    @property
    def chunks(self) -> int:
        """Chunks the chunk-offset table lists (FFmpeg indexes raw audio by chunk)."""
        return self._chunks[1] if self._chunks else 0

    @property
    def seconds(self) -> float | None:
        """The track's length by its sample times, when it has them."""
        return self.ticks / self.timescale if self.timescale and self.ticks else None


@dataclass
class ContainerHeader:
    """A container's claims: its tracks, its declared length, whether the samples come in fragments."""

    tracks: list[TrackHeader] = field(default_factory=list)
    duration: float | None = None  # seconds: the movie header's or the Segment's Duration
    fragmented: bool = False

    @property
    def video(self) -> TrackHeader | None:
        """The first video track."""
        return next((track for track in self.tracks if track.kind == "video"), None)

    @property
    def packets(self) -> int:
        """Packets all tracks claim, as the demuxer would index them (raw audio is indexed by chunk)."""
        return sum(track.samples for track in self.tracks if not track.raw_audio)


def read_container_header(data: bytes, container_format: str) -> ContainerHeader:
    """The claims of an MP4/MOV (`mp4`, `mov`) or Matroska/WebM (`mkv`, `webm`) file's headers."""
    try:
        if container_format in ("mkv", "webm"):
            return _read_matroska(memoryview(data))
        return _read_mp4(memoryview(data))
    except (CorruptVideo, UnsupportedVideo):
        raise
    except (struct.error, ValueError, IndexError, OverflowError, ZeroDivisionError) as exc:
        # Every read is bounds-checked; this is a last guard so a parsing slip answers 422, never 500.
        raise CorruptVideo() from exc


def sample_data_end(data: bytes, track: TrackHeader) -> int:
    """See `_sample_data_end`; a parsing slip is `corrupt_video`, never a 500."""
    try:
        return _sample_data_end(data, track)
    except (struct.error, ValueError, IndexError, OverflowError) as exc:
        raise CorruptVideo() from exc


def _sample_data_end(data: bytes, track: TrackHeader) -> int:
    """The furthest byte an MP4 track's samples reach, from its chunk offsets, `stsc` and sizes; for raw
    audio, whose sample size may not be its bytes (an old QuickTime description), the furthest chunk start.

    Linear in the track's samples and chunks: call it once their counts are known to be within limits.
    """
    if track._chunks is None or track._stsc is None:
        return 0
    view = memoryview(data)
    chunk_at, chunks, offset_bytes = track._chunks
    stsc_at, stsc_entries = track._stsc
    runs = [struct.unpack_from(">II", view, stsc_at + 12 * i) for i in range(min(stsc_entries, chunks + 1))]
    sizes = _sample_sizes(view, track)
    end, sample = 0, 0
    for run, (first_chunk, per_chunk) in enumerate(runs):
        next_first = runs[run + 1][0] if run + 1 < len(runs) else chunks + 1
        for chunk in range(max(first_chunk, 1), min(next_first, chunks + 1)):
            if sample >= track.samples and not track.raw_audio:
                return end
            at = chunk_at + (chunk - 1) * offset_bytes
            start = int.from_bytes(view[at : at + offset_bytes], "big")
            fixed = 0 if track.raw_audio else per_chunk * track.sample_bytes
            size = fixed if sizes is None else sum(sizes[sample : sample + per_chunk])
            sample += per_chunk
            end = max(end, start + size)
    return end


def _sample_sizes(view: memoryview, track: TrackHeader) -> list[int] | None:
    if track._sizes is None:
        return None
    at, count, bits = track._sizes
    if bits == 32:
        return [size for (size,) in struct.iter_unpack(">I", view[at : at + 4 * count])]
    if bits == 16:
        return [size for (size,) in struct.iter_unpack(">H", view[at : at + 2 * count])]
    if bits == 8:
        return list(view[at : at + count])
    nibbles = view[at : at + (count + 1) // 2]
    return [(byte >> shift) & 15 for byte in nibbles for shift in (4, 0)][:count]


# MP4 / MOV


class _Walk:
    """A budget of boxes (or elements) visited, shared by the whole walk."""

    def __init__(self) -> None:
        self.visited = 0

    def tick(self) -> None:
        self.visited += 1
        if self.visited > _MAX_BOXES:
            raise UnsupportedVideo(f"The file is made of more than {_MAX_BOXES:,} boxes; no clip needs them.")


def _boxes(view: memoryview, start: int, end: int, walk: _Walk) -> Iterator[tuple[bytes, int, int]]:
    """(type, body start, body end) of each box in [start, end), as FFmpeg reads them: a size of 0 runs to
    the end, a 64-bit size follows a size of 1, a box longer than its parent is cut to it."""
    at = start
    while at + 8 <= end:
        walk.tick()
        size, kind = struct.unpack_from(">I4s", view, at)
        header = 8
        if size == 1:
            if at + 16 > end:
                return
            size = struct.unpack_from(">Q", view, at + 8)[0]
            header = 16
        elif size == 0:
            size = end - at
        if size < header:
            return
        body_end = min(at + size, end)
        yield bytes(kind), at + header, body_end
        at = body_end


class _Mp4Walk(_Walk):
    """What the walk has read so far, as FFmpeg's parser holds it: a table applies to the track read last,
    a fragment's run to the track its `tfhd` names."""

    def __init__(self, view: memoryview) -> None:
        super().__init__()
        self.view = view
        self.header = ContainerHeader()
        self.movie_matrix: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 1.0)
        self.fragments: dict[int, int] = {}
        self.fragment_track = 0

    @property
    def current(self) -> TrackHeader | None:
        return self.header.tracks[-1] if self.header.tracks else None


def _read_mp4(view: memoryview) -> ContainerHeader:
    walk = _Mp4Walk(view)
    _walk_boxes(walk, 0, len(view), depth=0)
    header = walk.header
    by_id: dict[int, TrackHeader] = {}
    for track in header.tracks:
        by_id.setdefault(track.track_id, track)
    for track_id, count in walk.fragments.items():
        if track_id not in by_id:  # samples of a track the movie header does not declare count all the same
            by_id[track_id] = TrackHeader(track_id=track_id)
            header.tracks.append(by_id[track_id])
        by_id[track_id].samples += count
        by_id[track_id].timed_samples += count
    return header


def _walk_boxes(walk: _Mp4Walk, start: int, end: int, depth: int) -> None:
    """Every box in [start, end), descending into containers wherever they are: FFmpeg dispatches a box
    by its type alone (a `stsz` or `moof` misplaced inside another box is still read), so this walk does
    too, and nests as deep as FFmpeg allows (it refuses past 10 levels)."""
    if depth > _MAX_DEPTH:
        return
    view = walk.view
    for kind, body, body_end in _boxes(view, start, end, walk):
        if kind == b"cmov":
            # A compressed header would hide its tables from this walk, not from FFmpeg.
            raise UnsupportedVideo("The clip's movie header is compressed (QuickTime cmov): save it as MP4.")
        if kind == b"trak":
            walk.header.tracks.append(TrackHeader())
            _walk_boxes(walk, body, body_end, depth + 1)
        elif kind in _CONTAINERS:
            if kind in (b"mvex", b"moof"):
                walk.header.fragmented = True
            _walk_boxes(walk, body, body_end, depth + 1)
        elif kind == b"meta":
            # FFmpeg looks for the handler 4 bytes at a time (a full box in MP4, a plain one in QuickTime).
            for at in range(body, body_end - 7, 4):
                if bytes(view[at + 4 : at + 8]) == b"hdlr":
                    _walk_boxes(walk, at, body_end, depth + 1)
                    break
        elif kind == b"mvhd":
            walk.header.duration, walk.movie_matrix = _mvhd(view, body, body_end)
        elif kind == b"tfhd" and body + 8 <= body_end:
            walk.fragment_track = struct.unpack_from(">I", view, body + 4)[0]
        elif kind == b"trun" and body + 8 <= body_end:
            count = struct.unpack_from(">I", view, body + 4)[0]
            walk.fragments[walk.fragment_track] = walk.fragments.get(walk.fragment_track, 0) + count
            walk.header.fragmented = True
        elif walk.current is not None:  # FFmpeg ignores a track's boxes before the first track
            _track_box(walk, walk.current, kind, body, body_end, depth)


def _track_box(walk: _Mp4Walk, track: TrackHeader, kind: bytes, body: int, body_end: int, depth: int) -> None:
    view = walk.view
    if kind == b"tkhd":
        version = _full_box(view, body, body_end, 80)
        if version is not None:
            track.track_id = struct.unpack_from(">I", view, body + (20 if version == 1 else 12))[0]
            a, b, c, d = _matrix(view, body + 4 + (32 if version == 1 else 20) + 8 + 8, body_end)
            # FFmpeg multiplies the track's matrix by the movie's, then reads the rotation from the product.
            ma, mb, mc, md = walk.movie_matrix
            track.rotation = _rotation(a * ma + b * mc, a * mb + b * md, c * ma + d * mc, c * mb + d * md)
    elif kind == b"mdhd":
        version = _full_box(view, body, body_end, 20)
        if version == 1 and body_end - body >= 32:
            track.timescale = struct.unpack_from(">I", view, body + 20)[0]
        elif version is not None:
            track.timescale = struct.unpack_from(">I", view, body + 12)[0]
    elif kind == b"hdlr" and body_end - body >= 12:
        track.kind = _HANDLERS.get(bytes(view[body + 8 : body + 12]), track.kind)
    elif kind in _STBL_TABLES and _full_box(view, body, body_end, 4) is not None:
        _table(walk, track, kind, body, body_end, depth)


def _table(walk: _Mp4Walk, track: TrackHeader, kind: bytes, body: int, body_end: int, depth: int) -> None:
    view = walk.view
    count = struct.unpack_from(">I", view, body + 4)[0]
    if kind == b"stsd":
        _sample_entries(walk, track, body + 8, body_end, count, depth)
    elif kind == b"stsz" and body + 12 <= body_end:
        sample_size, count = struct.unpack_from(">II", view, body + 4)
        # A second `stsz` overrides the first's count in FFmpeg: the larger claim is the one to bound.
        track.samples = max(track.samples, count)
        track.sample_bytes = sample_size
        track._sizes = None if sample_size else (body + 12, min(count, (body_end - body - 12) // 4), 32)
    elif kind == b"stz2" and body + 12 <= body_end:
        bits, count = view[body + 7], struct.unpack_from(">I", view, body + 8)[0]
        track.samples = max(track.samples, count)
        if bits in (4, 8, 16):
            track._sizes = (body + 12, min(count, (body_end - body - 12) * 8 // bits), bits)
    elif kind == b"stts":
        entries = min(count, (body_end - body - 8) // 8)
        timed = ticks = delta = 0
        # Each entry times at least one sample in an honest file: past the cap the claim is refused
        # anyway, so the entries beyond it are only counted, not read.
        read = min(entries, _MAX_TABLE_ENTRIES)
        for samples, delta in struct.iter_unpack(">II", view[body + 8 : body + 8 + 8 * read]):
            timed += samples
            ticks += samples * delta
        track.timed_samples = max(track.timed_samples, timed if entries == read else entries)
        track.ticks = ticks
        # FFmpeg reads uncompressed audio by chunk when `stts` gives every sample a duration of 1.
        track.raw_audio = entries == 1 and delta == 1 and track.kind == "audio"
    elif kind == b"stsc":
        track._stsc = (body + 8, min(count, (body_end - body - 8) // 12))
    elif kind in (b"stco", b"co64"):
        width = 8 if kind == b"co64" else 4
        track._chunks = (body + 8, min(count, (body_end - body - 8) // width), width)


def _sample_entries(walk: _Mp4Walk, track: TrackHeader, start: int, end: int, count: int, depth: int) -> None:
    """The sample descriptions: the first one's codec and coded frame size; and the boxes after each one's
    fixed fields (avcC, colr...), which FFmpeg reads like any other, misplaced tables included."""
    view = walk.view
    for index, (kind, body, body_end) in enumerate(_boxes(view, start, end, walk)):
        if index >= count:
            break
        entry = body - 8
        if index == 0:
            track.codec = _VISUAL_ENTRIES.get(kind, kind.decode("latin-1"))
            # A visual entry: 8 bytes of box header, 6 reserved, 2 index, 16 pre-defined, width, height.
            if track.kind == "video" and entry + 36 <= body_end:
                track.width, track.height = struct.unpack_from(">HH", view, entry + 32)
        if track.kind == "video":
            fixed = 86
        elif track.kind == "audio" and entry + 18 <= body_end:
            # A sound entry's fixed fields grow with its version: 0, 1 (16 more bytes), 2 (36 more).
            fixed = 36 + {1: 16, 2: 36}.get(struct.unpack_from(">H", view, entry + 16)[0], 0)
        else:
            continue
        _walk_boxes(walk, entry + fixed, body_end, depth + 1)


def _full_box(view: memoryview, start: int, end: int, need: int) -> int | None:
    """The version of a full box whose body holds at least `need` bytes after version and flags."""
    if end - start < 4 + need:
        return None
    return view[start]


def _mvhd(view: memoryview, start: int, end: int) -> tuple[float | None, tuple[float, float, float, float]]:
    version = _full_box(view, start, end, 96)
    if version is None:
        return None, (1.0, 0.0, 0.0, 1.0)
    if version == 1:
        timescale, duration = struct.unpack_from(">IQ", view, start + 20)
        matrix_at = start + 4 + 28 + 4 + 2 + 10
    else:
        timescale, duration = struct.unpack_from(">II", view, start + 12)
        matrix_at = start + 4 + 16 + 4 + 2 + 10
    matrix = _matrix(view, matrix_at, end)
    seconds = duration / timescale if timescale and duration not in (0, 2**32 - 1, 2**64 - 1) else None
    return seconds, matrix


def _matrix(view: memoryview, at: int, end: int) -> tuple[float, float, float, float]:
    """The 2x2 part (a, b, c, d) of a box's 3x3 transformation matrix, 16.16 fixed point."""
    if at + 36 > end:
        return (1.0, 0.0, 0.0, 1.0)
    a, b, _, c, d = struct.unpack_from(">iiiii", view, at)
    return (a / 65536, b / 65536, c / 65536, d / 65536)


def _rotation(a: float, b: float, c: float, d: float) -> int:
    """FFmpeg's av_display_rotation_get on a matrix, to the nearest quarter turn, as 0-359 degrees."""
    scale_x, scale_y = math.hypot(a, c), math.hypot(b, d)
    if scale_x == 0 or scale_y == 0:
        return 0
    degrees = -math.degrees(math.atan2(b / scale_y, a / scale_x))
    return int(round(degrees / 90) * 90) % 360


# Matroska / WebM


def _vint(view: memoryview, at: int, end: int, *, keep_marker: bool) -> tuple[int, int, bool] | None:
    """(value, length, all ones) of an EBML variable-length integer at `at`; None past the end or damaged."""
    if at >= end or view[at] == 0:
        return None
    first = view[at]
    length = 9 - first.bit_length()
    if at + length > end:
        return None
    value = first if keep_marker else first & ((1 << (8 - length)) - 1)
    for index in range(1, length):
        value = (value << 8) | view[at + index]
    all_ones = not keep_marker and value == (1 << (7 * length)) - 1
    return value, length, all_ones


def _elements(view: memoryview, start: int, end: int, walk: _Walk) -> Iterator[tuple[int, int, int]]:
    """(id, body start, body end) of each EBML element in [start, end); an unknown size runs to the end.

    Damage ends the walk: what was read stands, and FFmpeg judges the rest (Matroska's demuxer sizes
    nothing by a header's claims)."""
    at = start
    while at < end:
        walk.tick()
        read_id = _vint(view, at, end, keep_marker=True)
        if read_id is None or read_id[1] > 4:
            return
        element, id_length, _ = read_id
        read_size = _vint(view, at + id_length, end, keep_marker=False)
        if read_size is None:
            return
        size, size_length, unknown = read_size
        body = at + id_length + size_length
        body_end = end if unknown else min(body + size, end)
        yield element, body, body_end
        if unknown:
            return
        at = body_end


def _uint(view: memoryview, start: int, end: int) -> int:
    return int.from_bytes(view[start : min(end, start + 8)], "big")


def _float(view: memoryview, start: int, end: int) -> float:
    if end - start == 4:
        return float(struct.unpack_from(">f", view, start)[0])
    if end - start == 8:
        return float(struct.unpack_from(">d", view, start)[0])
    return 0.0


def _read_matroska(view: memoryview) -> ContainerHeader:
    header, walk = ContainerHeader(), _Walk()
    for element, start, end in _elements(view, 0, len(view), walk):
        if element != _EBML_SEGMENT:
            continue
        scale, duration = 1_000_000, None
        for child, body, body_end in _elements(view, start, end, walk):
            if child == _EBML_CLUSTER:  # the headers FFmpeg reads come before the first cluster
                break
            if child == _EBML_INFO:
                for info, value, value_end in _elements(view, body, body_end, walk):
                    if info == _EBML_TIMESTAMP_SCALE:
                        scale = _uint(view, value, value_end) or 1_000_000
                    elif info == _EBML_DURATION:
                        duration = _float(view, value, value_end)
            elif child == _EBML_TRACKS:
                for entry, entry_start, entry_end in _elements(view, body, body_end, walk):
                    if entry == _EBML_TRACK_ENTRY:
                        header.tracks.append(_track_entry(view, entry_start, entry_end, walk))
        if duration is not None and math.isfinite(duration) and duration > 0:
            header.duration = duration * scale / 1e9
        break
    return header


def _track_entry(view: memoryview, start: int, end: int, walk: _Walk) -> TrackHeader:
    track = TrackHeader()
    for element, body, body_end in _elements(view, start, end, walk):
        if element == _EBML_TRACK_TYPE:
            track.kind = _EBML_TRACK_TYPES.get(_uint(view, body, body_end), "other")
        elif element == _EBML_CODEC_ID:
            codec_id = bytes(view[body:body_end]).rstrip(b"\x00").decode("latin-1")
            track.codec = _MATROSKA_CODECS.get(codec_id, codec_id)
        elif element == _EBML_DEFAULT_DURATION:
            track.frame_seconds = _uint(view, body, body_end) / 1e9
        elif element == _EBML_VIDEO:
            _video_settings(view, body, body_end, walk, track)
    return track


def _video_settings(view: memoryview, start: int, end: int, walk: _Walk, track: TrackHeader) -> None:
    for element, body, body_end in _elements(view, start, end, walk):
        if element == _EBML_PIXEL_WIDTH:
            track.width = min(_uint(view, body, body_end), 2**31)
        elif element == _EBML_PIXEL_HEIGHT:
            track.height = min(_uint(view, body, body_end), 2**31)
        elif element == _EBML_PROJECTION:
            pose = {_EBML_POSE_YAW: 0.0, _EBML_POSE_PITCH: 0.0, _EBML_POSE_ROLL: 0.0}
            for key, value, value_end in _elements(view, body, body_end, walk):
                if key in pose:
                    pose[key] = _float(view, value, value_end)
            yaw, pitch, roll = pose[_EBML_POSE_YAW], pose[_EBML_POSE_PITCH], pose[_EBML_POSE_ROLL]
            track.rotation = _projection_rotation(yaw, pitch, roll)


def _projection_rotation(yaw: float, pitch: float, roll: float) -> int:
    """The rotation FFmpeg's Matroska demuxer derives from a Projection's pose (a roll, maybe mirrored)."""
    if pitch != 0 or yaw not in (0.0, 180.0, -180.0) or math.isnan(roll):
        return 0  # FFmpeg ignores a projection that is not a flat rotation
    hflip = yaw != 0
    # av_display_rotation_set(roll * (2 * hflip - 1)), then a horizontal flip: the first column negated.
    radians = -math.radians(roll * (2 * hflip - 1))
    a, b, c, d = math.cos(radians), -math.sin(radians), math.sin(radians), math.cos(radians)
    if hflip:
        a, c = -a, -c
    return _rotation(a, b, c, d)
