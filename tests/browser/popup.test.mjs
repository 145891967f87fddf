// The popup page in headless Chromium (Debian's, driven by playwright-core), steered by the
// pytest side (tests/system/test_notifier_browser.py) over stdin/stdout, one JSON line each:
//   in:  {"wait": "<css selector>", "shot": "<name>"}  (shot optional), or {"quit": true};
//        "fill": "<selector>" with "text" types into a field, "click": "<selector>" clicks, both
//        before the wait
//   out: {"ok": true, "cards": [{popup_id, state, text}], "conn": "<indicator text>"}
//        or {"ok": false, "error": "..."}
// Usage: node popup.test.mjs <page url> <artifacts dir> [first selector to wait for]
import { chromium } from "playwright-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";

const [url, artifacts, first = "#conn.conn-online"] = process.argv.slice(2);
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "popup-chromium-"));
const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
  viewport: { width: 520, height: 760 },
  deviceScaleFactor: 2,
  locale: "ru-RU",
});
const page = context.pages()[0] || (await context.newPage());
const problems = [];
page.on("pageerror", (e) => problems.push("page error: " + e.message));
page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });

async function state() {
  return page.evaluate(() => ({
    conn: document.getElementById("conn-text").textContent,
    url: location.href,
    cards: [...document.querySelectorAll(".card:not(.leaving)")].map((c) => ({
      popup_id: c.dataset.popupId, state: c.dataset.state, text: c.innerText,
    })),
    notices: [...document.querySelectorAll(".notice")].map((n) => ({
      request_id: n.dataset.requestId, status: n.dataset.status, text: n.innerText,
    })),
  }));
}

try {
  await page.goto(url);
  await page.waitForSelector(first, { timeout: 15000 });
  say({ ok: true, ...(await state()), problems });
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const cmd = JSON.parse(line);
    if (cmd.quit) break;
    try {
      if (cmd.fill) await page.fill(cmd.fill, cmd.text, { timeout: 15000 });
      if (cmd.click) await page.click(cmd.click, { timeout: 15000 });
      await page.waitForSelector(cmd.wait, { state: cmd.gone ? "detached" : "visible", timeout: 15000 });
      if (cmd.settle) await page.waitForTimeout(cmd.settle);
      if (cmd.shot) await page.screenshot({ path: path.join(artifacts, cmd.shot + ".png") });
      say({ ok: true, ...(await state()), problems });
    } catch (e) {
      if (artifacts) await page.screenshot({ path: path.join(artifacts, "failure.png") }).catch(() => {});
      say({ ok: false, error: String(e), ...(await state()), problems });
    }
  }
} catch (e) {
  say({ ok: false, error: String(e), problems });
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
  process.exit(0); // stdin's reader would keep node alive
}
