// The comparison viewer: before and after on one frame split by a handle (drag it, or focus it and use the
// arrow keys), a 100 % zoom that pans by dragging, scrolling or the arrow keys, and a side-by-side mode.
// Without a "before" (the original is only kept in the tab that uploaded it) it shows the result alone.

import { el } from "./api.js";

const STEP = 1;
const BIG_STEP = 10;

function toggle(label) {
  const button = el("button", { type: "button", className: "toggle", textContent: label });
  button.setAttribute("aria-pressed", "false");
  return button;
}

function pane(label, ...images) {
  const canvas = el("div", { className: "canvas" }, ...images);
  const stage = el("div", { className: "stage" }, canvas);
  const tag = el("span", { className: `tag ${label.toLowerCase()}`, textContent: label });
  return { stage, canvas, tag, label };
}

/**
 * @param {{before: string|null, after: string, width: number, height: number, name: string}} options
 *   width and height: the result's size in pixels (the before image is drawn at that size too).
 */
export function createViewer({ before, after, width, height, name }) {
  const afterImg = el("img", { src: after, alt: `${name}, upscaled`, className: "after", draggable: false });
  const beforeImg = before
    ? el("img", { src: before, alt: `${name}, original`, className: "before", draggable: false })
    : null;
  const view = { split: 50, zoom: false, side: false };
  const root = el("div", { className: "viewer" });
  const zoomButton = toggle("100 %");
  zoomButton.setAttribute("aria-label", `View ${name} at 100 % (actual pixels)`);
  const sideButton = toggle("Side by side");
  const tools = el("div", { className: "tools" }, beforeImg ? sideButton : null, zoomButton);
  const frame = el("div", { className: "frame" });
  const grip = el("div", { className: "grip", tabIndex: 0 });
  grip.setAttribute("role", "slider");
  grip.setAttribute("aria-label", `Before/after split of ${name}`);
  grip.setAttribute("aria-valuemin", "0");
  grip.setAttribute("aria-valuemax", "100");
  grip.setAttribute("aria-orientation", "horizontal");
  const divider = el("div", { className: "divider" }, grip);
  root.append(tools, frame);
  root.style.setProperty("--ratio", `${width} / ${height}`);
  // At 100 % a small result gets a frame its own height (plus room for a scroll bar), not a tall empty one.
  root.style.setProperty("--zoom-height", `${height + 16}px`);
  let panes = [];

  function clip() {
    if (!beforeImg || view.side) {
      beforeImg?.style.removeProperty("clip-path");
      return;
    }
    const { stage, canvas } = panes[0];
    const cut = stage.scrollLeft + (view.split / 100) * stage.clientWidth - canvas.offsetLeft;
    beforeImg.style.clipPath = `inset(0 ${Math.max(0, canvas.offsetWidth - cut)}px 0 0)`;
    divider.style.left = `${view.split}%`;
    grip.setAttribute("aria-valuenow", String(Math.round(view.split)));
    grip.setAttribute("aria-valuetext", `${Math.round(view.split)} % before`);
  }

  function setSplit(value) {
    view.split = Math.min(100, Math.max(0, value));
    clip();
  }

  function layout() {
    frame.replaceChildren();
    frame.className = `frame${view.zoom ? " zoomed" : ""}${view.side ? " side" : ""}`;
    if (beforeImg && view.side) {
      panes = [pane("Before", beforeImg), pane("After", afterImg)];
    } else {
      panes = [pane("After", ...(beforeImg ? [afterImg, beforeImg] : [afterImg]))];
    }
    for (const { stage, canvas, tag, label } of panes) {
      canvas.style.width = view.zoom ? `${width}px` : "";
      canvas.style.height = view.zoom ? `${height}px` : "";
      if (view.zoom) {
        stage.tabIndex = 0;
        stage.setAttribute("role", "region");
        const which = view.side ? `${label}: ` : "";
        stage.setAttribute("aria-label", `${which}${name} at 100 %: drag or use the arrow keys to move around`);
      }
      const box = el("div", { className: "pane" }, stage, tag);
      frame.append(box);
      stage.addEventListener("scroll", () => follow(stage));
    }
    if (beforeImg && !view.side) {
      const beforeTag = el("span", { className: "tag before", textContent: "Before" });
      frame.firstChild.append(beforeTag, divider);
    }
    if (view.zoom) {
      for (const { stage } of panes) {
        stage.scrollLeft = (width - stage.clientWidth) / 2;
        stage.scrollTop = (height - stage.clientHeight) / 2;
      }
    }
    clip();
  }

  // Side by side at 100 %, both panes show the same place.
  function follow(source) {
    for (const { stage } of panes) {
      if (stage !== source) {
        stage.scrollLeft = source.scrollLeft;
        stage.scrollTop = source.scrollTop;
      }
    }
    clip();
  }

  function splitAt(clientX) {
    const box = panes[0].stage.getBoundingClientRect();
    setSplit(((clientX - box.left) / box.width) * 100);
  }

  // Fit: pressing anywhere on the image moves the split there and drags it. 100 %: the grip drags the
  // split, anywhere else drags the image (touch scrolls natively).
  frame.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    const onGrip = grip.contains(event.target);
    const splitting = beforeImg && !view.side && (onGrip || !view.zoom);
    if (!splitting && (!view.zoom || event.pointerType === "touch")) return;
    event.preventDefault();
    const stage = event.target.closest(".stage") || panes[0].stage;
    const start = { x: event.clientX, y: event.clientY, left: stage.scrollLeft, top: stage.scrollTop };
    frame.setPointerCapture(event.pointerId);
    if (splitting) {
      splitAt(event.clientX);
      grip.focus({ preventScroll: true });
    }
    const move = (moved) => {
      if (splitting) splitAt(moved.clientX);
      else {
        stage.scrollLeft = start.left - (moved.clientX - start.x);
        stage.scrollTop = start.top - (moved.clientY - start.y);
      }
    };
    const end = () => {
      frame.removeEventListener("pointermove", move);
      frame.removeEventListener("pointerup", end);
      frame.removeEventListener("pointercancel", end);
    };
    frame.addEventListener("pointermove", move);
    frame.addEventListener("pointerup", end);
    frame.addEventListener("pointercancel", end);
  });

  grip.addEventListener("keydown", (event) => {
    const moves = {
      ArrowLeft: -STEP, ArrowDown: -STEP, ArrowRight: STEP, ArrowUp: STEP,
      PageDown: -BIG_STEP, PageUp: BIG_STEP, Home: -100, End: 100,
    };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const step = event.shiftKey && Math.abs(moves[event.key]) === STEP ? moves[event.key] * BIG_STEP : moves[event.key];
    setSplit(view.split + step);
  });

  zoomButton.addEventListener("click", () => {
    view.zoom = !view.zoom;
    zoomButton.setAttribute("aria-pressed", String(view.zoom));
    layout();
  });
  sideButton.addEventListener("click", () => {
    view.side = !view.side;
    sideButton.setAttribute("aria-pressed", String(view.side));
    layout();
  });
  new ResizeObserver(clip).observe(frame);
  layout();
  return root;
}
