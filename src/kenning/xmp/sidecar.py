"""One sidecar: read into plain data (`read`), and written from Kenning's entries,
merged into what other tools wrote there (`write`).

Kenning records in its own namespace (`kenning:Written`) which values it wrote; when it
writes again it replaces exactly those and keeps every other tool's keywords, regions
and places. A value another tool wrote is never changed or removed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, SubElement, register_namespace, tostring

from kenning.xmp import rdf
from kenning.xmp.rdf import NS, BadSidecar, q
from kenning.xmp.regions import Box, centre, from_centre, inside

PACKET_START = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
PACKET_END = '\n<?xpacket end="w"?>\n'
ARRAYS = {  # the array properties Kenning writes, and the array kind each is
    "dc:subject": "rdf:Bag", "lr:hierarchicalSubject": "rdf:Bag",
    "digiKam:TagsList": "rdf:Seq", "Iptc4xmpExt:PersonInImage": "rdf:Bag"}
PLACE_FIELDS = {"city": "photoshop:City", "region": "photoshop:State",
                "country": "photoshop:Country", "country_code": "Iptc4xmpCore:CountryCode"}
PEOPLE_ROOTS = ("people", "persons", "person", "personen", "faces")
for _prefix, _uri in NS.items():
    register_namespace(_prefix, _uri)


@dataclass
class Region:
    name: str
    box: Box  # top-left x, y, width, height: fractions of the image as stored
    applied_to: tuple[float, float] | None = None  # the image size the region was drawn on


@dataclass
class Sidecar:
    """What a sidecar (or a file's embedded XMP) says."""

    regions: list[Region] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)  # flat, and the leaves of paths
    people: list[str] = field(default_factory=list)  # named without a region
    kenning_tags: set[str] = field(default_factory=set)  # tags Kenning's models gave

    def person_names(self) -> set[str]:
        return {region.name for region in self.regions if region.name} | set(self.people)

    def own_keywords(self) -> list[str]:
        """The keywords a person gave (not names of people, not Kenning's model tags)."""
        names = {name.casefold() for name in self.person_names()}
        machine = {tag.casefold() for tag in self.kenning_tags}
        seen, kept = set(), []
        for keyword in self.keywords:
            key = keyword.casefold()
            if key and key not in names and key not in machine and key not in seen:
                seen.add(key)
                kept.append(keyword)
        return kept


@dataclass
class Entries:
    """What Kenning writes for one file."""

    tags: list[str] = field(default_factory=list)  # every tag, the model's and the user's
    machine_tags: list[str] = field(default_factory=list)  # those a model gave
    paths: dict[str, str] = field(default_factory=dict)  # tag -> "Animal|Dog"
    people: list[str] = field(default_factory=list)  # named people seen in it
    regions: list[Region] = field(default_factory=list)  # named faces, image as stored
    stored_size: tuple[int, int] | None = None  # width, height of the image as stored
    place: dict = field(default_factory=dict)  # city, region, country, country_code


# Reading ------------------------------------------------------------------------------


def _leaf(path: str, separator: str) -> tuple[str, bool]:
    parts = [part.strip() for part in path.split(separator) if part.strip()]
    if not parts:
        return "", False
    return parts[-1], len(parts) > 1 and parts[0].casefold() in PEOPLE_ROOTS


def _mwg_regions(top: Element) -> list[Region]:
    found = []
    for regions in rdf.properties(top, "mwg-rs:Regions"):
        struct = rdf.fields(regions)
        dims = rdf.fields(struct.get(q("mwg-rs:AppliedToDimensions")))
        size = (rdf.number(dims, "stDim:w"), rdf.number(dims, "stDim:h"))
        applied = size if size[0] and size[1] else None
        for item in rdf.items(struct.get(q("mwg-rs:RegionList"))):
            region = rdf.fields(item)
            kind = rdf.field_text(region, "mwg-rs:Type")
            if kind and kind.casefold() != "face":
                continue
            area = rdf.fields(region.get(q("mwg-rs:Area")))
            values = [rdf.number(area, f"stArea:{axis}") for axis in "xywh"]
            if None in values:
                continue
            unit = rdf.field_text(area, "stArea:unit") or "normalized"
            if unit != "normalized":
                if not applied:
                    raise BadSidecar(f"a region in {unit} has no AppliedToDimensions")
                values = [values[0] / applied[0], values[1] / applied[1],
                          values[2] / applied[0], values[3] / applied[1]]
            name = rdf.field_text(region, "mwg-rs:Name")
            found.append(Region(name, from_centre(*values), applied))
    return found


