"""HCL2 in conftest's (tmccombs/hcl2json) shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from socle import formats
from socle.core.errors import InputError
from socle.formats import hcl2

FIXTURES = Path(__file__).resolve().parents[1] / "compat" / "fixtures" / "formats"


def _obj(text: str) -> object:
    return hcl2.parse(text.encode(), "main.tf")[0].obj


def test_terraform_file_shape() -> None:
    doc = hcl2.parse((FIXTURES / "main.tf").read_bytes(), "main.tf")[0]
    obj = doc.obj
    assert doc.format == "hcl2"
    assert obj["resource"]["aws_s3_bucket"]["public"] == [
        {"bucket": "public-assets", "acl": "public-read"}]
    logs = obj["resource"]["aws_s3_bucket"]["logs"][0]
    assert logs["bucket"] == "${local.bucket_name}"
    assert logs["force_destroy"] is False
    assert logs["tags"] == '${merge(local.common_tags, { Name = "logs" })}'
    ingress = obj["resource"]["aws_security_group"]["web"][0]["ingress"]
    assert [r["from_port"] for r in ingress] == [80, 22]
    assert obj["provider"]["aws"] == [{"region": "${var.region}"}]
    assert obj["locals"][0]["bucket_name"] == "logs-${var.region}"
    assert obj["terraform"][0]["required_providers"][0]["aws"]["version"] == "~> 5.0"
    assert obj["resource"]["aws_alb_listener"]["http"][0]["count"] == "${var.enabled ? 1 : 0}"
    assert obj["data"]["aws_iam_policy_document"]["read"][0]["statement"][0]["resources"] == [
        "${aws_s3_bucket.logs.arn}/*"]
    assert obj["resource"]["aws_iam_policy"]["inline"][0]["policy"] == (
        '{\n  "Version": "2012-10-17"\n}\n')
    # a finding on a block points at its line
    assert doc.line_of(["resource", "aws_s3_bucket", "public", 0, "acl"]) == 36


def test_matches_conftest_parser_test_case() -> None:
    # conftest's own parser/hcl2 test input and the object it expects
    src = '''
resource "aws_elastic_beanstalk_environment" "example" {
  name        = "test_environment"
  setting {
    namespace = "aws:autoscaling:asg"
    value     = "1"
  }
  dynamic "setting" {
    for_each = data.consul_key_prefix.environment.var
    content {
      heredoc = <<-EOF
        This is a heredoc template.
        It references ${local.other.3}
        EOF
      simple = "${4 - 2}"
      cond = test3 > 2 ? 1: 0
      heredoc2 = <<EOF
        Another heredoc, that
        doesn't remove indentation
        ${local.other.3}
        %{if true ? false : true}"gotcha"\\n%{else}4%{endif}
      EOF
      loop = "This has a for loop: %{for x in local.arr}x,%{endfor}"
      name      = setting.key
    }
  }
}
provider "aws" {
  alias   = "one"
}
provider "aws" {
  alias   = "two"
}
'''
    assert _obj(src) == {
        "resource": {"aws_elastic_beanstalk_environment": {"example": [{
            "name": "test_environment",
            "setting": [{"namespace": "aws:autoscaling:asg", "value": "1"}],
            "dynamic": {"setting": [{
                "for_each": "${data.consul_key_prefix.environment.var}",
                "content": [{
                    "heredoc": "This is a heredoc template.\nIt references ${local.other.3}\n",
                    "simple": "${4 - 2}",
                    "cond": "${test3 > 2 ? 1: 0}",
                    "heredoc2": ("        Another heredoc, that\n"
                                 "        doesn't remove indentation\n"
                                 "        ${local.other.3}\n"
                                 '        %{if true ? false : true}"gotcha"\\n%{else}4%{endif}\n'),
                    "loop": "This has a for loop: %{for x in local.arr}x,%{endfor}",
                    "name": "${setting.key}",
                }],
            }]},
        }]}},
        "provider": {"aws": [{"alias": "one"}, {"alias": "two"}]},
    }


def test_values() -> None:
    obj = _obj('''
a = -1
b = 1.5
c = 1e3
d = !true
e = null
f = "${true}"
g = "tab\\there \\u00e9"
h = "$${not.interpolated}"
i = { for = 1, "quoted key" = 2, (var.k) = 3, 4 = "four" }
j = [for s in var.list : upper(s)]
k = "a ${var.x ? "y" : "n"} b"
l = -var.n
''')
    assert obj == {
        "a": -1, "b": 1.5, "c": 1000, "d": False, "e": None, "f": True,
        "g": "tab\there \u00e9", "h": "${not.interpolated}",
        "i": {"for": 1, "quoted key": 2, "${(var.k)}": 3, "4": "four"},
        "j": "${[for s in var.list : upper(s)]}",
        "k": "a %{if var.x}y%{else}n%{endif} b",
        "l": "${-var.n}",
    }


def test_heredoc_interpolation_and_strip_markers() -> None:
    obj = _obj('x = <<-EOT\n    n=${1}\n      ${var.a}\n    EOT\n'
               'y = "a %{~ if c ~}  b  %{~ endif ~} z"\n')
    assert obj == {"x": "n=1\n  ${var.a}\n", "y": "a%{if c}b%{endif}z"}


def test_tfvars_and_registry() -> None:
    assert formats.name_for_path("env/prod.tfvars") == "hcl2"
    assert formats.name_for_path("main.TF") == "hcl2"
    assert formats.name_for_path("terragrunt.hcl") == "hcl2"
    obj = hcl2.parse((FIXTURES / "prod.tfvars").read_bytes(), "prod.tfvars")[0].obj
    assert obj["tags"] == {"owner": "platform"}


@pytest.mark.parametrize(("text", "line"), [
    ('resource "a" "b" {\n  acl = \n}\n', 2),
    ("a = 1\nb = {\n", 3),
    ("a = 1\na = 2\n", 2),
    ('x = "unterminated\n', 1),
    ("a = 1\na {\n}\n", 2),
])
def test_malformed(text: str, line: int) -> None:
    with pytest.raises(InputError) as err:
        hcl2.parse(text.encode(), "bad.tf")
    assert err.value.file == "bad.tf"
    assert err.value.line == line


def test_empty_file_has_no_documents() -> None:
    assert hcl2.parse(b"\n  \n", "empty.tf") == []


@pytest.mark.parametrize(("text", "line", "message"), [
    ('a = "x\\qy"\n', 1,
     'Invalid escape sequence; The symbol "q" is not a valid escape sequence selector.'),
    ('a = "x\\u00ry"\n', 1, "Invalid escape sequence; The \\u escape sequence must be followed "
     "by four hexadecimal digits."),
    ('a = "${"in\\$"}"\n', 1,
     'Invalid escape sequence; The symbol "$" is not a valid escape sequence selector.'),
    ('a = 1\nb = "two\nlines"\n', 2, "Invalid multi-line string; Quoted strings may not be "
     "split over multiple lines. To produce a multi-line string, either use the \\n escape to "
     'represent a newline character or use the "heredoc" multi-line template syntax.'),
    ("a = 1 b = 2\n", 1,
     "Missing newline after argument; An argument definition must end with a newline."),
    ("a = 1 /* c */ b = 2\n", 1,
     "Missing newline after argument; An argument definition must end with a newline."),
    ("b { c = 1 } d = 2\n", 1, "Missing newline after block definition; A block definition "
     "must end with a newline."),
    ("b {\n  c = 1}\n", 2,
     "Missing newline after argument; An argument definition must end with a newline."),
    ('provider "aws"\n{\n  a = 1\n}\n', 1, 'Invalid block definition; A block definition must '
     'have block content delimited by "{" and "}", starting on the same line as the block '
     "header."),
    ("a = {\n  x = 1   y = 2\n}\n", 2, "Missing attribute separator; Expected a newline or "
     "comma to mark the beginning of the next attribute."),
    ("a = 1\nb =\r 2\n", 2,
     "Invalid character; This character is not used within the language."),
    ("b { a = 1 c = 2 }\n", 1, "Invalid single-argument block definition; A single-line block "
     "definition must end with a closing brace immediately after its single argument "
     "definition."),
    ("b {\n}\nc { d { e = 1 } }\n", 3, "Argument definition required; A single-line block "
     'definition can contain only a single argument. If you meant to define argument "d", use '
     "an equals sign to assign it a value. To define a nested block, place it on a line of its "
     "own within its parent block."),
    ("b { a = 1\n  c = 2\n}\n", 1, "Invalid single-argument block definition; An argument "
     "definition on the same line as its containing block creates a single-line block "
     "definition, which must also be closed on the same line. Place the block's closing brace "
     "immediately after the argument definition."),
])
def test_what_hcl_refuses_and_python_hcl2_takes(text: str, line: int, message: str) -> None:
    with pytest.raises(InputError) as err:
        hcl2.parse(text.encode(), "main.tf")
    assert (err.value.line, err.value.message) == (line, message)


def test_what_hcl_takes_on_one_line_or_over_several() -> None:
    assert _obj('b { c = 1 }\nd = {p = 1, q = 2}\ne = "x${1 +\n2}y"\nf = {\n  p = 1 # c\n'
                '  q = 2,\n}\ng = <<EOT\nx\nEOT\nh = "\\\\q \\u00e9 \\n"\n# a comment\rwith a CR\n'
                ) == {"b": [{"c": 1}], "d": {"p": 1, "q": 2}, "e": "x${1 +\n2}y",
                      "f": {"p": 1, "q": 2}, "g": "x\n", "h": "\\q \u00e9 \n"}
