"""XMP sidecars: Kenning's tags, people and places written for other photo tools
(export.py), and names and keywords other tools wrote read back (reading.py, importer.py).

rdf.py parses XMP safely and walks its RDF forms; regions.py turns face boxes into
the Metadata Working Group's and Microsoft's region forms and back, through the
photo's EXIF orientation; sidecar.py reads a sidecar into plain data and writes one,
merging into what another tool wrote."""
