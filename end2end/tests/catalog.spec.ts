import { expect, test, type Page } from "@playwright/test";

// Any uncaught error or console error (a hydration mismatch, a wasm panic)
// fails the test that caused it.
function watchForErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/** Resolves once the WASM bundle has hydrated the page (frontend/src/lib.rs marks the body). */
async function hydrated(page: Page) {
  await page.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
}

test("the home page lists the seeded stores", async ({ page }) => {
  const errors = watchForErrors(page);
  await page.goto("/");
  await hydrated(page);
  // Other specs sign owners up (a new store each), so the seeded ten are
  // checked by name, not by the list's length.
  const cards = page.getByTestId("store-list").locator("li.store-card");
  for (const name of ["황금올리브 치킨 역삼점", "엽기 분식 선릉점", "홍콩반점 삼성점", "본가 한식당", "장충동 왕족발",
    "청담 화덕피자", "밤편지 카페", "플로라 꽃집", "SK 행복 구내식당", "스피드 카센터 강남"]) {
    await expect(cards.filter({ has: page.getByRole("heading", { name, exact: true }) })).toHaveCount(1);
  }
  await expect(cards.filter({ hasText: "밤편지 카페" }).locator(".badge.closed")).toHaveCount(1);
  expect(errors).toEqual([]);
});

test("a click on a store opens its menu grouped by category with won prices", async ({ page }) => {
  const errors = watchForErrors(page);
  await page.goto("/");
  await hydrated(page);
  await page.getByRole("heading", { name: "황금올리브 치킨 역삼점" }).click();
  await expect(page).toHaveURL(/\/stores\/\d+$/);
  await expect(page.getByRole("heading", { level: 1, name: "황금올리브 치킨 역삼점" })).toBeVisible();
  await expect(page.locator(".menu-section h2")).toHaveText(["치킨", "사이드", "음료"]);
  await expect(page.getByText("₩20,000")).toBeVisible();
  await expect(page).toHaveTitle("황금올리브 치킨 역삼점 · 배달 Baedal");
  expect(errors).toEqual([]);
});

test("the kind filter and the name search narrow the list", async ({ page }) => {
  const errors = watchForErrors(page);
  await page.goto("/");
  await hydrated(page);
  await page.locator('.chips a[data-kind="flower_shop"]').click();
  await expect(page).toHaveURL(/kind=flower_shop/);
  await expect(page.getByTestId("store-list").locator("li")).toHaveCount(1);
  await expect(page.getByRole("heading", { name: "플로라 꽃집" })).toBeVisible();

  await page.getByRole("link", { name: "All", exact: true }).click();
  await page.getByLabel("Search stores by name").fill("치킨");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/q=/);
  await expect(page.getByTestId("store-list").locator("li")).toHaveCount(1);
  await expect(page.getByRole("heading", { name: "황금올리브 치킨 역삼점" })).toBeVisible();

  await page.getByLabel("Search stores by name").fill("없는가게");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.getByTestId("no-stores")).toBeVisible();
  expect(errors).toEqual([]);
});

test("the flower shop shows limited stock and sold-out items", async ({ page }) => {
  await page.goto("/?kind=flower_shop");
  await page.getByRole("heading", { name: "플로라 꽃집" }).click();
  await expect(page.getByText("Only 2 left")).toBeVisible();
  await expect(page.locator(".menu-item.unavailable")).toHaveCount(1);
  await expect(page.locator(".menu-item.unavailable .badge.soldout")).toHaveText("Sold out");
});

test("an unknown store shows the 404 page with a real 404 status", async ({ page }) => {
  const response = await page.goto("/stores/987654");
  expect(response?.status()).toBe(404);
  await expect(page.getByTestId("not-found")).toBeVisible();
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await page.getByRole("link", { name: "Back to all stores" }).click();
  await expect(page.getByTestId("store-list")).toBeVisible();
});

test("pages fit a 375 px phone screen without sideways scrolling", async ({ page }, info) => {
  test.skip(info.project.name !== "phone", "phone layout only");
  for (const url of ["/", "/stores/1", "/stores/8"]) {
    await page.goto(url);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, `${url} scrolls sideways`).toBeLessThanOrEqual(0);
  }
  await page.goto("/");
  await page.screenshot({ path: "screenshots/home-phone.png", fullPage: true });
  await page.goto("/stores/8");
  await page.screenshot({ path: "screenshots/store-phone.png", fullPage: true });
});