def _mp_regions(top: Element) -> list[Region]:
    found = []
    for info in rdf.properties(top, "MP:RegionInfo"):
        for item in rdf.items(rdf.fields(info).get(q("MPRI:Regions"))):
            region = rdf.fields(item)
            raw = rdf.field_text(region, "MPReg:Rectangle")
            if not raw:
                continue
            try:
                box = tuple(float(part) for part in raw.split(","))
            except ValueError as exc:
                raise BadSidecar(f"a Microsoft region's rectangle is {raw[:40]!r}") from exc
            if len(box) != 4:
                raise BadSidecar(f"a Microsoft region's rectangle is {raw[:40]!r}")
            found.append(Region(rdf.field_text(region, "MPReg:PersonDisplayName"), box))
    return found


def read(data: bytes) -> Sidecar:
    """A sidecar's (or embedded packet's) regions, keywords and names. BadSidecar when it
    cannot be used (not XML, a DTD, too large, a region outside the photo)."""
    top = rdf.parse(data)
    result = Sidecar()
    result.regions = _mwg_regions(top)
    named = {region.name.casefold() for region in result.regions if region.name}
    for region in _mp_regions(top):  # the same face in both forms counts once
        if not region.name or region.name.casefold() not in named:
            result.regions.append(region)
    for region in result.regions:
        if not inside(region.box):
            who = f"{region.name!r}" if region.name else "an unnamed face"
            raise BadSidecar(f"the region of {who} lies outside the photo "
                             f"({', '.join(f'{v:.2f}' for v in region.box)})")
    for value in rdf.properties(top, "dc:subject"):
        result.keywords.extend(filter(None, map(rdf.text, rdf.items(value))))
    for name, separator in (("lr:hierarchicalSubject", "|"), ("digiKam:TagsList", "/")):
        for value in rdf.properties(top, name):
            for path in map(rdf.text, rdf.items(value)):
                leaf, person = _leaf(path, separator)
                if person:
                    result.people.append(leaf)
                elif leaf:
                    result.keywords.append(leaf)
    for value in rdf.properties(top, "Iptc4xmpExt:PersonInImage"):
        result.people.extend(filter(None, map(rdf.text, rdf.items(value))))
    written = rdf.fields(next(iter(rdf.properties(top, "kenning:Written")), None))
    result.kenning_tags = set(filter(None, map(rdf.text, rdf.items(
        written.get(q("kenning:MachineTags"))))))
    return result


# Writing ------------------------------------------------------------------------------


def _array(parent: Element, name: str, values: list[str]) -> Element:
    prop = SubElement(parent, q(name))
    container = SubElement(prop, q(ARRAYS.get(name, "rdf:Bag")))
    for value in values:
        SubElement(container, rdf.LI).text = value
    return prop


def _struct(parent: Element, name: str) -> Element:
    return SubElement(parent, q(name), {rdf.PARSE_TYPE: "Resource"})


def _container(prop: Element, kind: str) -> Element:
    """The array element of `prop`, made when it held a single value."""
    for child in prop:
        if child.tag in rdf.RDF_ARRAYS:
            return child
    single = (prop.text or "").strip()
    prop.text = None
    container = SubElement(prop, q(kind))
    if single:
        SubElement(container, rdf.LI).text = single
    return container


def _property(top: Element, first: Element, name: str) -> Element | None:
    """The element of a top-level property (an attribute form is turned into one)."""
    tag = q(name)
    for description in rdf.descriptions(top):
        if tag in description.attrib:
            value = description.attrib.pop(tag)
            element = SubElement(description, tag)
            element.text = value
            return element
        found = description.find(tag)
        if found is not None:
            return found
    return None


