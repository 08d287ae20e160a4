// Drives the finance console in Debian's chromium through playwright-core:
// sign in, approve one payout and reject another, run a batch and watch it
// finish, see the reconcile report and the audit log. One screenshot per
// page goes to OUT_DIR. Run by browser_test.go, which sets up the stack and
// the payouts and checks the outcome in the database afterwards.
import { chromium } from "playwright-core";
import { join } from "node:path";

const env = (name) => {
  const v = process.env[name];
  if (!v) { throw new Error(`${name} is not set`); }
  return v;
};
const base = env("CONSOLE_URL");
const out = env("OUT_DIR");
const approveID = env("APPROVE_ID");
const rejectID = env("REJECT_ID");
const period = env("PERIOD");

function check(ok, what) {
  if (!ok) { throw new Error(what); }
  console.log(`ok: ${what}`);
}

const browser = await chromium.launch({
  executablePath: env("CHROMIUM"),
  // As root (CI) chromium needs --no-sandbox; /dev/shm is small in containers.
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  timeout: 60_000,
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const shot = (name) => page.screenshot({ path: join(out, `${name}.png`), fullPage: true });

  await page.goto(`${base}/admin/console`);
  check(page.url().endsWith("/admin/console/login"), "signed out, the console sends to the sign-in page");
  await shot("console-login");
  await page.fill("#secret", env("ADMIN_SECRET"));
  await Promise.all([page.waitForURL(/\/admin\/console\/treasury$/), page.click("button[type=submit].primary")]);
  check(await page.isVisible("#liability"), "signed in, the treasury shows the liability");
  check((await page.locator("figure.chart svg").count()) === 2, "the treasury draws two charts");
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "officex_console");
  check(session && session.httpOnly && session.sameSite === "Strict", "the session cookie is HttpOnly and SameSite=Strict");
  check(!(await page.evaluate(() => document.cookie)).includes("officex_console"), "scripts cannot read the session");

  await page.goto(`${base}/admin/console/payouts`);
  check(await page.isVisible(`tr[data-payout="${approveID}"]`), "the payout to approve is pending");
  check(await page.isVisible(`tr[data-payout="${rejectID}"] .badge.red`), "the self-billing payout is flagged");
  await shot("console-payouts");
  await Promise.all([page.waitForURL(/\/admin\/console\/payouts$/), page.click(`button[name=approve][value="${approveID}"]`)]);
  check((await page.textContent(".flash")).includes("1 payout(s) approved"), "one payout approved");
  await page.fill(`input[name="reason-${rejectID}"]`, "self-billing: the vendor paid its own app");
  await Promise.all([page.waitForURL(/\/admin\/console\/payouts$/), page.click(`button[name=reject][value="${rejectID}"]`)]);
  check((await page.textContent(".flash")).includes("1 payout(s) rejected"), "one payout rejected");
  check(!(await page.isVisible(`tr[data-payout="${rejectID}"]`)), "the rejected payout left the pending list");

  await page.goto(`${base}/admin/console/batches`);
  await page.fill("#period", period);
  await Promise.all([page.waitForURL(new RegExp(`/admin/console/batches/${period}$`)), page.click("button[type=submit].primary")]);
  // The page polls the progress and reloads itself with the summary.
  await page.waitForSelector("#batch-summary", { timeout: 90_000 });
  const summary = await page.textContent("#batch-summary");
  check(/Completed\s*1/.test(summary), `the batch completed the approved payout (${summary.replace(/\s+/g, " ").trim()})`);
  await shot("console-batch");

  await page.goto(`${base}/admin/console/reconcile`);
  check(await page.isVisible("#verdict.green"), "the reconcile report is green");
  check((await page.locator("#invariants tr.red").count()) === 0 && (await page.locator("#invariants tr.green").count()) >= 5,
    "every invariant is green");
  await shot("console-reconcile");

  await page.goto(`${base}/admin/console/audit?action=payout.`);
  const audit = await page.textContent("table");
  check(audit.includes("payout.approve") && audit.includes("payout.reject"), "the audit log lists the decisions");
  await shot("console-audit");

  await page.goto(`${base}/admin/console/treasury`);
  check((await page.locator("figure.chart rect.bar").count()) === 12, "after the batch, twelve months of payouts are drawn");
  await shot("console-treasury");
} finally {
  await browser.close();
}
