#!/usr/bin/python3
"""The ops console in a real Chromium (Debian's chromium and chromedriver, driven by python3-selenium) against a
deliveryd holding a seeded month (world.py): the numbers on the page are the API's, a busy day pages to its end,
the "?" explains failed, excluded and uncertain sends on hover, keyboard focus and tap, a send's history and
failover legs open, both downloads are the export byte for byte, tokens are asked for and never put in a URL, a
month past retention says so, the browser console stays free of errors (a CSP violation is one), and screenshots at
1280x800 and 390x844 are written.

  tests/browser/console_test.py --daemon build/daemon/deliveryd --data tests/data --out build/tests/browser [-v]

DELIVERYD_BROWSER_KEEP=1 keeps the daemon's folder (its log) after the run.
"""

import argparse
import datetime
import glob
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import unittest

from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chromium  # noqa: E402
import world  # noqa: E402

ARGS = None
WORLD = None  # {'daemon': world.Daemon, 'facts': dict}

READ_TOKEN = 'read-only-token-8d1f3b'
FULL_TOKEN = 'full-token-51c0aa'
STATUSES = ['pending', 'sent', 'failed', 'excluded', 'uncertain']
MEDIA = ['sms', 'lms', 'email', 'alimtalk']


def start_browser(downloads, width=1280, height=800, mobile=False):
    return chromium.start(downloads, width, height, mobile, ARGS.chromium, ARGS.chromedriver)


def stop_browser(driver):
    chromium.stop(driver)


class ConsolePage:
    """The page as a person sees it, through the contract's data-testid hooks."""

    def __init__(self, driver, daemon):
        self.driver = driver
        self.daemon = daemon

    def wait(self, condition, what, timeout=20):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(lambda d: condition())
        except TimeoutException:
            raise AssertionError(f'timed out waiting for {what}; the page says: '
                                 f'{self.driver.find_element(By.TAG_NAME, "body").text[:600]!r}') from None

    def open(self, fragment=''):
        self.driver.get('about:blank')  # a new page, not a new fragment of the page already there
        self.driver.get(f'{self.daemon.ops}/#{fragment}')
        self.wait(lambda: self.html('data-ready') == '1', 'the console to start')

    def html(self, attribute):
        return self.driver.find_element(By.TAG_NAME, 'html').get_attribute(attribute)

    def settled(self):
        return self.html('data-busy') == '0'

    def wait_shown(self, month, filter_='all', source=''):
        expected = f'{month}|{filter_}|{source}'
        self.wait(lambda: self.html('data-shown') == expected and self.settled(), f'the page to show {expected}')

    def testid(self, name, root=None):
        return (root or self.driver).find_element(By.CSS_SELECTOR, f'[data-testid="{name}"]')

    def testids(self, name, root=None):
        return (root or self.driver).find_elements(By.CSS_SELECTOR, f'[data-testid="{name}"]')

    def value(self, name):
        """The number behind a hook: its own value attribute, or that of the <data> inside it."""
        element = self.testid(name)
        raw = element.get_attribute('value')
        if raw is None:
            raw = element.find_element(By.TAG_NAME, 'data').get_attribute('value')
        return float(raw)

    def choose(self, filter_, source):
        Select(self.testid('filter')).select_by_value(filter_)
        self.wait(lambda: self.html('data-shown').startswith(f'{WORLD["facts"]["month"]}|{filter_}|')
                  and self.settled(), f'the {filter_} filter')
        Select(self.testid('source')).select_by_value(source)
        self.wait_shown(WORLD['facts']['month'], filter_, source)

    def open_day(self, date):
        log = self.testid('day-log')
        self.driver.execute_script('delete arguments[0].dataset.rows', log)  # set again when the day is shown
        self.testid(f'day-{date}').click()
        self.wait(lambda: log.get_attribute('data-date') == date and log.get_attribute('data-rows') is not None
                  and self.settled(), f'the log of {date}')
        return log

    def row(self, send_id):
        return self.driver.find_element(By.CSS_SELECTOR, f'[data-testid="row"][data-send-id="{send_id}"]')

    def errors(self, allowed=()):
        """Console entries of level SEVERE (errors, CSP violations), but those that `allowed` expects."""
        found = []
        for entry in self.driver.get_log('browser'):
            if entry['level'] != 'SEVERE':
                continue
            if any(all(part in entry['message'] for part in pattern) for pattern in allowed):
                continue
            found.append(entry['message'])
        return found

    def requests(self):
        """Every request the page made since the last call: (url, headers)."""
        out = []
        for entry in self.driver.get_log('performance'):
            message = json.loads(entry['message'])['message']
            if message['method'] == 'Network.requestWillBeSent':
                request = message['params']['request']
                out.append((request['url'], request.get('headers', {})))
        return out


