import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    globalSetup: ["test/global-setup.ts"],
    // End-to-end files start real supervisord/systemd instances on distinct ports; they run in parallel
    // across files but each file uses its own temp project, socket and port block.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
