# Makes warcio-sample.warc.gz, the fixture that checks WarcReader against an independent writer
# (Python warcio, the Webrecorder library). Run: python make_warcio_sample.py warcio-sample.warc.gz
# Record IDs and the undated records' WARC-Date come out different on each run; the tests do not
# depend on them.
import gzip, io, sys
from warcio.warcwriter import WARCWriter
from warcio.statusandheaders import StatusAndHeaders

out = sys.argv[1]
html = b"<html><head><title>Sample</title></head><body><p>The quick brown fox jumps over the lazy dog.</p></body></html>"
gz = gzip.compress(html, mtime=0)
half = len(gz) // 2
chunked = b"%x\r\n%s\r\n%x;ext=1\r\n%s\r\n0\r\nX-Trailer: y\r\n\r\n" % (half, gz[:half], len(gz) - half, gz[half:])
png = b"\x89PNG\r\n\x1a\n" + bytes(range(64))

with open(out, "wb") as fh:
    w = WARCWriter(fh, gzip=True, warc_version="WARC/1.0")
    w.write_record(w.create_warcinfo_record("sample.warc.gz", {"software": "warcio", "format": "WARC File Format 1.0"}))
    req = StatusAndHeaders("GET /page HTTP/1.1", [("Host", "example.com"), ("User-Agent", "test")], is_http_request=True)
    w.write_record(w.create_warc_record("http://example.com/page", "request", http_headers=req, warc_headers_dict={"WARC-Date": "2024-01-02T03:04:05Z"}))
    resp = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")], protocol="HTTP/1.1")
    w.write_record(w.create_warc_record("http://example.com/page", "response", payload=io.BytesIO(chunked), http_headers=resp, length=None, warc_headers_dict={"WARC-Date": "2024-01-02T03:04:05.123456Z"}))
    resp2 = StatusAndHeaders("404 Not Found", [("Content-Type", "text/html"), ("X-Crawler-Content-Encoding", "gzip"), ("Content-Length", str(len(html)))], protocol="HTTP/1.1")
    w.write_record(w.create_warc_record("http://example.com/missing", "response", payload=io.BytesIO(html), http_headers=resp2, warc_headers_dict={"WARC-Date": "2024-01-02T03:04:06Z"}))
    w.write_record(w.create_warc_record("http://example.com/img.png", "resource", payload=io.BytesIO(png), warc_content_type="image/png"))
    w.write_record(w.create_warc_record("http://example.com/page", "metadata", payload=io.BytesIO(b"fetchTimeMs: 12\r\n"), warc_content_type="application/warc-fields"))
