// The dashboard with a plan run by `orchestrator run` in another process: its run's events
// arriving live, one request approved on the run's page and one denied on the approvals page, the
// locks and knowledge pages, a phone-sized screen, the back button and a reload, a new version and
// its diff. Screenshots go to $SCREENSHOTS.
import { execFileSync } from 'node:child_process';
import { plan, scenario, shots, url } from './harness.mjs';

await scenario(async ({ page, waitFor, seen }) => {
  // The plans, then the running plan with its graph.
  await page.goto(url + '#/');
  await waitFor(`tr[data-plan="${plan}"]`);
  await page.screenshot({ path: `${shots}/overview.png`, fullPage: true });
  await page.click(`tr[data-plan="${plan}"] a`);
  await waitFor('tr[data-task="W1"] [data-status="IN_PROGRESS"]');
  seen.graph = await page.locator('.graph svg rect').count();
  await page.screenshot({ path: `${shots}/plan.png`, fullPage: true });

  // The run: its events arrive live, up to the request that waits for a person, shown on the
  // run's page with its buttons.
  await page.click('tr[data-task="W1"] a');
  await waitFor('#events li[data-kind="approval_waiting"]');
  const first = page.locator('#run-waiting .approval').first();
  await first.waitFor();
  seen.first = await first.locator('pre').innerText();
  seen.events_before = await page.locator('#events li').count();
  await page.screenshot({ path: `${shots}/run.png`, fullPage: true });

  // Approve it in one click: the agent goes on, live, to its next request (wget).
  await first.locator('button.primary').click();
  await waitFor('#events li[data-kind="permission_answer"]');
  await page.locator('#run-waiting .approval', { hasText: 'wget' }).waitFor();
  seen.events_live = await page.locator('#events li').count();

  // The locks the run holds, and the knowledge its agents get.
  await page.click('#nav-locks');
  await waitFor('td code:has-text("w1/**")');
  await page.screenshot({ path: `${shots}/locks.png`, fullPage: true });
  await page.click('#nav-knowledge');
  await waitFor('li:has-text("review")');
  seen.sources = await page.locator('tbody tr').count();
  await page.screenshot({ path: `${shots}/knowledge.png`, fullPage: true });

  // The approvals page has the next request too; on a phone-sized screen as well.
  await page.click('#nav-approvals');
  const second = page.locator('#waiting .approval', { hasText: 'wget' });
  await second.waitFor();
  await page.locator('#answered .approval.answered', { hasText: 'curl' }).waitFor();
  seen.time_left = await second.locator('.actions .muted').last().textContent();
  await page.screenshot({ path: `${shots}/approvals.png`, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: `${shots}/approvals-phone.png`, fullPage: true });
  seen.phone_overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  await page.setViewportSize({ width: 1200, height: 900 });

  // Deny it, with the reason the agent will read.
  await second.locator('button.danger').click();
  await waitFor('#waiting .approval .error:has-text("Say why")');
  await second.locator('input').fill('no downloads in this task');
  await second.locator('button.danger').click();
  await waitFor('#waiting p.muted:has-text("Nothing waits for you.")');
  await waitFor('#answered [data-approval]');

  // Back to the run with the back button (past the knowledge and the locks), then a reload:
  // the agent went on and finished.
  await page.goBack();
  await waitFor('h1:has-text("Knowledge")');
  await page.goBack();
  await waitFor('h1:has-text("Locks in force")');
  await page.goBack();
  await waitFor('#events li[data-kind="permission_answer"]');
  await page.reload();
  await waitFor('#run-status [data-status="COMPLETED"]', { timeout: 120000 });
  // Its verification and checkpoints, redrawn as the events came.
  await waitFor('#run-details .card:has-text("passed")');
  seen.checkpoints = await page.locator('#run-details tbody tr').count();
  const text = await page.locator('#events').innerText();
  seen.denial_shown = text.includes('no downloads in this task');
  seen.events_after = await page.locator('#events li').count();
  seen.hash = new URL(page.url()).hash;
  await page.screenshot({ path: `${shots}/run-completed.png`, fullPage: true });
  // Nothing secret anywhere: not on the pages, not in what the API answers.
  const answers = await page.evaluate(async (paths) => {
    const texts = [];
    for (const path of paths) texts.push(await (await fetch(path)).text());
    return texts.join('\n');
  }, ['/api/overview', `/api/plans/${plan}`, '/api/runs/1', '/api/approvals?all=true', '/api/locks', '/api/knowledge']);
  const pages = text + (await page.locator('body').innerText()) + seen.first;
  seen.secret_shown = (answers + pages).includes(process.env.SECRET);
  seen.redacted_shown = pages.includes('[redacted:ANTHROPIC_API_KEY]');
  // A decision recorded meanwhile (a new version): the plan's page shows it without a reload,
  // with what changed, and the old version on its own.
  await page.goto(`${url}#/plans/${plan}`);
  await waitFor('h2:has-text("Versions")');
  const decide = JSON.parse(process.env.DECIDE);
  execFileSync(decide.program, decide.args, { stdio: 'ignore' });
  await page.click('a:has-text("what changed")');
  await waitFor('li[data-change]');
  seen.diff = await page.locator('li[data-change]').evaluateAll((items) => items.map((li) => li.dataset.change));
  await page.screenshot({ path: `${shots}/diff.png`, fullPage: true });
  seen.diff_text = await page.locator('li[data-change]').innerText();
  await page.click('a:has-text("version 1")');
  await waitFor('.notice');
  seen.old_version_notice = (await page.locator('.notice').innerText()).includes('the plan is at version 2');
});
