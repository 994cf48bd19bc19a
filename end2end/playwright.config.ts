import { defineConfig, devices } from "@playwright/test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// The server under test: the debug build made by `cargo leptos build`, on its
// own port with a fresh SQLite file seeded with the demo data.
const port = Number(process.env.E2E_PORT ?? 3100);
const root = path.resolve(__dirname, "..");
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, "target");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "delivery-e2e-"));

// Debian's Chromium, never a downloaded browser; root needs --no-sandbox.
const launchOptions = {
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
};

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    launchOptions,
  },
  // The older specs read the English pages (a browser asking for English
  // gets them, issue 12); korean.spec.ts runs the Korean flow at 375 px in a
  // project of its own, its browsers asking for Korean.
  projects: [
    {
      name: "desktop",
      testIgnore: /korean\.spec\.ts/,
      use: { ...devices["Desktop Chrome"], locale: "en-US", launchOptions },
    },
    {
      name: "phone",
      testIgnore: /korean\.spec\.ts/,
      use: {
        ...devices["Pixel 5"],
        viewport: { width: 375, height: 740 },
        locale: "en-US",
        launchOptions,
      },
    },
    {
      name: "korean",
      testMatch: /korean\.spec\.ts/,
      use: { ...devices["Pixel 5"], viewport: { width: 375, height: 740 }, locale: "ko-KR", launchOptions },
    },
  ],
  webServer: {
    command: path.join(targetDir, "debug", "server"),
    cwd: root,
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      APP_PORT: String(port),
      DATABASE_URL: `sqlite://${dataDir}/e2e.db`,
      LEPTOS_SITE_ROOT: path.join(root, "target", "site"),
      APP_DEMO: "true",
      // Every test logs in from 127.0.0.1; the per-IP limit is tested in Rust.
      APP_LOGIN_ATTEMPTS_PER_MINUTE: "1000",
      APP_CHECKOUTS_PER_MINUTE: "1000",
      RUST_LOG: "warn",
    },
  },
});
