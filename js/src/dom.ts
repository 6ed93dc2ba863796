// Small DOM helpers shared by the widgets.
//
// Safety rule of this package: text that comes from the kernel (file names, class names,
// generated sentences, words) is untrusted. It only ever reaches the page through
// `textContent` or `document.createTextNode`, never through innerHTML, insertAdjacentHTML
// or attribute strings that a browser would parse as markup.

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

// A word as Python's words module sees one: letters, inner apostrophes or hyphens joining more.
const TOKEN = /[\p{L}\p{M}]+(?:['\u2019\u2018\u2010\u2011-][\p{L}\p{M}]+)*/gu;

export function normalise(token: string): string {
  return token
    .replace(/[\u2019\u2018]/g, "'")
    .replace(/[\u2010\u2011]/g, "-")
    .toLowerCase();
}

/**
 * A sentence as text nodes, with <mark> around each token whose normalised form is in `forms`.
 * Built from text nodes only: whatever the sentence holds is shown, never parsed.
 */
export function highlighted(sentence: string, forms: ReadonlySet<string>): DocumentFragment {
  const fragment = document.createDocumentFragment();
  let last = 0;
  if (forms.size > 0) {
    for (const match of sentence.matchAll(TOKEN)) {
      const start = match.index ?? 0;
      if (!forms.has(normalise(match[0]))) continue;
      if (start > last) fragment.append(document.createTextNode(sentence.slice(last, start)));
      const mark = document.createElement("mark");
      mark.textContent = match[0];
      fragment.append(mark);
      last = start + match[0].length;
    }
  }
  if (last < sentence.length) fragment.append(document.createTextNode(sentence.slice(last)));
  return fragment;
}

export function percent(value: number, digits = 0): string {
  return `${(100 * value).toFixed(digits)}%`;
}
