// The console's words in English and Korean, and the formats of numbers, money and dates in the chosen language.
// Texts that come from the ledger (reasons, vendors' texts, campaign names) are shown as stored.

const messages = {
  en: {
    'title': 'External transmission history',
    'subtitle': 'What happened to every message sent through a vendor',
    'lang.switch': 'Language',
    'month': 'Month',
    'month.previous': 'Previous month',
    'month.next': 'Next month',
    'filter': 'Filter',
    'filter.all': 'All',
    'filter.campaign': 'Marketing – Campaign',
    'filter.one_time': 'Marketing – One-time message',
    'source': 'Campaign or message',
    'source.none.campaign': 'No campaign sent in this month',
    'source.none.one_time': 'No one-time message sent in this month',
    'source.option': '{name} ({total})',
    'download.xlsx': 'Download XLSX',
    'download.jsonl': 'Download JSONL',
    'download.started': 'The {format} download has started; your browser saves it.',
    'summary': 'Number of sends',
    'summary.note': 'The amount shown is for the calendar month you review (from the 1st to its last day), which may differ from the amount of your billing period.',
    'summary.retention': 'Sends are kept for the retention period of this ledger (365 days unless configured otherwise).',
    'summary.cost': 'Cost',
    'summary.count': 'Sends',
    'summary.medium': 'Medium',
    'summary.total_cost': 'Total cost',
    'summary.vendor_prices': 'Prices reported by vendors',
    'status.pending': 'Pending',
    'status.sent': 'Sent',
    'status.failed': 'Failed',
    'status.excluded': 'Excluded',
    'status.uncertain': 'Uncertain',
    'medium.sms': 'SMS',
    'medium.lms': 'LMS',
    'medium.email': 'Email',
    'medium.alimtalk': 'Alimtalk',
    'type.campaign': 'Marketing campaign',
    'type.one_time': 'One-time message',
    'type.follow_up': 'Follow-up notification',
    'type.workflow': 'Workflow',
    'category.invalid_recipient': 'Invalid recipient',
    'category.unreachable': 'Unreachable',
    'category.blocked': 'Blocked',
    'category.content_rejected': 'Content rejected',
    'category.opted_out': 'Opted out',
    'category.sender_config': 'Sender configuration',
    'category.vendor_error': 'Vendor error',
    'category.unknown': 'Unknown',
    'source.intake': 'Registered',
    'source.webhook': 'Vendor report',
    'source.poll': 'Vendor query',
    'source.deadline': 'Deadline passed',
    'chart': 'Sends per day',
    'chart.label': 'Sends per day of {month}, stacked by status; the table below lists the same numbers.',
    'chart.bar': '{date}: {total} sends',
    'days': 'Sending log by date',
    'days.hint': 'Choose a date to see its detailed log.',
    'days.date': 'Date',
    'days.total': 'Total',
    'days.open': 'Open the log of {date}',
    'day.title': 'Log of {date}',
    'day.time': 'Time',
    'day.type': 'Type',
    'day.status': 'Status',
    'day.medium': 'Delivery',
    'day.contact': 'Contact info',
    'day.cost': 'Cost',
    'day.filter.status': 'Status',
    'day.filter.medium': 'Delivery',
    'day.filter.contact': 'Contact',
    'day.filter.contact.placeholder': 'Phone number or e-mail',
    'day.filter.any': 'Any',
    'day.filter.apply': 'Apply',
    'day.filter.clear': 'Clear',
    'day.more': 'Show more',
    'day.count': '{shown} sends shown',
    'day.end': 'That is the whole log of this day.',
    'day.empty': 'No send matches on this day.',
    'day.close': 'Close the day',
    'day.failover': 'failover',
    'hint.label': 'Why: {status}',
    'hint.code': 'Code {code}',
    'send.title': 'Send {id}',
    'send.close': 'Close',
    'send.requested_at': 'Requested at',
    'send.vendor': 'Vendor',
    'send.vendor_message_id': 'Vendor message id',
    'send.vendor_price': 'Vendor price',
    'send.fallback_of': 'Failover leg of',
    'send.reason': 'Reason',
    'send.legs': 'Attempts (failover)',
    'send.leg': 'Send',
    'send.code': 'Code',
    'send.history': 'History',
    'send.history.vendor': 'vendor said {what}',
    'send.none': '–',
    'token.title': 'This deliveryd needs a token',
    'token.text': 'Enter the read-only token ([ops] read_token_file) or the full token ([ops] token_file). It is kept for this tab only.',
    'token.label': 'Token',
    'token.submit': 'Continue',
    'token.wrong': 'That token was not accepted. Try again.',
    'token.forget': 'Forget the token',
    'token.needed': 'deliveryd needs a token to show its log.',
    'loading': 'Loading…',
    'empty': 'No sends in {month}.',
    'error.gone': '{month} is older than the ledger keeps (its retention period).',
    'error.busy': 'deliveryd is busy or its storage is failing. Retry in a few seconds.',
    'error.unreachable': 'deliveryd cannot be reached. Is it running, and is your SSH tunnel open?',
    'error.bad': 'deliveryd refused the request: {detail}',
    'error.forbidden': 'The token does not allow this: {detail}',
    'error.other': 'deliveryd answered {status}: {detail}',
    'retry': 'Retry',
  },
  ko: {
    'title': '외부 발송 내역',
    'subtitle': '벤더를 통해 보낸 모든 메시지의 결과',
    'lang.switch': '언어',
    'month': '월',
    'month.previous': '이전 달',
    'month.next': '다음 달',
    'filter': '조건',
    'filter.all': '전체',
    'filter.campaign': '마케팅 - 캠페인',
    'filter.one_time': '마케팅 - 일회성 메시지',
    'source': '캠페인 또는 메시지',
    'source.none.campaign': '이 달에 보낸 캠페인이 없습니다',
    'source.none.one_time': '이 달에 보낸 일회성 메시지가 없습니다',
    'source.option': '{name} ({total})',
    'download.xlsx': 'XLSX 다운로드',
    'download.jsonl': 'JSONL 다운로드',
    'download.started': '{format} 다운로드를 시작했습니다. 브라우저가 파일로 저장합니다.',
    'summary': '발송 건수',
    'summary.note': '표시된 금액은 조회한 달(1일부터 말일까지)에 사용한 금액으로, 결제 기간의 사용 금액과 다를 수 있습니다.',
    'summary.retention': '발송 내역은 이 원장의 보관 기간(따로 설정하지 않으면 365일) 동안 조회할 수 있습니다.',
    'summary.cost': '비용',
    'summary.count': '건수',
    'summary.medium': '발송 수단',
    'summary.total_cost': '총 비용',
    'summary.vendor_prices': '벤더가 알린 요금',
    'status.pending': '대기',
    'status.sent': '성공',
    'status.failed': '실패',
    'status.excluded': '제외',
    'status.uncertain': '불확실',
    'medium.sms': 'SMS',
    'medium.lms': 'LMS',
    'medium.email': '이메일',
    'medium.alimtalk': '알림톡',
    'type.campaign': '마케팅 캠페인',
    'type.one_time': '일회성 메시지',
    'type.follow_up': '후속 알림',
    'type.workflow': '워크플로',
    'category.invalid_recipient': '잘못된 수신자',
    'category.unreachable': '수신 불가',
    'category.blocked': '차단됨',
    'category.content_rejected': '내용 거부',
    'category.opted_out': '수신 거부',
    'category.sender_config': '발신 설정 오류',
    'category.vendor_error': '벤더 오류',
    'category.unknown': '알 수 없음',
    'source.intake': '등록',
    'source.webhook': '벤더 알림',
    'source.poll': '벤더 조회',
    'source.deadline': '기한 경과',
    'chart': '날짜별 발송',
    'chart.label': '{month}의 날짜별 발송 건수(상태별 누적). 아래 표에 같은 숫자가 있습니다.',
    'chart.bar': '{date}: {total}건',
    'days': '날짜별 발송 내역',
    'days.hint': '날짜를 선택하면 상세 내역을 볼 수 있습니다.',
    'days.date': '날짜',
    'days.total': '합계',
    'days.open': '{date} 내역 열기',
    'day.title': '{date} 내역',
    'day.time': '시간',
    'day.type': '유형',
    'day.status': '상태',
    'day.medium': '발송 수단',
    'day.contact': '연락처',
    'day.cost': '비용',
    'day.filter.status': '상태',
    'day.filter.medium': '발송 수단',
    'day.filter.contact': '연락처',
    'day.filter.contact.placeholder': '전화번호 또는 이메일',
    'day.filter.any': '전체',
    'day.filter.apply': '적용',
    'day.filter.clear': '초기화',
    'day.more': '더 보기',
    'day.count': '{shown}건 표시',
    'day.end': '이 날의 내역을 모두 표시했습니다.',
    'day.empty': '이 날에는 조건에 맞는 발송이 없습니다.',
    'day.close': '닫기',
    'day.failover': '대체 발송',
    'hint.label': '사유: {status}',
    'hint.code': '코드 {code}',
    'send.title': '발송 {id}',
    'send.close': '닫기',
    'send.requested_at': '요청 시각',
    'send.vendor': '벤더',
    'send.vendor_message_id': '벤더 메시지 ID',
    'send.vendor_price': '벤더 요금',
    'send.fallback_of': '대체 발송 원본',
    'send.reason': '사유',
    'send.legs': '발송 시도(대체 발송)',
    'send.leg': '발송',
    'send.code': '코드',
    'send.history': '이력',
    'send.history.vendor': '벤더 응답 {what}',
    'send.none': '–',
    'token.title': '토큰이 필요합니다',
    'token.text': '조회용 토큰([ops] read_token_file) 또는 전체 토큰([ops] token_file)을 입력하세요. 이 탭에서만 보관됩니다.',
    'token.label': '토큰',
    'token.submit': '계속',
    'token.wrong': '토큰이 맞지 않습니다. 다시 입력하세요.',
    'token.forget': '토큰 지우기',
    'token.needed': '발송 내역을 보려면 토큰이 필요합니다.',
    'loading': '불러오는 중…',
    'empty': '{month}에는 발송 내역이 없습니다.',
    'error.gone': '{month}은(는) 보관 기간이 지난 달입니다.',
    'error.busy': 'deliveryd가 바쁘거나 저장소에 문제가 있습니다. 잠시 후 다시 시도하세요.',
    'error.unreachable': 'deliveryd에 연결할 수 없습니다. deliveryd가 실행 중이고 SSH 터널이 열려 있는지 확인하세요.',
    'error.bad': 'deliveryd가 요청을 거절했습니다: {detail}',
    'error.forbidden': '이 토큰으로는 할 수 없습니다: {detail}',
    'error.other': 'deliveryd 응답 {status}: {detail}',
    'retry': '다시 시도',
  },
};

