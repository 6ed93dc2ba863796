// Bundle the widgets' ES modules into ../texplain_widgets/static/ (one file per widget).
// `node build.mjs` builds once (minified); `node build.mjs --watch` rebuilds on change with
// inline source maps (pair it with ANYWIDGET_HMR=1 in the kernel for live reload).
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, "..", "texplain_widgets", "static");
const watch = process.argv.includes("--watch");

// Each widget is one entry; a widget's CSS is imported by its module and lands beside it.
const widgets = ["explorer", "browser", "report"].filter((name) => existsSync(join(here, "src", `${name}.ts`)));

mkdirSync(outdir, { recursive: true });
const options = {
  entryPoints: widgets.map((name) => ({ in: join(here, "src", `${name}.ts`), out: name })),
  outdir,
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: !watch,
  sourcemap: watch ? "inline" : false,
  legalComments: "none",
  logLevel: "info",
};

if (watch) {
  const context = await esbuild.context(options);
  await context.watch();
} else {
  await esbuild.build(options);
}
