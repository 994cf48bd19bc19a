import { expect, test, type Page } from "@playwright/test";

const PASSWORD = "demo1234";

async function hydrated(page: Page) {
  await page.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
}

async function logIn(page: Page, email: string, password = PASSWORD) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

test("a new customer signs up, logs out and logs in again", async ({ page }, info) => {
  const email = `e2e-${info.project.name}-${Date.now()}@example.kr`;
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill("테스트 고객");
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password (8 to 128 characters)").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();

  await expect(page).toHaveURL(/\/$/);
  const menu = page.getByTestId("account-menu");
  await expect(menu).toContainText("테스트 고객");

  await menu.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByTestId("account-menu").getByRole("link", { name: "Log in" })).toBeVisible();

  await logIn(page, email, "correct horse battery");
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId("account-menu")).toContainText("테스트 고객");
});

test("each demo role lands on its own home after login", async ({ page }) => {
  await logIn(page, "owner.flowers@demo.delivery");
  await expect(page).toHaveURL(/\/owner$/);
  await expect(page.getByTestId("owner-stores")).toContainText("플로라 꽃집");
  await page.getByTestId("account-menu").getByRole("button", { name: "Log out" }).click();
  await expect(page.getByTestId("account-menu").getByRole("link", { name: "Log in" })).toBeVisible();

  await logIn(page, "rider.bike@demo.delivery");
  await expect(page).toHaveURL(/\/rider$/);
  await expect(page.getByTestId("rider-home")).toContainText("You deliver by bicycle");
  await page.getByTestId("account-menu").getByRole("button", { name: "Log out" }).click();
  await expect(page.getByTestId("account-menu").getByRole("link", { name: "Log in" })).toBeVisible();

  await logIn(page, "seoyeon@demo.delivery");
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId("store-list")).toBeVisible();
});

test("a role page sends a logged-out visitor to log in, then back", async ({ page }) => {
  await page.goto("/owner");
  await expect(page).toHaveURL(/\/login\?next=\/owner$/);
  await hydrated(page);
  await page.getByLabel("Email", { exact: true }).fill("owner.canteen@demo.delivery");
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/owner$/);
  await expect(page.getByTestId("owner-stores")).toContainText("SK 행복 구내식당");
});

test("a customer opening the rider page sees a 403 page", async ({ page }) => {
  await logIn(page, "minjun@demo.delivery");
  await expect(page).toHaveURL(/\/$/);
  const response = await page.goto("/rider");
  expect(response?.status()).toBe(403);
  await expect(page.getByTestId("error-page")).toContainText("you are logged in as Customer");
});

test("wrong credentials and a taken email get clear messages", async ({ page }) => {
  await logIn(page, "minjun@demo.delivery", "not-the-password");
  await expect(page.getByRole("alert")).toHaveText("Wrong email or password.");
  await expect(page).toHaveURL(/\/login/);

  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill("중복");
  await page.getByLabel("Email", { exact: true }).fill("minjun@demo.delivery");
  await page.getByLabel("Password (8 to 128 characters)").fill("another password");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator('.field-error[data-field="email"]')).toContainText("already exists");
});
