// Takes the README's screenshots from a running Closeloop (see take.sh): signs in as the given person and saves
// each page at a laptop size, and the public survey page at a phone size.
import { chromium } from 'playwright-core';

const [base, email, password, surveyLink, ...pages] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  for (const spec of pages) {
    const [name, path] = spec.split('=');
    await page.goto(base + path, { waitUntil: 'networkidle' });
    await page.waitForTimeout(500); // charts animate in
    await page.screenshot({ path: `${name}.png` });
    console.log(`${name}.png  ${path}`);
  }
  if (surveyLink && surveyLink !== '-') {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 });
    const survey = await phone.newPage();
    await survey.goto(base + surveyLink, { waitUntil: 'networkidle' });
    await survey.waitForTimeout(500);
    await survey.screenshot({ path: 'survey-phone.png' });
    console.log(`survey-phone.png  ${surveyLink}`);
  }
} finally {
  await browser.close();
}
