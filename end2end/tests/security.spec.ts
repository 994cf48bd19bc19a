import { expect, test, type Page } from "@playwright/test";
import { hydrated, personLoggedIn } from "./people";

// Issue 15, items 3 and 10: every page runs under a nonce-based
// Content-Security-Policy and still hydrates, connects live and takes
// clicks; and markup a stranger puts in a store's name stays text.

/** Collects the page's CSP violations into `window.__violations`. */
async function watchViolations(page: Page) {
  await page.addInitScript(() => {
    (window as any).__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as any).__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
}

async function violations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as any).__violations ?? []);
}

test("every screen hydrates and goes live under the security policy", async ({ browser }, info) => {
  test.skip(info.project.name !== "desktop", "the policy is the same at every width");
  // Sixteen pages and four logins, each hydrating the debug bundle: about
  // 12 s on an idle two-core machine, and it overran the 30 s default once
  // in CI on a busy one.
  test.setTimeout(90_000);
  const screens: [string | null, string[]][] = [
    [null, ["/", "/stores/1", "/login", "/signup", "/no/such/page"]],
    ["minjun@demo.delivery", ["/", "/stores/1", "/stores/8", "/checkout?store=1", "/orders", "/notifications"]],
    ["owner.chicken@demo.delivery", ["/owner", "/owner/stores/1", "/stores/1"]],
    ["rider.moto@demo.delivery", ["/rider"]],
    ["admin@demo.delivery", ["/admin"]],
  ];
  for (const [email, paths] of screens) {
    const page = email ? await personLoggedIn(browser, email) : await (await browser.newContext()).newPage();
    await watchViolations(page);
    for (const path of paths) {
      const response = await page.goto(path);
      const policy = response!.headers()["content-security-policy"] ?? "";
      expect(policy, path).toContain("'nonce-");
      expect(policy, path).toContain("frame-ancestors 'none'");
      await test.step(`${email ?? "anonymous"} on ${path}`, () => hydrated(page));
      if (email) {
        await expect(page.getByTestId("live"), path).toHaveAttribute("data-live", "live");
      }
      expect(await violations(page), `${email ?? "anonymous"} on ${path}`).toEqual([]);
    }
    await page.context().close();
  }
});

test("hydrated buttons work under the policy: add to cart, then checkout", async ({ browser }, info) => {
  test.skip(info.project.name !== "desktop", "the order specs cover the phone");
  // A new customer, so no other spec finds this cart.
  const customer = await (await browser.newContext()).newPage();
  const signup = await customer.request.post("/api/signup", {
    form: { email: `csp-${Date.now()}@example.kr`, display_name: "정책 손님", password: "a long password", role: "customer" },
  });
  expect(signup.ok()).toBeTruthy();
  await watchViolations(customer);
  await customer.goto("/stores/1");
  await hydrated(customer);
  await customer.getByTestId("add").first().click();
  await expect(customer.getByTestId("cart-qty").first()).toBeVisible();
  await customer.getByTestId("go-checkout").click();
  await expect(customer.getByTestId("checkout")).toBeVisible();
  expect(await violations(customer)).toEqual([]);
});

test("markup in a store's name is shown as text and never runs", async ({ browser }, info) => {
  test.skip(info.project.name !== "desktop", "one run is enough");
  // At most 60 characters: the store-name field's limit.
  const name = `</title><img src=x onerror=window.__xss=1>`;
  const context = await browser.newContext();
  const owner = await context.newPage();
  owner.on("dialog", () => {
    throw new Error("a dialog opened: injected script ran");
  });
  await owner.goto("/signup");
  await hydrated(owner);
  await owner.getByLabel("Run a store").check();
  await owner.getByLabel("Name", { exact: true }).fill("XSS 사장");
  await owner.getByLabel("Email", { exact: true }).fill(`xss-${Date.now()}@example.kr`);
  await owner.getByLabel(/^Password/).fill("a long password");
  await owner.getByLabel("Store name").fill(name);
  await owner.getByLabel("Store address").fill("서울 강남구 1");
  await owner.getByRole("button", { name: "Create account" }).click();
  await expect(owner).toHaveURL(/\/owner$/);
  await owner.getByTestId("owner-stores").getByRole("link").first().click();
  await expect(owner).toHaveURL(/\/owner\/stores\/\d+$/);
  const store = owner.url().split("/").pop();

  for (const path of [`/owner/stores/${store}`, `/stores/${store}`]) {
    await watchViolations(owner);
    await owner.goto(path);
    await hydrated(owner);
    expect(await owner.title(), path).toContain(name);
    await expect(owner.getByRole("heading", { level: 1 }).first(), path).toContainText("</title>");
    expect(await owner.evaluate(() => (window as any).__xss), path).toBeUndefined();
    expect(await owner.locator("img[src=x]").count(), path).toBe(0);
  }
  await context.close();
});
