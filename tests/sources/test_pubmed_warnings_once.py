"""PubMed's warnings are printed once, however many searches of the run repeat them."""

from __future__ import annotations

import urllib.parse
import urllib.request

from tests.support.eutils_server import Fault

QUERY = 'ketamine AND depression AND ("mechanism of action" OR "clinical applications" OR efficacy)'


def test_a_warning_the_filtered_search_repeats_is_printed_once(server, review_config, invoke, tmp_path):
    url = server.base_url + "esearch.fcgi?" + urllib.parse.urlencode({"db": "pubmed", "term": QUERY, "retmax": 9999})
    with urllib.request.urlopen(url, timeout=5) as answer:
        body = answer.read()
    server.requests.clear()
    warned = body.replace(
        b"</eSearchResult>", b"<WarningList><PhraseIgnored>of</PhraseIgnored></WarningList></eSearchResult>"
    )
    server.inject("esearch", Fault(body=warned), times=2)  # the search and the cross-check's search
    result = invoke("run", "--config", review_config, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines().count("WARNING PubMed: Warning PhraseIgnored: of") == 1
