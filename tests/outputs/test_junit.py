from __future__ import annotations

import xml.etree.ElementTree as ET

from outputs.sample_reports import HOSTILE, WEIRD_FILE, render
from socle.core.finding import DocumentResult, Finding, Report, Resource, Status


def parse(report: Report) -> ET.Element:
    text = render("junit", report)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    # a byte string, as a CI system reads the file: the declaration must hold
    return ET.fromstring(text.encode("utf-8"))


def count(el: ET.Element, attr: str) -> int:
    return int(el.attrib[attr])


def test_counts_add_up_on_every_suite_and_the_root(report: Report) -> None:
    root = parse(report)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.attrib["name"] for s in suites] == sorted(
        ["apps/web.yaml", WEIRD_FILE, "secrets.yaml", "broken.yaml", "list.yaml",
         "policy-only.yaml"])
    for suite in suites:
        cases = suite.findall("testcase")
        assert count(suite, "tests") == len(cases)
        assert count(suite, "failures") == sum(1 for c in cases if c.find("failure") is not None)
        assert count(suite, "errors") == sum(1 for c in cases if c.find("error") is not None)
        assert count(suite, "skipped") == sum(1 for c in cases if c.find("skipped") is not None)
    # 7 documents plus one group of findings that no document carries
    assert count(root, "tests") == 8 == len(root.findall("testsuite/testcase"))
    assert count(root, "failures") == 4  # web, the weird ConfigMap, item-b, policy-only
    assert count(root, "errors") == 1
    assert count(root, "disabled") == 1
    assert sum(count(s, "tests") for s in suites) == count(root, "tests")


def test_one_case_per_document_named_after_the_resource(report: Report) -> None:
    root = parse(report)
    web = root.find("testsuite[@name='apps/web.yaml']")
    assert web is not None
    cases = web.findall("testcase")
    assert [(c.attrib["name"], c.attrib["classname"]) for c in cases] == [
        ("shop/web", "Deployment@apps/v1"), ("shop/web", "Service@v1")]
    assert cases[1].find("failure") is None and len(cases[1]) == 0
    failure = cases[0].find("failure")
    assert failure is not None
    assert failure.attrib["type"] == "schema/required"
    assert failure.attrib["message"] == '/spec: "selector" is a required property (and 1 more)'
    body = failure.text or ""
    assert 'apps/web.yaml:5:3: high Deployment shop/web: /spec: "selector"' in body
    assert "apps/web.yaml:20: critical" in body and "fix: set runAsNonRoot: true" in body


def test_list_items_are_cases_of_their_own(report: Report) -> None:
    suite = parse(report).find("testsuite[@name='list.yaml']")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [c.attrib["name"] for c in cases] == ["item-a", "item-b"]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None and "1 is not of type 'string'" in failure.attrib["message"]


def test_skipped_and_errored_documents(report: Report) -> None:
    root = parse(report)
    skipped = root.find("testsuite[@name='secrets.yaml']/testcase/skipped")
    assert skipped is not None and skipped.attrib["message"] == "skipped by -skip"
    case = root.find("testsuite[@name='broken.yaml']/testcase")
    assert case is not None
    assert case.attrib["name"] == "document 1" and case.attrib["line"] == "3"
    error = case.find("error")
    assert error is not None and error.attrib["type"] == "input/parse-error"
    assert error.attrib["message"].startswith("malformed YAML")
    assert "broken.yaml:3:7" in (error.text or "")


def test_hostile_text_is_escaped_and_forbidden_characters_removed(report: Report) -> None:
    root = parse(report)
    suite = root.find("testsuite[@name='apps/wéird <&> file.yaml']")
    assert suite is not None
    case = suite.find("testcase")
    assert case is not None and case.attrib["name"] == "cm-ü"
    failure = case.find("failure")
    assert failure is not None
    expected = HOSTILE
    for ch in "\x00\x1b":  # XML 1.0 cannot carry these at all
        expected = expected.replace(ch, "")
    # the text keeps every allowed character, line breaks included (\r\n reads back as \n)
    assert expected.replace("\r\n", "\n") in (failure.text or "")
    # the message attribute is one line
    assert "\n" not in failure.attrib["message"]
    assert "😀" in failure.attrib["message"] and "]]>" in failure.attrib["message"]


def test_finding_without_document_gets_a_case(report: Report) -> None:
    case = parse(report).find("testsuite[@name='policy-only.yaml']/testcase")
    assert case is not None
    assert (case.attrib["name"], case.attrib["classname"]) == ("api", "Deployment@apps/v1")
    assert case.find("failure") is not None


def test_same_name_twice_in_one_file_stays_apart() -> None:
    r = Report()
    res = Resource("v1", "ConfigMap", "", "dup")
    r.documents += [DocumentResult("a.yaml", 0, 1, res, Status.VALID),
                    DocumentResult("a.yaml", 1, 9, res, Status.VALID)]
    names = [c.attrib["name"] for c in parse(r).iter("testcase")]
    assert len(set(names)) == 2 and names[0] == "dup"


def test_undecodable_file_name_is_still_valid_xml() -> None:
    r = Report()
    r.findings.append(Finding("x/y", "m", file="bad\udcff.yaml", line=1))
    root = parse(r)
    suite = root.find("testsuite")
    assert suite is not None and suite.attrib["name"] == "bad\ufffd.yaml"


def test_empty_report() -> None:
    root = parse(Report())
    assert root.findall("testsuite") == []
    assert {k: root.attrib[k] for k in ("tests", "failures", "errors", "disabled")} == {
        "tests": "0", "failures": "0", "errors": "0", "disabled": "0"}
