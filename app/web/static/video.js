// Video on the page: which files are clips, their preview in the queue, and a result that plays, with the
// before/after viewer on the frame it is paused at (the original clip, kept in this tab, is sought to the
// same time: the result keeps every frame's timestamp, so both show the same frame).

import { el } from "./api.js";
import { createViewer } from "./compare.js";

const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp", "image/tiff"];
const VIDEO_TYPES = ["video/mp4", "video/quicktime", "video/webm", "video/x-matroska"];
const VIDEO_SUFFIX = /\.(mp4|m4v|mov|webm|mkv)$/i;

export const FORMATS_IN_WORDS = "images (PNG, JPEG, WebP, GIF, BMP, TIFF) or videos (MP4, MOV, WebM)";

export function isVideo(file) {
  return VIDEO_TYPES.includes(file.type) || (!file.type && VIDEO_SUFFIX.test(file.name));
}

// A type the browser names and we don't take is refused here; an unnamed one goes to the service, which
// reads the content (the browser guesses types from the name only).
export function isRefusedType(file) {
  return Boolean(file.type) && !IMAGE_TYPES.includes(file.type) && !VIDEO_TYPES.includes(file.type);
}

// Where the preview's poster frame is taken: past a first frame that is often black (a fade in).
const POSTER_SECONDS = 0.1;

/** The chosen clip, muted, to check before paying for it, showing a frame before it is played. */
export function clipPreview(url, name) {
  const video = el("video", { src: url, controls: true, muted: true, preload: "metadata", className: "clip" });
  video.playsInline = true;
  video.setAttribute("aria-label", `Preview of ${name}`);
  const box = el("div", { className: "clip-preview" }, video);
  // With only its metadata loaded a <video> shows a black box: seeking a moment in makes the browser
  // decode that frame and show it, as a poster (the clip stays unplayed until its play button).
  video.addEventListener("loadedmetadata", () => {
    if (video.currentTime === 0) video.currentTime = Math.min(POSTER_SECONDS, video.duration / 2 || 0);
  }, { once: true });
  video.addEventListener("error", () => {
    box.replaceChildren(el("p", { className: "muted small",
      textContent: "This browser can't play this clip; the service reads it all the same." }));
  }, { once: true });
  return box;
}

// The next `name` event, or the element's error; the other listener is removed (pauses add up).
function nextEvent(target, name) {
  return new Promise((resolve, reject) => {
    const done = () => target.removeEventListener("error", failed);
    const happened = (event) => { done(); resolve(event); };
    const failed = () => { target.removeEventListener(name, happened); reject(new Error("the clip can't be played here")); };
    target.addEventListener(name, happened, { once: true });
    target.addEventListener("error", failed, { once: true });
  });
}

// The frame a video shows now, as a PNG (lossless: the comparison is about pixels). A video from another
// host (results on S3) taints the canvas, and toBlob then throws a SecurityError.
async function frameImage(video) {
  const canvas = el("canvas", { width: video.videoWidth, height: video.videoHeight });
  canvas.getContext("2d").drawImage(video, 0, 0);
  const blob = await new Promise((resolve) => { canvas.toBlob(resolve, "image/png"); });
  if (!blob) throw new Error("the frame could not be read");
  return URL.createObjectURL(blob);
}

async function originalAt(original, seconds) {
  if (original.readyState < HTMLMediaElement.HAVE_METADATA) await nextEvent(original, "loadedmetadata");
  const seeked = nextEvent(original, "seeked");
  original.currentTime = Math.min(seconds, original.duration || seconds);
  await seeked;
  return frameImage(original);
}

const at = (seconds) => `${seconds.toFixed(2)} s`;

/**
 * The result as a <video controls>; with `before` (an object URL of the uploaded clip) a before/after
 * viewer of the paused frame under it, redrawn on every pause or seek and hidden while playing.
 * `release()` frees the paused frames' PNGs (object URLs) when the result leaves the page.
 * @param {{before: string|null, after: string, width: number, height: number, name: string}} options
 * @returns {{element: HTMLElement, release: () => void}}
 */
export function createVideoResult({ before, after, width, height, name }) {
  const player = el("video", { src: after, controls: true, preload: "auto", className: "player" });
  player.playsInline = true;
  player.setAttribute("aria-label", `${name}, upscaled`);
  const note = el("p", { className: "muted small", textContent: before
    ? "Pause anywhere to compare that frame with the original's, below."
    : "Originals are deleted when the upscale ends, so only the tab that uploaded it can compare." });
  const slot = el("div", { className: "paused-frame" });
  const root = el("div", { className: "video-result" }, player, note, slot);
  root.style.setProperty("--ratio", `${width} / ${height}`);
  if (!before) return { element: root, release: () => {} };

  const original = el("video", { src: before, muted: true, preload: "auto" });
  const shown = [];
  let turn = 0;

  async function compare() {
    const mine = ++turn;
    const seconds = player.currentTime;
    let afterFrame = null;
    try {
      afterFrame = await frameImage(player);
      const beforeFrame = await originalAt(original, seconds);
      if (mine !== turn || !player.paused) {
        URL.revokeObjectURL(afterFrame);
        URL.revokeObjectURL(beforeFrame);
        return;
      }
      for (const url of shown.splice(0)) URL.revokeObjectURL(url);
      shown.push(afterFrame, beforeFrame);
      const caption = el("p", { className: "frame-caption",
        textContent: `Paused at ${at(seconds)}: the original and the upscale at this moment.` });
      slot.replaceChildren(caption, createViewer({
        before: beforeFrame, after: afterFrame, width, height, name: `${name} at ${at(seconds)}`,
      }));
    } catch (error) {
      if (afterFrame && !shown.includes(afterFrame)) URL.revokeObjectURL(afterFrame);
      const why = error.name === "SecurityError"
        ? "the result is served from another host, whose frames this browser keeps from the page"
        : error.message;
      if (mine === turn) {
        slot.replaceChildren(el("p", { className: "muted small", textContent: `No before/after here: ${why}.` }));
      }
    }
  }

  player.addEventListener("play", () => { turn += 1; slot.replaceChildren(); });
  player.addEventListener("seeked", () => { if (player.paused) compare(); });
  player.addEventListener("pause", () => { if (!player.seeking) compare(); });
  player.addEventListener("loadeddata", () => { if (player.paused) compare(); }, { once: true });
  function release() {
    turn += 1; // a comparison still drawing sees it is stale and frees its own frames
    for (const url of shown.splice(0)) URL.revokeObjectURL(url);
    slot.replaceChildren();
  }
  return { element: root, release };
}
