import { expect, test } from "@playwright/test";
import { hydrated, personLoggedIn } from "./people";

// The owner's menu editor (issue 4): change a price, add an item; the form
// empties after adding, and the customer's menu shows both.

test("an owner changes a price and adds an item", async ({ browser }, info) => {
  test.skip(info.project.name !== "desktop", "one run is enough");
  const owner = await personLoggedIn(browser, "owner.bunsik@demo.delivery");
  await owner.goto("/owner");
  await owner.getByRole("link", { name: /엽기 분식/ }).click();
  await hydrated(owner);

  const item = owner.locator("li.menu-item.edit").first();
  const name = await item.locator('input[name="name"]').inputValue();
  await item.locator('input[name="price"]').fill("4321");
  await item.getByRole("button", { name: "Save" }).click();
  await expect(owner.locator("li.menu-item.edit").first().locator('input[name="price"]')).toHaveValue("4321");

  const form = owner.locator("form.add-item");
  const added = `김말이 ${Date.now() % 100000}`;
  await form.getByPlaceholder("Section, e.g. Sides").fill("튀김");
  await form.getByPlaceholder("Name").fill(added);
  await form.getByPlaceholder("Price in won").fill("2500");
  await form.getByRole("button", { name: "Add item" }).click();
  await expect(owner.locator(`li.menu-item.edit input[name="name"][value="${added}"]`)).toHaveCount(1);
  await expect(form.getByPlaceholder("Name")).toHaveValue("");

  // Bad input: a clear message, nothing added.
  await form.getByPlaceholder("Section, e.g. Sides").fill("튀김");
  await form.getByPlaceholder("Name").fill("공짜 튀김");
  await form.getByPlaceholder("Price in won").fill("-5");
  await form.getByRole("button", { name: "Add item" }).click();
  await expect(owner.getByRole("alert")).toBeVisible();
  await expect(owner.locator('li.menu-item.edit input[name="name"][value="공짜 튀김"]')).toHaveCount(0);

  const storeUrl = owner.url().replace(/\/owner\/stores\//, "/stores/");
  const customer = await personLoggedIn(browser, "minjun@demo.delivery");
  await customer.goto(storeUrl);
  await expect(customer.getByText(added)).toBeVisible();
  await expect(customer.locator(".menu-item", { hasText: name }).first()).toContainText("4,321");
});

// Issue 11: an owner renames an item and takes another off the menu (two
// taps: a slip of the finger loses nothing); customers see both at once.
test("an owner renames an item and removes another", async ({ browser }, info) => {
  test.skip(info.project.name !== "phone", "an owner on a phone, at 375 px");
  const owner = await personLoggedIn(browser, "owner.chinese@demo.delivery");
  await owner.goto("/owner");
  await owner.getByRole("link", { name: /홍콩반점/ }).click();
  await hydrated(owner);
  const items = owner.locator("li.menu-item.edit");
  const first = items.nth(0);
  const second = items.nth(1);
  const removedName = await second.locator('input[name="name"]').inputValue();
  const renamed = `간짜장 ${Date.now() % 100000}`;
  await first.locator('input[name="name"]').fill(renamed);
  await first.getByRole("button", { name: "Save" }).click();
  await expect(owner.locator(`li.menu-item.edit input[name="name"][value="${renamed}"]`)).toHaveCount(1);

  await second.getByTestId("remove-item").click();
  await second.getByRole("button", { name: "Keep" }).click();
  await expect(owner.locator(`li.menu-item.edit input[name="name"][value="${removedName}"]`)).toHaveCount(1);
  await second.getByTestId("remove-item").click();
  await owner.screenshot({ path: "test-results/menu-remove-375.png", fullPage: true });
  await second.getByTestId("confirm-remove").click();
  await expect(owner.locator(`li.menu-item.edit input[name="name"][value="${removedName}"]`)).toHaveCount(0);

  const storeUrl = owner.url().replace(/\/owner\/stores\//, "/stores/");
  const customer = await personLoggedIn(browser, "minjun@demo.delivery");
  await customer.goto(storeUrl);
  await expect(customer.getByText(renamed)).toBeVisible();
  await expect(customer.getByText(removedName, { exact: true })).toHaveCount(0);
});
