"""Names defined outside Resonance that settings refer to, kept in one place."""

from __future__ import annotations

#: File extensions the downloader counts as audio: slskd.preferred_formats may name only these.
AUDIO_EXTENSIONS = frozenset({
    "flac", "mp3", "m4a", "aac", "ogg", "oga", "opus", "wav", "aif", "aiff", "alac", "ape", "wv", "wma", "dsf", "dff",
})

#: MusicBrainz's release-group secondary types (listenbrainz.skip_secondary_types,
#: catalog.include_secondary_types); compared without regard to case.
SECONDARY_TYPES = (
    "Compilation", "Soundtrack", "Spokenword", "Interview", "Audiobook", "Audio drama", "Live", "Remix", "DJ-mix",
    "Mixtape/Street", "Demo", "Field recording",
)
