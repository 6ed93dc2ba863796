// The DatasetReport's own view: the word search and grouping switch, the selected word's slice
// card (its slices' accuracy, reliance with a button that measures it, the command that uses its
// words as pseudo-groups), the paged image grid of the selected word, the selected image's stored
// explanation, and, in sections that open on demand, accuracy per group (and pseudo-group) and
// the compared runs' words.
//
// State lives in the model (synced with texplain_widgets.widgets.report_panel.ReportPanel): the
// kernel sends one page of records and JPEG thumbnails (binary buffers); this view renders them
// and writes back `by`, `search`, `selected_word`, `page` and `selected_image`, and sends
// {action: "measure" | "cancel"} for the card's reliance. Every text from the kernel reaches the
// page as a text node.
//
// Inside a DatasetReport (.tx-report-layout) the root takes no box of its own: its parts (head,
// bar, images, hint, stored, more) are placed by report.css's grid beside the word chart and the
// Explorer, which are other widgets.
import type { RenderProps } from "@anywidget/types";

import { binding, type Bytes, h, highlighted, type MarkedSentence, percent, pngSetter } from "./dom";
import "./report.css";

export interface AccuracyRow {
  by: string;
  name: string;
  n: number;
  correct: number;
  accuracy: number;
  worst: boolean;
}

export interface GridItem {
  id: number;
  name: string;
  share: number | null;
  count: number;
  label: string | null;
  group: string | null;
  predicted: string;
  error: string;
}

export interface Stored {
  id?: number;
  name?: string;
  label?: string | null;
  group?: string | null;
  prediction?: string;
  probability?: number;
  sentences?: MarkedSentence[];
  n_sentences?: number;
  words?: { word: string; count: number; share: number; above_prior?: boolean; note?: string }[];
  maps?: string;
}

export interface SliceRow {
  label: string;
  n: string;
  n_outside?: string;
  inside: string;
  outside: string;
  gap: string;
}

export interface SliceCard {
  word?: string;
  title?: string;
  lines?: string[];
  rows?: SliceRow[];
  pairs?: string[];
  searching?: boolean;
  reliance?: string;
  pseudo_groups?: string;
  words?: string[];
  command?: string;
  python?: string;
  measure?: string;
  measure_title?: string;
  measure_note?: string;
}

export interface RelianceStatus {
  state?: string;
  word?: string;
  done?: number;
  total?: number;
  message?: string;
}

export interface CompareRow {
  group: string;
  word: string;
  share: number;
  other_share: number;
  difference: number;
  z?: number;
}

export interface ReportModel {
  title: string;
  error: string;
  note: string;
  accuracy: AccuracyRow[];
  by: string;
  by_options: string[];
  search: string;
  matches: string[];
  selected_word: string;
  n_with: number;
  page: number;
  n_pages: number;
  items: GridItem[];
  thumbnails: Bytes[];
  selected_image: number;
  stored: Stored;
  card: SliceCard;
  reliance_status: RelianceStatus;
  compare: CompareRow[];
  compare_names: string[];
  [key: string]: unknown;
}

const BY_LABELS: Record<string, string> = {
  predicted: "predicted class",
  label: "true label",
  group: "group",
  errors: "errors per label",
};
const ACCURACY_BY: Record<string, string> = { group: "group", "pseudo-group": "pseudo-group" };

