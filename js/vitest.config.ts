import { defineConfig } from "vitest/config";

export default defineConfig({
  // test/bundle.test.ts imports the build output in ../texplain_widgets/static/.
  server: { fs: { allow: [".."] } },
  test: {
    environment: "jsdom",
    include: ["test/**/*.test.ts"],
  },
});
