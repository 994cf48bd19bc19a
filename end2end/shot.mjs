import { chromium } from "@playwright/test";
const base = process.argv[2];
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
async function as(email) {
  const ctx = await browser.newContext({ viewport: { width: 375, height: 740 }, locale: "ko-KR" });
  const page = await ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") console.log(email, "console:", m.text().slice(0, 200)); });
  page.on("pageerror", (e) => console.log(email, "pageerror:", e.message));
  if (email) {
    const r = await page.request.post(base + "/api/login", { form: { email, password: "demo1234" } });
    console.log(email, "login", r.status());
  }
  return page;
}
const owner = await as("owner.chicken@demo.delivery");
await owner.goto(base + "/owner");
await owner.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
await owner.getByRole("link", { name: /황금올리브/ }).first().click();
await owner.waitForURL(/\/owner\/stores\/\d+$/);
await owner.getByTestId("live").waitFor();
await owner.waitForTimeout(1500);
await owner.screenshot({ path: "/tmp/shots/owner-board.png", fullPage: false });
const rider = await as("rider.moto@demo.delivery");
await rider.goto(base + "/rider");
await rider.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
await rider.screenshot({ path: "/tmp/shots/rider.png" });
const cust = await as("minjun@demo.delivery");
await cust.goto(base + "/stores/1");
await cust.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
await cust.getByRole("link", { name: "주문 내역" }).click();
await cust.waitForURL(/\/orders$/);
await cust.waitForTimeout(1000);
await cust.screenshot({ path: "/tmp/shots/orders.png" });
await browser.close();
