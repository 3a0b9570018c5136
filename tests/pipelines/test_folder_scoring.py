"""Folder scoring on realistic search responses with decoys: which folder wins, and why."""

from __future__ import annotations

import pytest

from app.clients.slskd import SearchFile, SearchResponse
from app.pipelines.folder_scoring import (
    ExpectedAlbum,
    ExpectedTrack,
    Preferences,
    UserRecord,
    album_folder,
    group_folders,
    merge_responses,
    parse_file_name,
    score_folders,
)

DUMMY_TRACKS = [
    ("Mysterons", 302), ("Sour Times", 251), ("Strangers", 238), ("It Could Be Sweet", 260),
    ("Wandering Star", 291), ("It's a Fire", 229), ("Numb", 234), ("Roads", 305), ("Pedestal", 219),
    ("Biscuit", 301), ("Glory Box", 306),
]
THIRD_TRACKS = [
    ("Silence", 298), ("Hunter", 237), ("Nylon Smile", 197), ("The Rip", 269), ("Plastic", 207),
    ("We Carry On", 387), ("Deep Water", 91), ("Machine Gun", 285), ("Small", 405), ("Magic Doors", 212),
    ("Threads", 346),
]
VAKA_TRACKS = [(f"Untitled #{n} ({name})", length) for n, (name, length) in enumerate(
    [("Vaka", 398), ("Fyrsta", 446), ("Samskeyti", 373), ("Njósnavélin", 412), ("Álafoss", 596),
     ("E-bow", 528), ("Dauðalagið", 779), ("Popplagið", 704)], start=1)]


def album(artist, title, tracks, year=None):
    return ExpectedAlbum(artist, title, year,
                         tuple(ExpectedTrack(t, length, 1, n) for n, (t, length) in enumerate(tracks, start=1)))


DUMMY = album("Portishead", "Dummy", DUMMY_TRACKS, 1994)


def audio(folder, tracks, fmt="flac", pattern="{n:02} - {title}", bitrate=None, vbr=None, lengths=True,
          shift=0, first=1):
    files = []
    for n, (title, length) in enumerate(tracks, start=first):
        seconds = length + shift if lengths else None
        per_second = 110_000 if fmt == "flac" else (bitrate or 320) * 125
        kwargs = {"bit_depth": 16, "sample_rate": 44100} if fmt == "flac" else {"bit_rate": bitrate or 320,
                                                                              "is_variable_bit_rate": vbr}
        files.append(SearchFile(f"{folder}\\{pattern.format(n=n, title=title)}.{fmt}", per_second * length,
                                fmt, length=seconds, **kwargs))
    return files


def extra(folder, *names):
    return [SearchFile(f"{folder}\\{name}", 50_000, name.rsplit(".", 1)[-1]) for name in names]


def response(user, files, locked=(), slot=True, speed=2_000_000, queue=0):
    return SearchResponse(user, slot, speed, queue, tuple(files), tuple(locked))


def locked(files):
    return [SearchFile(f.filename, f.size, f.extension, length=f.length, bit_depth=f.bit_depth,
                       sample_rate=f.sample_rate, locked=True) for f in files]


def winner(responses, expected=DUMMY, prefs=None, users=None):
    ranked = score_folders(responses, expected, prefs or Preferences(), users)
    assert ranked, "no candidates"
    return ranked[0], ranked


def by_user(ranked, user):
    return next(c for c in ranked if c.user == user)


# --------------------------------------------------------------------------- the right album among decoys


def test_it_picks_the_complete_album_over_a_different_album_by_the_same_artist():
    right = "@@pfan\\Music\\Portishead\\1994 - Dummy [FLAC]"
    other = "@@other\\Music\\Portishead\\2008 - Third [FLAC]"
    best, ranked = winner([
        response("otherfan", audio(other, THIRD_TRACKS)),
        response("dummyfan", audio(right, DUMMY_TRACKS) + extra(right, "cover.jpg")),
    ])
    assert (best.user, best.folder) == ("dummyfan", right)
    assert best.score > 0.9
    assert "completeness: all 11 tracks with matching lengths" in best.reasons
    third = by_user(ranked, "otherfan")
    assert third.score < 0.2
    assert "0 of 11 tracks" in third.factor("completeness").reason
    assert "album not named" in third.factor("title").reason


