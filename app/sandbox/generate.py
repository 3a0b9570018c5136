"""Deterministic benchmark-size catalogue, in the same format as ``data/catalogue.json``.

``generate_catalogue_data(artists=1000, albums=10000, seed=1)`` gives a
household library of ``artists`` artists (one to three albums each, one or
two of them owned), ``albums`` candidate albums by other artists, Last.fm
similar links from every library artist, 1,000 CF recommendations and two
weekly-exploration playlists for listener "rob", Soulseek peers sharing a
slice of the candidate albums in mixed qualities and behaviours, and new albums
(released lately or announced) by one library artist in twenty, half of them
among rob's ListenBrainz fresh releases."""

from __future__ import annotations

import hashlib
import random
from typing import Any

_KIND_CODES = {"artist": "8001", "release-group": "8002", "release": "8003", "track": "8004", "recording": "8005",
               "playlist": "8006"}

ADJECTIVES = (
    "Silent", "Golden", "Hollow", "Electric", "Velvet", "Crimson", "Paper", "Glass", "Northern", "Quiet",
    "Wild", "Broken", "Lunar", "Amber", "Distant", "Frozen", "Burning", "Hidden", "Neon", "Pale", "Secret",
    "Endless", "Tender", "Copper", "Static", "Violet", "Midnight", "Sleeping", "Restless", "Silver",
)
NOUNS = (
    "Harbour", "River", "Echo", "Lantern", "Forest", "Signal", "Garden", "Mirror", "Ocean", "Comet", "Meadow",
    "Engine", "Tide", "Window", "Valley", "Orchard", "Island", "Machine", "Horizon", "Feather", "Circle",
    "Canyon", "Satellite", "Shadow", "Ember", "Winter", "Summer", "Parade", "Cathedral", "Lighthouse",
)
FIRST_NAMES = (
    "Ada", "Björn", "Chloé", "Dmitri", "Elif", "Freya", "Gustav", "Hana", "Ines", "Jonas", "Kaito", "Léa",
    "Mira", "Nils", "Oskar", "Paula", "Ragnhild", "Sofía", "Tomás", "Ulla", "Vera", "Wren", "Yuki", "Zoë",
)
SURNAMES = (
    "Okonkwo", "Lindqvist", "Moreau", "Haraldsson", "Nakamura", "Kowalski", "Fernández", "Østergaard",
    "Brennan", "Castellano", "Dubois", "Eriksdóttir", "Gallagher", "Ivanova", "Jansen", "Kühn", "Laurent",
)
GENRES = ("Ambient", "Post-Rock", "Electronic", "Indie", "Folk", "Jazz", "Shoegaze", "Dream Pop", "Rock")
COUNTRIES = ("GB", "US", "IS", "DE", "FR", "NO", "JP", "CA", "AU")
QUALITIES = (("flac16", 40), ("flac24", 8), ("mp3-320", 25), ("mp3-v0", 17), ("mp3-128", 10))
BEHAVIOURS = (("normal", 80), ("slow", 6), ("stalls", 3), ("rejects", 3), ("errors", 3), ("remote_queue", 3),
              ("offline", 2))
FOLDER_LABELS = {"flac16": "FLAC", "flac24": "24-96", "mp3-320": "320", "mp3-v0": "V0", "mp3-128": "128"}
TYPES = ((("Album", []), 78), (("Album", ["Live"]), 7), (("Album", ["Compilation"]), 5), (("Single", []), 5),
         (("EP", []), 3), (("Album", ["Remix"]), 2))


def generate_catalogue_data(artists: int = 1000, albums: int = 10000, seed: int = 1) -> dict[str, Any]:
    return _Generator(artists, albums, seed).build()


