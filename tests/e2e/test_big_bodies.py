"""A real server sent bodies far over its limits: 413 while the body streams, memory bounded."""

import httpx
import pytest

MiB = 2**20


def memory(pid: int) -> dict[str, int]:
    """The server's resident memory now and at its peak (VmRSS, VmHWM), in bytes."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    return out


@pytest.mark.parametrize(
    "url,content_type,limit",
    [
        ("/api/networks", "application/json", "8 MiB"),
        ("/api/datasets", "multipart/form-data; boundary=zzz", "256 MiB"),
    ],
)
def test_a_300_mb_body_is_cut_off_with_413_and_memory_stays_bounded(server, url, content_type, limit):
    total = 300 * MiB
    sent = 0

    def body():  # no Content-Length: the server has to count while it reads
        nonlocal sent
        if "multipart" in content_type:
            head = b'--zzz\r\nContent-Disposition: form-data; name="file"; filename="big.npz"\r\n\r\n'
            sent += len(head)
            yield head
        chunk = b" " * MiB
        while sent < total:
            sent += len(chunk)
            yield chunk

    before = memory(server.process.pid)
    with httpx.Client(timeout=60) as client:
        r = client.post(server.url + url, content=body(), headers={"content-type": content_type})
    after = memory(server.process.pid)
    assert r.status_code == 413, r.text[:300]
    assert limit in r.json()["detail"]
    assert sent < total, "the server read the whole body"
    growth = after["VmHWM"] - before["VmRSS"]
    assert growth < 64 * MiB, f"the server's peak memory grew by {growth / MiB:.0f} MiB for a {total // MiB} MB body"
    assert httpx.get(server.url + "/api/health", timeout=10).status_code == 200
    leftovers = [p for p in server.data_dir.rglob("*") if p.is_file() and p.suffix == ".tmp"]
    assert leftovers == []