def _merge_array(top: Element, first: Element, name: str, old: set[str],
                 new: list[str]) -> list[str]:
    """Kenning's values of an array property replaced by `new`; returns those Kenning
    now owns (a value another tool wrote too stays theirs)."""
    prop = _property(top, first, name)
    if prop is None:
        if new:
            _array(first, name, new)
        return new
    container = _container(prop, ARRAYS.get(name, "rdf:Bag"))
    present = []
    for item in list(container):
        value = rdf.text(item)
        if value in old:
            container.remove(item)
        else:
            present.append(value)
    for value in new:
        if value not in present:
            SubElement(container, rdf.LI).text = value
    return [value for value in new if value not in present]


def _region_list(top: Element, first: Element, prop_name: str, list_name: str) -> Element:
    prop = _property(top, first, prop_name)
    if prop is None:
        prop = _struct(first, prop_name)
    holder = prop.find(rdf.DESCRIPTION)
    holder = holder if holder is not None else prop
    if holder is prop and not len(prop) and prop.get(rdf.PARSE_TYPE) is None:
        prop.set(rdf.PARSE_TYPE, "Resource")
    listed = holder.find(q(list_name))
    if listed is None:
        listed = SubElement(holder, q(list_name))
    return _container(listed, "rdf:Bag")


REGION_FORMS = {  # the region property, its list, the name field; what Kenning records
    "mwg-rs:Regions": ("mwg-rs:RegionList", "mwg-rs:Name", "kenning:Regions"),
    "MP:RegionInfo": ("MPRI:Regions", "MPReg:PersonDisplayName", "kenning:MPRegions"),
}


def _merge_regions(top: Element, first: Element, old: dict[str, set[str]],
                   entries: Entries) -> dict[str, list[str]]:
    """Kenning's regions replaced, in each form; returns, per form, the names of the
    regions Kenning now owns (another tool's region of a person stays theirs)."""
    owned_by_form: dict[str, list[str]] = {}
    for prop_name, (list_name, name_field, record) in REGION_FORMS.items():
        owned: dict[str, None] = {}
        owned_by_form[record] = []
        if not entries.regions and _property(top, first, prop_name) is None:
            continue
        bag = _region_list(top, first, prop_name, list_name)
        theirs = set()
        for item in list(bag):
            name = rdf.field_text(rdf.fields(item), name_field)
            if name in old[record]:
                bag.remove(item)
            else:
                theirs.add(name.casefold())
        for region in entries.regions:
            if region.name.casefold() in theirs:
                continue  # another tool's region of this person stays the only one
            owned[region.name] = None
            item = SubElement(bag, rdf.LI, {rdf.PARSE_TYPE: "Resource"})
            if prop_name == "mwg-rs:Regions":
                x, y, w, h = centre(region.box)
                SubElement(item, q("mwg-rs:Area"), {
                    q("stArea:x"): f"{x:.6f}", q("stArea:y"): f"{y:.6f}",
                    q("stArea:w"): f"{w:.6f}", q("stArea:h"): f"{h:.6f}",
                    q("stArea:unit"): "normalized"})
                SubElement(item, q("mwg-rs:Name")).text = region.name
                SubElement(item, q("mwg-rs:Type")).text = "Face"
            else:
                SubElement(item, q("MPReg:PersonDisplayName")).text = region.name
                SubElement(item, q("MPReg:Rectangle")).text = ", ".join(
                    f"{v:.6f}" for v in region.box)
        if prop_name == "mwg-rs:Regions" and entries.stored_size:
            _applied_to(top, first, entries.stored_size, bool(theirs))
        owned_by_form[record] = list(owned)
    return owned_by_form


def _applied_to(top: Element, first: Element, size: tuple[int, int], keep: bool) -> None:
    prop = _property(top, first, "mwg-rs:Regions")
    holder = prop.find(rdf.DESCRIPTION)
    holder = holder if holder is not None else prop
    dims = holder.find(q("mwg-rs:AppliedToDimensions"))
    if dims is not None and keep:
        return  # another tool's regions are relative to it (normalised: any size works)
    if dims is not None:
        holder.remove(dims)
    dims = SubElement(holder, q("mwg-rs:AppliedToDimensions"), {
        q("stDim:w"): str(size[0]), q("stDim:h"): str(size[1]), q("stDim:unit"): "pixel"})
    holder.remove(dims)
    holder.insert(0, dims)


