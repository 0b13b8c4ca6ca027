"""Networks over REST: every endpoint and its errors."""

import io
import json
import re
import subprocess
import sys
import time
import zipfile
from urllib.parse import unquote

import numpy as np
import pytest

import engine


def test_health(client):
    r = client.get("/api/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_layers_catalogue(client):
    cat = {c["type"]: c for c in client.get("/api/layers").json()}
    assert set(cat) == set(engine.REGISTRY)
    assert any(f["name"] == "kernel_size" for f in cat["conv2d"]["fields"])


def test_presets(client):
    data = client.get("/api/presets").json()
    by_name = {p["name"]: p for p in data["presets"]}
    assert by_name["lenet5"]["params"] == 61_706 and by_name["vgg16"]["params"] == 138_357_544
    one = client.get("/api/presets/resnet18").json()
    assert one["summary"]["totals"]["params"] == 11_689_512
    r = client.get("/api/presets/resnet19")
    assert r.status_code == 404 and "resnet19" in r.json()["detail"]


def test_presets_say_how_they_differ_from_the_papers_and_the_lecture(client):
    by_name = {p["name"]: p for p in client.get("/api/presets").json()["presets"]}
    assert set(by_name) == set(engine.PRESETS)
    for name, p in by_name.items():
        assert p["note"] == engine.PRESET_INFO[name]["note"]
    for name in ("lenet5", "alexnet", "alexnet_paper", "vgg16", "googlenet"):
        assert by_name[name]["note"], name
    assert by_name["tinyvgg"]["note"] is None
    assert by_name["alexnet_paper"]["params"] == 60_965_224
    assert "60,965,224" in by_name["alexnet_paper"]["note"]
    one = client.get("/api/presets/googlenet").json()
    assert one["note"] == engine.PRESET_INFO["googlenet"]["note"] and "5 million" in one["note"]


def test_validate_gives_the_summary_or_errors_by_path(client):
    spec = {
        "input": [3, 32, 32],
        "layers": [{"type": "conv2d", "out_channels": 20, "kernel_size": 5, "padding": 1, "stride": 2}],
    }
    r = client.post("/api/networks/validate", json=spec)
    assert r.status_code == 200
    assert r.json()["layers"][0]["param_formula"] == "20 x (5x5x3 + 1) = 1,520"
    assert r.json()["warnings"] == engine.summarize(spec)["warnings"]
    assert "only padding is left over" in r.json()["warnings"][0]
    bad = {
        "input": [3, 8, 8],
        "layers": [{"type": "residual", "body": [{"type": "conv2d", "out_channels": 2, "kernel_size": 30}]}],
    }
    r = client.post("/api/networks/validate", json=bad)
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "layers[0].body[0]"


def test_validate_a_spec_on_vectors(client):
    # a vector input has no image for a receptive field to be wider than: its layers carry no note
    spec = {
        "input": [4],
        "layers": [{"type": "flatten"}, {"type": "leaky_relu"}, {"type": "linear", "out_features": 2}],
    }
    r = client.post("/api/networks/validate", json=spec)
    assert r.status_code == 200, r.text
    assert [layer["output_shape"] for layer in r.json()["layers"]] == [[4], [4], [2]]
    assert all("receptive_field_note" not in layer for layer in r.json()["layers"])


def test_validate_a_huge_network_is_instant_but_not_buildable(client):
    r = client.post("/api/networks/validate", json=engine.PRESETS["vgg16"])
    assert r.status_code == 200 and r.json()["buildable"] is False
    r = client.post("/api/networks", json={"preset": "vgg16"})
    assert r.status_code == 413 and "138,357,544" in r.json()["detail"]


def test_create_read_list_patch_delete(client):
    r = client.post("/api/networks", json={"spec": engine.PRESETS["tinyvgg"], "name": "tiny", "seed": 3})
    assert r.status_code == 201
    net = r.json()
    assert net["params"] == 19_920 and net["seed"] == 3 and net["name"] == "tiny"
    assert client.get(f"/api/networks/{net['id']}").json()["spec"] == engine.PRESETS["tinyvgg"]
    assert [n["id"] for n in client.get("/api/networks").json()] == [net["id"]]
    r = client.patch(f"/api/networks/{net['id']}", json={"name": "renamed"})
    assert r.json()["name"] == "renamed"
    spec2 = json.loads(json.dumps(engine.PRESETS["lenet5"]))
    r = client.patch(f"/api/networks/{net['id']}", json={"spec": spec2})
    assert r.status_code == 200 and r.json()["params"] == 61_706
    assert client.delete(f"/api/networks/{net['id']}").status_code == 204
    assert client.get(f"/api/networks/{net['id']}").status_code == 404


def test_preset_adapted_to_a_dataset(client):
    r = client.post("/api/networks", json={"preset": "lenet5", "input": [3, 32, 32], "num_classes": 8})
    assert r.status_code == 201
    assert r.json()["spec"]["input"] == [3, 32, 32] and r.json()["spec"]["layers"][-1]["out_features"] == 8


def test_create_errors(client):
    r = client.post(
        "/api/networks", json={"spec": {"input": [1, 4, 4], "layers": [{"type": "linear", "out_features": 2}]}}
    )
    assert r.status_code == 422 and "flatten" in r.json()["errors"][0]["message"]
    r = client.post("/api/networks", json={"preset": "lenet5", "spec": engine.PRESETS["lenet5"]})
    assert r.status_code == 422 and "exactly one" in r.json()["detail"]
    r = client.post("/api/networks", json={"preset": "lenet5", "seed": -1})
    assert r.status_code == 422
    r = client.post("/api/networks", json={"preset": "nope"})
    assert r.status_code == 422 and "no preset" in r.json()["detail"]
    r = client.post("/api/networks", json={"preset": "lenet5", "colour": "red"})
    assert r.status_code == 422


def test_unknown_and_malformed_ids_are_404(client):
    for bad in ("0123456789abcdef", "..%2f..%2fetc", "%2e%2e", "a%00b"):
        r = client.get(f"/api/networks/{bad}")
        assert r.status_code == 404, bad
        assert "detail" in r.json()
    assert client.delete("/api/networks/0123456789abcdef").status_code == 404
    assert client.patch("/api/networks/0123456789abcdef", json={"name": "x"}).status_code == 404


def test_reinit_changes_weights_and_init(client, lenet):
    nid = lenet["id"]
    before = client.get(f"/api/networks/{nid}/export?format=npz").content
    r = client.post(f"/api/networks/{nid}/reinit", json={"seed": 9, "init": "xavier_uniform"})
    assert r.status_code == 200 and r.json()["seed"] == 9
    assert r.json()["spec"]["layers"][0]["init"] == "xavier_uniform"
    after = client.get(f"/api/networks/{nid}/export?format=npz").content
    w0 = engine.load_checkpoint(before)[0].state_dict()["layers[0].W"]
    w1 = engine.load_checkpoint(after)[0].state_dict()["layers[0].W"]
    assert not np.array_equal(w0, w1)
    assert client.post(f"/api/networks/{nid}/reinit", json={"init": "glorot"}).status_code == 422


def test_reinit_reaches_every_layer_with_weights(client):
    spec = {
        "input": [2, 6, 6],
        "layers": [
            {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "groups": 2, "dilation": 2},
            {
                "type": "residual",
                "body": [{"type": "conv_transpose2d", "out_channels": 4, "kernel_size": 3, "padding": 1}],
            },
            {"type": "flatten"},
            {"type": "linear", "out_features": 3},
        ],
    }
    nid = client.post("/api/networks", json={"spec": spec}).json()["id"]
    r = client.post(f"/api/networks/{nid}/reinit", json={"init": "lecun_normal"})
    layers = r.json()["spec"]["layers"]
    inits = [layers[0]["init"], layers[1]["body"][0]["init"], layers[3]["init"]]
    assert inits == ["lecun_normal"] * 3
    assert "init" not in layers[2]


def test_export_and_import_round_trip(client, lenet):
    nid = lenet["id"]
    data = client.get(f"/api/networks/{nid}/export?format=npz")
    assert data.status_code == 200 and "attachment" in data.headers["content-disposition"]
    r = client.post("/api/networks/import", files={"file": ("lenet.npz", data.content)})
    assert r.status_code == 201, r.text
    copy = r.json()
    assert copy["id"] != nid and copy["spec"] == lenet["spec"]
    again = client.get(f"/api/networks/{copy['id']}/export?format=npz").content
    a, b = engine.load_checkpoint(data.content)[0], engine.load_checkpoint(again)[0]
    assert all(np.array_equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    spec = client.get(f"/api/networks/{nid}/export?format=json").json()
    assert spec == {**lenet["spec"], "name": "LeNet", "seed": 0}
    r = client.post("/api/networks/import", files={"file": ("net.json", json.dumps(spec).encode())})
    assert r.status_code == 201
    z = zipfile.ZipFile(io.BytesIO(client.get(f"/api/networks/{nid}/export?format=pytorch").content))
    assert set(z.namelist()) == {"model.py", "weights.npz", "network.json"}
    assert "class Net" in z.read("model.py").decode()
    assert client.get(f"/api/networks/{nid}/export?format=tflite").status_code == 422


def test_a_json_export_is_a_spec_every_route_and_the_command_line_take(client, tmp_path):
    nid = client.post("/api/networks", json={"preset": "lenet5", "name": "digits", "seed": 7}).json()["id"]
    exported = client.get(f"/api/networks/{nid}/export?format=json").json()
    assert exported["seed"] == 7
    r = client.post("/api/networks/validate", json=exported)
    assert r.status_code == 200, r.text
    # built from the file, the network has the file's seed, so its weights are the same
    copy = client.post("/api/networks", json={"spec": exported})
    assert copy.status_code == 201, copy.text
    assert copy.json()["seed"] == 7 and "seed" not in copy.json()["spec"]
    original = engine.load_checkpoint(client.get(f"/api/networks/{nid}/export?format=npz").content)[0]
    rebuilt = engine.load_checkpoint(client.get(f"/api/networks/{copy.json()['id']}/export?format=npz").content)[0]
    assert all(np.array_equal(original.state_dict()[k], rebuilt.state_dict()[k]) for k in original.state_dict())
    # a seed given with the request is the one used
    assert client.post("/api/networks", json={"spec": exported, "seed": 3}).json()["seed"] == 3
    bad = client.post("/api/networks/validate", json={**exported, "seed": -1})
    assert bad.status_code == 422 and "seed" in bad.text
    path = tmp_path / "digits.json"
    path.write_text(json.dumps(exported))
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "summary", "--spec", str(path)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and "61,706" in out.stdout, out.stderr


def test_pytorch_export_carries_the_datasets_normalization(client, lenet):
    """With ?dataset= the exported model normalises pixel values / 255 as training did."""
    nid = lenet["id"]
    stats = client.get("/api/datasets/strokes/samples?n=1").json()["stats"]
    z = zipfile.ZipFile(io.BytesIO(client.get(f"/api/networks/{nid}/export?format=pytorch&dataset=strokes").content))
    source = z.read("model.py").decode()
    assert f"mean [{stats['mean'][0]}], std [{stats['std'][0]}]" in source
    plain = zipfile.ZipFile(io.BytesIO(client.get(f"/api/networks/{nid}/export?format=pytorch").content))
    assert "no normalisation" in plain.read("model.py").decode()
    r = client.get(f"/api/networks/{nid}/export?format=pytorch&dataset=cifar10-nonexistent")
    assert r.status_code in (404, 422) and "dataset" in r.text


def test_an_npz_export_and_a_checkpoint_keep_what_the_network_learnt_from(client, lenet):
    """A saved network that forgets its dataset's scaling reads new images wrong: the npz export
    (with ?dataset=) and every run checkpoint carry the class names, mean and std."""
    stats = client.get("/api/datasets/strokes/samples?n=1").json()["stats"]
    names = client.get("/api/datasets/strokes").json()["class_names"]
    want = {"dataset": "strokes", "classes": names, "mean": stats["mean"], "std": stats["std"]}
    data = client.get(f"/api/networks/{lenet['id']}/export?format=npz&dataset=strokes").content
    meta = engine.load_checkpoint(data)[2]
    assert {k: meta[k] for k in want} == want and meta["name"] == "LeNet"
    assert "mean" not in engine.load_checkpoint(client.get(f"/api/networks/{lenet['id']}/export").content)[2]
    r = client.get(f"/api/networks/{lenet['id']}/export?format=json&dataset=strokes")
    assert r.status_code == 422 and "spec alone" in r.json()["detail"]
    run = client.post(f"/api/networks/{lenet['id']}/runs", json={"dataset": "strokes", "max_train": 200}).json()
    deadline = time.monotonic() + 120
    while client.get(f"/api/runs/{run['id']}").json()["status"] not in ("completed", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    meta = engine.load_checkpoint(client.get(f"/api/runs/{run['id']}/checkpoint").content)[2]
    assert {k: meta[k] for k in want} == want


def test_import_rejects_garbage(client):
    r = client.post("/api/networks/import", files={"file": ("x.npz", b"PK\x03\x04 not really")})
    assert r.status_code == 422
    r = client.post("/api/networks/import", files={"file": ("x.json", b"\xff\xfe")})
    assert r.status_code == 422 and "neither" in r.json()["detail"]
    r = client.post(
        "/api/networks/import", files={"file": ("x.json", b'{"input": [1, 2, 2], "layers": [{"type": "x"}]}')}
    )
    assert r.status_code == 422


def test_summary_of_a_network(client, lenet):
    s = client.get(f"/api/networks/{lenet['id']}/summary").json()
    assert s["totals"]["params"] == 61_706


def test_the_page_and_docs_are_served(client):
    r = client.get("/")
    assert r.status_code == 200 and "CNN Playground" in r.text
    assert client.get("/static/main.js").status_code == 200
    assert client.get("/docs").status_code == 200
    assert "/api/networks" in client.get("/openapi.json").json()["paths"]


def test_validate_as_a_report_answers_200_with_the_errors(client):
    bad = {"input": [1, 8, 8], "layers": [{"type": "conv2d", "out_channels": 2, "kernel_size": 30}]}
    r = client.post("/api/networks/validate?report=true", json=bad)
    assert r.status_code == 200 and r.json()["valid"] is False
    assert r.json()["errors"][0]["path"] == "layers[0]"
    ok = client.post("/api/networks/validate?report=true", json=engine.PRESETS["lenet5"]).json()
    assert ok["valid"] is True and ok["totals"]["params"] == 61_706


PARAM = re.compile(r'\s*;\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)=("(?:[^"\\]|\\.)*"|[^;\s"]+)\s*')


def disposition(header: str) -> dict[str, str]:
    """The parameters of an attachment's Content-Disposition (RFC 6266)."""
    assert header.startswith("attachment"), header
    params, pos = {}, len("attachment")
    for m in PARAM.finditer(header, pos):
        assert m.start() == pos, f"cannot parse {header[pos:]!r}"
        value, pos = m.group(2), m.end()
        if value[0] == '"':
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[m.group(1).lower()] = value
    assert pos == len(header), f"cannot parse {header[pos:]!r}"
    return params


@pytest.mark.parametrize("name", ["名前", "Ñetwork", "my net (v2)", 'a "quoted"; name'])
@pytest.mark.parametrize("format, ext", [("npz", ".npz"), ("json", ".json"), ("pytorch", "-pytorch.zip")])
def test_export_of_a_non_ascii_name_sends_an_rfc_5987_filename(client, name, format, ext):
    nid = client.post("/api/networks", json={"preset": "lenet5", "name": name}).json()["id"]
    r = client.get(f"/api/networks/{nid}/export?format={format}")
    assert r.status_code == 200, r.text
    header = r.headers["content-disposition"]
    header.encode("ascii")
    params = disposition(header)
    assert params["filename"].endswith(ext) and params["filename"].isascii()
    charset, _, encoded = params["filename*"].partition("''")
    assert charset == "UTF-8" and encoded.isascii()
    assert unquote(encoded, encoding="utf-8", errors="strict") == name + ext


def test_export_filename_keeps_no_path_separators(client):
    body = {"preset": "lenet5", "name": "../up/and\\away"}
    nid = client.post("/api/networks", json=body).json()["id"]
    r = client.get(f"/api/networks/{nid}/export?format=json")
    params = disposition(r.headers["content-disposition"])
    assert unquote(params["filename*"].partition("''")[2]) == ".._up_and_away.json"
    assert "/" not in params["filename"] and "\\" not in params["filename"]


# ---- network names: free text, but nothing that hides or reorders what is shown -----------------
BAD_NAMES = {
    "nul": ("a\x00b", "U+0000"),
    "tab inside": ("tab\there", "U+0009"),
    "bidi override": ("report\u202eexe.txt", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    "bidi isolate": ("a\u2066b", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    "zero width space": ("zero\u200bwidth", "U+200B ZERO WIDTH SPACE"),
    "byte order mark": ("\ufeffnet", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    "line separator": ("a\u2028b", "U+2028 LINE SEPARATOR"),
    "paragraph separator": ("a\u2029b", "U+2029 PARAGRAPH SEPARATOR"),
    "empty": ("", "empty"),
    "only spaces": (" \t ", "empty"),
    "too long": ("n" * 101, "at most 100"),
}
GOOD_NAMES = {
    "LeNet-5": "LeNet-5",
    "my net (v2)": "my net (v2)",
    "名前": "名前",
    "Ñetwork": "Ñetwork",
    "  padded  ": "padded",
    "n" * 100: "n" * 100,
    "👩\u200d💻 net": "👩\u200d💻 net",  # an emoji sequence joins with U+200D
    "می\u200cخواهم": "می\u200cخواهم",
}  # Persian needs U+200C between some letters


def error_text(r) -> str:
    """The 422's detail as one line: validation errors as 'loc: msg', a plain detail as it is."""
    assert r.status_code == 422, r.text[:300]
    errors = r.json()["errors"]
    if not errors:
        return r.json()["detail"]
    return " | ".join(
        f"{'.'.join(map(str, e['loc']))}: {e['message']}"
        if e.get("loc")  # pydantic's
        else f"{e['path']}: {e['message']}"
        for e in errors
    )  # the spec's


def spec_file(name=None) -> bytes:
    spec = dict(engine.PRESETS["lenet5"])
    if name is not None:
        spec["name"] = name
    return json.dumps(spec).encode()


@pytest.mark.parametrize("name, words", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_a_bad_network_name_is_422_on_every_path(client, lenet, name, words):
    r = client.post("/api/networks", json={"preset": "lenet5", "name": name})
    assert "body.name" in (text := error_text(r)) and words in text, text
    r = client.patch(f"/api/networks/{lenet['id']}", json={"name": name})
    assert "body.name" in (text := error_text(r)) and words in text, text
    r = client.post("/api/networks/import", params={"name": name}, files={"file": ("net.json", spec_file())})
    assert "query.name" in (text := error_text(r)) and words in text, text
    assert [n["name"] for n in client.get("/api/networks").json()] == ["LeNet"]


@pytest.mark.parametrize("name, words", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_a_bad_name_inside_a_spec_is_422(client, name, words):
    spec = {**engine.PRESETS["lenet5"], "name": name}
    created = client.post("/api/networks", json={"spec": spec})
    imported = client.post("/api/networks/import", files={"file": ("n.json", spec_file(name))})
    if not name.strip():  # a spec's name is optional: a blank one is no name (the file's is taken)
        assert (created.json()["name"], imported.json()["name"]) == ("network", "n")
        return
    for r in (created, imported):
        assert "name" in (text := error_text(r)) and words in text, text
    assert client.get("/api/networks").json() == []


def test_a_bad_character_in_an_imported_file_name_is_422(client, lenet):
    data = engine.io.to_bytes(engine.build_network(lenet["spec"]))  # saved without a name
    r = client.post("/api/networks/import", files={"file": ("lenet\u202exnpz.npz", data)})
    text = error_text(r)
    assert "file's name" in text and "U+202E RIGHT-TO-LEFT OVERRIDE" in text, text
    assert "?name=" in text
    r = client.post(
        "/api/networks/import", params={"name": "LeNet copy"}, files={"file": ("lenet\u202exnpz.npz", data)}
    )
    assert r.status_code == 201 and r.json()["name"] == "LeNet copy"


def test_a_lone_surrogate_in_a_network_name_is_422(client, lenet):
    body = b'{"preset": "lenet5", "name": "a\\ud800b"}'
    r = client.post("/api/networks", content=body, headers={"content-type": "application/json"})
    assert "U+D800" in (text := error_text(r)) and "body.name" in text, text
    r = client.patch(
        f"/api/networks/{lenet['id']}", content=b'{"name": "\\udfff"}', headers={"content-type": "application/json"}
    )
    assert "U+DFFF" in error_text(r)


@pytest.mark.parametrize("name, stored", GOOD_NAMES.items(), ids=range(len(GOOD_NAMES)))
def test_free_text_network_names_are_kept(client, lenet, name, stored):
    r = client.post("/api/networks", json={"preset": "lenet5", "name": name})
    assert r.status_code == 201 and r.json()["name"] == stored, r.text[:300]
    r = client.patch(f"/api/networks/{lenet['id']}", json={"name": name})
    assert r.status_code == 200 and r.json()["name"] == stored, r.text[:300]
    r = client.post("/api/networks/import", params={"name": name}, files={"file": ("n.json", spec_file())})
    assert r.status_code == 201 and r.json()["name"] == stored, r.text[:300]


def test_the_recommended_preset_of_every_built_in_dataset_fits_it(client):
    """'Use the recommended network' in the Data view: the preset comes adapted to the dataset."""
    data = client.get("/api/presets").json()
    datasets = {d["name"]: d for d in client.get("/api/datasets").json()}
    assert data["default_for_dataset"]["shapes"] == "cnn_small_32"
    assert datasets["shapes"]["num_classes"] == 8
    for name, preset in data["default_for_dataset"].items():
        r = client.get(f"/api/presets/{preset}", params={"dataset": name})
        assert r.status_code == 200, r.text
        one = r.json()
        assert one["adapted_to"] == name
        assert one["spec"]["input"] == datasets[name]["shape"], name
        assert one["spec"]["layers"][-1]["out_features"] == datasets[name]["num_classes"], name
        assert one["summary"]["layers"][-1]["output_shape"] == [datasets[name]["num_classes"]], name
    # nothing was downloaded to answer
    assert not {d["name"]: d for d in client.get("/api/datasets").json()}["mnist"]["cached"]


def test_a_preset_that_cannot_take_a_dataset_says_why(client):
    r = client.get("/api/presets/alexnet", params={"dataset": "strokes"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("alexnet cannot take the 1x28x28 images of strokes: layers[5]: kernel_size 3")
    r = client.get("/api/presets/lenet5", params={"dataset": "no-such-data"})
    assert r.status_code == 404 and "no-such-data" in r.json()["detail"]


@pytest.mark.parametrize("filename", ["digits v2.npz", "digits v2.json"])
def test_an_imported_network_without_a_name_is_named_after_its_file_without_the_extension(client, filename):
    net = engine.build_network(engine.PRESETS["lenet5"])  # saved without a name
    data = engine.io.to_bytes(net) if filename.endswith(".npz") else json.dumps(net.spec).encode()
    r = client.post("/api/networks/import", files={"file": (filename, data)})
    assert r.status_code == 201 and r.json()["name"] == "digits v2", r.text