export function render({ model, el }: Pick<RenderProps<ReportModel>, "model" | "el">): () => void {
  const { on, commit, dispose } = binding(model);

  const title = h("h3", { class: "tx-report-title" });
  const error = h("div", { class: "tx-error", role: "alert" });
  const note = h("div", { class: "tx-note", "aria-live": "polite" });
  const accuracy = h("table", { class: "tx-accuracy" });

  const bySelect = h("select", { class: "tx-by", "aria-label": "words by" });
  bySelect.addEventListener("change", () => commit("by", bySelect.value));
  const search = h("input", { type: "search", class: "tx-search", placeholder: "find a word", "aria-label": "find a word" });
  search.addEventListener("input", () => commit("search", search.value));
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") commit("selected_word", search.value.trim());
  });
  const matches = h("div", { class: "tx-matches" });
  const controls = h("div", { class: "tx-report-bar" }, h("label", {}, "words by ", bySelect), search, matches);

  const gridTitle = h("span", { class: "tx-grid-title", "aria-live": "polite", title: "by the word's share of their sentences" });
  const previous = h("button", { type: "button", class: "tx-previous", "aria-label": "previous page" }, "‹");
  const next = h("button", { type: "button", class: "tx-next", "aria-label": "next page" }, "›");
  const pageInfo = h("span", { class: "tx-page" });
  previous.addEventListener("click", () => commit("page", Math.max(0, (model.get("page") ?? 0) - 1)));
  next.addEventListener("click", () => commit("page", (model.get("page") ?? 0) + 1));
  const pager = h("div", { class: "tx-pager" }, gridTitle, previous, pageInfo, next);
  const grid = h("div", { class: "tx-report-grid", role: "listbox", "aria-label": "images with the word" });
  const images = h("div", { class: "tx-report-images" }, pager, grid);
  const hint = h("div", { class: "tx-stored-hint" }, "Click a thumbnail: its stored sentences show here (and its maps, with the run's model).");
  const stored = h("div", { class: "tx-stored" });
  const compare = h("div", { class: "tx-compare" });
  const accuracySummary = h("summary", {});
  const compareSummary = h("summary", {});
  const accuracySection = h("details", { class: "tx-section tx-accuracy-section" }, accuracySummary, accuracy);
  const compareSection = h("details", { class: "tx-section tx-compare-section" }, compareSummary, compare);
  const card = h("div", { class: "tx-slice-card", "aria-label": "the word's slice card" });
  const head = h("div", { class: "tx-report-head" }, title, error, note);
  const more = h("div", { class: "tx-report-more" }, accuracySection, compareSection);
  const root = h("div", { class: "tx-report" }, head, controls, card, images, hint, stored, more);
  el.append(root);

  on(["title"], () => {
    title.textContent = model.get("title") ?? "";
  });
  on(["error"], () => {
    error.textContent = model.get("error") ?? "";
    error.hidden = !model.get("error");
  });
  on(["note"], () => {
    note.textContent = model.get("note") ?? "";
    note.hidden = !model.get("note");
  });

  on(["accuracy"], () => {
    const rows = model.get("accuracy") ?? [];
    accuracy.hidden = accuracySection.hidden = rows.length === 0;
    const all = rows.find((row) => row.by === "all");
    const worst = Object.keys(ACCURACY_BY).map((by) => rows.find((row) => row.worst && row.by === by));
    accuracySummary.textContent = [
      all ? `Accuracy: ${percent(all.accuracy, 1)} of ${all.n} images` : "Accuracy",
      ...worst.map((row) => (row ? `worst ${ACCURACY_BY[row.by]} ${row.name}: ${percent(row.accuracy, 1)}` : "")),
    ]
      .filter(Boolean)
      .join("; ");
    const head = h("tr", {}, h("th", {}, ""), h("th", {}, "images"), h("th", {}, "accuracy"));
    accuracy.replaceChildren(
      h("caption", {}, "Accuracy overall, per class, per group and per pseudo-group (label × the card's words)"),
      head,
      ...rows.map((row) =>
        h(
          "tr",
          { class: row.worst ? "tx-worst" : "", "data-by": row.by },
          h("th", { scope: "row" }, row.by === "all" ? "all images" : `${row.by}: ${row.name}`),
          h("td", {}, `${row.n}`),
          h("td", {}, percent(row.accuracy, 1) + (row.worst ? ` ⚠ worst ${ACCURACY_BY[row.by] ?? "group"}` : "")),
        ),
      ),
    );
  });

  on(["by", "by_options"], () => {
    const options = model.get("by_options") ?? ["predicted"];
    bySelect.replaceChildren(...options.map((key) => h("option", { value: key }, BY_LABELS[key] ?? key)));
    bySelect.value = model.get("by") ?? "predicted";
  });
  on(["search"], () => {
    const value = model.get("search") ?? "";
    if (search.value !== value) search.value = value;
  });
  on(["matches", "selected_word"], () => {
    const selected = model.get("selected_word") ?? "";
    matches.replaceChildren(
      ...(model.get("matches") ?? []).map((word) => {
        const button = h("button", { type: "button", class: word === selected ? "tx-match tx-selected" : "tx-match" }, word);
        button.addEventListener("click", () => commit("selected_word", word));
        return button;
      }),
    );
  });

  let thumbs: { dispose(): void }[] = [];
  on(["items", "thumbnails", "selected_image"], () => {
    for (const thumb of thumbs) thumb.dispose();
    thumbs = [];
    const items = model.get("items") ?? [];
    const bytes = model.get("thumbnails") ?? [];
    const selected = model.get("selected_image");
    grid.replaceChildren(
      ...items.map((item, position) => {
        const img = h("img", { class: "tx-thumb", alt: item.name });
        const setter = pngSetter(img, "image/jpeg");
        setter.set(bytes[position]);
        thumbs.push(setter);
        const right = item.label === null ? "" : item.label === item.predicted ? "tx-correct" : "tx-incorrect";
        const share = item.share === null ? "" : percent(item.share);
        const cell = h(
          "button",
          {
            type: "button",
            class: ["tx-cell", right, item.id === selected ? "tx-selected" : "", item.error ? "tx-broken" : ""].filter(Boolean).join(" "),
            role: "option",
            "aria-selected": item.id === selected ? "true" : "false",
            title: [item.name, item.label && `label: ${item.label}`, `predicted: ${item.predicted}`, item.group && `group: ${item.group}`, item.error]
              .filter(Boolean)
              .join("\n"),
            "data-id": item.id,
          },
          img,
          h("span", { class: "tx-cell-share" }, share),
          h("span", { class: "tx-cell-class" }, item.label === null ? item.predicted : `${item.label} → ${item.predicted}`),
        );
        cell.addEventListener("click", () => commit("selected_image", item.id));
        return cell;
      }),
    );
  });

  on(["selected_word", "n_with", "page", "n_pages"], () => {
    const word = model.get("selected_word") ?? "";
    const n = model.get("n_with") ?? 0;
    const page = model.get("page") ?? 0;
    const pages = model.get("n_pages") ?? 1;
    gridTitle.textContent = word ? `${n} images with “${word}”` : "Click a word to see its images";
    previous.disabled = page <= 0;
    next.disabled = page >= pages - 1;
    pageInfo.textContent = `page ${page + 1} of ${pages}`;
    pager.classList.toggle("tx-empty", !word);
  });

  on(["stored"], () => {
    const s = model.get("stored") ?? {};
    hint.hidden = s.id !== undefined;
    if (s.id === undefined) {
      stored.replaceChildren();
      stored.hidden = true;
      return;
    }
    stored.hidden = false;
    const facts = [s.label ? `label ${s.label}` : "", `predicted ${s.prediction ?? ""} (${percent(s.probability ?? 0, 1)})`, s.group ? `group ${s.group}` : ""];
    stored.replaceChildren(
      h("h4", {}, s.name ?? ""),
      h("div", { class: "tx-stored-facts" }, facts.filter(Boolean).join(" · ")),
      h(
        "div",
        { class: "tx-stored-words" },
        ...(s.words ?? []).map((w) =>
          h("span", { class: w.above_prior === false ? "tx-word tx-prior" : "tx-word", ...(w.note ? { title: w.note } : {}) }, `${w.word} ${percent(w.share)}`),
        ),
      ),
      h("div", { class: "tx-stored-title" }, `Stored sentences (${s.n_sentences ?? 0})`),
      h("ol", { class: "tx-stored-sentences" }, ...(s.sentences ?? []).map((sentence) => h("li", {}, highlighted(sentence)))),
      ...(s.maps ? [h("div", { class: "tx-note tx-maps-note" }, s.maps)] : []),
    );
  });

  let showMitigation = false;
  on(["card", "reliance_status"], () => {
    const c = model.get("card") ?? {};
    card.hidden = !c.word;
    if (!c.word) return void card.replaceChildren();
    const status = model.get("reliance_status") ?? {};
    const running = status.state === "running";
    // Accuracy per label with the word and without, 95% intervals; the gap (without minus with).
    const table = h(
      "table",
      { class: "tx-slice-table", title: (c.lines ?? []).join("\n") },
      h("tr", {}, h("th", {}, "label (n)"), h("th", { title: "accuracy of the images with the word (95% interval)" }, "% right with"), h("th", { title: "accuracy of the label's other images (95% interval)" }, "without"), h("th", { title: "accuracy without minus with, in percentage points" }, "gap")),
      ...(c.rows ?? []).map((row) =>
        h("tr", {}, h("th", { scope: "row" }, `${row.label} (${row.n})`), h("td", {}, row.inside), h("td", { title: `of ${row.n_outside ?? ""}` }, row.outside), h("td", {}, row.gap)),
      ),
    );
    const parts: (Node | string)[] = [h("div", { class: "tx-slice-title", title: (c.lines ?? [])[0] ?? "" }, c.title ?? c.word), table];
    const pairs = c.pairs ?? [];
    if (c.searching) parts.push(h("div", { class: "tx-note tx-slice-pairs" }, "searching the two-word slices…"));
    else if (pairs.length) {
      const summary = h("summary", {}, `${pairs.length} two-word slice${pairs.length === 1 ? "" : "s"} with it`);
      parts.push(h("details", { class: "tx-slice-pairs" }, summary, h("ul", {}, ...pairs.map((line) => h("li", {}, line)))));
    }
    const actions = h("div", { class: "tx-slice-actions" }, h("span", { class: "tx-slice-reliance" }, c.reliance ?? ""));
    if (c.measure) {
      const measure = h("button", { type: "button", class: "tx-measure", title: c.measure_title ?? "" }, c.measure);
      measure.disabled = running;
      measure.addEventListener("click", () => model.send({ action: "measure" }));
      actions.append(measure);
      if (running) {
        const cancel = h("button", { type: "button", class: "tx-measure-cancel" }, "Cancel");
        cancel.addEventListener("click", () => model.send({ action: "cancel" }));
        const progress = h("progress", { class: "tx-measure-progress", max: Math.max(1, status.total ?? 0), value: status.done ?? 0 });
        actions.append(cancel, progress, h("span", {}, `${status.done ?? 0} of ${status.total || "?"} images (“${status.word ?? ""}”)`));
      } else if (status.state && status.state !== "done" && status.word) {
        actions.append(h("span", { class: "tx-note" }, `reliance on “${status.word}” ${status.state}${status.message ? ": " + status.message : ""}`));
      }
    }
    const toggle = h("button", { type: "button", class: "tx-use-groups", "aria-expanded": showMitigation ? "true" : "false" }, "use as pseudo-groups");
    const mitigation = h(
      "div",
      { class: "tx-slice-mitigation" },
      h("div", {}, c.pseudo_groups ?? ""),
      h("pre", { class: "tx-mitigate-command" }, c.command ?? ""),
      h("pre", { class: "tx-mitigate-python" }, c.python ?? ""),
    );
    mitigation.hidden = !showMitigation;
    toggle.addEventListener("click", () => {
      showMitigation = !showMitigation;
      mitigation.hidden = !showMitigation;
      toggle.setAttribute("aria-expanded", showMitigation ? "true" : "false");
    });
    actions.append(toggle);
    parts.push(actions);
    if (c.measure_note) parts.push(h("div", { class: "tx-note tx-measure-note" }, c.measure_note));
    parts.push(mitigation);
    card.replaceChildren(...parts);
  });

  on(["compare", "compare_names"], () => {
    const rows = model.get("compare") ?? [];
    const [mine, theirs] = model.get("compare_names") ?? [];
    compare.hidden = compareSection.hidden = rows.length === 0;
    if (!rows.length) return void compare.replaceChildren();
    const groups = [...new Set(rows.map((row) => row.group))];
    compareSummary.textContent = `Words whose share differs: ${mine} vs ${theirs}, in ${groups.length} group${groups.length === 1 ? "" : "s"}`;
    const list = (part: CompareRow[]) =>
      h("ol", {}, ...part.map((row) => h("li", {}, `${row.word}: ${percent(row.share)} vs ${percent(row.other_share)}`)));
    compare.replaceChildren(
      h("div", { class: "tx-compare-about" }, "the words more used by one run than the other (|z| ≥ 1.96, each group's images as n)"),
      ...groups.map((group) => {
        const part = rows.filter((row) => row.group === group);
        return h(
          "div",
          { class: "tx-compare-group", "data-group": group },
          h("div", { class: "tx-compare-name" }, group),
          h("div", { class: "tx-compare-side" }, h("div", {}, `more in ${mine}`), list(part.filter((row) => row.difference > 0))),
          h("div", { class: "tx-compare-side" }, h("div", {}, `more in ${theirs}`), list(part.filter((row) => row.difference < 0))),
        );
      }),
    );
  });

  return () => {
    dispose();
    for (const thumb of thumbs) thumb.dispose();
    root.remove();
  };
}

export default { render };
