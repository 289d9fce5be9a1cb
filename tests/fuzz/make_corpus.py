#!/usr/bin/env python3
"""make_corpus.py - writes the seed corpora of tests/fuzz/corpus/<target>/.

Small, hand-made inputs: one or a few valid documents per parser plus a few
near misses, so that libFuzzer starts from the accepted shapes. Run from any
directory; it rewrites only the seed_* files (reproducers, crash_*, stay).
"""
import hashlib
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SHA = hashlib.sha256(b"hello").hexdigest()


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed_" + name), "wb") as f:
        f.write(data)


def manifest(**over):
    m = {
        "format": 1, "name": "20260120T140312Z", "kind": "full",
        "system_identifier": "7318012345678901234", "pg_version": "15", "timeline": 1,
        "start_time": "2026-01-20T14:03:12Z", "stop_time": "2026-01-20T14:04:00Z",
        "start_lsn": "0/3000028", "stop_lsn": "0/3000138",
        "start_wal": "000000010000000000000003", "stop_wal": "000000010000000000000003",
        "wal_segment_size": 16777216, "from_standby": False, "compression": "zstd",
        "original_bytes": 8, "stored_bytes": 30, "duration_seconds": 1.5,
        "backup_label": "START WAL LOCATION: 0/3000028\n", "tablespace_map": "16385 /srv/ts\n",
        "created_by": "walferry 0.1.0",
        "tablespaces": [{"oid": 16385, "name": "ts", "location": "/srv/ts"}],
        "objects": [{"key": "backup/20260120T140312Z/data/000001", "size": 30, "sha256": SHA,
                     "raw_size": 8}],
        "files": [
            {"path": "base", "type": "dir", "mode": 0o700, "mtime": 1},
            {"path": "base/1", "type": "file", "mode": 0o600, "mtime": 1700000000, "size": 5,
             "sha256": SHA, "object": 0, "offset": 0},
            {"path": "base/2", "type": "file", "mode": 0o600, "mtime": 1700000000, "size": 0,
             "sha256": hashlib.sha256(b"").hexdigest()},
            {"path": "PG_VERSION", "type": "file", "mode": 0o600, "mtime": 1700000000, "size": 3,
             "sha256": SHA, "object": 0, "offset": 5},
            {"path": "pg_tblspc", "type": "dir", "mode": 0o700, "mtime": 1},
            {"path": "pg_tblspc/16385", "type": "link", "mode": 0o777, "mtime": 1,
             "target": "/srv/ts"},
            {"path": "pg_tblspc/16385/PG_15", "type": "dir", "mode": 0o700, "mtime": 1},
        ],
    }
    m.update(over)
    return json.dumps(m, indent=1) + "\n"


