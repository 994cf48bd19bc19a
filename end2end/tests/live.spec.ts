import { expect, test, type Page } from "@playwright/test";
import { hydrated, live, openDashboard, personLoggedIn, placeOrder } from "./people";

const DESK = { width: 1000, height: 900 };

// Issue 5: nobody presses reload. Customer, owner and rider watch one order
// through its life in three browser contexts and see each other's changes
// as they happen; the owner's alarm rings on a new order and stops on accept.

test("three screens follow one order live, and the alarm rings until accepted", async ({ browser }, info) => {
  test.skip(info.project.name !== "desktop", "one run is enough; the phone layout is checked elsewhere");
  const owner = await personLoggedIn(browser, "owner.chicken@demo.delivery", DESK);
  const rider = await personLoggedIn(browser, "rider.moto@demo.delivery", DESK);
  const customer = await personLoggedIn(browser, "minjun@demo.delivery", DESK);
  await openDashboard(owner);
  await expect(owner.getByTestId("alarm")).toHaveAttribute("data-alarm", "quiet");
  await rider.goto("/rider");
  await hydrated(rider);
  await live(rider);

  const orderId = await placeOrder(customer);
  const card = (column: string) => owner.getByTestId(column).locator(`[data-order-id="${orderId}"]`);

  // The order arrives on the dashboard by itself, and the alarm rings.
  await expect(card("col-new")).toBeVisible();
  await expect(owner.getByTestId("alarm")).toHaveAttribute("data-alarm", "ringing");

  await card("col-new").getByTestId("accept").click();
  await expect(owner.getByTestId("alarm")).toHaveAttribute("data-alarm", "quiet");
  await expect(customer.getByTestId("order-headline")).toContainText("Being prepared");

  const job = rider.locator(`li.job[data-order-id="${orderId}"]`);
  await expect(job).toBeVisible();
  await job.getByTestId("claim").click();
  await expect(rider.getByTestId("current-job")).toContainText(`#${orderId}`);

  await card("col-cooking").getByTestId("mark-ready").click();
  await expect(customer.getByTestId("order-headline")).toHaveText("Ready");
  await expect(rider.getByTestId("current-job")).toHaveAttribute("data-status", "ready");

  await rider.getByTestId("picked-up").click();
  await expect(customer.getByTestId("order-headline")).toHaveText("On the way");
  await rider.getByTestId("delivered").click();
  await expect(customer.getByTestId("order-headline")).toHaveText("Delivered");
  await expect(card("col-done")).toBeVisible();
});

test("tapping the alarm on one tablet silences every tablet of the store, also after a reload", async ({ browser }, info) => {
  test.skip(info.project.name !== "desktop", "one run is enough");
  const tabletA = await personLoggedIn(browser, "owner.chicken@demo.delivery", DESK);
  const tabletB = await personLoggedIn(browser, "owner.chicken@demo.delivery", DESK);
  const customer = await personLoggedIn(browser, "seoyeon@demo.delivery", DESK);
  await openDashboard(tabletA);
  await openDashboard(tabletB);
  await placeOrder(customer);
  for (const tablet of [tabletA, tabletB]) {
    await expect(tablet.getByTestId("alarm")).toHaveAttribute("data-alarm", "ringing");
  }
  await tabletB.reload();
  await hydrated(tabletB);
  await expect(tabletB.getByTestId("alarm")).toHaveAttribute("data-alarm", "ringing");
  await tabletA.getByTestId("acknowledge").click();
  for (const tablet of [tabletA, tabletB]) {
    await expect(tablet.getByTestId("alarm")).toHaveAttribute("data-alarm", "quiet");
  }
});

test("what an owner is typing on the dashboard stays with its order through live updates", async ({ browser }, info) => {
  test.skip(info.project.name !== "desktop", "one run is enough");
  const tabletA = await personLoggedIn(browser, "owner.chicken@demo.delivery", DESK);
  const tabletB = await personLoggedIn(browser, "owner.chicken@demo.delivery", DESK);
  const first = await personLoggedIn(browser, "minjun@demo.delivery", DESK);
  const second = await personLoggedIn(browser, "seoyeon@demo.delivery", DESK);
  await openDashboard(tabletA);
  await openDashboard(tabletB);
  const firstId = await placeOrder(first);
  const secondId = await placeOrder(second);
  const card = (page: Page, column: string, id: string) => page.getByTestId(column).locator(`[data-order-id="${id}"]`);
  await expect(card(tabletA, "col-new", secondId)).toBeVisible();

  // Half-typed on tablet A: a reject reason for the second order, and a new
  // price for the last menu item.
  const reason = card(tabletA, "col-new", secondId).locator('input[name="text"]');
  await reason.fill("닭이 다 떨어졌어요");
  const price = tabletA.locator("li.menu-item.edit").last().locator('input[name="price"]');
  await price.fill("12345");

  // Tablet B accepts the first order: it leaves the New column on tablet A,
  // and the second order's card moves up…
  await card(tabletB, "col-new", firstId).getByTestId("accept").click();
  await expect(card(tabletA, "col-cooking", firstId)).toBeVisible();

  // …with what was typed into it, and nothing else lost.
  await expect(reason).toHaveValue("닭이 다 떨어졌어요");
  await expect(card(tabletA, "col-new", secondId).locator('input[name="order"]').first()).toHaveValue(secondId);
  await expect(price).toHaveValue("12345");
});