class _Generator:
    def __init__(self, artists: int, albums: int, seed: int) -> None:
        self.library_artist_count = max(artists, 1)
        self.candidate_album_count = max(albums, 1)
        self.seed = seed
        self.rng = random.Random(seed)
        digest = hashlib.sha1(f"resonance-bench:{seed}".encode()).hexdigest()
        self.prefix = f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-"
        self.counter = 0
        self.used_names: set[str] = set()
        self.data: dict[str, Any] = {
            "format": 1,
            "description": f"Generated benchmark catalogue: {artists} library artists, "
                           f"{albums} candidate albums, seed {seed}.",
            "artists": [], "release_groups": [], "recordings": [], "redirects": {},
        }

    def uid(self, kind: str) -> str:
        """A UUID-shaped id: seed prefix, entity kind, running number. Generation
        order is fixed, so ids are stable for a seed (and far cheaper than uuid5)."""
        self.counter += 1
        return f"{self.prefix}{_KIND_CODES[kind]}-{self.counter:012x}"

    def pick(self, weighted: tuple[tuple[Any, int], ...]) -> Any:
        values, weights = zip(*weighted)
        return self.rng.choices(values, weights=weights)[0]

    # -- names

    def artist_name(self) -> str:
        rng = self.rng
        for _ in range(50):
            shape = rng.randrange(4)
            if shape == 0:
                name = f"The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}s"
            elif shape == 1:
                name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
            elif shape == 2:
                name = f"{rng.choice(NOUNS)} & {rng.choice(NOUNS)}"
            else:
                name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
            if name not in self.used_names:
                self.used_names.add(name)
                return name
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {len(self.used_names)}"
        self.used_names.add(name)
        return name

    def title(self) -> str:
        rng = self.rng
        shape = rng.randrange(5)
        if shape == 0:
            return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        if shape == 1:
            return f"{rng.choice(NOUNS)} of the {rng.choice(NOUNS)}"
        if shape == 2:
            return f"The {rng.choice(NOUNS)}"
        if shape == 3:
            return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}s"
        return f"{rng.choice(NOUNS)} / {rng.choice(NOUNS)}"

    # -- building blocks

    def add_artist(self) -> dict[str, Any]:
        rng = self.rng
        name = self.artist_name()
        person = name.split()[0] in FIRST_NAMES
        artist = {"id": self.uid("artist"), "name": name,
                  "sort_name": (", ".join(reversed(name.split(" ", 1))) if person else name),
                  "type": "Person" if person else "Group", "country": rng.choice(COUNTRIES),
                  "begin": str(1960 + int(rng.random() * 56)), "disambiguation": "",
                  "tags": [rng.choice(GENRES).lower()]}
        self.data["artists"].append(artist)
        return artist

    def add_album(self, artist: dict[str, Any], kind: tuple[str, list[str]] | None = None) -> dict[str, Any]:
        rng = self.rng
        primary, secondaries = kind or self.pick(TYPES)
        year = 1970 + int(rng.random() * 56)
        date = f"{year}-{1 + int(rng.random() * 12):02d}-{1 + int(rng.random() * 28):02d}"
        low, high = (2, 4) if primary == "Single" else (4, 6) if primary == "EP" else (7, 12)
        titles = [self.title() for _ in range(low + int(rng.random() * (high - low + 1)))]
        lengths = [120_000 + int(rng.random() * 300_000) for _ in titles]
        recordings = [self.uid("recording") for _ in titles]
        group_id = self.uid("release-group")
        releases = [self.release(date, titles, lengths, recordings)]
        if primary == "Album" and rng.random() < 0.1:  # a deluxe edition with bonus tracks
            bonus = [self.title() for _ in range(2 + int(rng.random() * 3))]
            releases.append(self.release(
                f"{year + 5 + int(rng.random() * 15)}-01-15", titles + bonus,
                lengths + [150_000 + int(rng.random() * 150_000) for _ in bonus],
                recordings + [self.uid("recording") for _ in bonus], disambiguation="deluxe edition"))
        group = {"id": group_id, "title": self.title(), "credit": [artist["id"]], "primary_type": primary,
                 "secondary_types": secondaries, "releases": releases}
        if rng.random() < 0.15:
            group["cover"] = False
        self.data["release_groups"].append(group)
        return group

    def release(self, date: str, titles: list[str], lengths: list[int], recordings: list[str],
                disambiguation: str = "") -> dict[str, Any]:
        tracks = [{"id": self.uid("track"), "recording": recording, "title": title, "length": length}
                  for title, length, recording in zip(titles, lengths, recordings)]
        return {"id": self.uid("release"), "status": "Official", "date": date, "country": self.rng.choice(COUNTRIES),
                "disambiguation": disambiguation, "media": [{"format": "CD", "title": "", "tracks": tracks}]}

    # -- the world

    def build(self) -> dict[str, Any]:
        rng = self.rng
        library_artists = [self.add_artist() for _ in range(self.library_artist_count)]
        library_albums: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for i, artist in enumerate(library_artists):
            for j in range(rng.randint(1, 3)):
                group = self.add_album(artist, kind=("Album", []) if j == 0 else None)
                if j < 2:
                    library_albums.append((artist, group))
        candidate_count = max(self.candidate_album_count // 4, 1)
        candidates = [self.add_artist() for _ in range(candidate_count)]
        candidate_groups = [self.add_album(candidates[n % candidate_count]) for n in range(self.candidate_album_count)]
        self.add_lastfm(library_artists, candidates)
        self.add_listenbrainz(candidate_groups)
        self.add_subsonic(library_albums)
        self.add_slskd(candidate_groups)
        self.add_new_releases(library_artists)
        return self.data

    def add_lastfm(self, library_artists: list[dict[str, Any]], candidates: list[dict[str, Any]]) -> None:
        rng = self.rng
        entries = []
        for artist in library_artists + candidates:
            entry: dict[str, Any] = {"artist": artist["id"]}
            if artist in library_artists:
                pool = (rng.sample(candidates, min(15, len(candidates)))
                        + rng.sample(library_artists, min(5, len(library_artists))))
                similar = []
                for rank, other in enumerate(x for x in pool if x is not artist):
                    match = round(max(1.0 - rank * 0.045 - rng.random() * 0.02, 0.01), 6)
                    similar.append({"name": other["name"], "match": match,
                                    "mbid": "" if rng.random() < 0.1 else other["id"]})
                entry["similar"] = similar
            entries.append(entry)
        self.data["lastfm"] = {"api_keys": ["5a9c1d7e3b2f4a6c8d0e1f2a3b4c5d6e"],
                               "suspended_api_keys": ["dead0000beef1111dead0000beef1111"], "artists": entries}

    def add_listenbrainz(self, candidate_groups: list[dict[str, Any]]) -> None:
        rng = self.rng
        recordings: list[str] = []
        # 1-3 recordings per album, so several recommendations often share an album
        for group in rng.sample(candidate_groups, len(candidate_groups)):
            tracks = group["releases"][0]["media"][0]["tracks"]
            for track in rng.sample(tracks, min(len(tracks), rng.randint(1, 3))):
                recordings.append(track["recording"])
            if len(recordings) >= 1000:
                break
        recordings = recordings[:1000]
        score = 9.9
        recommendations = []
        for mbid in recordings:
            recommendations.append({"recording_mbid": mbid, "score": round(score, 4), "latest_listened_at": None})
            score -= 8.0 / max(len(recordings), 1)
        uncached = [m for m in recordings if rng.random() < 0.03]
        playlists = []
        for week, date in enumerate(("2025-11-17", "2025-11-10")):
            playlists.append({"id": self.uid("playlist"), "title": f"Weekly Exploration for rob, week of {date} Mon",
                              "date": f"{date}T00:07:15.218436+00:00", "source_patch": "weekly-exploration",
                              "tracks": recordings[week * 50: week * 50 + 50]})
        self.data["listenbrainz"] = {
            "listeners": [{"user_name": "rob", "token": "b8f6c2a4-5e1d-4c3b-9a7f-2d4e6f8a0b1c",
                           "model_id": "listenbrainz-cf-recording-bench", "last_updated": 1763337600,
                           "recommendations": recommendations, "playlists": playlists}],
            "uncached_recordings": uncached,
        }

    def add_subsonic(self, library_albums: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        rng = self.rng
        albums = []
        for artist, group in library_albums:
            created = f"{rng.randint(2018, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T12:00:00Z"
            entry: dict[str, Any] = {"release": group["releases"][0]["id"], "genre": rng.choice(GENRES),
                                     "created": created, "play_count": rng.randint(0, 40)}
            if rng.random() < 0.05:
                entry["musicbrainz_id"] = ""
            if rng.random() < 0.03:
                entry["artist_musicbrainz_id"] = ""
            albums.append(entry)
        self.data["subsonic"] = {"users": [{"username": "rob", "password": "sesame", "admin": True,
                                            "api_key": "sbx-opensubsonic-key-rob-0001"}], "albums": albums}

    def add_new_releases(self, library_artists: list[dict[str, Any]]) -> None:
        """New and announced albums of library artists. Made last, with an RNG of their own, so the
        rest of the world (ids included) is what it was before they existed."""
        rng = random.Random(self.seed + 1)
        fresh = []
        for artist in library_artists[::20]:
            titles = [self.title() for _ in range(8)]
            recordings = [self.uid("recording") for _ in titles]
            release = self.release("", titles, [200_000] * len(titles), recordings)
            del release["date"]
            release["released_days_ago"] = rng.randint(-60, 80)  # a negative count: announced
            self.data["release_groups"].append({"id": self.uid("release-group"), "title": self.title(),
                                                "credit": [artist["id"]], "primary_type": "Album",
                                                "secondary_types": [], "releases": [release]})
            if rng.random() < 0.5:
                fresh.append(release["id"])
        self.data["listenbrainz"]["listeners"][0]["fresh_releases"] = fresh

    def add_slskd(self, candidate_groups: list[dict[str, Any]]) -> None:
        rng = self.rng
        artists = {a["id"]: a for a in self.data["artists"]}
        shared = rng.sample(candidate_groups, max(len(candidate_groups) // 5, 1))
        users = []
        for n in range(max(len(shared) // 12, 5)):
            behaviour = self.pick(BEHAVIOURS)
            shares = []
            for group in rng.sample(shared, min(len(shared), rng.randint(8, 20))):
                artist = artists[group["credit"][0]]
                quality = self.pick(QUALITIES)
                drive = rng.choice(("@@", "D:\\", "E:\\Music"))
                root = f"@@share{n}\\Music" if drive == "@@" else drive.rstrip("\\")
                label = FOLDER_LABELS[quality]
                share: dict[str, Any] = {"folder": f"{root}\\{artist['name']}\\{group['title']} [{label}]",
                                         "release": group["releases"][0]["id"], "quality": quality}
                if rng.random() < 0.3:
                    share["extras"] = ["cover.jpg"]
                if rng.random() < 0.08:
                    share["missing"] = [1]
                shares.append(share)
            users.append({"username": f"peer{n:04d}", "behaviour": behaviour,
                          "has_free_upload_slot": rng.random() < 0.7, "upload_speed": rng.randint(50_000, 6_000_000),
                          "queue_length": rng.choice((0, 0, 0, 1, 3, 12, 40)), "shares": shares})
        self.data["slskd"] = {"api_keys": ["sandbox-slskd-api-key-0123456789abcdef"], "username": "resonance_bot",
                              "users": users}
