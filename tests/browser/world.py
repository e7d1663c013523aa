"""The world the console's browser tests and benchmark run in: a deliveryd started on loopback ports with a ledger in
a temporary folder, and a month of sends seeded through its real API: intake, and the vendors' webhooks signed as
each vendor documents it (Twilio's HMAC-SHA1, SendGrid's ECDSA P-256 through the openssl command, the carrier's
and the Kakao dealer's tokens). It simulates the sending pipeline and the vendors; it does not simulate time
(sends are dated in the past month, which the daemon accepts as it would late reports).

Only the Python standard library: it runs with Debian's python3 beside python3-selenium.
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

SEOUL = datetime.timezone(datetime.timedelta(hours=9))  # no DST since 1988
AUTH_TOKEN = 'browser-test-auth-token'
CARRIER_TOKEN = 'browser-test-carrier-token'
KAKAO_PUSH_TOKEN = 'browser-test-kakao-token'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def previous_month(now=None):
    """The month before the current one in Seoul, 'YYYY-MM'."""
    now = now or datetime.datetime.now(SEOUL)
    first = now.replace(day=1)
    last = first - datetime.timedelta(days=1)
    return f'{last.year:04d}-{last.month:02d}'


def seoul_time(date, hour, minute=0, second=0):
    """'YYYY-MM-DD' at hh:mm:ss in Seoul, RFC 3339."""
    y, m, d = map(int, date.split('-'))
    return datetime.datetime(y, m, d, hour, minute, second, tzinfo=SEOUL).isoformat()


def sanitizer_report(log):
    """The first line of an AddressSanitizer, LeakSanitizer or UBSan report in a log, '' when there is none."""
    for line in log.splitlines():
        if 'ERROR: AddressSanitizer' in line or 'ERROR: LeakSanitizer' in line or 'runtime error:' in line:
            return line
    return ''


class Answer:
    """An HTTP answer: status, headers, body bytes."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


def http(method, url, body=None, headers=None, timeout=60):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as res:
            return Answer(res.status, res.headers, res.read())
    except urllib.error.HTTPError as e:
        return Answer(e.code, e.headers, e.read())


