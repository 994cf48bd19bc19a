import { expect, test, type Browser, type Page } from "@playwright/test";
import { hydrated, live, PASSWORD } from "./people";

// Issue 12, 한국어 first: the order flow in Korean, each person in a phone-sized
// browser whose language is Korean, with a 375 px screenshot of every screen
// (end2end/screenshots/ko-*.png); and a customer who switches to English in
// the middle of an order sees the page, the notifications and the live
// updates follow. The English run of the same flow is order.spec.ts.

const phone = { width: 375, height: 740 };

/** A Korean phone browser logged in as `email` through the Korean login form. */
async function korean(browser: Browser, email: string) {
  const context = await browser.newContext({ viewport: phone, locale: "ko-KR" });
  const page = await context.newPage();
  await page.goto("/login");
  await hydrated(page);
  await expect(page.locator("html")).toHaveAttribute("lang", "ko");
  await page.getByLabel("이메일", { exact: true }).fill(email);
  await page.getByLabel("비밀번호", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "로그인" }).click();
  await expect(page.getByTestId("account-menu")).not.toContainText("로그인");
  return page;
}

/** Fails when the page scrolls sideways or a button's label spills out of
 * it; saves a full-page screenshot to look at. */
async function looksRight(page: Page, name: string) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow, `${name} scrolls sideways`).toBeLessThanOrEqual(0);
  const spilled = await page.evaluate(() =>
    [...document.querySelectorAll("button, .button, .badge")]
      .filter((el) => (el as HTMLElement).offsetParent !== null && el.scrollWidth > el.clientWidth + 1)
      .map((el) => el.textContent?.trim()),
  );
  expect(spilled, `${name}: labels wider than their buttons`).toEqual([]);
  // The sticky top bar stays one row on a phone (it took two, 100-118 px, before
  // the language switch moved to the footer).
  const bar = await page.locator("header.topbar").boundingBox();
  expect(bar!.height, `${name}: the top bar takes more than one row`).toBeLessThan(72);
  await page.screenshot({ path: `screenshots/ko-${name}.png`, fullPage: true });
}

/** On the checkout page: a Korean address and the approved test card, then
 * pay (after `beforePaying`, if given) and wait on the order's live page, in
 * Korean. Returns the order id. */
async function pay(customer: Page, beforePaying?: () => Promise<void>) {
  await customer.getByLabel("배달 주소").fill("서울 강남구 역삼로 5, 301호");
  await customer.getByLabel("카드 번호").fill("4242 4242 4242 4242");
  await beforePaying?.();
  await customer.getByTestId("place-order").click();
  await expect(customer).toHaveURL(/\/orders\/\d+$/);
  await hydrated(customer);
  await live(customer);
  await expect(customer.getByTestId("order-headline")).toHaveText("주문 접수 대기");
  return customer.url().split("/").pop()!;
}