def test_it_refuses_the_live_album_whose_titles_match_but_lengths_do_not():
    live = "@@lvbt\\Portishead - Dummy (Live) [FLAC]"
    best, ranked = winner([response("liveboot", audio(live, DUMMY_TRACKS, pattern="{n:02} - {title} (Live)",
                                                      shift=40))])
    assert best.score < 0.1
    assert "lengths differ for Mysterons (5:42 vs 5:02)" in best.factor("completeness").reason
    assert "looks like another release: live" in best.factor("title").reason


def test_it_prefers_the_standard_edition_but_accepts_the_deluxe_one_with_bonus_tracks():
    standard = "@@a\\Portishead - Dummy (1994) [FLAC]"
    deluxe = "@@b\\Portishead - Dummy (Deluxe Edition) [FLAC]"
    bonus = [("Sour Times (Nobody Loves Me)", 250), ("Glory Box (Radio Edit)", 213),
             ("Numb (Earth Mix)", 280), ("Roads (Live)", 312)]
    best, ranked = winner([
        response("deluxer", audio(deluxe, DUMMY_TRACKS + bonus)),
        response("standard", audio(standard, DUMMY_TRACKS)),
    ])
    assert best.user == "standard"
    plus = by_user(ranked, "deluxer")
    assert 0.6 <= plus.score < best.score
    assert plus.factor("completeness").reason == "all 11 tracks and 4 more files (bonus tracks?)"
    # Alone, the deluxe edition is still good enough to download.
    alone, _ = winner([response("deluxer", audio(deluxe, DUMMY_TRACKS + bonus))])
    assert alone.score >= 0.6


def test_it_rejects_an_incomplete_folder_and_says_what_is_missing():
    folder = "E:\\Music\\Portishead\\Dummy"
    best, _ = winner([response("halfalbum", audio(folder, DUMMY_TRACKS[:8]))])
    assert best.score < 0.6
    assert best.factor("completeness").reason == \
        "8 of 11 tracks; missing Pedestal, Biscuit, Glory Box"


def test_it_ranks_a_128_kbps_rip_last_and_below_the_minimum_score():
    low = "G:\\mp3\\Portishead - Dummy - 128"
    v2 = "G:\\mp3\\Portishead - Dummy [V2]"
    best, ranked = winner([
        response("lowq", audio(low, DUMMY_TRACKS, fmt="mp3", bitrate=128)),
        response("v2fan", audio(v2, DUMMY_TRACKS, fmt="mp3", bitrate=200, vbr=True)),
    ])
    assert best.user == "v2fan" and best.score >= 0.6
    rip = ranked[-1]
    assert rip.user == "lowq" and rip.score < 0.3
    assert "128 kbps is below the minimum of 192" in rip.factor("quality").reason
    # With no minimum the same rip is acceptable, though still behind.
    _, ranked = winner([response("lowq", audio(low, DUMMY_TRACKS, fmt="mp3", bitrate=128))],
                       prefs=Preferences(min_bitrate=0))
    assert ranked[0].score >= 0.6


def test_it_leaves_locked_files_out_so_a_partly_locked_folder_is_incomplete():
    folder = "@@locked\\Portishead\\Dummy [FLAC]"
    files = audio(folder, DUMMY_TRACKS)
    best, _ = winner([response("lockedbox", files[:8], locked=locked(files[8:]))])
    assert len(best.audio) == 8
    assert "3 locked files left out" in best.factor("completeness").reason
    assert best.score < 0.6
    # Only locked files: nothing to download at all.
    assert score_folders([response("lockedbox", [], locked=locked(files))], DUMMY, Preferences()) == []


