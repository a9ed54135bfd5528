"""Scrapy's side of `benches/crawl.rs`: the same site, fetched only.

A spider with a do-nothing callback that follows every `a[href]` (response.follow dedups through
Scrapy's own duplicate filter), obeying robots.txt, no download delay, no HTTP cache, no retries of
successful pages. The bench passes the start URL, where to write the result, and the concurrency:

    scrapy runspider benches/scrapy_spider.py -a start=http://127.0.0.1:PORT/p/0.html \
        -a out=/tmp/result.json -s CONCURRENT_REQUESTS=32 -s CONCURRENT_REQUESTS_PER_DOMAIN=32

It writes {"pages": N, "seconds": S}: HTML pages received, and the time from the spider's opening to
its closing (Python's and Scrapy's start-up excluded).
"""

import json
import time

import scrapy
from scrapy import signals


class FollowAll(scrapy.Spider):
    name = "follow_all"
    custom_settings = {
        "DOWNLOAD_DELAY": 0,
        "ROBOTSTXT_OBEY": True,
        "LOG_LEVEL": "WARNING",
        "HTTPCACHE_ENABLED": False,
        "AUTOTHROTTLE_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "COOKIES_ENABLED": False,
        "DEPTH_LIMIT": 0,
        "REACTOR_THREADPOOL_MAXSIZE": 4,
    }

    def __init__(self, start=None, out=None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.start_urls = [start]
        self.out = out
        self.pages = 0
        self.opened_at = None

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.on_opened, signal=signals.spider_opened)
        crawler.signals.connect(spider.on_closed, signal=signals.spider_closed)
        return spider

    def on_opened(self, spider):
        self.opened_at = time.monotonic()

    def on_closed(self, spider):
        seconds = time.monotonic() - self.opened_at
        with open(self.out, "w") as f:
            json.dump({"pages": self.pages, "seconds": seconds}, f)

    def parse(self, response):
        self.pages += 1
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href, callback=self.parse)
