// The dashboard in charge: a plan started from its page (run by the dashboard's own process), its
// run waiting for a person, and the person cancelling that run instead (two clicks), then the
// plan's page showing the task cancelled. A live redraw between the two clicks keeps the first.
// Screenshots go to $SCREENSHOTS.
import { plan, scenario, shots, url } from './harness.mjs';

await scenario(async ({ page, waitFor, seen }) => {
  // Every decision the page sends, in the order sent.
  const sent = [];
  page.on('request', (r) => { if (r.method() === 'POST') sent.push(new URL(r.url()).pathname); });
  await page.goto(`${url}#/plans/${plan}`);
  await page.click('button[data-action="start"]');
  await waitFor('tr[data-task="C1"] [data-status="IN_PROGRESS"]');
  await waitFor('button[data-action="pause"]');
  seen.state = await page.locator('#main .card strong').first().innerText();
  await page.screenshot({ path: `${shots}/plan-running.png`, fullPage: true });

  // The run waits for a person, who starts to cancel it: the first click only asks again.
  await page.click('tr[data-task="C1"] a');
  await waitFor('#events li[data-kind="approval_waiting"]');
  const cancel = page.locator('#main .controls button[data-action="cancel"]');
  await cancel.click();
  seen.confirm = await cancel.innerText();
  seen.status_after_one_click = await page.locator('#run-status .badge').innerText();
  // Meanwhile they approve the request, so the run moves on and its page is redrawn (counted from
  // here) up to the next request: the cancel button still waits for its second click.
  await cancel.evaluate((button) => {
    button.dataset.armed = 'yes';
    window.redrawn = 0;
    new MutationObserver(() => { window.redrawn += 1; }).observe(button.closest('.card'), { childList: true });
  });
  await page.locator('#run-waiting .approval', { hasText: 'curl' }).locator('button.primary').click();
  await page.locator('#run-waiting .approval', { hasText: 'wget' }).waitFor();
  await page.waitForFunction(() => window.redrawn > 0);
  seen.still_armed = await cancel.evaluate((button) => button.dataset.armed === 'yes' && button.textContent);
  if (!seen.still_armed) throw new Error('the redraw forgot the first click on "Cancel the run"');
  await cancel.click();
  await waitFor('#run-status [data-status="CANCELLED"]');
  // Two clicks, one request: the first only asked again.
  seen.sent = sent;
  await waitFor('#main .controls', { state: 'detached' });
  await page.screenshot({ path: `${shots}/run-cancelled.png`, fullPage: true });

  // Back on the plan: the task is cancelled and nothing runs.
  await page.goBack();
  await waitFor('tr[data-task="C1"] [data-status="CANCELLED"]');
  await waitFor('#main .card strong:has-text("Plan run: finished")');
});
