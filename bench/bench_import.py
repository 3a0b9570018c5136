"""The import stage on a 12-track FLAC album of about 300 MB (figures, not a test).

verify + tag + file, timed against ``cp`` of the same files:
- same filesystem (``library.transfer: move`` is a rename there; ``cp`` copies),
- across filesystems (copy, fsync, compare, delete; ``cp`` + ``sync`` to the same place): a tmpfs
  library, and an ext4 image on a loop device (a second disk-backed filesystem).
Each import runs in a child process, so its peak RSS is the import's own; files are streamed,
so it stays far below the album's size. Then the five decoys of the sandbox's slskd (truncated,
zero-filled, wrong track, missing track, an edition no release lists) go through the whole
importer: target 5 of 5 quarantined and 0 files in the library.

Needs ffmpeg (to make the album once, cached in $TMPDIR) and root (to mount the tmpfs).

    python bench/bench_import.py [--tracks 12] [--mb-per-track 25]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

TEMPLATE = "{albumartist}/{year} - {album}/{disc}{track:02} {title}.{ext}"
NOISE_BYTES_PER_SECOND = 132_000  # FLAC of white noise barely compresses (44.1 kHz, 16 bit, stereo)


def make_album(cache: Path, tracks: int, mb_per_track: int) -> list[Path]:
    from import_support import make_track

    seconds = round(mb_per_track * 1_000_000 / NOISE_BYTES_PER_SECOND)
    cache.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(1, tracks + 1):
        path = cache / f"{n:02} - Noise {n}.flac"
        if not path.exists():
            make_track(path, seconds + n, noise=True)
        paths.append(path)
    return paths


def child(args: argparse.Namespace) -> None:
    """One verify + tag + file in this process; prints seconds and peak RSS as JSON."""
    from app.importer import filing, tagging, verify
    from import_support import make_edition

    sources = sorted(Path(args.child_from).glob("*.flac"))
    from app.importer.audio import probe
    lengths = [probe(p).length for p in sources]
    edition = make_edition(lengths, title="Noise", artist="Bench")
    started = time.perf_counter()
    checked = verify.verify([edition], sources, tolerance=5)
    assert checked.ok, checked.reason
    pairs = [(t, f.path) for t, f in checked.pairs]
    tagging.tag_all(pairs, edition)
    moves = filing.plan(Path(args.child_to), TEMPLATE, edition, pairs)
    filing.transfer(moves, "move")
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def fresh_copy(album: list[Path], folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path in album:
        shutil.copyfile(path, folder / path.name)


def timed_cp(source: Path, target: Path) -> float:
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subprocess.run(["cp", "-r", str(source), str(target)], check=True)
    subprocess.run(["sync", "-f", str(target)], check=True)
    return time.perf_counter() - started


def timed_import(downloads: Path, library: Path) -> dict:
    shutil.rmtree(library, ignore_errors=True)
    library.mkdir(parents=True)
    done = subprocess.run([sys.executable, __file__, "--child-from", str(downloads), "--child-to", str(library)],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(name: str, album: list[Path], work: Path, library: Path, size: int) -> None:
    downloads = work / "downloads"
    fresh_copy(album, downloads)
    cp_seconds = timed_cp(downloads, library / "cp-copy")
    shutil.rmtree(library / "cp-copy")
    result = timed_import(downloads, library / "imported")
    mb = size / 1e6
    print(f"{name:<18} import {result['seconds']:6.2f} s ({mb / result['seconds']:7.0f} MB/s)   "
          f"cp {cp_seconds:6.2f} s ({mb / cp_seconds:7.0f} MB/s)   ratio to cp {cp_seconds / result['seconds']:.2f}"
          f"   peak RSS {result['peak_rss_kb'] / 1024:.0f} MB")


def decoys() -> None:
    from app.clients.musicbrainz import MusicBrainzClient
    from app.importer import QUARANTINED, ImportJob, Importer, ImportServices, ImportSettings
    from app.sandbox import Sandbox, SandboxSettings
    from app.clients.slskd import SlskdClient

    release = "2b3eda44-2f0b-5459-9ba3-991f2f2d8546"
    kinds = {"truncated": {"defects": {"truncated": [3]}}, "zero-filled": {"defects": {"zeros": [5]}},
             "wrong track": {"defects": {"wrong": [2]}}, "missing track": {"missing": [7]},
             "another edition": {"bonus": 2}}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {n: Path(tmp) / n for n in ("downloads", "library", "quarantine")}
        for folder in folders.values():
            folder.mkdir()
        settings = SandboxSettings.fast(slskd_transfer_seconds=0.01, slskd_queue_seconds=0.01,
                                        slskd_downloads_dir=str(folders["downloads"]))
        with Sandbox(settings=settings) as sb:
            group = sb.catalogue.release_group_of(sb.catalogue.releases[release])
            importer = Importer(ImportSettings(folders["downloads"], folders["library"], folders["quarantine"]),
                                ImportServices(MusicBrainzClient(sb.urls["musicbrainz"], rate=100)))
            slskd = SlskdClient(sb.urls["slskd"], sb.credentials["slskd"]["api_key"])
            quarantined = 0
            for n, (kind, options) in enumerate(kinds.items()):
                user = sb.slskd_state.add_user({"username": f"decoy{n}", "shares": [
                    {"folder": f"@@d\\{kind}", "release": release, "quality": "flac16", **options}]})
                remote = [f.filename for f in user.files]
                slskd.enqueue(user.username, [(r, 1) for r in remote])
                deadline = time.monotonic() + 60
                while not (len(slskd.user_downloads(user.username)) == len(remote)
                           and all(t.is_complete for t in slskd.user_downloads(user.username))):
                    if time.monotonic() > deadline:
                        raise SystemExit(f"{kind}: transfers did not finish")
                    time.sleep(0.05)
                outcome = importer.run(ImportJob(group.id, "Múm", group.title, user.username, tuple(remote)))
                quarantined += outcome.state == QUARANTINED
                print(f"  decoy {kind:<16} {outcome.state:<12} {outcome.reason[:90]}")
        in_library = sum(1 for p in folders["library"].rglob("*") if p.is_file())
    print(f"decoys: {quarantined} of {len(kinds)} quarantined, {in_library} files in the library")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=12)
    parser.add_argument("--mb-per-track", type=int, default=25)
    parser.add_argument("--child-from")
    parser.add_argument("--child-to")
    args = parser.parse_args()
    if args.child_from:
        child(args)
        return
    cache = Path(tempfile.gettempdir()) / f"resonance-bench-import-{args.tracks}x{args.mb_per_track}"
    album = make_album(cache, args.tracks, args.mb_per_track)
    size = sum(p.stat().st_size for p in album)
    print(f"album: {len(album)} FLAC tracks, {size / 1e6:.0f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        compare("same filesystem", album, work, work / "library", size)
        other = work / "tmpfs"
        other.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size * 3 // 1024 + 65536}k", "tmpfs", str(other)],
                       check=True)
        try:
            compare("to a tmpfs", album, work, other, size)
        finally:
            subprocess.run(["umount", str(other)], check=True)
        # A second disk-backed filesystem (an ext4 image on a loop device): writes cost what they cost
        # on a real second disk, where cp's and the import's extra reads come from the page cache.
        image, disk = work / "ext4.img", work / "ext4"
        disk.mkdir()
        subprocess.run(["truncate", "-s", str(size * 3 + (64 << 20)), str(image)], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
        subprocess.run(["mount", "-o", "loop", str(image), str(disk)], check=True)
        try:
            compare("to another ext4", album, work, disk, size)
        finally:
            subprocess.run(["umount", str(disk)], check=True)
    decoys()


if __name__ == "__main__":
    main()