def summary(daemon, month, **scope):
    query = '&'.join([f'month={month}'] + [f'{k}={v}' for k, v in scope.items()])
    return daemon.get_json(f'/v1/log/summary?{query}')


def wait_for_download(folder, suffix, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [f for f in glob.glob(os.path.join(folder, f'*{suffix}')) if not f.endswith('.crdownload')]
        partial = glob.glob(os.path.join(folder, '*.crdownload'))
        if done and not partial:
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f'no {suffix} download arrived in {folder}: {os.listdir(folder)}')


class ConsoleTest(unittest.TestCase):
    """The console without tokens."""

    @classmethod
    def setUpClass(cls):
        cls.downloads = tempfile.mkdtemp(prefix='deliveryd-downloads-')
        cls.driver = start_browser(cls.downloads)
        cls.page = ConsolePage(cls.driver, WORLD['daemon'])
        cls.facts = WORLD['facts']
        cls.month = cls.facts['month']

    @classmethod
    def tearDownClass(cls):
        stop_browser(cls.driver)
        shutil.rmtree(cls.downloads, ignore_errors=True)

    def setUp(self):
        self.allowed_errors = ()
        self.driver.get_log('browser')  # what an earlier test left

    def tearDown(self):
        self.assertEqual(self.page.errors(self.allowed_errors), [], 'the browser console has errors')

    def check_numbers(self, expected):
        page = self.page
        self.assertEqual(page.value('total'), expected['total'])
        for status in STATUSES:
            self.assertEqual(page.value(f'status-{status}'), expected['by_status'][status], status)
        for medium in MEDIA:
            self.assertEqual(page.value(f'medium-{medium}-count'), expected['by_medium'][medium]['count'], medium)
            self.assertAlmostEqual(page.value(f'medium-{medium}-cost'), expected['by_medium'][medium]['cost'],
                                   places=6, msg=medium)
        # The text shows the same number as the machine value.
        total_text = page.testid('total').text.replace(',', '')
        self.assertEqual(int(total_text), expected['total'])
        for day in expected['days']:
            if day['total'] > 0:
                self.assertTrue(page.testid(f'day-{day["date"]}').is_displayed(), day['date'])

    def test_numbers_are_the_summary_for_all_a_campaign_and_a_one_time_message(self):
        daemon, page = WORLD['daemon'], self.page
        page.open(f'month={self.month}')
        page.wait_shown(self.month)
        every = summary(daemon, self.month)
        self.assertGreater(every['total'], 2000)
        for status in STATUSES:
            self.assertGreater(every['by_status'][status], 0, f'the seed has no {status} send')
        for medium in MEDIA:
            self.assertGreater(every['by_medium'][medium]['count'], 0, f'the seed has no {medium} send')
        self.check_numbers(every)
        # The chooser lists the month's sources by name, most sends first.
        sources = daemon.get_json(f'/v1/log/sources?month={self.month}')['sources']
        page.choose('campaign', self.facts['campaign'])
        options = [o.get_attribute('value') for o in page.testid('source').find_elements(By.TAG_NAME, 'option')]
        self.assertEqual(options, [s['source_id'] for s in sources if s['type'] == 'campaign'])
        self.assertIn('VIP 안내', page.testid('source').text)
        self.check_numbers(summary(daemon, self.month, campaign=self.facts['campaign']))
        page.choose('one_time', self.facts['one_time'])
        self.check_numbers(summary(daemon, self.month, one_time=self.facts['one_time']))
        self.assertIn(f'filter=one_time&source={self.facts["one_time"]}', self.driver.current_url)
        # Back to all, through the browser's history: the page follows the URL.
        self.driver.back()
        page.wait_shown(self.month, 'campaign', self.facts['campaign'])
        self.check_numbers(summary(daemon, self.month, campaign=self.facts['campaign']))

    def test_a_busy_day_opens_and_pages_to_its_end(self):
        page = self.page
        page.open(f'month={self.month}')
        page.wait_shown(self.month)
        big = self.facts['big_day']
        expected = next(d for d in summary(WORLD['daemon'], self.month)['days'] if d['date'] == big)['total']
        self.assertGreaterEqual(expected, 2000)
        log = page.open_day(big)
        pages = 1
        while log.get_attribute('data-complete') != 'true':
            shown = int(log.get_attribute('data-rows'))
            page.testid('more').click()
            page.wait(lambda: int(log.get_attribute('data-rows') or 0) > shown and page.settled(), 'the next page')
            pages += 1
        # Read in one call: a round trip per row would take longer than the page did.
        ids, times = self.driver.execute_script(
            'const rows = [...arguments[0].querySelectorAll("[data-testid=row]")];'
            'return [rows.map(r => r.dataset.sendId), rows.map(r => r.querySelector(".time").textContent)]', log)
        self.assertEqual(len(ids), expected)
        self.assertEqual(len(set(ids)), expected, 'a send shown twice')
        self.assertGreaterEqual(pages, 3)
        self.assertFalse(page.testid('more').is_displayed())
        self.assertIn('whole log', log.text)
        self.assertEqual(times, sorted(times, reverse=True), 'the day log is newest first')
        # The day's own filters: only the excluded sends of the day.
        Select(page.testid('day-status')).select_by_value('excluded')
        page.wait(lambda: log.get_attribute('data-complete') == 'true' and page.settled(), 'the filtered day')
        excluded = next(d for d in summary(WORLD['daemon'], self.month)['days'] if d['date'] == big)['excluded']
        statuses = self.driver.execute_script(
            'return [...arguments[0].querySelectorAll("[data-testid=row] .status")].map(s => s.textContent)', log)
        self.assertEqual(len(statuses), excluded)
        self.assertEqual(set(statuses), {'Excluded'})

    def check_hint(self, send_id, day):
        """The "?" of `send_id`: its tooltip says the row's code and reason on hover and on keyboard focus."""
        page = self.page
        if page.testid('day-log').get_attribute('data-date') != day:
            page.open_day(day)
        row = page.row(send_id)
        hint = page.testid('reason-hint', row)
        tip = row.find_element(By.CSS_SELECTOR, '[role="tooltip"]')
        self.assertEqual(hint.get_attribute('aria-describedby'), tip.get_attribute('id'))
        self.assertFalse(tip.is_displayed())
        api_row = WORLD['daemon'].get_json(f'/v1/sends/{send_id}')
        ActionChains(self.driver).move_to_element(hint).perform()
        page.wait(tip.is_displayed, f'the tooltip of {send_id} on hover')
        self.assertIn(api_row['code'], tip.text)
        self.assertIn(api_row['reason'], tip.text)
        ActionChains(self.driver).move_to_element(page.testid('total')).perform()
        page.wait(lambda: not tip.is_displayed(), 'the tooltip to go with the pointer')
        # Keyboard: from the row's first control, Tab reaches the "?", and focus shows the tooltip.
        self.driver.execute_script('arguments[0].focus()', row.find_element(By.CSS_SELECTOR, '.time button'))
        ActionChains(self.driver).send_keys(Keys.TAB).perform()
        self.assertEqual(self.driver.switch_to.active_element, hint)
        page.wait(tip.is_displayed, f'the tooltip of {send_id} on keyboard focus')
        ActionChains(self.driver).send_keys(Keys.ESCAPE).perform()
        page.wait(lambda: not tip.is_displayed(), 'Escape to close the tooltip')
        return api_row

    def test_the_question_mark_explains_failed_excluded_and_uncertain_sends(self):
        page = self.page
        page.open(f'month={self.month}')
        page.wait_shown(self.month)
        failed = self.check_hint(*self.facts['failed'])
        self.assertEqual(failed['code'], 'twilio:30003')
        excluded = self.check_hint(*self.facts['excluded'])
        self.assertEqual(excluded['code'], '10006')
        self.assertIn('opted out', page.row(self.facts['excluded'][0]).find_element(
            By.CSS_SELECTOR, '[role="tooltip"]').get_attribute('textContent'))
        uncertain = self.check_hint(*self.facts['uncertain'])
        self.assertEqual(uncertain['code'], 'ME09')
        # A click (a tap, on a phone: see the 390 px test) opens it until the next click elsewhere.
        row = page.row(self.facts['uncertain'][0])
        hint = page.testid('reason-hint', row)
        tip = row.find_element(By.CSS_SELECTOR, '[role="tooltip"]')
        self.driver.execute_script('arguments[0].click()', hint)
        self.assertIn('open', hint.find_element(By.XPATH, '..').get_attribute('class'))
        self.driver.execute_script('document.body.click()')
        self.assertNotIn('open', hint.find_element(By.XPATH, '..').get_attribute('class'))
        self.assertFalse(tip.is_displayed())
        # A sent send has no "?".
        day_rows = page.testids('row')
        sent = [r for r in day_rows if r.find_element(By.CSS_SELECTOR, '.status').text == 'Sent']
        self.assertTrue(sent)
        self.assertEqual(page.testids('reason-hint', sent[0]), [])

    def test_a_send_opens_with_its_history_and_failover_legs(self):
        page = self.page
        page.open(f'month={self.month}')
        page.wait_shown(self.month)
        send_id, day = self.facts['failover']
        page.open_day(day)
        row = page.row(send_id)
        self.assertIn('Alimtalk → LMS', row.text)
        row.find_element(By.CSS_SELECTOR, '.type').click()  # anywhere on the row
        dialog = page.testid('send')
        page.wait(lambda: dialog.get_attribute('data-send-id') == send_id and dialog.is_displayed(), 'the send')
        api = WORLD['daemon'].get_json(f'/v1/sends/{send_id}')
        history = page.testid('send-history').find_elements(By.TAG_NAME, 'li')
        self.assertEqual(len(history), len(api['history']))
        self.assertEqual([h.get_attribute('data-source') for h in history], [h['source'] for h in api['history']])
        self.assertIn('Vendor report', dialog.text)
        legs = page.testid('send-legs').find_elements(By.CSS_SELECTOR, 'tbody tr')
        self.assertEqual([leg.find_element(By.TAG_NAME, 'td').text for leg in legs],
                         [leg['send_id'] for leg in api['legs']])
        self.assertEqual(api['status'], 'sent')
        # A leg opens in the same dialog, and says what it is a leg of; Escape closes it.
        legs[1].find_element(By.TAG_NAME, 'button').click()
        page.wait(lambda: dialog.get_attribute('data-send-id') == api['legs'][1]['send_id'], 'the leg')
        self.assertIn(send_id, dialog.text)
        ActionChains(self.driver).send_keys(Keys.ESCAPE).perform()
        page.wait(lambda: not dialog.is_displayed(), 'the dialog to close')

    def test_downloads_are_the_export_byte_for_byte(self):
        page = self.page
        page.open(f'month={self.month}')
        page.wait_shown(self.month)
        for name in os.listdir(self.downloads):
            os.remove(os.path.join(self.downloads, name))
        page.choose('campaign', self.facts['campaign'])
        for fmt in ('xlsx', 'jsonl'):
            page.testid(f'download-{fmt}').click()
            path = wait_for_download(self.downloads, f'.{fmt}')
            expected = WORLD['daemon'].api('GET', f'/v1/log/export?month={self.month}&format={fmt}'
                                                  f'&campaign={self.facts["campaign"]}')
            self.assertEqual(expected.status, 200)
            with open(path, 'rb') as f:
                got = f.read()
            self.assertEqual(len(got), len(expected.body), fmt)
            self.assertEqual(got, expected.body, f'the {fmt} download differs from GET /v1/log/export')
            self.assertEqual(os.path.basename(path), f'deliveryd-{self.month}-campaign-{self.facts["campaign"]}.{fmt}')
        # The page never fetched a file: it asked for tickets, and the browser followed their URLs to the disk.
        urls = [url for url, _ in page.requests()]
        self.assertEqual(len([url for url in urls if '/v1/log/export/tickets?' in url]), 2)
        self.assertFalse(any('/v1/log/export?month=' in url for url in urls))

    def test_a_month_past_retention_says_so(self):
        self.allowed_errors = (('/v1/log/', 'status of 410'),)
        page = self.page
        page.open(f'month={self.month}')
        page.wait_shown(self.month)
        old = datetime.date.today().replace(day=1) - datetime.timedelta(days=800)
        old_month = f'{old.year:04d}-{old.month:02d}'
        month = page.testid('month')
        self.driver.execute_script(
            'arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event("change", {bubbles: true}))',
            month, old_month)
        error = page.testid('error')
        page.wait(lambda: error.is_displayed() and page.settled(), 'the 410 message')
        self.assertIn('older than the ledger keeps', error.text)
        self.assertEqual(error.get_attribute('data-status'), '410')
        self.assertEqual(page.testid('total').text, '–')

    def test_states_empty_busy_and_unreachable(self):
        self.allowed_errors = (('/v1/log/', 'status of 503'), ('ERR_CONNECTION_REFUSED',))
        page, daemon = self.page, WORLD['daemon']
        # A month without sends says so, and shows zeros, not an error.
        empty = world.previous_month(datetime.datetime.now(world.SEOUL).replace(day=1)
                                     - datetime.timedelta(days=40))
        page.open(f'month={empty}')
        page.wait_shown(empty)
        self.assertEqual(page.value('total'), 0)
        self.assertIn('No sends in', page.driver.find_element(By.CSS_SELECTOR, '.empty-month').text)
        self.assertFalse(page.testid('error').is_displayed())
        self.assertFalse(page.driver.find_element(By.CSS_SELECTOR, '.loading').is_displayed())
        # A ledger that fails while it is read (its tables renamed under the daemon, as in queries_test.cpp):
        # "busy, retry"; Retry shows the month once it can be read again.
        page.open(f'month={self.month}')
        page.wait_shown(self.month)
        with sqlite3.connect(daemon.ledger, timeout=10) as db:
            db.execute('ALTER TABLE sources RENAME TO sources_away')
        try:
            page.testid('month-next').click()
            error = page.testid('error')
            page.wait(lambda: error.is_displayed() and page.settled(), 'the 503 message')
            self.assertEqual(error.get_attribute('data-status'), '503')
            self.assertIn('busy', error.text)
        finally:
            with sqlite3.connect(daemon.ledger, timeout=10) as db:
                db.execute('ALTER TABLE sources_away RENAME TO sources')
        error.find_element(By.CSS_SELECTOR, '.retry').click()
        page.wait(lambda: not error.is_displayed() and page.html('data-shown') is not None
                  and page.html('data-shown').endswith('|all|') and page.settled(), 'the retry')
        # deliveryd gone: the page says it cannot reach it; back, Retry shows the month again.
        daemon.stop()
        try:
            page.testid('month-previous').click()
            page.wait(lambda: error.is_displayed(), 'the unreachable message')
            self.assertEqual(error.get_attribute('data-status'), 'unreachable')
            self.assertIn('cannot be reached', error.text)
        finally:
            daemon.start()
        error.find_element(By.CSS_SELECTOR, '.retry').click()
        page.wait_shown(self.month)
        self.assertFalse(error.is_displayed())
        self.assertEqual(page.value('total'), summary(daemon, self.month)['total'])

    def test_keyboard_alone_opens_a_day_and_a_send(self):
        page = self.page
        page.open(f'month={self.month}')
        page.wait_shown(self.month)
        send_id, day = self.facts['failed']
        keys = ActionChains(self.driver)
        self.driver.execute_script('arguments[0].focus()', page.testid(f'day-{day}'))
        keys.send_keys(Keys.ENTER).perform()
        log = page.testid('day-log')
        page.wait(lambda: log.get_attribute('data-date') == day and log.get_attribute('data-rows') is not None
                  and page.settled(), 'the day by keyboard')
        self.driver.execute_script('arguments[0].focus()', page.row(send_id).find_element(By.CSS_SELECTOR,
                                                                                           '.time button'))
        ActionChains(self.driver).send_keys(Keys.ENTER).perform()
        dialog = page.testid('send')
        page.wait(lambda: dialog.is_displayed() and dialog.get_attribute('data-send-id') == send_id, 'the send')
        self.assertEqual(self.driver.switch_to.active_element.get_attribute('class'), 'quiet send-close')
        ActionChains(self.driver).send_keys(Keys.ESCAPE).perform()
        page.wait(lambda: not dialog.is_displayed(), 'Escape to close the send')

    def test_korean(self):
        page = self.page
        page.open(f'month={self.month}')
        page.wait_shown(self.month)
        self.driver.find_element(By.CSS_SELECTOR, '[data-lang="ko"]').click()
        page.wait(lambda: page.html('lang') == 'ko', 'Korean')
        self.assertEqual(self.driver.find_element(By.TAG_NAME, 'h1').text, '외부 발송 내역')
        self.assertIn('발송 건수', self.driver.find_element(By.CSS_SELECTOR, '.summary').text)
        self.assertIn('성공', page.testid('statuses').text)
        self.check_numbers(summary(WORLD['daemon'], self.month))
        # Remembered: the next visit speaks Korean too, until English is chosen.
        page.open(f'month={self.month}')
        self.assertEqual(page.html('lang'), 'ko')
        self.driver.find_element(By.CSS_SELECTOR, '[data-lang="en"]').click()
        page.wait(lambda: page.html('lang') == 'en', 'English')

    def test_the_page_is_served_with_its_security_headers(self):
        answer = world.http('GET', f'{WORLD["daemon"].ops}/', headers={'Accept-Encoding': 'gzip'})
        self.assertEqual(answer.status, 200)
        csp = answer.headers['Content-Security-Policy']
        self.assertNotIn('unsafe-inline', csp)
        self.assertNotIn('unsafe-eval', csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertEqual(answer.headers['X-Content-Type-Options'], 'nosniff')
        self.assertEqual(answer.headers['Referrer-Policy'], 'no-referrer')
        # No inline script or style in the page: the CSP would refuse it, and the tearDown sees that as an error.
        self.page.open(f'month={self.month}')
        self.page.wait_shown(self.month)
        inline = self.driver.execute_script(
            'return [...document.querySelectorAll("script:not([src]), style, [style]")].length')
        self.assertEqual(inline, 0)


class PhoneTest(unittest.TestCase):
    """At 390 px wide, with touch: usable, and the screenshots of both sizes."""

    def setUp(self):
        self.downloads = tempfile.mkdtemp(prefix='deliveryd-downloads-')

    def tearDown(self):
        shutil.rmtree(self.downloads, ignore_errors=True)

    def test_screenshots_and_a_tap_on_the_question_mark(self):
        facts = WORLD['facts']
        os.makedirs(ARGS.out, exist_ok=True)
        desk = start_browser(self.downloads, 1280, 800)
        try:
            page = ConsolePage(desk, WORLD['daemon'])
            page.open(f'month={facts["month"]}&day={facts["failed"][1]}')
            page.wait_shown(facts['month'])
            page.wait(lambda: page.testid('day-log').get_attribute('data-rows') is not None, 'the day')
            desk.execute_script('window.scrollTo(0, 0)')
            desk.save_screenshot(os.path.join(ARGS.out, 'console-1280x800.png'))
            self.assertEqual(page.errors(), [])
        finally:
            stop_browser(desk)
        phone = start_browser(self.downloads, 390, 844, mobile=True)
        try:
            page = ConsolePage(phone, WORLD['daemon'])
            page.open(f'month={facts["month"]}')
            page.wait_shown(facts['month'])
            # Nothing wider than the screen but the tables, which scroll inside their own boxes.
            self.assertLessEqual(phone.execute_script('return document.documentElement.scrollWidth'), 390)
            phone.save_screenshot(os.path.join(ARGS.out, 'console-390x844.png'))
            send_id, day = facts['failed']
            page.open_day(day)
            hint = page.testid('reason-hint', page.row(send_id))
            phone.execute_script('arguments[0].scrollIntoView({block: "center"})', hint)
            box = phone.execute_script('const r = arguments[0].getBoundingClientRect(); '
                                       'return [r.left + r.width / 2, r.top + r.height / 2]', hint)
            # A finger, not a mouse: touch events, from which the browser makes the click of a tap.
            phone.execute_cdp_cmd('Input.dispatchTouchEvent',
                                  {'type': 'touchStart', 'touchPoints': [{'x': box[0], 'y': box[1]}]})
            phone.execute_cdp_cmd('Input.dispatchTouchEvent', {'type': 'touchEnd', 'touchPoints': []})
            tip = page.row(send_id).find_element(By.CSS_SELECTOR, '[role="tooltip"]')
            page.wait(tip.is_displayed, 'the tooltip on a tap')
            self.assertIn('open', hint.find_element(By.XPATH, '..').get_attribute('class'))
            self.assertIn('twilio:30003', tip.text)
            self.assertEqual(page.errors(), [])
        finally:
            stop_browser(phone)


class TokenTest(unittest.TestCase):
    """With [ops] token_file and read_token_file: the prompt, the read token, and no token in any URL."""

    @classmethod
    def setUpClass(cls):
        WORLD['daemon'].stop()
        WORLD['daemon'].start(token=FULL_TOKEN, read_token=READ_TOKEN)
        cls.downloads = tempfile.mkdtemp(prefix='deliveryd-downloads-')

    @classmethod
    def tearDownClass(cls):
        WORLD['daemon'].stop()
        WORLD['daemon'].start()
        shutil.rmtree(cls.downloads, ignore_errors=True)

    def test_the_prompt_takes_the_read_token_which_never_goes_into_a_url(self):
        daemon, facts = WORLD['daemon'], WORLD['facts']
        driver = start_browser(self.downloads)
        try:
            page = ConsolePage(driver, daemon)
            page.open(f'month={facts["month"]}')
            token = page.testid('token')
            page.wait(token.is_displayed, 'the token prompt')
            token.send_keys('not-the-token' + Keys.ENTER)
            wrong = driver.find_element(By.CSS_SELECTOR, '.token-wrong')
            page.wait(lambda: wrong.is_displayed() and token.is_displayed(), 'the wrong token to be refused')
            token.send_keys(READ_TOKEN + Keys.ENTER)
            page.wait_shown(facts['month'])
            expected = daemon.get_json(f'/v1/log/summary?month={facts["month"]}')
            self.assertEqual(page.value('total'), expected['total'])
            # The read token downloads too: it asks for a ticket.
            page.testid('download-jsonl').click()
            path = wait_for_download(self.downloads, '.jsonl')
            with open(path, 'rb') as f:
                self.assertEqual(f.read(), daemon.api('GET', f'/v1/log/export?month={facts["month"]}&format=jsonl').body)
            # A reload keeps the token for the tab (sessionStorage), without asking again.
            page.open(f'month={facts["month"]}')
            page.wait_shown(facts['month'])
            self.assertFalse(page.testid('token').is_displayed())
            requests = page.requests()
            api = [(url, headers) for url, headers in requests if '/v1/' in url]
            self.assertTrue(api)
            for url, _ in requests:
                self.assertNotIn(READ_TOKEN, url)
            self.assertTrue(any(h.get('Authorization') == f'Bearer {READ_TOKEN}' for _, h in api))
            # Only the 401s that asked for the token, before it was given, are errors in the console.
            self.assertEqual(page.errors(allowed=(('/v1/log/', 'status of 401'),)), [])
        finally:
            stop_browser(driver)
        # The read token may not register sends.
        intake = daemon.api('POST', '/v1/sends', b'[]', {'Content-Type': 'application/json'}, token=READ_TOKEN)
        self.assertEqual(intake.status, 403)
        self.assertEqual(intake.json()['error'], 'forbidden')


def main():
    global ARGS, WORLD
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--daemon', required=True, help='the deliveryd binary')
    parser.add_argument('--data', required=True, help='tests/data (the SendGrid test key)')
    parser.add_argument('--out', required=True, help='where the screenshots go')
    parser.add_argument('--chromium', default=chromium.CHROMIUM)
    parser.add_argument('--chromedriver', default=chromium.CHROMEDRIVER)
    ARGS, rest = parser.parse_known_args()
    daemon = world.Daemon(ARGS.daemon, ARGS.data)
    ok = False
    try:
        daemon.start()
        facts = world.seed(daemon, world.previous_month())
        WORLD = {'daemon': daemon, 'facts': facts}
        program = unittest.main(argv=[sys.argv[0]] + rest, exit=False)
        ok = program.result.wasSuccessful()
    finally:
        code = daemon.stop()
        report = world.sanitizer_report(daemon.log())
        if code != 0 or report:
            print(f'deliveryd stopped with exit code {code}{": " + report if report else ""}', file=sys.stderr)
            ok = False
        if not ok:
            print(f'deliveryd log (end):\n{daemon.log()[-4000:]}', file=sys.stderr)
        daemon.cleanup()
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
