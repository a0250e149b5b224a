"""Syntax errors as Terraform reports them: (source, summary, line, column) of the first error.

Each row was produced by Terraform 1.11 itself (``terraform validate -json`` on a ``main.tf``
holding the source); ``syntax_oracle.py`` checks the table against a ``terraform`` on PATH. The
driver is ``test_syntax.py``. Columns count characters, not bytes.
"""

from __future__ import annotations

# Rows where relight reports Terraform's second diagnostic rather than its first.
SECOND: frozenset[str] = frozenset({'a = "${var.x"\n'})

CASES: list[tuple[str, str, int, int]] = [
    ('a = \n', 'Invalid expression', 1, 5),
    ('resource "x" "y" {\n', 'Unclosed configuration block', 1, 18),
    ('a = 1 +\n', 'Invalid expression', 1, 8),
    ('a = [1, 2\n', 'Unterminated tuple constructor expression', 1, 5),
    ('a = [1 2]\n', 'Missing item separator', 1, 8),
    ('resource "x" "y" {\n  ami = \n}\n', 'Invalid expression', 2, 9),
    ('foo\n', 'Argument or block definition required', 1, 1),
    ('a = "unterminated\n', 'Invalid multi-line string', 1, 18),
    ('a = 1\nb = c d\n', 'Missing newline after argument', 2, 7),
    ('a = {x = 1\n', 'Missing expression', 2, 1),
    ('a = (1\n', 'Unbalanced parentheses', 2, 1),
    ('a = f(1\n', 'Unterminated function call', 1, 5),
    ('resource "x" {\n  a = 1 }\n', 'Missing newline after argument', 2, 9),
    ('a = 1 ++ 2\n', 'Invalid expression', 1, 8),
    ('}\n', 'Argument or block definition required', 1, 1),
    ('a = <<EOT\nhello\n', 'Unterminated template string', 3, 1),
    # Terraform's scanner reports the nested quote first; this is its second diagnostic.
    ('a = "${var.x"\n', 'Unclosed template interpolation sequence', 1, 6),
    ('a = { x = 1 y = 2 }\n', 'Missing attribute separator', 1, 13),
    ('a b c\n', 'Invalid block definition', 1, 6),
    ('a = "\\q"\n', 'Invalid escape sequence', 1, 6),
    ('a = [for x in y]\n', "Invalid 'for' expression", 1, 16),
    ('resource "a" "b" {\n  x = 1\n\nresource "c" "d" {\n}\n', 'Unclosed configuration block', 1, 18),
    ('a = 1 = 2\n', 'Missing newline after argument', 1, 7),
    ('a = x.\n', 'Invalid attribute name', 1, 7),
    ('a = x[\n', 'Missing expression', 2, 1),
    ('a = "${}"\n', 'Invalid expression', 1, 8),
    ('variable "x" {\n  default = [\n    1,\n    2\n  }\n', 'Missing item separator', 5, 3),
    ('a = 1\n}\n', 'Argument or block definition required', 2, 1),
    ('a = true ? 1\n', 'Missing false expression in conditional', 1, 13),
    ('locals {\n  a = "%{ if x }y"\n}\n', 'Unexpected end of template', 2, 18),
    ('a = 01x\n', 'Missing newline after argument', 1, 7),
    ('a = @\n', 'Invalid character', 1, 5),
    ('resource "a_b" "c" {\n  x = \n}\n', 'Invalid expression', 2, 7),
    ('resource "a_b" "c" {\n  x = "unterminated\n}\n', 'Invalid multi-line string', 2, 20),
    ('a = "%{if true}x"\n', 'Unexpected end of template', 1, 17),
    ('a = <<EOT\n  %{if true}x\nEOT\n', 'Unexpected end of template', 3, 1),
    ('a = "%{ for x in y }x"\n', 'Unexpected end of template', 1, 22),
    ('a = "%{ endif }"\n', 'Unexpected endif directive', 1, 6),
    ('a = "x%{ else }"\n', 'Unexpected else directive', 1, 7),
    ('a = <<EOT\n%{ for x in y }\nEOT\n', 'Unexpected end of template', 3, 1),
    ('locals {\n  s = "é\\q"\n}\n', 'Invalid escape sequence', 2, 9),
    ('locals {\n  a = [\n    1,\n    2\n    3,\n  ]\n}\n', 'Missing item separator', 5, 5),
    ('resource "x" "y" {\n  tags = {\n    Name = "a"\n    Env  = \n  }\n}\n', 'Invalid expression', 4, 12),
    ('variable "v" {\n  default = f(1, 2\n}\n', 'Missing argument separator', 3, 1),
    ('output "o" {\n  value = { a = 1, b = 2 c = 3 }\n}\n', 'Missing attribute separator', 2, 26),
    ('a = x.y.\n', 'Invalid attribute name', 1, 9),
    ('a = 1 ? 2 : \n', 'Invalid expression', 1, 13),
    ('resource "x" "y" { a = 1\n}\n', 'Invalid single-argument block definition', 1, 25),
    ('resource "x" "y" {\n  a = 1 }\n', 'Missing newline after argument', 2, 9),
    ('x {\n  y {\n    z = 1\n  }\n', 'Unclosed configuration block', 1, 3),
    ('a = [for k, v in m : v if]\n', 'Invalid expression', 1, 26),
    ('a = {for k, v in m : k}\n', "Invalid 'for' expression", 1, 22),
    ('a = "${var.x} %{ bogus }"\n', 'Invalid template control keyword', 1, 18),
    ('a = 1 +\n\nb = 2\n', 'Invalid expression', 1, 8),
    ('a = "ok"\nb = "é" c\n', 'Missing newline after argument', 2, 9),
]
