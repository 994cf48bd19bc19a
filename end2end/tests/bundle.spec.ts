import { expect, test, type Browser, type Page } from "@playwright/test";
import { hydrated, live, personLoggedIn } from "./people";

// Issue 13: the screens loaded on demand (app/src/screens.rs, built with
// `cargo leptos build --split`). A phone opening a store downloads the main
// WASM only; a screen of its own (the owner's board, the customer's orders)
// fetches its chunk, whether it is the first page or reached by a link, and
// works as before.

/** Records the paths of the WASM files the page asks for, in order. */
function wasmRequests(page: Page): string[] {
  const seen: string[] = [];
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (path.startsWith("/pkg/") && path.endsWith(".wasm")) seen.push(path);
  });
  return seen;
}

const MAIN = /^\/pkg\/delivery\.[\w-]+\.wasm$/;

/** A customer of their own, signed up for this test, so no other spec finds their cart. */
async function newCustomer(browser: Browser, project: string): Promise<Page> {
  const customer = await (await browser.newContext()).newPage();
  const signup = await customer.request.post("/api/signup", {
    form: { email: `bundle-${project}-${Date.now()}@example.kr`, display_name: "번들 손님", password: "a long password", role: "customer" },
  });
  expect(signup.ok()).toBeTruthy();
  return customer;
}

test("a store's menu hydrates from the main bundle alone", async ({ browser }, info) => {
  const customer = await newCustomer(browser, info.project.name);
  const wasm = wasmRequests(customer);
  await customer.goto("/stores/1");
  await hydrated(customer);
  await customer.getByTestId("add").first().click();
  await expect(customer.getByTestId("cart-qty").first()).toBeVisible();
  expect(wasm.length).toBeGreaterThan(0);
  expect(wasm.filter((path) => !MAIN.test(path)), "chunks asked for").toEqual([]);
  await customer.context().close();
});

test("the owner's board loads its own chunk and goes live", async ({ browser }) => {
  const owner = await personLoggedIn(browser, "owner.chicken@demo.delivery");
  const wasm = wasmRequests(owner);
  await owner.goto("/owner/stores/1");
  await hydrated(owner);
  await live(owner);
  const chunks = wasm.filter((path) => !MAIN.test(path));
  expect(chunks.length, `asked for ${wasm.join(", ")}`).toBeGreaterThan(0);
  await owner.context().close();
});

test("a link from the menu to an on-demand screen loads it in place", async ({ browser }) => {
  const customer = await personLoggedIn(browser, "minjun@demo.delivery");
  await customer.goto("/stores/1");
  await hydrated(customer);
  const wasm = wasmRequests(customer);
  const before = await customer.evaluate(() => performance.timeOrigin);
  await customer.getByRole("link", { name: "Orders", exact: true }).click();
  await expect(customer).toHaveURL(/\/orders$/);
  await expect(customer.getByRole("heading", { name: "Your orders" })).toBeVisible();
  // The same document (no full reload), and the screen's chunk came with the click.
  expect(await customer.evaluate(() => performance.timeOrigin)).toBe(before);
  expect(wasm.filter((path) => !MAIN.test(path)).length, `asked for ${wasm.join(", ")}`).toBeGreaterThan(0);
  await customer.context().close();
});

test("when a screen's chunk cannot be fetched, the link still leads to the page, loaded from the server", async ({ browser }) => {
  const customer = await personLoggedIn(browser, "minjun@demo.delivery");
  await customer.goto("/stores/1");
  await hydrated(customer);
  // A phone losing its signal: every on-demand chunk fails from now on.
  await customer.route(/\/pkg\/(split_|chunk_)[^/]*\.wasm$/, (route) => route.abort());
  let loads = 0;
  customer.on("load", () => loads++);
  await customer.getByRole("link", { name: "Orders", exact: true }).click();
  await expect(customer).toHaveURL(/\/orders$/);
  await expect(customer.getByRole("heading", { name: "Your orders" })).toBeVisible();
  // One full load of /orders, and no more: its own hydration fails too
  // (the chunk is still refused), which must not reload it again.
  await customer.waitForTimeout(2_000);
  expect(loads).toBe(1);
  await customer.context().close();
});

/** The `href`s of a page's `<link rel="preload" … .wasm>` tags but the main WASM's. */
function preloadedChunks(html: string): string[] {
  const links = html.match(/<link\b[^>]*>/g) ?? [];
  return links
    .filter((tag) => /\brel="preload"/.test(tag))
    .map((tag) => /\bhref="([^"]+\.wasm)"/.exec(tag)?.[1])
    .filter((href): href is string => href !== undefined && !MAIN.test(href));
}

// Each on-demand screen names its chunks in the page it is served in, so a
// phone fetches them with the main WASM rather than one slow round trip
// after it (app/src/screens.rs, `preload_rendered_chunks`); before, a page
// got them by chance. The browser uses the preloads (each chunk is fetched
// once, none beyond them), and the visitors' pages name none.
const ON_DEMAND: { who?: string; path: string }[] = [
  { who: "rider.moto@demo.delivery", path: "/rider" },
  { who: "owner.chicken@demo.delivery", path: "/owner" },
  { who: "owner.chicken@demo.delivery", path: "/owner/stores/1" },
  { who: "minjun@demo.delivery", path: "/orders" },
  { who: "admin@demo.delivery", path: "/admin" },
  { path: "/signup" },
];

for (const { who, path } of ON_DEMAND) {
  test(`${path} names its chunks for preload, and they are all it fetches`, async ({ browser }) => {
    const page = who ? await personLoggedIn(browser, who) : await (await browser.newContext()).newPage();
    for (let round = 0; round < 3; round++) {
      const html = await (await page.request.get(path)).text();
      expect(preloadedChunks(html).length, `round ${round}: ${path} named no chunk`).toBeGreaterThan(0);
    }
    const html = await (await page.request.get(path)).text();
    const preloads = preloadedChunks(html).sort();
    for (const href of preloads) {
      const file = await page.request.get(href);
      expect(file.status(), href).toBe(200);
    }
    const wasm = wasmRequests(page);
    await page.goto(path);
    await hydrated(page);
    const chunks = wasm.filter((p) => !MAIN.test(p));
    expect([...new Set(chunks)].sort(), "the chunks fetched are the ones named").toEqual(preloads);
    // A preload the loader could not use (another credentials mode) would be fetched again.
    expect(chunks.length, `each once: ${chunks.join(", ")}`).toBe(preloads.length);
    await page.context().close();
  });
}

test("the visitors' pages name no chunk", async ({ request }) => {
  for (const path of ["/", "/stores/1", "/login"]) {
    expect(preloadedChunks(await (await request.get(path)).text()), path).toEqual([]);
  }
});
