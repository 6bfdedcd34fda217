"""The reports' HTML in tests: parsing (tags, attributes, section texts,
nesting errors) and headless Chromium."""

import shutil
import subprocess
from html.parser import HTMLParser

import pytest

VOID_TAGS = {"meta", "img", "br", "hr", "link", "input", "source", "wbr"}


class Page(HTMLParser):
    """Collects tags, attributes and the text of each section; checks nesting.

    ``tags`` holds ``(tag, attrs, section id or None)``; ``sections`` the text
    of each section by id; ``errors`` each badly nested end tag.
    """

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tags = [], [], []
        self.section_stack, self.sections = [], {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(
            (tag, attrs, self.section_stack[-1] if self.section_stack else None)
        )
        if tag == "section":
            self.section_stack.append(attrs.get("id"))
            self.sections[attrs.get("id")] = ""
        if tag not in VOID_TAGS:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
            return
        self.stack.pop()
        if tag == "section":
            self.section_stack.pop()

    def handle_data(self, data):
        for key in self.section_stack:
            self.sections[key] += data


def parse(text):
    page = Page()
    page.feed(text)
    page.close()
    return page


def run_chromium(tmp_path, *args, url):
    """Run headless Chromium on ``url`` with ``args``; its stdout.

    Skips the test, saying why, when Chromium is not installed. The flags are
    those that keep it off the network and out of the user's profile.
    """
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip(
            "chromium not on PATH (Debian: apt-get install chromium); "
            "the browser tests need it"
        )
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout
