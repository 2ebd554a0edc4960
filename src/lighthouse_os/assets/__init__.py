"""Assets: the ISA-95 hierarchy of a site (area > line > machine) and its tags."""