test("주문부터 배달까지: the whole order flow in Korean at 375 px", async ({ browser }) => {
  test.setTimeout(120_000);
  const customer = await korean(browser, "minjun@demo.delivery");
  const owner = await korean(browser, "owner.chicken@demo.delivery");
  const rider = await korean(browser, "rider.moto@demo.delivery");

  await customer.goto("/");
  await hydrated(customer);
  await expect(customer.getByRole("heading", { level: 1 })).toHaveText("오늘은 무엇을 주문할까요?");
  await looksRight(customer, "home");
  await customer.getByRole("link", { name: /황금올리브 치킨 역삼점/ }).click();
  await hydrated(customer);
  await expect(customer.locator(".price").first()).toHaveText(/^\d{1,3}(,\d{3})*원$/);
  await customer.getByTestId("add").first().click();
  await customer.getByRole("button", { name: "하나 더" }).first().click();
  await expect(customer.getByTestId("cart-qty").first()).toHaveText("2");
  await looksRight(customer, "store");
  await customer.getByTestId("go-checkout").click();
  await hydrated(customer);
  await expect(customer.getByTestId("fee")).toHaveText("4,000원");
  await customer.getByLabel("배달 수단").selectOption("bicycle");
  await expect(customer.getByTestId("fee")).toHaveText("3,000원");
  await customer.getByLabel("배달 수단").selectOption("motorbike");
  const orderId = await pay(customer, () => looksRight(customer, "checkout"));

  // The owner's board, in Korean; accepting moves the customer's page live.
  await owner.goto("/owner");
  await owner.getByRole("link", { name: /황금올리브/ }).click();
  await hydrated(owner);
  await live(owner);
  const card = (column: string) => owner.getByTestId(column).locator(`[data-order-id="${orderId}"]`);
  await expect(card("col-new")).toBeVisible();
  await looksRight(owner, "dashboard");
  await card("col-new").getByTestId("accept").click();
  await expect(card("col-cooking")).toBeVisible();
  await expect(customer.getByTestId("order-headline")).toHaveText(/^조리 중 — 오전|^조리 중 — 오후/);

  await rider.goto("/rider");
  await hydrated(rider);
  const job = rider.locator(`li.job[data-order-id="${orderId}"]`);
  await expect(job).toBeVisible();
  await looksRight(rider, "rider-jobs");
  await job.getByTestId("claim").click();
  await expect(rider.getByTestId("current-job")).toContainText(`#${orderId}`);
  await looksRight(rider, "rider-current");

  await card("col-cooking").getByTestId("mark-ready").click();
  await expect(card("col-ready")).toBeVisible();
  await expect(customer.getByTestId("order-headline")).toHaveText("조리 완료");
  await rider.reload();
  await hydrated(rider);
  await rider.getByTestId("picked-up").click();
  await expect(customer.getByTestId("order-headline")).toHaveText("배달 중");
  await rider.getByTestId("delivered").click();
  await expect(rider.getByTestId("current-job")).toHaveCount(0);
  await expect(customer.getByTestId("order-headline")).toHaveText("배달 완료");
  await looksRight(customer, "order-delivered");

  await customer.goto("/notifications");
  await expect(customer.getByTestId("notifications")).toContainText(`주문 #${orderId} 배달이 끝났어요`);
  await looksRight(customer, "notifications");
  await customer.goto("/orders");
  await looksRight(customer, "orders");

  // The other screens, looked at in Korean too.
  const admin = await korean(browser, "admin@demo.delivery");
  await admin.goto("/admin");
  await hydrated(admin);
  await expect(admin.getByRole("heading", { level: 1 })).toHaveText("운영");
  await looksRight(admin, "admin");
  const canteen = await korean(browser, "owner.canteen@demo.delivery");
  await canteen.goto("/owner");
  await canteen.locator(`main a[href^="/owner/stores/"]`).first().click();
  await hydrated(canteen);
  await looksRight(canteen, "canteen-board");
  const anonymous = await browser.newPage({ viewport: phone, locale: "ko-KR" });
  await anonymous.goto("/signup");
  await hydrated(anonymous);
  await looksRight(anonymous, "signup");
  await anonymous.goto("/no-such-page");
  await expect(anonymous.getByRole("heading", { level: 1 })).toHaveText("페이지를 찾을 수 없어요");
  await looksRight(anonymous, "not-found");
});

test("switching to English mid-order changes the page, old notifications and live updates", async ({ browser }) => {
  test.setTimeout(90_000);
  // A new account, so the demo customers keep no language of their own.
  const context = await browser.newContext({ viewport: phone, locale: "ko-KR" });
  const customer = await context.newPage();
  const email = `switch-${Date.now()}@example.kr`;
  const signed = await customer.request.post("/api/signup", {
    form: { email, display_name: "언어 바꾸는 손님", password: PASSWORD, role: "customer" },
  });
  expect(signed.status()).toBeLessThan(400);
  const owner = await korean(browser, "owner.chicken@demo.delivery");

  await customer.goto("/");
  await customer.getByRole("link", { name: /황금올리브 치킨 역삼점/ }).click();
  await hydrated(customer);
  await customer.getByTestId("add").first().click();
  await customer.getByTestId("go-checkout").click();
  await hydrated(customer);
  const orderId = await pay(customer);

  // The switch (in the footer on a phone): the page changes at once, no reload.
  await customer.getByTestId("lang-en").filter({ visible: true }).click();
  await expect(customer.locator("html")).toHaveAttribute("lang", "en");
  await expect(customer.getByTestId("order-headline")).toHaveText("Order placed");
  // A live update after the switch arrives in English.
  await owner.goto("/owner");
  await owner.getByRole("link", { name: /황금올리브/ }).click();
  await hydrated(owner);
  await owner.getByTestId("col-new").locator(`[data-order-id="${orderId}"]`).getByTestId("accept").click();
  await expect(customer.getByTestId("order-headline")).toHaveText(/^Being prepared/);
  // The choice stays: the next page, rendered on the server, is English,
  // and the notification written while the page was Korean reads in English.
  await customer.goto("/notifications");
  await expect(customer.locator("html")).toHaveAttribute("lang", "en");
  await expect(customer.getByTestId("notifications")).toContainText(`accepted order #${orderId}`);
  await expect(customer.getByTestId("notifications")).toContainText(`Order #${orderId} is placed`);
  await customer.screenshot({ path: "screenshots/en-notifications-after-switch.png", fullPage: true });

  // And back: Korean again, old notifications included.
  await hydrated(customer);
  await customer.getByTestId("lang-ko").filter({ visible: true }).click();
  await expect(customer.locator("html")).toHaveAttribute("lang", "ko");
  await expect(customer.getByTestId("notifications")).toContainText(new RegExp(`주문 #${orderId}[을를] 접수했어요`));
});

