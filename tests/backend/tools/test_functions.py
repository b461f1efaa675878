"""The names the model sees for MCP tools, and what it reads of their results."""

from __future__ import annotations

from mcp_types import CallToolResult, ImageContent, TextContent

from backend.tools.functions import MAX_OUTPUT_CHARS, public_name, result_text


def test_a_name_is_server_then_tool_made_safe() -> None:
    assert public_name("files", "read_file") == "files__read_file"
    assert public_name("my.server", "get item") == "my_server__get_item"


def test_names_that_become_the_same_stay_apart() -> None:
    first = public_name("a.b", "x")
    second = public_name("a_b", "x", {first})
    assert first == "a_b__x"
    assert second != first and second.startswith("a_b__x_")
    assert public_name("a_b", "x", {first}) == second, "the same for the same original"


def test_a_long_name_is_cut_to_64_with_a_digest() -> None:
    name = public_name("server", "t" * 100)
    assert len(name) == 64
    assert name != public_name("server", "t" * 99)


def test_results_are_their_text_with_other_content_named() -> None:
    result = CallToolResult(
        content=[
            TextContent(type="text", text="one"),
            ImageContent(type="image", data="aGk=", mime_type="image/png"),
        ]
    )
    assert result_text(result) == "one\n[an image (image/png)]"


def test_a_huge_result_is_cut_and_says_so() -> None:
    text = "x" * (MAX_OUTPUT_CHARS + 10)
    answer = result_text(CallToolResult(content=[TextContent(type="text", text=text)]))
    assert answer.endswith("… (10 more characters were cut)")


def test_an_empty_result_says_so() -> None:
    assert result_text(CallToolResult(content=[])) == "(no output)"