def test_it_merges_a_two_disc_album_split_in_cd_folders():
    tracks = [("Storm", 1341), ("Static", 1355), ("Sleep", 1410), ("Antennas to Heaven", 1108)]
    expected = ExpectedAlbum("Godspeed You! Black Emperor", "Lift Your Skinny Fists Like Antennas to Heaven", 2000,
                             tuple(ExpectedTrack(t, length, disc, pos) for (t, length), disc, pos
                                   in zip(tracks, (1, 1, 2, 2), (1, 2, 1, 2))))
    root = "@@pr\\Godspeed You! Black Emperor\\Lift Your Skinny Fists Like Antennas to Heaven [FLAC]"
    both = audio(root + "\\CD1", tracks[:2]) + audio(root + "\\CD2", tracks[2:]) + extra(root, "cover.jpg")
    half = "@@half\\GY!BE - Lift Your Skinny Fists Like Antennas to Heaven\\Disc 1"
    best, ranked = winner([response("halfer", audio(half, tracks[:2])), response("postrocker", both)], expected)
    assert (best.user, best.folder, len(best.audio)) == ("postrocker", root, 4)
    assert [f.basename for f in best.extras] == ["cover.jpg"]
    assert best.factor("completeness").reason == "all 4 tracks with matching lengths"
    assert by_user(ranked, "halfer").score < 0.6


def test_it_matches_unicode_and_punctuation_accent_and_case_insensitively():
    expected = album("Sigur Rós", "( )", VAKA_TRACKS, 2002)
    flac = "@@kfmzq\\Music\\Sigur Rós\\2002 - ( ) [FLAC]"
    plain = "D:\\Rips\\SIGUR ROS - ( ) (2002) [320]"
    takk = "@@kfmzq\\Music\\Sigur Rós\\2005 - Takk... [FLAC]"
    best, ranked = winner([
        response("takkfan", audio(takk, [("Takk...", 116), ("Glósóli", 375), ("Hoppípolla", 268)])),
        response("asciifan", audio(plain, [(t.replace("ó", "o").replace("á", "a").replace("ð", "d").upper(), n)
                                           for t, n in VAKA_TRACKS], fmt="mp3")),
        response("nordicfan", audio(flac, VAKA_TRACKS) + extra(flac, "cover.jpg")),
    ], expected)
    assert best.user == "nordicfan"
    ascii_copy = by_user(ranked, "asciifan")
    assert ascii_copy.factor("completeness").value == 1.0  # "NJOSNAVELIN" is "Njósnavélin"
    assert ascii_copy.factor("title").value == 1.0
    assert ascii_copy.score >= 0.6
    assert by_user(ranked, "takkfan").score < 0.1


def test_it_reads_ac_dc_as_ac_dc():
    expected = album("AC/DC", "Back in Black", [("Hells Bells", 312), ("Shoot to Thrill", 317),
                                                 ("What Do You Do for Money Honey", 215)], 1980)
    folder = "@@rock\\AC-DC\\1980 - Back in Black [MP3 320]"
    best, _ = winner([response("rockvault", audio(folder, expected_tracks(expected), fmt="mp3",
                                                  pattern="{n:02} AC-DC - {title}"))], expected)
    assert best.factor("title").reason == "album named; artist named"
    assert best.score == pytest.approx(0.875)  # all there; MP3 is the second preferred format


def expected_tracks(expected):
    return [(t.title, t.length) for t in expected.tracks]


def test_it_queues_the_only_complete_flac_from_a_user_without_a_free_slot():
    flac = "C:\\Users\\Sam\\Music\\Portishead - Dummy [FLAC]"
    mp3 = "@@mp3\\Portishead - Dummy (1994) [320]"
    partial = "@@part\\Portishead\\Dummy [FLAC]"
    best, ranked = winner([
        response("fastmp3", audio(mp3, DUMMY_TRACKS, fmt="mp3", bitrate=320), speed=5_000_000),
        response("partflac", audio(partial, DUMMY_TRACKS[:10]), speed=5_000_000),
        response("busysam", audio(flac, DUMMY_TRACKS), slot=False, speed=180_000, queue=37),
    ])
    assert best.user == "busysam"
    assert "free_slot: no free upload slot" in best.reasons
    assert "quality: FLAC (preference 1 of 2), 16-bit/44.1 kHz" in best.reasons
    assert [c.user for c in ranked] == ["busysam", "fastmp3", "partflac"]
    assert ranked[1].score >= 0.6 > ranked[2].score