def main():
    write("fuzz_manifest", "valid.json", manifest())
    write("fuzz_manifest", "lz4_empty.json",
          manifest(compression="lz4", original_bytes=0, stored_bytes=0, objects=[], tablespaces=[],
                   files=[{"path": "global", "type": "dir", "mode": 0o700, "mtime": 0}]))
    write("fuzz_manifest", "format2.json", '{"format": 2}')
    write("fuzz_manifest", "big_sizes.json",
          manifest(original_bytes=18446744073709551615, stored_bytes=18446744073709551615))

    head = {"format": 1, "name": "000000010000000000000001", "codec": "zstd", "size": 16777216,
            "sha256": SHA}
    write("fuzz_object_header", "zstd", json.dumps(head) + "\n\x28\xb5\x2f\xfd")
    write("fuzz_object_header", "none", json.dumps(dict(head, codec="none", size=3)) + "\nabc")
    write("fuzz_object_header", "history",
          json.dumps(dict(head, name="00000002.history", codec="lz4", size=40)) + "\n")
    write("fuzz_object_header", "identity",
          json.dumps({"format": 1, "system_identifier": "7318012345678901234", "pg_version": "15",
                      "wal_segment_size": 16777216, "created_by": "walferry 0.1.0"}, indent=2) + "\n")

    write("fuzz_s3_xml", "list.xml",
          '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><IsTruncated>true'
          '</IsTruncated><NextContinuationToken>tok</NextContinuationToken><Contents><Key>p/wal/a'
          '</Key><LastModified>2026-01-20T14:03:12.000Z</LastModified><ETag>"abc"</ETag><Size>42'
          '</Size></Contents><Contents><Key>p/b&amp;c</Key><Size>0</Size></Contents>'
          '</ListBucketResult>')
    write("fuzz_s3_xml", "error.xml",
          '<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Please reduce</Message>'
          '<RequestId>tx1</RequestId></Error>')
    write("fuzz_s3_xml", "initiate.xml",
          '<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>2~abc'
          '</UploadId></InitiateMultipartUploadResult>')
    write("fuzz_s3_xml", "delete.xml",
          '<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied'
          '</Code><Message>no</Message></Error></DeleteResult>')
    write("fuzz_s3_xml", "complete_error.xml",
          '<CompleteMultipartUploadResult></CompleteMultipartUploadResult>')
    write("fuzz_s3_xml", "keys.txt", "wal/0000000100000000/000000010000000000000001\nbackup/x/manifest.json\n")

    write("fuzz_http_headers", "head.txt",
          "HTTP/1.1 200 OK\r\nContent-Length: 16777216\r\nETag: \"9b2cf535f27731c974343645a3985328\"\r\n"
          "Last-Modified: Fri, 24 May 2013 00:00:00 GMT\r\nx-amz-request-id: tx1\r\n\r\n")
    write("fuzz_http_headers", "range.txt",
          "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4095/16777216\r\n"
          "Content-Length: 4096\r\n\r\n")
    write("fuzz_http_headers", "star.txt", "HTTP/2 206\r\ncontent-range: bytes 10-19/*\r\n")
    write("fuzz_http_headers", "length.txt", "18446744073709551615")

    write("fuzz_config", "file.conf",
          "# walferry.conf\nrepo = s3://bucket/prefix\ns3-endpoint = https://127.0.0.1:9000\n"
          "s3-region = us-east-1\ncompression = zstd\ncompression-level = 3\nparallel = 8\n"
          "s3-part-size = 16MiB\ns3-multipart-threshold = 64MiB\narchive-timeout = 1min\n"
          "s3-stall-timeout = 500ms\ns3-verify-tls = yes\nlog-level = debug\n"
          "s3-secret-access-key = verysecretvalue\n")
    write("fuzz_config", "env_flags.txt",
          "repo = file:///var/lib/walferry\n----\nWALFERRY_PARALLEL=2\nAWS_ACCESS_KEY_ID=AKIA1\n"
          "AWS_SECRET_ACCESS_KEY=topsecretvalue1\n----\ns3-part-size=5MiB\narchive-timeout=1.5\n")
    write("fuzz_config", "bad.conf", "repo s3://x\n")
    write("fuzz_config", "secret_bad.txt", "s3-secret-access-key = abc\ndef = 1\n----\n----\ns3-session-token=tok\nen\n")

    write("fuzz_url", "s3.txt", "s3://bucket/some/prefix/\nhttps://s3.example.com:9000/")
    write("fuzz_url", "file.txt", "file:///var/lib/walferry//")
    write("fuzz_url", "ipv6.txt", "s3://b\nhttp://[::1]:9000")
    write("fuzz_url", "upper.txt", "s3://Bucket/..\nHTTP://host")

    page = struct.pack("<HHIQI", 0xD110, 0x0007, 1, 0x3000000, 0) + b"\0" * 4
    page += struct.pack("<QII", 7318012345678901234, 16 << 20, 8192)
    write("fuzz_wal", "page15", page + b"\0" * 24)
    write("fuzz_wal", "name.txt", "000000010000000A000000FF\n")
    write("fuzz_wal", "history.txt", "00000002.history\n1\t0/3000028\tno recovery target specified\n\n"
          "# comment\n2\t0/5000000\tbefore 2026-01-20\n")
    write("fuzz_wal", "backup_name.txt", "000000010000000000000003.00000028.backup\n15\n")
    write("fuzz_wal", "partial.txt", "000000020000000000000004.partial")

    ok = {"name": "000000010000000000000001", "key": "wal/0000000100000000/000000010000000000000001",
          "sha256": SHA, "size": 16777216, "stored_size": 1234, "repo": "file:///fuzz/repo",
          "time": "2026-01-01T00:00:00.000Z", "time_ms": 1767225600000, "staged": True,
          "source": {"dev": 2049, "ino": 12, "size": 16777216, "mtime_ns": 1767225600000000000}}
    write("fuzz_spool", "ok.json", json.dumps(ok) + "\n")
    err = {"name": "000000010000000000000001", "message": "put: http 503", "hint": "retry",
           "code": 6, "exit_code": 3, "time_ms": 1767225600000}
    write("fuzz_spool", "err.json", json.dumps(err) + "\n")
    write("fuzz_spool", "err_named.json", json.dumps(dict(err, code="unavailable")) + "\n")
    write("fuzz_spool", "state.json",
          json.dumps({"version": 1, "uploaded_segments": 3, "uploaded_bytes": 50331648,
                      "recent": [[1767225599000, 16777216], [1767225590000, 16777216]],
                      "last_success": ok, "last_error": err}) + "\n")
    write("fuzz_spool", "staged", json.dumps({"name": "000000010000000000000001", "key": ok["key"],
                                              "source": ok["source"],
                                              "page": {"system_identifier": 1, "segment_size": 16777216}})
          + "\n" + json.dumps({"format": 1, "name": ok["name"], "codec": "none", "size": 3, "sha256": SHA})
          + "\nabc")
    write("fuzz_spool", "want", "000000010000000000000005 16777216\n")
    keys()


