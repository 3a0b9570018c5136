// Resonance previews: a play button on each card plays the album's 30-second previews,
// one track after the other, streamed by Resonance itself (GET /previews/<mbid>). One
// player for the page, so one preview plays at a time. Without JavaScript the buttons stay hidden.
(function () {
  "use strict";

  var player = null;      // the one <audio> element
  var playing = null;     // {box, tracks, index} of the card that plays
  var lists = {};         // track lists already asked for, by URL

  function audio() {
    if (!player) {
      player = document.createElement("audio");
      player.id = "preview-player";
      player.preload = "none";
      player.hidden = true;
      player.addEventListener("ended", function () { next(1); });
      player.addEventListener("error", function () {
        if (playing) { say(playing.box, "No preview"); stop(); }
      });
      player.addEventListener("playing", function () {
        if (playing) { show(playing); }
      });
      document.body.appendChild(player);
    }
    return player;
  }

  function say(box, text) {
    var now = box.querySelector(".preview-now");
    if (now) { now.textContent = text; }
  }

  function show(state) {
    var track = state.tracks[state.index];
    state.box.classList.add("playing");
    say(state.box, "Playing " + (state.index + 1) + "/" + state.tracks.length + ": " + track.title);
  }

  function setPressed(box, pressed) {
    var button = box.querySelector(".preview-play");
    if (!button) { return; }
    button.setAttribute("aria-pressed", pressed ? "true" : "false");
    var label = button.getAttribute("aria-label") || "";
    button.setAttribute("aria-label", pressed ? label.replace(/^Play/, "Stop") : label.replace(/^Stop/, "Play"));
  }

  function stop() {
    if (!playing) { return; }
    var box = playing.box;
    playing = null;
    if (player) { player.pause(); player.removeAttribute("src"); }
    box.classList.remove("playing");
    setPressed(box, false);
    if (/^Playing/.test((box.querySelector(".preview-now") || {}).textContent || "")) { say(box, ""); }
  }

  function next(step) {
    if (!playing) { return; }
    var index = playing.index + step;
    if (index >= playing.tracks.length) { stop(); return; }
    playing.index = index;
    var element = audio();
    element.src = playing.tracks[index].url;
    var started = element.play();
    if (started && started.catch) {
      started.catch(function () { /* a stop or another card's play came first */ });
    }
  }

  function tracksOf(url) {
    if (lists[url]) { return Promise.resolve(lists[url]); }
    return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : {tracks: [], message: "No preview"}; })
      .catch(function () { return {tracks: [], message: "No preview"}; })
      .then(function (answer) {
        if (answer.tracks && answer.tracks.length) { lists[url] = answer; }
        return answer;
      });
  }

  function play(box) {
    var wasThis = playing && playing.box === box;
    stop();
    if (wasThis) { return; }
    var state = {box: box, tracks: [], index: -1};
    playing = state;
    setPressed(box, true);
    say(box, "Loading…");
    tracksOf(box.getAttribute("data-preview")).then(function (answer) {
      if (playing !== state) { return; }
      if (!answer.tracks || !answer.tracks.length) {
        stop();
        say(box, answer.message || "No preview");
        return;
      }
      state.tracks = answer.tracks;
      next(1);
    });
  }

  function reveal(root) {
    var boxes = root.querySelectorAll ? root.querySelectorAll(".preview[hidden]") : [];
    Array.prototype.forEach.call(boxes, function (box) { box.hidden = false; });
    if (root.matches && root.matches(".preview[hidden]")) { root.hidden = false; }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".preview-play");
    if (!button) { return; }
    event.preventDefault();
    play(button.closest(".preview"));
  });

  // Cards that htmx swaps in get their buttons too; a card swapped out (approved,
  // rejected) stops its preview.
  document.addEventListener("htmx:load", function (event) { reveal(event.detail.elt); });
  document.addEventListener("htmx:afterSwap", function () {
    if (playing && !playing.box.isConnected) { stop(); }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { reveal(document); });
  } else {
    reveal(document);
  }
})();
