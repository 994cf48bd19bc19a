// Issue 13: how long a phone on DevTools' "Fast 3G" profile (562.5 ms
// latency, 1.44 Mbit/s down, 675 kbit/s up; no CPU throttling) waits for a
// page's first paint and for its hydration (`body[data-hydrated=true]`,
// set by frontend/src/lib.rs), in Debian's Chromium at 375 px in Korean,
// each visit in a fresh context (nothing cached). Pages are measured in
// turn, round after round, so two builds share the machine's moments.
// Also reports the bytes the visit downloaded until hydrated (the page, CSS,
// JS and WASM as sent, compressed), and how many of them were WASM.
//
//   node bench/fast3g.mjs http://127.0.0.1:3301/stores/1 http://127.0.0.1:3302/stores/1 [rounds]
//   FAST3G_LOGIN=owner.chicken@demo.delivery node bench/fast3g.mjs URL ...   (logged in first, demo password)
//   FAST3G_RETURN=1 node bench/fast3g.mjs URL ...   (a returning visitor: the page is
//     opened once unthrottled, then measured on a second visit with the browser's cache)
//   FAST3G_CPU=4 node bench/fast3g.mjs URL ...   (the CPU slowed 4x, as DevTools' "mid-tier
//     mobile" preset: compiling and running the WASM then shows, not only downloading it)
import { chromium } from "@playwright/test";

const args = process.argv.slice(2);
const rounds = /^\d+$/.test(args[args.length - 1] ?? "") ? Number(args.pop()) : 3;
if (args.length === 0) {
  console.error("usage: node bench/fast3g.mjs URL [URL ...] [rounds]");
  process.exit(2);
}
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });

/** One cold visit of `url`: first contentful paint and hydration, in seconds. */
async function visit(url) {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 }, locale: "ko-KR" });
  if (process.env.FAST3G_LOGIN) {
    const login = await context.request.post(new URL("/api/login", url).href, {
      form: { email: process.env.FAST3G_LOGIN, password: "demo1234" },
    });
    if (!login.ok()) throw new Error(`login as ${process.env.FAST3G_LOGIN}: ${login.status()}`);
  }
  const page = await context.newPage();
  if (process.env.FAST3G_RETURN) {
    await page.goto(url);
    await page.locator("body[data-hydrated=true]").waitFor({ state: "attached", timeout: 120_000 });
  }
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  const wasm = new Set();
  let bytes = 0;
  let wasmBytes = 0;
  cdp.on("Network.responseReceived", (e) => {
    if (new URL(e.response.url).pathname.endsWith(".wasm")) wasm.add(e.requestId);
  });
  cdp.on("Network.loadingFinished", (e) => {
    bytes += e.encodedDataLength;
    if (wasm.has(e.requestId)) wasmBytes += e.encodedDataLength;
  });
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 562.5,
    downloadThroughput: (1440 * 1024) / 8,
    uploadThroughput: (675 * 1024) / 8,
  });
  if (process.env.FAST3G_CPU) {
    await cdp.send("Emulation.setCPUThrottlingRate", { rate: Number(process.env.FAST3G_CPU) });
  }
  await page.goto(url, { waitUntil: "commit" });
  await page.locator("body[data-hydrated=true]").waitFor({ state: "attached", timeout: 120_000 });
  const times = await page.evaluate(() => ({
    hydrated: performance.now(),
    paint: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN,
  }));
  await context.close();
  return { paint: times.paint / 1000, hydrated: times.hydrated / 1000, kib: bytes / 1024, wasmKib: wasmBytes / 1024 };
}

for (let round = 1; round <= rounds; round++) {
  for (const url of args) {
    const t = await visit(url);
    console.log(`round ${round} ${url}: first paint ${t.paint.toFixed(2)} s, hydrated ${t.hydrated.toFixed(2)} s, ${t.kib.toFixed(0)} KiB downloaded (${t.wasmKib.toFixed(0)} KiB of WASM)`);
  }
}
await browser.close();
