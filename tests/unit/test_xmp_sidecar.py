"""XMP regions through every EXIF orientation, and sidecars read in the forms other
writers use (attributes, nested descriptions) and merged without losing their values."""

from __future__ import annotations

import pytest
from PIL import Image

from kenning.xmp.rdf import BadSidecar
from kenning.xmp.regions import to_shown, to_stored
from kenning.xmp.sidecar import Entries, Region, read, write

# PIL's transposition that shows a photo stored with each EXIF orientation.
SHOW = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_box_on_the_shown_photo_lands_on_the_same_pixels_as_stored(orientation):
    stored = Image.new("L", (40, 30))
    box = (0.1, 0.2, 0.25, 0.4)  # on the stored image
    x, y, w, h = (round(box[0] * 40), round(box[1] * 30), round(box[2] * 40),
                  round(box[3] * 30))
    stored.paste(255, (x, y, x + w, y + h))
    shown = stored.transpose(SHOW[orientation]) if orientation > 1 else stored
    left, top, right, bottom = shown.getbbox()
    width, height = shown.size
    expected = (left / width, top / height, (right - left) / width, (bottom - top) / height)
    assert to_shown(box, orientation) == pytest.approx(expected, abs=0.02)
    assert to_stored(to_shown(box, orientation), orientation) == pytest.approx(box)


NESTED = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
 <rdf:Description rdf:about="" xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
   xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#" xmlns:dc="http://purl.org/dc/elements/1.1/"
   xmlns:lr="http://ns.adobe.com/lightroom/1.0/">
  <mwg-rs:Regions><rdf:Description><mwg-rs:RegionList><rdf:Bag>
   <rdf:li><rdf:Description mwg-rs:Name="Ann" mwg-rs:Type="Face">
     <mwg-rs:Area stArea:x="0.5" stArea:y="0.5" stArea:w="0.2" stArea:h="0.4"/>
   </rdf:Description></rdf:li>
   <rdf:li><rdf:Description mwg-rs:Name="A pet" mwg-rs:Type="Pet">
     <mwg-rs:Area stArea:x="0.2" stArea:y="0.2" stArea:w="0.1" stArea:h="0.1"/>
   </rdf:Description></rdf:li>
  </rdf:Bag></mwg-rs:RegionList></rdf:Description></mwg-rs:Regions>
  <dc:subject><rdf:Bag><rdf:li>Beach</rdf:li><rdf:li>Ann</rdf:li></rdf:Bag></dc:subject>
  <lr:hierarchicalSubject><rdf:Bag><rdf:li>Places|Italy|Rome</rdf:li>
   <rdf:li>People|Family|Bob</rdf:li></rdf:Bag></lr:hierarchicalSubject>
 </rdf:Description></rdf:RDF></x:xmpmeta>"""


def test_nested_descriptions_and_attribute_fields_are_read():
    sidecar = read(NESTED)
    [region] = sidecar.regions  # a pet's region is no face
    assert region.name == "Ann" and region.box == pytest.approx((0.4, 0.3, 0.2, 0.4))
    assert sidecar.people == ["Bob"]
    assert sidecar.own_keywords() == ["Beach", "Rome"]


def test_kenning_replaces_only_its_own_values():
    first = write(Entries(tags=["Dog"], machine_tags=["Dog"], people=["Ann"],
                          regions=[Region("Ann", (0.1, 0.1, 0.2, 0.2))], stored_size=(40, 30),
                          place={"city": "Rome"}), NESTED)
    merged = read(first)
    assert {"Beach", "Ann", "Dog", "Rome"} <= set(merged.keywords)
    assert [r.name for r in merged.regions] == ["Ann"]  # Ann's own region stays the only one
    assert merged.kenning_tags == {"Dog"}
    second = read(write(Entries(tags=["Cat"], machine_tags=["Cat"]), first))
    assert "Dog" not in second.keywords and {"Beach", "Cat"} <= set(second.keywords)
    assert [r.name for r in second.regions] == ["Ann"]  # another tool's region is kept
    assert b"<photoshop:City>Rome</photoshop:City>" in first
    assert b"photoshop:City" not in write(Entries(), first)  # Kenning's place, gone again
    theirs = first.replace(b"<photoshop:City>Rome</photoshop:City>",
                           b"<photoshop:City>Roma</photoshop:City>")
    assert b"<photoshop:City>Roma</photoshop:City>" in write(Entries(), theirs)  # kept


@pytest.mark.parametrize("data, reason", [
    (b"not xml at all", "not well-formed"),
    (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>", "no rdf:RDF"),
    (b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", "DTD"),
    (b"<x>" + b" " * (3 * 1024 * 1024) + b"</x>", "MB"),
])
def test_bad_xmp_is_refused_with_its_reason(data, reason):
    with pytest.raises(BadSidecar, match=reason):
        read(data)