class Daemon:
    """deliveryd on loopback ports with its own folder; the ledger survives a restart with other tokens."""

    def __init__(self, binary, data_dir, folder=None, ledger=None):
        self.binary = binary
        self.data_dir = data_dir
        self.folder = folder or tempfile.mkdtemp(prefix='deliveryd-browser-')
        self.own_folder = folder is None
        self.ledger = ledger or os.path.join(self.folder, 'ledger.db')
        self.ops_port = free_port()
        self.hooks_port = free_port()
        self.process = None
        self.token = None  # the full ops token, when configured
        self.read_token = None

    @property
    def ops(self):
        return f'http://127.0.0.1:{self.ops_port}'

    @property
    def hooks(self):
        return f'http://127.0.0.1:{self.hooks_port}'

    def write_config(self, token=None, read_token=None):
        with open(os.path.join(self.data_dir, 'email', 'public_key.b64')) as f:
            key = f.read().strip()
        lines = [
            '[storage]', f'path = "{self.ledger}"', '',
            '[time]', 'zone = "Asia/Seoul"', '',
            '[webhooks]', f'listen = "127.0.0.1:{self.hooks_port}"', f'public_url = "{self.hooks}"', '',
            '[ops]', f'listen = "127.0.0.1:{self.ops_port}"',
        ]
        for name, value in (('token_file', token), ('read_token_file', read_token)):
            if value:
                path = os.path.join(self.folder, name)
                with open(path, 'w') as f:
                    f.write(value + '\n')
                lines.append(f'{name} = "{path}"')
        lines += [
            '', '[pricing]', 'currency = "KRW"', 'sms = 12', 'lms = 39', 'alimtalk = 8', 'email = 1.5', '',
            # Sends dated last month stay pending where a test wants them pending: long deadlines and no polls
            # (nothing answers at api_base), but for the carrier, whose unanswered sends become uncertain (ME09)
            # by their deadline at once.
            '[twilio]', 'account_sid = "AC00000000000000000000000000000000"', f'auth_token = "{AUTH_TOKEN}"',
            f'api_base = "http://127.0.0.1:{free_port()}"', 'uncertain_after = "3650d"', 'poll_after = "3650d"', '',
            '[email]', f'verification_key = "{key}"', 'uncertain_after = "3650d"', '',
            '[carrier]', f'token = "{CARRIER_TOKEN}"', 'uncertain_after = "1s"', '',
            '[kakao]', f'api_base = "http://127.0.0.1:{free_port()}"', 'service_id = "ncp:kkobizmsg:kr:1:test"',
            'access_key = "TESTACCESS"', 'secret_key = "TESTSECRET"', 'poll_interval = "1h"',
            'uncertain_after = "3650d"', f'push_token = "{KAKAO_PUSH_TOKEN}"', '',
        ]
        self.config = os.path.join(self.folder, 'deliveryd.toml')
        with open(self.config, 'w') as f:
            f.write('\n'.join(lines))
        self.token = token
        self.read_token = read_token

    def start(self, token=None, read_token=None):
        self.write_config(token, read_token)
        self.log_path = os.path.join(self.folder, 'deliveryd.log')
        with open(self.log_path, 'ab') as log:
            self.process = subprocess.Popen([self.binary, '--config', self.config], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f'deliveryd exited with {self.process.returncode}:\n{self.log()}')
            try:
                if http('GET', f'{self.ops}/healthz', timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f'deliveryd did not become healthy:\n{self.log()}')

    def stop(self):
        """SIGTERM, and the exit code (None when it was not running; -9 when it had to be killed)."""
        code = None
        if self.process:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(30)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            code = self.process.returncode
        self.process = None
        return code

    def cleanup(self):
        self.stop()
        if self.own_folder and not os.environ.get('DELIVERYD_BROWSER_KEEP'):
            shutil.rmtree(self.folder, ignore_errors=True)

    def log(self):
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    # ---- the ops API

    def api(self, method, path, body=None, headers=None, token=None):
        headers = dict(headers or {})
        token = token or self.token
        if token:
            headers['Authorization'] = f'Bearer {token}'
        return http(method, self.ops + path, body, headers)

    def get_json(self, path):
        answer = self.api('GET', path)
        if answer.status != 200:
            raise AssertionError(f'GET {path}: {answer.status} {answer.body[:300]!r}')
        return answer.json()

    def register(self, sends):
        for i in range(0, len(sends), 5000):
            batch = sends[i:i + 5000]
            answer = self.api('POST', '/v1/sends', json.dumps(batch).encode(), {'Content-Type': 'application/json'})
            if answer.status != 200:
                raise AssertionError(f'intake: {answer.status} {answer.body[:300]!r}')
            got = answer.json()
            if got['accepted'] + got['duplicates'] + got['updated'] != len(batch):
                raise AssertionError(f'intake rejected items: {got["rejected"][:3]}')

    # ---- the vendors

    def twilio(self, sid, status, error_code=None):
        params = {'MessageSid': sid, 'MessageStatus': status, 'SmsSid': sid, 'SmsStatus': status,
                  'AccountSid': 'AC00000000000000000000000000000000'}
        if error_code:
            params['ErrorCode'] = error_code
        url = self.hooks + '/webhooks/twilio'
        signed = url + ''.join(name + value for name, value in sorted(params.items()))
        signature = base64.b64encode(hmac.new(AUTH_TOKEN.encode(), signed.encode(), hashlib.sha1).digest()).decode()
        self.hook('/webhooks/twilio', urllib.parse.urlencode(params).encode(),
                  {'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': signature})

    def kakao(self, results):
        self.hook('/webhooks/kakao', json.dumps(results).encode(),
                  {'Content-Type': 'application/json', 'X-Kakao-Token': KAKAO_PUSH_TOKEN})

    def carrier(self, reports):
        self.hook('/webhooks/carrier', json.dumps(reports).encode(),
                  {'Content-Type': 'application/json', 'X-Carrier-Token': CARRIER_TOKEN})

    def sendgrid(self, events):
        body = json.dumps(events).encode()
        timestamp = str(int(time.time()))
        key = os.path.join(self.data_dir, 'email', 'private_key.pem')
        der = subprocess.run(['openssl', 'dgst', '-sha256', '-sign', key], input=timestamp.encode() + body,
                             capture_output=True, check=True).stdout
        self.hook('/webhooks/email', body, {
            'Content-Type': 'application/json',
            'X-Twilio-Email-Event-Webhook-Signature': base64.b64encode(der).decode(),
            'X-Twilio-Email-Event-Webhook-Timestamp': timestamp})

    def hook(self, path, body, headers):
        answer = http('POST', self.hooks + path, body, headers)
        if answer.status != 200:
            raise AssertionError(f'POST {path}: {answer.status} {answer.body[:300]!r}')


