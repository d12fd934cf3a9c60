# -*- test-case-name: tests.functional.test_ci -*-
"""
The README's set-up commands and ``.ci/run`` stay in step: CI must run the
test command the README gives, and its summary line must count right.
"""

from __future__ import annotations

import re
import subprocess

from twisted.trial import unittest

from tests.functional.server import CHECKOUT

CI_RUN = CHECKOUT / ".ci" / "run"
README = CHECKOUT / "README.md"


def fenced_shell_blocks(markdown: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", markdown, re.DOTALL)]


class ReadmeTests(unittest.SynchronousTestCase):

    def test_two_setup_commands(self) -> None:
        blocks = fenced_shell_blocks(README.read_text())
        self.assertEqual(len(blocks), 2, blocks)
        run, test = blocks
        self.assertIn("twistd -n cloudserver", run)
        self.assertIn("trial tests", test)
        for block in blocks:
            self.assertEqual(len(block.splitlines()), 1, block)
            self.assertIn("python3 -m venv .venv && ", block)
        self.assertTrue(run.startswith("python3 -m venv .venv && "), run)
        # the test command may first install a system package the tests drive
        self.assertRegex(test, r"^(bash \.ci/apt-install && )?python3 -m venv")

    def test_ci_runs_readme_test_command(self) -> None:
        match = re.search(r'^TEST_COMMAND="(.*)"$', CI_RUN.read_text(), re.MULTILINE)
        self.assertIsNotNone(match, "TEST_COMMAND not found in .ci/run")
        self.assertEqual(match.group(1), fenced_shell_blocks(README.read_text())[1])


class SummaryTests(unittest.SynchronousTestCase):

    def summarize(self, trial_output: str) -> str:
        log = self.mktemp()
        with open(log, "w") as out:
            out.write(trial_output)
        return subprocess.run([str(CI_RUN), "--summarize", log], capture_output=True,
                              text=True, check=True, stdin=subprocess.DEVNULL).stdout.strip()

    def test_passed(self) -> None:
        self.assertEqual(self.summarize("Ran 120 tests in 3s\n\nPASSED (successes=120)\n"),
                         "120 passed, 0 failed")

    def test_failed(self) -> None:
        self.assertEqual(
            self.summarize("Ran 121 tests\n\nFAILED (failures=2, errors=1, successes=118)\n"),
            "118 passed, 3 failed")

    def test_skips_are_not_passed(self) -> None:
        self.assertEqual(
            self.summarize("FAILED (skips=3, expectedFailures=1, unexpectedSuccesses=1, "
                           "successes=10)\n"),
            "10 passed, 1 failed")

    def test_no_summary_is_a_failure(self) -> None:
        self.assertEqual(self.summarize("ERROR: pip could not install\n"), "0 passed, 1 failed")

    def test_last_summary_wins(self) -> None:
        self.assertEqual(self.summarize("PASSED (successes=1)\nmore\nFAILED (errors=4)\n"),
                         "0 passed, 4 failed")
