"""Counts test cases after `bazel test` and prints "N passed, N failed".

Usage: count_tests.py BAZEL_LOG TESTLOGS_DIR
Reads each test target's status from Bazel's log and its cases from
TESTLOGS_DIR/<package>/<target>/test.xml. Exits 1 if anything failed or no
test ran.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

STATUS = re.compile(r"^(//\S+)\s+(?:\(cached\)\s+)?(PASSED|FAILED|TIMEOUT|FLAKY|"
                    r"NO STATUS|FAILED TO BUILD|INCOMPLETE|SKIPPED)\b")


def count_xml(path):
    passed = failed = 0
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        if case.get("status") == "notrun" or case.find("skipped") is not None:
            continue
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        else:
            passed += 1
    return passed, failed


def main():
    log, testlogs = sys.argv[1], sys.argv[2]
    targets = {}
    build_failed = False
    with open(log, errors="replace") as f:
        for line in f:
            m = STATUS.match(line.strip())
            if m:
                targets[m.group(1)] = m.group(2)
            if line.startswith("ERROR:") or "FAILED: Build did NOT complete" in line:
                build_failed = True
    passed = failed = 0
    for target, status in sorted(targets.items()):
        package, name = target[2:].split(":")
        xml = os.path.join(testlogs, package, name, "test.xml")
        p = f = 0
        if os.path.exists(xml):
            try:
                p, f = count_xml(xml)
            except ET.ParseError:
                pass
        if status not in ("PASSED", "FLAKY") and f == 0:
            f = 1  # crashed, timed out or did not build: no case reported it
        passed += p
        failed += f
    if build_failed and failed == 0:
        failed = 1
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
