"""Debian's Chromium driven through chromedriver by Debian's python3-selenium, for the console's browser test and
its benchmark: headless, a new profile each time (nothing cached), the browser's console and network logged.

The flags are those a closed machine needs: no background networking, component updates, sync or QUIC, whose
connection attempts would fail by the dozen; no sandbox (the tests run as root in CI); /tmp instead of /dev/shm,
which a chroot may not have mounted. Nothing is reached by the name "localhost", which a machine without /etc/hosts
(a fresh debootstrap root) cannot resolve: chromedriver drives Chromium through a pipe (--remote-debugging-pipe;
its DevTools port would be "localhost" to it), and is itself reached on 127.0.0.1 (Selenium's Service would ask for
"localhost").
"""

import shutil
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common import utils

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'


class LoopbackService(Service):
    """chromedriver, spoken to on 127.0.0.1."""

    @property
    def service_url(self):
        return f'http://127.0.0.1:{self.port}'

    def is_connectable(self):
        return utils.is_connectable(self.port, host='127.0.0.1')


def start(downloads=None, width=1280, height=800, mobile=False, chromium=CHROMIUM, chromedriver=CHROMEDRIVER):
    """A headless Chromium whose viewport is width x height CSS pixels (a phone's, with touch, when `mobile`), which
    saves downloads in `downloads`."""
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix='deliveryd-chromium-')
    for flag in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync',
                 '--disable-quic', '--remote-debugging-pipe', '--lang=en-US', f'--window-size={width},{height}',
                 f'--user-data-dir={profile}'):
        options.add_argument(flag)
    prefs = {'intl.accept_languages': 'en-US,en'}
    if downloads:
        prefs.update({'download.default_directory': downloads, 'download.prompt_for_download': False})
    options.add_experimental_option('prefs', prefs)
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL', 'performance': 'ALL'})
    driver = webdriver.Chrome(service=LoopbackService(chromedriver), options=options)
    driver.profile = profile
    driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride',
                           {'width': width, 'height': height, 'deviceScaleFactor': 1, 'mobile': mobile})
    if mobile:
        driver.execute_cdp_cmd('Emulation.setTouchEmulationEnabled', {'enabled': True, 'maxTouchPoints': 1})
    if downloads:
        driver.execute_cdp_cmd('Browser.setDownloadBehavior', {'behavior': 'allow', 'downloadPath': downloads})
    driver.set_page_load_timeout(30)
    return driver


def stop(driver):
    """Quits the browser and removes its profile."""
    driver.quit()
    shutil.rmtree(driver.profile, ignore_errors=True)
