import { expect, test } from "@playwright/test";
import { hydrated, live, openDashboard, personLoggedIn, placeOrder, toCheckout } from "./people";

// Issue 11: one state machine, each business in its own words. A flower
// shop arranges (seed 002, online only: no pickup); a repair shop repairs
// and its driver brings the car back (seed 001).

const PHONE = { width: 375, height: 812 };
const DESK = { width: 1000, height: 900 };

test("the flower shop arranges a bouquet and offers no pickup", async ({ browser }, info) => {
  test.skip(info.project.name !== "desktop", "one run is enough; the customer is on a phone");
  const owner = await personLoggedIn(browser, "owner.flowers@demo.delivery", DESK);
  const customer = await personLoggedIn(browser, "minjun@demo.delivery", PHONE);
  await openDashboard(owner, /플로라 꽃집/);
  await expect(owner.getByTestId("col-cooking").getByRole("heading")).toContainText("Arranging");
  const fulfilment = owner.getByTestId("fulfilment");
  await expect(fulfilment.locator('input[name="delivery"]')).toBeChecked();
  await expect(fulfilment.locator('input[name="pickup"]')).not.toBeChecked();

  await toCheckout(customer, /플로라 꽃집/);
  await expect(customer.getByText("Pickup", { exact: false })).toHaveCount(0);
  await customer.getByTestId("place-order").click();
  await expect(customer).toHaveURL(/\/orders\/\d+$/);
  await hydrated(customer);
  await live(customer);
  const id = customer.url().split("/").pop()!;

  const card = (column: string) => owner.getByTestId(column).locator(`[data-order-id="${id}"]`);
  await card("col-new").getByTestId("accept").click();
  await expect(customer.getByTestId("order-headline")).toContainText("Being arranged");
  await expect(customer.locator("ol.progress")).toContainText("Arranging");
  await expect(card("col-cooking").getByTestId("mark-ready")).toHaveText("Bouquet is ready");
  await customer.screenshot({ path: "test-results/flowers-arranging-375.png", fullPage: true });
});

test("the repair shop repairs, and its driver brings the car back", async ({ browser }, info) => {
  test.skip(info.project.name !== "desktop", "one run is enough; the customer is on a phone");
  const owner = await personLoggedIn(browser, "owner.repair@demo.delivery", DESK);
  const driver = await personLoggedIn(browser, "rider.moto@demo.delivery", PHONE);
  const customer = await personLoggedIn(browser, "seoyeon@demo.delivery", PHONE);
  await openDashboard(owner, /스피드 카센터/);
  await expect(owner.getByTestId("col-cooking").getByRole("heading")).toContainText("Repairing");
  await driver.goto("/rider");
  await hydrated(driver);
  await live(driver);

  const id = await placeOrder(customer, /스피드 카센터/);
  const card = (column: string) => owner.getByTestId(column).locator(`[data-order-id="${id}"]`);
  await card("col-new").getByTestId("accept").click();
  await expect(customer.getByTestId("order-headline")).toContainText("Being repaired");

  await driver.locator(`li.job[data-order-id="${id}"]`).getByTestId("claim").click();
  await expect(driver.getByTestId("current-job")).toContainText("pick up the car once it is ready");
  await expect(card("col-cooking").getByTestId("mark-ready")).toHaveText("Repair done");
  await card("col-cooking").getByTestId("mark-ready").click();
  await expect(customer.getByTestId("order-headline")).toHaveText("Repaired");

  await expect(driver.getByTestId("picked-up")).toHaveText("I have the car");
  await driver.getByTestId("picked-up").click();
  await expect(customer.getByTestId("order-headline")).toHaveText("Being brought back");
  await expect(driver.getByTestId("delivered")).toHaveText("Car returned");
  await driver.getByTestId("delivered").click();
  await expect(customer.getByTestId("order-headline")).toHaveText("Returned");
  await expect(customer.getByTestId("payment")).toHaveAttribute("data-payment", "captured");
  await customer.goto("/notifications");
  await expect(customer.getByText(`Your car was returned (order #${id})`, { exact: false })).toBeVisible();
  await driver.screenshot({ path: "test-results/repair-driver-375.png", fullPage: true });
});
