import { expect, test, type Browser, type Page } from "@playwright/test";
import { PASSWORD } from "./people";

// Issue 13: on a slow phone the page's HTML arrives long before its WASM.
// Every action of the order flow is a plain HTML form that works before
// (here: without) JavaScript — log in, add to the cart, check out, accept,
// take the job, ready, picked up, delivered, cancel — and the server sends
// the browser back to a page that shows the result. Korean, 375 px.

const phone = { width: 375, height: 740 };

/** A Korean phone browser with JavaScript off, logged in as `email`. */
async function withoutScript(browser: Browser, email: string) {
  const context = await browser.newContext({ viewport: phone, locale: "ko-KR", javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("이메일", { exact: true }).fill(email);
  await page.getByLabel("비밀번호", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "로그인" }).click();
  await expect(page.getByTestId("account-menu")).not.toContainText("로그인");
  return page;
}

/** From the chicken store's menu to a placed order, all by form posts; returns its id. */
async function order(customer: Page) {
  await customer.goto("/");
  await customer.getByRole("link", { name: /황금올리브 치킨 역삼점/ }).click();
  await customer.getByTestId("add").first().click();
  await expect(customer.getByTestId("cart-qty").first()).toHaveText("1");
  await customer.getByTestId("go-checkout").click();
  await customer.getByLabel("배달 주소").fill("서울 강남구 역삼로 5, 301호");
  await customer.getByLabel("카드 번호").fill("4242 4242 4242 4242");
  await customer.getByTestId("place-order").click();
  await expect(customer).toHaveURL(/\/orders\/\d+$/);
  await expect(customer.getByTestId("order-headline")).toHaveText("주문 접수 대기");
  return customer.url().split("/").pop()!;
}

test("자바스크립트 없이: order, accept, deliver and cancel with plain forms", async ({ browser }) => {
  test.setTimeout(120_000);
  const customer = await withoutScript(browser, "minjun@demo.delivery");
  const owner = await withoutScript(browser, "owner.chicken@demo.delivery");
  const rider = await withoutScript(browser, "rider.moto@demo.delivery");

  const delivered = await order(customer);
  await customer.screenshot({ path: "screenshots/ko-noscript-order.png", fullPage: true });

  await owner.goto("/owner");
  await owner.getByRole("link", { name: /황금올리브/ }).click();
  const card = (column: string, id: string) => owner.getByTestId(column).locator(`[data-order-id="${id}"]`);
  await card("col-new", delivered).getByTestId("accept").click();
  await expect(card("col-cooking", delivered)).toBeVisible();
  await owner.screenshot({ path: "screenshots/ko-noscript-dashboard.png", fullPage: true });

  await rider.goto("/rider");
  await rider.locator(`li.job[data-order-id="${delivered}"]`).getByTestId("claim").click();
  await expect(rider.getByTestId("current-job")).toContainText(`#${delivered}`);

  await card("col-cooking", delivered).getByTestId("mark-ready").click();
  await expect(card("col-ready", delivered)).toBeVisible();

  await rider.reload();
  await rider.getByTestId("picked-up").click();
  await expect(rider.getByTestId("current-job")).toHaveAttribute("data-status", "picked_up");
  await rider.screenshot({ path: "screenshots/ko-noscript-rider.png", fullPage: true });
  await rider.getByTestId("delivered").click();
  await expect(rider.getByTestId("current-job")).toHaveCount(0);

  await customer.reload();
  await expect(customer.getByTestId("order-headline")).toHaveText("배달 완료");

  // A second order, cancelled by the customer before the store accepts it.
  const cancelled = await order(customer);
  expect(cancelled).not.toBe(delivered);
  await customer.getByTestId("cancel-order").click();
  await expect(customer).toHaveURL(new RegExp(`/orders/${cancelled}\\??$`));
  await expect(customer.getByTestId("order")).toHaveAttribute("data-status", "cancelled");
  await customer.screenshot({ path: "screenshots/ko-noscript-cancelled.png", fullPage: true });
  await owner.reload();
  await expect(card("col-new", cancelled)).toHaveCount(0);
});

test("자바스크립트 없이: a refused form says why on the page it came from", async ({ browser }) => {
  const customer = await withoutScript(browser, "seoyeon@demo.delivery");
  const orders = customer.locator('[data-testid="order-list"] > li');
  await customer.goto("/orders");
  const before = await orders.count();
  await customer.goto("/");
  await customer.getByRole("link", { name: /황금올리브 치킨 역삼점/ }).click();
  await customer.getByTestId("add").first().click();
  await customer.getByTestId("go-checkout").click();
  // No address: the order is refused with the field's message, nothing placed.
  await customer.getByLabel("배달 수단").selectOption("bicycle");
  await customer.getByLabel("가게 요청 사항").fill("문 앞에 두고 벨을 눌러 주세요");
  await customer.getByLabel("카드 번호").fill("4242 4242 4242 4242");
  await customer.getByTestId("place-order").click();
  await expect(customer).toHaveURL(/\/checkout\?store=\d+.*__err=/);
  await expect(customer.locator('.field-error[data-field="address"]')).toHaveText("주소를 입력해 주세요.");
  // What was typed comes back with the refusal; the card number never does.
  await expect(customer.getByLabel("가게 요청 사항")).toHaveValue("문 앞에 두고 벨을 눌러 주세요");
  await expect(customer.getByLabel("배달 수단")).toHaveValue("bicycle");
  await expect(customer.getByLabel("카드 번호")).toHaveValue("");
  await customer.screenshot({ path: "screenshots/ko-noscript-refused.png", fullPage: true });
  // A declined card keeps the address too.
  await customer.getByLabel("배달 주소").fill("서울 강남구 역삼로 5, 301호");
  await customer.getByLabel("카드 번호").fill("4000 0000 0000 0002");
  await customer.getByTestId("place-order").click();
  await expect(customer.locator(".form-error")).toBeVisible();
  await expect(customer.getByLabel("배달 주소")).toHaveValue("서울 강남구 역삼로 5, 301호");
  await expect(customer.getByLabel("가게 요청 사항")).toHaveValue("문 앞에 두고 벨을 눌러 주세요");
  await expect(customer.getByLabel("카드 번호")).toHaveValue("");
  await customer.goto("/orders");
  await expect(orders).toHaveCount(before);
  // Back at the checkout later, the address is still there: only the card is asked again.
  await customer.goto("/");
  await customer.getByRole("link", { name: /황금올리브 치킨 역삼점/ }).click();
  await customer.getByTestId("go-checkout").click();
  await expect(customer.getByLabel("배달 주소")).toHaveValue("서울 강남구 역삼로 5, 301호");
  await customer.getByLabel("카드 번호").fill("4242 4242 4242 4242");
  await customer.getByTestId("place-order").click();
  await expect(customer).toHaveURL(/\/orders\/\d+$/);
  await expect(customer.getByTestId("order")).toContainText("문 앞에 두고 벨을 눌러 주세요");
  // Once an order is placed, the next checkout starts empty.
  await customer.goto("/");
  await customer.getByRole("link", { name: /황금올리브 치킨 역삼점/ }).click();
  await customer.getByTestId("add").first().click();
  await customer.getByTestId("go-checkout").click();
  await expect(customer.getByLabel("배달 주소")).toHaveValue("");
  await expect(customer.getByLabel("가게 요청 사항")).toHaveValue("");
});