test("an account's language chosen on another device takes over once the page has hydrated", async ({ browser }) => {
  // This device's cookie still says Korean; the account says English (chosen
  // elsewhere). The page is rendered in Korean, hydrates, and only then
  // switches — switching earlier made an on-demand screen hydrate English
  // text against Korean markup and panic — and the next page is English.
  const context = await browser.newContext({ viewport: phone, locale: "ko-KR" });
  const customer = await context.newPage();
  const failures: string[] = [];
  customer.on("pageerror", (error) => failures.push(String(error)));
  const signed = await customer.request.post("/api/signup", {
    form: { email: `elsewhere-${Date.now()}@example.kr`, display_name: "다른 기기 손님", password: PASSWORD, role: "customer" },
  });
  expect(signed.status()).toBeLessThan(400);
  expect((await customer.request.post("/api/set_language", { form: { lang: "en" } })).status()).toBeLessThan(400);
  await context.addCookies([{ name: "i18n_pref_locale", value: "ko", url: test.info().project.use.baseURL! }]);

  await customer.goto("/orders");
  await hydrated(customer);
  await expect(customer.locator("html")).toHaveAttribute("lang", "en");
  await expect(customer.getByRole("heading", { name: "Your orders" })).toBeVisible();
  await expect.poll(async () => (await context.cookies()).find((c) => c.name === "i18n_pref_locale")?.value).toBe("en");
  await customer.goto("/orders");
  await expect(customer.locator("html")).toHaveAttribute("lang", "en");
  await hydrated(customer);
  expect(failures).toEqual([]);
  await context.close();
});

test("the browser's own form checks speak the page's language, and a corrected form goes through", async ({ browser }) => {
  // Chromium words these bubbles in its own language (here English, the
  // machine's), not the page's: "Please fill out this field." on a Korean page.
  const context = await browser.newContext({ viewport: phone, locale: "ko-KR" });
  const page = await context.newPage();
  const message = (id: string) => page.locator(id).evaluate((el) => (el as HTMLInputElement).validationMessage);
  await page.goto("/login");
  await hydrated(page);
  const login = page.getByRole("button", { name: "로그인" });
  await login.click();
  await expect(page).toHaveURL(/\/login$/);
  expect(await message("#login-email")).toBe("이 항목을 입력해 주세요.");
  await page.getByLabel("이메일", { exact: true }).fill("minjun");
  await login.click();
  expect(await message("#login-email")).toBe("이메일 주소를 확인해 주세요. 예: minjun@example.com");
  expect(await message("#login-password")).toBe("이 항목을 입력해 주세요.");
  // Corrected, the same form logs in: the old sentences do not hold it back.
  await page.getByLabel("이메일", { exact: true }).fill("minjun@demo.delivery");
  await page.getByLabel("비밀번호", { exact: true }).fill(PASSWORD);
  await login.click();
  await expect(page.getByTestId("account-menu")).not.toContainText("로그인");

  const visitor = await (await browser.newContext({ viewport: phone, locale: "ko-KR" })).newPage();
  await visitor.goto("/signup");
  await hydrated(visitor);
  await visitor.locator("#signup-name").fill("김하늘");
  await visitor.locator("#signup-email").fill("haneul@example.com");
  await visitor.locator("#signup-password").fill("abc");
  await visitor.getByRole("button", { name: "가입하기" }).click();
  await expect(visitor).toHaveURL(/\/signup$/);
  expect(await visitor.locator("#signup-password").evaluate((el) => (el as HTMLInputElement).validationMessage)).toBe(
    "8자 이상 입력해 주세요. 지금 3자예요.",
  );

  const english = await (await browser.newContext({ viewport: phone, locale: "en-US" })).newPage();
  await english.goto("/login");
  await hydrated(english);
  await expect(english.locator("html")).toHaveAttribute("lang", "en");
  await english.getByRole("button", { name: "Log in" }).click();
  expect(await english.locator("#login-email").evaluate((el) => (el as HTMLInputElement).validationMessage)).toBe(
    "Please fill in this field.",
  );
});
