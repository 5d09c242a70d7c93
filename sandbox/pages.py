"""The sandbox's face page: where a real vendor would film the person, two buttons decide.

Self-contained HTML (inline CSS, no script, no external assets) in both languages at once: the
sandbox is a stand-in for a vendor's page, not part of our site, so it has no message catalog."""

from __future__ import annotations

from html import escape

FACE_TITLE = "沙箱人脸核验 / Sandbox face check"

_STYLE = """
body{margin:0;font:16px/1.6 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;
color:#1f2933;background:#eef2f6;padding:0 1rem}
main{max-width:30rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:12px;
box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{font-size:1.4rem;margin:0 0 1rem}
.badge{display:inline-block;padding:.1rem .6rem;border-radius:999px;background:#fff3c4;
color:#8d6708;font-size:.85rem;margin-bottom:1rem}
.camera{height:9rem;border:2px dashed #9aa5b1;border-radius:50%;width:9rem;margin:1rem auto;
display:flex;align-items:center;justify-content:center;color:#7b8794;text-align:center;
font-size:.85rem}
.who{font-size:1.1rem;text-align:center}
.actions{display:flex;gap:1rem;margin-top:1.5rem}
.actions form{flex:1;margin:0}
button{width:100%;padding:.8rem;border:0;border-radius:8px;font-size:1rem;cursor:pointer}
#sandbox-pass{background:#1f7a4d;color:#fff}
#sandbox-fail{background:#b42318;color:#fff}
p.note{color:#52606d;font-size:.9rem}
a{color:#0b5cad}
"""

# No script at all; inline styles only; never framed. No form-action: the answer to a button is
# a redirect to the platform's return URL, which a form-action rule would block.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
)


def mask_name(name: str) -> str:
    """``张三`` -> ``张*``: the page shows whose session it is without showing the name."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    return name[0] + "*" * (len(name) - 1)


def _page(title: str, body: str) -> bytes:
    return (
        "<!doctype html>\n"
        '<html lang="zh-Hans">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    ).encode()


def face_page(*, action: str, masked_name: str) -> bytes:
    """The pending session: explain the stand-in and offer the two outcomes."""
    action = escape(action)
    return _page(
        FACE_TITLE,
        f"""<span class="badge">沙箱 · Sandbox</span>
<h1>{FACE_TITLE}</h1>
<p>这是身份核验服务商的沙箱，代替真实的摄像头人脸识别。不会拍摄或上传任何照片。</p>
<p lang="en">This is the identity vendor's sandbox. It stands in for the camera check:
no photo is taken or sent.</p>
<div class="camera" aria-hidden="true">摄像头<br>Camera</div>
<p class="who">核验对象 / Checking: <strong>{escape(masked_name)}</strong></p>
<p class="note">请选择本次人脸核验的结果。/ Choose the outcome of this face check.</p>
<div class="actions">
<form method="post" action="{action}">
<button type="submit" name="outcome" value="pass" id="sandbox-pass">通过 / Pass</button>
</form>
<form method="post" action="{action}">
<button type="submit" name="outcome" value="fail" id="sandbox-fail">不通过 / Fail</button>
</form>
</div>""",
    )


def finished_page(*, outcome: str, return_url: str) -> bytes:
    """A session already decided: say so and offer the way back."""
    said = "已通过 / Passed" if outcome == "pass" else "未通过 / Failed"
    return _page(
        FACE_TITLE,
        f"""<span class="badge">沙箱 · Sandbox</span>
<h1>{FACE_TITLE}</h1>
<p>本次人脸核验已完成：<strong>{said}</strong></p>
<p lang="en">This face check is already finished.</p>
<p><a href="{escape(return_url)}">返回 / Go back</a></p>""",
    )


def gone_page() -> bytes:
    """Expired: the person waited longer than the session lives."""
    return _page(
        FACE_TITLE,
        f"""<h1>{FACE_TITLE}</h1>
<p>本次人脸核验已过期，请返回原网站重新开始。</p>
<p lang="en">This face check has expired. Go back to the site you came from and start again.</p>""",
    )


def not_found_page() -> bytes:
    return _page(
        FACE_TITLE,
        f"""<h1>{FACE_TITLE}</h1>
<p>找不到这次人脸核验。请返回原网站重新开始。</p>
<p lang="en">This face check does not exist. Go back to the site you came from and start again.</p>""",
    )


def bad_request_page() -> bytes:
    return _page(
        FACE_TITLE,
        f"""<h1>{FACE_TITLE}</h1>
<p>请使用页面上的按钮。</p>
<p lang="en">Please use the buttons on the page.</p>""",
    )
