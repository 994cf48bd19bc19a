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
  const name = (await item.locator(".item-name").textContent())!;
  await item.locator('input[name="price"]').fill("4321");
  await item.getByRole("button", { name: "Save" }).click();
  await expect(owner.locator("li.menu-item.edit").first().locator('input[name="price"]')).toHaveValue("4321");

  const form = owner.locator("form.add-item");
  const added = `김말이 ${Date.now() % 100000}`;
  await form.getByPlaceholder("Section, e.g. 사이드").fill("튀김");
  await form.getByPlaceholder("Name").fill(added);
  await form.getByPlaceholder("Price in won").fill("2500");
  await form.getByRole("button", { name: "Add item" }).click();
  await expect(owner.locator("li.menu-item.edit .item-name", { hasText: added })).toBeVisible();
  await expect(form.getByPlaceholder("Name")).toHaveValue("");

  // Bad input: a clear message, nothing added.
  await form.getByPlaceholder("Section, e.g. 사이드").fill("튀김");
  await form.getByPlaceholder("Name").fill("공짜 튀김");
  await form.getByPlaceholder("Price in won").fill("-5");
  await form.getByRole("button", { name: "Add item" }).click();
  await expect(owner.getByRole("alert")).toBeVisible();
  await expect(owner.locator("li.menu-item.edit .item-name", { hasText: "공짜 튀김" })).toHaveCount(0);

  const storeUrl = owner.url().replace(/\/owner\/stores\//, "/stores/");
  const customer = await personLoggedIn(browser, "minjun@demo.delivery");
  await customer.goto(storeUrl);
  await expect(customer.getByText(added)).toBeVisible();
  await expect(customer.locator(".menu-item", { hasText: name }).first()).toContainText("4,321");
});