def test_it_ranks_down_a_user_who_failed_us_twice():
    one = "@@a\\Portishead - Dummy [FLAC]"
    two = "@@b\\Portishead - Dummy [FLAC]"
    responses = [response("flaky", audio(one, DUMMY_TRACKS), speed=9_000_000),
                 response("steady", audio(two, DUMMY_TRACKS), speed=1_000_000)]
    assert winner(responses)[0].user == "flaky"
    best, ranked = winner(responses, users={"flaky": UserRecord(failures=2, recent_failures=2)})
    assert best.user == "steady"
    assert "reliability: failed us 2 times since the last success" in by_user(ranked, "flaky").reasons


def test_it_brings_extra_files_by_setting_without_changing_the_score():
    folder = "@@x\\Portishead - Dummy [FLAC]"
    bare = winner([response("u", audio(folder, DUMMY_TRACKS))])[0]
    dressed = winner([response("u", audio(folder, DUMMY_TRACKS) + extra(folder, "cover.jpg", "Dummy.cue",
                                                                        "Dummy.log", "info.nfo", "scans.zip"))])[0]
    assert dressed.score == bare.score
    assert sorted(f.basename for f in dressed.extras) == ["Dummy.cue", "Dummy.log", "cover.jpg", "info.nfo"]
    assert len(dressed.files) == 15
    without = score_folders([response("u", audio(folder, DUMMY_TRACKS) + extra(folder, "cover.jpg"))], DUMMY,
                            Preferences(include_extra_files=False))[0]
    assert without.extras == () and len(without.files) == 11


def test_it_gives_one_candidate_per_format_for_a_folder_with_two_formats():
    folder = "@@both\\Portishead - Dummy"
    best, ranked = winner([response("both", audio(folder, DUMMY_TRACKS) + audio(folder, DUMMY_TRACKS, fmt="mp3"))])
    assert [c.format for c in ranked] == ["flac", "mp3"]
    assert all(len(c.audio) == 11 for c in ranked)
    assert "the folder also holds MP3 files" in best.reasons


def test_it_penalises_far_more_files_than_expected():
    folder = "@@dump\\Portishead\\Everything"
    best, _ = winner([response("dump", audio(folder, DUMMY_TRACKS + THIRD_TRACKS + THIRD_TRACKS[:5],
                                             pattern="{n:03} - {title}"))])
    assert best.factor("completeness").value == 0.3
    assert best.score < 0.6


def test_it_expects_the_count_most_matching_folders_agree_on_without_musicbrainz():
    expected = ExpectedAlbum("Portishead", "Dummy")
    full = [response(f"u{n}", audio(f"@@{n}\\Portishead - Dummy", DUMMY_TRACKS)) for n in range(3)]
    short = response("short", audio("@@s\\Portishead - Dummy", DUMMY_TRACKS[:9]))
    best, ranked = winner(full + [short], expected)
    assert best.factor("completeness").reason == "11 tracks, as most matching folders hold"
    assert by_user(ranked, "short").factor("completeness").reason == \
        "9 files but most matching folders hold 11 tracks"
    assert by_user(ranked, "short").score < 0.6
    # Only a track count (no titles) also works.
    counted = ExpectedAlbum("Portishead", "Dummy", track_count=11)
    assert winner(full, counted)[0].factor("completeness").reason == "11 tracks, as the album has"


def test_it_matches_files_named_only_by_number_by_position_and_length():
    folder = "@@num\\Portishead - Dummy"
    files = [SearchFile(f"{folder}\\Track{n:02}.flac", 1000, "flac", length=length, bit_depth=16, sample_rate=44100)
             for n, (_t, length) in enumerate(DUMMY_TRACKS, start=1)]
    best, _ = winner([response("num", files)])
    assert best.factor("completeness").value == 1.0