def send(send_id, date, hour, medium, vendor=None, type_='follow_up', source=None, name=None, contact=None,
         vmid=None, excluded=None, fallback_of=None, minute=0, second=0):
    item = {'send_id': send_id, 'type': type_, 'medium': medium,
            'contact': contact or ('ana@example.com' if medium == 'email' else '010-1234-5678'),
            'requested_at': seoul_time(date, hour, minute, second)}
    for field, value in (('vendor', vendor), ('source_id', source), ('source_name', name),
                         ('vendor_message_id', vmid), ('excluded', excluded), ('fallback_of', fallback_of)):
        if value is not None:
            item[field] = value
    return item


def seed(daemon, month, big_day_sends=2500):
    """A month of sends: several campaigns and one-time messages, every status and medium, a failover send and a
    busy day. Returns what the tests look for: the ids of particular sends and the days they are on."""
    day = lambda n: f'{month}-{n:02d}'  # noqa: E731
    d1, d2, d3, big = day(3), day(5), day(7), day(12)
    sends = [
        # Campaign "Spring sale": Twilio SMS, one delivered, one undelivered (30003), one still pending.
        send('t-sent', d1, 9, 'sms', 'twilio', 'campaign', 'cmp-spring', 'Spring sale', vmid='SM' + 'a' * 32),
        send('t-failed', d1, 9, 'sms', 'twilio', 'campaign', 'cmp-spring', 'Spring sale', vmid='SM' + 'b' * 32,
             contact='010-2222-3333', minute=5),
        send('t-pending', d1, 10, 'sms', 'twilio', 'campaign', 'cmp-spring', 'Spring sale', vmid='SM' + 'c' * 32),
        # Excluded before sending: unsubscribed (10006) and a duplicate contact (10001).
        send('x-unsub', d1, 11, 'sms', None, 'campaign', 'cmp-spring', 'Spring sale', excluded=10006),
        send('x-dup', d2, 8, 'email', None, 'one_time', 'ot-notice', '서비스 점검 안내', excluded=10001),
        # Campaign "VIP 안내": Kakao Alimtalk, delivered, uncertain (3005 → ME09), and failed (3018) with an LMS
        # failover leg through the carrier that was delivered.
        send('k-sent', d2, 9, 'alimtalk', 'kakao', 'campaign', 'cmp-vip', 'VIP 안내', vmid='kk-sent'),
        send('k-uncertain', d2, 9, 'alimtalk', 'kakao', 'campaign', 'cmp-vip', 'VIP 안내', vmid='kk-unc', minute=1),
        send('k-failover', d2, 10, 'alimtalk', 'kakao', 'campaign', 'cmp-vip', 'VIP 안내', vmid='kk-fail'),
        send('k-failover-lms', d2, 10, 'lms', 'carrier', 'campaign', 'cmp-vip', 'VIP 안내', vmid='cr-leg',
             fallback_of='k-failover', minute=2),
        # A carrier SMS nobody reports on: uncertain (ME09) when its deadline passes.
        send('c-silent', d2, 11, 'sms', 'carrier', 'one_time', 'ot-notice', '서비스 점검 안내', vmid='cr-silent'),
        # E-mail: delivered and bounced, a one-time message without a name.
        send('e-sent', d3, 9, 'email', 'email', 'one_time', 'ot-plain', vmid='Wz1rB2hLQ0SzN3VjX2Jt9g'),
        send('e-bounce', d3, 9, 'email', 'email', 'one_time', 'ot-plain', contact='bo@example.com',
             vmid='kP4Tq7XcR1uY8eHn2LmZ0a', minute=3),
        # A follow-up and a workflow send, no source.
        send('f-1', d3, 12, 'sms', 'twilio', vmid='SM' + 'd' * 32),
        send('w-1', d3, 13, 'alimtalk', 'kakao', 'workflow', vmid='kk-wf'),
    ]
    # The busy day: a campaign of big_day_sends sends, Twilio SMS pending or delivered, some excluded.
    for i in range(big_day_sends):
        second = i * 86000 // big_day_sends
        hour, rest = divmod(second, 3600)
        minute, sec = divmod(rest, 60)
        if i % 5 == 4:
            sends.append(send(f'big-{i:05d}', big, hour, 'sms', None, 'campaign', 'cmp-big', 'Big day',
                              excluded=10004, minute=minute, second=sec, contact=f'010-5{i % 1000:03d}-{i % 10000:04d}'))
        else:
            sends.append(send(f'big-{i:05d}', big, hour, 'sms', 'twilio', 'campaign', 'cmp-big', 'Big day',
                              vmid=f'SM{i:032d}', minute=minute, second=sec, contact=f'010-6{i % 1000:03d}-{i % 10000:04d}'))
    daemon.register(sends)

    daemon.twilio('SM' + 'a' * 32, 'delivered')
    daemon.twilio('SM' + 'b' * 32, 'undelivered', '30003')
    daemon.twilio('SM' + 'd' * 32, 'delivered')
    for i in range(0, min(big_day_sends, 400), 4):
        if i % 5 != 4:
            daemon.twilio(f'SM{i:032d}', 'delivered')
    daemon.kakao([
        {'message_id': 'kk-sent', 'result_code': '0000', 'done_at': seoul_time(d2, 9, 0, 20)},
        {'message_id': 'kk-unc', 'result_code': '3005', 'done_at': seoul_time(d2, 9, 1, 30)},
        {'message_id': 'kk-fail', 'result_code': '3018', 'done_at': seoul_time(d2, 10, 0, 40)},
        {'message_id': 'kk-wf', 'result_code': '0000', 'done_at': seoul_time(d3, 13, 0, 10)},
    ])
    daemon.carrier([{'message_id': 'cr-leg', 'result_code': '4100', 'done_at': seoul_time(d2, 10, 3)}])
    stamp = int(time.time()) - 60
    daemon.sendgrid([
        {'email': 'ana@example.com', 'timestamp': stamp, 'event': 'delivered', 'sg_event_id': 'ev-delivered-1',
         'sg_message_id': 'Wz1rB2hLQ0SzN3VjX2Jt9g.recvd-1'},
        {'email': 'bo@example.com', 'timestamp': stamp, 'event': 'bounce', 'type': 'bounce',
         'status': '5.1.1', 'reason': '550 5.1.1 The email account does not exist.',
         'sg_event_id': 'ev-bounce-1', 'sg_message_id': 'kP4Tq7XcR1uY8eHn2LmZ0a.recvd-2'},
    ])
    # The carrier's silent send turns uncertain within a few seconds (the deadline sweep).
    deadline = time.monotonic() + 20
    while daemon.get_json('/v1/sends/c-silent')['status'] != 'uncertain':
        if time.monotonic() > deadline:
            raise AssertionError('c-silent did not become uncertain by its deadline')
        time.sleep(0.2)
    return {
        'month': month, 'days': (d1, d2, d3), 'big_day': big, 'big_day_sends': big_day_sends,
        'failed': ('t-failed', d1), 'excluded': ('x-unsub', d1), 'uncertain': ('k-uncertain', d2),
        'failover': ('k-failover', d2), 'campaign': 'cmp-vip', 'one_time': 'ot-notice',
    }
