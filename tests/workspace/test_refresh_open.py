"""A refresh while the workspace is open: it commits safely beside the open workspace, a record
PubMed revised after it was decided comes back to its reviewer flagged, new records join the queue."""

from __future__ import annotations

from pipeline.config import load_config
from pipeline.engine.run import refresh
from pipeline.workspace.service import Workspace
from tests.support.workspace_review import HOSTILE_PMID, Client, hostile_xml, served
from tests.support.xmlbuild import article, document

NEW_PMID = "39999998"


def revised_corpus() -> bytes:
    changed = hostile_xml().replace(b"in rats.", b"in rats and mice (corrected).")
    new = document(
        article(
            NEW_PMID,
            article=(
                "<ArticleTitle>Ketamine efficacy in late-life depression.</ArticleTitle>"
                "<Abstract><AbstractText>Open-label ketamine showed efficacy in older adults with depression."
                "</AbstractText></Abstract><Language>eng</Language>"
            ),
            pub_date="<Year>2023</Year>",
        )
    )
    head, _, tail = changed.rpartition(b"</PubmedArticleSet>")
    body = new.split(b"<PubmedArticleSet>\n", 1)[1].rsplit(b"\n</PubmedArticleSet>", 1)[0]
    return head + body + b"\n</PubmedArticleSet>" + tail


def test_refresh_while_screening(screening_review):
    config = load_config(screening_review.config)
    hostile = f"pmid:{HOSTILE_PMID}"
    with served(screening_review) as server:
        ws: Workspace = server.workspace
        ws.decide("ana", hostile, "exclude", "wrong population")
        ws.decide("ana", "pmid:30000001", "include")
        (screening_review.config.parent / "hostile.xml").write_bytes(revised_corpus())
        manifest = refresh(config)  # commits while the workspace holds its connections
        assert manifest["status"] == "completed"
        queue = ws.queue()
        assert f"pmid:{NEW_PMID}" in queue and len(queue) == 8
        assert ws.next_for("ana") == hostile  # revised after ana decided: back to her first
        assert ws.next_for("ben") != hostile
        row = next(r for r in ws.listing("ana") if r["record_id"] == hostile)
        assert row["revised"] and row["mine"] == "exclude"
        assert f"pmid:{NEW_PMID}" in ws.ranked()
        client = Client(server.url)
        client.login("ana")
        _, _, html = client.request("/screen")
        assert (
            '<p class="flag" id="revised">PubMed revised this record after you decided it: please take a '
            "second look.</p>"
        ) in html
        assert '<mark class="hl-exclude" title="exclude">rats</mark> and mice (corrected).' in html
        ws.decide("ana", hostile, "exclude", "wrong population")  # the second look
        assert ws.next_for("ana") != hostile
        assert [e.content_hash for e in ws.entries() if e.record_id == hostile][-1] == queue[hostile].content_hash