/** The languages the console speaks. */
export const languages = Object.keys(messages);

let lang = 'en';

/** The language chosen before (this browser), else the browser's first language the console speaks. */
export function preferredLanguage() {
  const chosen = localStorage.getItem('deliveryd.lang');
  if (languages.includes(chosen)) return chosen;
  for (const tag of navigator.languages || [navigator.language || 'en']) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (languages.includes(base)) return base;
  }
  return 'en';
}

/** Switches the language (remembered in this browser). */
export function setLanguage(next) {
  lang = languages.includes(next) ? next : 'en';
  localStorage.setItem('deliveryd.lang', lang);
  document.documentElement.lang = lang;
}

/** The current language. */
export function language() {
  return lang;
}

/** The text of `key` in the current language, with {name} replaced by vars.name. */
export function t(key, vars = {}) {
  const text = messages[lang][key] ?? messages.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

// Formatters are made once per language and currency: making one costs more than a thousand uses of it, and a
// day page formats a thousand costs.
const formatters = new Map();
function formatter(key, make) {
  if (!formatters.has(key)) formatters.set(key, make());
  return formatters.get(key);
}

function locale() {
  return lang === 'ko' ? 'ko-KR' : 'en-US';
}

/** A count as the language writes it: 12,345. */
export function count(n) {
  return formatter(`count:${lang}`, () => new Intl.NumberFormat(locale())).format(n);
}

/** An amount in `currency` (ISO 4217), with at most two decimals: ₩12, ₩9.5, $0.01. */
export function money(amount, currency) {
  return formatter(`money:${lang}:${currency}`, () => {
    try {
      return new Intl.NumberFormat(locale(), {
        style: 'currency', currency, minimumFractionDigits: 0, maximumFractionDigits: 2,
      });
    } catch { // not a currency the browser knows: the amount and the code
      const plain = new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 });
      return { format: (n) => `${plain.format(n)} ${currency}` };
    }
  }).format(amount);
}

/** A day "YYYY-MM-DD" with its weekday: "Fri, Nov 27" / "11월 27일 (금)". */
export function day(date) {
  const [y, m, d] = date.split('-').map(Number);
  const when = new Date(Date.UTC(y, m - 1, d));
  const options = { timeZone: 'UTC', month: 'short', day: 'numeric', weekday: 'short' };
  return formatter(`day:${lang}`, () => new Intl.DateTimeFormat(locale(), options)).format(when);
}

/** A month "YYYY-MM" in words: "November 2026" / "2026년 11월". */
export function monthName(month) {
  const [y, m] = month.split('-').map(Number);
  const options = { timeZone: 'UTC', year: 'numeric', month: 'long' };
  return formatter(`month:${lang}`, () => new Intl.DateTimeFormat(locale(), options)).format(new Date(Date.UTC(y, m - 1, 1)));
}

/** Fills every element's text (data-i18n), placeholder (data-i18n-placeholder) and label (data-i18n-label). */
export function translate(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
}