def keys():
    """fuzz_keys: a KEK's text, a sealed stream, a plaintext with a damage, a key object."""
    import hmac
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    sep = "\n----\n"

    def seal(plain, key=b"k" * 32, prefix=b"fz01", aad=b"fuzz", chunk=32):
        chunks = [plain[i:i + chunk] for i in range(0, len(plain), chunk)] or [b""]
        out = b""
        for i, c in enumerate(chunks):
            final = 1 << 63 if i == len(chunks) - 1 else 0
            out += AESGCM(key).encrypt(prefix + (i | final).to_bytes(8, "big"), c, aad)
        return out

    kek = b"K" * 32
    fingerprint = hmac.new(kek, b"walferry key-encryption key fingerprint", "sha256").hexdigest()[:16]
    name = "kek-" + fingerprint
    nonce = b"\x01" * 12
    wrapped = nonce + AESGCM(kek).encrypt(nonce, b"r" * 32, ("walferry keyring 1|fuzz-repo|" + name).encode())
    key_object = json.dumps({"format": 1, "repository": "fuzz-repo", "name": name,
                             "created": "2026-12-02T07:00:00Z", "wrapped": wrapped.hex()}, indent=2) + "\n"
    plain = b"a plaintext of more than two chunks of thirty-two bytes each, sealed by the target"
    write("fuzz_keys", "valid", b"hex:" + b"00" * 32 + sep.encode() + seal(plain) + sep.encode()
          + plain + sep.encode() + b"0 0" + sep.encode() + key_object.encode())
    write("fuzz_keys", "damaged", b"base64:" + b"A" * 43 + b"=" + sep.encode() + seal(b"") + sep.encode()
          + plain + sep.encode() + b"40 1" + sep.encode() + b"{}")
    write("fuzz_keys", "truncated", b"K" * 32 + sep.encode() + seal(plain)[:-3] + sep.encode()
          + plain + sep.encode() + b"T" + sep.encode() + key_object.encode().replace(b"fuzz-repo", b"other"))


if __name__ == "__main__":
    main()
