"""`python -m models.leakage embeddings --eval FILE --json OUT` on an outside file (one malformed line), the JSON
contract, and a bench on a tiny suite that gives a Leak-Rate in each of the four languages."""
import json

import pytest

from models.leakage.__main__ import embeddings, parse_args
from models.leakage.probes import read_suite
from models.leakage.runner import run_suite
from models.registry import best_measure

OUTSIDE = [
    {"id": "o1", "lang": "en", "concept": "owl", "related": "It hoots from the barn roof all night long.",
     "unrelated": "It rattles in the old van all day long.", "author": "someone else"},
    {"id": "o2", "lang": "en", "concept": "violinist", "related": "She rosins her bow before every rehearsal.",
     "unrelated": "She waters her ferns before every weekend."},
    {"id": "o3", "lang": "fa", "concept": "نانوا", "related": "هر سحر خمیر ورز می‌دهد و تنور را داغ می‌کند.",
     "unrelated": "هر عصر نامه‌ها را می‌خواند و پرده را کنار می‌زند."},
    {"id": "o4", "lang": "fa", "concept": "زمستان", "related": "برف همه‌جا نشسته بود و بخاری روشن بود.",
     "unrelated": "کتاب روی میز مانده بود و پنجره باز بود."},
]


async def test_cli_scores_an_outside_set_and_keeps_the_contract(tmp_path, capsys):
    path, out = tmp_path / "outside.jsonl", tmp_path / "out.json"
    lines = [json.dumps(row, ensure_ascii=False) for row in OUTSIDE]
    lines.insert(2, '{"id": "bad", "lang": "en", "concept": "x"')  # line 3: not valid JSON
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = parse_args(["embeddings", "--eval", str(path), "--embedders", "minilm", "e5-small", "--json", str(out)])
    assert await embeddings(args) == 0
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert set(payload["chosen"]) >= {"en", "ru", "fa", "he"}
    assert payload["chosen"]["ru"] == best_measure("ru")  # not in this set: what auto uses now
    assert payload["chosen"]["fa"] in ("minilm", "e5-small") and payload["interval"] == "wilson"
    rows = {(r["embedder"], r["language"]): r for r in payload["results"]}
    assert set(rows) == {("minilm", "en"), ("minilm", "fa"), ("e5-small", "en"), ("e5-small", "fa")}
    for row in rows.values():
        assert {"embedder", "language", "paired_accuracy", "ci95", "n"} <= set(row) and row["n"] == 2
        assert 0 <= row["ci95"][0] <= row["paired_accuracy"] <= row["ci95"][1] <= 1
    assert payload["skipped"] == [f"{path}:3: not valid JSON (Expecting ',' delimiter)"]
    assert "outside.jsonl: 4 items, 1 skipped" in capsys.readouterr().out
    strict = parse_args(["embeddings", "--eval", str(path), "--embedders", "minilm", "--strict"])
    assert await embeddings(strict) == 2
    assert f"{path}:3: not valid JSON" in capsys.readouterr().err


async def test_tiny_suite_gives_a_leak_rate_in_every_language(hub):
    suite = read_suite()
    probes = [next(p for p in suite.probes if p.language == language) for language in ("en", "ru", "fa", "he")]
    engine = await hub.text("gemma-3-270m").ready()
    result = await run_suite(engine, await hub.embedder().ready(), probes, suite_name="tiny", n=1,
                             temperatures=(0.0,), seed=0, max_new_tokens=8, measure="auto", embedders=hub)
    payload = json.loads(json.dumps(result.to_json()))
    for language in ("en", "ru", "fa", "he"):
        entry = payload["by_language"][language]
        assert entry["leak_rate"] in (0.0, 50.0, 100.0) and entry["n_probes"] == 1, entry
        assert entry["embedder"] == best_measure(language) and entry["paired_accuracy"] >= 0.8
        assert not entry["weak"] and len(entry["ci95"]) == 2
    assert payload["probes"][2]["embedder"] == best_measure("fa")


@pytest.mark.parametrize("bad", ["", "not json at all"])
async def test_cli_rejects_a_file_without_items(tmp_path, bad, capsys):
    path = tmp_path / "empty.jsonl"
    path.write_text(bad, encoding="utf-8")
    assert await embeddings(parse_args(["embeddings", "--eval", str(path)])) == 2
    assert "no valid item" in capsys.readouterr().err


async def test_a_remote_embeddings_endpoint_is_scored_like_a_local_embedder(tmp_path, monkeypatch):
    """The documented way to a bigger multilingual embedder: a REMOTE_MODELS entry of kind "embedder" (here the
    loopback fake's /v1/embeddings) is evaluated by name, as `--embedders NAME` does."""
    from fakes.openai_api import FakeOpenAI
    from models.config import ModelSettings, RemoteModel
    from models.hub import ModelHub
    from models.leakage import association
    from models.leakage.__main__ import _scorer

    fake = await FakeOpenAI(api_key="sk-test").start()
    monkeypatch.setenv("EMBED_KEY", "sk-test")
    hub = ModelHub(ModelSettings(remote_models={"big-embed": RemoteModel(
        base_url=fake.base_url, model="bge-m3", kind="embedder", api_key_env="EMBED_KEY", timeout_s=5)}))
    try:
        path = tmp_path / "set.jsonl"
        path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in OUTSIDE), encoding="utf-8")
        data = association.read_association(path)
        results = await association.evaluate({"big-embed": _scorer("cosine", await hub.embedder("big-embed").ready())},
                                             data)
        assert [(r.embedder, r.language, r.n) for r in results] == [("big-embed", "en", 2), ("big-embed", "fa", 2)]
        assert association.choose_similarity(results)["similarity"] == {"en": "big-embed", "fa": "big-embed"}
        assert fake.requests and fake.requests[-1]["model"] == "bge-m3"
    finally:
        await hub.close()
        await fake.stop()