def _merge_place(top: Element, first: Element, old: dict, place: dict) -> None:
    for key, name in PLACE_FIELDS.items():
        prop = _property(top, first, name)
        value = place.get(key) or ""
        if prop is not None:
            if rdf.text(prop) != old.get(key, ""):
                continue  # another tool's value
            for description in rdf.descriptions(top):
                if prop in list(description):
                    description.remove(prop)
        if value:
            SubElement(first, q(name)).text = value


def _written(top: Element) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, str]]:
    """What Kenning wrote last time: values per array property, region names per form,
    and the place."""
    struct = rdf.fields(next(iter(rdf.properties(top, "kenning:Written")), None))
    arrays = {name: set(filter(None, map(rdf.text, rdf.items(
        struct.get(q(f"kenning:{name.split(':')[1]}")))))) for name in ARRAYS}
    regions = {record: set(filter(None, map(rdf.text, rdf.items(struct.get(q(record))))))
               for _list, _field, record in REGION_FORMS.values()}
    place = {key: rdf.field_text(struct, f"kenning:{key}") for key in PLACE_FIELDS}
    return arrays, regions, place


def _record(top: Element, first: Element, entries: Entries, values: dict,
            regions: dict[str, list[str]]) -> None:
    for description in rdf.descriptions(top):
        for old in description.findall(q("kenning:Written")):
            description.remove(old)
    struct = _struct(first, "kenning:Written")
    for name, new in values.items():
        _array(struct, f"kenning:{name.split(':')[1]}", new)
    for record, names in regions.items():
        _array(struct, record, names)
    _array(struct, "kenning:MachineTags", entries.machine_tags)
    for key in PLACE_FIELDS:
        if entries.place.get(key):
            SubElement(struct, q(f"kenning:{key}")).text = entries.place[key]


def _namespaces_of(data: bytes) -> None:
    """Keep other tools' prefixes (xmlns:darktable=...) when the sidecar is written again."""
    taken = set(NS) | set(NS.values())
    for prefix, uri in re.findall(rb'xmlns:([A-Za-z_][\w.-]*)="([^"]+)"', data[:200_000]):
        prefix, uri = prefix.decode("ascii", "replace"), uri.decode("utf-8", "replace")
        if prefix not in taken and uri not in taken and not prefix.startswith("ns"):
            register_namespace(prefix, uri)
            taken |= {prefix, uri}


def _skeleton() -> tuple[Element, Element]:
    meta = Element(q("x:xmpmeta"), {q("x:xmptk"): "Kenning"})
    top = SubElement(meta, q("rdf:RDF"))
    return meta, top


def write(entries: Entries, existing: bytes | None = None) -> bytes:
    """The sidecar for `entries`, merged into `existing` (another tool's, or Kenning's
    own from before). BadSidecar when `existing` cannot be read: it is left alone."""
    if existing:
        _namespaces_of(existing)
        meta, top = rdf.parse_packet(existing)
    else:
        meta, top = _skeleton()
    if not rdf.descriptions(top):
        SubElement(top, rdf.DESCRIPTION, {q("rdf:about"): ""})
    first = rdf.descriptions(top)[0]
    old, old_regions, old_place = _written(top)
    subjects = list(dict.fromkeys([*entries.tags, *entries.people]))
    values = {
        "dc:subject": subjects,
        "lr:hierarchicalSubject": list(dict.fromkeys(
            [entries.paths.get(tag, tag) for tag in entries.tags]
            + [f"People|{name}" for name in entries.people])),
        "digiKam:TagsList": list(dict.fromkeys(
            [entries.paths.get(tag, tag).replace("|", "/") for tag in entries.tags]
            + [f"People/{name}" for name in entries.people])),
        "Iptc4xmpExt:PersonInImage": list(entries.people),
    }
    owned = {name: _merge_array(top, first, name, old[name], new)
             for name, new in values.items()}
    regions = _merge_regions(top, first, old_regions, entries)
    _merge_place(top, first, old_place, entries.place)
    _record(top, first, entries, owned, regions)
    body = tostring(meta, encoding="unicode")
    return (PACKET_START + body + PACKET_END).encode("utf-8")
