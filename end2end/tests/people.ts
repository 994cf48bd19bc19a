import { expect, type Browser, type Page } from "@playwright/test";

// Shared by the order and live specs: a person in their own browser context.

/** Every demo account's password. */
export const PASSWORD = "demo1234";

/** Resolves once the WASM has hydrated the page (frontend/src/lib.rs marks the body). */
export async function hydrated(page: Page) {
  await page.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
}

/** A new browser context logged in as `email`, at `viewport` when given. */
export async function personLoggedIn(browser: Browser, email: string, viewport?: { width: number; height: number }) {
  const context = await browser.newContext(viewport ? { viewport } : {});
  const page = await context.newPage();
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByTestId("account-menu")).not.toContainText("Log in");
  return page;
}

/** From the home page to a filled-in checkout: one of the store's first item,
 * motorbike delivery, the approved sandbox card. Pay is left to the caller. */
export async function toCheckout(customer: Page, store: RegExp = /황금올리브 치킨 역삼점/) {
  await customer.goto("/");
  await customer.getByRole("link", { name: store }).click();
  await hydrated(customer);
  await customer.getByTestId("add").first().click();
  await expect(customer.getByTestId("cart-qty").first()).toBeVisible();
  await customer.getByTestId("go-checkout").click();
  await hydrated(customer);
  await customer.getByLabel("Delivery address").fill("서울 강남구 역삼로 5, 301호");
  await customer.getByLabel("Card number").fill("4242 4242 4242 4242");
}

/** Resolves once the page's live feed is connected. */
export async function live(page: Page) {
  await expect(page.getByTestId("live")).toHaveAttribute("data-live", "live");
}

/** Opens the owner's dashboard of the store whose link matches `store`, live. */
export async function openDashboard(owner: Page, store: RegExp = /황금올리브/) {
  await owner.goto("/owner");
  await owner.getByRole("link", { name: store }).click();
  await hydrated(owner);
  await live(owner);
}

/** Places an order at `store` (see `toCheckout`) and waits on its live page; returns its id. */
export async function placeOrder(customer: Page, store?: RegExp) {
  await toCheckout(customer, store);
  await customer.getByTestId("place-order").click();
  await expect(customer).toHaveURL(/\/orders\/\d+$/);
  await hydrated(customer);
  await live(customer);
  return customer.url().split("/").pop()!;
}
