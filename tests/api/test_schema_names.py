"""The OpenAPI document names each schema once: two schema classes of one name would share one
component, so the document would describe one of them with the other's fields (it did: a
campaign response's schema replaced the survey responses' list)."""

from __future__ import annotations

from collections import defaultdict

from ninja import Schema


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def test_no_two_api_schemas_share_a_name():
    from patron.config.api import api

    api.get_openapi_schema()  # every router's schemas are imported and built
    by_name: dict[str, set[str]] = defaultdict(set)
    for cls in _subclasses(Schema):
        if cls.__module__.startswith("patron."):
            by_name[cls.__name__].add(cls.__module__)
    shared = {name: sorted(modules) for name, modules in by_name.items() if len(modules) > 1}
    assert shared == {}


def test_the_survey_responses_list_is_described_by_its_own_schema():
    from patron.config.api import api

    document = api.get_openapi_schema()
    component = document["components"]["schemas"]["ResponseOut"]
    assert "survey_id" in component["properties"] or "score" in component["properties"]
    assert "campaign_id" not in component["properties"]
