import { expect, test, type Page } from "@playwright/test";
import { hydrated, personLoggedIn, toCheckout } from "./people";

// Issue 4: a customer orders, the owner accepts and marks it ready, a rider
// picks it up and delivers it, the customer reviews it. Three browser
// contexts, one per person; pages are reloaded to see each other's changes
// (live updates come with the next issue).

/// Fails when the page scrolls sideways; saves a screenshot to look at.
async function fits(page: Page, name: string) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow, `${name} scrolls sideways`).toBeLessThanOrEqual(0);
  await page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });
}

test("an order goes from cart to doorstep across the three screens", async ({ browser }, info) => {
  test.setTimeout(90_000);
  const phone = info.project.name === "phone" ? { width: 375, height: 740 } : undefined;
  const customer = await personLoggedIn(browser, "minjun@demo.delivery", phone);
  const owner = await personLoggedIn(browser, "owner.chicken@demo.delivery");
  const rider = await personLoggedIn(browser, "rider.moto@demo.delivery", { width: 375, height: 740 });

  // Customer: menu → cart → checkout.
  await customer.goto("/");
  await customer.getByRole("link", { name: /황금올리브 치킨 역삼점/ }).click();
  await hydrated(customer);
  await customer.getByTestId("add").first().click();
  await expect(customer.getByTestId("cart-qty").first()).toHaveText("1");
  await customer.getByRole("button", { name: "One more" }).first().click();
  await expect(customer.getByTestId("cart-qty").first()).toHaveText("2");
  await customer.getByTestId("go-checkout").click();
  await hydrated(customer);
  await expect(customer.getByTestId("fee")).toHaveText("₩4,000");
  await customer.getByLabel("Delivered by").selectOption("bicycle");
  await expect(customer.getByTestId("fee")).toHaveText("₩3,000");
  await customer.getByLabel("Delivered by").selectOption("motorbike");
  await customer.getByLabel("Delivery address").fill("서울 강남구 역삼로 5, 301호");
  await customer.getByLabel("Card number").fill("4242 4242 4242 4242");
  await fits(customer, `checkout-${info.project.name}`);
  await customer.getByTestId("place-order").click();
  await expect(customer).toHaveURL(/\/orders\/\d+$/);
  const orderId = customer.url().split("/").pop()!;
  await expect(customer.getByTestId("order-headline")).toHaveText("Order placed");

  // Owner: the order is new; accept it.
  await owner.goto("/owner");
  await owner.getByRole("link", { name: /황금올리브/ }).click();
  await hydrated(owner);
  const card = (column: string) => owner.getByTestId(column).locator(`[data-order-id="${orderId}"]`);
  await expect(card("col-new")).toBeVisible();
  await owner.screenshot({ path: `screenshots/dashboard-${info.project.name}.png`, fullPage: true });
  await card("col-new").getByTestId("accept").click();
  await expect(card("col-cooking")).toBeVisible();

  // Rider: the job is open for motorbikes from acceptance; take it.
  await rider.goto("/rider");
  await hydrated(rider);
  const job = rider.locator(`li.job[data-order-id="${orderId}"]`);
  await expect(job).toBeVisible();
  await job.getByTestId("claim").click();
  await expect(rider.getByTestId("current-job")).toContainText(`#${orderId}`);
  await fits(rider, `rider-${info.project.name}`);

  // Owner: the food is ready.
  await card("col-cooking").getByTestId("mark-ready").click();
  await expect(card("col-ready")).toBeVisible();

  // Rider: picked up, then delivered.
  await rider.reload();
  await hydrated(rider);
  await rider.getByTestId("picked-up").click();
  await expect(rider.getByTestId("current-job")).toHaveAttribute("data-status", "picked_up");
  await rider.getByTestId("delivered").click();
  await expect(rider.getByTestId("current-job")).toHaveCount(0);

  // Customer: delivered; write a review; it shows on the store page.
  await customer.reload();
  await hydrated(customer);
  await expect(customer.getByTestId("order-headline")).toHaveText("Delivered");
  await customer.getByLabel(" 4★").check();
  const comment = `바삭하고 따뜻했어요 (${info.project.name})`;
  await customer.getByLabel(/Comment/).fill(comment);
  await customer.getByRole("button", { name: "Post review" }).click();
  await expect(customer.getByText(comment)).toBeVisible();
  await fits(customer, `order-${info.project.name}`);
  await customer.goto("/notifications");
  await expect(customer.getByTestId("notifications")).toContainText(`Order #${orderId} was delivered`);
});

test("a declined card keeps the cart and says why", async ({ browser }) => {
  const customer = await personLoggedIn(browser, "seoyeon@demo.delivery");
  await customer.goto("/");
  await customer.getByRole("link", { name: /엽기 분식/ }).click();
  await hydrated(customer);
  await customer.getByTestId("add").first().click();
  await expect(customer.getByTestId("cart-qty").first()).toBeVisible();
  // Above the store's minimum order, so the card is what is refused.
  await customer.getByRole("button", { name: "One more" }).first().click();
  await customer.getByRole("button", { name: "One more" }).first().click();
  await expect(customer.getByTestId("cart-qty").first()).toHaveText(/[3-9]/);
  await customer.getByTestId("go-checkout").click();
  await hydrated(customer);
  await customer.getByLabel("Delivery address").fill("서울 강남구 선릉로 1");
  await customer.getByLabel("Card number").fill("4000 0000 0000 0002");
  await customer.getByTestId("place-order").click();
  await expect(customer.getByRole("alert")).toContainText("declined");
  await expect(customer).toHaveURL(/\/checkout/);
});

test("while payment is down the checkout page says it will retry, and does", async ({ browser }, info) => {
  test.skip(info.project.name !== "desktop", "one run is enough");
  const admin = await personLoggedIn(browser, "admin@demo.delivery");
  const faults = (rate: string) =>
    admin.request.post("/api/payment_faults", { form: { latency_ms: "0", failure_rate: rate } });
  const customer = await personLoggedIn(browser, "seoyeon@demo.delivery");
  await toCheckout(customer);
  try {
    expect((await faults("1")).status()).toBe(200);
    await customer.getByTestId("place-order").click();
    await expect(customer.getByRole("alert")).toContainText("Payment is busy");
    await expect(customer.getByTestId("retrying")).toContainText("Trying again");
    await customer.screenshot({ path: "screenshots/checkout-retrying.png", fullPage: true });
    expect((await faults("0")).status()).toBe(200);
  } finally {
    await faults("0");
  }
  // The page's own retry places the order.
  await expect(customer).toHaveURL(/\/orders\/\d+$/, { timeout: 15_000 });
});
