"""XMP's RDF/XML: parsed safely, and walked in every form writers use.

A sidecar is untrusted input: it is parsed by defusedxml, which refuses any DTD and
entity (no external entity is fetched, no "billion laughs" expands), and refused
before parsing when larger than MAX_BYTES. A property's value may be written as an
attribute, as a child element, as a struct (`rdf:parseType="Resource"`, a nested
`rdf:Description`, or attributes on the property element) or as an array (`rdf:Bag`,
`rdf:Seq`, `rdf:Alt` of `rdf:li`): `fields`, `items` and `text` read them all."""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_BYTES = 2 * 1024 * 1024  # a sidecar of faces and keywords is a few KB

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "mwg-rs": "http://www.metadataworkinggroup.com/schemas/regions/",
    "stArea": "http://ns.adobe.com/xmp/sType/Area#",
    "stDim": "http://ns.adobe.com/xap/1.0/sType/Dimensions#",
    "MP": "http://ns.microsoft.com/photo/1.2/",
    "MPRI": "http://ns.microsoft.com/photo/1.2/t/RegionInfo#",
    "MPReg": "http://ns.microsoft.com/photo/1.2/t/Region#",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "Iptc4xmpCore": "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "kenning": "http://ns.kenning.local/xmp/1.0/",
}

def q(name: str) -> str:
    """'dc:subject' -> '{http://purl.org/dc/elements/1.1/}subject'."""
    prefix, local = name.split(":", 1)
    return f"{{{NS[prefix]}}}{local}"


RDF_ARRAYS = {q("rdf:Bag"), q("rdf:Seq"), q("rdf:Alt")}
DESCRIPTION, LI = q("rdf:Description"), q("rdf:li")
PARSE_TYPE, RESOURCE = q("rdf:parseType"), q("rdf:resource")
_RDF_ATTRIBUTES = {PARSE_TYPE, q("rdf:about"), RESOURCE, q("rdf:nodeID"), q("rdf:ID"),
                   "{http://www.w3.org/XML/1998/namespace}lang"}


class BadSidecar(ValueError):
    """XMP that cannot be used, with the reason in words."""


def parse(data: bytes) -> Element:
    """The rdf:RDF element of an XMP packet or sidecar."""
    return parse_packet(data)[1]


def parse_packet(data: bytes) -> tuple[Element, Element]:
    """The root element of an XMP packet or sidecar, and its rdf:RDF element."""
    if len(data) > MAX_BYTES:
        raise BadSidecar(f"the XMP is {len(data) // 1024} KB, more than the "
                         f"{MAX_BYTES // 1024 // 1024} MB any sidecar needs")
    try:
        root = fromstring(data)
    except DefusedXmlException as exc:
        raise BadSidecar(f"the XMP declares a DTD or entities, which are refused ({exc})") \
            from exc
    except ParseError as exc:
        raise BadSidecar(f"the XMP is not well-formed XML ({exc})") from exc
    rdf = root if root.tag == q("rdf:RDF") else root.find(q("rdf:RDF"))
    if rdf is None:
        raise BadSidecar("the XMP holds no rdf:RDF element")
    return root, rdf


def descriptions(rdf: Element) -> list[Element]:
    return rdf.findall(DESCRIPTION)


def properties(rdf: Element, name: str) -> list[Element | str]:
    """Every value of the top-level property `name` ('dc:subject'), as elements (or
    strings, for attribute shorthand), across all rdf:Description blocks."""
    tag, found = q(name), []
    for description in descriptions(rdf):
        if tag in description.attrib:
            found.append(description.attrib[tag])
        found.extend(description.findall(tag))
    return found


def text(value: Element | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if value.get(RESOURCE) is not None:
        return value.get(RESOURCE, "").strip()
    return (value.text or "").strip()


def items(value: Element | str | None) -> list[Element | str]:
    """The items of an array property (or the one value of a simple one)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    for child in value:
        if child.tag in RDF_ARRAYS:
            return list(child.findall(LI))
    return [value] if text(value) else []


def fields(value: Element | str | None) -> dict[str, Element | str]:
    """The fields of a struct, by qualified tag, whichever way it was written."""
    if value is None or isinstance(value, str):
        return {}
    found: dict[str, Element | str] = {}
    holders = [value, *value.findall(DESCRIPTION)]
    for holder in holders:
        for key, attribute in holder.attrib.items():
            if key not in _RDF_ATTRIBUTES:
                found.setdefault(key, attribute)
        for child in holder:
            if child.tag != DESCRIPTION:
                found.setdefault(child.tag, child)
    return found


def field_text(struct: dict, name: str) -> str:
    return text(struct.get(q(name)))


def number(struct: dict, name: str) -> float | None:
    raw = field_text(struct, name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError as exc:
        raise BadSidecar(f"{name} is {raw[:40]!r}, not a number") from exc
    if value != value or value in (float("inf"), float("-inf")):
        raise BadSidecar(f"{name} is not a finite number")
    return value