def test_it_scores_despite_missing_attributes_and_an_empty_extension():
    folder = "H:\\Portishead\\Dummy"
    files = [SearchFile(f"{folder}\\{n:02} - {t}.flac", 30_000_000, "") for n, (t, _l) in enumerate(DUMMY_TRACKS, 1)]
    best, _ = winner([response("oddpeer", files)])
    assert best.format == "flac"
    assert best.factor("completeness").reason == "all 11 tracks"
    assert best.score >= 0.6


def test_it_scores_files_not_folders_for_a_single_track_entry():
    expected = ExpectedAlbum("Portishead", "Glory Box", is_track=True)
    folder = "@@a\\Portishead - Dummy [FLAC]"
    best, ranked = winner([response("a", audio(folder, DUMMY_TRACKS)),
                           response("b", audio("@@b\\Portishead - Live", [("Glory Box (Live)", 330)]))], expected)
    assert (best.user, best.audio[0].basename) == ("a", "11 - Glory Box.flac")
    assert len(best.files) == 1
    assert "looks like another version: live" in by_user(ranked, "b").factor("title").reason


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize("directory, folder", [
    ("@@x\\Album\\CD1", "@@x\\Album"), ("@@x\\Album\\Disc 2", "@@x\\Album"),
    ("@@x\\Album\\cd 03 - Extras", "@@x\\Album"),
    ("@@x\\Album\\[CD2]", "@@x\\Album"), ("@@x\\Album", "@@x\\Album"), ("@@x\\Vol 2", "@@x\\Vol 2"),
    ("@@x\\CDs\\Album", "@@x\\CDs\\Album"),
])
def test_it_finds_the_album_folder_of_a_disc_subfolder(directory, folder):
    assert album_folder(directory) == folder


@pytest.mark.parametrize("name, number, tail", [
    ("01 - Untitled #1 (Vaka).flac", 1, ("untitled", "1", "vaka")),
    ("1-05 Song Name.flac", 5, ("song", "name")),
    ("Artist - Album - 07 - Title.mp3", 7, ("title",)),
    ("Portishead - 02 - Sour Times.flac", 2, ("sour", "times")),
    ("Track01.flac", 1, ()),
    ("01. It's a Fire.mp3", 1, ("it", "s", "a", "fire")),
])
def test_it_takes_file_names_apart(name, number, tail):
    parsed = parse_file_name(SearchFile(f"x\\{name}", 1))
    assert (parsed.number, parsed.tail) == (number, tail)


def test_it_merges_responses_of_several_queries_without_counting_a_file_twice():
    folder = "@@x\\Portishead - Dummy"
    first = response("u", audio(folder, DUMMY_TRACKS[:6]))
    second = response("u", audio(folder, DUMMY_TRACKS))
    merged = merge_responses([first, second])
    assert len(merged) == 1 and len(merged[0].files) == 11
    assert len(group_folders(merged)[0].audio["flac"]) == 11


def test_it_keeps_in_the_summary_what_the_history_shows():
    best, _ = winner([response("u", audio("@@x\\Portishead - Dummy", DUMMY_TRACKS), slot=False, queue=3)])
    summary = best.summary(min_score=0.6)
    assert summary["accepted"] is True
    assert summary["files"] == 11 and summary["free_slot"] is False and summary["queue"] == 3
    assert set(summary["factors"]) == {"completeness", "title", "quality", "free_slot", "speed", "queue", "reliability"}
    assert summary["reasons"][0] == "completeness: all 11 tracks with matching lengths"


def test_it_takes_the_bitrate_of_a_lossy_rip_without_attributes_from_the_file_sizes():
    folder = "G:\\mp3\\Portishead - Dummy"
    files = [SearchFile(f"{folder}\\{n:02} - {t}.mp3", 16_000 * length, "mp3")
             for n, (t, length) in enumerate(DUMMY_TRACKS, start=1)]
    best, _ = winner([response("lowq", files)])
    assert best.factor("quality").reason == \
        "MP3 (preference 2 of 2), 128 kbps (estimated from the file sizes) is below the minimum of 192"
    assert best.score < 0.3
