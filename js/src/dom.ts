// Small DOM helpers shared by the widgets.
//
// Safety rule of this package: text that comes from the kernel (file names, class names,
// generated sentences, words) is untrusted. It only ever reaches the page through
// `textContent` or `document.createTextNode`, never through innerHTML, insertAdjacentHTML
// or attribute strings that a browser would parse as markup.

import type { AnyModel } from "@anywidget/types";

type Attributes = Record<string, string | number | boolean | undefined>;

/** An element with attributes, set with setAttribute, and children, added as text or nodes. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    element.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return element;
}

/** Bytes as the kernel sends them (a DataView in JupyterLab; other frontends vary). */
export type Bytes = DataView | ArrayBuffer | Uint8Array | null | undefined;

export function byteLength(bytes: Bytes): number {
  return bytes ? bytes.byteLength : 0;
}

function asBlobPart(bytes: DataView | ArrayBuffer | Uint8Array): BlobPart {
  if (bytes instanceof ArrayBuffer) return bytes;
  // Copy the view's window: a DataView may look at part of a larger buffer.
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength).slice() as BlobPart;
}

/**
 * Shows image bytes (PNG unless `type` says otherwise) in an <img> through an object URL (no base64), and revokes the previous URL.
 * Returns a function that revokes the current one (call it when the view goes away).
 */
export function pngSetter(img: HTMLImageElement, type = "image/png"): { set(bytes: Bytes): void; dispose(): void } {
  let url: string | null = null;
  const revoke = () => {
    if (url !== null && typeof URL.revokeObjectURL === "function") URL.revokeObjectURL(url);
    url = null;
  };
  return {
    set(bytes: Bytes) {
      revoke();
      if (!bytes || bytes.byteLength === 0 || typeof URL.createObjectURL !== "function") {
        img.removeAttribute("src");
        img.hidden = true;
        return;
      }
      url = URL.createObjectURL(new Blob([asBlobPart(bytes)], { type }));
      img.src = url;
      img.hidden = false;
    },
    dispose: revoke,
  };
}

/** A sentence and the (start, end) offsets of the tokens to mark, as Python's words.word_spans finds them. */
export interface MarkedSentence {
  text: string;
  spans: [number, number][];
}

/**
 * A sentence as text nodes, with <mark> around each span. Offsets count code points, as Python
 * strings do (not UTF-16 units: an emoji before a word must not shift its mark). Spans out of
 * order, overlapping or out of range are skipped. Built from text nodes only: whatever the
 * sentence holds is shown, never parsed.
 */
export function highlighted({ text, spans }: MarkedSentence): DocumentFragment {
  const fragment = document.createDocumentFragment();
  const points = Array.from(text);
  let last = 0;
  for (const span of spans ?? []) {
    const [start, end] = span;
    if (!(Number.isInteger(start) && Number.isInteger(end) && last <= start && start < end && end <= points.length)) continue;
    if (start > last) fragment.append(document.createTextNode(points.slice(last, start).join("")));
    const mark = document.createElement("mark");
    mark.textContent = points.slice(start, end).join("");
    fragment.append(mark);
    last = end;
  }
  if (last < points.length) fragment.append(document.createTextNode(points.slice(last).join("")));
  return fragment;
}

export function percent(value: number, digits = 0): string {
  return `${(100 * value).toFixed(digits)}%`;
}

/** The model calls a view needs: run a callback now and on every change of some traits, set a
 * trait from the page, and forget every callback when the view goes (the returned `dispose`). */
export function binding<T extends object>(model: AnyModel<T>) {
  const listeners: [string, () => void][] = [];
  return {
    on(keys: (keyof T & string)[], callback: () => void): void {
      for (const key of keys) {
        model.on(`change:${key}`, callback);
        listeners.push([`change:${key}`, callback]);
      }
      callback();
    },
    commit<K extends keyof T & string>(key: K, value: T[K]): void {
      model.set(key, value);
      model.save_changes();
    },
    dispose(): void {
      for (const [event, callback] of listeners) model.off(event, callback);
    },
  };
}
